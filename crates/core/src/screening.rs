//! The screenings done in the van, typed, each with its physiological limits (errors) and
//! usual ranges (warnings). Each kind belongs to an access class: HIV, hepatitis and TB
//! results are kept apart from the visit so a device can hold a visit without them.

use crate::error::{Checked, Checker, Field, Problem, ValidationErrors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// mg/dL per mmol/L of glucose (molar mass 180.16 g/mol).
pub const GLUCOSE_MG_DL_PER_MMOL_L: f64 = 18.016;

/// Who may read a piece of data. The document model follows it: one document per visit and
/// class, so sync can leave out whole documents a device's users may not see.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AccessClass {
    /// Demographics, visit header, glucose, HbA1c, blood pressure, body measures.
    General,
    Hiv,
    Hepatitis,
    Tuberculosis,
    /// The psychologist's notes.
    Psychology,
    /// The lawyer's notes.
    Legal,
    /// The nurse's and doctor's free-text clinical note on a visit: whatever is typed there
    /// (a result, a diagnosis, what was said) is read only by those who read results. Last in
    /// code order: codes are stored.
    Clinical,
}

impl AccessClass {
    /// In code order: a class's code is its index here.
    pub const ALL: &'static [AccessClass] = <AccessClass as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<AccessClass> {
        s.parse().ok()
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<AccessClass> {
        AccessClass::ALL.get(usize::from(code)).copied()
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ScreeningKind {
    Hiv,
    Glucose,
    Hba1c,
    #[serde(rename = "tb_symptoms")]
    #[strum(serialize = "tb_symptoms")]
    Tb,
    BloodPressure,
    Body,
    HepatitisB,
    HepatitisC,
}

impl ScreeningKind {
    pub fn access_class(self) -> AccessClass {
        match self {
            ScreeningKind::Hiv => AccessClass::Hiv,
            ScreeningKind::HepatitisB | ScreeningKind::HepatitisC => AccessClass::Hepatitis,
            ScreeningKind::Tb => AccessClass::Tuberculosis,
            ScreeningKind::Glucose
            | ScreeningKind::Hba1c
            | ScreeningKind::BloodPressure
            | ScreeningKind::Body => AccessClass::General,
        }
    }

    pub const ALL: &'static [ScreeningKind] = <ScreeningKind as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<ScreeningKind> {
        s.parse().ok()
    }

    /// The screening a form field belongs to, if any.
    pub fn of_field(field: Field) -> Option<ScreeningKind> {
        Some(match field {
            Field::HivConsent | Field::HivCounselling | Field::HivResult => ScreeningKind::Hiv,
            Field::GlucoseValue => ScreeningKind::Glucose,
            Field::Hba1cValue => ScreeningKind::Hba1c,
            Field::CoughWeeks => ScreeningKind::Tb,
            Field::Systolic | Field::Diastolic | Field::Pulse => ScreeningKind::BloodPressure,
            Field::Weight | Field::Height => ScreeningKind::Body,
            _ => return None,
        })
    }

    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (bg, en) = match self {
            ScreeningKind::Hiv => ("ХИВ бърз тест", "HIV rapid test"),
            ScreeningKind::Glucose => ("Кръвна захар", "Blood glucose"),
            ScreeningKind::Hba1c => ("HbA1c", "HbA1c"),
            ScreeningKind::Tb => ("Туберкулоза — симптоми", "TB symptom screen"),
            ScreeningKind::BloodPressure => ("Кръвно налягане", "Blood pressure"),
            ScreeningKind::Body => ("Тегло и ръст", "Weight and height"),
            ScreeningKind::HepatitisB => ("Хепатит B (HBsAg)", "Hepatitis B (HBsAg)"),
            ScreeningKind::HepatitisC => ("Хепатит C (anti-HCV)", "Hepatitis C (anti-HCV)"),
        };
        lang.pick(bg, en)
    }
}

/// The reading of a rapid (lateral-flow) test.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RapidResult {
    // In the order the form offers them: the common reading first.
    NonReactive,
    Reactive,
    Invalid,
}

