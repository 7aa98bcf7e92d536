//! Case management for the hub's multidisciplinary team (see `kabinet_core::case`): open a
//! case (directly or from a referral), the case page, goals, tasks, notes by discipline, the
//! person's consent to share, status and closure, and the "my tasks" / "team tasks" lists.
//!
//! Who sees what: the case itself is general (every role of the team reads it; the hub admin
//! only reads). A note is in its discipline's class: it is written by a role that may write
//! that class, and shown to a reader who may read it *and* whose discipline it is, or to whom
//! the person agreed to share it. The access matrix is the ceiling: a device never even holds
//! a note of a class its users may not read.

use crate::{Context, ReferralView, ServiceError, audit_view, sofia_today};
use chrono::NaiveDate;
use kabinet_core::case::{
    Assignee, Case, CaseNote, CaseStatus, Closure, ClosureReason, Domain, Goal, GoalStatus,
    NoteKind, Priority, ShareConsent, Spelled, Task, TaskStatus,
};
use kabinet_core::{AccessClass, Field, Lang, Problem, Role, ValidationError, ValidationErrors};
use kabinet_store::{CaseSummary, Origin, Store, VisitSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The longest goal, task title or note.
const TEXT_MAX: usize = 4000;
/// Tasks a worklist shows at most.
const TASKS_MAX: usize = 500;

fn invalid(field: Field, problem: Problem) -> ServiceError {
    ServiceError::Invalid(ValidationErrors(vec![ValidationError::new(field, problem)]))
}

/// A required text, trimmed and bounded.
fn text(field: Field, input: &str) -> Result<String, ServiceError> {
    let t = input.trim();
    if t.is_empty() {
        return Err(invalid(field, Problem::Required));
    }
    if t.chars().count() > TEXT_MAX {
        return Err(invalid(field, Problem::TooLong { max: TEXT_MAX }));
    }
    Ok(t.to_string())
}

/// One of an enum's spellings, or an error that names the field and lists them.
fn choice<T: Spelled>(field: Field, input: &str) -> Result<T, ServiceError> {
    T::from_spelling(input).ok_or_else(|| {
        invalid(
            field,
            Problem::NotAChoice {
                input: input.trim().to_string(),
                options: T::all()
                    .iter()
                    .map(|v| v.spelling())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        )
    })
}

/// An optional text as given: trimmed, none when empty.
fn given(input: Option<&str>) -> Option<&str> {
    input.map(str::trim).filter(|s| !s.is_empty())
}

/// An optional date typed as yyyy-mm-dd or dd.mm.yyyy.
fn date(input: Option<&str>) -> Result<Option<NaiveDate>, ServiceError> {
    match given(input) {
        None => Ok(None),
        Some(s) => kabinet_core::person::parse_date(s)
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    Field::CaseDate,
                    Problem::NotADate {
                        input: s.to_string(),
                    },
                )
            }),
    }
}

