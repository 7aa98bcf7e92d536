//! The visit form as the user fills it in: every value still a string (as typed, with a
//! decimal comma or point), every screening optional. [`VisitForm::screenings`] turns it into
//! typed screenings or names each field that cannot be read; the screenings' own checks
//! (ranges, consent) then run in [`crate::Screenings::check`]. The app, the hub's web API and
//! the CLI all fill this one form, so a value is read the same way everywhere.

use crate::error::{Field, Problem, ValidationError, ValidationErrors};
use crate::screening::{
    AcuteSymptoms, BloodPressure, Body, BpReading, Fasting, Glucose, GlucoseMedication,
    GlucoseUnit, Hba1c, Hba1cUnit, HepatitisTest, HivAssay, HivTest, Ketones, RapidResult,
    Screenings, TbRisks, TbScreen,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct VisitForm {
    /// reactive | non-reactive | invalid; empty = no HIV test.
    pub hiv_result: String,
    /// The repeat after an invalid result, same values.
    pub hiv_repeat: String,
    pub hiv_consent: bool,
    pub hiv_counselled: bool,

    /// The woman is pregnant (asked of women of reproductive age).
    pub pregnant: bool,

    /// A number, or "HI" when the meter reads above its range.
    pub glucose: String,
    /// mmol/L (default) | mg/dL
    pub glucose_unit: String,
    /// fasting | random | unknown: required with a glucose reading (a draft from before the
    /// choice existed may hold a tick: `true` reads as fasting, `false` as not chosen).
    #[serde(deserialize_with = "fasting_choice")]
    pub fasting: String,
    /// Urine ketones: negative | trace | 1+ | 2+ | 3+; empty = not tested.
    pub ketones: String,
    /// none | oral | insulin; empty = not asked.
    pub glucose_medication: String,
    /// Drowsy, confused or not fully conscious.
    pub drowsy: bool,
    /// The second reading 15 minutes after fast carbohydrate, in the same unit.
    pub glucose_recheck: String,

    pub hba1c: String,
    /// % (default) | mmol/mol
    pub hba1c_unit: String,

    pub systolic: String,
    pub diastolic: String,
    pub pulse: String,
    /// The second and third readings, 1–2 minutes apart (or 5 minutes, when the first was
    /// in the grade 3 range).
    pub systolic2: String,
    pub diastolic2: String,
    pub systolic3: String,
    pub diastolic3: String,
    /// Acute symptoms with a high pressure.
    pub chest_pain: bool,
    pub breathless: bool,
    pub neurological: bool,
    pub confusion: bool,
    pub headache_vomiting: bool,

    pub weight_kg: String,
    pub height_cm: String,

    /// A TB symptom screen was done (also implied by any symptom ticked).
    pub tb_screened: bool,
    pub tb_cough: bool,
    pub tb_cough_weeks: String,
    pub tb_fever: bool,
    pub tb_night_sweats: bool,
    pub tb_weight_loss: bool,
    pub tb_contact: bool,
    pub tb_haemoptysis: bool,
    pub tb_breathless: bool,
    pub tb_very_ill: bool,
    pub tb_risk_diabetes: bool,
    /// Living with HIV, as the clinician knows it: kept in the TB screen (read only by those
    /// who read HIV) and never printed.
    pub tb_risk_hiv: bool,
    pub tb_risk_previous_tb: bool,
    pub tb_risk_prison: bool,
    pub tb_risk_smoking: bool,
    pub tb_risk_alcohol: bool,

    /// HBsAg rapid test: reactive | non-reactive | invalid; empty = not done.
    pub hbsag: String,
    /// anti-HCV rapid test.
    pub anti_hcv: String,
    pub hbsag_repeat: String,
    pub anti_hcv_repeat: String,
}

fn fasting_choice<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Tick(bool),
        Choice(String),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Tick(true) => Fasting::Fasting.as_str().to_string(),
        Stored::Tick(false) => String::new(),
        Stored::Choice(s) => s,
    })
}

fn read_choice<T: std::str::FromStr + Copy>(
    field: Field,
    input: &str,
    expected: &'static str,
) -> Result<Option<T>, ValidationError> {
    let t = input.trim().to_lowercase().replace('-', "_");
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| unknown(field, input.trim(), expected))
}

fn read_rapid(field: Field, input: &str) -> Result<Option<RapidResult>, ValidationError> {
    let t = input.trim();
    if t.is_empty() {
        Ok(None)
    } else {
        RapidResult::parse(field, t).map(Some)
    }
}

