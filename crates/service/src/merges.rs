//! Two records of one person: the review queue of probable duplicates, "not the same person",
//! merge and unmerge. A merge writes only the duplicate's own record (a pointer to the
//! survivor, who, when, why): no visit or result is rewritten, so it needs no access to any
//! sensitive class, and an unmerge clears the pointer again.

use crate::{Context, PersonRecord, ServiceError, person_record};
use kabinet_core::duplicates::{self, Candidate};
use kabinet_core::person::{Correction, MergedInto, NotSamePerson};
use kabinet_core::{AccessClass, Field, Person, Problem, ValidationError, ValidationErrors};
use kabinet_store::{Origin, PersonHit, Store};
use serde::Serialize;
use uuid::Uuid;

/// The longest reason for a merge or unmerge.
const REASON_MAX: usize = 300;
/// The pairs a review screen shows at once, best first (the total is given beside).
pub const DEFAULT_LIMIT: usize = 200;

/// A probable duplicate pair, as the review queue shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DuplicatePair {
    pub a: PersonHit,
    pub b: PersonHit,
    /// 0–100; 100 only for a shared ЕГН or ЛНЧ.
    pub score: u8,
    /// The same ЕГН or ЛНЧ.
    pub certain: bool,
    /// Why the pair looks like one person, as sentences in the caller's language.
    pub evidence: Vec<String>,
}

/// The review queue: the best pairs and how many there are in all.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DuplicateList {
    pub pairs: Vec<DuplicatePair>,
    pub total: usize,
}

/// A record merged into a person's, as the survivor's record lists it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MergedView {
    pub id: Uuid,
    pub full_name: String,
    pub birth: String,
    /// dd.mm.yyyy HH:MM, Sofia time; empty when merged through another record.
    pub at: String,
    pub by: String,
    pub reason: String,
}

impl MergedView {
    pub fn of(p: &Person) -> MergedView {
        let m = p.merged_into.as_ref();
        MergedView {
            id: p.id,
            full_name: p.full_name(),
            birth: p.birth_date.display(),
            at: m.map_or_else(String::new, |m| {
                m.at.with_timezone(&chrono_tz::Europe::Sofia)
                    .format("%d.%m.%Y %H:%M")
                    .to_string()
            }),
            by: m.map(|m| m.by.clone()).unwrap_or_default(),
            reason: m.map(|m| m.reason.clone()).unwrap_or_default(),
        }
    }
}

fn invalid(field: Field, problem: Problem) -> ServiceError {
    ServiceError::Invalid(ValidationErrors(vec![ValidationError::new(field, problem)]))
}

/// A reason as given, whitespace collapsed; required and bounded.
fn reason_of(reason: &str) -> Result<String, ServiceError> {
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.is_empty() {
        return Err(invalid(Field::EditReason, Problem::Required));
    }
    if reason.chars().count() > REASON_MAX {
        return Err(invalid(
            Field::EditReason,
            Problem::TooLong { max: REASON_MAX },
        ));
    }
    Ok(reason)
}

