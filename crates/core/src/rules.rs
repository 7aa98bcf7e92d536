//! Screening rules: results → suggested referrals with an urgency tier, and the prompts the
//! visit screen shows (call 112, first aid for a low glucose, measure again, repeat a test).
//! Every threshold lives in [`RULES`], one row each with its source, so a clinician can
//! review them in one place. The specialist confirms, edits or drops each suggestion; nothing
//! here is a diagnosis.
//!
//! A threshold published in two units (glucose in mmol/L and mg/dL, HbA1c in % and mmol/mol)
//! is kept in both, as published, and a value is compared in the unit it was entered in.

use crate::error::Lang;
use crate::referral::{Destination, HubRole, Institution, Urgency};
use crate::screening::{
    Fasting, Glucose as GlucoseReading, GlucoseUnit, Hba1cUnit, Ketones, RapidResult,
    ScreeningKind, Screenings,
};

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A glucose reading taken fasting.
    FastingGlucose,
    /// A glucose reading taken after eating, or not known to be fasting.
    RandomGlucose,
    /// A glucose reading whose fasting state is not known.
    UnknownFastingGlucose,
    /// Any glucose reading.
    Glucose,
    /// The meter read "HI".
    GlucoseAboveMeter,
    /// Urine ketones on the strip (1 = 1+, 2 = 2+, 3 = 3+; a trace is 0.5).
    Ketones,
    /// A glucose reading of a person on glucose-lowering medication.
    GlucoseOnLoweringDrugs,
    /// A glucose reading of a person drowsy or confused.
    GlucoseWhenDrowsy,
    /// "HI" on the meter in a person drowsy or confused.
    GlucoseAboveMeterWhenDrowsy,
    /// The second reading, 15 minutes after fast carbohydrate for a low first one.
    GlucoseAfterTreatment,
    Hba1c,
    /// Systolic of one reading, or the mean of the readings (see `BloodPressure::graded`).
    Systolic,
    Diastolic,
    /// Systolic when there was one reading only.
    SystolicSingleReading,
    DiastolicSingleReading,
    /// Systolic on the mean of two or three readings.
    SystolicRepeated,
    DiastolicRepeated,
    /// The highest systolic of any reading, when there are acute symptoms.
    SystolicWithAcuteSymptoms,
    DiastolicWithAcuteSymptoms,
    /// A child's BMI or blood pressure was measured.
    ChildMeasuredByAdultRanges,
    Bmi,
    TbAnySymptom,
    TbCoughWeeks,
    TbContact,
    /// Haemoptysis, breathlessness or a very ill person.
    TbDangerSign,
    /// Reactive (after a repeat, if the first was invalid).
    HivReactive,
    /// Invalid, and invalid again on the repeat.
    HivInvalidTwice,
    HbsagReactive,
    AntiHcvReactive,
    HepatitisInvalidTwice,
}

/// The comparison, with the boundary: `AtLeast(x)` fires at x, `Below(x)` does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    AtLeast(f64),
    Below(f64),
    /// For yes/no findings.
    IsTrue,
}

/// Whom a rule is for: adult ranges of BMI and blood pressure are not a child's, and
/// pregnancy has its own glucose and blood pressure thresholds (and no HbA1c diagnosis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    Everyone,
    NotPregnant,
    Pregnant,
    /// 18 or older (or of unknown age), not pregnant.
    AdultsNotPregnant,
    /// Under 18.
    Children,
}

/// Who was screened, as far as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subject {
    /// Whole years at the visit; none when unknown (treated as an adult).
    pub age_years: Option<u32>,
    pub pregnant: bool,
}

/// The age from which adult ranges apply.
pub const ADULT_AGE: u32 = 18;

/// The ages at which pregnancy may be recorded: a wider band than is usual, so that no real
/// pregnancy is refused, narrow enough to catch a tick on the wrong person.
pub const PREGNANCY_AGES: std::ops::RangeInclusive<u32> = 10..=55;

impl Subject {
    /// `person` on `day`, pregnant or not; pregnancy of a man, a girl under 10 or a woman
    /// over 55 is refused as a mistake on the form.
    pub fn of(
        person: &crate::Person,
        day: chrono::NaiveDate,
        pregnant: bool,
    ) -> Result<Subject, crate::ValidationError> {
        let age = person.birth_date.age_on(day);
        if pregnant && (person.sex != crate::Sex::F || !PREGNANCY_AGES.contains(&age)) {
            return Err(crate::ValidationError::new(
                crate::Field::Pregnancy,
                crate::Problem::PregnancyNotPossible,
            ));
        }
        Ok(Subject {
            age_years: Some(age),
            pregnant,
        })
    }

    pub fn is_child(&self) -> bool {
        self.age_years.is_some_and(|a| a < ADULT_AGE)
    }
}

impl Population {
    pub fn includes(self, who: &Subject) -> bool {
        match self {
            Population::Everyone => true,
            Population::NotPregnant => !who.pregnant,
            Population::Pregnant => who.pregnant,
            Population::AdultsNotPregnant => !who.pregnant && !who.is_child(),
            Population::Children => who.is_child(),
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            Population::Everyone => ("всички", "everyone"),
            Population::NotPregnant => ("без бременни", "not pregnant"),
            Population::Pregnant => ("бременни", "pregnant"),
            Population::AdultsNotPregnant => (
                "възрастни (18+), без бременни",
                "adults (18+), not pregnant",
            ),
            Population::Children => ("под 18 години", "under 18"),
        };
        lang.pick(bg, en)
    }
}

/// What the slip says for a rule: plain words about what happens next, no value and no
/// diagnosis. A slip for any reason but HIV says nothing about HIV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlipWording {
    HighGlucose,
    VeryHighGlucose,
    LowGlucose,
    GlucoseInPregnancy,
    HighBloodPressure,
    VeryHighBloodPressure,
    BloodPressureInPregnancy,
    Weight,
    ChildAssessment,
    TbSymptoms,
    TbUrgent,
    TbContact,
    HivReactive,
    HivRepeat,
    HepatitisBReactive,
    HepatitisCReactive,
    HepatitisRepeat,
    EmergencyBloodPressure,
    EmergencyGlucose,
}

impl SlipWording {
    pub fn text(self, lang: Lang) -> &'static str {
        use SlipWording::*;
        let (bg, en) = match self {
            HighGlucose => (
                "Кръвна захар над обичайните граници при скрининг — нужен е преглед при лекар.",
                "Blood sugar above the usual range at screening — a doctor's check is needed.",
            ),
            VeryHighGlucose => (
                "Много висока кръвна захар при скрининг — нужен е преглед при лекар още днес.",
                "Very high blood sugar at screening — a doctor's check is needed today.",
            ),
            LowGlucose => (
                "Ниска кръвна захар при скрининг — нужен е преглед при лекар.",
                "Low blood sugar at screening — a doctor's check is needed.",
            ),
            GlucoseInPregnancy => (
                "Кръвна захар при бременност над обичайните граници — нужен е преглед при лекар.",
                "Blood sugar in pregnancy above the usual range — a doctor's check is needed.",
            ),
            HighBloodPressure => (
                "Високо кръвно налягане при измерване — нужен е преглед при лекар.",
                "High blood pressure when measured — a doctor's check is needed.",
            ),
            VeryHighBloodPressure => (
                "Много високо кръвно налягане при измерване — нужен е преглед при лекар още днес.",
                "Very high blood pressure when measured — a doctor's check is needed today.",
            ),
            BloodPressureInPregnancy => (
                "Високо кръвно налягане при бременност — нужен е преглед при лекар.",
                "High blood pressure in pregnancy — a doctor's check is needed.",
            ),
            Weight => (
                "Тегло извън нормата — консултация.",
                "Weight outside the healthy range — a consultation.",
            ),
            ChildAssessment => (
                "Измерване при дете — нужна е оценка от педиатър.",
                "A measurement in a child — a paediatric assessment is needed.",
            ),
            TbSymptoms => (
                "Оплаквания, при които е нужно изследване за туберкулоза.",
                "Symptoms that call for a tuberculosis check.",
            ),
            TbUrgent => (
                "Оплаквания, при които е нужен преглед за туберкулоза още днес.",
                "Symptoms that call for a tuberculosis check today.",
            ),
            TbContact => (
                "Контакт с болен от туберкулоза — нужно е изследване.",
                "Contact with a person with tuberculosis — a check is needed.",
            ),
            HivReactive => (
                "Реактивен скринингов тест за ХИВ — нужно е потвърдително изследване.",
                "Reactive HIV screening test — confirmatory testing is needed.",
            ),
            HivRepeat => (
                "Скрининговият тест за ХИВ не даде резултат — нужно е изследване в лаборатория.",
                "The HIV screening test gave no result — a laboratory test is needed.",
            ),
            HepatitisBReactive => (
                "Реактивен скринингов тест за хепатит B — нужно е потвърдително изследване.",
                "Reactive hepatitis B screening test — confirmatory testing is needed.",
            ),
            HepatitisCReactive => (
                "Реактивен скринингов тест за хепатит C — нужно е потвърдително изследване.",
                "Reactive hepatitis C screening test — confirmatory testing is needed.",
            ),
            HepatitisRepeat => (
                "Скрининговият тест за хепатит не даде резултат — нужно е изследване в лаборатория.",
                "The hepatitis screening test gave no result — a laboratory test is needed.",
            ),
            EmergencyBloodPressure => (
                "СПЕШНО: много високо кръвно налягане с оплаквания — нужна е незабавна медицинска помощ.",
                "EMERGENCY: very high blood pressure with symptoms — immediate medical care is needed.",
            ),
            EmergencyGlucose => (
                "СПЕШНО: кръвна захар извън безопасните граници — нужна е незабавна медицинска помощ.",
                "EMERGENCY: blood sugar outside safe limits — immediate medical care is needed.",
            ),
        };
        lang.pick(bg, en)
    }
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
    pub population: Population,
    pub urgency: Urgency,
    pub destination: Destination,
    pub finding_bg: &'static str,
    pub finding_en: &'static str,
    pub slip: SlipWording,
    pub source: &'static str,
}

