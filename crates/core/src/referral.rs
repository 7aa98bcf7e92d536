//! Referrals: who is sent where, why, how urgently, with a short code printed on the slip and a
//! status history that closes the loop (issued → attended → completed, or declined / lost to
//! follow-up).

use crate::error::{Field, Lang, Problem, ValidationError};
use crate::screening::{AccessClass, ScreeningKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::LazyLock;
use uuid::Uuid;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Urgency {
    Routine,
    Priority,
    SameDay,
    Emergency,
}

impl Urgency {
    /// Least urgent first: an urgency's rank is its index here.
    pub const ALL: &'static [Urgency] = <Urgency as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Result<Urgency, ValidationError> {
        let s = s.trim().to_lowercase().replace('-', "_");
        s.parse().map_err(|_| {
            ValidationError::new(
                Field::ReferralUrgency,
                Problem::UnknownValue {
                    input: s,
                    expected: {
                        static EXPECTED: LazyLock<String> = LazyLock::new(|| {
                            Urgency::ALL
                                .iter()
                                .map(|u| u.as_str())
                                .collect::<Vec<_>>()
                                .join(" | ")
                        });
                        EXPECTED.as_str()
                    },
                },
            )
        })
    }

    /// 0 (routine) to 3 (emergency), as the query table keeps it for sorting.
    pub fn rank(self) -> u8 {
        self as u8
    }

    pub fn from_rank(rank: i64) -> Option<Urgency> {
        usize::try_from(rank)
            .ok()
            .and_then(|r| Urgency::ALL.get(r))
            .copied()
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            Urgency::Routine => ("планово", "routine"),
            Urgency::Priority => ("приоритетно (до 7 дни)", "priority (within 7 days)"),
            Urgency::SameDay => ("още днес", "same day"),
            Urgency::Emergency => ("спешно (112)", "emergency (112)"),
        };
        lang.pick(bg, en)
    }
}

/// A member of the hub's multidisciplinary team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HubRole {
    Psychologist,
    Lawyer,
    SocialWorker,
    Gp,
    HealthMediator,
    EducationMediator,
}

/// An institution outside the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Institution {
    /// The person's own GP (личен лекар).
    PersonalGp,
    /// Pulmonology hospital / dispensary (СБАЛПФЗ).
    LungHospital,
    /// Confirmatory HIV testing (КАБКИС).
    HivTestingCabinet,
    /// Infectious diseases ward or clinic (hepatitis follow-up).
    InfectiousDiseases,
    /// Regional Health Inspectorate.
    Rzi,
    /// Regional Directorate for Social Assistance.
    Rdsp,
    /// Labour Office Directorate.
    Dbt,
    /// Emergency care (ЦСМП / 112).
    EmergencyCare,
    /// Child protection department (Отдел „Закрила на детето“ of the social assistance
    /// directorate).
    ChildProtection,
    /// The police (районно управление на МВР).
    Police,
    /// A school (the child's or an adult education programme).
    School,
    /// A hospital (other than the lung hospital and the infectious diseases ward).
    Hospital,
}

/// Where a referral sends the person. The slug is the stable key in documents and imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    Hub(HubRole),
    Institution(Institution),
}

