//! Screening rules: results → suggested referrals with an urgency tier. Every threshold lives
//! in [`RULES`], one row each with its source, so a clinician can review them in one place.
//! The specialist confirms, edits or drops each suggestion; nothing here is a diagnosis.

use crate::error::Lang;
use crate::referral::{Destination, HubRole, Institution, Urgency};
use crate::screening::{RapidResult, ScreeningKind, Screenings};

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    FastingGlucoseMmolL,
    RandomGlucoseMmolL,
    /// Either kind of glucose reading.
    GlucoseMmolL,
    Hba1cPercent,
    Systolic,
    Diastolic,
    Bmi,
    TbAnySymptom,
    TbCoughWeeks,
    TbContact,
    HivReactive,
    HivInvalid,
    HbsagReactive,
    AntiHcvReactive,
    HepatitisInvalid,
}

/// The comparison, with the boundary: `AtLeast(x)` fires at x, `Below(x)` does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    AtLeast(f64),
    Below(f64),
    /// For yes/no findings.
    IsTrue,
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub measure: Measure,
    /// The threshold in the measure's first unit (mmol/L, %, mmHg…).
    pub cmp: Cmp,
    /// The same threshold as published in the other unit people enter (mg/dL for glucose,
    /// mmol/mol for HbA1c). A value is compared in the unit it was entered in: converted and
    /// compared unrounded, 126 mg/dL (6.99 mmol/L) would miss the 7.0 mmol/L boundary that
    /// ADA and WHO give as the same criterion.
    pub other_unit: Option<f64>,
    pub urgency: Urgency,
    pub destination: Destination,
    pub finding_bg: &'static str,
    pub finding_en: &'static str,
    pub source: &'static str,
}

const HUB_GP: Destination = Destination::Hub(HubRole::Gp);
const LUNG: Destination = Destination::Institution(Institution::LungHospital);
const KABKIS: Destination = Destination::Institution(Institution::HivTestingCabinet);
const INFECTIOUS: Destination = Destination::Institution(Institution::InfectiousDiseases);

