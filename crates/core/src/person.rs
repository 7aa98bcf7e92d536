//! A person as the cabinet knows them: names as typed (Cyrillic or Latin), sex, birth date
//! (exact, or only an estimated year), optional ЕГН/ЛНЧ, phone, where they live, and whether
//! they have documents at all. Many people have none; that is a normal case, not an error.

use crate::error::{Checked, Checker, Concern, Field, Problem, ValidationErrors};
use crate::identity::{Egn, Lnch, Phone};
pub use crate::sex::Sex;
use crate::translit;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const NAME_MAX: usize = 60;
const TEXT_MAX: usize = 200;
const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// Exact when known from a document or ЕГН; otherwise the year the person or the team
/// estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthDate {
    Exact(NaiveDate),
    EstimatedYear(i32),
}

impl BirthDate {
    /// Whole years on `day` (an estimated year counts from its start); 0 before birth.
    pub fn age_on(self, day: NaiveDate) -> u32 {
        let years = match self {
            BirthDate::Exact(born) => {
                let had_birthday = (day.month(), day.day()) >= (born.month(), born.day());
                day.year() - born.year() - i32::from(!had_birthday)
            }
            BirthDate::EstimatedYear(y) => day.year() - y,
        };
        u32::try_from(years).unwrap_or(0)
    }

    pub fn year(self) -> i32 {
        match self {
            BirthDate::Exact(d) => d.year(),
            BirthDate::EstimatedYear(y) => y,
        }
    }

    /// As printed: 24.06.1977, or "~1977" when estimated.
    pub fn display(self) -> String {
        match self {
            BirthDate::Exact(d) => d.format("%d.%m.%Y").to_string(),
            BirthDate::EstimatedYear(y) => format!("~{y}"),
        }
    }
}

/// Whether the person showed an identity document. "No documents" is first-class: such a
/// person is registered and found by name, birth year, neighbourhood and phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Documents {
    Presented,
    NoDocuments,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConsentState {
    Given,
    Withdrawn,
}

impl ConsentState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Consent to processing personal data (GDPR art. 9), with who recorded it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataConsent {
    pub state: ConsentState,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: Uuid,
    pub given_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    pub family_name: String,
    /// Nicknames and other spellings the person is known by; all searchable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_names: Vec<String>,
    pub sex: Sex,
    pub birth_date: BirthDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egn: Option<Egn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lnch: Option<Lnch>,
    pub documents: Documents,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbourhood: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<DataConsent>,
    /// Every correction after registration: who, when, which fields, why. Always written
    /// (even empty) so that two devices' first corrections append to one list instead of
    /// racing to create it.
    #[serde(default)]
    pub corrections: Vec<Correction>,
    /// Set on a duplicate record once it was merged into another person's (the survivor):
    /// the document stays, every view shows the survivor. Cleared by an unmerge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<MergedInto>,
    /// Persons a user judged "not the same person" as this one: the duplicate finder does
    /// not suggest the pair again. Kept on both records of the pair.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_same_as: Vec<NotSamePerson>,
}

/// A duplicate's pointer to the survivor, and who merged it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedInto {
    pub survivor: Uuid,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