impl RapidResult {
    pub const ALL: &'static [RapidResult] = <RapidResult as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(field: Field, s: &str) -> Result<RapidResult, crate::ValidationError> {
        match s.trim().to_lowercase().replace('-', "_").as_str() {
            "reactive" | "реактивен" | "positive" | "+" => Ok(RapidResult::Reactive),
            "non_reactive" | "нереактивен" | "negative" | "-" | "_" => {
                Ok(RapidResult::NonReactive)
            }
            "invalid" | "невалиден" => Ok(RapidResult::Invalid),
            other => Err(crate::ValidationError::new(
                field,
                Problem::UnknownValue {
                    input: other.to_string(),
                    expected: "reactive | non-reactive | invalid",
                },
            )),
        }
    }

    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (bg, en) = match self {
            RapidResult::Reactive => ("реактивен", "reactive"),
            RapidResult::NonReactive => ("нереактивен", "non-reactive"),
            RapidResult::Invalid => ("невалиден", "invalid"),
        };
        lang.pick(bg, en)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HivAssay {
    /// Rapid test for HIV-1/2 antibodies.
    RapidAb12,
}

/// A field HIV rapid test. A reactive result means "needs confirmatory testing", never a
/// diagnosis; no result exists without informed consent and pre-test counselling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HivTest {
    pub consent: bool,
    pub counselled: bool,
    pub assay: HivAssay,
    pub result: RapidResult,
    /// A second test done at once after an invalid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RapidResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlucoseUnit {
    #[default]
    MmolL,
    MgDl,
}

impl GlucoseUnit {
    pub fn symbol(self) -> &'static str {
        match self {
            GlucoseUnit::MmolL => "mmol/L",
            GlucoseUnit::MgDl => "mg/dL",
        }
    }
}

/// Whether the person had eaten: a required choice, because the thresholds differ (7.0 mmol/L
/// fasting is diabetic, random is not) and a forgotten tick must not read as "random".
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Fasting {
    /// No food or caloric drink for at least 8 hours.
    Fasting,
    Random,
    #[default]
    Unknown,
}

impl Fasting {
    pub const ALL: &'static [Fasting] = <Fasting as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (bg, en) = match self {
            Fasting::Fasting => ("на гладно (≥ 8 часа)", "fasting (≥ 8 hours)"),
            Fasting::Random => ("по всяко време (след хранене)", "random (after eating)"),
            Fasting::Unknown => ("не е известно", "not known"),
        };
        lang.pick(bg, en)
    }
}

/// Visits saved before the choice existed stored a tick: `true` fasting, `false` random.
impl<'de> Deserialize<'de> for Fasting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fasting, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Tick(bool),
            Choice(String),
        }
        match Stored::deserialize(d)? {
            Stored::Tick(true) => Ok(Fasting::Fasting),
            Stored::Tick(false) => Ok(Fasting::Random),
            Stored::Choice(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Glucose-lowering treatment the person takes: a low reading in someone on insulin or a
/// sulfonylurea is a drug effect that comes back (IHSG 2017; ADA Standards of Care, 6).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum GlucoseMedication {
    None,
    /// Tablets (metformin, a sulfonylurea…).
    Oral,
    Insulin,
}

impl GlucoseMedication {
    pub const ALL: &'static [GlucoseMedication] =
        <GlucoseMedication as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn lowers_glucose(self) -> bool {
        self != GlucoseMedication::None
    }

    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (bg, en) = match self {
            GlucoseMedication::None => ("не приема", "none"),
            GlucoseMedication::Oral => ("таблетки", "tablets"),
            GlucoseMedication::Insulin => ("инсулин", "insulin"),
        };
        lang.pick(bg, en)
    }
}

/// Ketones on a urine strip, in the strip's own steps.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Ketones {
    Negative,
    Trace,
    Plus1,
    Plus2,
    Plus3,
}

