//! Kabinet's domain in plain Rust: persons, visits, screenings, referrals, the screening rules,
//! ЕГН/ЛНЧ and transliteration, and validation with messages in Bulgarian and English.
//! No I/O, no clock, no storage: every other crate speaks these types.

pub mod access;
pub mod audit;
pub mod directory;
pub mod error;
pub mod form;
pub mod identity;
pub mod person;
pub mod referral;
pub mod rules;
pub mod screening;
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
    StatusChange, Urgency,
};
pub use rules::{Suggestion, suggest_referrals};
pub use screening::{
    AccessClass, BloodPressure, Body, Glucose, GlucoseUnit, Hba1c, Hba1cUnit, HepatitisTest,
    HivAssay, HivTest, RapidResult, ScreeningKind, Screenings, TbScreen,
};
pub use visit::Visit;
