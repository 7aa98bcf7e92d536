//! FHIR R4 out (`kabinet_fhir` spells the resources): one person's record as a Bundle for the
//! screen, and the whole store (or what changed since a day) written as one transaction
//! Bundle for the health authorities. Only the classes the exporter's roles read go in; every
//! export is on the audit log.

use crate::{Context, ServiceError};
use chrono::{DateTime, Utc};
use kabinet_core::person::ConsentState;
use kabinet_core::{AccessClass, AuditAction, Role};
use kabinet_fhir::{BundleWriter, Exporter, Resource};
use kabinet_store::{DocKind, Store};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use uuid::Uuid;

/// The classes `ctx`'s roles read; the terminal (no roles) reads what its store holds.
fn classes(ctx: &Context) -> Vec<AccessClass> {
    AccessClass::ALL
        .iter()
        .copied()
        .filter(|c| ctx.can_read(*c))
        .collect()
}

fn exporter(ctx: &Context) -> Result<Exporter, ServiceError> {
    if !ctx.can_read(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    Ok(Exporter::new(ctx.lang, classes(ctx)))
}

/// The sensitive classes an export may have held, as the audit log names them.
fn audited_classes(ctx: &Context) -> String {
    let mut names: Vec<&str> = classes(ctx)
        .into_iter()
        .filter(|c| *c != AccessClass::General)
        .map(|c| c.as_str())
        .collect();
    names.sort_unstable();
    if names.is_empty() {
        "fhir".into()
    } else {
        format!("fhir/{}", names.join(","))
    }
}

/// One person's resources: their own Patient and Consent, every visit and referral recorded
/// under their id, and the same for every record merged into theirs (so that each reference
/// in the Bundle is to a resource in it).
fn person_resources(
    store: &Store,
    e: &Exporter,
    person_id: Uuid,
    out: &mut dyn FnMut(&Resource) -> std::io::Result<()>,
) -> Result<(), ServiceError> {
    let person = store.person(person_id)?;
    for r in e.person(&person) {
        out(&r)?;
    }
    let mut visits = BTreeMap::new();
    for id in store.visit_ids_of(person_id)? {
        let v = store.visit(id)?;
        for r in e.visit(&v) {
            out(&r)?;
        }
        visits.insert(id, v);
    }
    for id in store.referral_ids_of(person_id)? {
        let referral = store.referral(id)?;
        let visit = match visits.get(&referral.visit_id) {
            Some(v) => Some(v.clone()),
            None => store.visit(referral.visit_id).ok(),
        };
        for r in e.referral(&referral, visit.as_ref()) {
            out(&r)?;
        }
    }
    Ok(())
}

/// The persons a person's record is made of: them, and whoever was merged into them.
fn with_merged(store: &Store, person_id: Uuid) -> Result<Vec<Uuid>, ServiceError> {
    let mut ids = vec![person_id];
    ids.extend(store.merged_into(person_id)?);
    Ok(ids)
}

/// A person's record as a transaction Bundle, for the person's own copy (GDPR art. 15 and 20)
/// or a receiving clinic: asked for by id, answered for the survivor when merged.
pub fn person_bundle(
    store: &mut Store,
    ctx: &Context,
    id: Uuid,
) -> Result<serde_json::Value, ServiceError> {
    let e = exporter(ctx)?;
    let id = store.survivor_of(id)?.unwrap_or(id);
    let mut resources = Vec::new();
    for person_id in with_merged(store, id)? {
        person_resources(store, &e, person_id, &mut |r| {
            resources.push(r.clone());
            Ok(())
        })?;
    }
    store.audit_event(AuditAction::Export, &id.to_string(), &audited_classes(ctx))?;
    Ok(kabinet_fhir::bundle(&resources, ctx.now))
}

/// What a whole export wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ExportSummary {
    pub persons: usize,
    /// Resources written, by type.
    pub resources: BTreeMap<&'static str, usize>,
    /// Persons left out because they withdrew their consent to the processing of their data.
    pub withdrawn: usize,
}

impl ExportSummary {
    pub fn total(&self) -> usize {
        self.resources.values().sum()
    }
}

/// The whole store (or the persons something was written about since `since`) as one
/// transaction Bundle on `out`, written as it goes. A person who withdrew consent to the
/// processing of their data is left out, with everything recorded about them: an export to a
/// third party is processing (their own copy is `person_bundle`).
pub fn export_bundle(
    store: &mut Store,
    ctx: &Context,
    since: Option<DateTime<Utc>>,
    out: impl Write,
) -> Result<ExportSummary, ServiceError> {
    let e = exporter(ctx)?;
    let persons: Vec<Uuid> = match since {
        None => store.document_ids(DocKind::Person)?,
        Some(t) => store.persons_touched_since(t)?,
    };
    let mut summary = ExportSummary::default();
    let mut writer = BundleWriter::start(out, ctx.now)?;
    let mut done = HashSet::new();
    for person_id in persons {
        // A merged duplicate's records go with it, under its own id, wherever it comes.
        if !done.insert(person_id) {
            continue;
        }
        let person = store.person(person_id)?;
        if person
            .consent
            .as_ref()
            .is_some_and(|c| c.state == ConsentState::Withdrawn)
        {
            summary.withdrawn += 1;
            continue;
        }
        person_resources(store, &e, person_id, &mut |r| writer.put(r))?;
        summary.persons += 1;
    }
    let (_, counts) = writer.finish()?;
    summary.resources = counts;
    store.audit_event(
        AuditAction::Export,
        &match since {
            Some(t) => format!("all since {}", t.to_rfc3339()),
            None => "all".into(),
        },
        &audited_classes(ctx),
    )?;
    Ok(summary)
}

/// The classes an export for `role` holds, for the operator's `--role`.
pub fn role_classes(role: Role) -> BTreeSet<AccessClass> {
    AccessClass::ALL
        .iter()
        .copied()
        .filter(|c| role.can_read(*c))
        .collect()
}
