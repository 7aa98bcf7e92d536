//! A saved visit corrected (a value or its unit, a screening added) or marked "entered in
//! error". Both are changes of the visit's documents, so they sync and merge like any edit;
//! a correction of a sensitive result lands in that result's own document (its class does not
//! change), and the visit keeps who corrected what, when and why.

use crate::{
    Context, IssuedReferral, PersonRecord, ReferralChoice, ServiceError, issue, parse_choices,
    person_record, sofia_today,
};
use chrono::{DateTime, Utc};
use kabinet_core::{
    AccessClass, Field, Problem, ReferralStatus, ScreeningKind, Screenings, StatusChange,
    ValidationError, ValidationErrors, Visit, VisitForm,
};
use kabinet_store::{Origin, Store};
use serde::Serialize;
use uuid::Uuid;

/// The longest reason for a correction or a void.
const REASON_MAX: usize = 300;

/// A recorded visit as its correction starts: the form with what the user may read.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VisitEdit {
    pub visit_id: Uuid,
    pub person_id: Uuid,
    pub at: DateTime<Utc>,
    pub form: VisitForm,
    pub voided: bool,
    /// The visit's open referrals the user may read: a correction may cancel them.
    pub open_referrals: Vec<OpenReferral>,
}

/// An open referral of a visit being corrected.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct OpenReferral {
    pub id: Uuid,
    pub code: String,
    /// "Кръвна захар → Лекар (Хъб)".
    pub label: String,
    /// The rule it follows, if any: when the corrected values no longer fire it, the screen
    /// offers to cancel it.
    pub finding: Option<String>,
}

/// A visit corrected: the referrals issued and cancelled with it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CorrectedVisit {
    pub visit_id: Uuid,
    /// The screenings changed, by name (a sensitive one the user reads is named too).
    pub changed: Vec<String>,
    pub referrals: Vec<IssuedReferral>,
    pub cancelled: Vec<Uuid>,
}

fn reason_of(reason: &str) -> Result<String, ServiceError> {
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let problem = if reason.is_empty() {
        Problem::Required
    } else if reason.chars().count() > REASON_MAX {
        Problem::TooLong { max: REASON_MAX }
    } else {
        return Ok(reason);
    };
    Err(ServiceError::Invalid(ValidationErrors(vec![
        ValidationError::new(Field::EditReason, problem),
    ])))
}

/// The form a correction of `visit_id` starts from.
pub fn visit_for_correction(
    store: &Store,
    ctx: &Context,
    visit_id: Uuid,
) -> Result<VisitEdit, ServiceError> {
    let mut visit = store.visit(visit_id)?;
    for kind in visit.screenings.kinds() {
        if !ctx.can_read(kind.access_class()) {
            visit.screenings.remove(kind);
        }
    }
    let open_referrals = open_referrals_of(store, &visit)?
        .into_iter()
        .filter(|r| ctx.can_read(r.access_class()))
        .map(|r| OpenReferral {
            id: r.id,
            code: r.code.to_string(),
            label: format!(
                "{} → {}",
                r.reason.label(ctx.lang),
                r.destination.label(ctx.lang)
            ),
            finding: r.finding,
        })
        .collect();
    Ok(VisitEdit {
        visit_id,
        person_id: visit.person_id,
        at: visit.at,
        form: VisitForm::of(&visit.screenings, visit.pregnant),
        voided: visit.voided.is_some(),
        open_referrals,
    })
}

/// The open referrals issued at `visit`.
pub fn open_referrals_of(
    store: &Store,
    visit: &Visit,
) -> Result<Vec<kabinet_core::Referral>, ServiceError> {
    let mut open = Vec::new();
    for summary in store.referrals_of_person(visit.person_id)? {
        let r = store.referral(summary.id)?;
        if r.visit_id == visit.id && r.status().is_open() {
            open.push(r);
        }
    }
    Ok(open)
}

/// One screening kind of `s`, alone.
fn part(s: &Screenings, kind: ScreeningKind) -> Screenings {
    let mut all = s.clone();
    for other in s.kinds() {
        if other != kind {
            all.remove(other);
        }
    }
    all
}