/// The thresholds. Where several rows of one screening fire, the most urgent one is kept.
pub const RULES: &[Rule] = &[
    // --- Glucose. WHO/IDF 2006, "Definition and diagnosis of diabetes mellitus and
    // intermediate hyperglycaemia": FPG ≥ 7.0 mmol/L diabetes; 6.1–6.9 impaired fasting
    // glucose; a random ≥ 11.1 with symptoms is diabetic (confirm by a lab test).
    Rule {
        id: "glucose.fasting.diabetes",
        measure: Measure::FastingGlucoseMmolL,
        cmp: Cmp::AtLeast(7.0),
        other_unit: Some(126.0),
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвна захар на гладно ≥ 7,0 mmol/L — в диапазона на диабет, нужно е потвърждение",
        finding_en: "fasting glucose ≥ 7.0 mmol/L — in the diabetic range, needs confirmation",
        source: "WHO/IDF 2006, Definition and diagnosis of diabetes mellitus and intermediate hyperglycaemia",
    },
    Rule {
        id: "glucose.fasting.ifg",
        measure: Measure::FastingGlucoseMmolL,
        cmp: Cmp::AtLeast(6.1),
        other_unit: Some(110.0),
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвна захар на гладно 6,1–6,9 mmol/L — в диапазона на нарушена гликемия на гладно, нужно е потвърждение",
        finding_en: "fasting glucose 6.1–6.9 mmol/L — in the range of impaired fasting glucose, needs confirmation",
        source: "WHO/IDF 2006, Definition and diagnosis of diabetes mellitus and intermediate hyperglycaemia",
    },
    Rule {
        id: "glucose.random.diabetes",
        measure: Measure::RandomGlucoseMmolL,
        cmp: Cmp::AtLeast(11.1),
        other_unit: Some(200.0),
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвна захар (по всяко време) ≥ 11,1 mmol/L — в диапазона на диабет, нужно е потвърждение",
        finding_en: "random glucose ≥ 11.1 mmol/L — in the diabetic range, needs confirmation",
        source: "WHO/IDF 2006, Definition and diagnosis of diabetes mellitus and intermediate hyperglycaemia",
    },
    // Very high glucose: WHO HEARTS-D (2020, "Diagnosis and management of type 2 diabetes"):
    // a blood glucose above 18 mmol/L (325 mg/dL) is referred urgently, the same day.
    Rule {
        id: "glucose.very_high",
        measure: Measure::GlucoseMmolL,
        cmp: Cmp::AtLeast(18.0),
        other_unit: Some(325.0),
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвна захар ≥ 18 mmol/L (325 mg/dL) — много висока, преглед още днес",
        finding_en: "glucose ≥ 18 mmol/L (325 mg/dL) — very high, to be seen today",
        source: "WHO HEARTS-D: diagnosis and management of type 2 diabetes (2020)",
    },
    // Hyperglycaemic crisis: the 2024 ADA/EASD/JBDS/AACE/DTS consensus (Umpierrez et al.,
    // Diabetes Care 2024) uses ≥ 600 mg/dL (33.3 mmol/L) for the hyperosmolar state.
    Rule {
        id: "glucose.crisis",
        measure: Measure::GlucoseMmolL,
        cmp: Cmp::AtLeast(33.3),
        other_unit: Some(600.0),
        urgency: Urgency::Emergency,
        destination: Destination::Institution(Institution::EmergencyCare),
        finding_bg: "кръвна захар ≥ 33,3 mmol/L — опасност от хипергликемична криза",
        finding_en: "glucose ≥ 33.3 mmol/L — risk of hyperglycaemic crisis",
        source: "ADA/EASD/JBDS/AACE/DTS consensus on hyperglycaemic crises in adults, Diabetes Care 2024",
    },
    // Hypoglycaemia: level 2 < 3.0 mmol/L (54 mg/dL), level 1 < 3.9 mmol/L (70 mg/dL):
    // International Hypoglycaemia Study Group 2017, adopted by ADA Standards of Care.
    Rule {
        id: "glucose.hypo.level2",
        measure: Measure::GlucoseMmolL,
        cmp: Cmp::Below(3.0),
        other_unit: Some(54.0),
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвна захар < 3,0 mmol/L — значима хипогликемия",
        finding_en: "glucose < 3.0 mmol/L — clinically significant hypoglycaemia",
        source: "International Hypoglycaemia Study Group, Diabetes Care 2017;40:155",
    },
    Rule {
        id: "glucose.hypo.level1",
        measure: Measure::GlucoseMmolL,
        cmp: Cmp::Below(3.9),
        other_unit: Some(70.0),
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвна захар < 3,9 mmol/L — хипогликемия",
        finding_en: "glucose < 3.9 mmol/L — hypoglycaemia alert value",
        source: "International Hypoglycaemia Study Group, Diabetes Care 2017;40:155",
    },
    // --- HbA1c. WHO 2011, "Use of glycated haemoglobin (HbA1c) in the diagnosis of diabetes
    // mellitus": ≥ 6.5 % (48 mmol/mol). 6.0–6.4 % (42–47 mmol/mol) high risk: NICE PH38.
    Rule {
        id: "hba1c.diabetes",
        measure: Measure::Hba1cPercent,
        cmp: Cmp::AtLeast(6.5),
        other_unit: Some(48.0),
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "HbA1c ≥ 6,5 % (48 mmol/mol) — в диапазона на диабет, нужно е потвърждение",
        finding_en: "HbA1c ≥ 6.5 % (48 mmol/mol) — in the diabetic range, needs confirmation",
        source: "WHO 2011, Use of glycated haemoglobin (HbA1c) in the diagnosis of diabetes mellitus",
    },
    Rule {
        id: "hba1c.high_risk",
        measure: Measure::Hba1cPercent,
        cmp: Cmp::AtLeast(6.0),
        other_unit: Some(42.0),
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "HbA1c 6,0–6,4 % (42–47 mmol/mol) — в диапазона на висок риск от диабет, нужно е потвърждение",
        finding_en: "HbA1c 6.0–6.4 % (42–47 mmol/mol) — in the range of high diabetes risk, needs confirmation",
        source: "NICE PH38 (2012, updated 2017), Type 2 diabetes: prevention in people at high risk",
    },
    // --- Blood pressure. 2018 ESC/ESH Guidelines for the management of arterial hypertension,
    // table 3 (office BP), kept by the 2023 ESH Guidelines: grade 1 ≥ 140/90, grade 2
    // ≥ 160/100, grade 3 ≥ 180/110. Either number alone places the grade.
    Rule {
        id: "bp.grade1.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(140.0),
        other_unit: None,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 140/90 при това измерване — в диапазона на хипертония 1 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 140/90 at this measurement — in the range of grade 1 hypertension, needs confirmation",
        source: "2018 ESC/ESH Guidelines for arterial hypertension, table 3; 2023 ESH Guidelines",
    },
    Rule {
        id: "bp.grade1.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(90.0),
        other_unit: None,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 140/90 при това измерване — в диапазона на хипертония 1 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 140/90 at this measurement — in the range of grade 1 hypertension, needs confirmation",
        source: "2018 ESC/ESH Guidelines for arterial hypertension, table 3; 2023 ESH Guidelines",
    },
    Rule {
        id: "bp.grade2.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(160.0),
        other_unit: None,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 160/100 при това измерване — в диапазона на хипертония 2 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 160/100 at this measurement — in the range of grade 2 hypertension, needs confirmation",
        source: "2018 ESC/ESH Guidelines for arterial hypertension, table 3; 2023 ESH Guidelines",
    },
    Rule {
        id: "bp.grade2.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(100.0),
        other_unit: None,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 160/100 при това измерване — в диапазона на хипертония 2 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 160/100 at this measurement — in the range of grade 2 hypertension, needs confirmation",
        source: "2018 ESC/ESH Guidelines for arterial hypertension, table 3; 2023 ESH Guidelines",
    },
    Rule {
        id: "bp.grade3.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(180.0),
        other_unit: None,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 180/110 при това измерване — в диапазона на хипертония 3 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 180/110 at this measurement — in the range of grade 3 hypertension, needs confirmation",
        source: "2018 ESC/ESH Guidelines for arterial hypertension, table 3 and section 10.1",
    },
    Rule {
        id: "bp.grade3.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(110.0),
        other_unit: None,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 180/110 при това измерване — в диапазона на хипертония 3 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 180/110 at this measurement — in the range of grade 3 hypertension, needs confirmation",
        source: "2018 ESC/ESH Guidelines for arterial hypertension, table 3 and section 10.1",
    },
    // --- BMI. WHO Technical Report Series 894 (2000): obesity ≥ 30; underweight < 18.5;
    // severe thinness < 16 (WHO TRS 854, 1995).
    Rule {
        id: "bmi.obesity",
        measure: Measure::Bmi,
        cmp: Cmp::AtLeast(30.0),
        other_unit: None,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "ИТМ ≥ 30 — затлъстяване",
        finding_en: "BMI ≥ 30 — obesity",
        source: "WHO TRS 894 (2000), Obesity: preventing and managing the global epidemic",
    },
    Rule {
        id: "bmi.underweight",
        measure: Measure::Bmi,
        cmp: Cmp::Below(18.5),
        other_unit: None,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "ИТМ < 18,5 — поднормено тегло",
        finding_en: "BMI < 18.5 — underweight",
        source: "WHO TRS 894 (2000)",
    },
    Rule {
        id: "bmi.severe_thinness",
        measure: Measure::Bmi,
        cmp: Cmp::Below(16.0),
        other_unit: None,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "ИТМ < 16 — тежко поднормено тегло",
        finding_en: "BMI < 16 — severe thinness",
        source: "WHO TRS 854 (1995), Physical status: the use and interpretation of anthropometry",
    },
    // --- TB. WHO consolidated guidelines on tuberculosis, Module 2: Screening (2021): a
    // positive four-symptom screen (any current cough, fever, night sweats, weight loss) or a
    // cough of ≥ 2 weeks warrants diagnostic evaluation; household and close contacts are
    // evaluated (Module 1: prevention, 2024).
    Rule {
        id: "tb.w4ss",
        measure: Measure::TbAnySymptom,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Priority,
        destination: LUNG,
        finding_bg: "положителен скрининг за туберкулоза (кашлица, температура, нощно изпотяване или отслабване)",
        finding_en: "positive TB symptom screen (cough, fever, night sweats or weight loss)",
        source: "WHO consolidated guidelines on tuberculosis, Module 2: Screening (2021), W4SS",
    },
    Rule {
        id: "tb.cough_2_weeks",
        measure: Measure::TbCoughWeeks,
        cmp: Cmp::AtLeast(2.0),
        other_unit: None,
        urgency: Urgency::Priority,
        destination: LUNG,
        finding_bg: "кашлица от 2 или повече седмици",
        finding_en: "cough for 2 weeks or more",
        source: "WHO consolidated guidelines on tuberculosis, Module 2: Screening (2021)",
    },
    Rule {
        id: "tb.contact",
        measure: Measure::TbContact,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Routine,
        destination: LUNG,
        finding_bg: "контакт с болен от туберкулоза — нужно е изследване",
        finding_en: "contact with a TB patient — needs evaluation",
        source: "WHO consolidated guidelines on tuberculosis, Module 1: Prevention (2024); Module 2 (2021)",
    },
    // --- HIV. WHO Consolidated guidelines on HIV testing services (2019): a reactive rapid
    // test is not a diagnosis; it needs the national testing algorithm (confirmatory tests).
    // An invalid test is repeated.
    Rule {
        id: "hiv.reactive",
        measure: Measure::HivReactive,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Priority,
        destination: KABKIS,
        finding_bg: "реактивен скринингов тест — нужно е потвърдително изследване",
        finding_en: "reactive screening test — needs confirmatory testing",
        source: "WHO Consolidated guidelines on HIV testing services (2019)",
    },
    Rule {
        id: "hiv.invalid",
        measure: Measure::HivInvalid,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Routine,
        destination: KABKIS,
        finding_bg: "невалиден тест — нужно е повторно изследване",
        finding_en: "invalid test — needs repeat testing",
        source: "WHO Consolidated guidelines on HIV testing services (2019)",
    },
    // --- Hepatitis. WHO Guidelines on hepatitis B and C testing (2017) and WHO hepatitis B
    // guidelines (2024): HBsAg reactive → HBV DNA and assessment; anti-HCV reactive → HCV RNA
    // to confirm viraemia.
    Rule {
        id: "hepatitis_b.reactive",
        measure: Measure::HbsagReactive,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Priority,
        destination: INFECTIOUS,
        finding_bg: "реактивен HBsAg — нужно е потвърждение и оценка",
        finding_en: "reactive HBsAg — needs confirmation and assessment",
        source: "WHO Guidelines on hepatitis B and C testing (2017); WHO hepatitis B guidelines (2024)",
    },
    Rule {
        id: "hepatitis_c.reactive",
        measure: Measure::AntiHcvReactive,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Priority,
        destination: INFECTIOUS,
        finding_bg: "реактивен anti-HCV — нужно е изследване за HCV RNA",
        finding_en: "reactive anti-HCV — needs an HCV RNA test",
        source: "WHO Guidelines on hepatitis B and C testing (2017), updated 2022",
    },
    Rule {
        id: "hepatitis.invalid",
        measure: Measure::HepatitisInvalid,
        cmp: Cmp::IsTrue,
        other_unit: None,
        urgency: Urgency::Routine,
        destination: INFECTIOUS,
        finding_bg: "невалиден тест за хепатит — нужно е повторно изследване",
        finding_en: "invalid hepatitis test — needs repeat testing",
        source: "WHO Guidelines on hepatitis B and C testing (2017)",
    },
];

