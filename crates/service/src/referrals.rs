//! The referral loop: slips to print, a referral found by its code (typed or scanned from the
//! QR), its status moved on (attended / declined / completed, with an outcome), and the
//! follow-up worklist of referrals nobody has attended in time.

use crate::{Context, ReferralView, ServiceError};
use chrono::{DateTime, NaiveDate, Utc};
use kabinet_core::{Lang, ReferralCode, ReferralStatus, StatusChange};
use kabinet_slip::{Paper, Slip};
use kabinet_store::{Origin, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The slip of one referral, from what this store holds.
fn slip_of(store: &Store, referral: &kabinet_core::Referral) -> Result<Slip, ServiceError> {
    // A merged duplicate's referral prints its survivor.
    let person = store.current_person(referral.person_id)?;
    let directory = store.directory()?;
    let cabinet = match store.visit(referral.visit_id) {
        Ok(v) => v.cabinet,
        Err(_) => store.settings()?.cabinet,
    };
    let specialist = referral
        .history
        .first()
        .map(|c| c.by.clone())
        .unwrap_or_default();
    Ok(Slip::of(
        referral,
        &person,
        directory.hub.clone(),
        &cabinet,
        directory.place_of(referral.destination, Lang::Bg),
        &specialist,
    ))
}

/// The slips of `referrals`: HIV ones without name and ЕГН when `anonymous` says so (none:
/// the directory's default), every other one named.
pub(crate) fn slips_of(
    store: &Store,
    referrals: &[kabinet_core::Referral],
    anonymous: Option<bool>,
) -> Result<Vec<Slip>, ServiceError> {
    let anonymous = anonymous.unwrap_or(store.directory()?.anonymous_hiv_slips);
    referrals
        .iter()
        .map(|r| {
            let slip = slip_of(store, r)?;
            Ok(if anonymous && kabinet_slip::may_be_anonymous(r) {
                slip.anonymous(&store.current_person(r.person_id)?)
            } else {
                slip
            })
        })
        .collect()
}

/// A referral the caller may read, or "not found" (its existence is not revealed either).
fn readable(
    store: &Store,
    ctx: &Context,
    id: Uuid,
) -> Result<kabinet_core::Referral, ServiceError> {
    let referral = store.referral(id)?;
    if !ctx.can_read(referral.access_class()) {
        return Err(ServiceError::Hidden {
            kind: "referral",
            id: id.to_string(),
            class: referral.access_class(),
        });
    }
    Ok(referral)
}

/// One PDF with a page per referral. `anonymous`: the specialist's choice for HIV slips
/// (name and ЕГН left out); none takes the hub directory's default. Other slips are always
/// named.
pub fn slips_pdf(
    store: &mut Store,
    ctx: &Context,
    ids: &[Uuid],
    paper: &str,
    anonymous: Option<bool>,
) -> Result<Vec<u8>, ServiceError> {
    let referrals = ids
        .iter()
        .map(|id| readable(store, ctx, *id))
        .collect::<Result<Vec<_>, _>>()?;
    let paper = Paper::parse(paper)
        .ok_or_else(|| ServiceError::BadRequest(format!("paper {paper:?}: use A5 or A6")))?;
    if ids.is_empty() {
        return Err(ServiceError::BadRequest("no referrals to print".into()));
    }
    let slips = slips_of(store, &referrals, anonymous)?;
    let pdf =
        kabinet_slip::render(&slips, paper).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    // A slip carries a name and a reason: every print is on the record.
    // One transaction for the batch: "today's slips" may be hundreds.
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(kabinet_store::Origin::Local, |w| {
        for r in &referrals {
            w.audit(
                kabinet_core::AuditAction::Print,
                &r.id.to_string(),
                &format!("referral/{}", r.access_class().as_str()),
            )?;
        }
        Ok(())
    })?;
    Ok(pdf)
}

/// The referrals issued on a day (Sofia time), in the order they were issued: "today's slips".
/// Only referrals the caller may read: a listing must not say that a person has a referral
/// of a class hidden from the caller.
pub fn issued_on(store: &Store, ctx: &Context, day: NaiveDate) -> Result<Vec<Uuid>, ServiceError> {
    let mut ids: Vec<(String, Uuid)> = Vec::new();
    let mut persons: Vec<Uuid> = store
        .visits_on(day, None)?
        .into_iter()
        .map(|v| v.person_id)
        .collect();
    persons.sort();
    persons.dedup();
    for person_id in persons {
        for r in store.referrals_of_person(person_id)? {
            let issued = DateTime::parse_from_rfc3339(&r.issued_at)
                .map(|t| t.with_timezone(&chrono_tz::Europe::Sofia).date_naive());
            if issued.is_ok_and(|d| d == day)
                && ctx.can_read(r.access_class())
                && !ids.iter().any(|(_, id)| *id == r.id)
            {
                ids.push((r.issued_at.clone(), r.id));
            }
        }
    }
    ids.sort();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReferralDetail {
    #[serde(flatten)]
    pub view: ReferralView,
    pub history: Vec<HistoryLine>,
    /// Statuses this referral may move to now, with their labels.
    pub next: Vec<StatusChoice>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct HistoryLine {
    pub status: ReferralStatus,
    pub status_label: String,
    pub at: DateTime<Utc>,
    pub by: String,
    pub note: Option<String>,
}

/// A status a referral may move to, as a button shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct StatusChoice {
    pub status: ReferralStatus,
    pub label: String,
}

fn next_statuses(current: ReferralStatus, lang: Lang) -> Vec<StatusChoice> {
    ReferralStatus::ALL
        .iter()
        .filter(|s| current.may_become(**s))
        .map(|&status| StatusChoice {
            status,
            label: status.label(lang).to_string(),
        })
        .collect()
}

pub fn detail(store: &Store, ctx: &Context, id: Uuid) -> Result<ReferralDetail, ServiceError> {
    let referral = readable(store, ctx, id)?;
    let summary = store
        .referrals_of_person(referral.person_id)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(ServiceError::Store(kabinet_store::StoreError::NotFound {
            kind: "referral",
            id: id.to_string(),
        }))?;
    let days = store.directory()?.follow_up_days;
    Ok(ReferralDetail {
        view: ReferralView::with_days(summary, ctx.lang, ctx.now, &days),
        history: referral
            .history
            .iter()
            .map(|c| HistoryLine {
                status: c.status,
                status_label: c.status.label(ctx.lang).to_string(),
                at: c.at,
                by: c.by.clone(),
                note: c.note.clone(),
            })
            .collect(),
        next: next_statuses(referral.status(), ctx.lang),
    })
}

/// Finds a referral by its printed code (any spacing or dashes; the check digit catches typos).
pub fn by_code(store: &Store, ctx: &Context, code: &str) -> Result<ReferralDetail, ServiceError> {
    let code = ReferralCode::parse(code)
        .map_err(|e| ServiceError::Invalid(kabinet_core::ValidationErrors(vec![e])))?;
    let found = store.referral_by_code(&code)?.ok_or(ServiceError::Store(
        kabinet_store::StoreError::NotFound {
            kind: "referral",
            id: code.to_string(),
        },
    ))?;
    // A hidden referral is answered exactly as a code that was never issued: by the code the
    // caller typed, never by the referral's id.
    detail(store, ctx, found.id).map_err(|e| match e {
        ServiceError::Hidden { kind, class, .. } => ServiceError::Hidden {
            kind,
            id: code.to_string(),
            class,
        },
        other => other,
    })
}

#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct StatusUpdate {
    pub id: Uuid,
    /// attended | completed | declined | lost_to_follow_up
    pub status: String,
    /// Free text: what happened, the outcome.
    #[serde(default)]
    #[ts(optional)]
    pub note: Option<String>,
}

/// Moves a referral on; the change is a new entry in its history (a CRDT list), so a cabinet
/// and the hub recording at the same time both keep theirs.
pub fn update(
    store: &mut Store,
    ctx: &Context,
    u: &StatusUpdate,
) -> Result<ReferralDetail, ServiceError> {
    let status = ReferralStatus::parse(&u.status)
        .map_err(|e| ServiceError::Invalid(kabinet_core::ValidationErrors(vec![e])))?;
    let note = u
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(2000).collect::<String>());
    let mut referral = readable(store, ctx, u.id)?;
    if !ctx.can_write(referral.access_class()) {
        return Err(ServiceError::Forbidden);
    }
    referral
        .advance(StatusChange {
            status,
            at: ctx.now,
            by: ctx.user.clone(),
            note,
        })
        .map_err(|e| ServiceError::Invalid(kabinet_core::ValidationErrors(vec![e])))?;
    store.write(Origin::Local, |w| w.put_referral(&referral))?;
    detail(store, ctx, u.id)
}

/// Open referrals past their follow-up time (per urgency, from the hub's directory), the
/// longest overdue first: the mediators' and the cabinet's worklist.
pub fn follow_up(store: &Store, ctx: &Context) -> Result<Vec<ReferralView>, ServiceError> {
    let days = store.directory()?.follow_up_days;
    let mut due: Vec<ReferralView> = store
        .open_referrals(10_000)?
        .into_iter()
        .filter(|r| ctx.can_read(r.access_class()))
        .map(|r| ReferralView::with_days(r, ctx.lang, ctx.now, &days))
        .filter(|r| r.overdue)
        .collect();
    // No outreach to people who withdrew their consent.
    let mut withdrawn = std::collections::HashMap::new();
    due.retain(|r| {
        !*withdrawn.entry(r.person_id).or_insert_with(|| {
            store
                .person(r.person_id)
                .is_ok_and(|p| p.consent_withdrawn())
        })
    });
    due.sort_by(|a, b| a.issued_at.cmp(&b.issued_at));
    Ok(due)
}
