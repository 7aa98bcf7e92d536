//! Query tables derived from the documents. They are written in the transaction that writes
//! the document, and [`Store::rebuild_projections`] recreates all of them from the documents
//! alone, so they can never be the only copy of anything.

use crate::kind::DocKind;
use crate::sql::{Sql, SqlExt};
use crate::{Result, Store, StoreError};
use chrono_tz::Europe::Sofia;
use kabinet_core::duplicates::{MergeEdge, resolve_merges};
use kabinet_core::indicators::ScreeningBits;
use kabinet_core::{Person, Referral, Screenings, Visit};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use uuid::Uuid;

fn shape<T: DeserializeOwned>(doc_id: Uuid, kind: DocKind, json: Json) -> Result<T> {
    serde_json::from_value(json).map_err(|e| StoreError::Shape {
        doc_id,
        kind: kind.name(),
        reason: e.to_string(),
    })
}

/// The projection rows of one document, worked out from its content alone (no database), so
/// that a batch of received documents can be prepared on one thread while another writes.
pub(crate) enum Rows {
    Person {
        person: Box<Person>,
        tokens: Vec<String>,
    },
    Visit {
        visit: Box<Visit>,
        local_day: String,
        bits: ScreeningBits,
    },
    /// A sensitive class's results of a visit: only what the report counts (the kinds
    /// screened and found abnormal, as bits), never a value.
    Results {
        doc_id: Uuid,
        bits: ScreeningBits,
    },
    Referral(Box<Referral>),
    Case(Box<kabinet_core::case::Case>),
    /// The directory and case notes have no query table.
    Nothing,
}

/// The rows of a document of `kind` whose content (with its id) is `json`.
pub(crate) fn prepare(kind: DocKind, doc_id: Uuid, json: Json) -> Result<Rows> {
    Ok(match kind {
        DocKind::Person => {
            let person: Person = shape(doc_id, kind, json)?;
            let tokens = person.search_tokens();
            Rows::Person {
                person: Box::new(person),
                tokens,
            }
        }
        DocKind::Visit => {
            let visit: Visit = shape(doc_id, kind, json)?;
            // "Today" in the van is the day in Pernik, not in UTC.
            let local_day = visit.at.with_timezone(&Sofia).date_naive().to_string();
            let bits = ScreeningBits::of(&visit.screenings, visit.pregnant);
            Rows::Visit {
                visit: Box::new(visit),
                local_day,
                bits,
            }
        }
        DocKind::Referral => Rows::Referral(Box::new(shape(doc_id, kind, json)?)),
        DocKind::Case => Rows::Case(Box::new(shape(doc_id, kind, json)?)),
        // Results are read through their visit; the report's bits are all an index holds of
        // them (docs/threats.md: the report_screening table). A content the report cannot
        // read counts as no screening rather than stopping a sync.
        DocKind::Results => {
            let screenings: Screenings = json
                .get("screenings")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .unwrap_or_default();
            // Pregnancy is the visit's; no rule of a sensitive class depends on it.
            Rows::Results {
                doc_id,
                bits: ScreeningBits::of(&screenings, false),
            }
        }
        // A case's notes are read through the case, by class; no index names them.
        DocKind::Directory | DocKind::CaseNote => Rows::Nothing,
    })
}

/// Writes prepared rows, replacing the document's earlier ones.
pub(crate) fn write(conn: &dyn Sql, rows: &Rows) -> Result<()> {
    match rows {
        Rows::Person { person, tokens } => write_person(conn, person, tokens),
        Rows::Visit {
            visit,
            local_day,
            bits,
        } => {
            write_visit(conn, visit, local_day)?;
            write_screening_bits(conn, visit.id, Some(visit.id), bits)
        }
        Rows::Results { doc_id, bits } => write_screening_bits(conn, *doc_id, None, bits),
        Rows::Referral(referral) => write_referral(conn, referral),
        Rows::Case(case) => write_case(conn, case),
        Rows::Nothing => Ok(()),
    }
}

/// Writes the projection rows of one document from its current content.
pub(crate) fn project(conn: &dyn Sql, kind: DocKind, doc_id: Uuid, json: Json) -> Result<()> {
    write(conn, &prepare(kind, doc_id, json)?)
}