fn may_edit(ctx: &Context) -> Result<(), ServiceError> {
    if ctx.can_write(AccessClass::General) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// The caller's roles (all of them for the terminal, which holds what the device may read).
fn roles_of(ctx: &Context) -> Vec<Role> {
    ctx.roles.clone().unwrap_or_else(|| Role::ALL.to_vec())
}

/// Whether the caller sees notes of `kind` on `case`: the class, then the discipline.
fn sees(case: &Case, ctx: &Context, kind: NoteKind) -> bool {
    ctx.can_read(kind.access_class()) && case.shares(kind, &roles_of(ctx))
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct GoalView {
    pub id: Uuid,
    pub domain: Domain,
    pub domain_label: String,
    pub text: String,
    pub target: Option<NaiveDate>,
    pub status: GoalStatus,
    pub status_label: String,
    pub responsible: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TaskView {
    pub case_id: Uuid,
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub title: String,
    pub assignee: Assignee,
    pub assignee_label: String,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    pub priority: Priority,
    pub priority_label: String,
    pub status: TaskStatus,
    pub status_label: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct NoteView {
    pub id: Uuid,
    pub kind: NoteKind,
    pub kind_label: String,
    #[ts(type = "string")]
    pub class: AccessClass,
    pub text: String,
    /// dd.mm.yyyy HH:MM, Sofia time.
    pub at: String,
    pub by: String,
}

/// A case conference as the page shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ConferenceView {
    pub id: Uuid,
    pub on: NaiveDate,
    pub attendees: Vec<String>,
    pub institutions: Vec<String>,
    pub decisions: String,
}

/// A kind of note the caller may write, for the note form.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct NoteKindOption {
    pub kind: NoteKind,
    pub label: String,
}

/// A case's page: the plan, the tasks, the notes the caller sees (by discipline), the
/// referrals and the visits.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaseView {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub household: Option<String>,
    pub status: CaseStatus,
    pub status_label: String,
    /// "закрит: целите са постигнати — …" when closed.
    pub closure: Option<String>,
    pub lead: String,
    pub team: Vec<String>,
    pub opened_at: String,
    pub opened_by: String,
    pub goals: Vec<GoalView>,
    pub tasks: Vec<TaskView>,
    pub notes: Vec<NoteView>,
    pub note_kinds: Vec<NoteKindOption>,
    /// What the person agreed to share, as sentences.
    pub consents: Vec<String>,
    pub referrals: Vec<ReferralView>,
    pub conferences: Vec<ConferenceView>,
    pub visits: Vec<VisitSummary>,
    /// The sensitive classes of the notes shown (for the audit log).
    #[serde(skip)]
    #[ts(skip)]
    pub sensitive: Vec<AccessClass>,
}

fn sofia_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Sofia)
        .format("%d.%m.%Y %H:%M")
        .to_string()
}

fn assignee_label(a: &Assignee, lang: Lang) -> String {
    match a {
        Assignee::User(u) => u.clone(),
        Assignee::Role(r) => r.label(lang).to_string(),
    }
}

/// A task of the case page, under the person the case now stands for (a merged record's
/// survivor, as the worklists name it too).
fn task_view(
    case_id: Uuid,
    (person_id, person_name): (Uuid, &str),
    id: Uuid,
    t: &Task,
    ctx: &Context,
) -> TaskView {
    let lang = ctx.lang;
    TaskView {
        case_id,
        id,
        person_id,
        person_name: person_name.to_string(),
        title: t.title.clone(),
        assignee_label: assignee_label(&t.assignee, lang),
        assignee: t.assignee.clone(),
        due: t.due,
        overdue: t.overdue(sofia_today(ctx.now)),
        priority: t.priority,
        priority_label: t.priority.label(lang).to_string(),
        status: t.status,
        status_label: t.status.label(lang).to_string(),
        outcome: t.outcome.clone(),
    }
}