/// Corrects a visit with the form as edited. A screening the user may not read is kept as
/// it was (they never saw it); one they changed must be of a class they may write. A reason
/// is required. The rules run again on the corrected values: the referrals the user confirms
/// are issued, and open ones they choose to cancel are cancelled with the reason.
pub fn correct_visit(
    store: &mut Store,
    ctx: &Context,
    visit_id: Uuid,
    form: &VisitForm,
    reason: &str,
    choices: &[ReferralChoice],
    cancel: &[Uuid],
) -> Result<CorrectedVisit, ServiceError> {
    if !ctx.can_write(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let old = store.visit(visit_id)?;
    if old.voided.is_some() {
        return Err(ServiceError::BadRequest(
            ctx.lang
                .pick(
                    "посещението е отбелязано като въведено по грешка; не се поправя",
                    "the visit is marked as entered in error; it is not corrected",
                )
                .into(),
        ));
    }
    let reason = reason_of(reason)?;
    // What the user may read is the form; what they may not stays as it was.
    let mut parts = vec![form.screenings().map_err(ServiceError::Invalid)?];
    for kind in parts[0].kinds() {
        if !ctx.can_read(kind.access_class()) {
            parts[0].remove(kind);
        }
    }
    for kind in old.screenings.kinds() {
        if !ctx.can_read(kind.access_class()) {
            parts.push(part(&old.screenings, kind));
        }
    }
    let screenings = Screenings::join(parts);

    let mut changed: Vec<ScreeningKind> = ScreeningKind::ALL
        .iter()
        .copied()
        .filter(|k| part(&old.screenings, *k) != part(&screenings, *k))
        .collect();
    changed.sort();
    let mut errors = Vec::new();
    for kind in &changed {
        if !ctx.can_write(kind.access_class()) {
            errors.push(ValidationError::new(
                Field::ReferralReason,
                Problem::NotForYourRole {
                    class: kind.access_class().as_str(),
                },
            ));
        }
    }
    let mut visit = old.clone();
    visit.screenings = screenings;
    visit.pregnant = form.pregnant;
    let person = store.person(visit.person_id)?;
    let who = kabinet_core::Subject::of(&person, sofia_today(visit.at), form.pregnant)
        .unwrap_or_else(|e| {
            errors.push(e);
            kabinet_core::Subject::default()
        });
    if let Err(e) = visit.check(ctx.now) {
        errors.extend(e.0);
    }
    let parsed = parse_choices(ctx, choices, &visit.screenings, &who, &mut errors);
    // Only open referrals of this visit, of a class the user may write, can be cancelled.
    let mut to_cancel = Vec::new();
    for id in cancel {
        let referral = store.referral(*id)?;
        if referral.visit_id != visit_id
            || !referral.status().is_open()
            || !ctx.can_write(referral.access_class())
        {
            errors.push(ValidationError::new(
                Field::ReferralStatus,
                Problem::StatusTransition {
                    from: referral.status().as_str(),
                    to: ReferralStatus::Cancelled.as_str(),
                },
            ));
        } else {
            to_cancel.push(referral);
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Invalid(ValidationErrors(errors)));
    }
    if changed.is_empty()
        && parsed.is_empty()
        && to_cancel.is_empty()
        && !pregnancy_changed(&old, &visit)
    {
        return Ok(CorrectedVisit {
            visit_id,
            changed: Vec::new(),
            referrals: Vec::new(),
            cancelled: Vec::new(),
        });
    }
    // The visit's own document is read by every role that reads the visit: a sensitive
    // result's correction is named there only as "results".
    let mut fields: Vec<String> = changed
        .iter()
        .map(|k| {
            if k.access_class() == AccessClass::General {
                k.as_str().to_string()
            } else {
                "results".to_string()
            }
        })
        .collect();
    fields.dedup();
    visit.corrections.push(kabinet_core::person::Correction {
        at: ctx.now,
        by: ctx.user.clone(),
        fields,
        reason: reason.clone(),
    });
    store.set_audit_user(Some(ctx.user.clone()));
    let (issued, cancelled) = store.write(Origin::Local, |w| {
        w.put_visit(&visit)?;
        let issued = issue(w, ctx, &visit, &parsed)?;
        let mut cancelled = Vec::new();
        for mut referral in to_cancel {
            referral.history.push(cancellation(ctx, &reason));
            w.put_referral(&referral)?;
            cancelled.push(referral.id);
        }
        Ok((issued, cancelled))
    })?;
    Ok(CorrectedVisit {
        visit_id,
        changed: changed
            .iter()
            .map(|k| k.label(ctx.lang).to_string())
            .collect(),
        referrals: issued,
        cancelled,
    })
}

fn pregnancy_changed(old: &Visit, new: &Visit) -> bool {
    old.pregnant != new.pregnant
}

fn cancellation(ctx: &Context, reason: &str) -> StatusChange {
    StatusChange {
        status: ReferralStatus::Cancelled,
        at: ctx.now,
        by: ctx.user.clone(),
        note: Some(reason.to_string()),
    }
}

/// Marks a visit as entered in error: it stays in the history (and its results documents),
/// leaves the counts, and its open referrals are cancelled with the reason. Refused when an
/// open referral is of a class the user may not write (someone who may must do it).
pub fn void_visit(
    store: &mut Store,
    ctx: &Context,
    visit_id: Uuid,
    reason: &str,
) -> Result<PersonRecord, ServiceError> {
    if !ctx.can_write(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let reason = reason_of(reason)?;
    let mut visit = store.visit(visit_id)?;
    if visit.voided.is_some() {
        return person_record(store, ctx, visit.person_id);
    }
    let open = open_referrals_of(store, &visit)?;
    for referral in &open {
        if !ctx.can_write(referral.access_class()) {
            return Err(ServiceError::Invalid(ValidationErrors(vec![
                ValidationError::new(
                    Field::ReferralStatus,
                    Problem::NotForYourRole {
                        class: referral.access_class().as_str(),
                    },
                ),
            ])));
        }
    }
    visit.voided = Some(kabinet_core::visit::Voided {
        at: ctx.now,
        by: ctx.user.clone(),
        reason: reason.clone(),
    });
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| {
        w.put_visit(&visit)?;
        for mut referral in open {
            referral.history.push(cancellation(ctx, &reason));
            w.put_referral(&referral)?;
        }
        Ok(())
    })?;
    person_record(store, ctx, visit.person_id)
}