const DESTINATIONS: [(Destination, &str, &str, &str); 18] = [
    (
        Destination::Hub(HubRole::Psychologist),
        "hub-psychologist",
        "Психолог (Хъб)",
        "Psychologist (hub)",
    ),
    (
        Destination::Hub(HubRole::Lawyer),
        "hub-lawyer",
        "Юрист (Хъб)",
        "Lawyer (hub)",
    ),
    (
        Destination::Hub(HubRole::SocialWorker),
        "hub-social-worker",
        "Социален работник (Хъб)",
        "Social worker (hub)",
    ),
    (
        Destination::Hub(HubRole::Gp),
        "hub-gp",
        "Лекар (Хъб)",
        "Physician (hub)",
    ),
    (
        Destination::Hub(HubRole::HealthMediator),
        "hub-health-mediator",
        "Здравен медиатор (Хъб)",
        "Health mediator (hub)",
    ),
    (
        Destination::Hub(HubRole::EducationMediator),
        "hub-education-mediator",
        "Образователен медиатор (Хъб)",
        "Education mediator (hub)",
    ),
    (
        Destination::Institution(Institution::PersonalGp),
        "personal-gp",
        "Личен лекар",
        "Personal GP",
    ),
    (
        Destination::Institution(Institution::LungHospital),
        "lung-hospital",
        "Белодробна болница (СБАЛПФЗ)",
        "Lung hospital",
    ),
    (
        Destination::Institution(Institution::HivTestingCabinet),
        "hiv-confirmatory",
        "КАБКИС — потвърдително изследване",
        "HIV testing cabinet — confirmatory test",
    ),
    (
        Destination::Institution(Institution::InfectiousDiseases),
        "infectious-diseases",
        "Инфекциозно отделение",
        "Infectious diseases clinic",
    ),
    (
        Destination::Institution(Institution::Rzi),
        "rzi",
        "РЗИ",
        "Regional Health Inspectorate",
    ),
    (
        Destination::Institution(Institution::Rdsp),
        "rdsp",
        "Дирекция „Социално подпомагане“",
        "Social Assistance Directorate",
    ),
    (
        Destination::Institution(Institution::Dbt),
        "dbt",
        "Дирекция „Бюро по труда“",
        "Labour Office",
    ),
    (
        Destination::Institution(Institution::EmergencyCare),
        "emergency",
        "Спешна помощ (112)",
        "Emergency care (112)",
    ),
    (
        Destination::Institution(Institution::ChildProtection),
        "child-protection",
        "Отдел „Закрила на детето“",
        "Child protection department",
    ),
    (
        Destination::Institution(Institution::Police),
        "police",
        "Полиция (РУ на МВР)",
        "Police",
    ),
    (
        Destination::Institution(Institution::School),
        "school",
        "Училище",
        "School",
    ),
    (
        Destination::Institution(Institution::Hospital),
        "hospital",
        "Болница",
        "Hospital",
    ),
];

impl Destination {
    pub fn all() -> impl Iterator<Item = Destination> {
        DESTINATIONS.iter().map(|d| d.0)
    }

    fn row(self) -> &'static (Destination, &'static str, &'static str, &'static str) {
        DESTINATIONS
            .iter()
            .find(|d| d.0 == self)
            .expect("every destination has a row")
    }

    pub fn slug(self) -> &'static str {
        self.row().1
    }

    pub fn label(self, lang: Lang) -> &'static str {
        lang.pick(self.row().2, self.row().3)
    }

    /// A destination that names a condition reveals it: a referral to the HIV confirmatory
    /// lab says as much as the HIV result, whatever reason was ticked.
    pub fn access_class(self) -> AccessClass {
        match self {
            Destination::Institution(Institution::HivTestingCabinet) => AccessClass::Hiv,
            Destination::Institution(Institution::LungHospital) => AccessClass::Tuberculosis,
            Destination::Institution(Institution::InfectiousDiseases) => AccessClass::Hepatitis,
            _ => AccessClass::General,
        }
    }

    pub fn parse(slug: &str) -> Result<Destination, ValidationError> {
        let s = slug.trim();
        DESTINATIONS
            .iter()
            .find(|d| d.1 == s)
            .map(|d| d.0)
            .ok_or_else(|| {
                ValidationError::new(
                    Field::ReferralDestination,
                    Problem::UnknownValue {
                        input: s.to_string(),
                        expected: {
                            static EXPECTED: LazyLock<String> = LazyLock::new(|| {
                                DESTINATIONS
                                    .iter()
                                    .map(|d| d.1)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            });
                            EXPECTED.as_str()
                        },
                    },
                )
            })
    }
}

