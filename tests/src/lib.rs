//! Shared helpers of the cross-crate tests: deterministic records that a child process writes
//! and the test process checks, and a real hub process on loopback.

pub mod calls;
pub mod hub;
pub mod postgres;
pub mod proxy;

use chrono::{DateTime, Duration, Utc};
use kabinet_core::testing;
use kabinet_core::*;
use uuid::Uuid;

pub use kabinet_core::testing::visit_with_hiv;
pub use kabinet_core::testing::{man_without_documents, register};

/// Record number `i`, the same in every process: a person, a visit with an HIV test and a
/// glucose reading, and a referral.
pub fn crash_record(i: u64) -> (Person, Visit, Referral) {
    let id = |salt: u128| Uuid::from_u128((u128::from(i) << 8) | salt);
    let at: DateTime<Utc> =
        "2026-03-02T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(i as i64);
    let person = Person {
        id: id(1),
        given_name: format!("Иван{}", letters(i)),
        middle_name: None,
        family_name: "Тестов".into(),
        other_names: vec![],
        sex: Sex::M,
        birth_date: BirthDate::EstimatedYear(1980 + (i % 30) as i32),
        egn: None,
        lnch: None,
        documents: Documents::NoDocuments,
        phone: None,
        neighbourhood: Some("Мошино".into()),
        address: None,
        consent: None,
        corrections: Vec::new(),
        merged_into: None,
        not_same_as: Vec::new(),
    };
    let visit = Visit {
        id: id(2),
        ..testing::visit(
            person.id,
            at,
            Screenings {
                hiv: Some(testing::hiv(RapidResult::NonReactive)),
                glucose: Some(testing::glucose(8.0)),
                ..Default::default()
            },
        )
    };
    let referral = Referral {
        id: id(3),
        ..testing::referral(
            person.id,
            visit.id,
            ReferralCode::new(1, (i % 100_000) as u32),
            ReferralReason::Screening(ScreeningKind::Glucose),
            Destination::Hub(HubRole::Gp),
            at,
        )
    };
    (person, visit, referral)
}

/// A number as Cyrillic letters, so names stay names.
fn letters(mut i: u64) -> String {
    const ABC: [char; 10] = ['а', 'б', 'в', 'г', 'д', 'е', 'ж', 'з', 'и', 'к'];
    let mut s = String::new();
    loop {
        s.push(ABC[(i % 10) as usize]);
        i /= 10;
        if i == 0 {
            return s;
        }
    }
}

/// Writes a new referral of `visit` for `reason` to the destination `to` (a slug), with the
/// writer's next code.
pub fn put_referral(
    w: &mut kabinet_store::Writer<'_>,
    visit: &Visit,
    reason: ReferralReason,
    to: &str,
) -> kabinet_store::Result<Referral> {
    let r = testing::referral(
        visit.person_id,
        visit.id,
        w.next_referral_code()?,
        reason,
        Destination::parse(to).expect("a known destination"),
        Utc::now(),
    );
    w.put_referral(&r)?;
    Ok(r)
}
