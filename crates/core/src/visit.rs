//! A visit: one person seen in the cabinet at one time by one specialist, with the screenings
//! done and notes.

use crate::error::{Checked, Checker, Field, Problem, ValidationErrors};
use crate::person::clean_text;
use crate::screening::Screenings;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const NOTES_MAX: usize = 4000;
/// Clocks in the van drift; a visit a few minutes "in the future" is a clock, not an error.
const CLOCK_SKEW: Duration = Duration::minutes(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub id: Uuid,
    pub person_id: Uuid,
    pub cabinet: String,
    pub specialist: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default)]
    pub screenings: Screenings,
    /// Free text every role that sees the visit reads (general class).
    #[serde(default)]
    pub notes: String,
    /// Free text for nurses and doctors only (`AccessClass::Clinical`): kept in its own
    /// document, never inside the visit's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clinical_note: String,
    /// Pregnant at the visit: pregnancy has its own glucose and blood pressure thresholds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pregnant: bool,
    /// Corrections after the visit was saved (who, when, which screenings, why). Kept in the
    /// visit's own document, read by every role that reads the visit: a correction of a
    /// sensitive result is named only as "results" here.
    #[serde(default)]
    pub corrections: Vec<crate::person::Correction>,
    /// Entered in error (the wrong person, a test entry): stays in the history, leaves the
    /// counts and reports; its open referrals are cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<Voided>,
}

/// Who marked a visit as entered in error, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voided {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

impl Visit {
    /// Checks the visit header and every screening; `now` bounds the visit time.
    pub fn check(&self, now: DateTime<Utc>) -> Result<Checked<()>, ValidationErrors> {
        let mut ck = Checker::default();
        if self.cabinet.trim().is_empty() {
            ck.error(Field::Cabinet, Problem::Required);
        }
        if self.specialist.trim().is_empty() {
            ck.error(Field::Specialist, Problem::Required);
        }
        if self.at > now + CLOCK_SKEW {
            ck.error(Field::VisitTime, Problem::DateInFuture);
        }
        clean_text(&mut ck, Field::Place, self.place.as_deref(), 200);
        clean_text(&mut ck, Field::Notes, Some(&self.notes), NOTES_MAX);
        clean_text(
            &mut ck,
            Field::ClinicalNote,
            Some(&self.clinical_note),
            NOTES_MAX,
        );
        match self.screenings.check() {
            Ok(c) => ck.warnings.extend(c.warnings),
            Err(e) => ck.errors.extend(e.0),
        }
        ck.finish(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::BloodPressure;

    fn visit() -> Visit {
        Visit {
            id: Uuid::nil(),
            person_id: Uuid::nil(),
            cabinet: "cabinet-1".into(),
            specialist: "nurse-1".into(),
            at: "2026-03-02T08:00:00Z".parse().unwrap(),
            place: None,
            screenings: Screenings::default(),
            notes: String::new(),
            clinical_note: String::new(),
            pregnant: false,
            corrections: Vec::new(),
            voided: None,
        }
    }

    #[test]
    fn header_and_screenings_are_checked_together() {
        let mut v = visit();
        v.specialist = " ".into();
        v.screenings.blood_pressure = Some(BloodPressure::reading(400, 80));
        let now = "2026-03-02T09:00:00Z".parse().unwrap();
        assert_eq!(
            v.check(now).unwrap_err().fields(),
            vec![Field::Specialist, Field::Systolic]
        );
    }

    #[test]
    fn a_visit_in_the_future_is_refused_beyond_clock_skew() {
        let v = visit();
        assert!(v.check("2026-03-02T07:55:00Z".parse().unwrap()).is_ok());
        assert_eq!(
            v.check("2026-03-02T07:00:00Z".parse().unwrap())
                .unwrap_err()
                .fields(),
            vec![Field::VisitTime]
        );
    }
}