impl Measure {
    /// The screenings this measure reads (what a referral it suggests is for).
    pub fn kinds(self) -> &'static [ScreeningKind] {
        use Measure::*;
        use ScreeningKind as K;
        match self {
            FastingGlucoseMmolL | RandomGlucoseMmolL | GlucoseMmolL => &[K::Glucose],
            Hba1cPercent => &[K::Hba1c],
            Systolic | Diastolic => &[K::BloodPressure],
            Bmi => &[K::Body],
            TbAnySymptom | TbCoughWeeks | TbContact => &[K::Tb],
            HivReactive | HivInvalid => &[K::Hiv],
            HbsagReactive => &[K::HepatitisB],
            AntiHcvReactive => &[K::HepatitisC],
            HepatitisInvalid => &[K::HepatitisB, K::HepatitisC],
        }
    }

    /// The values this measure reads from the screenings (none when not screened). Yes/no
    /// findings read as 1.0 / 0.0.
    fn values(self, s: &Screenings) -> Vec<(ScreeningKind, Reading)> {
        use Measure::*;
        let yes = |b: bool| if b { 1.0 } else { 0.0 };
        let one = |k: ScreeningKind, v: Option<f64>| {
            v.map(|v| vec![(k, Reading::first(v))]).unwrap_or_default()
        };
        let glucose = |g: &crate::screening::Glucose| Reading {
            first_unit: g.mmol_l(),
            entered_other: (g.unit == crate::screening::GlucoseUnit::MgDl).then_some(g.value),
        };
        let glucose_if = |keep: &dyn Fn(&crate::screening::Glucose) -> bool| {
            s.glucose
                .as_ref()
                .filter(|g| keep(g))
                .map(|g| vec![(ScreeningKind::Glucose, glucose(g))])
                .unwrap_or_default()
        };
        match self {
            FastingGlucoseMmolL => glucose_if(&|g| g.fasting),
            RandomGlucoseMmolL => glucose_if(&|g| !g.fasting),
            GlucoseMmolL => glucose_if(&|_| true),
            Hba1cPercent => s
                .hba1c
                .as_ref()
                .map(|a| {
                    vec![(
                        ScreeningKind::Hba1c,
                        Reading {
                            first_unit: a.percent(),
                            entered_other: (a.unit == crate::screening::Hba1cUnit::MmolMol)
                                .then_some(a.value),
                        },
                    )]
                })
                .unwrap_or_default(),
            Systolic => one(
                ScreeningKind::BloodPressure,
                s.blood_pressure.as_ref().map(|b| f64::from(b.systolic)),
            ),
            Diastolic => one(
                ScreeningKind::BloodPressure,
                s.blood_pressure.as_ref().map(|b| f64::from(b.diastolic)),
            ),
            Bmi => one(ScreeningKind::Body, s.body.as_ref().and_then(|b| b.bmi())),
            TbAnySymptom => one(
                ScreeningKind::Tb,
                s.tb.as_ref().map(|t| yes(t.any_symptom())),
            ),
            TbCoughWeeks => one(
                ScreeningKind::Tb,
                s.tb.as_ref()
                    .filter(|t| t.cough)
                    .map(|t| f64::from(t.cough_weeks)),
            ),
            TbContact => one(ScreeningKind::Tb, s.tb.as_ref().map(|t| yes(t.contact))),
            HivReactive => one(
                ScreeningKind::Hiv,
                s.hiv
                    .as_ref()
                    .map(|h| yes(h.result == RapidResult::Reactive)),
            ),
            HivInvalid => one(
                ScreeningKind::Hiv,
                s.hiv
                    .as_ref()
                    .map(|h| yes(h.result == RapidResult::Invalid)),
            ),
            HbsagReactive => one(
                ScreeningKind::HepatitisB,
                s.hepatitis_b
                    .as_ref()
                    .map(|h| yes(h.result == RapidResult::Reactive)),
            ),
            AntiHcvReactive => one(
                ScreeningKind::HepatitisC,
                s.hepatitis_c
                    .as_ref()
                    .map(|h| yes(h.result == RapidResult::Reactive)),
            ),
            HepatitisInvalid => {
                let mut v = one(
                    ScreeningKind::HepatitisB,
                    s.hepatitis_b
                        .as_ref()
                        .map(|h| yes(h.result == RapidResult::Invalid)),
                );
                v.extend(one(
                    ScreeningKind::HepatitisC,
                    s.hepatitis_c
                        .as_ref()
                        .map(|h| yes(h.result == RapidResult::Invalid)),
                ));
                v
            }
        }
    }
}