/// Reads a number typed with a decimal comma or point; empty is `None`.
pub fn read_number(field: Field, input: &str) -> Result<Option<f64>, ValidationError> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| {
            ValidationError::new(
                field,
                Problem::NotANumber {
                    input: t.to_string(),
                },
            )
        })
}

fn read_whole(field: Field, input: &str) -> Result<Option<u16>, ValidationError> {
    match read_number(field, input)? {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && (0.0..=u16::MAX as f64).contains(&v) => Ok(Some(v as u16)),
        Some(_) => Err(ValidationError::new(
            field,
            Problem::NotANumber {
                input: input.trim().to_string(),
            },
        )),
    }
}

fn unknown(field: Field, input: &str, expected: &'static str) -> ValidationError {
    ValidationError::new(
        field,
        Problem::UnknownValue {
            input: input.to_string(),
            expected,
        },
    )
}

/// Collects every unreadable field instead of stopping at the first.
#[derive(Default)]
struct Reader(Vec<ValidationError>);

impl Reader {
    fn take<T>(&mut self, r: Result<Option<T>, ValidationError>) -> Option<T> {
        r.unwrap_or_else(|e| {
            self.0.push(e);
            None
        })
    }
}

impl VisitForm {
    /// The typed screenings, or every field that cannot be read.
    pub fn screenings(&self) -> Result<Screenings, ValidationErrors> {
        match self.read() {
            (s, errors) if errors.is_empty() => Ok(s),
            (_, errors) => Err(ValidationErrors(errors)),
        }
    }

    /// What can be read, and every field that cannot: the screen checks as the nurse types,
    /// and a glucose waiting for its fasting state must not hide the blood pressure's
    /// suggestion meanwhile. A screening with an unreadable field is left out.
    pub fn read(&self) -> (Screenings, Vec<ValidationError>) {
        let mut rd = Reader::default();
        let mut s = Screenings::default();

        let hiv_repeat = rd.take(read_rapid(Field::HivRepeat, &self.hiv_repeat));
        if let Some(result) = rd.take(read_rapid(Field::HivResult, &self.hiv_result)) {
            if hiv_repeat.is_some() && result != RapidResult::Invalid {
                rd.0.push(ValidationError::new(
                    Field::HivRepeat,
                    Problem::RepeatWithoutInvalid,
                ));
            }
            s.hiv = Some(HivTest {
                consent: self.hiv_consent,
                counselled: self.hiv_counselled,
                assay: HivAssay::RapidAb12,
                result,
                repeat: hiv_repeat,
            });
        }

        self.read_glucose(&mut rd, &mut s);

        if let Some(value) = rd.take(read_number(Field::Hba1cValue, &self.hba1c)) {
            let unit = match self.hba1c_unit.to_lowercase().replace(' ', "").as_str() {
                "" | "%" | "percent" => Some(Hba1cUnit::Percent),
                "mmol/mol" => Some(Hba1cUnit::MmolMol),
                other => rd.take(Err(unknown(Field::Hba1cValue, other, "% | mmol/mol"))),
            };
            if let Some(unit) = unit {
                s.hba1c = Some(Hba1c { value, unit });
            }
        }

        self.read_blood_pressure(&mut rd, &mut s);

        let weight_kg = rd.take(read_number(Field::Weight, &self.weight_kg));
        let height_cm = rd.take(read_number(Field::Height, &self.height_cm));
        if weight_kg.is_some() || height_cm.is_some() {
            s.body = Some(Body {
                weight_kg,
                height_cm,
            });
        }

        let cough_weeks = rd
            .take(read_whole(Field::CoughWeeks, &self.tb_cough_weeks))
            .unwrap_or(0);
        let tb = TbScreen {
            cough: self.tb_cough,
            cough_weeks,
            fever: self.tb_fever,
            night_sweats: self.tb_night_sweats,
            weight_loss: self.tb_weight_loss,
            contact: self.tb_contact,
            haemoptysis: self.tb_haemoptysis,
            breathless: self.tb_breathless,
            very_ill: self.tb_very_ill,
            risks: TbRisks {
                diabetes: self.tb_risk_diabetes,
                hiv: self.tb_risk_hiv,
                previous_tb: self.tb_risk_previous_tb,
                prison: self.tb_risk_prison,
                smoking: self.tb_risk_smoking,
                alcohol: self.tb_risk_alcohol,
            },
        };
        if self.tb_screened || tb != TbScreen::default() {
            s.tb = Some(tb);
        }

        for (input, repeat, slot) in [
            (&self.hbsag, &self.hbsag_repeat, &mut s.hepatitis_b),
            (&self.anti_hcv, &self.anti_hcv_repeat, &mut s.hepatitis_c),
        ] {
            let repeat = rd.take(read_rapid(Field::HepatitisRepeat, repeat));
            if let Some(result) = rd.take(read_rapid(Field::HepatitisResult, input)) {
                if repeat.is_some() && result != RapidResult::Invalid {
                    rd.0.push(ValidationError::new(
                        Field::HepatitisRepeat,
                        Problem::RepeatWithoutInvalid,
                    ));
                }
                *slot = Some(HepatitisTest { result, repeat });
            }
        }

        (s, rd.0)
    }
}

