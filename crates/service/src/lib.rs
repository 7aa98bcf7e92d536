//! The operations behind Kabinet's screens — find or register a person, record a visit with
//! its screenings, confirm the suggested referrals, the day's work — over one [`Store`].
//!
//! Two transports carry the same [`Call`] JSON: the Tauri app's `api` command (the cabinet's
//! own encrypted store, offline) and the hub's `POST /api` (hub staff in a browser, the hub's
//! store). Keeping the operations here means the app shell and the hub stay thin and a screen
//! behaves the same in the van and at the hub. No I/O beyond the store; the caller brings the
//! clock and the user.

pub mod cases;
mod conflicts;
pub mod dhis2;
mod drafts;
mod error;
pub mod fhir;
pub mod merges;
pub mod referrals;
pub mod report;
mod views;
pub mod visit_corrections;

pub use conflicts::{settle_conflict, to_review};
pub use error::{ErrorBody, ErrorKind, FieldMessage, ServiceError};
pub use views::*;

use chrono::{DateTime, NaiveDate, Utc};
use kabinet_core::{
    Destination, Lang, PersonDraft, Recorded, Referral, ReferralReason, ReferralStatus,
    StatusChange, Urgency, ValidationError, Visit, VisitForm, rules,
};
use kabinet_store::{Origin, PersonHit, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Who is asking, in which language, and when (core and this crate have no clock of their
/// own).
#[derive(Debug, Clone)]
pub struct Context {
    pub lang: Lang,
    /// The specialist or hub staff member: recorded on visits and referrals.
    pub user: String,
    /// The user's sign-in name, unique where they sign in (a device's keyring, the hub's
    /// users): whose drafts are whose.
    pub login: String,
    pub now: DateTime<Utc>,
    /// The caller's roles: the logged-in user's on a device and hub staff's at the hub.
    /// `None` only for the terminal (`kabinet`), which opens a device's store with its key:
    /// that store holds only what the device's users may read.
    pub roles: Option<Vec<kabinet_core::Role>>,
}

impl Context {
    pub fn can_read(&self, class: kabinet_core::AccessClass) -> bool {
        self.roles
            .as_ref()
            .is_none_or(|r| kabinet_core::may_read(r, class))
    }

    pub fn can_write(&self, class: kabinet_core::AccessClass) -> bool {
        self.roles
            .as_ref()
            .is_none_or(|r| kabinet_core::may_write(r, class))
    }
}

/// One call from a screen: the language it wants messages in, and the request.
#[derive(Debug, Deserialize, ts_rs::TS)]
pub struct Call {
    #[serde(default)]
    pub lang: Lang,
    #[serde(flatten)]
    pub request: Request,
}

/// A referral the specialist confirmed (from a suggestion) or added.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct ReferralChoice {
    /// `screening:<kind>` (e.g. `screening:hiv`), or social | legal | psychological | education.
    pub reason: String,
    /// A destination slug, e.g. `hub-social-worker` or `lung-hospital`.
    pub destination: String,
    /// routine | priority | same_day | emergency
    pub urgency: String,
    /// The id of the rule whose suggestion this confirms (`SuggestionView::rule`): the slip
    /// prints that rule's wording. Refused if the rule does not fire on the visit.
    #[serde(default)]
    #[ts(optional)]
    pub finding: Option<String>,
}

#[derive(Debug, Deserialize, ts_rs::TS, strum::IntoStaticStr, strum::VariantNames)]
#[serde(tag = "op", content = "args", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Request {
    /// The programme report of a period (both days included; yyyy-mm-dd or dd.mm.yyyy),
    /// optionally of one cabinet: the indicators the caller's roles may see, small numbers
    /// suppressed below the whole programme. On the audit log.
    Report {
        from: String,
        to: String,
        #[serde(default)]
        #[ts(optional)]
        cabinet: Option<String>,
    },
    /// One search box: Cyrillic or Latin name, ЕГН, ЛНЧ or phone.
    Search {
        query: String,
    },
    /// Validate a person form as it is typed; fills birth date and sex from an ЕГН and lists
    /// likely duplicates.
    CheckPerson {
        draft: PersonDraft,
    },
    /// Register a person. Refused while likely duplicates exist unless the user confirmed
    /// that this is someone else; a person with the same ЕГН is always refused.
    RegisterPerson {
        draft: PersonDraft,
        #[serde(default)]
        not_a_duplicate: bool,
    },
    /// A person with every visit, screening and referral this store holds.
    PersonRecord {
        id: Uuid,
    },
    /// A person's record as a FHIR R4 transaction Bundle (the classes the caller reads), for
    /// the person's own copy or a receiving clinic. On the audit log.
    FhirPerson {
        id: Uuid,
    },
    /// Settles a field two devices changed apart on one of its values (its index in the
    /// record's `conflicts`): a change of its own that syncs.
    SettleConflict {
        person_id: Uuid,
        /// The document the field is in (`FieldConflict::doc_id`) when it is not the
        /// person's own: a visit's, or a result's.
        #[serde(default)]
        #[ts(optional)]
        doc_id: Option<Uuid>,
        field: String,
        choice: usize,
    },
    /// Persons whose ЕГН, ЛНЧ, birth date or sex, or screening results (of the classes the
    /// caller reads), were changed on two devices apart.
    ToReview {},
    /// Probable duplicate persons, best first (at most `limit`, 200 by default), with the
    /// evidence for each pair.
    PossibleDuplicates {
        #[serde(default)]
        #[ts(optional)]
        limit: Option<usize>,
    },
    /// Merges `duplicate` into `survivor`: both records stay, every view shows the survivor
    /// with both histories. Refused for two different ЕГН or ЛНЧ.
    MergePersons {
        survivor: Uuid,
        duplicate: Uuid,
        reason: String,
    },
    /// Undoes a merge: the duplicate is a person of its own again.
    UnmergePerson {
        duplicate: Uuid,
        reason: String,
    },
    /// Two records the finder paired are two people: the pair is not suggested again.
    NotSamePerson {
        a: Uuid,
        b: Uuid,
    },
    /// Opens a case for a person (or answers their open one), optionally from a referral.
    OpenCase {
        person_id: Uuid,
        #[serde(default)]
        #[ts(optional)]
        referral_id: Option<Uuid>,
        #[serde(default)]
        #[ts(optional)]
        lead: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        household: Option<String>,
    },
    /// The case list, optionally of one status (open | on_hold | closed) and one lead.
    Cases {
        #[serde(default)]
        #[ts(optional)]
        status: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        lead: Option<String>,
    },
    /// A case's page: plan, tasks, the notes the caller may see, referrals, visits.
    Case {
        id: Uuid,
    },
    AddGoal {
        case_id: Uuid,
        goal: cases::GoalInput,
    },
    /// proposed | active | achieved | abandoned
    SetGoal {
        case_id: Uuid,
        goal_id: Uuid,
        status: String,
    },
    AddTask {
        case_id: Uuid,
        task: cases::TaskInput,
    },
    /// todo | in_progress | done | cancelled, with an outcome note.
    UpdateTask {
        case_id: Uuid,
        task_id: Uuid,
        status: String,
        #[serde(default)]
        #[ts(optional)]
        outcome: Option<String>,
    },
    /// A note in its discipline's class (`kind`: handover | social | education | health |
    /// health_hiv | health_tb | health_hepatitis | psychology | legal).
    AddCaseNote {
        case_id: Uuid,
        kind: String,
        text: String,
    },
    /// The person agreed that notes of `kind` may be shown to `roles` too.
    ShareConsent {
        case_id: Uuid,
        kind: String,
        roles: Vec<String>,
    },
    /// open | on_hold | closed (with a `reason`: goals_met | referred_on | moved_away |
    /// declined | lost_contact | died | merged_duplicate).
    SetCaseStatus {
        case_id: Uuid,
        status: String,
        #[serde(default)]
        #[ts(optional)]
        reason: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        note: Option<String>,
    },
    /// Open tasks for the caller (by name or role), overdue first.
    MyTasks {},
    /// Every open task of the team, overdue first.
    TeamTasks {},
    /// The choices of the case forms (domains, priorities, closure reasons, roles), labelled.
    CaseOptions {},
    /// A follow-up task from an overdue referral, on the person's case (opened if needed).
    TaskFromReferral {
        referral_id: Uuid,
    },
    /// A referral from the case to an institution or a hub specialist (code, slip, loop).
    ReferFromCase {
        case_id: Uuid,
        referral: ReferralChoice,
    },
    /// Who leads the case, its team, its household (a field left out stays).
    EditCase {
        case_id: Uuid,
        #[serde(default)]
        #[ts(optional)]
        lead: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        team: Option<Vec<String>>,
        #[serde(default)]
        #[ts(optional)]
        household: Option<String>,
    },
    /// A case conference: date, attendees (outside institutions too), decisions and the
    /// tasks they make.
    AddConference {
        case_id: Uuid,
        conference: cases::ConferenceInput,
    },
    /// The registration form filled with a person as recorded: what an edit starts from.
    PersonForm {
        id: Uuid,
    },
    /// Corrects a person's record with the form as edited: only the changed fields are
    /// written (each a field-level change that merges with other devices' edits), a
    /// correction of ЕГН, ЛНЧ, birth date or sex needs a reason, another person's ЕГН is
    /// refused, and new likely duplicates are shown until confirmed.
    EditPerson {
        id: Uuid,
        draft: PersonDraft,
        #[serde(default)]
        reason: String,
        #[serde(default)]
        not_a_duplicate: bool,
    },
    /// Validate a visit form as it is typed; the suggested referrals for what is entered.
    CheckVisit {
        #[serde(default)]
        form: VisitForm,
        /// The person screened: their age decides whether adult ranges apply, and whether
        /// pregnancy may be recorded. Without it, the rules take an adult.
        #[serde(default)]
        #[ts(optional)]
        person_id: Option<Uuid>,
    },
    /// Save a visit and the confirmed referrals in one transaction.
    SaveVisit {
        person_id: Uuid,
        /// When the visit took place, if not now (a visit entered later from paper); never
        /// in the future.
        #[serde(default)]
        #[ts(optional)]
        at: Option<DateTime<Utc>>,
        #[serde(default)]
        form: VisitForm,
        /// Read by every role that sees the visit.
        #[serde(default)]
        notes: String,
        /// Read by nurses and doctors only (`AccessClass::Clinical`).
        #[serde(default)]
        #[ts(optional)]
        clinical_note: Option<String>,
        #[serde(default)]
        #[ts(optional)]
        place: Option<String>,
        #[serde(default)]
        referrals: Vec<ReferralChoice>,
    },
    /// A saved visit as its correction form starts (what the user may read).
    VisitForCorrection {
        visit_id: Uuid,
    },
    /// Corrects a saved visit: changed or added screenings, with a reason; the referrals
    /// confirmed on the corrected values are issued, the open ones named are cancelled.
    CorrectVisit {
        visit_id: Uuid,
        #[serde(default)]
        form: VisitForm,
        reason: String,
        #[serde(default)]
        referrals: Vec<ReferralChoice>,
        #[serde(default)]
        cancel: Vec<Uuid>,
    },
    /// Marks a visit as entered in error: it stays in the history, leaves the counts, and its
    /// open referrals are cancelled with the reason.
    VoidVisit {
        visit_id: Uuid,
        reason: String,
    },
    /// The visits of a day (Sofia time) and the open referrals, overdue first.
    Today {
        #[serde(default)]
        #[ts(optional)]
        day: Option<NaiveDate>,
    },
    /// Every referral destination with its label.
    Destinations {},
    /// What the visit form shows besides its fields: each screening's name, a rapid test's
    /// readings, every urgency (least urgent first) and every reason that is not a
    /// screening, with their labels.
    VisitOptions {},
    /// A referral found by its printed code (typed, or read from the slip's QR).
    ReferralByCode {
        code: String,
    },
    Referral {
        id: Uuid,
    },
    /// Attended / completed / declined / lost to follow-up, with a note on the outcome.
    UpdateReferral {
        #[serde(flatten)]
        update: referrals::StatusUpdate,
    },
    /// Open referrals past their follow-up time: the worklist.
    FollowUp {},
    /// The ids of the referrals issued on a day: "print today's slips".
    IssuedOn {
        #[serde(default)]
        #[ts(optional)]
        day: Option<NaiveDate>,
    },
    /// Drafts of forms, kept in the encrypted store so an unfinished visit survives a
    /// restart without ever touching unencrypted storage.
    SaveDraft {
        key: String,
        value: Value,
    },
    LoadDraft {
        key: String,
    },
    DeleteDraft {
        key: String,
    },
    /// The person withdraws consent to data processing: the record is kept minimal and marked.
    WithdrawConsent {
        person_id: Uuid,
    },
}