/// The case page as the caller may see it.
pub fn case_view(store: &Store, ctx: &Context, id: Uuid) -> Result<CaseView, ServiceError> {
    let lang = ctx.lang;
    let case = store.case(id)?;
    let person = store.current_person(case.person_id)?;
    let person_name = person.full_name();
    let classes: Vec<AccessClass> = AccessClass::ALL
        .iter()
        .copied()
        .filter(|c| ctx.can_read(*c))
        .collect();
    let notes: Vec<CaseNote> = store
        .case_notes(id, &classes)?
        .into_iter()
        .filter(|n| sees(&case, ctx, n.kind))
        .collect();
    let mut sensitive: Vec<AccessClass> = notes
        .iter()
        .map(|n| n.kind.access_class())
        .filter(|c| *c != AccessClass::General)
        .collect();
    let days = store.directory()?.follow_up_days;
    let referrals: Vec<ReferralView> = store
        .referrals_of_person(person.id)?
        .into_iter()
        .filter(|r| case.referrals.contains(&r.id) && ctx.can_read(r.access_class()))
        .map(|r| ReferralView::with_days(r, lang, ctx.now, &days))
        .collect();
    sensitive.extend(
        referrals
            .iter()
            .map(|r| r.access_class)
            .filter(|c| *c != AccessClass::General),
    );
    sensitive.sort_unstable();
    sensitive.dedup();
    let mut tasks: Vec<TaskView> = case
        .tasks
        .iter()
        .map(|(tid, t)| task_view(case.id, (person.id, &person_name), *tid, t, ctx))
        .collect();
    // Open first, overdue first among them, then by date.
    tasks.sort_by_key(|t| {
        (
            !matches!(t.status, TaskStatus::Todo | TaskStatus::InProgress),
            !t.overdue,
            t.due.is_none(),
            t.due,
        )
    });
    Ok(CaseView {
        id,
        person_id: person.id,
        person_name,
        household: case.household.clone(),
        status: case.status,
        status_label: case.status.label(lang).to_string(),
        closure: case.closure.as_ref().map(|c| {
            let mut s = format!(
                "{}: {} ({}, {})",
                case.status.label(lang),
                c.reason.label(lang),
                c.by,
                sofia_time(c.at)
            );
            if !c.note.is_empty() {
                s.push_str(&format!(" — {}", c.note));
            }
            s
        }),
        lead: case.lead.clone(),
        team: case.team.clone(),
        opened_at: sofia_time(case.opened_at),
        opened_by: case.opened_by.clone(),
        goals: case
            .goals
            .iter()
            .map(|(gid, g)| GoalView {
                id: *gid,
                domain: g.domain,
                domain_label: g.domain.label(lang).to_string(),
                text: g.text.clone(),
                target: g.target,
                status: g.status,
                status_label: g.status.label(lang).to_string(),
                responsible: g.responsible.clone(),
            })
            .collect(),
        tasks,
        notes: notes
            .iter()
            .map(|n| NoteView {
                id: n.id,
                kind: n.kind,
                kind_label: n.kind.label(lang).to_string(),
                class: n.kind.access_class(),
                text: n.text.clone(),
                at: sofia_time(n.at),
                by: n.by.clone(),
            })
            .collect(),
        note_kinds: NoteKind::ALL
            .iter()
            .filter(|k| {
                ctx.can_write(k.access_class())
                    && roles_of(ctx).iter().any(|r| k.authors().contains(r))
            })
            .map(|k| NoteKindOption {
                kind: *k,
                label: k.label(lang).to_string(),
            })
            .collect(),
        consents: case
            .consents
            .iter()
            .map(|c| {
                format!(
                    "{} → {} ({}, {})",
                    c.kind.label(lang),
                    c.roles
                        .iter()
                        .map(|r| r.label(lang))
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.by,
                    sofia_time(c.at)
                )
            })
            .collect(),
        referrals,
        conferences: {
            let mut c: Vec<ConferenceView> = case
                .conferences
                .iter()
                .map(|(cid, c)| ConferenceView {
                    id: *cid,
                    on: c.on,
                    attendees: c.attendees.clone(),
                    institutions: c.institutions.clone(),
                    decisions: c.decisions.clone(),
                })
                .collect();
            c.sort_by_key(|c| std::cmp::Reverse(c.on));
            c
        },
        visits: store.visits_of_person(person.id)?,
        sensitive,
    })
}

/// Opens a case for a person (or returns their open one), optionally from a referral that led
/// to it. The lead is the caller unless named.
pub fn open_case(
    store: &mut Store,
    ctx: &Context,
    person_id: Uuid,
    referral_id: Option<Uuid>,
    lead: Option<&str>,
    household: Option<&str>,
) -> Result<CaseView, ServiceError> {
    may_edit(ctx)?;
    let person = store.current_person(person_id)?;
    if let Some(r) = referral_id {
        let referral = store.referral(r)?;
        let owner = store
            .survivor_of(referral.person_id)?
            .unwrap_or(referral.person_id);
        if owner != person.id {
            return Err(ServiceError::BadRequest(format!(
                "referral {r} is not {}'s",
                person.full_name()
            )));
        }
    }
    // One open case per person: a second "open" adds the referral to it.
    for id in store.cases_of_person(person.id)? {
        let mut case = store.case(id)?;
        if case.status != CaseStatus::Closed {
            if let Some(r) = referral_id.filter(|r| !case.referrals.contains(r)) {
                case.referrals.push(r);
                write(store, ctx, &case)?;
            }
            return case_view(store, ctx, id);
        }
    }
    let lead = given(lead).unwrap_or(&ctx.login).to_string();
    let case = Case {
        id: Uuid::now_v7(),
        person_id: person.id,
        household: given(household).map(str::to_string),
        opened_at: ctx.now,
        opened_by: ctx.user.clone(),
        team: vec![lead.clone()],
        lead,
        referrals: referral_id.into_iter().collect(),
        status: CaseStatus::Open,
        closure: None,
        goals: BTreeMap::new(),
        tasks: BTreeMap::new(),
        conferences: BTreeMap::new(),
        consents: Vec::new(),
    };
    write(store, ctx, &case)?;
    case_view(store, ctx, case.id)
}