/// A value as a rule reads it: in the measure's first unit, and as entered when that was the
/// other unit (mg/dL, mmol/mol).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    first_unit: f64,
    entered_other: Option<f64>,
}

impl Reading {
    fn first(value: f64) -> Reading {
        Reading {
            first_unit: value,
            entered_other: None,
        }
    }
}

impl Cmp {
    pub fn fires(self, value: f64) -> bool {
        match self {
            Cmp::AtLeast(t) => value >= t,
            Cmp::Below(t) => value < t,
            Cmp::IsTrue => value >= 1.0,
        }
    }

    /// The same comparison against another threshold (the other unit's).
    fn with_threshold(self, t: f64) -> Cmp {
        match self {
            Cmp::AtLeast(_) => Cmp::AtLeast(t),
            Cmp::Below(_) => Cmp::Below(t),
            Cmp::IsTrue => Cmp::IsTrue,
        }
    }
}

impl Rule {
    /// Whether this rule fires for a reading: compared in the unit it was entered in when the
    /// rule has its threshold in that unit.
    fn fires_for(&self, reading: Reading) -> bool {
        match (reading.entered_other, self.other_unit) {
            (Some(entered), Some(threshold)) => self.cmp.with_threshold(threshold).fires(entered),
            _ => self.cmp.fires(reading.first_unit),
        }
    }