const SEARCH_LIMIT: usize = 30;

impl Request {
    /// The operation's name, as the call names it (`person_record`, …).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// Whether the request changes records others should receive (the app then syncs right
    /// away). Drafts stay on the device.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Request::RegisterPerson { .. }
                | Request::EditPerson { .. }
                | Request::SettleConflict { .. }
                | Request::MergePersons { .. }
                | Request::UnmergePerson { .. }
                | Request::NotSamePerson { .. }
                | Request::OpenCase { .. }
                | Request::AddGoal { .. }
                | Request::SetGoal { .. }
                | Request::AddTask { .. }
                | Request::UpdateTask { .. }
                | Request::AddCaseNote { .. }
                | Request::ShareConsent { .. }
                | Request::SetCaseStatus { .. }
                | Request::TaskFromReferral { .. }
                | Request::ReferFromCase { .. }
                | Request::AddConference { .. }
                | Request::EditCase { .. }
                | Request::CorrectVisit { .. }
                | Request::VoidVisit { .. }
                | Request::SaveVisit { .. }
                | Request::UpdateReferral { .. }
                | Request::WithdrawConsent { .. }
        )
    }
}

/// Declares [`Response`] with one variant per operation, named as its request is, and the
/// table that ties each operation's name to its answer's TypeScript type: the compiler
/// checks that `handle` answers each request with its own variant's type, and the UI's
/// generated `Responses` type comes from the same line.
macro_rules! responses {
    ($($(#[$doc:meta])* $variant:ident($op:literal, $answer:ty),)*) => {
        /// The answer to a request. It is serialized as the bare answer (the same JSON over
        /// Tauri and HTTP).
        #[derive(Debug, Serialize)]
        #[serde(untagged)]
        pub enum Response {
            $($(#[$doc])* $variant($answer),)*
        }

        impl Response {
            /// Each operation's name with its answer's TypeScript type, for the UI's
            /// generated `Responses`.
            pub fn typescript_answers(cfg: &ts_rs::Config) -> Vec<(&'static str, String)> {
                vec![$(($op, <$answer as ts_rs::TS>::name(cfg)),)*]
            }

            /// The answers' types, for the generator to declare.
            pub fn visit_answer_types(visitor: &mut impl ts_rs::TypeVisitor) {
                $(visitor.visit::<$answer>();)*
            }
        }
    };
}

responses! {
    Report("report", report::ReportView),
    Search("search", Vec<PersonHit>),
    CheckPerson("check_person", PersonCheck),
    RegisterPerson("register_person", Registered),
    PersonRecord("person_record", PersonRecord),
    FhirPerson("fhir_person", Value),
    PersonForm("person_form", PersonDraft),
    SettleConflict("settle_conflict", PersonRecord),
    ToReview("to_review", Vec<ReviewItem>),
    PossibleDuplicates("possible_duplicates", merges::DuplicateList),
    MergePersons("merge_persons", PersonRecord),
    UnmergePerson("unmerge_person", PersonRecord),
    /// Remembered: nothing to show (`null`).
    NotSamePerson("not_same_person", ()),
    OpenCase("open_case", cases::CaseView),
    Cases("cases", Vec<kabinet_store::CaseSummary>),
    Case("case", cases::CaseView),
    AddGoal("add_goal", cases::CaseView),
    SetGoal("set_goal", cases::CaseView),
    AddTask("add_task", cases::CaseView),
    UpdateTask("update_task", cases::CaseView),
    AddCaseNote("add_case_note", cases::CaseView),
    ShareConsent("share_consent", cases::CaseView),
    SetCaseStatus("set_case_status", cases::CaseView),
    MyTasks("my_tasks", Vec<cases::TaskView>),
    TeamTasks("team_tasks", Vec<cases::TaskView>),
    CaseOptions("case_options", cases::CaseOptions),
    TaskFromReferral("task_from_referral", cases::CaseView),
    ReferFromCase("refer_from_case", cases::CaseView),
    AddConference("add_conference", cases::CaseView),
    EditCase("edit_case", cases::CaseView),
    EditPerson("edit_person", EditedPerson),
    CheckVisit("check_visit", VisitCheck),
    SaveVisit("save_visit", SavedVisit),
    VisitForCorrection("visit_for_correction", Box<visit_corrections::VisitEdit>),
    CorrectVisit("correct_visit", visit_corrections::CorrectedVisit),
    VoidVisit("void_visit", PersonRecord),
    Today("today", Today),
    Destinations("destinations", Vec<DestinationView>),
    VisitOptions("visit_options", VisitOptions),
    ReferralByCode("referral_by_code", referrals::ReferralDetail),
    Referral("referral", referrals::ReferralDetail),
    UpdateReferral("update_referral", referrals::ReferralDetail),
    FollowUp("follow_up", Vec<ReferralView>),
    IssuedOn("issued_on", Vec<Uuid>),
    /// Saved: nothing to show (`null`).
    SaveDraft("save_draft", ()),
    /// A draft as it was saved, or nothing.
    LoadDraft("load_draft", Option<Value>),
    /// Deleted: nothing to show (`null`).
    DeleteDraft("delete_draft", ()),
    WithdrawConsent("withdraw_consent", PersonRecord),
}

/// Runs one request as `ctx`'s user; the answer is what the screen renders.
pub fn handle(
    store: &mut Store,
    ctx: &Context,
    request: Request,
) -> Result<Response, ServiceError> {
    // Every local write of this call is audited as this user's (in the write's transaction).
    store.set_audit_user(Some(ctx.user.clone()));
    // A role that reads no record (the programme manager) reads reports and nothing else.
    if !matches!(request, Request::Report { .. })
        && !ctx.can_read(kabinet_core::AccessClass::General)
    {
        return Err(ServiceError::Forbidden);
    }
    let response = match request {
        Request::Report { from, to, cabinet } => {
            // A device reports on its own cabinet's name; the hub answers with its own list.
            let own: Vec<String> = store
                .meta(kabinet_store::meta::CABINET)?
                .into_iter()
                .collect();
            Response::Report(report::report(
                store,
                ctx,
                &from,
                &to,
                cabinet.as_deref(),
                &own,
                report::HubCounts::default(),
                "json",
            )?)
        }
        Request::Search { query } => Response::Search(search(store, &query)?),
        Request::CheckPerson { draft } => Response::CheckPerson(check_person(store, ctx, &draft)?),
        Request::RegisterPerson {
            draft,
            not_a_duplicate,
        } => Response::RegisterPerson(register_person(store, ctx, &draft, not_a_duplicate)?),
        Request::FhirPerson { id } => Response::FhirPerson(fhir::person_bundle(store, ctx, id)?),
        Request::PersonRecord { id } => {
            let record = person_record(store, ctx, id)?;
            audit_view(store, &id.to_string(), "person", &record.sensitive)?;
            Response::PersonRecord(record)
        }
        Request::VisitForCorrection { visit_id } => Response::VisitForCorrection(Box::new(
            visit_corrections::visit_for_correction(store, ctx, visit_id)?,
        )),
        Request::CorrectVisit {
            visit_id,
            form,
            reason,
            referrals,
            cancel,
        } => Response::CorrectVisit(visit_corrections::correct_visit(
            store, ctx, visit_id, &form, &reason, &referrals, &cancel,
        )?),
        Request::VoidVisit { visit_id, reason } => Response::VoidVisit(
            visit_corrections::void_visit(store, ctx, visit_id, &reason)?,
        ),
        Request::SettleConflict {
            person_id,
            doc_id,
            field,
            choice,
        } => Response::SettleConflict(settle_conflict(
            store, ctx, person_id, doc_id, &field, choice,
        )?),
        Request::ToReview {} => Response::ToReview(to_review(store, ctx)?),
        Request::PossibleDuplicates { limit } => Response::PossibleDuplicates(
            merges::possible_duplicates(store, ctx, limit.unwrap_or(merges::DEFAULT_LIMIT))?,
        ),
        Request::MergePersons {
            survivor,
            duplicate,
            reason,
        } => Response::MergePersons(merges::merge_persons(
            store, ctx, survivor, duplicate, &reason,
        )?),
        Request::UnmergePerson { duplicate, reason } => {
            Response::UnmergePerson(merges::unmerge_person(store, ctx, duplicate, &reason)?)
        }
        Request::NotSamePerson { a, b } => {
            Response::NotSamePerson(merges::not_same_person(store, ctx, a, b)?)
        }
        Request::OpenCase {
            person_id,
            referral_id,
            lead,
            household,
        } => Response::OpenCase(cases::open_case(
            store,
            ctx,
            person_id,
            referral_id,
            lead.as_deref(),
            household.as_deref(),
        )?),
        Request::Cases { status, lead } => Response::Cases(cases::cases(
            store,
            ctx,
            status.as_deref(),
            lead.as_deref(),
        )?),
        Request::Case { id } => Response::Case(cases::open_page(store, ctx, id)?),
        Request::AddGoal { case_id, goal } => {
            Response::AddGoal(cases::add_goal(store, ctx, case_id, &goal)?)
        }
        Request::SetGoal {
            case_id,
            goal_id,
            status,
        } => Response::SetGoal(cases::set_goal(store, ctx, case_id, goal_id, &status)?),
        Request::AddTask { case_id, task } => {
            Response::AddTask(cases::add_task(store, ctx, case_id, &task)?)
        }
        Request::UpdateTask {
            case_id,
            task_id,
            status,
            outcome,
        } => Response::UpdateTask(cases::update_task(
            store,
            ctx,
            case_id,
            task_id,
            &status,
            outcome.as_deref(),
        )?),
        Request::AddCaseNote {
            case_id,
            kind,
            text,
        } => Response::AddCaseNote(cases::add_note(store, ctx, case_id, &kind, &text)?),
        Request::ShareConsent {
            case_id,
            kind,
            roles,
        } => Response::ShareConsent(cases::share_consent(store, ctx, case_id, &kind, &roles)?),
        Request::SetCaseStatus {
            case_id,
            status,
            reason,
            note,
        } => Response::SetCaseStatus(cases::set_case_status(
            store,
            ctx,
            case_id,
            &status,
            reason.as_deref(),
            note.as_deref(),
        )?),
        Request::MyTasks {} => Response::MyTasks(cases::tasks(store, ctx, true)?),
        Request::TeamTasks {} => Response::TeamTasks(cases::tasks(store, ctx, false)?),
        Request::CaseOptions {} => Response::CaseOptions(cases::case_options(ctx.lang)),
        Request::TaskFromReferral { referral_id } => {
            Response::TaskFromReferral(cases::task_from_referral(store, ctx, referral_id)?)
        }
        Request::ReferFromCase { case_id, referral } => {
            Response::ReferFromCase(cases::refer_from_case(store, ctx, case_id, &referral)?)
        }
        Request::AddConference {
            case_id,
            conference,
        } => Response::AddConference(cases::add_conference(store, ctx, case_id, &conference)?),
        Request::EditCase {
            case_id,
            lead,
            team,
            household,
        } => Response::EditCase(cases::edit_case(
            store,
            ctx,
            case_id,
            lead.as_deref(),
            team.as_deref(),
            household.as_deref(),
        )?),
        Request::PersonForm { id } => Response::PersonForm(PersonDraft::of(&store.person(id)?)),
        Request::EditPerson {
            id,
            draft,
            reason,
            not_a_duplicate,
        } => Response::EditPerson(edit_person(
            store,
            ctx,
            id,
            &draft,
            &reason,
            not_a_duplicate,
        )?),
        Request::CheckVisit { form, person_id } => {
            Response::CheckVisit(check_visit(store, ctx, &form, person_id)?)
        }
        Request::SaveVisit {
            person_id,
            at,
            form,
            notes,
            clinical_note,
            place,
            referrals,
        } => Response::SaveVisit(save_visit(
            store,
            ctx,
            &VisitInput {
                person_id,
                at,
                form: &form,
                notes,
                clinical_note: clinical_note.unwrap_or_default(),
                place,
                choices: &referrals,
            },
        )?),
        Request::Today { day } => Response::Today(today(store, ctx, day)?),
        Request::Destinations {} => Response::Destinations(destinations(ctx.lang)),
        Request::VisitOptions {} => Response::VisitOptions(VisitOptions::for_user(
            ctx,
            store.directory()?.anonymous_hiv_slips,
        )),
        Request::ReferralByCode { code } => {
            let detail = referrals::by_code(store, ctx, &code)?;
            audit_view(
                store,
                &detail.view.id.to_string(),
                "referral",
                &[detail.view.access_class],
            )?;
            Response::ReferralByCode(detail)
        }
        Request::Referral { id } => {
            let detail = referrals::detail(store, ctx, id)?;
            audit_view(
                store,
                &id.to_string(),
                "referral",
                &[detail.view.access_class],
            )?;
            Response::Referral(detail)
        }
        Request::UpdateReferral { update } => {
            Response::UpdateReferral(referrals::update(store, ctx, &update)?)
        }
        Request::FollowUp {} => Response::FollowUp(referrals::follow_up(store, ctx)?),
        Request::IssuedOn { day } => Response::IssuedOn(referrals::issued_on(
            store,
            ctx,
            day.unwrap_or_else(|| sofia_today(ctx.now)),
        )?),
        Request::WithdrawConsent { person_id } => {
            Response::WithdrawConsent(withdraw_consent(store, ctx, person_id)?)
        }
        Request::SaveDraft { key, value } => {
            Response::SaveDraft(drafts::save(store, ctx, &key, value)?)
        }
        Request::LoadDraft { key } => Response::LoadDraft(drafts::load(store, ctx, &key)?),
        Request::DeleteDraft { key } => Response::DeleteDraft(drafts::delete(store, ctx, &key)?),
    };
    // Every answer that shows sensitive data is a view on the audit log, whichever operation
    // gave it (a case page comes back from each change to the case, a record from a merge).
    match &response {
        Response::OpenCase(v)
        | Response::AddGoal(v)
        | Response::SetGoal(v)
        | Response::AddTask(v)
        | Response::UpdateTask(v)
        | Response::AddCaseNote(v)
        | Response::ShareConsent(v)
        | Response::SetCaseStatus(v)
        | Response::TaskFromReferral(v)
        | Response::ReferFromCase(v)
        | Response::AddConference(v)
        | Response::EditCase(v) => audit_view(store, &v.id.to_string(), "case", &v.sensitive)?,
        Response::MergePersons(r)
        | Response::UnmergePerson(r)
        | Response::SettleConflict(r)
        | Response::VoidVisit(r)
        | Response::WithdrawConsent(r) => {
            audit_view(store, &r.person.id.to_string(), "person", &r.sensitive)?
        }
        _ => {}
    }
    Ok(response)
}

/// Records a view of a record when it showed data of a sensitive class (results, psychology
/// or legal notes); general data is not audited per view.
fn audit_view(
    store: &mut Store,
    record: &str,
    kind: &str,
    classes: &[kabinet_core::AccessClass],
) -> Result<(), ServiceError> {
    let mut sensitive: Vec<&str> = classes
        .iter()
        .filter(|c| **c != kabinet_core::AccessClass::General)
        .map(|c| c.as_str())
        .collect();
    sensitive.sort_unstable();
    sensitive.dedup();
    if !sensitive.is_empty() {
        store.audit_event(
            kabinet_core::AuditAction::View,
            record,
            &format!("{kind}/{}", sensitive.join(",")),
        )?;
    }
    Ok(())
}

pub fn search(store: &Store, query: &str) -> Result<Vec<PersonHit>, ServiceError> {
    Ok(store.search_persons(query, SEARCH_LIMIT)?)
}

fn recorded(ctx: &Context) -> Recorded {
    Recorded {
        by: ctx.user.clone(),
        at: ctx.now,
    }
}

fn sofia_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Sofia).date_naive()
}

/// People who may be the one being registered: the same ЕГН, ЛНЧ or phone, or a similar name
/// born within two years.
fn likely_duplicates(store: &Store, draft: &PersonDraft) -> Result<Vec<PersonHit>, ServiceError> {
    let mut out: Vec<PersonHit> = Vec::new();
    let add = |hits: Vec<PersonHit>, out: &mut Vec<PersonHit>| {
        for h in hits {
            if !out.iter().any(|o| o.id == h.id) {
                out.push(h);
            }
        }
    };
    for id in [&draft.egn, &draft.lnch, &draft.phone]
        .into_iter()
        .flatten()
    {
        let id = id.trim();
        if id.len() >= 6 {
            let hits = store.search_persons(id, 5)?;
            let digits: String = id.chars().filter(char::is_ascii_digit).collect();
            let exact = hits
                .into_iter()
                .filter(|h| {
                    [&h.egn, &h.lnch, &h.phone]
                        .into_iter()
                        .flatten()
                        .any(|v| v.ends_with(digits.trim_start_matches('0')))
                })
                .collect();
            add(exact, &mut out);
        }
    }
    let name = format!("{} {}", draft.given_name.trim(), draft.family_name.trim());
    if !draft.given_name.trim().is_empty() && !draft.family_name.trim().is_empty() {
        let year = draft
            .birth_date
            .as_deref()
            .and_then(kabinet_core::person::parse_date)
            .map(|d| chrono::Datelike::year(&d))
            .or(draft.birth_year)
            .or_else(|| {
                draft
                    .egn
                    .as_deref()
                    .and_then(|e| kabinet_core::Egn::parse(e).ok())
                    .map(|e| chrono::Datelike::year(&e.birth_date()))
            });
        let hits = store
            .search_persons(&name, 20)?
            .into_iter()
            .filter(|h| year.is_none_or(|y| (h.birth_year - y).abs() <= 2))
            .collect();
        add(hits, &mut out);
    }
    out.truncate(10);
    Ok(out)
}

pub fn check_person(
    store: &Store,
    ctx: &Context,
    draft: &PersonDraft,
) -> Result<PersonCheck, ServiceError> {
    let today = sofia_today(ctx.now);
    let (issues, warnings, person) = match draft.validate(Uuid::nil(), today, &recorded(ctx)) {
        Ok(checked) => (
            Vec::new(),
            checked
                .warnings
                .iter()
                .map(|w| FieldMessage::warning(w, ctx.lang))
                .collect(),
            Some(checked.value),
        ),
        Err(errors) => (FieldMessage::all(&errors.0, ctx.lang), Vec::new(), None),
    };
    // Fill what an ЕГН tells even while other fields are still wrong.
    let from_egn = draft
        .egn
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| kabinet_core::Egn::parse(e).ok());
    Ok(PersonCheck {
        issues,
        warnings,
        birth_date: person.as_ref().map(|p| p.birth_date.display()).or_else(|| {
            from_egn
                .as_ref()
                .map(|e| e.birth_date().format("%d.%m.%Y").to_string())
        }),
        sex: person
            .as_ref()
            .map(|p| p.sex.as_str().to_string())
            .or_else(|| from_egn.as_ref().map(|e| e.sex().as_str().to_string())),
        latin_name: person.as_ref().map(|p| p.latin_name()),
        duplicates: likely_duplicates(store, draft)?,
    })
}

pub fn register_person(
    store: &mut Store,
    ctx: &Context,
    draft: &PersonDraft,
    not_a_duplicate: bool,
) -> Result<Registered, ServiceError> {
    let today = sofia_today(ctx.now);
    let checked = draft
        .validate(Uuid::now_v7(), today, &recorded(ctx))
        .map_err(ServiceError::Invalid)?;
    let person = checked.value;
    if let Some(egn) = &person.egn {
        egn_free(store, egn, None)?;
    }
    if !not_a_duplicate {
        let duplicates = likely_duplicates(store, draft)?;
        if !duplicates.is_empty() {
            return Err(ServiceError::PossibleDuplicates(duplicates));
        }
    }
    if !ctx.can_write(kabinet_core::AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    store.write(Origin::Local, |w| w.put_person(&person))?;
    Ok(Registered {
        id: person.id,
        full_name: person.full_name(),
        latin_name: person.latin_name(),
    })
}

/// Corrects a person's record (see [`Request::EditPerson`]).
pub fn edit_person(
    store: &mut Store,
    ctx: &Context,
    id: Uuid,
    draft: &PersonDraft,
    reason: &str,
    not_a_duplicate: bool,
) -> Result<EditedPerson, ServiceError> {
    if !ctx.can_write(kabinet_core::AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let old = store.person(id)?;
    let mut new = old
        .edited(draft, sofia_today(ctx.now), &recorded(ctx))
        .map_err(ServiceError::Invalid)?
        .value;
    let changed = old.changed_fields(&new);
    let answer = EditedPerson {
        id,
        full_name: new.full_name(),
        changed: changed.iter().map(|f| f.key().to_string()).collect(),
    };
    if changed.is_empty() {
        return Ok(answer);
    }
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let identity = changed
        .iter()
        .any(|f| kabinet_core::person::IDENTITY_FIELDS.contains(f));
    let invalid = |problem| {
        ServiceError::Invalid(kabinet_core::ValidationErrors(vec![ValidationError::new(
            kabinet_core::Field::EditReason,
            problem,
        )]))
    };
    if identity && reason.is_empty() {
        return Err(invalid(kabinet_core::Problem::ReasonForIdentityChange));
    }
    if reason.chars().count() > EDIT_REASON_MAX {
        return Err(invalid(kabinet_core::Problem::TooLong {
            max: EDIT_REASON_MAX,
        }));
    }
    // Another person's ЕГН is refused on edit as on registration.
    if let Some(egn) = new.egn.as_ref().filter(|e| Some(*e) != old.egn.as_ref()) {
        egn_free(store, egn, Some(id))?;
    }
    // Only the likely duplicates this edit brings: the ones the record already had were
    // seen (and let be) before.
    if !not_a_duplicate {
        let before: std::collections::HashSet<Uuid> =
            likely_duplicates(store, &PersonDraft::of(&old))?
                .into_iter()
                .map(|h| h.id)
                .collect();
        let brought: Vec<PersonHit> = likely_duplicates(store, draft)?
            .into_iter()
            .filter(|h| h.id != id && !before.contains(&h.id))
            .collect();
        if !brought.is_empty() {
            return Err(ServiceError::PossibleDuplicates(brought));
        }
    }
    new.corrections.push(kabinet_core::person::Correction {
        at: ctx.now,
        by: ctx.user.clone(),
        fields: changed.iter().map(|f| f.key().to_string()).collect(),
        reason,
    });
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| w.put_person(&new))?;
    Ok(answer)
}

/// Refuses an ЕГН another person (not `except`) already has, naming that person.
fn egn_free(
    store: &Store,
    egn: &kabinet_core::Egn,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let holder = store
        .search_persons(egn.as_str(), 5)?
        .into_iter()
        .find(|h| h.egn.as_deref() == Some(egn.as_str()) && Some(h.id) != except);
    match holder {
        Some(same) => Err(ServiceError::EgnTaken(Box::new(same))),
        None => Ok(()),
    }
}

/// The longest reason for a correction.
const EDIT_REASON_MAX: usize = 300;

/// A person's record with every visit and referral the caller may read. A merged record's
/// id opens its survivor's record, which holds both histories.
pub fn person_record(store: &Store, ctx: &Context, id: Uuid) -> Result<PersonRecord, ServiceError> {
    let lang = ctx.lang;
    let id = store.survivor_of(id)?.unwrap_or(id);
    let person = store.person(id)?;
    let days = store.directory()?.follow_up_days;
    let mut visits = Vec::new();
    let mut loaded = Vec::new();
    let mut sensitive = Vec::new();
    for summary in store.visits_of_person(id)? {
        let mut visit = store.visit(summary.id)?;
        for kind in visit.screenings.kinds() {
            if !ctx.can_read(kind.access_class()) {
                visit.screenings.remove(kind);
            } else {
                sensitive.push(kind.access_class());
            }
        }
        if !visit.clinical_note.is_empty() {
            if ctx.can_read(kabinet_core::AccessClass::Clinical) {
                sensitive.push(kabinet_core::AccessClass::Clinical);
            } else {
                visit.clinical_note.clear();
            }
        }
        let who = kabinet_core::Subject {
            age_years: Some(person.birth_date.age_on(sofia_today(visit.at))),
            pregnant: visit.pregnant,
        };
        visits.push(VisitView::of(&visit, &who, lang));
        loaded.push(visit);
    }
    visits.sort_by_key(|v| std::cmp::Reverse(v.at));
    let referrals: Vec<ReferralView> = store
        .referrals_of_person(id)?
        .into_iter()
        .filter(|r| ctx.can_read(r.access_class()))
        .map(|r| ReferralView::with_days(r, lang, ctx.now, &days))
        .collect();
    sensitive.extend(referrals.iter().map(|r| r.access_class));
    sensitive.retain(|c| *c != kabinet_core::AccessClass::General);
    Ok(PersonRecord {
        conflicts: {
            let mut c = conflicts::field_conflicts(store, &person, lang)?;
            c.extend(conflicts::visit_conflicts(store, ctx, &loaded)?);
            c
        },
        merged: merges::merged_views(store, id)?,
        merged_into: person.merged_into.as_ref().map(|m| m.survivor),
        person: PersonView::of(&person, lang),
        visits,
        referrals,
        sensitive,
    })
}

/// Records a withdrawal of data-processing consent (see `Person::withdraw_consent`): contact
/// data goes, the record is marked, the withdrawal is on the audit log; visits and results
/// stay as medical documentation.
pub fn withdraw_consent(
    store: &mut Store,
    ctx: &Context,
    id: Uuid,
) -> Result<PersonRecord, ServiceError> {
    if !ctx.can_write(kabinet_core::AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let mut person = store.person(id)?;
    if !person.consent_withdrawn() {
        person.withdraw_consent(&recorded(ctx));
        store.write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.audit(
                kabinet_core::AuditAction::Withdraw,
                &id.to_string(),
                "person/consent",
            )
        })?;
    }
    person_record(store, ctx, id)
}

/// Who is screened, for the rules: `person` on `day`, pregnant as the form says.
fn subject(
    store: &Store,
    person_id: Option<Uuid>,
    day: NaiveDate,
    pregnant: bool,
) -> Result<Result<kabinet_core::Subject, ValidationError>, ServiceError> {
    Ok(match person_id {
        Some(id) => kabinet_core::Subject::of(&store.person(id)?, day, pregnant),
        None => Ok(kabinet_core::Subject {
            age_years: None,
            pregnant,
        }),
    })
}

pub fn check_visit(
    store: &Store,
    ctx: &Context,
    form: &VisitForm,
    person_id: Option<Uuid>,
) -> Result<VisitCheck, ServiceError> {
    // What cannot be read comes first (it is what the nurse is typing); what can is checked
    // and suggested on meanwhile.
    let (screenings, mut unreadable) = form.read();
    let who = match subject(store, person_id, sofia_today(ctx.now), form.pregnant)? {
        Ok(who) => who,
        Err(e) => {
            unreadable.push(e);
            subject(store, person_id, sofia_today(ctx.now), false)?.unwrap_or_default()
        }
    };
    let mut issues = FieldMessage::all(&unreadable, ctx.lang);
    let mut warnings = Vec::new();
    match screenings.check() {
        Ok(c) => warnings.extend(
            c.warnings
                .iter()
                .map(|w| FieldMessage::warning(w, ctx.lang)),
        ),
        Err(e) => issues.extend(FieldMessage::all(&e.0, ctx.lang)),
    }
    let suggestions = rules::suggest_referrals(&screenings, &who);
    Ok(VisitCheck {
        emergency: suggestions.iter().any(|s| s.urgency == Urgency::Emergency),
        prompts: rules::prompts(&screenings, &who)
            .into_iter()
            .map(|p| views::PromptView {
                id: p.id().to_string(),
                text: p.text(ctx.lang).to_string(),
            })
            .collect(),
        suggestions: suggestions
            .iter()
            .map(|s| SuggestionView::of(s, ctx.lang))
            .collect(),
        bmi: screenings
            .body
            .as_ref()
            .and_then(|b| b.bmi())
            .map(|b| (b * 10.0).round() / 10.0),
        issues,
        warnings,
    })
}

/// A visit as a form sends it.
pub struct VisitInput<'a> {
    pub person_id: Uuid,
    /// When it took place, if not now.
    pub at: Option<DateTime<Utc>>,
    pub form: &'a VisitForm,
    pub notes: String,
    /// For nurses and doctors only.
    pub clinical_note: String,
    pub place: Option<String>,
    /// The referrals the specialist confirmed or added.
    pub choices: &'a [ReferralChoice],
}