impl Ketones {
    pub const ALL: &'static [Ketones] = <Ketones as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// As the strip and the form show it: −, ±, 1+, 2+, 3+.
    pub fn symbol(self) -> &'static str {
        match self {
            Ketones::Negative => "−",
            Ketones::Trace => "±",
            Ketones::Plus1 => "1+",
            Ketones::Plus2 => "2+",
            Ketones::Plus3 => "3+",
        }
    }

    pub fn parse(field: Field, s: &str) -> Result<Ketones, crate::ValidationError> {
        let t = s.trim().to_lowercase();
        Ok(match t.as_str() {
            "negative" | "-" | "−" | "0" | "отрицателни" | "няма" => {
                Ketones::Negative
            }
            "trace" | "±" | "следи" => Ketones::Trace,
            "plus1" | "1+" | "+" | "1" => Ketones::Plus1,
            "plus2" | "2+" | "++" | "2" => Ketones::Plus2,
            "plus3" | "3+" | "+++" | "3" => Ketones::Plus3,
            _ => {
                return Err(crate::ValidationError::new(
                    field,
                    Problem::UnknownValue {
                        input: t,
                        expected: "− | ± | 1+ | 2+ | 3+",
                    },
                ));
            }
        })
    }
}

/// Capillary glucose, stored in the unit it was entered in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Glucose {
    /// The reading; none when the meter showed "HI" (above what it can read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub unit: GlucoseUnit,
    #[serde(default)]
    pub fasting: Fasting,
    /// The meter read "HI": above its range (which ends between 27.8 and 33.3 mmol/L
    /// depending on the meter), so at least very high.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub above_meter_range: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ketones: Option<Ketones>,
    /// Asked when the reading is low; none when not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medication: Option<GlucoseMedication>,
    /// Drowsy, confused or not fully conscious at the time of the reading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drowsy: bool,
    /// A second reading 15 minutes after fast carbohydrate for a low one, same unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck: Option<f64>,
}

impl Glucose {
    /// A plain reading in `unit`.
    pub fn reading(value: f64, unit: GlucoseUnit, fasting: Fasting) -> Glucose {
        Glucose {
            value: Some(value),
            unit,
            fasting,
            ..Glucose::default()
        }
    }

    fn to_mmol_l(&self, v: f64) -> f64 {
        match self.unit {
            GlucoseUnit::MmolL => v,
            GlucoseUnit::MgDl => v / GLUCOSE_MG_DL_PER_MMOL_L,
        }
    }

    /// The reading in mmol/L; none for "HI".
    pub fn mmol_l(&self) -> Option<f64> {
        self.value.map(|v| self.to_mmol_l(v))
    }

    /// The second reading in mmol/L.
    pub fn recheck_mmol_l(&self) -> Option<f64> {
        self.recheck.map(|v| self.to_mmol_l(v))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hba1cUnit {
    /// NGSP/DCCT percent.
    Percent,
    /// IFCC mmol/mol.
    MmolMol,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hba1c {
    pub value: f64,
    pub unit: Hba1cUnit,
}

impl Hba1c {
    /// IFCC = (NGSP − 2.15) × 10.929 (the IFCC–NGSP master equation).
    pub fn percent(&self) -> f64 {
        match self.unit {
            Hba1cUnit::Percent => self.value,
            Hba1cUnit::MmolMol => self.value / 10.929 + 2.15,
        }
    }
    pub fn mmol_mol(&self) -> f64 {
        match self.unit {
            Hba1cUnit::Percent => (self.value - 2.15) * 10.929,
            Hba1cUnit::MmolMol => self.value,
        }
    }
}

/// WHO four-symptom screen, contact with a person with TB, the danger signs that make it
/// urgent, and the risk factors that raise the chance that symptoms are TB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TbScreen {
    pub cough: bool,
    #[serde(default)]
    pub cough_weeks: u16,
    pub fever: bool,
    pub night_sweats: bool,
    pub weight_loss: bool,
    #[serde(default)]
    pub contact: bool,
    /// Coughing up blood.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub haemoptysis: bool,
    /// Short of breath at rest or on little effort.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub breathless: bool,
    /// Cannot walk unaided, confused, or looks seriously ill.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub very_ill: bool,
    #[serde(default, skip_serializing_if = "TbRisks::is_none")]
    pub risks: TbRisks,
}

/// What raises the pre-test probability of TB (WHO consolidated guidelines, Module 2:
/// Screening, 2021, the risk groups). Kept in the TB document, read by TB's readers only,
/// and never printed: a referral carries its rule's wording, not these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TbRisks {
    /// Known diabetes.
    pub diabetes: bool,
    /// Living with HIV, as the clinician knows it. Stored here only because every role that
    /// reads TB also reads HIV (a test in `access` keeps it so).
    pub hiv: bool,
    pub previous_tb: bool,
    /// In prison or detention in the last two years.
    pub prison: bool,
    pub smoking: bool,
    /// Harmful use of alcohol.
    pub alcohol: bool,
}

impl TbRisks {
    pub fn is_none(&self) -> bool {
        *self == TbRisks::default()
    }