impl Serialize for Destination {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.slug())
    }
}

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Destination::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why the person is referred: a screening finding, or a need the team saw.
///
/// Spelled as text by [`ReferralReason::as_str`] (`screening:hiv`, `social`…) everywhere
/// but inside documents, which keep serde's shape (`{"screening": "hiv"}`, `"social"`): every
/// version of the app on every device must read every document written so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralReason {
    Screening(ScreeningKind),
    Social,
    Legal,
    Psychological,
    Education,
}

/// The reasons that are not a screening, with their spelling and labels.
const NEEDS: [(ReferralReason, &str, &str, &str); 4] = [
    (
        ReferralReason::Social,
        "social",
        "социална помощ",
        "social support",
    ),
    (
        ReferralReason::Legal,
        "legal",
        "правна помощ",
        "legal support",
    ),
    (
        ReferralReason::Psychological,
        "psychological",
        "психологическа подкрепа",
        "psychological support",
    ),
    (
        ReferralReason::Education,
        "education",
        "образование",
        "education",
    ),
];

/// Prefix of a screening reason's spelling: `screening:<kind>`.
const SCREENING_PREFIX: &str = "screening:";

impl ReferralReason {
    /// Every reason: one per screening kind, then the team's needs.
    pub fn all() -> impl Iterator<Item = ReferralReason> {
        ScreeningKind::ALL
            .iter()
            .map(|k| ReferralReason::Screening(*k))
            .chain(NEEDS.iter().map(|n| n.0))
    }

    /// The reason as text: `screening:<kind>` (e.g. `screening:hiv`), or social | legal |
    /// psychological | education. The API, the query table and the CLI all use this.
    pub fn as_str(self) -> &'static str {
        // Built once from the screening kinds' own spelling, so callers need not allocate.
        static SPELLINGS: LazyLock<Vec<(ReferralReason, String)>> = LazyLock::new(|| {
            ScreeningKind::ALL
                .iter()
                .map(|k| {
                    (
                        ReferralReason::Screening(*k),
                        format!("{SCREENING_PREFIX}{}", k.as_str()),
                    )
                })
                .chain(NEEDS.iter().map(|n| (n.0, n.1.to_string())))
                .collect()
        });
        SPELLINGS
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, s)| s.as_str())
            .expect("every reason has a spelling")
    }

    pub fn parse(s: &str) -> Result<ReferralReason, ValidationError> {
        let s = s.trim();
        let parsed = match s.strip_prefix(SCREENING_PREFIX) {
            Some(kind) => ScreeningKind::parse(kind).map(ReferralReason::Screening),
            None => NEEDS.iter().find(|n| n.1 == s).map(|n| n.0),
        };
        parsed.ok_or_else(|| {
            ValidationError::new(
                Field::ReferralReason,
                Problem::UnknownValue {
                    input: s.to_string(),
                    expected: "screening:<kind> | social | legal | psychological | education",
                },
            )
        })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ReferralReason::Screening(kind) => kind.label(lang),
            need => {
                let row = NEEDS
                    .iter()
                    .find(|n| n.0 == need)
                    .expect("every need has a row");
                lang.pick(row.2, row.3)
            }
        }
    }

    /// A referral reveals its reason, so it is read under the reason's class: a referral for
    /// HIV confirmatory testing is as sensitive as the HIV result.
    pub fn access_class(self) -> AccessClass {
        match self {
            ReferralReason::Screening(k) => k.access_class(),
            ReferralReason::Psychological => AccessClass::Psychology,
            ReferralReason::Legal => AccessClass::Legal,
            ReferralReason::Social | ReferralReason::Education => AccessClass::General,
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReferralStatus {
    Issued,
    Attended,
    Completed,
    Declined,
    LostToFollowUp,
    /// Withdrawn because its visit was entered in error or corrected: the reason is in the
    /// note. Last in order: statuses are stored by name, but older builds list them.
    Cancelled,
}

impl ReferralStatus {
    pub const ALL: &'static [ReferralStatus] = <ReferralStatus as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Result<ReferralStatus, ValidationError> {
        let s = s.trim().to_lowercase().replace('-', "_");
        s.parse().map_err(|_| {
            ValidationError::new(
                Field::ReferralStatus,
                Problem::UnknownValue {
                    input: s,
                    expected: {
                        static EXPECTED: LazyLock<String> = LazyLock::new(|| {
                            ReferralStatus::ALL
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(" | ")
                        });
                        EXPECTED.as_str()
                    },
                },
            )
        })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            ReferralStatus::Issued => ("издадено", "issued"),
            ReferralStatus::Attended => ("явил се", "attended"),
            ReferralStatus::Completed => ("приключено", "completed"),
            ReferralStatus::Declined => ("отказано", "declined"),
            ReferralStatus::LostToFollowUp => ("без връзка", "lost to follow-up"),
            ReferralStatus::Cancelled => ("отменено", "cancelled"),
        };
        lang.pick(bg, en)
    }

    /// Still waiting for the person to arrive.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ReferralStatus::Issued | ReferralStatus::LostToFollowUp
        )
    }

    /// The transitions a referral's status allows (issued → attended, attended → completed…).
    pub fn may_become(self, next: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, next),
            (Issued, Attended | Declined | LostToFollowUp | Cancelled)
                | (LostToFollowUp, Attended | Declined | Cancelled)
                | (Attended, Completed)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: ReferralStatus,
    pub at: DateTime<Utc>,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub id: Uuid,
    pub code: ReferralCode,
    pub person_id: Uuid,
    pub visit_id: Uuid,
    pub reason: ReferralReason,
    pub destination: Destination,
    pub urgency: Urgency,
    /// The id of the screening rule whose finding it follows (`rules::Rule::by_id`), which
    /// gives the slip its wording; none for a referral the specialist added by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// Oldest first; never empty (the first entry is the issue).
    pub history: Vec<StatusChange>,
}

