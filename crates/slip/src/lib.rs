//! Referral slips as PDF, printed in the van and handed to the person.
//!
//! A slip shows only what its one referral needs: the person (name in Cyrillic and Latin,
//! birth date or year, ЕГН masked but for the last four digits), the reason in plain Bulgarian
//! (never a diagnosis, never a result), urgency, where to go, who referred, and the short
//! referral code in large type and as a QR code. Text is real text (shaped by rustybuzz inside
//! krilla, the font subset and embedded), so a PDF viewer's search finds the name.
//!
//! Layout is done here, line by line: a slip is a fixed form, and placing a dozen lines by hand
//! keeps the dependency small (krilla) and the output under 100 KB.

mod layout;
mod report;

use chrono::{DateTime, Utc};
use kabinet_core::{Lang, Person, Referral, ReferralReason, ScreeningKind};

pub use layout::render;
pub use report::{ReportPage, ReportSection, render_report};

/// Paper size; A5 portrait by default, A6 for small printers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    A5,
    A6,
}

impl Paper {
    pub fn parse(s: &str) -> Option<Paper> {
        match s.trim().to_ascii_uppercase().as_str() {
            "" | "A5" => Some(Paper::A5),
            "A6" => Some(Paper::A6),
            _ => None,
        }
    }
}

pub use kabinet_core::Place;

/// Everything printed on one slip, already in the words that go on paper.
#[derive(Debug, Clone, PartialEq)]
pub struct Slip {
    pub hub: Place,
    pub cabinet: String,
    pub issued_at: DateTime<Utc>,
    pub person_name: String,
    pub person_latin: String,
    /// dd.mm.yyyy, or "~1990" when only the year is estimated.
    pub birth: String,
    /// "******5930", or None for a person without an ЕГН.
    pub egn_masked: Option<String>,
    pub reason: String,
    pub urgency: String,
    /// Emergency care now: the slip leads with it in large type.
    pub emergency: bool,
    pub destination: Place,
    pub specialist: String,
    pub code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SlipError {
    #[error("the slip could not be written as PDF: {0}")]
    Pdf(String),
    #[error("the referral code cannot be drawn as a QR code: {0}")]
    Qr(String),
}

/// The reason as it is printed: plain words about what happens next, no diagnosis and no
/// result value. An HIV slip says a screening test was reactive and needs confirming; a slip
/// for any other reason says nothing about HIV.
pub fn reason_text(reason: ReferralReason, lang: Lang) -> &'static str {
    use ScreeningKind::*;
    match reason {
        ReferralReason::Screening(Hiv) => lang.pick(
            "Реактивен скринингов тест за ХИВ — нужно е потвърдително изследване.",
            "Reactive HIV screening test — confirmatory testing is needed.",
        ),
        ReferralReason::Screening(HepatitisB) => lang.pick(
            "Реактивен скринингов тест за хепатит B — нужно е потвърдително изследване.",
            "Reactive hepatitis B screening test — confirmatory testing is needed.",
        ),
        ReferralReason::Screening(HepatitisC) => lang.pick(
            "Реактивен скринингов тест за хепатит C — нужно е потвърдително изследване.",
            "Reactive hepatitis C screening test — confirmatory testing is needed.",
        ),
        ReferralReason::Screening(Tb) => lang.pick(
            "Оплаквания, при които е нужно изследване за туберкулоза.",
            "Symptoms that call for a tuberculosis check.",
        ),
        ReferralReason::Screening(Glucose | Hba1c) => lang.pick(
            // Low and high readings both send a person here: the slip says neither.
            "Кръвна захар извън обичайните граници при скрининг — нужен е преглед при лекар.",
            "Blood sugar outside the usual range at screening — a doctor's check is needed.",
        ),
        ReferralReason::Screening(BloodPressure) => lang.pick(
            "Високо кръвно налягане при измерване — нужен е преглед при лекар.",
            "High blood pressure when measured — a doctor's check is needed.",
        ),
        ReferralReason::Screening(Body) => lang.pick(
            "Тегло извън нормата — консултация.",
            "Weight outside the healthy range — a consultation.",
        ),
        ReferralReason::Social => lang.pick("Социална подкрепа.", "Social support."),
        ReferralReason::Legal => lang.pick("Правна консултация.", "Legal advice."),
        ReferralReason::Psychological => {
            lang.pick("Психологическа подкрепа.", "Psychological support.")
        }
        ReferralReason::Education => {
            lang.pick("Подкрепа за образование.", "Support with education.")
        }
    }
}

/// Whether a referral's slip may leave out the person's name and ЕГН: an HIV referral's
/// (anonymous testing centres know a person by the code); any other needs the name.
pub fn may_be_anonymous(referral: &Referral) -> bool {
    referral.access_class() == kabinet_core::AccessClass::Hiv
}

/// The reason a referral's slip prints: its rule's wording when it follows a finding (a low
/// glucose says "low", not "raised"), otherwise the wording of its reason.
pub fn slip_reason(referral: &Referral, lang: Lang) -> &'static str {
    referral
        .finding
        .as_deref()
        .and_then(kabinet_core::rules::Rule::by_id)
        .map_or_else(
            || reason_text(referral.reason, lang),
            |rule| rule.slip.text(lang),
        )
}

impl Slip {
    /// The same slip with the person known by the code only: no name in either script and
    /// no ЕГН; the birth year and sex stay, as an anonymous testing centre records them.
    pub fn anonymous(mut self, person: &Person) -> Slip {
        let sex = match person.sex {
            kabinet_core::Sex::F => "жена",
            kabinet_core::Sex::M => "мъж",
        };
        self.person_name = "Анонимно — по кода на направлението".to_string();
        self.person_latin = String::new();
        self.birth = format!("{} г., {sex}", person.birth_date.year());
        self.egn_masked = None;
        self
    }

    /// The slip of one referral: only this referral's reason, only this person's data.
    pub fn of(
        referral: &Referral,
        person: &Person,
        hub: Place,
        cabinet: &str,
        destination: Place,
        specialist: &str,
    ) -> Slip {
        Slip {
            hub,
            cabinet: cabinet.to_string(),
            issued_at: referral.issued_at(),
            person_name: person.full_name(),
            person_latin: person.latin_name(),
            birth: person.birth_date.display(),
            egn_masked: person.egn.as_ref().map(|e| e.masked()),
            reason: slip_reason(referral, Lang::Bg).to_string(),
            urgency: referral.urgency.label(Lang::Bg).to_string(),
            emergency: referral.urgency == kabinet_core::Urgency::Emergency,
            destination,
            specialist: specialist.to_string(),
            code: referral.code.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