pub fn save_visit(
    store: &mut Store,
    ctx: &Context,
    input: &VisitInput<'_>,
) -> Result<SavedVisit, ServiceError> {
    let VisitInput {
        person_id,
        at,
        form,
        choices,
        ..
    } = *input;
    // A visit is general data first (who, when, where): a role that may only read it (the
    // hub admin) records none.
    if !ctx.can_write(kabinet_core::AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let screenings = form.screenings().map_err(ServiceError::Invalid)?;
    // A visit never points at nobody; one opened on a record merged since is the survivor's.
    let person = store.current_person(person_id)?;
    let day = sofia_today(at.unwrap_or(ctx.now));
    let visit = Visit {
        id: Uuid::now_v7(),
        person_id: person.id,
        cabinet: store.settings()?.cabinet,
        specialist: ctx.user.clone(),
        at: at.unwrap_or(ctx.now),
        place: input.place.clone().filter(|p| !p.trim().is_empty()),
        screenings,
        notes: input.notes.clone(),
        clinical_note: input.clinical_note.trim().to_string(),
        pregnant: form.pregnant,
        corrections: Vec::new(),
        voided: None,
    };
    let mut errors = Vec::new();
    let who = kabinet_core::Subject::of(&person, day, form.pregnant).unwrap_or_else(|e| {
        errors.push(e);
        kabinet_core::Subject::default()
    });
    if let Err(e) = visit.check(ctx.now) {
        errors.extend(e.0);
    }
    if !visit.clinical_note.is_empty() && !ctx.can_write(kabinet_core::AccessClass::Clinical) {
        errors.push(ValidationError::new(
            kabinet_core::Field::ClinicalNote,
            kabinet_core::Problem::NotForYourRole {
                class: kabinet_core::AccessClass::Clinical.as_str(),
            },
        ));
    }
    for kind in visit.screenings.kinds() {
        if !ctx.can_write(kind.access_class()) {
            use kabinet_core::{Field, ScreeningKind as K};
            // The field the screening is typed in, so the message sits beside it.
            let field = match kind {
                K::Hiv => Field::HivResult,
                K::Tb => Field::CoughWeeks,
                K::HepatitisB | K::HepatitisC => Field::HepatitisResult,
                K::Glucose => Field::GlucoseValue,
                K::Hba1c => Field::Hba1cValue,
                K::BloodPressure => Field::Systolic,
                K::Body => Field::Weight,
            };
            errors.push(ValidationError::new(
                field,
                kabinet_core::Problem::NotForYourRole {
                    class: kind.access_class().as_str(),
                },
            ));
        }
    }
    let parsed = parse_choices(ctx, choices, &visit.screenings, &who, &mut errors);
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(kabinet_core::ValidationErrors(
            errors,
        )));
    }
    let issued = store.write(Origin::Local, |w| {
        w.put_visit(&visit)?;
        issue(w, ctx, &visit, &parsed)
    })?;
    Ok(SavedVisit {
        visit_id: visit.id,
        referrals: issued,
    })
}

