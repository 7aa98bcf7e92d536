//! Kabinet's domain in plain Rust: persons, visits, screenings, referrals, the screening rules,
//! ЕГН/ЛНЧ and transliteration, and validation with messages in Bulgarian and English.
//! No I/O, no clock, no storage: every other crate speaks these types.

pub mod access;
pub mod audit;
pub mod case;
pub mod codes;
pub mod directory;
pub mod duplicates;
pub mod error;
pub mod form;
pub mod identity;
pub mod indicators;
pub mod person;
pub mod referral;
pub mod rules;
pub mod screening;
pub mod sex;
#[cfg(feature = "testing")]
pub mod testing;
pub mod translit;
pub mod visit;

pub use access::{Role, may_read, may_write};
pub use audit::{AuditAction, AuditEntry, ChainedEntry};
pub use directory::{Directory, FollowUpDays, Place};
pub use error::{
    Checked, Concern, Field, Lang, Problem, ValidationError, ValidationErrors, Warning,
};
pub use form::VisitForm;
pub use identity::{Egn, Lnch, Phone};
pub use person::{
    BirthDate, ConsentState, DataConsent, Documents, Person, PersonDraft, Recorded, Sex,
};
pub use referral::{
    Destination, HubRole, Institution, Referral, ReferralCode, ReferralReason, ReferralStatus,
    StatusChange, Urgency, referral_class,
};
pub use rules::{Prompt, Subject, Suggestion, prompts, suggest_referrals};
pub use screening::{
    AccessClass, AcuteSymptoms, BloodPressure, Body, BpReading, Fasting, Glucose,
    GlucoseMedication, GlucoseUnit, Hba1c, Hba1cUnit, HepatitisTest, HivAssay, HivTest, Ketones,
    RapidResult, ScreeningKind, Screenings, TbRisks, TbScreen,
};
pub use visit::Visit;

#[cfg(test)]
mod spelling {
    //! Each enum's text spelling (`as_str`/`parse`) and its serde spelling are the same word,
    //! so the API, the query tables and the documents can never drift apart.
    use super::*;
    use serde::Serialize;

    fn serde_word<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .expect("a unit variant serializes as a string")
            .to_string()
    }

    #[test]
    fn as_str_is_the_serde_word_and_parses_back() {
        for &r in Role::ALL {
            assert_eq!(r.as_str(), serde_word(r));
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for &c in AccessClass::ALL {
            assert_eq!(c.as_str(), serde_word(c));
            assert_eq!(AccessClass::parse(c.as_str()), Some(c));
            assert_eq!(AccessClass::from_code(c.code()), Some(c));
        }
        for &k in ScreeningKind::ALL {
            assert_eq!(k.as_str(), serde_word(k));
            assert_eq!(ScreeningKind::parse(k.as_str()), Some(k));
        }
        for &u in Urgency::ALL {
            assert_eq!(u.as_str(), serde_word(u));
            assert_eq!(Urgency::parse(u.as_str()).unwrap(), u);
            assert_eq!(Urgency::from_rank(i64::from(u.rank())), Some(u));
        }
        for &s in ReferralStatus::ALL {
            assert_eq!(s.as_str(), serde_word(s));
            assert_eq!(ReferralStatus::parse(s.as_str()).unwrap(), s);
        }
        for &a in <AuditAction as strum::VariantArray>::VARIANTS {
            assert_eq!(a.as_str(), serde_word(a));
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        for &c in <ConsentState as strum::VariantArray>::VARIANTS {
            assert_eq!(c.as_str(), serde_word(c));
        }
        for &r in RapidResult::ALL {
            assert_eq!(r.as_str(), serde_word(r));
            assert_eq!(RapidResult::parse(Field::HivResult, r.as_str()).unwrap(), r);
        }
        for s in [Sex::M, Sex::F] {
            assert_eq!(s.as_str(), serde_word(s));
        }
        assert_eq!(Urgency::from_rank(4), None);
        assert_eq!(Role::parse("admin"), None);
    }
}