const HUB_GP: Destination = Destination::Hub(HubRole::Gp);
const LUNG: Destination = Destination::Institution(Institution::LungHospital);
const KABKIS: Destination = Destination::Institution(Institution::HivTestingCabinet);
const INFECTIOUS: Destination = Destination::Institution(Institution::InfectiousDiseases);
const EMERGENCY: Destination = Destination::Institution(Institution::EmergencyCare);

/// Hypoglycaemia alert value, level 1 (IHSG 2017): 3.9 mmol/L, 70 mg/dL.
pub const HYPO_MMOL_L: f64 = 3.9;
pub const HYPO_MG_DL: f64 = 70.0;

const IHSG: &str = "International Hypoglycaemia Study Group, Diabetes Care 2017;40:155; ADA Standards of Care 2025, section 6";
const WHO_2006: &str =
    "WHO/IDF 2006, Definition and diagnosis of diabetes mellitus and intermediate hyperglycaemia";
const HEARTS_D: &str = "WHO HEARTS-D: diagnosis and management of type 2 diabetes (2020)";
const CRISIS: &str =
    "ADA/EASD/JBDS/AACE/DTS consensus on hyperglycaemic crises in adults, Diabetes Care 2024";
const ESH: &str = "2018 ESC/ESH Guidelines for arterial hypertension, table 3 and section 4.2; 2023 ESH Guidelines";
const ESH_EMERGENCY: &str = "2018 ESC/ESH Guidelines for arterial hypertension, section 8.3 (hypertensive emergencies); 2023 ESH Guidelines";
const PREGNANCY_BP: &str = "NICE NG133 (2019, updated 2023), Hypertension in pregnancy; ISSHP 2021";
const WHO_TB: &str = "WHO consolidated guidelines on tuberculosis, Module 2: Screening (2021)";
const WHO_HTS: &str = "WHO Consolidated guidelines on HIV testing services (2019)";
const WHO_HEP: &str =
    "WHO Guidelines on hepatitis B and C testing (2017); WHO hepatitis B guidelines (2024)";