/// The class a referral is read under: the stricter of its reason's and its destination's,
/// so that nobody reads a referral who may not read what either says. Two sensitive classes
/// whose readers differ (psychological support at the lung hospital) make no referral: the
/// pair is refused. When both classes have the same readers (an HIV referral to the
/// infectious diseases clinic), the reason's class is kept.
pub fn referral_class(
    reason: ReferralReason,
    destination: Destination,
) -> Result<AccessClass, ValidationError> {
    let (by_reason, by_destination) = (reason.access_class(), destination.access_class());
    let readers = |class| crate::access::readers(class);
    if readers(by_reason).is_subset(&readers(by_destination)) {
        Ok(by_reason)
    } else if readers(by_destination).is_subset(&readers(by_reason)) {
        Ok(by_destination)
    } else {
        Err(ValidationError::new(
            Field::ReferralDestination,
            Problem::DestinationDoesNotFitReason {
                reason: reason.as_str(),
                destination: destination.slug(),
            },
        ))
    }
}

impl Referral {
    /// See [`referral_class`]. A stored pair that does not fit (written before the rule) is
    /// read under its reason's class, as it always was.
    pub fn access_class(&self) -> AccessClass {
        referral_class(self.reason, self.destination).unwrap_or(self.reason.access_class())
    }

    pub fn status(&self) -> ReferralStatus {
        self.history
            .last()
            .map_or(ReferralStatus::Issued, |c| c.status)
    }

    pub fn issued_at(&self) -> DateTime<Utc> {
        self.history
            .first()
            .map_or(DateTime::<Utc>::MIN_UTC, |c| c.at)
    }

    /// When the person first came to the destination: the first change to attended, or to
    /// completed when no attendance was recorded before it.
    pub fn attended_at(&self) -> Option<DateTime<Utc>> {
        self.history
            .iter()
            .find(|c| {
                matches!(
                    c.status,
                    ReferralStatus::Attended | ReferralStatus::Completed
                )
            })
            .map(|c| c.at)
    }