/// "Not the same person as `other`", as judged by `by` at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotSamePerson {
    pub other: Uuid,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// One correction of a person's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub at: DateTime<Utc>,
    pub by: String,
    /// The fields' keys (`Field::key`).
    pub fields: Vec<String>,
    /// Required when an identity field changed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Person {
    /// True once the person withdrew their consent to data processing.
    pub fn consent_withdrawn(&self) -> bool {
        self.consent
            .as_ref()
            .is_some_and(|c| c.state == ConsentState::Withdrawn)
    }

    /// The person withdraws consent to processing their data (GDPR art. 7(3)): the record
    /// keeps only what identifies the medical documentation the law requires kept (names,
    /// sex, birth date, ЕГН/ЛНЧ) and is marked with who recorded the withdrawal and when.
    /// Contact and outreach data (other names, phone, neighbourhood, address) are removed.
    pub fn withdraw_consent(&mut self, recorded: &Recorded) {
        self.other_names.clear();
        self.phone = None;
        self.neighbourhood = None;
        self.address = None;
        self.consent = Some(DataConsent {
            state: ConsentState::Withdrawn,
            recorded_at: recorded.at,
            recorded_by: recorded.by.clone(),
        });
    }

    /// "Иван Петров Иванов".
    pub fn full_name(&self) -> String {
        let mut parts = vec![self.given_name.as_str()];
        if let Some(m) = &self.middle_name {
            parts.push(m);
        }
        parts.push(&self.family_name);
        parts.join(" ")
    }

    /// The full name by the Transliteration Act, for slips and Latin search.
    pub fn latin_name(&self) -> String {
        translit::to_latin(&self.full_name())
    }

    /// Every name the person may be searched by, as search keys.
    pub fn search_tokens(&self) -> Vec<String> {
        let mut tokens = translit::search_tokens(&self.full_name());
        for other in &self.other_names {
            tokens.extend(translit::search_tokens(other));
        }
        tokens.sort();
        tokens.dedup();
        tokens
    }
}

/// A person as typed into the form or the command line, before validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct PersonDraft {
    pub given_name: String,
    pub middle_name: Option<String>,
    pub family_name: String,
    pub other_names: Vec<String>,
    /// M/F; filled from the ЕГН when empty.
    pub sex: Option<String>,
    /// yyyy-mm-dd or dd.mm.yyyy; filled from the ЕГН when empty.
    pub birth_date: Option<String>,
    /// An estimated birth year, when the exact date is unknown.
    pub birth_year: Option<i32>,
    pub egn: Option<String>,
    pub lnch: Option<String>,
    pub phone: Option<String>,
    pub neighbourhood: Option<String>,
    pub address: Option<String>,
    pub no_documents: bool,
    pub consent_given: bool,
}

#[cfg(test)]
mod withdrawal_tests {
    use super::*;

    #[test]
    fn withdrawal_keeps_identity_drops_contact_and_marks_the_record() {
        let mut p = Person {
            id: Uuid::nil(),
            given_name: "Росица".into(),
            middle_name: None,
            family_name: "Юсеинова".into(),
            other_names: vec!["Роси".into()],
            sex: Sex::F,
            birth_date: BirthDate::EstimatedYear(1990),
            egn: None,
            lnch: None,
            documents: Documents::NoDocuments,
            phone: Phone::parse("0888123456").ok(),
            neighbourhood: Some("Изток".into()),
            address: Some("ул. Мир 1".into()),
            consent: None,
            corrections: Vec::new(),
            merged_into: None,
            not_same_as: Vec::new(),
        };
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        p.withdraw_consent(&Recorded {
            by: "Мария Петрова".into(),
            at,
        });
        assert!(p.consent_withdrawn());
        assert_eq!(p.full_name(), "Росица Юсеинова");
        assert!(p.phone.is_none() && p.address.is_none() && p.neighbourhood.is_none());
        assert!(p.other_names.is_empty());
        let c = p.consent.unwrap();
        assert_eq!(
            (c.recorded_by.as_str(), c.recorded_at),
            ("Мария Петрова", at)
        );
    }
}

/// Who records something and when: the caller supplies the clock, core has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub by: String,
    pub at: DateTime<Utc>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Trims and collapses inner whitespace, then checks a name's characters and length.
pub(crate) fn clean_name(
    ck: &mut Checker,
    field: Field,
    input: &str,
    required: bool,
) -> Option<String> {
    let cleaned = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        if required {
            ck.error(field, Problem::Required);
        }
        return None;
    }
    if cleaned.chars().count() > NAME_MAX {
        ck.error(field, Problem::TooLong { max: NAME_MAX });
        return None;
    }
    let ok = cleaned
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.'));
    if !ok || !cleaned.chars().any(char::is_alphabetic) {
        ck.error(field, Problem::NotAName);
        return None;
    }
    Some(cleaned)
}

pub(crate) fn clean_text(
    ck: &mut Checker,
    field: Field,
    input: Option<&str>,
    max: usize,
) -> Option<String> {
    let t = input.map(str::trim).filter(|s| !s.is_empty())?;
    if t.chars().count() > max {
        ck.error(field, Problem::TooLong { max });
        return None;
    }
    Some(t.to_string())
}