/// The thresholds. Where several rows of one screening fire, the most urgent one is kept;
/// between rows of the same urgency, the one written first (the more specific: rows go from
/// the most severe down).
pub const RULES: &[Rule] = &[
    // --- Glucose emergencies. Impaired consciousness with a low glucose is a level 3
    // (severe) hypoglycaemia (IHSG 2017); with a high one, a hyperglycaemic crisis (DKA from
    // 11.1 mmol/L / 200 mg/dL, 2024 consensus); a low that stays low after fast carbohydrate
    // needs help the van cannot give (ADA Standards of Care, section 6).
    Rule {
        id: "glucose.drowsy.low",
        measure: Measure::GlucoseWhenDrowsy,
        cmp: Cmp::Below(HYPO_MMOL_L),
        other_unit: Some(HYPO_MG_DL),
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "ниска кръвна захар със сънливост или объркване — тежка хипогликемия: обадете се на 112",
        finding_en: "low glucose with drowsiness or confusion — severe hypoglycaemia: call 112",
        slip: SlipWording::EmergencyGlucose,
        source: IHSG,
    },
    Rule {
        id: "glucose.drowsy.high",
        measure: Measure::GlucoseWhenDrowsy,
        cmp: Cmp::AtLeast(11.1),
        other_unit: Some(200.0),
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "кръвна захар ≥ 11,1 mmol/L със сънливост или объркване — опасност от хипергликемична криза: обадете се на 112",
        finding_en: "glucose ≥ 11.1 mmol/L with drowsiness or confusion — risk of a hyperglycaemic crisis: call 112",
        slip: SlipWording::EmergencyGlucose,
        source: CRISIS,
    },
    Rule {
        id: "glucose.drowsy.above_meter",
        measure: Measure::GlucoseAboveMeterWhenDrowsy,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "глюкомерът показва HI, със сънливост или объркване — опасност от хипергликемична криза: обадете се на 112",
        finding_en: "the meter reads HI, with drowsiness or confusion — risk of a hyperglycaemic crisis: call 112",
        slip: SlipWording::EmergencyGlucose,
        source: CRISIS,
    },
    Rule {
        id: "glucose.hypo.not_corrected",
        measure: Measure::GlucoseAfterTreatment,
        cmp: Cmp::Below(HYPO_MMOL_L),
        other_unit: Some(HYPO_MG_DL),
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "кръвната захар остава < 3,9 mmol/L 15 минути след бързи въглехидрати — обадете се на 112",
        finding_en: "glucose still < 3.9 mmol/L 15 minutes after fast carbohydrate — call 112",
        slip: SlipWording::EmergencyGlucose,
        source: IHSG,
    },
    // Hyperglycaemic crisis: the 2024 consensus uses ≥ 600 mg/dL (33.3 mmol/L) for the
    // hyperosmolar state.
    Rule {
        id: "glucose.crisis",
        measure: Measure::Glucose,
        cmp: Cmp::AtLeast(33.3),
        other_unit: Some(600.0),
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "кръвна захар ≥ 33,3 mmol/L — опасност от хипергликемична криза: обадете се на 112",
        finding_en: "glucose ≥ 33.3 mmol/L — risk of hyperglycaemic crisis: call 112",
        slip: SlipWording::EmergencyGlucose,
        source: CRISIS,
    },
    // --- Very high glucose: WHO HEARTS-D refers the same day a blood glucose above
    // 18 mmol/L (325 mg/dL), a meter reading "HI" (above its range, which ends between 27.8
    // and 33.3 mmol/L: at least very high, not known to be a crisis) or ketones 2+ or more.
    Rule {
        id: "glucose.very_high",
        measure: Measure::Glucose,
        cmp: Cmp::AtLeast(18.0),
        other_unit: Some(325.0),
        population: Population::Everyone,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвна захар ≥ 18 mmol/L (325 mg/dL) — много висока, преглед още днес",
        finding_en: "glucose ≥ 18 mmol/L (325 mg/dL) — very high, to be seen today",
        slip: SlipWording::VeryHighGlucose,
        source: HEARTS_D,
    },
    Rule {
        id: "glucose.above_meter",
        measure: Measure::GlucoseAboveMeter,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "глюкомерът показва HI (над обхвата си) — много висока кръвна захар, преглед още днес",
        finding_en: "the meter reads HI (above its range) — very high glucose, to be seen today",
        slip: SlipWording::VeryHighGlucose,
        source: HEARTS_D,
    },
    Rule {
        id: "glucose.ketones",
        measure: Measure::Ketones,
        cmp: Cmp::AtLeast(2.0),
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кетони в урината 2+ или повече — преглед още днес",
        finding_en: "urine ketones 2+ or more — to be seen today",
        slip: SlipWording::VeryHighGlucose,
        source: HEARTS_D,
    },
    // --- Diabetic and intermediate ranges. WHO/IDF 2006: FPG ≥ 7.0 mmol/L diabetes;
    // 6.1–6.9 impaired fasting glucose; a random ≥ 11.1 with symptoms is diabetic (confirm by
    // a lab test). The same 7.0 and 11.1 hold in pregnancy (WHO 2013).
    Rule {
        id: "glucose.fasting.diabetes",
        measure: Measure::FastingGlucose,
        cmp: Cmp::AtLeast(7.0),
        other_unit: Some(126.0),
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвна захар на гладно ≥ 7,0 mmol/L — в диапазона на диабет, нужно е потвърждение",
        finding_en: "fasting glucose ≥ 7.0 mmol/L — in the diabetic range, needs confirmation",
        slip: SlipWording::HighGlucose,
        source: WHO_2006,
    },
    Rule {
        id: "glucose.fasting.ifg",
        measure: Measure::FastingGlucose,
        cmp: Cmp::AtLeast(6.1),
        other_unit: Some(110.0),
        population: Population::NotPregnant,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвна захар на гладно 6,1–6,9 mmol/L — в диапазона на нарушена гликемия на гладно, нужно е потвърждение",
        finding_en: "fasting glucose 6.1–6.9 mmol/L — in the range of impaired fasting glucose, needs confirmation",
        slip: SlipWording::HighGlucose,
        source: WHO_2006,
    },
    Rule {
        id: "glucose.random.diabetes",
        measure: Measure::RandomGlucose,
        cmp: Cmp::AtLeast(11.1),
        other_unit: Some(200.0),
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвна захар (по всяко време) ≥ 11,1 mmol/L — в диапазона на диабет, нужно е потвърждение",
        finding_en: "random glucose ≥ 11.1 mmol/L — in the diabetic range, needs confirmation",
        slip: SlipWording::HighGlucose,
        source: WHO_2006,
    },
    // Not known whether fasting: 7.0 could be diabetic fasting or normal after a meal, so a
    // fasting test decides (the fasting threshold, with its own wording).
    Rule {
        id: "glucose.unknown_fasting",
        measure: Measure::UnknownFastingGlucose,
        cmp: Cmp::AtLeast(7.0),
        other_unit: Some(126.0),
        population: Population::Everyone,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвна захар ≥ 7,0 mmol/L, без да е известно дали на гладно — нужно е изследване на гладно",
        finding_en: "glucose ≥ 7.0 mmol/L, not known whether fasting — needs a fasting test",
        slip: SlipWording::HighGlucose,
        source: WHO_2006,
    },
    // Pregnancy: WHO 2013, "Diagnostic criteria and classification of hyperglycaemia first
    // detected in pregnancy": fasting 5.1–6.9 mmol/L (92–125 mg/dL) is gestational diabetes.
    Rule {
        id: "glucose.pregnancy.gdm",
        measure: Measure::FastingGlucose,
        cmp: Cmp::AtLeast(5.1),
        other_unit: Some(92.0),
        population: Population::Pregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "бременност: кръвна захар на гладно ≥ 5,1 mmol/L — в диапазона на гестационен диабет, нужно е потвърждение",
        finding_en: "pregnancy: fasting glucose ≥ 5.1 mmol/L — in the range of gestational diabetes, needs confirmation",
        slip: SlipWording::GlucoseInPregnancy,
        source: "WHO 2013, Diagnostic criteria and classification of hyperglycaemia first detected in pregnancy",
    },
    // --- Low glucose: level 2 < 3.0 mmol/L (54 mg/dL), level 1 < 3.9 mmol/L (70 mg/dL)
    // (IHSG 2017, ADA). Level 1 in someone on glucose-lowering drugs comes back: priority.
    Rule {
        id: "glucose.hypo.level2",
        measure: Measure::Glucose,
        cmp: Cmp::Below(3.0),
        other_unit: Some(54.0),
        population: Population::Everyone,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвна захар < 3,0 mmol/L — значима хипогликемия, преглед още днес",
        finding_en: "glucose < 3.0 mmol/L — clinically significant hypoglycaemia, to be seen today",
        slip: SlipWording::LowGlucose,
        source: IHSG,
    },
    Rule {
        id: "glucose.hypo.level1.on_treatment",
        measure: Measure::GlucoseOnLoweringDrugs,
        cmp: Cmp::Below(HYPO_MMOL_L),
        other_unit: Some(HYPO_MG_DL),
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвна захар < 3,9 mmol/L при лечение, което я понижава — нужен е преглед на лечението",
        finding_en: "glucose < 3.9 mmol/L on glucose-lowering treatment — the treatment needs review",
        slip: SlipWording::LowGlucose,
        source: IHSG,
    },
    Rule {
        id: "glucose.hypo.level1",
        measure: Measure::Glucose,
        cmp: Cmp::Below(HYPO_MMOL_L),
        other_unit: Some(HYPO_MG_DL),
        population: Population::Everyone,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвна захар < 3,9 mmol/L — ниска",
        finding_en: "glucose < 3.9 mmol/L — hypoglycaemia alert value",
        slip: SlipWording::LowGlucose,
        source: IHSG,
    },
    // --- HbA1c. WHO 2011, "Use of glycated haemoglobin (HbA1c) in the diagnosis of diabetes
    // mellitus": ≥ 6.5 % (48 mmol/mol). 6.0–6.4 % (42–47 mmol/mol) high risk: NICE PH38.
    // Not used for diagnosis in pregnancy (WHO 2011; WHO 2013).
    Rule {
        id: "hba1c.diabetes",
        measure: Measure::Hba1c,
        cmp: Cmp::AtLeast(6.5),
        other_unit: Some(48.0),
        population: Population::NotPregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "HbA1c ≥ 6,5 % (48 mmol/mol) — в диапазона на диабет, нужно е потвърждение",
        finding_en: "HbA1c ≥ 6.5 % (48 mmol/mol) — in the diabetic range, needs confirmation",
        slip: SlipWording::HighGlucose,
        source: "WHO 2011, Use of glycated haemoglobin (HbA1c) in the diagnosis of diabetes mellitus",
    },
    Rule {
        id: "hba1c.high_risk",
        measure: Measure::Hba1c,
        cmp: Cmp::AtLeast(6.0),
        other_unit: Some(42.0),
        population: Population::NotPregnant,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "HbA1c 6,0–6,4 % (42–47 mmol/mol) — в диапазона на висок риск от диабет, нужно е потвърждение",
        finding_en: "HbA1c 6.0–6.4 % (42–47 mmol/mol) — in the range of high diabetes risk, needs confirmation",
        slip: SlipWording::HighGlucose,
        source: "NICE PH38 (2012, updated 2017), Type 2 diabetes: prevention in people at high risk",
    },
    // --- Blood pressure. An emergency is very high pressure with acute symptoms
    // (hypertension-mediated organ damage), on any reading: it does not wait for a repeat.
    Rule {
        id: "bp.emergency.systolic",
        measure: Measure::SystolicWithAcuteSymptoms,
        cmp: Cmp::AtLeast(180.0),
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "кръвно налягане ≥ 180/110 с остри оплаквания (гръдна болка, задух, неврологични симптоми, объркване, силно главоболие с повръщане) — обадете се на 112",
        finding_en: "blood pressure ≥ 180/110 with acute symptoms (chest pain, breathlessness, neurological signs, confusion, severe headache with vomiting) — call 112",
        slip: SlipWording::EmergencyBloodPressure,
        source: ESH_EMERGENCY,
    },
    Rule {
        id: "bp.emergency.diastolic",
        measure: Measure::DiastolicWithAcuteSymptoms,
        cmp: Cmp::AtLeast(110.0),
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Emergency,
        destination: EMERGENCY,
        finding_bg: "кръвно налягане ≥ 180/110 с остри оплаквания (гръдна болка, задух, неврологични симптоми, объркване, силно главоболие с повръщане) — обадете се на 112",
        finding_en: "blood pressure ≥ 180/110 with acute symptoms (chest pain, breathlessness, neurological signs, confusion, severe headache with vomiting) — call 112",
        slip: SlipWording::EmergencyBloodPressure,
        source: ESH_EMERGENCY,
    },
    // Office grades (2018 ESC/ESH table 3, kept by the 2023 ESH Guidelines): grade 1
    // ≥ 140/90, grade 2 ≥ 160/100, grade 3 ≥ 180/110; either number alone places the grade.
    // Graded on the readings' mean (BloodPressure::graded). Grade 3 on a single reading asks
    // for a second one after 5 minutes before a same-day referral.
    Rule {
        id: "bp.grade3.systolic",
        measure: Measure::SystolicRepeated,
        cmp: Cmp::AtLeast(180.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 180/110 средно от повторни измервания — в диапазона на хипертония 3 степен, нужно е потвърждение; преглед още днес",
        finding_en: "blood pressure ≥ 180/110 on the mean of repeat readings — in the range of grade 3 hypertension, needs confirmation; to be seen today",
        slip: SlipWording::VeryHighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade3.diastolic",
        measure: Measure::DiastolicRepeated,
        cmp: Cmp::AtLeast(110.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 180/110 средно от повторни измервания — в диапазона на хипертония 3 степен, нужно е потвърждение; преглед още днес",
        finding_en: "blood pressure ≥ 180/110 on the mean of repeat readings — in the range of grade 3 hypertension, needs confirmation; to be seen today",
        slip: SlipWording::VeryHighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade3.single.systolic",
        measure: Measure::SystolicSingleReading,
        cmp: Cmp::AtLeast(180.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 180/110 при едно измерване — измерете отново след 5 минути; в диапазона на хипертония 3 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 180/110 at one measurement — measure again after 5 minutes; in the range of grade 3 hypertension, needs confirmation",
        slip: SlipWording::HighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade3.single.diastolic",
        measure: Measure::DiastolicSingleReading,
        cmp: Cmp::AtLeast(110.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 180/110 при едно измерване — измерете отново след 5 минути; в диапазона на хипертония 3 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 180/110 at one measurement — measure again after 5 minutes; in the range of grade 3 hypertension, needs confirmation",
        slip: SlipWording::HighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade2.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(160.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 160/100 при това измерване — в диапазона на хипертония 2 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 160/100 at this measurement — in the range of grade 2 hypertension, needs confirmation",
        slip: SlipWording::HighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade2.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(100.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 160/100 при това измерване — в диапазона на хипертония 2 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 160/100 at this measurement — in the range of grade 2 hypertension, needs confirmation",
        slip: SlipWording::HighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade1.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(140.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 140/90 при това измерване — в диапазона на хипертония 1 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 140/90 at this measurement — in the range of grade 1 hypertension, needs confirmation",
        slip: SlipWording::HighBloodPressure,
        source: ESH,
    },
    Rule {
        id: "bp.grade1.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(90.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "кръвно налягане ≥ 140/90 при това измерване — в диапазона на хипертония 1 степен, нужно е потвърждение",
        finding_en: "blood pressure ≥ 140/90 at this measurement — in the range of grade 1 hypertension, needs confirmation",
        slip: SlipWording::HighBloodPressure,
        source: ESH,
    },
    // Pregnancy: ≥ 140/90 is hypertension in pregnancy, ≥ 160/110 severe (admission).
    Rule {
        id: "bp.pregnancy.severe.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(160.0),
        other_unit: None,
        population: Population::Pregnant,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "бременност: кръвно налягане ≥ 160/110 — в диапазона на тежка хипертония, нужно е потвърждение; преглед още днес",
        finding_en: "pregnancy: blood pressure ≥ 160/110 — in the range of severe hypertension, needs confirmation; to be seen today",
        slip: SlipWording::BloodPressureInPregnancy,
        source: PREGNANCY_BP,
    },
    Rule {
        id: "bp.pregnancy.severe.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(110.0),
        other_unit: None,
        population: Population::Pregnant,
        urgency: Urgency::SameDay,
        destination: HUB_GP,
        finding_bg: "бременност: кръвно налягане ≥ 160/110 — в диапазона на тежка хипертония, нужно е потвърждение; преглед още днес",
        finding_en: "pregnancy: blood pressure ≥ 160/110 — in the range of severe hypertension, needs confirmation; to be seen today",
        slip: SlipWording::BloodPressureInPregnancy,
        source: PREGNANCY_BP,
    },
    Rule {
        id: "bp.pregnancy.systolic",
        measure: Measure::Systolic,
        cmp: Cmp::AtLeast(140.0),
        other_unit: None,
        population: Population::Pregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "бременност: кръвно налягане ≥ 140/90 — в диапазона на хипертония при бременност, нужно е потвърждение",
        finding_en: "pregnancy: blood pressure ≥ 140/90 — in the range of hypertension in pregnancy, needs confirmation",
        slip: SlipWording::BloodPressureInPregnancy,
        source: PREGNANCY_BP,
    },
    Rule {
        id: "bp.pregnancy.diastolic",
        measure: Measure::Diastolic,
        cmp: Cmp::AtLeast(90.0),
        other_unit: None,
        population: Population::Pregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "бременност: кръвно налягане ≥ 140/90 — в диапазона на хипертония при бременност, нужно е потвърждение",
        finding_en: "pregnancy: blood pressure ≥ 140/90 — in the range of hypertension in pregnancy, needs confirmation",
        slip: SlipWording::BloodPressureInPregnancy,
        source: PREGNANCY_BP,
    },
    // --- Children: adult BMI classes and BP grades do not apply under 18 (BMI-for-age,
    // WHO growth reference 2007; BP percentiles, AAP 2017). Kabinet has neither table yet, so
    // a child's measurement goes to a paediatric assessment instead.
    Rule {
        id: "child.paediatric_assessment",
        measure: Measure::ChildMeasuredByAdultRanges,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Children,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "под 18 години: нормите за възрастни за ИТМ и кръвно налягане не важат — нужна е оценка от педиатър",
        finding_en: "under 18: adult BMI and blood pressure ranges do not apply — needs a paediatric assessment",
        slip: SlipWording::ChildAssessment,
        source: "WHO growth reference 5–19 years (2007), BMI-for-age; AAP Clinical Practice Guideline for high blood pressure in children (2017)",
    },
    // --- BMI. WHO Technical Report Series 894 (2000): obesity ≥ 30; underweight < 18.5;
    // severe thinness < 16 (WHO TRS 854, 1995). Adults, not in pregnancy.
    Rule {
        id: "bmi.obesity",
        measure: Measure::Bmi,
        cmp: Cmp::AtLeast(30.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "ИТМ ≥ 30 — затлъстяване",
        finding_en: "BMI ≥ 30 — obesity",
        slip: SlipWording::Weight,
        source: "WHO TRS 894 (2000), Obesity: preventing and managing the global epidemic",
    },
    Rule {
        id: "bmi.underweight",
        measure: Measure::Bmi,
        cmp: Cmp::Below(18.5),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Routine,
        destination: HUB_GP,
        finding_bg: "ИТМ < 18,5 — поднормено тегло",
        finding_en: "BMI < 18.5 — underweight",
        slip: SlipWording::Weight,
        source: "WHO TRS 894 (2000)",
    },
    Rule {
        id: "bmi.severe_thinness",
        measure: Measure::Bmi,
        cmp: Cmp::Below(16.0),
        other_unit: None,
        population: Population::AdultsNotPregnant,
        urgency: Urgency::Priority,
        destination: HUB_GP,
        finding_bg: "ИТМ < 16 — тежко поднормено тегло",
        finding_en: "BMI < 16 — severe thinness",
        slip: SlipWording::Weight,
        source: "WHO TRS 854 (1995), Physical status: the use and interpretation of anthropometry",
    },
    // --- TB. A positive four-symptom screen (any current cough, fever, night sweats, weight
    // loss) or a cough of ≥ 2 weeks warrants diagnostic evaluation; household and close
    // contacts are evaluated (Module 1: prevention, 2024). Danger signs (coughing blood,
    // breathlessness, a very ill person) are referred at once.
    Rule {
        id: "tb.danger",
        measure: Measure::TbDangerSign,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::SameDay,
        destination: LUNG,
        finding_bg: "кръв при кашлица, задух или тежко болен човек — преглед още днес",
        finding_en: "coughing blood, breathlessness or a very ill person — to be seen today",
        slip: SlipWording::TbUrgent,
        source: "WHO operational handbook on tuberculosis, Module 2: Screening (2022); WHO consolidated guidelines on tuberculosis, Module 3: Diagnosis (2024)",
    },
    Rule {
        id: "tb.w4ss",
        measure: Measure::TbAnySymptom,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: LUNG,
        finding_bg: "положителен скрининг за туберкулоза (кашлица, температура, нощно изпотяване или отслабване)",
        finding_en: "positive TB symptom screen (cough, fever, night sweats or weight loss)",
        slip: SlipWording::TbSymptoms,
        source: "WHO consolidated guidelines on tuberculosis, Module 2: Screening (2021), W4SS",
    },
    Rule {
        id: "tb.cough_2_weeks",
        measure: Measure::TbCoughWeeks,
        cmp: Cmp::AtLeast(2.0),
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: LUNG,
        finding_bg: "кашлица от 2 или повече седмици",
        finding_en: "cough for 2 weeks or more",
        slip: SlipWording::TbSymptoms,
        source: WHO_TB,
    },
    Rule {
        id: "tb.contact",
        measure: Measure::TbContact,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Routine,
        destination: LUNG,
        finding_bg: "контакт с болен от туберкулоза — нужно е изследване",
        finding_en: "contact with a TB patient — needs evaluation",
        slip: SlipWording::TbContact,
        source: "WHO consolidated guidelines on tuberculosis, Module 1: Prevention (2024); Module 2 (2021)",
    },
    // --- HIV. A reactive rapid test is not a diagnosis; it needs the national testing
    // algorithm (confirmatory tests). An invalid test is repeated at once with a new test;
    // only a second invalid result is referred.
    Rule {
        id: "hiv.reactive",
        measure: Measure::HivReactive,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: KABKIS,
        finding_bg: "реактивен скринингов тест — нужно е потвърдително изследване",
        finding_en: "reactive screening test — needs confirmatory testing",
        slip: SlipWording::HivReactive,
        source: WHO_HTS,
    },
    Rule {
        id: "hiv.invalid_twice",
        measure: Measure::HivInvalidTwice,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Routine,
        destination: KABKIS,
        finding_bg: "два невалидни теста — нужно е изследване в лаборатория",
        finding_en: "two invalid tests — needs a laboratory test",
        slip: SlipWording::HivRepeat,
        source: WHO_HTS,
    },
    // --- Hepatitis. HBsAg reactive → HBV DNA and assessment; anti-HCV reactive → HCV RNA
    // to confirm viraemia. Invalid tests as for HIV.
    Rule {
        id: "hepatitis_b.reactive",
        measure: Measure::HbsagReactive,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: INFECTIOUS,
        finding_bg: "реактивен HBsAg — нужно е потвърждение и оценка",
        finding_en: "reactive HBsAg — needs confirmation and assessment",
        slip: SlipWording::HepatitisBReactive,
        source: WHO_HEP,
    },
    Rule {
        id: "hepatitis_c.reactive",
        measure: Measure::AntiHcvReactive,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Priority,
        destination: INFECTIOUS,
        finding_bg: "реактивен anti-HCV — нужно е изследване за HCV RNA",
        finding_en: "reactive anti-HCV — needs an HCV RNA test",
        slip: SlipWording::HepatitisCReactive,
        source: "WHO Guidelines on hepatitis B and C testing (2017), updated 2022",
    },
    Rule {
        id: "hepatitis.invalid_twice",
        measure: Measure::HepatitisInvalidTwice,
        cmp: Cmp::IsTrue,
        other_unit: None,
        population: Population::Everyone,
        urgency: Urgency::Routine,
        destination: INFECTIOUS,
        finding_bg: "два невалидни теста за хепатит — нужно е изследване в лаборатория",
        finding_en: "two invalid hepatitis tests — needs a laboratory test",
        slip: SlipWording::HepatitisRepeat,
        source: WHO_HEP,
    },
];

impl Measure {
    /// The screenings this measure reads (what a referral it suggests is for).
    pub fn kinds(self) -> &'static [ScreeningKind] {
        use Measure::*;
        use ScreeningKind as K;
        match self {
            FastingGlucose
            | RandomGlucose
            | UnknownFastingGlucose
            | Glucose
            | GlucoseAboveMeter
            | Ketones
            | GlucoseOnLoweringDrugs
            | GlucoseWhenDrowsy
            | GlucoseAboveMeterWhenDrowsy
            | GlucoseAfterTreatment => &[K::Glucose],
            Hba1c => &[K::Hba1c],
            Systolic
            | Diastolic
            | SystolicSingleReading
            | DiastolicSingleReading
            | SystolicRepeated
            | DiastolicRepeated
            | SystolicWithAcuteSymptoms
            | DiastolicWithAcuteSymptoms => &[K::BloodPressure],
            // A child's BMI and blood pressure: the referral is for the one measured first.
            ChildMeasuredByAdultRanges => &[K::BloodPressure, K::Body],
            Bmi => &[K::Body],
            TbAnySymptom | TbCoughWeeks | TbContact | TbDangerSign => &[K::Tb],
            HivReactive | HivInvalidTwice => &[K::Hiv],
            HbsagReactive => &[K::HepatitisB],
            AntiHcvReactive => &[K::HepatitisC],
            HepatitisInvalidTwice => &[K::HepatitisB, K::HepatitisC],
        }
    }

    /// What the measure reads, in words, its first unit, and the other unit a threshold may
    /// also be published in (for the review sheet).
    pub fn describe(self) -> (&'static str, &'static str, &'static str) {
        use Measure::*;
        match self {
            FastingGlucose => ("capillary glucose, fasting", "mmol/L", "mg/dL"),
            RandomGlucose => (
                "capillary glucose, random or fasting not known",
                "mmol/L",
                "mg/dL",
            ),
            UnknownFastingGlucose => ("capillary glucose, fasting not known", "mmol/L", "mg/dL"),
            Glucose => ("capillary glucose, any", "mmol/L", "mg/dL"),
            GlucoseAboveMeter => ("glucose meter reads HI", "", ""),
            Ketones => ("urine ketones (strip: 1 = 1+, 2 = 2+, 3 = 3+)", "", ""),
            GlucoseOnLoweringDrugs => (
                "capillary glucose, on insulin or tablets",
                "mmol/L",
                "mg/dL",
            ),
            GlucoseWhenDrowsy => ("capillary glucose, drowsy or confused", "mmol/L", "mg/dL"),
            GlucoseAboveMeterWhenDrowsy => ("meter reads HI, drowsy or confused", "", ""),
            GlucoseAfterTreatment => (
                "second glucose 15 min after fast carbohydrate, first < 3.9 mmol/L",
                "mmol/L",
                "mg/dL",
            ),
            Hba1c => ("HbA1c", "%", "mmol/mol"),
            Systolic => ("systolic, one reading or the mean of repeats", "mmHg", ""),
            Diastolic => ("diastolic, one reading or the mean of repeats", "mmHg", ""),
            SystolicSingleReading => ("systolic, a single reading", "mmHg", ""),
            DiastolicSingleReading => ("diastolic, a single reading", "mmHg", ""),
            SystolicRepeated => ("systolic, mean of 2–3 readings", "mmHg", ""),
            DiastolicRepeated => ("diastolic, mean of 2–3 readings", "mmHg", ""),
            SystolicWithAcuteSymptoms => ("highest systolic, with acute symptoms", "mmHg", ""),
            DiastolicWithAcuteSymptoms => ("highest diastolic, with acute symptoms", "mmHg", ""),
            ChildMeasuredByAdultRanges => ("BMI or blood pressure measured in a child", "", ""),
            Bmi => ("body mass index", "kg/m²", ""),
            TbAnySymptom => (
                "TB symptom screen: any of cough, fever, night sweats, weight loss",
                "",
                "",
            ),
            TbCoughWeeks => ("cough", "weeks", ""),
            TbContact => ("contact with a person with TB", "", ""),
            TbDangerSign => ("coughing blood, breathlessness or very ill", "", ""),
            HivReactive => (
                "HIV 1+2 rapid test reactive (after a repeat if invalid)",
                "",
                "",
            ),
            HivInvalidTwice => ("HIV rapid test invalid, and invalid on the repeat", "", ""),
            HbsagReactive => ("HBsAg rapid test reactive", "", ""),
            AntiHcvReactive => ("anti-HCV rapid test reactive", "", ""),
            HepatitisInvalidTwice => ("HBsAg or anti-HCV rapid test invalid twice", "", ""),
        }
    }

    /// The values this measure reads from the screenings (none when not screened). Yes/no
    /// findings read as 1.0 / 0.0.
    fn values(self, s: &Screenings, who: &Subject) -> Vec<(ScreeningKind, Reading)> {
        use Measure::*;
        use ScreeningKind as K;
        let yes = |b: bool| if b { 1.0 } else { 0.0 };
        let one = |k: ScreeningKind, v: Option<f64>| {
            v.map(|v| vec![(k, Reading::first(v))]).unwrap_or_default()
        };
        let glucose_if = |keep: &dyn Fn(&GlucoseReading) -> bool| {
            s.glucose
                .as_ref()
                .filter(|g| keep(g))
                .and_then(|g| g.value.map(|v| (K::Glucose, glucose_reading(g, v))))
                .into_iter()
                .collect::<Vec<_>>()
        };
        let bp = s.blood_pressure.as_ref();
        let single = bp.filter(|b| b.more.is_empty());
        let repeated = bp.filter(|b| !b.more.is_empty());
        let symptomatic = bp.filter(|b| b.symptoms.any());
        let rapid = |t: Option<(RapidResult, Option<RapidResult>)>, want: RapidResult| {
            t.map(|(first, repeat)| yes(first.after_repeat(repeat) == want))
        };
        let invalid_twice = |t: Option<(RapidResult, Option<RapidResult>)>| {
            t.map(|(first, repeat)| {
                yes(first == RapidResult::Invalid && repeat == Some(RapidResult::Invalid))
            })
        };
        let hiv = s.hiv.as_ref().map(|h| (h.result, h.repeat));
        let hbsag = s.hepatitis_b.as_ref().map(|h| (h.result, h.repeat));
        let anti_hcv = s.hepatitis_c.as_ref().map(|h| (h.result, h.repeat));
        match self {
            FastingGlucose => glucose_if(&|g| g.fasting == Fasting::Fasting),
            RandomGlucose => glucose_if(&|g| g.fasting != Fasting::Fasting),
            UnknownFastingGlucose => glucose_if(&|g| g.fasting == Fasting::Unknown),
            Glucose => glucose_if(&|_| true),
            GlucoseOnLoweringDrugs => {
                glucose_if(&|g| g.medication.is_some_and(|m| m.lowers_glucose()))
            }
            GlucoseWhenDrowsy => glucose_if(&|g| g.drowsy),
            GlucoseAboveMeter => one(
                K::Glucose,
                s.glucose.as_ref().map(|g| yes(g.above_meter_range)),
            ),
            GlucoseAboveMeterWhenDrowsy => one(
                K::Glucose,
                s.glucose
                    .as_ref()
                    .map(|g| yes(g.above_meter_range && g.drowsy)),
            ),
            Ketones => one(
                K::Glucose,
                s.glucose.as_ref().and_then(|g| g.ketones).map(ketone_level),
            ),
            GlucoseAfterTreatment => s
                .glucose
                .as_ref()
                .filter(|g| first_reading_low(g))
                .and_then(|g| g.recheck.map(|v| (K::Glucose, glucose_reading(g, v))))
                .into_iter()
                .collect(),
            Hba1c => s
                .hba1c
                .as_ref()
                .map(|a| {
                    vec![(
                        K::Hba1c,
                        Reading {
                            first_unit: a.percent(),
                            entered_other: (a.unit == Hba1cUnit::MmolMol).then_some(a.value),
                        },
                    )]
                })
                .unwrap_or_default(),
            Systolic => one(K::BloodPressure, bp.map(|b| b.graded().0)),
            Diastolic => one(K::BloodPressure, bp.map(|b| b.graded().1)),
            SystolicSingleReading => one(K::BloodPressure, single.map(|b| b.graded().0)),
            DiastolicSingleReading => one(K::BloodPressure, single.map(|b| b.graded().1)),
            SystolicRepeated => one(K::BloodPressure, repeated.map(|b| b.graded().0)),
            DiastolicRepeated => one(K::BloodPressure, repeated.map(|b| b.graded().1)),
            SystolicWithAcuteSymptoms => one(
                K::BloodPressure,
                symptomatic.map(|b| f64::from(b.highest().0)),
            ),
            DiastolicWithAcuteSymptoms => one(
                K::BloodPressure,
                symptomatic.map(|b| f64::from(b.highest().1)),
            ),
            ChildMeasuredByAdultRanges => {
                let measured = if bp.is_some() {
                    Some(K::BloodPressure)
                } else if s.body.as_ref().and_then(|b| b.bmi()).is_some() {
                    Some(K::Body)
                } else {
                    None
                };
                measured
                    .map(|k| vec![(k, Reading::first(yes(who.is_child())))])
                    .unwrap_or_default()
            }
            Bmi => one(K::Body, s.body.as_ref().and_then(|b| b.bmi())),
            TbAnySymptom => one(K::Tb, s.tb.as_ref().map(|t| yes(t.any_symptom()))),
            TbCoughWeeks => one(
                K::Tb,
                s.tb.as_ref()
                    .filter(|t| t.cough)
                    .map(|t| f64::from(t.cough_weeks)),
            ),
            TbContact => one(K::Tb, s.tb.as_ref().map(|t| yes(t.contact))),
            TbDangerSign => one(K::Tb, s.tb.as_ref().map(|t| yes(t.any_danger_sign()))),
            HivReactive => one(K::Hiv, rapid(hiv, RapidResult::Reactive)),
            HivInvalidTwice => one(K::Hiv, invalid_twice(hiv)),
            HbsagReactive => one(K::HepatitisB, rapid(hbsag, RapidResult::Reactive)),
            AntiHcvReactive => one(K::HepatitisC, rapid(anti_hcv, RapidResult::Reactive)),
            HepatitisInvalidTwice => {
                let mut v = one(K::HepatitisB, invalid_twice(hbsag));
                v.extend(one(K::HepatitisC, invalid_twice(anti_hcv)));
                v
            }
        }
    }
}

/// A glucose value (the reading or the recheck) as the rules compare it.
fn glucose_reading(g: &GlucoseReading, value: f64) -> Reading {
    match g.unit {
        GlucoseUnit::MmolL => Reading::first(value),
        GlucoseUnit::MgDl => Reading {
            first_unit: value / crate::screening::GLUCOSE_MG_DL_PER_MMOL_L,
            entered_other: Some(value),
        },
    }
}

/// The first reading is below the level 1 alert value, in the unit entered.
fn first_reading_low(g: &GlucoseReading) -> bool {
    g.value.is_some_and(|v| match g.unit {
        GlucoseUnit::MmolL => v < HYPO_MMOL_L,
        GlucoseUnit::MgDl => v < HYPO_MG_DL,
    })
}

fn ketone_level(k: Ketones) -> f64 {
    match k {
        Ketones::Negative => 0.0,
        Ketones::Trace => 0.5,
        Ketones::Plus1 => 1.0,
        Ketones::Plus2 => 2.0,
        Ketones::Plus3 => 3.0,
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

    /// Whether this rule fires for some screening of `screenings` of `who`.
    pub fn fires_on(&self, screenings: &Screenings, who: &Subject) -> bool {
        self.population.includes(who)
            && self
                .measure
                .values(screenings, who)
                .into_iter()
                .any(|(_, reading)| self.fires_for(reading))
    }

    pub fn finding(&self, lang: Lang) -> &'static str {
        lang.pick(self.finding_bg, self.finding_en)
    }

    /// The rule of an id, as a referral keeps it.
    pub fn by_id(id: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.id == id)
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
        self.rule.finding(lang)
    }
}

/// The suggested referrals for a visit's screenings of `who`: one per screening and
/// destination, the most urgent rule that fired; ordered most urgent first.
pub fn suggest_referrals(screenings: &Screenings, who: &Subject) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    for rule in RULES.iter().filter(|r| r.population.includes(who)) {
        for (reason, reading) in rule.measure.values(screenings, who) {
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
    // An emergency sends the person to emergency care: the same screening's slower
    // referral elsewhere would only compete with it on the screen and on paper.
    let emergencies: Vec<ScreeningKind> = out
        .iter()
        .filter(|s| s.urgency == Urgency::Emergency)
        .map(|s| s.reason)
        .collect();
    out.retain(|s| s.urgency == Urgency::Emergency || !emergencies.contains(&s.reason));
    out.sort_by(|a, b| b.urgency.cmp(&a.urgency).then(a.reason.cmp(&b.reason)));
    out
}

/// What the visit screen tells the specialist to do now, before any referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// An emergency rule fired: call 112, send the person now.
    CallEmergency,
    /// A low glucose: fast carbohydrate now, measure again in 15 minutes.
    LowGlucoseFirstAid,
    /// A single reading in the grade 3 range: measure again after 5 minutes at rest.
    MeasureBloodPressureAgain,
    /// An invalid rapid test: repeat now with a new test.
    RepeatRapidTest(ScreeningKind),
    /// HbA1c entered in pregnancy: it is not used for diagnosis there.
    Hba1cInPregnancy,
    /// A child's BMI or blood pressure: adult ranges do not apply.
    ChildRanges,
}

impl Prompt {
    pub fn id(self) -> &'static str {
        match self {
            Prompt::CallEmergency => "call_emergency",
            Prompt::LowGlucoseFirstAid => "low_glucose_first_aid",
            Prompt::MeasureBloodPressureAgain => "measure_bp_again",
            Prompt::RepeatRapidTest(ScreeningKind::Hiv) => "repeat_hiv_test",
            Prompt::RepeatRapidTest(ScreeningKind::HepatitisB) => "repeat_hbsag_test",
            Prompt::RepeatRapidTest(_) => "repeat_anti_hcv_test",
            Prompt::Hba1cInPregnancy => "hba1c_in_pregnancy",
            Prompt::ChildRanges => "child_ranges",
        }
    }

    pub fn text(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            Prompt::CallEmergency => (
                "СПЕШНО: обадете се на 112 и изпратете човека веднага. Не го оставяйте сам.",
                "EMERGENCY: call 112 and send the person now. Do not leave them alone.",
            ),
            Prompt::LowGlucoseFirstAid => (
                "Ниска кръвна захар: ако може да преглъща, дайте 15–20 g бързи въглехидрати (3–4 таблетки глюкоза или 150–200 ml сок) и измерете отново след 15 минути; въведете второто измерване. Ако е сънлив или не може да преглъща — нищо през устата, обадете се на 112.",
                "Low glucose: if they can swallow, give 15–20 g of fast carbohydrate (3–4 glucose tablets or 150–200 ml of juice) and measure again after 15 minutes; enter the second reading. If drowsy or unable to swallow — nothing by mouth, call 112.",
            ),
            Prompt::MeasureBloodPressureAgain => (
                "Кръвно ≥ 180/110 при едно измерване: оставете човека да седи спокойно 5 минути, измерете отново и въведете второто измерване.",
                "Blood pressure ≥ 180/110 at one reading: let the person sit quietly for 5 minutes, measure again and enter the second reading.",
            ),
            Prompt::RepeatRapidTest(ScreeningKind::Hiv) => (
                "ХИВ тестът е невалиден: повторете го сега с нов тест и въведете резултата.",
                "The HIV test is invalid: repeat it now with a new test and enter the result.",
            ),
            Prompt::RepeatRapidTest(ScreeningKind::HepatitisB) => (
                "Тестът за HBsAg е невалиден: повторете го сега с нов тест и въведете резултата.",
                "The HBsAg test is invalid: repeat it now with a new test and enter the result.",
            ),
            Prompt::RepeatRapidTest(_) => (
                "Тестът за anti-HCV е невалиден: повторете го сега с нов тест и въведете резултата.",
                "The anti-HCV test is invalid: repeat it now with a new test and enter the result.",
            ),
            Prompt::Hba1cInPregnancy => (
                "При бременност HbA1c не се използва за диагноза: изследвайте кръвна захар на гладно.",
                "In pregnancy HbA1c is not used for diagnosis: test fasting glucose instead.",
            ),
            Prompt::ChildRanges => (
                "Под 18 години нормите за възрастни за ИТМ и кръвно не важат: насочете за оценка от педиатър.",
                "Under 18, adult BMI and blood pressure ranges do not apply: refer for a paediatric assessment.",
            ),
        };
        lang.pick(bg, en)
    }
}

/// The prompts for a visit's screenings of `who`, the emergency first.
pub fn prompts(screenings: &Screenings, who: &Subject) -> Vec<Prompt> {
    let mut out = Vec::new();
    if suggest_referrals(screenings, who)
        .iter()
        .any(|s| s.urgency == Urgency::Emergency)
    {
        out.push(Prompt::CallEmergency);
    }
    if let Some(g) = &screenings.glucose
        && first_reading_low(g)
        && g.recheck.is_none()
    {
        out.push(Prompt::LowGlucoseFirstAid);
    }
    if let Some(bp) = &screenings.blood_pressure
        && bp.more.is_empty()
        && !bp.symptoms.any()
        && !who.is_child()
        && (bp.systolic >= 180 || bp.diastolic >= 110)
    {
        out.push(Prompt::MeasureBloodPressureAgain);
    }
    for (kind, test) in [
        (
            ScreeningKind::Hiv,
            screenings.hiv.as_ref().map(|h| (h.result, h.repeat)),
        ),
        (
            ScreeningKind::HepatitisB,
            screenings
                .hepatitis_b
                .as_ref()
                .map(|h| (h.result, h.repeat)),
        ),
        (
            ScreeningKind::HepatitisC,
            screenings
                .hepatitis_c
                .as_ref()
                .map(|h| (h.result, h.repeat)),
        ),
    ] {
        if test.is_some_and(|(first, repeat)| first.needs_repeat(repeat)) {
            out.push(Prompt::RepeatRapidTest(kind));
        }
    }
    if who.pregnant && screenings.hba1c.is_some() {
        out.push(Prompt::Hba1cInPregnancy);
    }
    if who.is_child() && (screenings.blood_pressure.is_some() || screenings.body.is_some()) {
        out.push(Prompt::ChildRanges);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::*;

    const ADULT: Subject = Subject {
        age_years: Some(40),
        pregnant: false,
    };
    const PREGNANT: Subject = Subject {
        age_years: Some(25),
        pregnant: true,
    };
    const CHILD: Subject = Subject {
        age_years: Some(12),
        pregnant: false,
    };

    fn glucose_in(v: f64, unit: GlucoseUnit, fasting: Fasting) -> Screenings {
        Screenings {
            glucose: Some(Glucose::reading(v, unit, fasting)),
            ..Default::default()
        }
    }
    fn glucose(v: f64, fasting: Fasting) -> Screenings {
        glucose_in(v, GlucoseUnit::MmolL, fasting)
    }
    fn with_glucose(f: impl FnOnce(&mut Glucose)) -> Screenings {
        let mut g = Glucose::reading(5.0, GlucoseUnit::MmolL, Fasting::Random);
        f(&mut g);
        Screenings {
            glucose: Some(g),
            ..Default::default()
        }
    }
    fn bp(s: u16, d: u16) -> Screenings {
        Screenings {
            blood_pressure: Some(BloodPressure::reading(s, d)),
            ..Default::default()
        }
    }
    fn bp_readings(first: (u16, u16), more: &[(u16, u16)]) -> Screenings {
        let mut b = BloodPressure::reading(first.0, first.1);
        b.more = more
            .iter()
            .map(|&(systolic, diastolic)| BpReading {
                systolic,
                diastolic,
            })
            .collect();
        Screenings {
            blood_pressure: Some(b),
            ..Default::default()
        }
    }
    fn hba1c_in(v: f64, unit: Hba1cUnit) -> Screenings {
        Screenings {
            hba1c: Some(Hba1c { value: v, unit }),
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
    fn tb(f: impl FnOnce(&mut TbScreen)) -> Screenings {
        let mut t = TbScreen::default();
        f(&mut t);
        Screenings {
            tb: Some(t),
            ..Default::default()
        }
    }
    fn hiv(result: RapidResult, repeat: Option<RapidResult>) -> Screenings {
        Screenings {
            hiv: Some(HivTest {
                consent: true,
                counselled: true,
                assay: HivAssay::RapidAb12,
                result,
                repeat,
            }),
            ..Default::default()
        }
    }

    /// The top suggestion's rule and urgency, or None.
    fn top_for(s: &Screenings, who: &Subject) -> Option<(&'static str, Urgency)> {
        suggest_referrals(s, who)
            .first()
            .map(|x| (x.rule.id, x.urgency))
    }
    fn top(s: &Screenings) -> Option<(&'static str, Urgency)> {
        top_for(s, &ADULT)
    }

    /// Screenings of `who` with one reading of `rule`'s measure at `value` (`other`: as
    /// entered in mg/dL or mmol/mol), for the boundary tests.
    fn reading_for(rule: &Rule, value: f64, other: bool) -> Option<Screenings> {
        use Measure as M;
        let unit = if other {
            GlucoseUnit::MgDl
        } else {
            GlucoseUnit::MmolL
        };
        let whole = value.round() as u16;
        Some(match rule.measure {
            M::FastingGlucose => glucose_in(value, unit, Fasting::Fasting),
            M::RandomGlucose => glucose_in(value, unit, Fasting::Random),
            M::UnknownFastingGlucose => glucose_in(value, unit, Fasting::Unknown),
            M::Glucose => glucose_in(value, unit, Fasting::Random),
            M::GlucoseOnLoweringDrugs => with_glucose(|g| {
                g.unit = unit;
                g.value = Some(value);
                g.medication = Some(GlucoseMedication::Insulin);
            }),
            M::GlucoseWhenDrowsy => with_glucose(|g| {
                g.unit = unit;
                g.value = Some(value);
                g.drowsy = true;
            }),
            // A low first reading (3.0 mmol/L, 54 mg/dL), then the recheck at `value`.
            M::GlucoseAfterTreatment => with_glucose(|g| {
                g.unit = unit;
                g.value = Some(if other { 54.0 } else { 3.0 });
                g.recheck = Some(value);
            }),
            M::Hba1c => hba1c_in(
                value,
                if other {
                    Hba1cUnit::MmolMol
                } else {
                    Hba1cUnit::Percent
                },
            ),
            M::Systolic | M::SystolicSingleReading => bp(whole, 60),
            M::Diastolic | M::DiastolicSingleReading => bp(250, whole),
            M::SystolicRepeated => bp_readings((whole, 60), &[(whole, 60)]),
            M::DiastolicRepeated => bp_readings((250, whole), &[(250, whole)]),
            M::SystolicWithAcuteSymptoms | M::DiastolicWithAcuteSymptoms => {
                let mut s = if rule.measure == M::SystolicWithAcuteSymptoms {
                    bp(whole, 60)
                } else {
                    bp(250, whole)
                };
                s.blood_pressure.as_mut().unwrap().symptoms.chest_pain = true;
                s
            }
            M::Bmi => bmi(value),
            M::TbCoughWeeks => tb(|t| {
                t.cough = true;
                t.cough_weeks = whole;
            }),
            _ => return None,
        })
    }

    fn subject_for(rule: &Rule) -> Subject {
        match rule.population {
            Population::Pregnant => PREGNANT,
            Population::Children => CHILD,
            _ => ADULT,
        }
    }

    /// Every numeric threshold fires exactly at its boundary, in each unit it is published
    /// in: at the value, not a step before it (or, for "below", a step under it, not at it).
    /// Glucose in 0.1 mmol/L and 1 mg/dL steps, HbA1c in 0.1 % and 1 mmol/mol, blood
    /// pressure in 1 mmHg, BMI in 0.1, cough in weeks.
    #[test]
    fn each_threshold_holds_at_its_boundary_in_both_units() {
        let mut two_unit_boundaries = 0;
        let mut one_unit_boundaries = 0;
        for rule in RULES {
            let (first, at_least) = match rule.cmp {
                Cmp::AtLeast(t) => (t, true),
                Cmp::Below(t) => (t, false),
                Cmp::IsTrue => continue,
            };
            if rule.measure == Measure::Ketones {
                continue; // strip steps, tested on their own
            }
            let who = subject_for(rule);
            let first_step = match rule.measure.describe().1 {
                "mmHg" | "weeks" => 1.0,
                _ => 0.1,
            };
            let mut units = vec![(first, first_step, false)];
            if let Some(other) = rule.other_unit {
                units.push((other, 1.0, true));
            }
            for (threshold, step, in_other) in units {
                let fires = |v: f64| {
                    let s = reading_for(rule, v, in_other)
                        .unwrap_or_else(|| panic!("{}: no reading", rule.id));
                    rule.fires_on(&s, &who)
                };
                let (before, at, after) = (
                    fires(threshold - step),
                    fires(threshold),
                    fires(threshold + step),
                );
                if at_least {
                    assert!(at && after && !before, "{} at {threshold}", rule.id);
                } else {
                    assert!(!at && !after && before, "{} at {threshold}", rule.id);
                }
                if in_other {
                    two_unit_boundaries += 1;
                } else {
                    one_unit_boundaries += 1;
                }
            }
        }
        assert_eq!(two_unit_boundaries, 15, "15 rules published in two units");
        // The 15 in their first unit, 14 of blood pressure, 3 of BMI and the cough's weeks.
        assert_eq!(one_unit_boundaries, 33);
        // The case that moved: 126 mg/dL fasting is 6.99 mmol/L, and in the diabetic range.
        assert_eq!(
            top(&glucose_in(126.0, GlucoseUnit::MgDl, Fasting::Fasting)),
            Some(("glucose.fasting.diabetes", Urgency::Priority))
        );
        assert_eq!(
            top(&glucose_in(125.0, GlucoseUnit::MgDl, Fasting::Fasting)),
            Some(("glucose.fasting.ifg", Urgency::Routine))
        );
    }

    /// Which rule wins where several fire, between and across the tiers.
    #[test]
    fn the_most_urgent_rule_of_a_screening_wins() {
        use Urgency::*;
        type Case = (&'static str, Screenings, Option<(&'static str, Urgency)>);
        let cases: Vec<Case> = vec![
            (
                "fasting 6.99",
                glucose(6.99, Fasting::Fasting),
                Some(("glucose.fasting.ifg", Routine)),
            ),
            (
                "random 17.9",
                glucose(17.9, Fasting::Random),
                Some(("glucose.random.diabetes", Priority)),
            ),
            (
                "random 18.0",
                glucose(18.0, Fasting::Random),
                Some(("glucose.very_high", SameDay)),
            ),
            (
                "fasting 18.0",
                glucose(18.0, Fasting::Fasting),
                Some(("glucose.very_high", SameDay)),
            ),
            (
                "random 33.3",
                glucose(33.3, Fasting::Random),
                Some(("glucose.crisis", Emergency)),
            ),
            (
                "random 3.0",
                glucose(3.0, Fasting::Random),
                Some(("glucose.hypo.level1", Routine)),
            ),
            (
                "random 2.99",
                glucose(2.99, Fasting::Random),
                Some(("glucose.hypo.level2", SameDay)),
            ),
            (
                "hba1c 6.49",
                hba1c_in(6.49, Hba1cUnit::Percent),
                Some(("hba1c.high_risk", Routine)),
            ),
            (
                "hba1c 6.5",
                hba1c_in(6.5, Hba1cUnit::Percent),
                Some(("hba1c.diabetes", Priority)),
            ),
            ("bp 139/89", bp(139, 89), None),
            (
                "bp 140/80",
                bp(140, 80),
                Some(("bp.grade1.systolic", Routine)),
            ),
            (
                "bp 130/100",
                bp(130, 100),
                Some(("bp.grade2.diastolic", Priority)),
            ),
            (
                "bp 185/100 once",
                bp(185, 100),
                Some(("bp.grade3.single.systolic", Priority)),
            ),
            ("bmi 29.9", bmi(29.9), None),
            (
                "bmi 15.99",
                bmi(15.99),
                Some(("bmi.severe_thinness", Priority)),
            ),
            (
                "cough 1 week",
                tb(|t| {
                    t.cough = true;
                    t.cough_weeks = 1
                }),
                Some(("tb.w4ss", Priority)),
            ),
            (
                "contact",
                tb(|t| t.contact = true),
                Some(("tb.contact", Routine)),
            ),
            ("no symptom", tb(|_| {}), None),
        ];
        for (name, s, expected) in cases {
            assert_eq!(top(&s), expected, "{name}");
        }
    }

    /// Emergencies: very high pressure with acute symptoms, glucose with drowsiness (low or
    /// high), a low glucose that stays low after treatment. Each says "call 112" first, goes
    /// to emergency care, and pushes the same screening's slower referral off the screen.
    #[test]
    fn emergencies_fire_where_guidelines_call_for_them() {
        let mut with_symptom = bp(182, 100);
        with_symptom
            .blood_pressure
            .as_mut()
            .unwrap()
            .symptoms
            .confusion = true;
        let s = suggest_referrals(&with_symptom, &ADULT);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].rule.id, "bp.emergency.systolic");
        assert_eq!(s[0].destination, EMERGENCY);
        assert_eq!(prompts(&with_symptom, &ADULT)[0], Prompt::CallEmergency);
        // Symptoms with a pressure below grade 3 are not this emergency.
        let mut lower = bp(170, 100);
        lower.blood_pressure.as_mut().unwrap().symptoms.chest_pain = true;
        assert_eq!(top(&lower), Some(("bp.grade2.systolic", Urgency::Priority)));

        let drowsy_low = with_glucose(|g| {
            g.value = Some(2.5);
            g.drowsy = true;
        });
        assert_eq!(
            top(&drowsy_low),
            Some(("glucose.drowsy.low", Urgency::Emergency))
        );
        let drowsy_high = with_glucose(|g| {
            g.value = Some(15.0);
            g.drowsy = true;
        });
        assert_eq!(
            top(&drowsy_high),
            Some(("glucose.drowsy.high", Urgency::Emergency))
        );
        let drowsy_normal = with_glucose(|g| g.drowsy = true);
        assert_eq!(top(&drowsy_normal), None);
        let drowsy_hi = with_glucose(|g| {
            g.value = None;
            g.above_meter_range = true;
            g.drowsy = true;
        });
        assert_eq!(
            top(&drowsy_hi),
            Some(("glucose.drowsy.above_meter", Urgency::Emergency))
        );

        let not_corrected = with_glucose(|g| {
            g.value = Some(3.2);
            g.recheck = Some(3.5);
        });
        assert_eq!(
            top(&not_corrected),
            Some(("glucose.hypo.not_corrected", Urgency::Emergency))
        );
        let corrected = with_glucose(|g| {
            g.value = Some(3.2);
            g.recheck = Some(5.1);
        });
        assert_eq!(
            top(&corrected),
            Some(("glucose.hypo.level1", Urgency::Routine))
        );
        assert!(!prompts(&corrected, &ADULT).contains(&Prompt::LowGlucoseFirstAid));
        // A recheck after a first reading that was not low is no emergency.
        let normal_then_low = with_glucose(|g| {
            g.value = Some(4.5);
            g.recheck = Some(3.5);
        });
        assert_eq!(top(&normal_then_low), None);
    }

    #[test]
    fn very_high_glucose_the_meter_s_hi_and_ketones_are_same_day() {
        let hi = with_glucose(|g| {
            g.value = None;
            g.above_meter_range = true;
        });
        assert_eq!(top(&hi), Some(("glucose.above_meter", Urgency::SameDay)));
        let ketones = |k| with_glucose(|g| g.ketones = Some(k));
        assert_eq!(top(&ketones(Ketones::Plus1)), None);
        assert_eq!(top(&ketones(Ketones::Trace)), None);
        assert_eq!(
            top(&ketones(Ketones::Plus2)),
            Some(("glucose.ketones", Urgency::SameDay))
        );
        assert_eq!(
            top(&ketones(Ketones::Plus3)),
            Some(("glucose.ketones", Urgency::SameDay))
        );
    }

    #[test]
    fn a_low_glucose_on_treatment_is_priority_and_the_screen_gives_first_aid() {
        let low = |m: Option<GlucoseMedication>| {
            with_glucose(|g| {
                g.value = Some(3.5);
                g.medication = m;
            })
        };
        assert_eq!(
            top(&low(Some(GlucoseMedication::Insulin))),
            Some(("glucose.hypo.level1.on_treatment", Urgency::Priority))
        );
        assert_eq!(
            top(&low(Some(GlucoseMedication::Oral))),
            Some(("glucose.hypo.level1.on_treatment", Urgency::Priority))
        );
        assert_eq!(
            top(&low(Some(GlucoseMedication::None))),
            Some(("glucose.hypo.level1", Urgency::Routine))
        );
        assert_eq!(
            prompts(&low(None), &ADULT),
            vec![Prompt::LowGlucoseFirstAid]
        );
        assert!(prompts(&glucose(3.9, Fasting::Random), &ADULT).is_empty());
    }

    #[test]
    fn the_fasting_state_decides_the_threshold_and_unknown_asks_for_a_fasting_test() {
        assert_eq!(
            top(&glucose(7.5, Fasting::Fasting)),
            Some(("glucose.fasting.diabetes", Urgency::Priority))
        );
        assert_eq!(top(&glucose(7.5, Fasting::Random)), None);
        assert_eq!(
            top(&glucose(7.5, Fasting::Unknown)),
            Some(("glucose.unknown_fasting", Urgency::Routine))
        );
        assert_eq!(
            top(&glucose(11.5, Fasting::Unknown)),
            Some(("glucose.random.diabetes", Urgency::Priority))
        );
    }

    /// Two or three readings are graded on their mean (three: the last two); one reading in
    /// the grade 3 range asks for another after 5 minutes and is priority until then.
    #[test]
    fn blood_pressure_is_graded_on_the_mean_of_its_readings() {
        let once = bp(184, 100);
        assert_eq!(
            top(&once),
            Some(("bp.grade3.single.systolic", Urgency::Priority))
        );
        assert!(prompts(&once, &ADULT).contains(&Prompt::MeasureBloodPressureAgain));
        let confirmed = bp_readings((184, 100), &[(178, 98)]);
        assert_eq!(
            top(&confirmed),
            Some(("bp.grade3.systolic", Urgency::SameDay))
        );
        assert!(prompts(&confirmed, &ADULT).is_empty());
        let settled = bp_readings((184, 100), &[(170, 96)]);
        assert_eq!(
            top(&settled),
            Some(("bp.grade2.systolic", Urgency::Priority))
        );
        // Three readings: the first, tense one does not count.
        let three = bp_readings((200, 100), &[(150, 90), (148, 88)]);
        assert_eq!(top(&three), Some(("bp.grade1.systolic", Urgency::Routine)));
        let graded = three.blood_pressure.unwrap().graded();
        assert_eq!(graded, (149.0, 89.0));
    }

    #[test]
    fn children_get_a_paediatric_assessment_instead_of_adult_ranges() {
        let high = bp(150, 95);
        assert_eq!(
            top_for(&high, &CHILD),
            Some(("child.paediatric_assessment", Urgency::Routine))
        );
        assert!(prompts(&high, &CHILD).contains(&Prompt::ChildRanges));
        assert_eq!(
            top_for(&bmi(35.0), &CHILD),
            Some(("child.paediatric_assessment", Urgency::Routine))
        );
        // The adult's classes, and the glucose rules (the same for children), still apply.
        assert_eq!(top(&bmi(35.0)), Some(("bmi.obesity", Urgency::Routine)));
        assert_eq!(
            top_for(&glucose(7.2, Fasting::Fasting), &CHILD),
            Some(("glucose.fasting.diabetes", Urgency::Priority))
        );
        let unknown_age = Subject::default();
        assert_eq!(
            top_for(&bmi(35.0), &unknown_age),
            Some(("bmi.obesity", Urgency::Routine))
        );
    }

    #[test]
    fn pregnancy_has_its_own_glucose_and_pressure_thresholds_and_no_hba1c_diagnosis() {
        assert_eq!(
            top_for(&glucose(5.2, Fasting::Fasting), &PREGNANT),
            Some(("glucose.pregnancy.gdm", Urgency::Priority))
        );
        assert_eq!(top(&glucose(5.2, Fasting::Fasting)), None);
        assert_eq!(
            top_for(&glucose(6.5, Fasting::Fasting), &PREGNANT),
            Some(("glucose.pregnancy.gdm", Urgency::Priority)),
            "not 'impaired fasting glucose' in pregnancy"
        );
        let a1c = hba1c_in(7.0, Hba1cUnit::Percent);
        assert_eq!(top_for(&a1c, &PREGNANT), None);
        assert_eq!(prompts(&a1c, &PREGNANT), vec![Prompt::Hba1cInPregnancy]);
        assert_eq!(
            top_for(&bp(145, 85), &PREGNANT),
            Some(("bp.pregnancy.systolic", Urgency::Priority))
        );
        assert_eq!(
            top_for(&bp(150, 110), &PREGNANT),
            Some(("bp.pregnancy.severe.diastolic", Urgency::SameDay))
        );
        assert_eq!(top_for(&bmi(32.0), &PREGNANT), None);
    }

    #[test]
    fn an_invalid_rapid_test_is_repeated_before_any_referral() {
        use RapidResult::*;
        assert_eq!(top(&hiv(Invalid, None)), None);
        assert_eq!(
            prompts(&hiv(Invalid, None), &ADULT),
            vec![Prompt::RepeatRapidTest(ScreeningKind::Hiv)]
        );
        assert_eq!(
            top(&hiv(Invalid, Some(Invalid))),
            Some(("hiv.invalid_twice", Urgency::Routine))
        );
        assert_eq!(
            top(&hiv(Invalid, Some(Reactive))),
            Some(("hiv.reactive", Urgency::Priority))
        );
        assert_eq!(top(&hiv(Invalid, Some(NonReactive))), None);
        assert!(prompts(&hiv(Invalid, Some(NonReactive)), &ADULT).is_empty());
        let s = suggest_referrals(&hiv(Reactive, None), &ADULT);
        assert_eq!(s[0].destination.slug(), "hiv-confirmatory");
        assert!(!s[0].finding(Lang::Bg).to_lowercase().contains("диагноза"));

        let hep = Screenings {
            hepatitis_b: Some(HepatitisTest {
                result: Invalid,
                repeat: Some(Invalid),
            }),
            hepatitis_c: Some(HepatitisTest::of(Reactive)),
            ..Default::default()
        };
        let reasons: Vec<_> = suggest_referrals(&hep, &ADULT)
            .iter()
            .map(|x| (x.reason, x.rule.id))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (ScreeningKind::HepatitisC, "hepatitis_c.reactive"),
                (ScreeningKind::HepatitisB, "hepatitis.invalid_twice")
            ]
        );
    }

    #[test]
    fn tb_danger_signs_are_same_day_and_risk_factors_change_no_referral() {
        for sign in [
            (|t: &mut TbScreen| t.haemoptysis = true) as fn(&mut TbScreen),
            |t| t.breathless = true,
            |t| t.very_ill = true,
        ] {
            assert_eq!(top(&tb(sign)), Some(("tb.danger", Urgency::SameDay)));
        }
        let risky = tb(|t| {
            t.risks.hiv = true;
            t.risks.diabetes = true;
        });
        assert_eq!(top(&risky), None);
    }

    #[test]
    fn every_rule_cites_a_source_and_ids_are_unique() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for r in RULES {
            assert!(r.source.len() > 10, "{}", r.id);
            assert!(
                !r.finding_bg.is_empty() && !r.finding_en.is_empty(),
                "{}",
                r.id
            );
            assert_eq!(Rule::by_id(r.id).map(|x| x.id), Some(r.id));
            // An emergency goes to emergency care and says so first.
            if r.urgency == Urgency::Emergency {
                assert_eq!(r.destination, EMERGENCY, "{}", r.id);
                assert!(r.finding_bg.contains("112"), "{}", r.id);
            }
        }
    }

    /// A slip carries no result value and, unless it is an HIV referral's, nothing about HIV.
    #[test]
    fn slip_wording_carries_no_value_and_no_hiv_outside_hiv() {
        for r in RULES {
            let text = r.slip.text(Lang::Bg);
            assert!(
                !text.chars().any(|c| c.is_ascii_digit()),
                "{}: {text}",
                r.id
            );
            let hiv = r.measure.kinds() == [ScreeningKind::Hiv];
            assert_eq!(text.contains("ХИВ"), hiv, "{}: {text}", r.id);
            assert_eq!(r.slip.text(Lang::En).contains("HIV"), hiv, "{}", r.id);
        }
        // The low glucose slip no longer says the sugar is raised.
        let low = Rule::by_id("glucose.hypo.level2").unwrap();
        assert!(low.slip.text(Lang::Bg).contains("Ниска"));
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
