//! Fields changed in two places while apart: shown on the record with every value, settled by
//! a user who may edit (the choice is a change of its own that syncs), and — for what is
//! clinically significant (identity fields, screening results) — listed for review at the hub.
//! Other fields read Automerge's winner, with the note on the record.

use crate::{Context, CorrectionView, FieldConflict, PersonRecord, ReviewItem, ServiceError};
use crate::{field_label, person_record, sofia_today};
use kabinet_core::{AccessClass, Lang, Person, ScreeningKind, Visit};
use kabinet_store::{DocKind, Origin, Store, results_doc_id};
use serde_json::Value;
use uuid::Uuid;

/// A value as the conflict card shows it.
fn shown(field: &str, v: &Value, lang: Lang) -> String {
    match (field, v) {
        // Inside a birth date: an estimated year, or an exact date.
        ("birth_date", Value::Number(n)) => format!("~{n}"),
        ("birth_date", Value::String(d)) => kabinet_core::person::parse_date(d)
            .map_or_else(|| d.clone(), |d| d.format("%d.%m.%Y").to_string()),
        ("birth_date", _) => serde_json::from_value::<kabinet_core::BirthDate>(v.clone())
            .map_or_else(|_| v.to_string(), |b| b.display()),
        ("sex", Value::String(s)) => match kabinet_core::Sex::parse(s) {
            Ok(kabinet_core::Sex::F) => lang.pick("жена", "female").to_string(),
            Ok(kabinet_core::Sex::M) => lang.pick("мъж", "male").to_string(),
            Err(_) => s.clone(),
        },
        (_, Value::String(s)) => s.clone(),
        (_, Value::Null) => "—".to_string(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        _ => v.to_string(),
    }
}

/// A person's fields changed apart, with every value and the corrections that made them.
pub(crate) fn field_conflicts(
    store: &Store,
    person: &Person,
    lang: Lang,
) -> Result<Vec<FieldConflict>, ServiceError> {
    Ok(store
        .conflict_values(person.id)?
        .into_iter()
        .map(|(path, values)| {
            // A field kept as a map (a birth date) conflicts inside it.
            let top = path.split('.').next().unwrap_or_default().to_string();
            let field = kabinet_core::Field::by_key(&top);
            FieldConflict {
                doc_id: person.id,
                label: field.map_or_else(|| path.clone(), |f| f.label(lang).to_string()),
                identity: field.is_some_and(|f| kabinet_core::person::IDENTITY_FIELDS.contains(&f)),
                values: values.iter().map(|v| shown(&top, v, lang)).collect(),
                edits: person
                    .corrections
                    .iter()
                    .filter(|c| c.fields.contains(&top))
                    .map(|c| CorrectionView::of(c, lang))
                    .collect(),
                field: path,
            }
        })
        .collect())
}

/// The screening a conflicting path of a visit's or results' document is in
/// (`screenings.glucose.value` → glucose), if it is one.
fn screening_of(path: &str) -> Option<ScreeningKind> {
    let mut parts = path.split('.');
    (parts.next() == Some("screenings"))
        .then(|| parts.next().and_then(ScreeningKind::parse))
        .flatten()
}

/// "Кръвна захар · 02.12.2026": a screening of a visit, as conflicts and reviews name it.
fn screening_label(kind: ScreeningKind, visit: &Visit, lang: Lang) -> String {
    format!(
        "{} · {}",
        kind.label(lang),
        sofia_today(visit.at).format("%d.%m.%Y")
    )
}

/// The documents of a visit the caller may read: the visit's own and its readable results'.
fn readable_documents(visit_id: Uuid, ctx: &Context) -> Vec<Uuid> {
    let mut docs = vec![visit_id];
    docs.extend(
        AccessClass::ALL
            .iter()
            .filter(|c| **c != AccessClass::General && ctx.can_read(**c))
            .map(|c| results_doc_id(visit_id, *c)),
    );
    docs
}

/// Screening results of a person's visits changed apart, in the documents the caller may
/// read, with every value. All of them are clinically significant: each is on the review list.
pub(crate) fn visit_conflicts(
    store: &Store,
    ctx: &Context,
    visits: &[Visit],
) -> Result<Vec<FieldConflict>, ServiceError> {
    let mut out = Vec::new();
    for visit in visits {
        for doc_id in readable_documents(visit.id, ctx) {
            // The projection says which documents have any: most have none and stay unloaded.
            if store.listed_conflicts(doc_id)?.is_empty() {
                continue;
            }
            for (path, values) in store.conflict_values(doc_id)? {
                let Some(kind) = screening_of(&path) else {
                    continue;
                };
                let noted = if kind.access_class() == AccessClass::General {
                    kind.as_str()
                } else {
                    "results"
                };
                let leaf = path.rsplit('.').next().unwrap_or_default();
                out.push(FieldConflict {
                    doc_id,
                    label: screening_label(kind, visit, ctx.lang),
                    identity: true,
                    values: values.iter().map(|v| shown(leaf, v, ctx.lang)).collect(),
                    edits: visit
                        .corrections
                        .iter()
                        .filter(|c| c.fields.iter().any(|f| f == noted))
                        .map(|c| CorrectionView::of(c, ctx.lang))
                        .collect(),
                    field: path,
                });
            }
        }
    }
    Ok(out)
}

/// Settles a field changed apart on one of its values (`choice`, as `FieldConflict::values`
/// lists them): a change of its own that syncs. `doc_id` names the document when it is not
/// the person's own (a visit's, or a result's: the caller must be allowed to write its class).
pub fn settle_conflict(
    store: &mut Store,
    ctx: &Context,
    person_id: Uuid,
    doc_id: Option<Uuid>,
    field: &str,
    choice: usize,
) -> Result<PersonRecord, ServiceError> {
    // Who may edit at all, first: nothing below answers a caller who may not.
    if !ctx.can_write(AccessClass::General) {
        return Err(ServiceError::Forbidden);
    }
    let doc_id = doc_id.unwrap_or(person_id);
    let not_found = || {
        ServiceError::Store(kabinet_store::StoreError::NotFound {
            kind: "document",
            id: doc_id.to_string(),
        })
    };
    let Some((kind, class, parent)) = store.document_meta(doc_id)? else {
        return Err(not_found());
    };
    // A document of a class the caller may not read is answered as if it did not exist,
    // before anything else is said about it (results ids can be worked out from a visit's).
    if !ctx.can_read(class) {
        return Err(ServiceError::Hidden {
            kind: "document",
            id: doc_id.to_string(),
            class,
        });
    }
    if !ctx.can_write(class) {
        return Err(ServiceError::Forbidden);
    }
    // Only a person's record, their visits and their results are settled here, and only the
    // person's own: their record, one of their visits or its results.
    let visit_of = match kind {
        DocKind::Person => None,
        DocKind::Visit => Some(doc_id),
        DocKind::Results => parent,
        _ => return Err(not_found()),
    };
    let belongs = match visit_of {
        None => doc_id == person_id,
        Some(visit_id) => {
            let owner = store.visit(visit_id)?.person_id;
            store.survivor_of(owner)?.unwrap_or(owner)
                == store.survivor_of(person_id)?.unwrap_or(person_id)
        }
    };
    if !belongs {
        return Err(ServiceError::BadRequest(format!(
            "{doc_id}: not a record of person {person_id}"
        )));
    }
    let values = store
        .conflict_values(doc_id)?
        .into_iter()
        .find(|(path, _)| path == field)
        .map(|(_, values)| values)
        .unwrap_or_default();
    let Some(value) = values.get(choice) else {
        return Err(ServiceError::BadRequest(format!(
            "{field}: no value {choice} to choose (the field may have been settled already)"
        )));
    };
    store.set_audit_user(Some(ctx.user.clone()));
    store.write(Origin::Local, |w| {
        w.settle_field(doc_id, kind, field, value)?;
        // A person's settled field is noted among their corrections; a visit's is on the
        // audit chain (the settle is an edit of that document).
        if kind == DocKind::Person
            && let Some(mut person) = w.person(person_id)?
        {
            person.corrections.push(kabinet_core::person::Correction {
                at: ctx.now,
                by: ctx.user.clone(),
                fields: vec![field.to_string()],
                reason: ctx
                    .lang
                    .pick(
                        "избрана стойност след промени на две места",
                        "value chosen after changes in two places",
                    )
                    .to_string(),
            });
            w.put_person(&person)?;
        }
        Ok(())
    })?;
    person_record(store, ctx, person_id)
}

/// The hub's "to review" worklist: persons whose ЕГН, ЛНЧ, birth date or sex were changed
/// apart, and screening results changed apart in the documents the caller may read (other
/// fields settle on Automerge's winner, with a note on the record). One item per person
/// (a merged record's under its survivor), in the order of their documents.
pub fn to_review(store: &Store, ctx: &Context) -> Result<Vec<ReviewItem>, ServiceError> {
    let keys: Vec<&str> = kabinet_core::person::IDENTITY_FIELDS
        .iter()
        .map(|f| f.key())
        .collect();
    let mut found: Vec<(Uuid, Vec<String>)> = store
        .persons_to_review(&keys)?
        .into_iter()
        .map(|(id, fields)| {
            let labels = fields.iter().map(|k| field_label(k, ctx.lang)).collect();
            (id, labels)
        })
        .collect();
    for doc in store.conflicted_documents(&[DocKind::Visit, DocKind::Results])? {
        if !ctx.can_read(doc.class) {
            continue;
        }
        let visit_id = match doc.kind {
            DocKind::Visit => doc.doc_id,
            _ => match doc.parent {
                Some(v) => v,
                None => continue,
            },
        };
        // A results document whose visit this store does not hold cannot be named; it is
        // left out rather than failing the whole list.
        let Ok(visit) = store.visit(visit_id) else {
            continue;
        };
        let mut labels: Vec<String> = doc
            .paths
            .iter()
            .filter_map(|p| screening_of(p))
            .map(|kind| screening_label(kind, &visit, ctx.lang))
            .collect();
        labels.dedup();
        if labels.is_empty() {
            continue;
        }
        let person = store
            .survivor_of(visit.person_id)?
            .unwrap_or(visit.person_id);
        match found.iter_mut().find(|(id, _)| *id == person) {
            Some((_, fields)) => fields.extend(labels),
            None => found.push((person, labels)),
        }
    }
    found
        .into_iter()
        .map(|(id, fields)| {
            Ok(ReviewItem {
                person_id: id,
                full_name: store.person(id)?.full_name(),
                fields,
            })
        })
        .collect()
}