/// Reads yyyy-mm-dd or dd.mm.yyyy (also with "/" or "-" between day, month and year).
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    let s = input.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s.trim_end_matches(['г', '.', ' ']), "%d.%m.%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d-%m-%Y"))
        .ok()
        .filter(|d| d.year() >= 1000)
}

impl PersonDraft {
    /// Checks every field at once and builds the person. `today` bounds birth dates;
    /// `recorded` stamps the consent, if given.
    pub fn validate(
        &self,
        id: Uuid,
        today: NaiveDate,
        recorded: &Recorded,
    ) -> Result<Checked<Person>, ValidationErrors> {
        let mut ck = Checker::default();
        let given_name = clean_name(&mut ck, Field::GivenName, &self.given_name, true);
        let family_name = clean_name(&mut ck, Field::FamilyName, &self.family_name, true);
        let middle_name = self
            .middle_name
            .as_deref()
            .and_then(|m| clean_name(&mut ck, Field::MiddleName, m, false));
        let other_names: Vec<String> = self
            .other_names
            .iter()
            .filter_map(|n| clean_name(&mut ck, Field::OtherNames, n, false))
            .collect();

        let egn =
            non_empty(&self.egn).and_then(|e| Egn::parse(e).map_err(|e| ck.errors.push(e)).ok());
        let lnch =
            non_empty(&self.lnch).and_then(|l| Lnch::parse(l).map_err(|e| ck.errors.push(e)).ok());
        let phone = non_empty(&self.phone)
            .and_then(|p| Phone::parse(p).map_err(|e| ck.errors.push(e)).ok());

        let sex = match non_empty(&self.sex) {
            Some(s) => match Sex::parse(s) {
                Ok(sex) => {
                    if egn.as_ref().is_some_and(|e| e.sex() != sex) {
                        ck.error(Field::Sex, Problem::EgnSexMismatch);
                    }
                    Some(sex)
                }
                Err(e) => {
                    ck.errors.push(e);
                    None
                }
            },
            None => match &egn {
                Some(e) => Some(e.sex()),
                None => {
                    ck.error(Field::Sex, Problem::Required);
                    None
                }
            },
        };

        let birth_date = match (non_empty(&self.birth_date), self.birth_year) {
            (Some(s), _) => match parse_date(s) {
                Some(d) => {
                    if let Some(e) = &egn
                        && e.birth_date() != d
                    {
                        ck.error(
                            Field::BirthDate,
                            Problem::EgnBirthDateMismatch {
                                from_egn: e.birth_date().format("%d.%m.%Y").to_string(),
                            },
                        );
                    }
                    Some(BirthDate::Exact(d))
                }
                None => {
                    ck.error(
                        Field::BirthDate,
                        Problem::NotADate {
                            input: s.to_string(),
                        },
                    );
                    None
                }
            },
            (None, _) if egn.is_some() => egn.as_ref().map(|e| BirthDate::Exact(e.birth_date())),
            (None, Some(y)) => Some(BirthDate::EstimatedYear(y)),
            (None, None) => {
                ck.error(Field::BirthDate, Problem::Required);
                None
            }
        };
        if let Some(b) = birth_date {
            let in_future = match b {
                BirthDate::Exact(d) => d > today,
                BirthDate::EstimatedYear(y) => y > today.year(),
            };
            if in_future {
                ck.error(Field::BirthDate, Problem::DateInFuture);
            } else if b.year() < EARLIEST_BIRTH_YEAR {
                ck.error(
                    Field::BirthDate,
                    Problem::DateTooEarly {
                        earliest_year: EARLIEST_BIRTH_YEAR,
                    },
                );
            } else if today.year() - b.year() > 100 {
                ck.warn(
                    Field::BirthDate,
                    Concern::VeryOld {
                        age: i64::from(today.year() - b.year()),
                    },
                );
            }
        }
        if egn.is_none() && lnch.is_none() && phone.is_none() {
            ck.warn(Field::Egn, Concern::NoIdentifier);
        }
        let neighbourhood = clean_text(
            &mut ck,
            Field::Neighbourhood,
            self.neighbourhood.as_deref(),
            TEXT_MAX,
        );
        let address = clean_text(&mut ck, Field::Address, self.address.as_deref(), TEXT_MAX);

        let person = match (given_name, family_name, sex, birth_date) {
            (Some(given_name), Some(family_name), Some(sex), Some(birth_date))
                if ck.errors.is_empty() =>
            {
                Some(Person {
                    id,
                    given_name,
                    middle_name,
                    family_name,
                    other_names,
                    sex,
                    birth_date,
                    egn,
                    lnch,
                    documents: if self.no_documents {
                        Documents::NoDocuments
                    } else {
                        Documents::Presented
                    },
                    phone,
                    neighbourhood,
                    address,
                    consent: self.consent_given.then(|| DataConsent {
                        state: ConsentState::Given,
                        recorded_at: recorded.at,
                        recorded_by: recorded.by.clone(),
                    }),
                    corrections: Vec::new(),
                    merged_into: None,
                    not_same_as: Vec::new(),
                })
            }
            _ => None,
        };
        match person {
            Some(p) => ck.finish(p),
            None => Err(ValidationErrors(ck.errors)),
        }
    }
}