    pub fn count(&self) -> usize {
        [
            self.diabetes,
            self.hiv,
            self.previous_tb,
            self.prison,
            self.smoking,
            self.alcohol,
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }
}

impl TbScreen {
    pub fn any_symptom(&self) -> bool {
        self.cough || self.fever || self.night_sweats || self.weight_loss
    }

    pub fn any_danger_sign(&self) -> bool {
        self.haemoptysis || self.breathless || self.very_ill
    }
}

/// One blood pressure reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpReading {
    pub systolic: u16,
    pub diastolic: u16,
}

/// What makes a very high blood pressure an emergency (hypertension-mediated organ damage:
/// 2018 ESC/ESH Guidelines, section 8.3; 2023 ESH Guidelines).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcuteSymptoms {
    pub chest_pain: bool,
    pub breathless: bool,
    /// Weakness or numbness on one side, slurred speech, a drooping face, vision loss.
    pub neurological: bool,
    pub confusion: bool,
    /// Severe headache with vomiting.
    pub headache_vomiting: bool,
}

impl AcuteSymptoms {
    pub fn any(&self) -> bool {
        self.chest_pain
            || self.breathless
            || self.neurological
            || self.confusion
            || self.headache_vomiting
    }
}

/// Office blood pressure: the first reading, and up to two more taken 1–2 minutes apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BloodPressure {
    pub systolic: u16,
    pub diastolic: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulse: Option<u16>,
    /// The second and third readings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<BpReading>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub symptoms: AcuteSymptoms,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// At most three readings: a fourth changes no grade (ESC/ESH).
pub const BP_MAX_READINGS: usize = 3;

impl BloodPressure {
    pub fn reading(systolic: u16, diastolic: u16) -> BloodPressure {
        BloodPressure {
            systolic,
            diastolic,
            pulse: None,
            more: Vec::new(),
            symptoms: AcuteSymptoms::default(),
        }
    }

    pub fn readings(&self) -> Vec<BpReading> {
        let mut all = vec![BpReading {
            systolic: self.systolic,
            diastolic: self.diastolic,
        }];
        all.extend(self.more.iter().copied());
        all
    }

    /// The pressure a grade is read from: one reading as it is; two, their mean; three, the
    /// mean of the last two (2018 ESC/ESH Guidelines, section 4.2: "BP should be recorded as
    /// the average of the last two readings"), so the first, often highest, reading of a
    /// tense person weighs less.
    pub fn graded(&self) -> (f64, f64) {
        let all = self.readings();
        let used = if all.len() >= 3 {
            &all[all.len() - 2..]
        } else {
            &all[..]
        };
        let n = used.len() as f64;
        (
            used.iter().map(|r| f64::from(r.systolic)).sum::<f64>() / n,
            used.iter().map(|r| f64::from(r.diastolic)).sum::<f64>() / n,
        )
    }