    /// Appends a status change if the history allows it.
    pub fn advance(&mut self, change: StatusChange) -> Result<(), ValidationError> {
        let from = self.status();
        if !from.may_become(change.status) {
            return Err(ValidationError::new(
                Field::ReferralStatus,
                Problem::StatusTransition {
                    from: from.as_str(),
                    to: change.status.as_str(),
                },
            ));
        }
        self.history.push(change);
        Ok(())
    }
}

/// The short code printed on a slip and read back over the phone: digits only (Latin and
/// Cyrillic letters look alike: В/B, Н/H, Р/P), as `II-SSSSS-C`: the issuer number the hub
/// assigns to each cabinet or desk, the issuer's serial, and a Damm check digit that catches
/// every single-digit error and every swap of adjacent digits. Unique per hub because issuer
/// numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReferralCode {
    pub issuer: u8,
    pub serial: u32,
}

/// Damm's quasigroup of order 10 (totally anti-symmetric, H. M. Damm 2004).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm(digits: &str) -> u8 {
    digits.bytes().fold(0u8, |interim, b| {
        DAMM[usize::from(interim)][usize::from(b - b'0')]
    })
}

impl ReferralCode {
    pub fn new(issuer: u8, serial: u32) -> ReferralCode {
        ReferralCode { issuer, serial }
    }

    fn body(&self) -> String {
        format!("{:02}{:05}", self.issuer, self.serial)
    }

    pub fn check_digit(&self) -> u8 {
        damm(&self.body())
    }

    /// Reads a code as printed, as typed (with or without dashes and spaces) or as scanned.
    pub fn parse(input: &str) -> Result<ReferralCode, ValidationError> {
        let err = |p| ValidationError::new(Field::ReferralCode, p);
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '–' | '.'))
            .collect();
        if digits.len() < 8 || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(Problem::ReferralCodeFormat));
        }
        if damm(&digits) != 0 {
            return Err(err(Problem::ReferralCodeCheckDigit));
        }
        let body = &digits[..digits.len() - 1];
        let issuer = body[..2]
            .parse()
            .map_err(|_| err(Problem::ReferralCodeFormat))?;
        let serial = body[2..]
            .parse()
            .map_err(|_| err(Problem::ReferralCodeFormat))?;
        Ok(ReferralCode { issuer, serial })
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}-{:05}-{}",
            self.issuer,
            self.serial,
            self.check_digit()
        )
    }
}