fn write_person(conn: &dyn Sql, p: &Person, tokens: &[String]) -> Result<()> {
    let id = p.id.as_bytes();
    // An upsert, not a replace: a replace deletes and inserts the row, touching every index
    // of the table; an update touches only the indexes of columns that changed (a phone
    // corrected moves one entry of one index).
    conn.exec(
        "INSERT INTO person_index
         (person_id, full_name, latin_name, sex, birth_year, birth_display, egn, lnch, phone, neighbourhood, no_documents,
          data_consent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (person_id) DO UPDATE SET
            full_name = excluded.full_name, latin_name = excluded.latin_name, sex = excluded.sex,
            birth_year = excluded.birth_year, birth_display = excluded.birth_display,
            egn = excluded.egn, lnch = excluded.lnch, phone = excluded.phone,
            neighbourhood = excluded.neighbourhood, no_documents = excluded.no_documents,
            data_consent = excluded.data_consent",
        &[
            &id,
            &p.full_name(),
            &p.latin_name(),
            &p.sex.as_str(),
            &p.birth_date.year(),
            &p.birth_date.display(),
            &p.egn.as_ref().map(|e| e.as_str()),
            &p.lnch.as_ref().map(|l| l.as_str()),
            &p.phone.as_ref().map(|p| p.as_str()),
            &p.neighbourhood,
            &(p.documents == kabinet_core::Documents::NoDocuments),
            &p.consent
                .as_ref()
                .is_some_and(|c| c.state == kabinet_core::person::ConsentState::Given),
        ],
    )?;
    write_merge(conn, p)?;
    write_not_same(conn, p)?;
    // The name's search keys change only when a name does: a correction of a phone or an
    // address leaves them as they are.
    let mut wanted: Vec<&str> = tokens.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let stored: Vec<String> = conn.rows(
        "SELECT token FROM person_name_token WHERE person_id = ?1 ORDER BY token",
        &[&id],
        |r| r.get(0),
    )?;
    if stored.iter().map(String::as_str).eq(wanted.iter().copied()) {
        return Ok(());
    }
    conn.exec("DELETE FROM person_name_token WHERE person_id = ?1", &[&id])?;
    for token in wanted {
        conn.exec(
            "INSERT INTO person_name_token (token, person_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[&token, &id],
        )?;
    }
    Ok(())
}

/// Keeps `person_merge` equal to the person's pointer and, when it changed, `person_alias`
/// equal to the survivors of the merges it is part of.
fn write_merge(conn: &dyn Sql, p: &Person) -> Result<()> {
    let id = p.id.as_bytes().as_slice();
    let stored: Option<(Uuid, String)> = conn.row(
        "SELECT merged_into, at FROM person_merge WHERE person_id = ?1",
        &[&id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let wanted = p
        .merged_into
        .as_ref()
        .map(|m| (m.survivor, m.at.to_rfc3339()));
    if stored == wanted {
        return Ok(());
    }
    match &wanted {
        Some((survivor, at)) => conn.exec(
            "INSERT INTO person_merge (person_id, merged_into, at) VALUES (?1, ?2, ?3)
             ON CONFLICT (person_id) DO UPDATE SET merged_into = excluded.merged_into, at = excluded.at",
            &[&id, survivor, at],
        )?,
        None => conn.exec("DELETE FROM person_merge WHERE person_id = ?1", &[&id])?,
    };
    // The persons the old and the new pointer connect: their survivors may all change.
    let mut starts = vec![p.id];
    starts.extend(stored.map(|(s, _)| s));
    starts.extend(wanted.map(|(s, _)| s));
    realias(conn, &starts)
}

/// Works out again the survivors of every person connected to `starts` by merges.
fn realias(conn: &dyn Sql, starts: &[Uuid]) -> Result<()> {
    let mut seen: std::collections::HashSet<Uuid> = starts.iter().copied().collect();
    let mut queue: Vec<Uuid> = starts.to_vec();
    let mut edges: std::collections::BTreeMap<Uuid, MergeEdge> = Default::default();
    while let Some(node) = queue.pop() {
        let rows = conn.rows(
            "SELECT person_id, merged_into, at FROM person_merge WHERE person_id = ?1 OR merged_into = ?1",
            &[&node],
            |r| {
                Ok((
                    r.get::<Uuid>(0)?,
                    r.get::<Uuid>(1)?,
                    r.get::<String>(2)?,
                ))
            },
        )?;
        for (duplicate, survivor, at) in rows {
            for n in [duplicate, survivor] {
                if seen.insert(n) {
                    queue.push(n);
                }
            }
            let at = chrono::DateTime::parse_from_rfc3339(&at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_default();
            edges.insert(
                duplicate,
                MergeEdge {
                    duplicate,
                    survivor,
                    at,
                },
            );
        }
    }
    for n in &seen {
        conn.exec("DELETE FROM person_alias WHERE person_id = ?1", &[n])?;
    }
    let edges: Vec<MergeEdge> = edges.into_values().collect();
    for (duplicate, survivor) in resolve_merges(&edges) {
        conn.exec(
            "INSERT INTO person_alias (person_id, survivor_id) VALUES (?1, ?2)",
            &[&duplicate, &survivor],
        )?;
    }
    Ok(())
}

/// Keeps `person_not_same` equal to the pairs the person's record says are two people.
fn write_not_same(conn: &dyn Sql, p: &Person) -> Result<()> {
    let id = p.id.as_bytes().as_slice();
    let mut wanted: Vec<Uuid> = p.not_same_as.iter().map(|n| n.other).collect();
    wanted.sort();
    wanted.dedup();
    let stored: Vec<Uuid> = conn.rows(
        "SELECT other_id FROM person_not_same WHERE person_id = ?1 ORDER BY other_id",
        &[&id],
        |r| r.get(0),
    )?;
    if stored == wanted {
        return Ok(());
    }
    conn.exec("DELETE FROM person_not_same WHERE person_id = ?1", &[&id])?;
    for other in wanted {
        conn.exec(
            "INSERT INTO person_not_same (person_id, other_id) VALUES (?1, ?2)",
            &[&id, &other],
        )?;
    }
    Ok(())
}

fn write_visit(conn: &dyn Sql, v: &Visit, local_day: &str) -> Result<()> {
    conn.exec(
        "INSERT INTO visit_index (visit_id, person_id, cabinet, specialist, at, local_day, voided)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (visit_id) DO UPDATE SET
            person_id = excluded.person_id, cabinet = excluded.cabinet,
            specialist = excluded.specialist, at = excluded.at, local_day = excluded.local_day,
            voided = excluded.voided",
        &[
            &v.id.as_bytes(),
            &v.person_id.as_bytes(),
            &v.cabinet,
            &v.specialist,
            &v.at.to_rfc3339(),
            &local_day,
            &v.voided.is_some(),
        ],
    )?;
    Ok(())
}

/// Keeps the document's row of `report_screening` equal to its bits; a document that screens
/// nothing has none. `visit`: the visit the bits belong to, or `None` for a results document,
/// whose visit is its row's parent.
fn write_screening_bits(
    conn: &dyn Sql,
    doc_id: Uuid,
    visit: Option<Uuid>,
    bits: &ScreeningBits,
) -> Result<()> {
    if bits.screened == 0 {
        conn.exec("DELETE FROM report_screening WHERE doc_id = ?1", &[&doc_id])?;
        return Ok(());
    }
    let values = [bits.screened, bits.abnormal_adult, bits.abnormal_child].map(i64::from);
    let upsert = "ON CONFLICT (doc_id) DO UPDATE SET visit_id = excluded.visit_id,
                     screened = excluded.screened, abnormal_adult = excluded.abnormal_adult,
                     abnormal_child = excluded.abnormal_child";
    match visit {
        Some(visit) => conn.exec(
            &format!(
                "INSERT INTO report_screening (doc_id, visit_id, screened, abnormal_adult, abnormal_child)
                 VALUES (?1, ?2, ?3, ?4, ?5) {upsert}"
            ),
            &[&doc_id, &visit, &values[0], &values[1], &values[2]],
        )?,
        // The document's row is written before its projections, in the same transaction.
        None => conn.exec(
            &format!(
                "INSERT INTO report_screening (doc_id, visit_id, screened, abnormal_adult, abnormal_child)
                 SELECT doc_id, parent_id, ?2, ?3, ?4 FROM documents
                 WHERE doc_id = ?1 AND parent_id IS NOT NULL {upsert}"
            ),
            &[&doc_id, &values[0], &values[1], &values[2]],
        )?,
    };
    Ok(())
}

fn write_referral(conn: &dyn Sql, r: &Referral) -> Result<()> {
    let status = r.status();
    conn.exec(
        "INSERT INTO referral_index
         (referral_id, code, person_id, visit_id, reason, destination, urgency, status, is_open, issued_at,
          attended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (referral_id) DO UPDATE SET
            code = excluded.code, person_id = excluded.person_id, visit_id = excluded.visit_id,
            reason = excluded.reason, destination = excluded.destination,
            urgency = excluded.urgency, status = excluded.status, is_open = excluded.is_open,
            issued_at = excluded.issued_at, attended_at = excluded.attended_at",
        &[
            &r.id.as_bytes(),
            &r.code.to_string(),
            &r.person_id.as_bytes(),
            &r.visit_id.as_bytes(),
            &r.reason.as_str(),
            &r.destination.slug(),
            &r.urgency.rank(),
            &status.as_str(),
            &status.is_open(),
            &r.issued_at().to_rfc3339(),
            &r.attended_at().map(|a| a.to_rfc3339()),
        ],
    )?;
    Ok(())
}

fn write_case(conn: &dyn Sql, c: &kabinet_core::case::Case) -> Result<()> {
    let id = c.id.as_bytes().as_slice();
    conn.exec(
        "INSERT INTO case_index (case_id, person_id, status, lead, household, opened_at, closed_at,
                                 closure_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (case_id) DO UPDATE SET
            person_id = excluded.person_id, status = excluded.status, lead = excluded.lead,
            household = excluded.household, opened_at = excluded.opened_at,
            closed_at = excluded.closed_at, closure_reason = excluded.closure_reason",
        &[
            &id,
            &c.person_id,
            &c.status.as_str(),
            &c.lead,
            &c.household,
            &c.opened_at.to_rfc3339(),
            &c.closure.as_ref().map(|x| x.at.to_rfc3339()),
            &c.closure.as_ref().map(|x| x.reason.as_str()),
        ],
    )?;
    conn.exec("DELETE FROM case_task WHERE case_id = ?1", &[&id])?;
    // A closed case's tasks are nobody's work any more.
    let open_case = c.status != kabinet_core::case::CaseStatus::Closed;
    for (task_id, t) in &c.tasks {
        let (user, role) = match &t.assignee {
            kabinet_core::case::Assignee::User(u) => (Some(u.as_str()), None),
            kabinet_core::case::Assignee::Role(r) => (None, Some(r.as_str())),
        };
        conn.exec(
            "INSERT INTO case_task (case_id, task_id, person_id, title, assignee_user, assignee_role, due,
                                    priority, priority_rank, status, outcome, is_open)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            &[
                &id,
                task_id,
                &c.person_id,
                &t.title,
                &user,
                &role,
                &t.due.map(|d| d.to_string()),
                &t.priority.as_str(),
                &(t.priority as i64),
                &t.status.as_str(),
                &t.outcome,
                &(open_case && t.is_open()),
            ],
        )?;
    }
    Ok(())
}

/// Bumped when an update adds a projection or changes what one holds: a store built for an
/// older one is rebuilt once as it opens ([`Store::catch_up_projections`]). 1: the report's
/// tables and columns (schema 13).
pub const PROJECTIONS_VERSION: u32 = 1;

/// The projection tables, in a fixed order (used by rebuild and by tests comparing them).
pub const PROJECTION_TABLES: [&str; 11] = [
    "person_index",
    "person_name_token",
    "visit_index",
    "referral_index",
    "field_conflict",
    "person_merge",
    "person_alias",
    "person_not_same",
    "case_index",
    "case_task",
    "report_screening",
];

/// How many documents a rebuild read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    pub documents: usize,
}

impl Store {
    /// Every row of every projection table, sorted, as text: two stores with equal
    /// projections give equal dumps.
    pub fn dump_projections(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for table in PROJECTION_TABLES {
            let sql = format!("SELECT * FROM {table}");
            let mut rows: Vec<String> = self.conn.rows(&sql, &[], |r| {
                let mut cols = Vec::with_capacity(r.len());
                for i in 0..r.len() {
                    let v = r.value(i)?;
                    cols.push(format!("{v:?}"));
                }
                Ok(format!("{table}: {}", cols.join(" | ")))
            })?;
            rows.sort();
            out.extend(rows);
        }
        Ok(out)
    }
}

/// Keeps `field_conflict` equal to the document's fields with concurrent values.
pub(crate) fn note_conflicts(
    conn: &dyn Sql,
    doc_id: Uuid,
    doc: &automerge::AutoCommit,
) -> Result<()> {
    let paths = crate::doc::conflicts(doc)
        .map_err(|source| crate::StoreError::Document { doc_id, source })?;
    conn.exec("DELETE FROM field_conflict WHERE doc_id = ?1", &[&doc_id])?;
    for path in paths {
        conn.exec(
            "INSERT INTO field_conflict (doc_id, path) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[&doc_id, &path],
        )?;
    }
    Ok(())
}
