//! The visit form as the user fills it in: every value still a string (as typed, with a
//! decimal comma or point), every screening optional. [`VisitForm::screenings`] turns it into
//! typed screenings or names each field that cannot be read; the screenings' own checks
//! (ranges, consent) then run in [`crate::Screenings::check`]. The app, the hub's web API and
//! the CLI all fill this one form, so a value is read the same way everywhere.

use crate::error::{Field, Problem, ValidationError, ValidationErrors};
use crate::screening::{
    BloodPressure, Body, Glucose, GlucoseUnit, Hba1c, Hba1cUnit, HepatitisTest, HivAssay, HivTest,
    RapidResult, Screenings, TbScreen,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct VisitForm {
    /// reactive | non-reactive | invalid; empty = no HIV test.
    pub hiv_result: String,
    pub hiv_consent: bool,
    pub hiv_counselled: bool,

    pub glucose: String,
    /// mmol/L (default) | mg/dL
    pub glucose_unit: String,
    pub fasting: bool,

    pub hba1c: String,
    /// % (default) | mmol/mol
    pub hba1c_unit: String,

    pub systolic: String,
    pub diastolic: String,
    pub pulse: String,

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

    /// HBsAg rapid test: reactive | non-reactive | invalid; empty = not done.
    pub hbsag: String,
    /// anti-HCV rapid test.
    pub anti_hcv: String,
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
        let mut rd = Reader::default();
        let mut s = Screenings::default();

        let hiv = self.hiv_result.trim();
        if !hiv.is_empty()
            && let Some(result) = rd.take(RapidResult::parse(Field::HivResult, hiv).map(Some))
        {
            s.hiv = Some(HivTest {
                consent: self.hiv_consent,
                counselled: self.hiv_counselled,
                assay: HivAssay::RapidAb12,
                result,
            });
        }

        if let Some(value) = rd.take(read_number(Field::GlucoseValue, &self.glucose)) {
            let unit = match self.glucose_unit.to_lowercase().replace(' ', "").as_str() {
                "" | "mmol/l" | "mmol" => Some(GlucoseUnit::MmolL),
                "mg/dl" | "mg" => Some(GlucoseUnit::MgDl),
                other => rd.take(Err(unknown(Field::GlucoseValue, other, "mmol/L | mg/dL"))),
            };
            if let Some(unit) = unit {
                s.glucose = Some(Glucose {
                    value,
                    unit,
                    fasting: self.fasting,
                });
            }
        }

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

        let systolic = rd.take(read_whole(Field::Systolic, &self.systolic));
        let diastolic = rd.take(read_whole(Field::Diastolic, &self.diastolic));
        let pulse = rd.take(read_whole(Field::Pulse, &self.pulse));
        match (systolic, diastolic) {
            (Some(systolic), Some(diastolic)) => {
                s.blood_pressure = Some(BloodPressure {
                    systolic,
                    diastolic,
                    pulse,
                })
            }
            // Half a blood pressure is a reading not finished, not a reading.
            (Some(_), None) if self.diastolic.trim().is_empty() => {
                rd.0.push(ValidationError::new(Field::Diastolic, Problem::Required))
            }
            (None, Some(_)) if self.systolic.trim().is_empty() => {
                rd.0.push(ValidationError::new(Field::Systolic, Problem::Required))
            }
            _ => {}
        }

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
        };
        if self.tb_screened || tb != TbScreen::default() {
            s.tb = Some(tb);
        }

        for (input, slot) in [
            (&self.hbsag, &mut s.hepatitis_b),
            (&self.anti_hcv, &mut s.hepatitis_c),
        ] {
            let t = input.trim();
            if !t.is_empty()
                && let Some(result) =
                    rd.take(RapidResult::parse(Field::HepatitisResult, t).map(Some))
            {
                *slot = Some(HepatitisTest { result });
            }
        }

        if rd.0.is_empty() {
            Ok(s)
        } else {
            Err(ValidationErrors(rd.0))
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
            fasting: true,
            hba1c: "53".into(),
            hba1c_unit: "mmol/mol".into(),
            systolic: "150".into(),
            diastolic: "95".into(),
            weight_kg: "81,5".into(),
            height_cm: "172".into(),
            ..Default::default()
        };
        let s = f.screenings().unwrap();
        assert_eq!(s.glucose.unwrap().value, 7.4);
        assert_eq!(s.hba1c.unwrap().unit, Hba1cUnit::MmolMol);
        assert_eq!(s.blood_pressure.unwrap().systolic, 150);
        assert!((s.body.unwrap().bmi().unwrap() - 27.5).abs() < 0.1);
    }

    #[test]
    fn every_unreadable_field_is_named() {
        let f = VisitForm {
            glucose: "седем".into(),
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
}