impl VisitForm {
    /// The form filled with recorded screenings: what a correction starts from. Reading it
    /// back gives the same screenings.
    pub fn of(s: &Screenings, pregnant: bool) -> VisitForm {
        let num = |v: f64| v.to_string();
        let whole = |v: u16| v.to_string();
        let rapid = |r: RapidResult| r.as_str().to_string();
        let mut f = VisitForm {
            pregnant,
            ..VisitForm::default()
        };
        if let Some(h) = &s.hiv {
            f.hiv_result = rapid(h.result);
            f.hiv_repeat = h.repeat.map(rapid).unwrap_or_default();
            f.hiv_consent = h.consent;
            f.hiv_counselled = h.counselled;
        }
        if let Some(g) = &s.glucose {
            f.glucose = match g.value {
                Some(v) => num(v),
                None => "HI".into(),
            };
            f.glucose_unit = g.unit.symbol().into();
            f.fasting = g.fasting.as_str().into();
            f.ketones = g
                .ketones
                .map(|k| match k {
                    Ketones::Negative => "negative".to_string(),
                    Ketones::Trace => "trace".to_string(),
                    plus => plus.symbol().to_string(),
                })
                .unwrap_or_default();
            f.glucose_medication = g
                .medication
                .map(|m| m.as_str().to_string())
                .unwrap_or_default();
            f.drowsy = g.drowsy;
            f.glucose_recheck = g.recheck.map(num).unwrap_or_default();
        }
        if let Some(a) = &s.hba1c {
            f.hba1c = num(a.value);
            f.hba1c_unit = match a.unit {
                Hba1cUnit::Percent => "%".into(),
                Hba1cUnit::MmolMol => "mmol/mol".into(),
            };
        }
        if let Some(bp) = &s.blood_pressure {
            f.systolic = whole(bp.systolic);
            f.diastolic = whole(bp.diastolic);
            f.pulse = bp.pulse.map(whole).unwrap_or_default();
            if let Some(r) = bp.more.first() {
                (f.systolic2, f.diastolic2) = (whole(r.systolic), whole(r.diastolic));
            }
            if let Some(r) = bp.more.get(1) {
                (f.systolic3, f.diastolic3) = (whole(r.systolic), whole(r.diastolic));
            }
            f.chest_pain = bp.symptoms.chest_pain;
            f.breathless = bp.symptoms.breathless;
            f.neurological = bp.symptoms.neurological;
            f.confusion = bp.symptoms.confusion;
            f.headache_vomiting = bp.symptoms.headache_vomiting;
        }
        if let Some(b) = &s.body {
            f.weight_kg = b.weight_kg.map(num).unwrap_or_default();
            f.height_cm = b.height_cm.map(num).unwrap_or_default();
        }
        if let Some(t) = &s.tb {
            f.tb_screened = true;
            f.tb_cough = t.cough;
            f.tb_cough_weeks = if t.cough_weeks > 0 {
                whole(t.cough_weeks)
            } else {
                String::new()
            };
            f.tb_fever = t.fever;
            f.tb_night_sweats = t.night_sweats;
            f.tb_weight_loss = t.weight_loss;
            f.tb_contact = t.contact;
            f.tb_haemoptysis = t.haemoptysis;
            f.tb_breathless = t.breathless;
            f.tb_very_ill = t.very_ill;
            f.tb_risk_diabetes = t.risks.diabetes;
            f.tb_risk_hiv = t.risks.hiv;
            f.tb_risk_previous_tb = t.risks.previous_tb;
            f.tb_risk_prison = t.risks.prison;
            f.tb_risk_smoking = t.risks.smoking;
            f.tb_risk_alcohol = t.risks.alcohol;
        }
        if let Some(h) = &s.hepatitis_b {
            f.hbsag = rapid(h.result);
            f.hbsag_repeat = h.repeat.map(rapid).unwrap_or_default();
        }
        if let Some(h) = &s.hepatitis_c {
            f.anti_hcv = rapid(h.result);
            f.anti_hcv_repeat = h.repeat.map(rapid).unwrap_or_default();
        }
        f
    }