    /// The highest systolic and diastolic of any reading: what an emergency is judged on.
    pub fn highest(&self) -> (u16, u16) {
        let all = self.readings();
        (
            all.iter()
                .map(|r| r.systolic)
                .max()
                .unwrap_or(self.systolic),
            all.iter()
                .map(|r| r.diastolic)
                .max()
                .unwrap_or(self.diastolic),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_cm: Option<f64>,
}

impl Body {
    /// kg/m², when both are known.
    pub fn bmi(&self) -> Option<f64> {
        let (w, h) = (self.weight_kg?, self.height_cm? / 100.0);
        (h > 0.0).then(|| w / (h * h))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HepatitisTest {
    pub result: RapidResult,
    /// A second test done at once after an invalid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RapidResult>,
}

impl HepatitisTest {
    pub fn of(result: RapidResult) -> HepatitisTest {
        HepatitisTest {
            result,
            repeat: None,
        }
    }
}

impl RapidResult {
    /// The reading that counts: an invalid test is repeated with a new test (WHO HTS 2019),
    /// and the repeat's reading replaces it.
    pub fn after_repeat(self, repeat: Option<RapidResult>) -> RapidResult {
        match (self, repeat) {
            (RapidResult::Invalid, Some(second)) => second,
            (first, _) => first,
        }
    }

    /// Invalid and not yet repeated: the screen asks for a new test now.
    pub fn needs_repeat(self, repeat: Option<RapidResult>) -> bool {
        self == RapidResult::Invalid && repeat.is_none()
    }
}

/// The screenings of one visit, at most one of each kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Screenings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hiv: Option<HivTest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glucose: Option<Glucose>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hba1c: Option<Hba1c>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tb: Option<TbScreen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blood_pressure: Option<BloodPressure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hepatitis_b: Option<HepatitisTest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hepatitis_c: Option<HepatitisTest>,
}

impl Screenings {
    pub fn kinds(&self) -> Vec<ScreeningKind> {
        let mut k = Vec::new();
        let mut add = |present: bool, kind| {
            if present {
                k.push(kind)
            }
        };
        add(self.hiv.is_some(), ScreeningKind::Hiv);
        add(self.glucose.is_some(), ScreeningKind::Glucose);
        add(self.hba1c.is_some(), ScreeningKind::Hba1c);
        add(self.tb.is_some(), ScreeningKind::Tb);
        add(self.blood_pressure.is_some(), ScreeningKind::BloodPressure);
        add(self.body.is_some(), ScreeningKind::Body);
        add(self.hepatitis_b.is_some(), ScreeningKind::HepatitisB);
        add(self.hepatitis_c.is_some(), ScreeningKind::HepatitisC);
        k
    }

    pub fn is_empty(&self) -> bool {
        self.kinds().is_empty()
    }

    /// Removes one kind (used when an import skips an invalid screening).
    pub fn remove(&mut self, kind: ScreeningKind) {
        match kind {
            ScreeningKind::Hiv => self.hiv = None,
            ScreeningKind::Glucose => self.glucose = None,
            ScreeningKind::Hba1c => self.hba1c = None,
            ScreeningKind::Tb => self.tb = None,
            ScreeningKind::BloodPressure => self.blood_pressure = None,
            ScreeningKind::Body => self.body = None,
            ScreeningKind::HepatitisB => self.hepatitis_b = None,
            ScreeningKind::HepatitisC => self.hepatitis_c = None,
        }
    }

    /// Moves one kind from `other` into `self`.
    fn take(&mut self, other: &mut Screenings, kind: ScreeningKind) {
        match kind {
            ScreeningKind::Hiv => self.hiv = other.hiv.take(),
            ScreeningKind::Glucose => self.glucose = other.glucose.take(),
            ScreeningKind::Hba1c => self.hba1c = other.hba1c.take(),
            ScreeningKind::Tb => self.tb = other.tb.take(),
            ScreeningKind::BloodPressure => self.blood_pressure = other.blood_pressure.take(),
            ScreeningKind::Body => self.body = other.body.take(),
            ScreeningKind::HepatitisB => self.hepatitis_b = other.hepatitis_b.take(),
            ScreeningKind::HepatitisC => self.hepatitis_c = other.hepatitis_c.take(),
        }
    }

    /// Splits the screenings by access class; the general ones stay in the visit.
    pub fn split_by_access(mut self) -> BTreeMap<AccessClass, Screenings> {
        let mut out: BTreeMap<AccessClass, Screenings> = BTreeMap::new();
        for kind in self.kinds() {
            let class = kind.access_class();
            let mut part = out.remove(&class).unwrap_or_default();
            part.take(&mut self, kind);
            out.insert(class, part);
        }
        out
    }

    /// Puts the parts back together (the inverse of [`Screenings::split_by_access`]).
    pub fn join(parts: impl IntoIterator<Item = Screenings>) -> Screenings {
        let mut all = Screenings::default();
        for mut part in parts {
            for kind in part.kinds() {
                all.take(&mut part, kind);
            }
        }
        all
    }

    /// Checks each screening's values: impossible values are errors, unusual ones warnings.
    pub fn check(&self) -> Result<Checked<()>, ValidationErrors> {
        let mut ck = Checker::default();
        if let Some(h) = &self.hiv {
            if !h.consent {
                ck.error(Field::HivConsent, Problem::ConsentRequired);
            }
            if !h.counselled {
                ck.error(Field::HivCounselling, Problem::CounsellingRequired);
            }
        }
        if let Some(g) = &self.glucose {
            // 0.5–50 mmol/L spans what a capillary meter can read; outside it the value or
            // the unit is wrong. Below 3.0 or above 25 is possible but alarming.
            let (hard, usual) = match g.unit {
                GlucoseUnit::MmolL => ((0.5, 50.0), (3.0, 25.0)),
                GlucoseUnit::MgDl => ((9.0, 900.0), (54.0, 450.0)),
            };
            match (g.value, g.above_meter_range) {
                (Some(v), false) => ck.range(Field::GlucoseValue, v, hard, usual, g.unit.symbol()),
                (None, true) => {}
                // A number and "HI" at once, or neither: the reading is not clear.
                _ => ck.error(Field::GlucoseValue, Problem::Required),
            }
            if let Some(v) = g.recheck {
                ck.range(Field::GlucoseRecheck, v, hard, usual, g.unit.symbol());
            }
        }
        if let Some(a) = &self.hba1c {
            let (hard, usual, unit) = match a.unit {
                Hba1cUnit::Percent => ((3.0, 20.0), (4.0, 14.0), "%"),
                Hba1cUnit::MmolMol => ((9.0, 195.0), (20.0, 130.0), "mmol/mol"),
            };
            ck.range(Field::Hba1cValue, a.value, hard, usual, unit);
        }
        if let Some(t) = &self.tb {
            if t.cough_weeks > 0 && !t.cough {
                ck.error(Field::CoughWeeks, Problem::CoughWeeksWithoutCough);
            } else {
                ck.range(
                    Field::CoughWeeks,
                    f64::from(t.cough_weeks),
                    (0.0, 520.0),
                    (0.0, 52.0),
                    "седм.",
                );
            }
        }
        if let Some(bp) = &self.blood_pressure {
            ck.range(
                Field::Systolic,
                f64::from(bp.systolic),
                (50.0, 300.0),
                (90.0, 200.0),
                "mmHg",
            );
            ck.range(
                Field::Diastolic,
                f64::from(bp.diastolic),
                (20.0, 200.0),
                (50.0, 120.0),
                "mmHg",
            );
            if bp.systolic <= bp.diastolic {
                ck.error(
                    Field::Systolic,
                    Problem::SystolicNotAboveDiastolic {
                        systolic: bp.systolic,
                        diastolic: bp.diastolic,
                    },
                );
            }
            if bp.readings().len() > BP_MAX_READINGS {
                ck.error(Field::BpMoreReadings, Problem::TooManyReadings { max: 3 });
            }
            for r in &bp.more {
                let hard_s = (50.0, 300.0);
                let hard_d = (20.0, 200.0);
                ck.range(
                    Field::BpMoreReadings,
                    f64::from(r.systolic),
                    hard_s,
                    (90.0, 200.0),
                    "mmHg",
                );
                ck.range(
                    Field::BpMoreReadings,
                    f64::from(r.diastolic),
                    hard_d,
                    (50.0, 120.0),
                    "mmHg",
                );
                if r.systolic <= r.diastolic {
                    ck.error(
                        Field::BpMoreReadings,
                        Problem::SystolicNotAboveDiastolic {
                            systolic: r.systolic,
                            diastolic: r.diastolic,
                        },
                    );
                }
            }
            if let Some(p) = bp.pulse {
                ck.range(
                    Field::Pulse,
                    f64::from(p),
                    (20.0, 250.0),
                    (40.0, 140.0),
                    "/min",
                );
            }
        }
        if let Some(b) = &self.body {
            if let Some(w) = b.weight_kg {
                ck.range(Field::Weight, w, (1.0, 400.0), (30.0, 200.0), "kg");
            }
            if let Some(h) = b.height_cm {
                ck.range(Field::Height, h, (40.0, 250.0), (130.0, 210.0), "cm");
            }
        }
        ck.finish(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glucose_units_convert_by_18_016() {
        let g = Glucose::reading(126.0, GlucoseUnit::MgDl, Fasting::Fasting);
        assert!((g.mmol_l().unwrap() - 6.9937).abs() < 1e-3);
    }

    #[test]
    fn hba1c_units_convert() {
        let a = Hba1c {
            value: 6.5,
            unit: Hba1cUnit::Percent,
        };
        assert!((a.mmol_mol() - 47.5).abs() < 0.1);
        let b = Hba1c {
            value: 48.0,
            unit: Hba1cUnit::MmolMol,
        };
        assert!((b.percent() - 6.54).abs() < 0.01);
    }

    #[test]
    fn bmi_from_weight_and_height() {
        let b = Body {
            weight_kg: Some(81.0),
            height_cm: Some(180.0),
        };
        assert!((b.bmi().unwrap() - 25.0).abs() < 1e-9);
        assert_eq!(
            Body {
                weight_kg: Some(80.0),
                height_cm: None
            }
            .bmi(),
            None
        );
    }

    #[test]
    fn impossible_values_are_errors_and_unusual_ones_warnings() {
        let s = Screenings {
            glucose: Some(Glucose::reading(60.0, GlucoseUnit::MmolL, Fasting::Random)),
            blood_pressure: Some(BloodPressure::reading(80, 90)),
            hiv: Some(HivTest {
                consent: false,
                counselled: true,
                assay: HivAssay::RapidAb12,
                result: RapidResult::NonReactive,
                repeat: None,
            }),
            ..Default::default()
        };
        let e = s.check().unwrap_err();
        assert_eq!(
            e.fields(),
            vec![Field::HivConsent, Field::GlucoseValue, Field::Systolic]
        );
        let ok = Screenings {
            glucose: Some(Glucose::reading(2.8, GlucoseUnit::MmolL, Fasting::Random)),
            ..Default::default()
        };
        let c = ok.check().unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0]
                .message(crate::Lang::Bg)
                .starts_with("Кръвна захар: 2.8 mmol/L е необичайна")
        );
    }

    #[test]
    fn split_and_join_are_inverse_and_keep_hiv_out_of_general() {
        let s = Screenings {
            hiv: Some(HivTest {
                consent: true,
                counselled: true,
                assay: HivAssay::RapidAb12,
                result: RapidResult::Reactive,
                repeat: None,
            }),
            glucose: Some(Glucose::reading(5.0, GlucoseUnit::MmolL, Fasting::Fasting)),
            tb: Some(TbScreen::default()),
            hepatitis_c: Some(HepatitisTest::of(RapidResult::NonReactive)),
            ..Default::default()
        };
        let parts = s.clone().split_by_access();
        assert_eq!(parts.len(), 4);
        assert!(parts[&AccessClass::General].hiv.is_none());
        assert!(parts[&AccessClass::Hiv].glucose.is_none());
        assert_eq!(Screenings::join(parts.into_values()), s);
    }
}

#[cfg(test)]
mod stored_forms {
    use super::*;

    /// Visits saved before the fasting choice, the "HI" reading and repeat readings existed
    /// still read, with the meaning they had.
    #[test]
    fn old_documents_still_read() {
        let old: Screenings = serde_json::from_value(serde_json::json!({
            "glucose": {"value": 7.4, "unit": "mmol_l", "fasting": true},
            "blood_pressure": {"systolic": 150, "diastolic": 95},
            "hiv": {"consent": true, "counselled": true, "assay": "rapid_ab12", "result": "invalid"}
        }))
        .unwrap();
        let g = old.glucose.unwrap();
        assert_eq!((g.value, g.fasting), (Some(7.4), Fasting::Fasting));
        let random: Glucose = serde_json::from_value(
            serde_json::json!({"value": 5.0, "unit": "mg_dl", "fasting": false}),
        )
        .unwrap();
        assert_eq!(random.fasting, Fasting::Random);
        assert_eq!(old.blood_pressure.unwrap().readings().len(), 1);
        assert_eq!(old.hiv.unwrap().repeat, None);
        // New ones write the choice as a word.
        let new = serde_json::to_value(Glucose::reading(5.0, GlucoseUnit::MmolL, Fasting::Unknown))
            .unwrap();
        assert_eq!(new["fasting"], "unknown");
    }
}