impl PersonDraft {
    /// The form filled with a person as recorded: what an edit starts from.
    pub fn of(person: &Person) -> PersonDraft {
        let (birth_date, birth_year) = match person.birth_date {
            BirthDate::Exact(d) => (Some(d.format("%Y-%m-%d").to_string()), None),
            BirthDate::EstimatedYear(y) => (None, Some(y)),
        };
        PersonDraft {
            given_name: person.given_name.clone(),
            middle_name: person.middle_name.clone(),
            family_name: person.family_name.clone(),
            other_names: person.other_names.clone(),
            sex: Some(person.sex.as_str().to_string()),
            birth_date,
            birth_year,
            egn: person.egn.as_ref().map(|e| e.as_str().to_string()),
            lnch: person.lnch.as_ref().map(|l| l.as_str().to_string()),
            phone: person.phone.as_ref().map(|p| p.as_str().to_string()),
            neighbourhood: person.neighbourhood.clone(),
            address: person.address.clone(),
            no_documents: person.documents == Documents::NoDocuments,
            consent_given: person
                .consent
                .as_ref()
                .is_some_and(|c| c.state == ConsentState::Given),
        }
    }
}

/// Fields whose change is a change of who the person is: an edit of one needs a reason, and
/// two devices changing one apart is reviewed by a person, not resolved by a clock.
pub const IDENTITY_FIELDS: &[Field] = &[Field::Egn, Field::Lnch, Field::BirthDate, Field::Sex];

impl Person {
    /// The form fields that differ between `self` and `other`, in the form's order.
    pub fn changed_fields(&self, other: &Person) -> Vec<Field> {
        let mut out = Vec::new();
        let mut differs = |field: Field, changed: bool| {
            if changed {
                out.push(field);
            }
        };
        differs(Field::GivenName, self.given_name != other.given_name);
        differs(Field::MiddleName, self.middle_name != other.middle_name);
        differs(Field::FamilyName, self.family_name != other.family_name);
        differs(Field::OtherNames, self.other_names != other.other_names);
        differs(Field::Sex, self.sex != other.sex);
        differs(Field::BirthDate, self.birth_date != other.birth_date);
        differs(Field::Egn, self.egn != other.egn);
        differs(Field::Lnch, self.lnch != other.lnch);
        differs(Field::Documents, self.documents != other.documents);
        differs(Field::Phone, self.phone != other.phone);
        differs(
            Field::Neighbourhood,
            self.neighbourhood != other.neighbourhood,
        );
        differs(Field::Address, self.address != other.address);
        out
    }