fn write(store: &mut Store, ctx: &Context, case: &Case) -> Result<(), ServiceError> {
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| w.put_case(case))?;
    Ok(())
}

/// Reads a case, applies `change` and writes only what changed (field-level, so edits of other
/// goals or tasks made elsewhere merge).
fn change_case(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    change: impl FnOnce(&mut Case) -> Result<(), ServiceError>,
) -> Result<CaseView, ServiceError> {
    may_edit(ctx)?;
    let mut case = store.case(case_id)?;
    change(&mut case)?;
    write(store, ctx, &case)?;
    case_view(store, ctx, case_id)
}

/// A goal, as the form sends it.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct GoalInput {
    pub domain: String,
    pub text: String,
    #[serde(default)]
    #[ts(optional)]
    pub target: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub responsible: Option<String>,
}

pub fn add_goal(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    input: &GoalInput,
) -> Result<CaseView, ServiceError> {
    let goal = Goal {
        domain: choice::<Domain>(Field::CaseDomain, &input.domain)?,
        text: text(Field::CaseText, &input.text)?,
        target: date(input.target.as_deref())?,
        status: GoalStatus::Active,
        responsible: given(input.responsible.as_deref())
            .unwrap_or(&ctx.login)
            .to_string(),
    };
    change_case(store, ctx, case_id, |case| {
        case.goals.insert(Uuid::now_v7(), goal);
        Ok(())
    })
}

pub fn set_goal(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    goal_id: Uuid,
    status: &str,
) -> Result<CaseView, ServiceError> {
    let status = choice::<GoalStatus>(Field::CaseStatus, status)?;
    change_case(store, ctx, case_id, |case| {
        let goal = case
            .goals
            .get_mut(&goal_id)
            .ok_or_else(|| ServiceError::BadRequest(format!("no goal {goal_id} on the case")))?;
        goal.status = status;
        Ok(())
    })
}

/// A task, as the form sends it: for a worker (`user`, their login) or anyone of a `role`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct TaskInput {
    pub title: String,
    #[serde(default)]
    #[ts(optional)]
    pub user: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub role: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub due: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub priority: Option<String>,
}

fn task_of(ctx: &Context, input: &TaskInput, referral: Option<Uuid>) -> Result<Task, ServiceError> {
    let assignee = match (given(input.user.as_deref()), given(input.role.as_deref())) {
        (Some(u), _) => Assignee::User(u.to_string()),
        (None, Some(r)) => Assignee::Role(choice::<Role>(Field::Assignee, r)?),
        (None, None) => return Err(invalid(Field::Assignee, Problem::Required)),
    };
    Ok(Task {
        title: text(Field::TaskTitle, &input.title)?,
        assignee,
        due: date(input.due.as_deref())?,
        priority: match input.priority.as_deref().filter(|p| !p.trim().is_empty()) {
            None => Priority::Normal,
            Some(p) => choice::<Priority>(Field::CaseStatus, p)?,
        },
        status: TaskStatus::Todo,
        outcome: String::new(),
        referral,
        created_at: ctx.now,
        created_by: ctx.user.clone(),
    })
}

pub fn add_task(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    input: &TaskInput,
) -> Result<CaseView, ServiceError> {
    let task = task_of(ctx, input, None)?;
    change_case(store, ctx, case_id, |case| {
        case.tasks.insert(Uuid::now_v7(), task);
        Ok(())
    })
}

