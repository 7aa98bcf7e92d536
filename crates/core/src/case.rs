//! Case management for the hub's multidisciplinary team: one case per person (optionally in a
//! household), a lead worker and a team, the referrals that led to it, a plan of goals per
//! domain, tasks, case conferences with outside institutions, and what the person consented
//! to share between disciplines. Notes are documents of their own ([`CaseNote`]), each in its
//! discipline's access class, so that a device or a hub user receives only the notes its role
//! may read (a mediator's tablet never holds a psychology note).
//!
//! Goals, tasks and conferences are kept as maps keyed by their id, not as lists: two workers
//! editing two tasks apart both keep their edits, and the same task's same field edited apart
//! is a conflict like any other field.

use crate::access::Role;
use crate::error::Lang;
use crate::screening::AccessClass;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// An enum with a fixed set of spellings, as forms send them: every value, its word, and the
/// value of a word.
pub trait Spelled: Copy + 'static {
    fn all() -> &'static [Self];
    fn spelling(self) -> &'static str;
    fn from_spelling(s: &str) -> Option<Self>;
}

impl Spelled for Role {
    fn all() -> &'static [Self] {
        Role::ALL
    }
    fn spelling(self) -> &'static str {
        self.as_str()
    }
    fn from_spelling(s: &str) -> Option<Self> {
        Role::parse(s)
    }
}

macro_rules! spelled {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => ($bg:literal, $en:literal),)* }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            strum::IntoStaticStr, strum::EnumString, strum::VariantArray, ts_rs::TS,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            pub fn as_str(self) -> &'static str {
                self.into()
            }

            pub fn parse(s: &str) -> Option<$name> {
                s.trim().parse().ok()
            }

            pub fn label(self, lang: Lang) -> &'static str {
                match self { $($name::$variant => lang.pick($bg, $en),)* }
            }
        }

        impl Spelled for $name {
            fn all() -> &'static [Self] {
                $name::ALL
            }
            fn spelling(self) -> &'static str {
                self.as_str()
            }
            fn from_spelling(s: &str) -> Option<Self> {
                $name::parse(s)
            }
        }
    };
}

spelled! {
    /// Where a case stands.
    pub enum CaseStatus {
        Open => ("отворен", "open"),
        OnHold => ("спрян временно", "on hold"),
        Closed => ("закрит", "closed"),
    }
}

spelled! {
    /// Why a case was closed.
    pub enum ClosureReason {
        GoalsMet => ("целите са постигнати", "goals met"),
        ReferredOn => ("насочен нататък и приет", "referred on and accepted"),
        MovedAway => ("преместил се", "moved away"),
        Declined => ("отказал", "declined"),
        LostContact => ("изгубен контакт", "lost contact"),
        Died => ("починал", "died"),
        MergedDuplicate => ("обединен дубликат", "merged duplicate"),
    }
}

spelled! {
    /// The domains of the biopsychosocial plan.
    pub enum Domain {
        Health => ("здраве", "health"),
        SocialAssistance => ("социално подпомагане", "social assistance"),
        HousingDocuments => ("жилище и документи", "housing and documents"),
        Legal => ("правни въпроси", "legal"),
        Education => ("образование", "education"),
        Employment => ("заетост", "employment"),
        Psychological => ("психологическа подкрепа", "psychological"),
    }
}

spelled! {
    pub enum GoalStatus {
        Proposed => ("предложена", "proposed"),
        Active => ("активна", "active"),
        Achieved => ("постигната", "achieved"),
        Abandoned => ("изоставена", "abandoned"),
    }
}

spelled! {
    pub enum TaskStatus {
        Todo => ("за изпълнение", "to do"),
        InProgress => ("в процес", "in progress"),
        Done => ("изпълнена", "done"),
        Cancelled => ("отменена", "cancelled"),
    }
}

spelled! {
    pub enum Priority {
        Low => ("нисък", "low"),
        Normal => ("нормален", "normal"),
        High => ("висок", "high"),
    }
}