    /// `self` corrected by `draft` (validated as a registration is), keeping what an edit does
    /// not change: the id, the consent record, the corrections and the merge. A person who withdrew consent gets no
    /// contact data back.
    pub fn edited(
        &self,
        draft: &PersonDraft,
        today: NaiveDate,
        recorded: &Recorded,
    ) -> Result<Checked<Person>, ValidationErrors> {
        let mut checked = draft.validate(self.id, today, recorded)?;
        checked.value.consent = self.consent.clone();
        checked.value.corrections = self.corrections.clone();
        checked.value.merged_into = self.merged_into.clone();
        checked.value.not_same_as = self.not_same_as.clone();
        if self.consent_withdrawn() {
            let p = &checked.value;
            let mut errors = Vec::new();
            for (field, given) in [
                (Field::OtherNames, !p.other_names.is_empty()),
                (Field::Phone, p.phone.is_some()),
                (Field::Neighbourhood, p.neighbourhood.is_some()),
                (Field::Address, p.address.is_some()),
            ] {
                if given {
                    errors.push(crate::ValidationError::new(
                        field,
                        Problem::ConsentWithdrawn,
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(ValidationErrors(errors));
            }
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Recorded {
        Recorded {
            by: "nurse-1".into(),
            at: DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
                .unwrap()
                .into(),
        }
    }
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    #[test]
    fn egn_fills_birth_date_and_sex() {
        let d = PersonDraft {
            given_name: "Росица".into(),
            family_name: "  Юсеинова ".into(),
            egn: Some("7706245930".into()),
            ..Default::default()
        };
        let p = d.validate(Uuid::nil(), today(), &rec()).unwrap().value;
        assert_eq!(p.sex, Sex::F);
        assert_eq!(
            p.birth_date,
            BirthDate::Exact(NaiveDate::from_ymd_opt(1977, 6, 24).unwrap())
        );
        assert_eq!(p.family_name, "Юсеинова");
        assert_eq!(p.latin_name(), "Rositsa Yuseinova");
    }

    #[test]
    fn a_person_without_documents_needs_only_name_sex_and_a_year() {
        let d = PersonDraft {
            given_name: "Асен".into(),
            family_name: "Асенов".into(),
            sex: Some("м".into()),
            birth_year: Some(1990),
            no_documents: true,
            ..Default::default()
        };
        let c = d.validate(Uuid::nil(), today(), &rec()).unwrap();
        assert_eq!(c.value.documents, Documents::NoDocuments);
        assert_eq!(c.value.birth_date, BirthDate::EstimatedYear(1990));
        assert_eq!(
            c.warnings.len(),
            1,
            "a gentle hint that there is no identifier"
        );
    }

    #[test]
    fn every_wrong_field_is_reported_at_once() {
        let d = PersonDraft {
            given_name: "".into(),
            family_name: "Иванов1".into(),
            sex: Some("F".into()),
            egn: Some("7706245930".into()),
            birth_date: Some("1977-06-25".into()),
            phone: Some("12".into()),
            ..Default::default()
        };
        let errs = d.validate(Uuid::nil(), today(), &rec()).unwrap_err();
        assert_eq!(
            errs.fields(),
            vec![
                Field::GivenName,
                Field::FamilyName,
                Field::Phone,
                Field::BirthDate
            ]
        );
        let bg = errs.messages(crate::Lang::Bg).join("\n");
        assert!(
            bg.contains("Дата на раждане: според ЕГН датата на раждане е 24.06.1977"),
            "{bg}"
        );
    }

    #[test]
    fn sex_must_agree_with_egn() {
        let d = PersonDraft {
            given_name: "Росица".into(),
            family_name: "Юсеинова".into(),
            sex: Some("M".into()),
            egn: Some("7706245930".into()),
            ..Default::default()
        };
        let errs = d.validate(Uuid::nil(), today(), &rec()).unwrap_err();
        assert_eq!(errs.fields(), vec![Field::Sex]);
    }

    #[test]
    fn dates_in_both_notations() {
        assert_eq!(
            parse_date("24.06.1977"),
            NaiveDate::from_ymd_opt(1977, 6, 24)
        );
        assert_eq!(
            parse_date("24.06.1977 г."),
            NaiveDate::from_ymd_opt(1977, 6, 24)
        );
        assert_eq!(
            parse_date("1977-06-24"),
            NaiveDate::from_ymd_opt(1977, 6, 24)
        );
        assert_eq!(parse_date("31.02.1977"), None);
    }
}