pub fn update_task(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    task_id: Uuid,
    status: &str,
    outcome: Option<&str>,
) -> Result<CaseView, ServiceError> {
    let status = choice::<TaskStatus>(Field::CaseStatus, status)?;
    let outcome = given(outcome);
    if let Some(o) = outcome
        && o.chars().count() > TEXT_MAX
    {
        return Err(invalid(Field::CaseText, Problem::TooLong { max: TEXT_MAX }));
    }
    change_case(store, ctx, case_id, |case| {
        let task = case
            .tasks
            .get_mut(&task_id)
            .ok_or_else(|| ServiceError::BadRequest(format!("no task {task_id} on the case")))?;
        task.status = status;
        if let Some(o) = outcome {
            task.outcome = o.to_string();
        }
        Ok(())
    })
}

/// A note in its discipline's class. Refused for a class the caller may not write (a lawyer's
/// psychology note), and for a discipline not theirs that the person has not agreed to share
/// with them.
pub fn add_note(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    kind: &str,
    input: &str,
) -> Result<CaseView, ServiceError> {
    let kind = choice::<NoteKind>(Field::NoteKind, kind)?;
    // Written by the discipline's own roles (the handover by anyone of the team): a consent
    // to share widens who reads a discipline's notes, never who writes them.
    if !ctx.can_write(kind.access_class())
        || !roles_of(ctx).iter().any(|r| kind.authors().contains(r))
    {
        return Err(ServiceError::Forbidden);
    }
    let note = CaseNote {
        id: Uuid::now_v7(),
        case_id,
        kind,
        text: text(Field::CaseText, input)?,
        at: ctx.now,
        by: ctx.user.clone(),
    };
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| w.put_case_note(&note))?;
    case_view(store, ctx, case_id)
}