spelled! {
    /// Who wrote a note, by discipline: it decides the note's access class.
    pub enum NoteKind {
        /// The whole team's shared summary: general.
        Handover => ("обобщение за екипа", "handover summary"),
        Social => ("социална работа", "social work"),
        Education => ("образователен медиатор", "education mediation"),
        /// Health without HIV, TB or hepatitis content: the nurses' and doctors' clinical class.
        Health => ("здравна", "health"),
        HealthHiv => ("здравна — ХИВ", "health — HIV"),
        HealthTb => ("здравна — туберкулоза", "health — TB"),
        HealthHepatitis => ("здравна — хепатит", "health — hepatitis"),
        Psychology => ("психолог", "psychologist"),
        Legal => ("юрист", "lawyer"),
    }
}

impl NoteKind {
    /// The note's access class: a psychologist's is `psychology`, a lawyer's `legal`, a health
    /// note with HIV, TB or hepatitis content is in that class, other health notes are
    /// clinical; social, education and handover notes are general.
    pub fn access_class(self) -> AccessClass {
        match self {
            NoteKind::Handover | NoteKind::Social | NoteKind::Education => AccessClass::General,
            NoteKind::Health => AccessClass::Clinical,
            NoteKind::HealthHiv => AccessClass::Hiv,
            NoteKind::HealthTb => AccessClass::Tuberculosis,
            NoteKind::HealthHepatitis => AccessClass::Hepatitis,
            NoteKind::Psychology => AccessClass::Psychology,
            NoteKind::Legal => AccessClass::Legal,
        }
    }

    /// The roles whose own discipline this is (they read their discipline's notes without a
    /// consent to share; the handover is everyone's).
    pub fn authors(self) -> &'static [Role] {
        match self {
            NoteKind::Handover => Role::ALL,
            NoteKind::Social => &[Role::SocialWorker],
            NoteKind::Education => &[Role::EducationMediator],
            NoteKind::Health
            | NoteKind::HealthHiv
            | NoteKind::HealthTb
            | NoteKind::HealthHepatitis => &[Role::Nurse, Role::Doctor],
            NoteKind::Psychology => &[Role::Psychologist],
            NoteKind::Legal => &[Role::Lawyer],
        }
    }
}

/// A task is someone's: a named worker (their login) or anyone of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    User(String),
    Role(Role),
}

impl Assignee {
    /// Whether the task is `login`'s (by name, or by one of `roles`).
    pub fn is_for(&self, login: &str, roles: &[Role]) -> bool {
        match self {
            Assignee::User(u) => u == login,
            Assignee::Role(r) => roles.contains(r),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub domain: Domain,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<NaiveDate>,
    pub status: GoalStatus,
    /// Who is responsible (a worker's name).
    pub responsible: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub title: String,
    pub assignee: Assignee,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    pub priority: Priority,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outcome: String,
    /// The overdue referral or the follow-up item it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl Task {
    /// Still to be done (to do or in progress).
    pub fn is_open(&self) -> bool {
        matches!(self.status, TaskStatus::Todo | TaskStatus::InProgress)
    }

    /// Open and past its due date on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && self.due.is_some_and(|d| d < today)
    }
}

/// A case conference: who attended (the team and outside institutions) and what was decided;
/// decisions that need doing become tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conference {
    pub on: NaiveDate,
    pub attendees: Vec<String>,
    #[serde(default)]
    pub institutions: Vec<String>,
    pub decisions: String,
}

/// What the person agreed may be shared: notes of `kind` with `roles` (beyond the note's own
/// discipline). It never widens the access matrix: a role that may not read a class does not
/// receive such notes at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareConsent {
    pub kind: NoteKind,
    pub roles: Vec<Role>,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closure {
    pub reason: ClosureReason,
    pub at: DateTime<Utc>,
    pub by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One person's case (general class: every role of the team reads it; what is sensitive is in
/// the notes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: Uuid,
    pub person_id: Uuid,
    /// A family or household the case belongs to (free text shared by its members' cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    /// The lead worker's login.
    pub lead: String,
    /// Team members' logins.
    #[serde(default)]
    pub team: Vec<String>,
    /// The referrals that led to the case.
    #[serde(default)]
    pub referrals: Vec<Uuid>,
    pub status: CaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
    #[serde(default)]
    pub goals: BTreeMap<Uuid, Goal>,
    #[serde(default)]
    pub tasks: BTreeMap<Uuid, Task>,
    #[serde(default)]
    pub conferences: BTreeMap<Uuid, Conference>,
    #[serde(default)]
    pub consents: Vec<ShareConsent>,
}

