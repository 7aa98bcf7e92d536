//! Records for tests and benchmarks, built in one place (feature `testing`): a person without
//! documents or from a draft, a visit with
//! given screenings, a visit with an HIV rapid test, an issued referral. Every crate's tests
//! use these rather than spelling the structs out again.

use crate::person::{Person, PersonDraft, Recorded};
use crate::referral::{
    Destination, Referral, ReferralCode, ReferralReason, ReferralStatus, StatusChange, Urgency,
};
use crate::screening::{
    BloodPressure, Glucose, GlucoseUnit, HivAssay, HivTest, RapidResult, Screenings,
};
use crate::visit::Visit;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A man with no documents, registered by name and birth year only (the common case in the
/// van), with a fresh id.
pub fn man_without_documents(given: &str, family: &str, birth_year: i32) -> Person {
    register(PersonDraft {
        given_name: given.into(),
        family_name: family.into(),
        sex: Some("M".into()),
        birth_year: Some(birth_year),
        no_documents: true,
        ..Default::default()
    })
}

/// A person registered from a draft, as the nurse's form does, now.
pub fn register(draft: PersonDraft) -> Person {
    draft
        .validate(
            Uuid::now_v7(),
            Utc::now().date_naive(),
            &Recorded {
                by: "nurse-1".into(),
                at: Utc::now(),
            },
        )
        .unwrap()
        .value
}

/// A visit in cabinet-1 by nurse-1 with `screenings`.
pub fn visit(person_id: Uuid, at: DateTime<Utc>, screenings: Screenings) -> Visit {
    Visit {
        id: Uuid::now_v7(),
        person_id,
        cabinet: "cabinet-1".into(),
        specialist: "nurse-1".into(),
        at,
        place: None,
        screenings,
        notes: String::new(),
        clinical_note: String::new(),
        pregnant: false,
        corrections: Vec::new(),
        voided: None,
    }
}

/// An HIV rapid test with consent and counselling given.
pub fn hiv(result: RapidResult) -> HivTest {
    HivTest {
        consent: true,
        counselled: true,
        assay: HivAssay::RapidAb12,
        result,
        repeat: None,
    }
}

/// A fasting capillary glucose in mmol/L.
pub fn glucose(mmol_l: f64) -> Glucose {
    Glucose::reading(
        mmol_l,
        GlucoseUnit::MmolL,
        crate::screening::Fasting::Fasting,
    )
}

/// A visit now with an HIV rapid test of `result` and a blood pressure of 150/95.
pub fn visit_with_hiv(person_id: Uuid, result: RapidResult) -> Visit {
    visit(
        person_id,
        Utc::now(),
        Screenings {
            hiv: Some(hiv(result)),
            blood_pressure: Some(BloodPressure {
                pulse: Some(80),
                ..BloodPressure::reading(150, 95)
            }),
            ..Default::default()
        },
    )
}

/// A referral made at `visit_id` for `person_id`, issued at `at` by nurse-1, priority.
pub fn referral(
    person_id: Uuid,
    visit_id: Uuid,
    code: ReferralCode,
    reason: ReferralReason,
    destination: Destination,
    at: DateTime<Utc>,
) -> Referral {
    Referral {
        id: Uuid::now_v7(),
        code,
        person_id,
        visit_id,
        reason,
        destination,
        urgency: Urgency::Priority,
        finding: None,
        history: vec![StatusChange {
            status: ReferralStatus::Issued,
            at,
            by: "nurse-1".into(),
            note: None,
        }],
    }
}