/// Records what the person agreed: notes of `kind` may be shown to `roles` too.
pub fn share_consent(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    kind: &str,
    roles: &[String],
) -> Result<CaseView, ServiceError> {
    let kind = choice::<NoteKind>(Field::NoteKind, kind)?;
    let roles = roles
        .iter()
        .map(|r| choice::<Role>(Field::Assignee, r))
        .collect::<Result<Vec<_>, _>>()?;
    if roles.is_empty() {
        return Err(invalid(Field::Assignee, Problem::Required));
    }
    // Shared with the team's roles only, never with the administrators.
    if let Some(r) = roles.iter().find(|r| !r.records()) {
        return Err(invalid(
            Field::Assignee,
            Problem::NotAChoice {
                input: r.as_str().to_string(),
                options: case_options(ctx.lang)
                    .roles
                    .iter()
                    .map(|c| c.value.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        ));
    }
    // What the person agreed is recorded by the discipline that holds the notes, or the lead.
    let case = store.case(case_id)?;
    let own = roles_of(ctx).iter().any(|r| kind.authors().contains(r));
    if !own && case.lead != ctx.login {
        return Err(ServiceError::Forbidden);
    }
    change_case(store, ctx, case_id, |case| {
        case.consents.push(ShareConsent {
            kind,
            roles,
            at: ctx.now,
            by: ctx.user.clone(),
        });
        Ok(())
    })
}

/// Puts a case on hold, opens it again, or closes it (a reason required).
pub fn set_case_status(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    status: &str,
    reason: Option<&str>,
    note: Option<&str>,
) -> Result<CaseView, ServiceError> {
    let status = choice::<CaseStatus>(Field::CaseStatus, status)?;
    let closure = match status {
        CaseStatus::Closed => {
            let reason =
                given(reason).ok_or_else(|| invalid(Field::ClosureReason, Problem::Required))?;
            Some(Closure {
                reason: choice::<ClosureReason>(Field::ClosureReason, reason)?,
                at: ctx.now,
                by: ctx.user.clone(),
                note: note.map(str::trim).unwrap_or_default().to_string(),
            })
        }
        _ => None,
    };
    change_case(store, ctx, case_id, |case| {
        case.status = status;
        case.closure = closure;
        Ok(())
    })
}

/// Open tasks of open cases: the caller's own (assigned to them or to one of their roles), or
/// the whole team's; overdue first, then by due date. Read from the task projection alone.
pub fn tasks(store: &Store, ctx: &Context, mine: bool) -> Result<Vec<TaskView>, ServiceError> {
    if !ctx.can_read(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let roles: Vec<&str> = roles_of(ctx).iter().map(|r| r.as_str()).collect();
    let rows = if mine {
        store.open_tasks(Some(&ctx.login), &roles, TASKS_MAX)?
    } else {
        store.open_tasks(None, &[], TASKS_MAX)?
    };
    let today = sofia_today(ctx.now);
    let lang = ctx.lang;
    Ok(rows
        .into_iter()
        .map(|r| TaskView {
            case_id: r.case_id,
            id: r.task_id,
            person_id: r.person_id,
            person_name: r.person_name,
            title: r.title,
            assignee_label: assignee_label(&r.assignee, lang),
            assignee: r.assignee,
            // Listed tasks are open: overdue once their day has passed.
            overdue: r.due.is_some_and(|d| d < today),
            due: r.due,
            priority: r.priority,
            priority_label: r.priority.label(lang).to_string(),
            status: r.status,
            status_label: r.status.label(lang).to_string(),
            outcome: r.outcome,
        })
        .collect())
}

/// A follow-up task from a referral nobody attended in time: on the person's case (opened if
/// there is none), for the education mediators, due today.
pub fn task_from_referral(
    store: &mut Store,
    ctx: &Context,
    referral_id: Uuid,
) -> Result<CaseView, ServiceError> {
    let referral = crate::referrals::detail(store, ctx, referral_id)?.view;
    let opened = open_case(
        store,
        ctx,
        referral.person_id,
        Some(referral_id),
        None,
        None,
    )?;
    // The case is general: a destination that tells a condition (the HIV lab, the lung
    // hospital) stays out of the task's title, which every role of the team reads.
    let follow = ctx
        .lang
        .pick("Проследяване на направление", "Follow up referral");
    let title = if referral.access_class == AccessClass::General {
        format!(
            "{follow} {} → {}",
            referral.code, referral.destination_label
        )
    } else {
        format!("{follow} {}", referral.code)
    };
    let input = TaskInput {
        title,
        user: None,
        role: Some(Role::EducationMediator.as_str().to_string()),
        due: Some(sofia_today(ctx.now).to_string()),
        priority: Some(Priority::High.as_str().to_string()),
    };
    let task = task_of(ctx, &input, Some(referral_id))?;
    change_case(store, ctx, opened.id, |case| {
        // Once per referral: a second click does not add a second task.
        if !case.tasks.values().any(|t| t.referral == Some(referral_id)) {
            case.tasks.insert(Uuid::now_v7(), task);
        }
        Ok(())
    })
}

/// The case list.
pub fn cases(
    store: &Store,
    ctx: &Context,
    status: Option<&str>,
    lead: Option<&str>,
) -> Result<Vec<CaseSummary>, ServiceError> {
    if !ctx.can_read(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let status = match given(status) {
        None => None,
        Some(s) => Some(choice::<CaseStatus>(Field::CaseStatus, s)?),
    };
    Ok(store.cases(status, given(lead), 1000)?)
}

/// The case page, with a view of sensitive notes on the audit log.
pub fn open_page(store: &mut Store, ctx: &Context, id: Uuid) -> Result<CaseView, ServiceError> {
    let view = case_view(store, ctx, id)?;
    audit_view(store, &id.to_string(), "case", &view.sensitive)?;
    Ok(view)
}

/// One choice of a case form: its spelling and its label.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaseChoice {
    pub value: String,
    pub label: String,
}

/// The choices of the case screens' forms, labelled in the caller's language.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaseOptions {
    pub domains: Vec<CaseChoice>,
    pub priorities: Vec<CaseChoice>,
    pub closure_reasons: Vec<CaseChoice>,
    /// The team's roles a task can be for, or a note shared with.
    pub roles: Vec<CaseChoice>,
}

pub fn case_options(lang: Lang) -> CaseOptions {
    fn all<T: Spelled>(values: &[T], label: impl Fn(T) -> &'static str) -> Vec<CaseChoice> {
        values
            .iter()
            .map(|v| CaseChoice {
                value: v.spelling().to_string(),
                label: label(*v).to_string(),
            })
            .collect()
    }
    let team: Vec<Role> = Role::ALL.iter().copied().filter(|r| r.records()).collect();
    CaseOptions {
        domains: all(Domain::ALL, |d| d.label(lang)),
        priorities: all(Priority::ALL, |p| p.label(lang)),
        closure_reasons: all(ClosureReason::ALL, |c| c.label(lang)),
        roles: all(&team, |r| r.label(lang)),
    }
}

/// A referral from the case to an institution or a hub specialist: the existing referral
/// (code, slip, loop closure, follow-up days), whose origin is the case instead of a visit.
pub fn refer_from_case(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    choice: &crate::ReferralChoice,
) -> Result<CaseView, ServiceError> {
    may_edit(ctx)?;
    let case = store.case(case_id)?;
    let mut errors = Vec::new();
    let who = kabinet_core::Subject {
        age_years: None,
        pregnant: false,
    };
    let mut hand_picked = choice.clone();
    // A case's referral follows no screening rule.
    hand_picked.finding = None;
    let parsed = crate::parse_choices(
        ctx,
        std::slice::from_ref(&hand_picked),
        &kabinet_core::Screenings::default(),
        &who,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(ValidationErrors(errors)));
    }
    let Some(&(reason, destination, urgency, _)) = parsed.first() else {
        return Err(ServiceError::BadRequest("no referral to make".into()));
    };
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| {
        let referral = kabinet_core::Referral {
            id: Uuid::now_v7(),
            code: w.next_referral_code()?,
            person_id: case.person_id,
            // The case is where it came from (its slip names the hub's cabinet).
            visit_id: case.id,
            reason,
            destination,
            urgency,
            finding: None,
            history: vec![kabinet_core::StatusChange {
                status: kabinet_core::ReferralStatus::Issued,
                at: ctx.now,
                by: ctx.user.clone(),
                note: None,
            }],
        };
        w.put_referral(&referral)?;
        let mut case = w.case(case.id)?.expect("read above, same store");
        case.referrals.push(referral.id);
        w.put_case(&case)?;
        Ok(())
    })?;
    case_view(store, ctx, case_id)
}