fn may_edit(ctx: &Context) -> Result<(), ServiceError> {
    if ctx.can_write(AccessClass::General) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// Probable duplicate pairs among the persons this store holds (merged records left out,
/// pairs judged "not the same person" too), best first; at most `limit` of them.
pub fn possible_duplicates(
    store: &Store,
    ctx: &Context,
    limit: usize,
) -> Result<DuplicateList, ServiceError> {
    if !ctx.can_read(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let candidates = store.duplicate_candidates()?;
    let found = duplicates::find(&candidates, &store.dismissed_pairs()?);
    let total = found.len();
    let mut pairs = Vec::with_capacity(total.min(limit));
    for l in found.into_iter().take(limit) {
        let (Some(a), Some(b)) = (store.person_hit(l.a)?, store.person_hit(l.b)?) else {
            continue;
        };
        pairs.push(DuplicatePair {
            a,
            b,
            score: (l.score * 100.0).round() as u8,
            certain: l.certain(),
            evidence: l.evidence.iter().map(|e| e.describe(ctx.lang)).collect(),
        });
    }
    Ok(DuplicateList { pairs, total })
}

/// The finder's view of a person, from their record.
fn candidate(p: &Person) -> Candidate {
    Candidate::new(
        p.id,
        &p.full_name(),
        p.sex,
        p.birth_date.year(),
        match p.birth_date {
            kabinet_core::BirthDate::Exact(d) => Some(d),
            kabinet_core::BirthDate::EstimatedYear(_) => None,
        },
        p.egn.as_ref().map(|e| e.as_str().to_string()),
        p.lnch.as_ref().map(|l| l.as_str().to_string()),
        p.phone.as_ref().map(|x| x.as_str().to_string()),
        p.neighbourhood.clone(),
    )
}

/// Merges `duplicate` into `survivor`: the duplicate's record points at the survivor (who,
/// when, why) and every view shows the survivor with both histories. Refused for two
/// different ЕГН or ЛНЧ, for a record already merged, and for a merge into itself.
pub fn merge_persons(
    store: &mut Store,
    ctx: &Context,
    survivor: Uuid,
    duplicate: Uuid,
    reason: &str,
) -> Result<PersonRecord, ServiceError> {
    may_edit(ctx)?;
    // A survivor that was itself merged stands for its own survivor.
    let survivor = store.survivor_of(survivor)?.unwrap_or(survivor);
    if survivor == duplicate {
        return Err(invalid(Field::MergeDuplicate, Problem::MergeWithItself));
    }
    let kept = store.person(survivor)?;
    let mut merged = store.person(duplicate)?;
    if merged.merged_into.is_some() {
        return Err(invalid(Field::MergeDuplicate, Problem::AlreadyMerged));
    }
    // Every record of either side counts, the ones merged into each before included: a chain
    // of merges must not make one person of two ЕГН.
    let group = |store: &Store, head: &Person| -> Result<Vec<Candidate>, ServiceError> {
        let mut members = vec![candidate(head)];
        for id in store.merged_into(head.id)? {
            members.push(candidate(&store.person(id)?));
        }
        Ok(members)
    };
    let (kept_side, merged_side) = (group(store, &kept)?, group(store, &merged)?);
    for a in &kept_side {
        for b in &merged_side {
            if duplicates::identifiers_differ(a, b) {
                let identifier = if a.egn.is_some() && b.egn.is_some() && a.egn != b.egn {
                    "ЕГН"
                } else {
                    "ЛНЧ"
                };
                return Err(invalid(
                    Field::MergeSurvivor,
                    Problem::MergeIdentifiersDiffer { identifier },
                ));
            }
        }
    }
    let reason = reason_of(reason)?;
    merged.merged_into = Some(MergedInto {
        survivor,
        at: ctx.now,
        by: ctx.user.clone(),
        reason: reason.clone(),
    });
    save_noted(store, ctx, merged, reason)?;
    person_record(store, ctx, survivor)
}

/// Saves a merged or split record with the merge or split noted among its corrections.
fn save_noted(
    store: &mut Store,
    ctx: &Context,
    mut person: Person,
    reason: String,
) -> Result<(), ServiceError> {
    person.corrections.push(Correction {
        at: ctx.now,
        by: ctx.user.clone(),
        fields: vec![MERGED_INTO.to_string()],
        reason,
    });
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| w.put_person(&person))?;
    Ok(())
}

/// The key a merge or unmerge is noted under in the record's corrections.
pub const MERGED_INTO: &str = "merged_into";

/// Undoes a merge: the duplicate's pointer is cleared (the reason noted), and it is a person
/// of its own again, with its own visits and referrals.
pub fn unmerge_person(
    store: &mut Store,
    ctx: &Context,
    duplicate: Uuid,
    reason: &str,
) -> Result<PersonRecord, ServiceError> {
    may_edit(ctx)?;
    let mut merged = store.person(duplicate)?;
    if merged.merged_into.is_none() {
        return Err(invalid(Field::MergeDuplicate, Problem::NotMerged));
    }
    let reason = reason_of(reason)?;
    merged.merged_into = None;
    save_noted(store, ctx, merged, reason)?;
    person_record(store, ctx, duplicate)
}

/// Remembers that two records are two people: the finder no longer suggests the pair. Noted
/// on both records, so either one's device knows it.
pub fn not_same_person(
    store: &mut Store,
    ctx: &Context,
    a: Uuid,
    b: Uuid,
) -> Result<(), ServiceError> {
    may_edit(ctx)?;
    if a == b {
        return Err(invalid(Field::MergeDuplicate, Problem::MergeWithItself));
    }
    let mut first = store.person(a)?;
    let mut second = store.person(b)?;
    let note = |p: &mut Person, other: Uuid| {
        if !p.not_same_as.iter().any(|n| n.other == other) {
            p.not_same_as.push(NotSamePerson {
                other,
                at: ctx.now,
                by: ctx.user.clone(),
            });
        }
    };
    note(&mut first, b);
    note(&mut second, a);
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| {
        w.put_person(&first)?;
        w.put_person(&second)
    })?;
    Ok(())
}

/// The records merged into `survivor`'s, for its record.
pub fn merged_views(store: &Store, survivor: Uuid) -> Result<Vec<MergedView>, ServiceError> {
    store
        .merged_into(survivor)?
        .into_iter()
        .map(|id| Ok(MergedView::of(&store.person(id)?)))
        .collect()
}