/// A referral the specialist confirmed, read and checked.
pub(crate) type Chosen = (
    ReferralReason,
    Destination,
    Urgency,
    Option<&'static rules::Rule>,
);

/// The confirmed referrals read and checked against the user's role and the visit's
/// findings; what is wrong goes to `errors`, each with its field.
pub(crate) fn parse_choices(
    ctx: &Context,
    choices: &[ReferralChoice],
    screenings: &kabinet_core::Screenings,
    who: &kabinet_core::Subject,
    errors: &mut Vec<ValidationError>,
) -> Vec<Chosen> {
    let mut parsed = Vec::new();
    for c in choices {
        let reason = ReferralReason::parse(&c.reason);
        let destination = Destination::parse(&c.destination);
        let urgency = Urgency::parse(&c.urgency);
        match (reason, destination, urgency) {
            (Ok(r), _, _) if !ctx.can_write(r.access_class()) => errors.push(ValidationError::new(
                kabinet_core::Field::ReferralReason,
                kabinet_core::Problem::UnknownValue {
                    input: c.reason.clone(),
                    expected: "a referral reason your role may record",
                },
            )),
            // The destination may make the referral stricter than its reason (the HIV lab).
            (Ok(r), Ok(d), Ok(u)) => match kabinet_core::referral_class(r, d) {
                Err(e) => errors.push(e),
                Ok(class) if !ctx.can_write(class) => errors.push(ValidationError::new(
                    kabinet_core::Field::ReferralDestination,
                    kabinet_core::Problem::NotForYourRole {
                        class: class.as_str(),
                    },
                )),
                Ok(_) => match finding_of(c, r, screenings, who) {
                    Ok(finding) => parsed.push((r, d, u, finding)),
                    Err(e) => errors.push(e),
                },
            },
            (r, d, u) => errors.extend([r.err(), d.err(), u.err()].into_iter().flatten()),
        }
    }
    parsed
}