impl Serialize for ReferralCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ReferralCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReferralCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn code_prints_and_parses() {
        let c = ReferralCode::new(7, 42);
        let s = c.to_string();
        assert_eq!(&s[..9], "07-00042-");
        assert_eq!(ReferralCode::parse(&s).unwrap(), c);
        assert_eq!(ReferralCode::parse(&s.replace('-', " ")).unwrap(), c);
        assert_eq!(
            ReferralCode::parse("07-0004").unwrap_err().problem,
            Problem::ReferralCodeFormat
        );
        assert_eq!(
            ReferralCode::parse("АБ-00042-1").unwrap_err().problem,
            Problem::ReferralCodeFormat
        );
        // Serials beyond five digits simply grow the code.
        let big = ReferralCode::new(99, 1_234_567);
        assert_eq!(ReferralCode::parse(&big.to_string()).unwrap(), big);
    }

    proptest! {
        #[test]
        fn a_mistyped_or_swapped_digit_is_caught(issuer in 0u8..100, serial in 0u32..100_000, pos in 0usize..8, delta in 1u8..10) {
            let code = ReferralCode::new(issuer, serial);
            let digits: Vec<u8> = code.to_string().bytes().filter(u8::is_ascii_digit).collect();
            let mut typo = digits.clone();
            typo[pos] = b'0' + (typo[pos] - b'0' + delta) % 10;
            prop_assert!(ReferralCode::parse(std::str::from_utf8(&typo).unwrap()).is_err());
            let mut swap = digits.clone();
            swap.swap(pos.min(6), pos.min(6) + 1);
            if swap != digits {
                prop_assert!(ReferralCode::parse(std::str::from_utf8(&swap).unwrap()).is_err());
            }
        }
    }

    #[test]
    fn status_history_only_moves_forward() {
        let at: DateTime<Utc> = "2026-03-02T08:00:00Z".parse().unwrap();
        let change = |status| StatusChange {
            status,
            at,
            by: "sw-1".into(),
            note: None,
        };
        let mut r = Referral {
            id: Uuid::nil(),
            code: ReferralCode::new(1, 1),
            person_id: Uuid::nil(),
            visit_id: Uuid::nil(),
            reason: ReferralReason::Screening(ScreeningKind::Glucose),
            destination: Destination::Hub(HubRole::Gp),
            urgency: Urgency::Priority,
            finding: None,
            history: vec![change(ReferralStatus::Issued)],
        };
        assert!(r.advance(change(ReferralStatus::Completed)).is_err());
        r.advance(change(ReferralStatus::LostToFollowUp)).unwrap();
        r.advance(change(ReferralStatus::Attended)).unwrap();
        r.advance(change(ReferralStatus::Completed)).unwrap();
        let e = r.advance(change(ReferralStatus::Issued)).unwrap_err();
        assert!(e.message(Lang::Bg).contains("„completed“"));
        assert_eq!(r.status(), ReferralStatus::Completed);
    }

    #[test]
    fn destinations_round_trip_by_slug() {
        for d in Destination::all() {
            assert_eq!(Destination::parse(d.slug()).unwrap(), d);
        }
        assert_eq!(
            Destination::parse("moon").unwrap_err().field,
            Field::ReferralDestination
        );
    }

    #[test]
    fn every_reason_reads_back_from_its_spelling() {
        let all: Vec<ReferralReason> = ReferralReason::all().collect();
        assert_eq!(all.len(), ScreeningKind::ALL.len() + 4);
        for r in all {
            assert_eq!(ReferralReason::parse(r.as_str()).unwrap(), r);
            assert!(!r.label(Lang::Bg).is_empty() && !r.label(Lang::En).is_empty());
        }
        assert_eq!(
            ReferralReason::Screening(ScreeningKind::Tb).as_str(),
            "screening:tb_symptoms"
        );
        let e = ReferralReason::parse("screening:flu").unwrap_err();
        assert_eq!(e.field, Field::ReferralReason);
        assert!(ReferralReason::parse("hiv").is_err());
    }

    #[test]
    fn an_hiv_referral_is_as_sensitive_as_the_result() {
        assert_eq!(
            ReferralReason::Screening(ScreeningKind::Hiv).access_class(),
            AccessClass::Hiv
        );
        assert_eq!(ReferralReason::Social.access_class(), AccessClass::General);
    }

    #[test]
    fn a_destination_that_names_a_condition_makes_the_referral_that_class() {
        let class = |reason: &str, destination: &str| {
            referral_class(
                ReferralReason::parse(reason).unwrap(),
                Destination::parse(destination).unwrap(),
            )
        };
        // A "social" referral to the HIV lab says as much as an HIV result.
        assert_eq!(class("social", "hiv-confirmatory"), Ok(AccessClass::Hiv));
        assert_eq!(
            class("education", "lung-hospital"),
            Ok(AccessClass::Tuberculosis)
        );
        assert_eq!(
            class("screening:glucose", "infectious-diseases"),
            Ok(AccessClass::Hepatitis)
        );
        // Same readers: the reason's class stays.
        assert_eq!(
            class("screening:hiv", "infectious-diseases"),
            Ok(AccessClass::Hiv)
        );
        assert_eq!(class("legal", "hub-lawyer"), Ok(AccessClass::Legal));
        assert_eq!(class("social", "rdsp"), Ok(AccessClass::General));
        // Readers that differ: no referral.
        let e = class("psychological", "lung-hospital").unwrap_err();
        assert_eq!(e.field, Field::ReferralDestination);
        assert!(e.message(Lang::Bg).contains("lung-hospital"));
    }
}