    fn read_glucose(&self, rd: &mut Reader, s: &mut Screenings) {
        let typed = self.glucose.trim();
        // What the meter shows when the reading is above its range.
        let above_meter_range = ["hi", "high", "хи"].contains(&typed.to_lowercase().as_str());
        let value = if above_meter_range {
            None
        } else {
            rd.take(read_number(Field::GlucoseValue, typed))
        };
        let unit = match self.glucose_unit.to_lowercase().replace(' ', "").as_str() {
            "" | "mmol/l" | "mmol" => Some(GlucoseUnit::MmolL),
            "mg/dl" | "mg" => Some(GlucoseUnit::MgDl),
            other => rd.take(Err(unknown(Field::GlucoseValue, other, "mmol/L | mg/dL"))),
        };
        let fasting = rd.take(read_choice::<Fasting>(
            Field::Fasting,
            &self.fasting,
            "fasting | random | unknown",
        ));
        let ketones = {
            let t = self.ketones.trim();
            if t.is_empty() {
                None
            } else {
                rd.take(Ketones::parse(Field::Ketones, t).map(Some))
            }
        };
        let medication = rd.take(read_choice::<GlucoseMedication>(
            Field::GlucoseMedication,
            &self.glucose_medication,
            "none | oral | insulin",
        ));
        let recheck = rd.take(read_number(Field::GlucoseRecheck, &self.glucose_recheck));
        let reading = value.is_some() || above_meter_range;
        if !reading {
            // What belongs to a reading needs one.
            if recheck.is_some() || ketones.is_some() || self.drowsy {
                rd.0.push(ValidationError::new(Field::GlucoseValue, Problem::Required));
            }
            return;
        }
        // The thresholds differ by fasting state: a forgotten choice must not pass as random.
        if fasting.is_none() && self.fasting.trim().is_empty() {
            rd.0.push(ValidationError::new(
                Field::Fasting,
                Problem::ChooseOne {
                    options: "на гладно / по всяко време / не е известно",
                },
            ));
        }
        if let (Some(unit), Some(fasting)) = (unit, fasting) {
            s.glucose = Some(Glucose {
                value,
                unit,
                fasting,
                above_meter_range,
                ketones,
                medication,
                drowsy: self.drowsy,
                recheck,
            });
        }
    }

