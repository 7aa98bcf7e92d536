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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlucoseUnit {
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

/// Capillary glucose, stored in the unit it was entered in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Glucose {
    pub value: f64,
    pub unit: GlucoseUnit,
    pub fasting: bool,
}

impl Glucose {
    pub fn mmol_l(&self) -> f64 {
        match self.unit {
            GlucoseUnit::MmolL => self.value,
            GlucoseUnit::MgDl => self.value / GLUCOSE_MG_DL_PER_MMOL_L,
        }
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

/// WHO four-symptom screen, plus contact with a person with TB.
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
}

impl TbScreen {
    pub fn any_symptom(&self) -> bool {
        self.cough || self.fever || self.night_sweats || self.weight_loss
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BloodPressure {
    pub systolic: u16,
    pub diastolic: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulse: Option<u16>,
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
            ck.range(Field::GlucoseValue, g.value, hard, usual, g.unit.symbol());
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
        let g = Glucose {
            value: 126.0,
            unit: GlucoseUnit::MgDl,
            fasting: true,
        };
        assert!((g.mmol_l() - 6.9937).abs() < 1e-3);
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
            glucose: Some(Glucose {
                value: 60.0,
                unit: GlucoseUnit::MmolL,
                fasting: false,
            }),
            blood_pressure: Some(BloodPressure {
                systolic: 80,
                diastolic: 90,
                pulse: None,
            }),
            hiv: Some(HivTest {
                consent: false,
                counselled: true,
                assay: HivAssay::RapidAb12,
                result: RapidResult::NonReactive,
            }),
            ..Default::default()
        };
        let e = s.check().unwrap_err();
        assert_eq!(
            e.fields(),
            vec![Field::HivConsent, Field::GlucoseValue, Field::Systolic]
        );
        let ok = Screenings {
            glucose: Some(Glucose {
                value: 2.8,
                unit: GlucoseUnit::MmolL,
                fasting: false,
            }),
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
            }),
            glucose: Some(Glucose {
                value: 5.0,
                unit: GlucoseUnit::MmolL,
                fasting: true,
            }),
            tb: Some(TbScreen::default()),
            hepatitis_c: Some(HepatitisTest {
                result: RapidResult::NonReactive,
            }),
            ..Default::default()
        };
        let parts = s.clone().split_by_access();
        assert_eq!(parts.len(), 4);
        assert!(parts[&AccessClass::General].hiv.is_none());
        assert!(parts[&AccessClass::Hiv].glucose.is_none());
        assert_eq!(Screenings::join(parts.into_values()), s);
    }
}