impl Case {
    /// Whether `roles` see notes of `kind` on this case (given they may read its class): their
    /// own discipline's, the handover, or a discipline the person agreed to share with them.
    pub fn shares(&self, kind: NoteKind, roles: &[Role]) -> bool {
        roles.iter().any(|r| kind.authors().contains(r))
            || self
                .consents
                .iter()
                .any(|c| c.kind == kind && c.roles.iter().any(|r| roles.contains(r)))
    }
}

/// A note on a case, a document of its own in its discipline's class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseNote {
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: NoteKind,
    pub text: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    #[test]
    fn each_discipline_writes_in_its_class_and_reads_it_alone() {
        for kind in NoteKind::ALL {
            let class = kind.access_class();
            for role in kind.authors() {
                if *kind != NoteKind::Handover {
                    assert!(role.can_write(class), "{role:?} writes {kind:?}");
                }
            }
        }
        // The matrix keeps disciplines apart: no lawyer reads a psychology note, no mediator
        // or admin any sensitive one.
        assert!(!Role::Lawyer.can_read(NoteKind::Psychology.access_class()));
        assert!(!Role::Psychologist.can_read(NoteKind::Legal.access_class()));
        for role in [Role::EducationMediator, Role::HubAdmin, Role::SocialWorker] {
            for kind in [
                NoteKind::Psychology,
                NoteKind::Legal,
                NoteKind::HealthHiv,
                NoteKind::Health,
            ] {
                assert!(!role.can_read(kind.access_class()), "{role:?} {kind:?}");
            }
        }
    }

    #[test]
    fn consent_shares_a_discipline_with_named_roles_only() {
        let mut case = Case {
            id: Uuid::nil(),
            person_id: Uuid::nil(),
            household: None,
            opened_at: Utc::now(),
            opened_by: "x".into(),
            lead: "x".into(),
            team: vec![],
            referrals: vec![],
            status: CaseStatus::Open,
            closure: None,
            goals: BTreeMap::new(),
            tasks: BTreeMap::new(),
            conferences: BTreeMap::new(),
            consents: vec![],
        };
        assert!(case.shares(NoteKind::Social, &[Role::SocialWorker]));
        assert!(!case.shares(NoteKind::Social, &[Role::EducationMediator]));
        assert!(case.shares(NoteKind::Handover, &[Role::EducationMediator]));
        case.consents.push(ShareConsent {
            kind: NoteKind::Social,
            roles: vec![Role::EducationMediator],
            at: Utc::now(),
            by: "x".into(),
        });
        assert!(case.shares(NoteKind::Social, &[Role::EducationMediator]));
        assert!(!case.shares(NoteKind::Social, &[Role::Lawyer]));
    }

    #[test]
    fn a_task_is_overdue_only_while_open() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let mut task = Task {
            title: "x".into(),
            assignee: Assignee::Role(Role::SocialWorker),
            due: NaiveDate::from_ymd_opt(2026, 12, 1),
            priority: Priority::Normal,
            status: TaskStatus::Todo,
            outcome: String::new(),
            referral: None,
            created_at: Utc::now(),
            created_by: "x".into(),
        };
        assert!(task.overdue(today));
        task.status = TaskStatus::Done;
        assert!(!task.overdue(today));
        assert!(task.assignee.is_for("anyone", &[Role::SocialWorker]));
        assert!(!Assignee::User("ali".into()).is_for("gdimitrov", &[Role::SocialWorker]));
    }
}