    /// Whether this rule fires for some screening of `screenings`.
    pub fn fires_on(&self, screenings: &Screenings) -> bool {
        self.measure
            .values(screenings)
            .into_iter()
            .any(|(_, reading)| self.fires_for(reading))
    }
}

/// A referral the rules suggest; the specialist decides.
#[derive(Debug, Clone, Copy)]
pub struct Suggestion {
    pub reason: ScreeningKind,
    pub destination: Destination,
    pub urgency: Urgency,
    pub rule: &'static Rule,
}

impl Suggestion {
    pub fn finding(&self, lang: Lang) -> &'static str {
        lang.pick(self.rule.finding_bg, self.rule.finding_en)
    }
}

/// The suggested referrals for a visit's screenings: one per screening and destination, the
/// most urgent rule that fired; ordered most urgent first.
pub fn suggest_referrals(screenings: &Screenings) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    for rule in RULES {
        for (reason, reading) in rule.measure.values(screenings) {
            if !rule.fires_for(reading) {
                continue;
            }
            let s = Suggestion {
                reason,
                destination: rule.destination,
                urgency: rule.urgency,
                rule,
            };
            match out
                .iter_mut()
                .find(|o| o.reason == reason && o.destination == rule.destination)
            {
                Some(existing) if existing.urgency < s.urgency => *existing = s,
                Some(_) => {}
                None => out.push(s),
            }
        }
    }
    out.sort_by(|a, b| b.urgency.cmp(&a.urgency).then(a.reason.cmp(&b.reason)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::*;

    fn glucose(v: f64, fasting: bool) -> Screenings {
        Screenings {
            glucose: Some(Glucose {
                value: v,
                unit: GlucoseUnit::MmolL,
                fasting,
            }),
            ..Default::default()
        }
    }
    fn bp(s: u16, d: u16) -> Screenings {
        Screenings {
            blood_pressure: Some(BloodPressure {
                systolic: s,
                diastolic: d,
                pulse: None,
            }),
            ..Default::default()
        }
    }
    fn hba1c(v: f64) -> Screenings {
        Screenings {
            hba1c: Some(Hba1c {
                value: v,
                unit: Hba1cUnit::Percent,
            }),
            ..Default::default()
        }
    }
    fn bmi(weight: f64) -> Screenings {
        // Height 100 cm makes BMI equal to the weight.
        Screenings {
            body: Some(Body {
                weight_kg: Some(weight),
                height_cm: Some(100.0),
            }),
            ..Default::default()
        }
    }
    fn cough(weeks: u16) -> Screenings {
        Screenings {
            tb: Some(TbScreen {
                cough: true,
                cough_weeks: weeks,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The top suggestion's rule and urgency, or None.
    fn top(s: &Screenings) -> Option<(&'static str, Urgency)> {
        suggest_referrals(s).first().map(|x| (x.rule.id, x.urgency))
    }

    #[test]
    fn every_threshold_at_its_boundary() {
        use Urgency::*;
        // (input, expected top rule) for just below, at, just above each numeric threshold.
        type Case = (&'static str, Screenings, Option<(&'static str, Urgency)>);
        let cases: Vec<Case> = vec![
            ("fasting 6.09", glucose(6.09, true), None),
            (
                "fasting 6.1",
                glucose(6.1, true),
                Some(("glucose.fasting.ifg", Routine)),
            ),
            (
                "fasting 6.11",
                glucose(6.11, true),
                Some(("glucose.fasting.ifg", Routine)),
            ),
            (
                "fasting 6.99",
                glucose(6.99, true),
                Some(("glucose.fasting.ifg", Routine)),
            ),
            (
                "fasting 7.0",
                glucose(7.0, true),
                Some(("glucose.fasting.diabetes", Priority)),
            ),
            (
                "fasting 7.01",
                glucose(7.01, true),
                Some(("glucose.fasting.diabetes", Priority)),
            ),
            ("random 11.09", glucose(11.09, false), None),
            (
                "random 11.1",
                glucose(11.1, false),
                Some(("glucose.random.diabetes", Priority)),
            ),
            (
                "random 11.11",
                glucose(11.11, false),
                Some(("glucose.random.diabetes", Priority)),
            ),
            (
                "random 17.9",
                glucose(17.9, false),
                Some(("glucose.random.diabetes", Priority)),
            ),
            (
                "random 18.0",
                glucose(18.0, false),
                Some(("glucose.very_high", SameDay)),
            ),
            (
                "fasting 18.0",
                glucose(18.0, true),
                Some(("glucose.very_high", SameDay)),
            ),
            (
                "random 33.29",
                glucose(33.29, false),
                Some(("glucose.very_high", SameDay)),
            ),
            (
                "random 33.3",
                glucose(33.3, false),
                Some(("glucose.crisis", Emergency)),
            ),
            (
                "random 33.31",
                glucose(33.31, false),
                Some(("glucose.crisis", Emergency)),
            ),
            ("random 3.91", glucose(3.91, false), None),
            ("random 3.9", glucose(3.9, false), None),
            (
                "random 3.89",
                glucose(3.89, false),
                Some(("glucose.hypo.level1", Routine)),
            ),
            (
                "random 3.01",
                glucose(3.01, false),
                Some(("glucose.hypo.level1", Routine)),
            ),
            (
                "random 3.0",
                glucose(3.0, false),
                Some(("glucose.hypo.level1", Routine)),
            ),
            (
                "random 2.99",
                glucose(2.99, false),
                Some(("glucose.hypo.level2", SameDay)),
            ),
            ("hba1c 5.99", hba1c(5.99), None),
            ("hba1c 6.0", hba1c(6.0), Some(("hba1c.high_risk", Routine))),
            (
                "hba1c 6.01",
                hba1c(6.01),
                Some(("hba1c.high_risk", Routine)),
            ),
            (
                "hba1c 6.49",
                hba1c(6.49),
                Some(("hba1c.high_risk", Routine)),
            ),
            ("hba1c 6.5", hba1c(6.5), Some(("hba1c.diabetes", Priority))),
            (
                "hba1c 6.51",
                hba1c(6.51),
                Some(("hba1c.diabetes", Priority)),
            ),
            ("bp 139/80", bp(139, 80), None),
            (
                "bp 140/80",
                bp(140, 80),
                Some(("bp.grade1.systolic", Routine)),
            ),
            (
                "bp 141/80",
                bp(141, 80),
                Some(("bp.grade1.systolic", Routine)),
            ),
            ("bp 130/89", bp(130, 89), None),
            (
                "bp 130/90",
                bp(130, 90),
                Some(("bp.grade1.diastolic", Routine)),
            ),
            (
                "bp 130/91",
                bp(130, 91),
                Some(("bp.grade1.diastolic", Routine)),
            ),
            (
                "bp 159/80",
                bp(159, 80),
                Some(("bp.grade1.systolic", Routine)),
            ),
            (
                "bp 160/80",
                bp(160, 80),
                Some(("bp.grade2.systolic", Priority)),
            ),
            (
                "bp 161/80",
                bp(161, 80),
                Some(("bp.grade2.systolic", Priority)),
            ),
            (
                "bp 150/99",
                bp(150, 99),
                Some(("bp.grade1.systolic", Routine)),
            ),
            (
                "bp 150/100",
                bp(150, 100),
                Some(("bp.grade2.diastolic", Priority)),
            ),
            (
                "bp 150/101",
                bp(150, 101),
                Some(("bp.grade2.diastolic", Priority)),
            ),
            (
                "bp 179/80",
                bp(179, 80),
                Some(("bp.grade2.systolic", Priority)),
            ),
            (
                "bp 180/80",
                bp(180, 80),
                Some(("bp.grade3.systolic", SameDay)),
            ),
            (
                "bp 181/80",
                bp(181, 80),
                Some(("bp.grade3.systolic", SameDay)),
            ),
            (
                "bp 170/109",
                bp(170, 109),
                Some(("bp.grade2.systolic", Priority)),
            ),
            (
                "bp 170/110",
                bp(170, 110),
                Some(("bp.grade3.diastolic", SameDay)),
            ),
            (
                "bp 170/111",
                bp(170, 111),
                Some(("bp.grade3.diastolic", SameDay)),
            ),
            ("bmi 29.99", bmi(29.99), None),
            ("bmi 30", bmi(30.0), Some(("bmi.obesity", Routine))),
            ("bmi 30.01", bmi(30.01), Some(("bmi.obesity", Routine))),
            ("bmi 18.51", bmi(18.51), None),
            ("bmi 18.5", bmi(18.5), None),
            ("bmi 18.49", bmi(18.49), Some(("bmi.underweight", Routine))),
            ("bmi 16.01", bmi(16.01), Some(("bmi.underweight", Routine))),
            ("bmi 16", bmi(16.0), Some(("bmi.underweight", Routine))),
            (
                "bmi 15.99",
                bmi(15.99),
                Some(("bmi.severe_thinness", Priority)),
            ),
            ("cough 1 week", cough(1), Some(("tb.w4ss", Priority))),
            ("cough 2 weeks", cough(2), Some(("tb.w4ss", Priority))),
        ];
        for (name, s, expected) in cases {
            assert_eq!(top(&s), expected, "{name}");
        }
    }

    #[test]
    fn cough_rule_boundary_on_its_own() {
        let rule = RULES.iter().find(|r| r.id == "tb.cough_2_weeks").unwrap();
        assert!(!rule.cmp.fires(1.0));
        assert!(rule.cmp.fires(2.0));
        assert!(rule.cmp.fires(3.0));
    }

    #[test]
    fn glucose_in_mg_dl_is_compared_with_the_mg_dl_threshold() {
        let fasting = |value| Screenings {
            glucose: Some(Glucose {
                value,
                unit: GlucoseUnit::MgDl,
                fasting: true,
            }),
            ..Default::default()
        };
        // 126 mg/dL is 6.99 mmol/L, and ADA's and WHO's same criterion as 7.0 mmol/L.
        assert_eq!(top(&fasting(126.0)).unwrap().0, "glucose.fasting.diabetes");
        assert_eq!(top(&fasting(125.0)).unwrap().0, "glucose.fasting.ifg");
    }

    #[test]
    fn categorical_findings() {
        let hiv = |result| Screenings {
            hiv: Some(HivTest {
                consent: true,
                counselled: true,
                assay: HivAssay::RapidAb12,
                result,
            }),
            ..Default::default()
        };
        assert_eq!(top(&hiv(RapidResult::NonReactive)), None);
        let s = suggest_referrals(&hiv(RapidResult::Reactive));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].destination.slug(), "hiv-confirmatory");
        assert!(s[0].finding(Lang::Bg).contains("потвърдително"));
        assert!(!s[0].finding(Lang::Bg).to_lowercase().contains("диагноза"));
        assert_eq!(
            top(&hiv(RapidResult::Invalid)),
            Some(("hiv.invalid", Urgency::Routine))
        );

        let hep = Screenings {
            hepatitis_b: Some(HepatitisTest {
                result: RapidResult::Invalid,
            }),
            hepatitis_c: Some(HepatitisTest {
                result: RapidResult::Reactive,
            }),
            ..Default::default()
        };
        let s = suggest_referrals(&hep);
        let reasons: Vec<_> = s.iter().map(|x| (x.reason, x.rule.id)).collect();
        assert_eq!(
            reasons,
            vec![
                (ScreeningKind::HepatitisC, "hepatitis_c.reactive"),
                (ScreeningKind::HepatitisB, "hepatitis.invalid")
            ]
        );
        let contact = Screenings {
            tb: Some(TbScreen {
                contact: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(top(&contact), Some(("tb.contact", Urgency::Routine)));
        assert_eq!(
            top(&Screenings {
                tb: Some(TbScreen::default()),
                ..Default::default()
            }),
            None
        );
    }

    #[test]
    fn every_rule_cites_a_source() {
        for r in RULES {
            assert!(r.source.len() > 10, "{}", r.id);
            assert!(
                !r.finding_bg.is_empty() && !r.finding_en.is_empty(),
                "{}",
                r.id
            );
        }
    }

    /// Screenings with one reading of `rule`'s measure, as entered (`other`: in mg/dL or
    /// mmol/mol).
    fn reading_for(rule: &Rule, value: f64, other: bool) -> Screenings {
        match rule.measure {
            Measure::FastingGlucoseMmolL | Measure::RandomGlucoseMmolL | Measure::GlucoseMmolL => {
                Screenings {
                    glucose: Some(Glucose {
                        value,
                        unit: if other {
                            GlucoseUnit::MgDl
                        } else {
                            GlucoseUnit::MmolL
                        },
                        fasting: rule.measure == Measure::FastingGlucoseMmolL,
                    }),
                    ..Default::default()
                }
            }
            Measure::Hba1cPercent => Screenings {
                hba1c: Some(Hba1c {
                    value,
                    unit: if other {
                        Hba1cUnit::MmolMol
                    } else {
                        Hba1cUnit::Percent
                    },
                }),
                ..Default::default()
            },
            m => panic!("{m:?} has one unit"),
        }
    }

    /// Every threshold published in two units fires exactly at its boundary in each: at the
    /// value, not a step before it (or, for "below", a step under it, not at it). Glucose in
    /// 0.1 mmol/L and 1 mg/dL steps, HbA1c in 0.1 % and 1 mmol/mol.
    #[test]
    fn each_threshold_holds_at_its_boundary_in_both_units() {
        let mut checked = 0;
        for rule in RULES {
            let Some(other) = rule.other_unit else {
                continue;
            };
            let (first, at_least) = match rule.cmp {
                Cmp::AtLeast(t) => (t, true),
                Cmp::Below(t) => (t, false),
                Cmp::IsTrue => unreachable!("a two-unit rule has a threshold"),
            };
            for (threshold, step, in_other) in [(first, 0.1, false), (other, 1.0, true)] {
                let at = rule.fires_on(&reading_for(rule, threshold, in_other));
                let before = rule.fires_on(&reading_for(rule, threshold - step, in_other));
                let after = rule.fires_on(&reading_for(rule, threshold + step, in_other));
                if at_least {
                    assert!(
                        at && after && !before,
                        "{} at {threshold} ({in_other})",
                        rule.id
                    );
                } else {
                    assert!(
                        !at && !after && before,
                        "{} at {threshold} ({in_other})",
                        rule.id
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 18, "9 two-unit rules, each in both units");
        // The case that moved: 126 mg/dL fasting is 6.99 mmol/L, and in the diabetic range.
        let fasting_126 = Screenings {
            glucose: Some(Glucose {
                value: 126.0,
                unit: GlucoseUnit::MgDl,
                fasting: true,
            }),
            ..Default::default()
        };
        assert!(
            suggest_referrals(&fasting_126)
                .iter()
                .any(|s| s.rule.id == "glucose.fasting.diabetes")
        );
    }

    /// One reading diagnoses nothing: a rule that names a condition (diabetes, impaired
    /// fasting glucose, a grade of hypertension) says the reading is in its range and needs
    /// confirming.
    #[test]
    fn a_single_reading_never_diagnoses() {
        for rule in RULES {
            let names_a_condition = ["диабет", "гликемия на гладно", "хипертония"]
                .iter()
                .any(|w| rule.finding_bg.contains(w));
            if names_a_condition {
                assert!(
                    rule.finding_bg.contains("в диапазона")
                        && rule.finding_bg.contains("потвърждение"),
                    "{}: {}",
                    rule.id,
                    rule.finding_bg
                );
                assert!(
                    rule.finding_en.contains("needs confirmation"),
                    "{}",
                    rule.id
                );
            }
        }
    }
}