/// Issues the confirmed referrals of `visit` in the write under way.
pub(crate) fn issue(
    w: &mut kabinet_store::Writer<'_>,
    ctx: &Context,
    visit: &Visit,
    parsed: &[Chosen],
) -> kabinet_store::Result<Vec<IssuedReferral>> {
    let mut issued = Vec::new();
    for (reason, destination, urgency, finding) in parsed {
        let referral = Referral {
            id: Uuid::now_v7(),
            code: w.next_referral_code()?,
            person_id: visit.person_id,
            visit_id: visit.id,
            reason: *reason,
            destination: *destination,
            urgency: *urgency,
            finding: finding.map(|rule| rule.id.to_string()),
            history: vec![StatusChange {
                status: ReferralStatus::Issued,
                at: ctx.now,
                by: ctx.user.clone(),
                note: None,
            }],
        };
        w.put_referral(&referral)?;
        issued.push(IssuedReferral {
            id: referral.id,
            code: referral.code.to_string(),
            destination: destination.label(ctx.lang).to_string(),
            urgency: urgency.label(ctx.lang).to_string(),
            may_be_anonymous: kabinet_slip::may_be_anonymous(&referral),
        });
    }
    Ok(issued)
}

/// The rule a confirmed referral names, checked: it exists, reads the referral's screening,
/// and fires on this visit, so a slip never prints a finding the visit does not have.
fn finding_of(
    choice: &ReferralChoice,
    reason: ReferralReason,
    screenings: &kabinet_core::Screenings,
    who: &kabinet_core::Subject,
) -> Result<Option<&'static rules::Rule>, ValidationError> {
    let Some(id) = choice.finding.as_deref().filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    let refused = || {
        ValidationError::new(
            kabinet_core::Field::ReferralReason,
            kabinet_core::Problem::UnknownValue {
                input: id.to_string(),
                expected: "a finding of this visit's screenings (check the visit again)",
            },
        )
    };
    let rule = rules::Rule::by_id(id).ok_or_else(refused)?;
    let reads_it =
        matches!(reason, ReferralReason::Screening(kind) if rule.measure.kinds().contains(&kind));
    if reads_it && rule.fires_on(screenings, who) {
        Ok(Some(rule))
    } else {
        Err(refused())
    }
}

pub fn today(store: &Store, ctx: &Context, day: Option<NaiveDate>) -> Result<Today, ServiceError> {
    let day = day.unwrap_or_else(|| sofia_today(ctx.now));
    let visits = store.visits_on(day, None)?;
    let days = store.directory()?.follow_up_days;
    let mut referrals: Vec<ReferralView> = store
        .open_referrals(200)?
        .into_iter()
        .filter(|r| ctx.can_read(r.access_class()))
        .map(|r| ReferralView::with_days(r, ctx.lang, ctx.now, &days))
        .collect();
    // Overdue first, then the most urgent, then the oldest.
    referrals.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(b.urgency_rank.cmp(&a.urgency_rank))
            .then(a.issued_at.cmp(&b.issued_at))
    });
    Ok(Today {
        day: day.format("%d.%m.%Y").to_string(),
        iso_day: day,
        visits,
        referrals,
    })
}

pub fn destinations(lang: Lang) -> Vec<DestinationView> {
    Destination::all()
        .map(|d| DestinationView {
            slug: d.slug().to_string(),
            label: d.label(lang).to_string(),
            hub: matches!(d, Destination::Hub(_)),
        })
        .collect()
}

#[cfg(test)]
mod tests;