    fn read_blood_pressure(&self, rd: &mut Reader, s: &mut Screenings) {
        let pulse = rd.take(read_whole(Field::Pulse, &self.pulse));
        let mut readings = Vec::new();
        for (i, (sys, dia)) in [
            (&self.systolic, &self.diastolic),
            (&self.systolic2, &self.diastolic2),
            (&self.systolic3, &self.diastolic3),
        ]
        .into_iter()
        .enumerate()
        {
            let (sys_field, dia_field) = if i == 0 {
                (Field::Systolic, Field::Diastolic)
            } else {
                (Field::BpMoreReadings, Field::BpMoreReadings)
            };
            let systolic = rd.take(read_whole(sys_field, sys));
            let diastolic = rd.take(read_whole(dia_field, dia));
            match (systolic, diastolic) {
                (Some(systolic), Some(diastolic)) => readings.push(BpReading {
                    systolic,
                    diastolic,
                }),
                // Half a blood pressure is a reading not finished, not a reading.
                (Some(_), None) if dia.trim().is_empty() => {
                    rd.0.push(ValidationError::new(dia_field, Problem::Required))
                }
                (None, Some(_)) if sys.trim().is_empty() => {
                    rd.0.push(ValidationError::new(sys_field, Problem::Required))
                }
                _ => {}
            }
        }
        let symptoms = AcuteSymptoms {
            chest_pain: self.chest_pain,
            breathless: self.breathless,
            neurological: self.neurological,
            confusion: self.confusion,
            headache_vomiting: self.headache_vomiting,
        };
        let first_typed = !self.systolic.trim().is_empty() || !self.diastolic.trim().is_empty();
        let more_typed = [
            &self.systolic2,
            &self.diastolic2,
            &self.systolic3,
            &self.diastolic3,
        ]
        .iter()
        .any(|v| !v.trim().is_empty());
        if !first_typed && more_typed {
            // A repeat without the first reading: the first is missing.
            rd.0.push(ValidationError::new(Field::Systolic, Problem::Required));
            return;
        }
        let mut readings = readings.into_iter();
        if let Some(first) = readings.next() {
            s.blood_pressure = Some(BloodPressure {
                systolic: first.systolic,
                diastolic: first.diastolic,
                pulse,
                more: readings.collect(),
                symptoms,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_form_is_no_screening() {
        assert!(VisitForm::default().screenings().unwrap().is_empty());
    }

    #[test]
    fn decimal_comma_and_units_are_read() {
        let f = VisitForm {
            glucose: "7,4".into(),
            fasting: "fasting".into(),
            hba1c: "53".into(),
            hba1c_unit: "mmol/mol".into(),
            systolic: "150".into(),
            diastolic: "95".into(),
            weight_kg: "81,5".into(),
            height_cm: "172".into(),
            ..Default::default()
        };
        let s = f.screenings().unwrap();
        assert_eq!(s.glucose.unwrap().value, Some(7.4));
        assert_eq!(s.hba1c.unwrap().unit, Hba1cUnit::MmolMol);
        assert_eq!(s.blood_pressure.unwrap().systolic, 150);
        assert!((s.body.unwrap().bmi().unwrap() - 27.5).abs() < 0.1);
    }

    #[test]
    fn every_unreadable_field_is_named() {
        let f = VisitForm {
            glucose: "седем".into(),
            fasting: "random".into(),
            systolic: "150".into(),
            pulse: "80.5".into(),
            hiv_result: "maybe".into(),
            ..Default::default()
        };
        let fields = f.screenings().unwrap_err().fields();
        assert!(fields.contains(&Field::GlucoseValue));
        assert!(fields.contains(&Field::Diastolic));
        assert!(fields.contains(&Field::Pulse));
        assert!(fields.contains(&Field::HivResult));
    }

    #[test]
    fn hiv_without_consent_is_read_then_refused_by_the_check() {
        let f = VisitForm {
            hiv_result: "non-reactive".into(),
            ..Default::default()
        };
        let s = f.screenings().unwrap();
        let fields = s.check().unwrap_err().fields();
        assert!(fields.contains(&Field::HivConsent));
    }

    #[test]
    fn a_ticked_symptom_records_a_tb_screen() {
        let f = VisitForm {
            tb_cough: true,
            tb_cough_weeks: "3".into(),
            ..Default::default()
        };
        assert_eq!(f.screenings().unwrap().tb.unwrap().cough_weeks, 3);
    }

    /// A glucose without its fasting state is refused: a forgotten tick must not read as
    /// "random" and hide a fasting 7.5 mmol/L.
    #[test]
    fn the_fasting_state_is_a_required_choice() {
        let f = VisitForm {
            glucose: "7,5".into(),
            ..Default::default()
        };
        assert_eq!(f.screenings().unwrap_err().fields(), vec![Field::Fasting]);
        for (choice, expected) in [
            ("fasting", Fasting::Fasting),
            ("random", Fasting::Random),
            ("unknown", Fasting::Unknown),
        ] {
            let f = VisitForm {
                glucose: "7,5".into(),
                fasting: choice.into(),
                ..Default::default()
            };
            assert_eq!(f.screenings().unwrap().glucose.unwrap().fasting, expected);
        }
        // A draft saved with the old tick still loads: ticked is fasting, unticked unchosen.
        let old: VisitForm =
            serde_json::from_value(serde_json::json!({"glucose": "5", "fasting": true})).unwrap();
        assert_eq!(old.fasting, "fasting");
        let old: VisitForm =
            serde_json::from_value(serde_json::json!({"glucose": "5", "fasting": false})).unwrap();
        assert_eq!(old.screenings().unwrap_err().fields(), vec![Field::Fasting]);
    }

    #[test]
    fn the_meter_s_hi_ketones_medication_and_a_second_reading_are_read() {
        let f = VisitForm {
            glucose: "HI".into(),
            fasting: "random".into(),
            ketones: "2+".into(),
            drowsy: true,
            ..Default::default()
        };
        let g = f.screenings().unwrap().glucose.unwrap();
        assert_eq!((g.value, g.above_meter_range), (None, true));
        assert_eq!((g.ketones, g.drowsy), (Some(Ketones::Plus2), true));
        let f = VisitForm {
            glucose: "3,2".into(),
            fasting: "random".into(),
            glucose_medication: "insulin".into(),
            glucose_recheck: "4,4".into(),
            ..Default::default()
        };
        let g = f.screenings().unwrap().glucose.unwrap();
        assert_eq!(g.medication, Some(GlucoseMedication::Insulin));
        assert_eq!(g.recheck, Some(4.4));
        // What belongs to a reading needs one; unknown words are named.
        let f = VisitForm {
            glucose_recheck: "4".into(),
            ketones: "lots".into(),
            glucose_medication: "herbs".into(),
            ..Default::default()
        };
        let fields = f.screenings().unwrap_err().fields();
        for field in [
            Field::GlucoseValue,
            Field::Ketones,
            Field::GlucoseMedication,
        ] {
            assert!(fields.contains(&field), "{field:?} in {fields:?}");
        }
    }

    #[test]
    fn repeat_readings_and_acute_symptoms_are_read() {
        let f = VisitForm {
            systolic: "184".into(),
            diastolic: "100".into(),
            systolic2: "178".into(),
            diastolic2: "98".into(),
            chest_pain: true,
            ..Default::default()
        };
        let bp = f.screenings().unwrap().blood_pressure.unwrap();
        assert_eq!(bp.readings().len(), 2);
        assert!(bp.symptoms.chest_pain);
        // Half a second reading is named; a repeat with no first reading asks for the first.
        let half = VisitForm {
            systolic: "150".into(),
            diastolic: "95".into(),
            systolic2: "140".into(),
            ..Default::default()
        };
        assert_eq!(
            half.screenings().unwrap_err().fields(),
            vec![Field::BpMoreReadings]
        );
        let no_first = VisitForm {
            systolic2: "140".into(),
            diastolic2: "90".into(),
            ..Default::default()
        };
        assert_eq!(
            no_first.screenings().unwrap_err().fields(),
            vec![Field::Systolic]
        );
    }

    #[test]
    fn a_repeat_test_follows_an_invalid_one_only() {
        let f = VisitForm {
            hiv_result: "invalid".into(),
            hiv_repeat: "non-reactive".into(),
            hiv_consent: true,
            hiv_counselled: true,
            ..Default::default()
        };
        let hiv = f.screenings().unwrap().hiv.unwrap();
        assert_eq!(hiv.repeat, Some(RapidResult::NonReactive));
        let f = VisitForm {
            hbsag: "reactive".into(),
            hbsag_repeat: "non-reactive".into(),
            ..Default::default()
        };
        assert_eq!(
            f.screenings().unwrap_err().fields(),
            vec![Field::HepatitisRepeat]
        );
    }

    /// A correction starts from the form filled with what was recorded: read back, it is the
    /// same screenings, every kind and every new input.
    #[test]
    fn a_recorded_visit_fills_the_form_and_reads_back_the_same() {
        let form = VisitForm {
            hiv_result: "invalid".into(),
            hiv_repeat: "reactive".into(),
            hiv_consent: true,
            hiv_counselled: true,
            glucose: "3,2".into(),
            glucose_unit: "mg/dL".into(),
            fasting: "unknown".into(),
            ketones: "2+".into(),
            glucose_medication: "insulin".into(),
            drowsy: true,
            glucose_recheck: "65".into(),
            hba1c: "48".into(),
            hba1c_unit: "mmol/mol".into(),
            systolic: "184".into(),
            diastolic: "100".into(),
            pulse: "90".into(),
            systolic2: "176".into(),
            diastolic2: "98".into(),
            systolic3: "170".into(),
            diastolic3: "96".into(),
            neurological: true,
            weight_kg: "81,5".into(),
            height_cm: "172".into(),
            tb_cough: true,
            tb_cough_weeks: "3".into(),
            tb_haemoptysis: true,
            tb_risk_hiv: true,
            hbsag: "invalid".into(),
            hbsag_repeat: "invalid".into(),
            anti_hcv: "non-reactive".into(),
            pregnant: true,
            ..Default::default()
        };
        let s = form.screenings().unwrap();
        let again = VisitForm::of(&s, true);
        assert_eq!(again.screenings().unwrap(), s);
        assert!(again.pregnant);
        let hi = VisitForm {
            glucose: "HI".into(),
            fasting: "random".into(),
            ..Default::default()
        }
        .screenings()
        .unwrap();
        assert_eq!(VisitForm::of(&hi, false).glucose, "HI");
    }
}