/// A case conference as the form sends it; each decision that needs doing is a task.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct ConferenceInput {
    pub on: String,
    #[serde(default)]
    pub attendees: Vec<String>,
    #[serde(default)]
    pub institutions: Vec<String>,
    pub decisions: String,
    #[serde(default)]
    pub tasks: Vec<TaskInput>,
}

pub fn add_conference(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    input: &ConferenceInput,
) -> Result<CaseView, ServiceError> {
    let on = date(Some(&input.on))?.ok_or_else(|| invalid(Field::CaseDate, Problem::Required))?;
    let clean = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let attendees = clean(&input.attendees);
    if attendees.is_empty() {
        return Err(invalid(Field::Assignee, Problem::Required));
    }
    let conference = kabinet_core::case::Conference {
        on,
        attendees,
        institutions: clean(&input.institutions),
        decisions: text(Field::CaseText, &input.decisions)?,
    };
    let tasks = input
        .tasks
        .iter()
        .map(|t| task_of(ctx, t, None))
        .collect::<Result<Vec<_>, _>>()?;
    change_case(store, ctx, case_id, |case| {
        case.conferences.insert(Uuid::now_v7(), conference);
        for t in tasks {
            case.tasks.insert(Uuid::now_v7(), t);
        }
        Ok(())
    })
}

/// Changes who leads a case, its team and its household (a field left out stays).
pub fn edit_case(
    store: &mut Store,
    ctx: &Context,
    case_id: Uuid,
    lead: Option<&str>,
    team: Option<&[String]>,
    household: Option<&str>,
) -> Result<CaseView, ServiceError> {
    let lead = match lead.map(str::trim) {
        Some("") => return Err(invalid(Field::Assignee, Problem::Required)),
        other => other.map(str::to_string),
    };
    change_case(store, ctx, case_id, |case| {
        if let Some(lead) = lead {
            case.lead = lead;
        }
        if let Some(team) = team {
            case.team = team
                .iter()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
        }
        if let Some(h) = household {
            case.household = Some(h.trim().to_string()).filter(|h| !h.is_empty());
        }
        if !case.team.contains(&case.lead) {
            case.team.insert(0, case.lead.clone());
        }
        Ok(())
    })
}
