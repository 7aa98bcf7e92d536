//! Query tables derived from the documents. They are written in the transaction that writes
//! the document, and [`Store::rebuild_projections`] recreates all of them from the documents
//! alone, so they can never be the only copy of anything.

use crate::kind::DocKind;
use crate::{Result, Store, StoreError};
use chrono_tz::Europe::Sofia;
use kabinet_core::{Person, Referral, Visit};
use rusqlite::{Connection, params};
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
    },
    Referral(Box<Referral>),
    /// Sensitive results are read through their visit; they have no query table, so that
    /// nothing about them leaks into an index. The directory has none either.
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
            Rows::Visit {
                visit: Box::new(visit),
                local_day,
            }
        }
        DocKind::Referral => Rows::Referral(Box::new(shape(doc_id, kind, json)?)),
        DocKind::Results | DocKind::Directory => Rows::Nothing,
    })
}

/// Writes prepared rows, replacing the document's earlier ones.
pub(crate) fn write(conn: &Connection, rows: &Rows) -> Result<()> {
    match rows {
        Rows::Person { person, tokens } => write_person(conn, person, tokens),
        Rows::Visit { visit, local_day } => write_visit(conn, visit, local_day),
        Rows::Referral(referral) => write_referral(conn, referral),
        Rows::Nothing => Ok(()),
    }
}

/// Writes the projection rows of one document from its current content.
pub(crate) fn project(conn: &Connection, kind: DocKind, doc_id: Uuid, json: Json) -> Result<()> {
    write(conn, &prepare(kind, doc_id, json)?)
}

fn write_person(conn: &Connection, p: &Person, tokens: &[String]) -> Result<()> {
    let id = p.id.as_bytes();
    // An upsert, not a replace: a replace deletes and inserts the row, touching every index
    // of the table; an update touches only the indexes of columns that changed (a phone
    // corrected moves one entry of one index).
    conn.prepare_cached(
        "INSERT INTO person_index
         (person_id, full_name, latin_name, sex, birth_year, birth_display, egn, lnch, phone, neighbourhood, no_documents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (person_id) DO UPDATE SET
            full_name = excluded.full_name, latin_name = excluded.latin_name, sex = excluded.sex,
            birth_year = excluded.birth_year, birth_display = excluded.birth_display,
            egn = excluded.egn, lnch = excluded.lnch, phone = excluded.phone,
            neighbourhood = excluded.neighbourhood, no_documents = excluded.no_documents",
    )?
    .execute(params![
        id,
        p.full_name(),
        p.latin_name(),
        p.sex.as_str(),
        p.birth_date.year(),
        p.birth_date.display(),
        p.egn.as_ref().map(|e| e.as_str()),
        p.lnch.as_ref().map(|l| l.as_str()),
        p.phone.as_ref().map(|p| p.as_str()),
        p.neighbourhood,
        p.documents == kabinet_core::Documents::NoDocuments,
    ])?;
    // The name's search keys change only when a name does: a correction of a phone or an
    // address leaves them as they are.
    let mut wanted: Vec<&str> = tokens.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let stored: Vec<String> = conn
        .prepare_cached("SELECT token FROM person_name_token WHERE person_id = ?1 ORDER BY token")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if stored.iter().map(String::as_str).eq(wanted.iter().copied()) {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM person_name_token WHERE person_id = ?1")?
        .execute([id])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO person_name_token (token, person_id) VALUES (?1, ?2)",
    )?;
    for token in wanted {
        insert.execute(params![token, id])?;
    }
    Ok(())
}

fn write_visit(conn: &Connection, v: &Visit, local_day: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO visit_index (visit_id, person_id, cabinet, specialist, at, local_day, voided)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        v.id.as_bytes(),
        v.person_id.as_bytes(),
        v.cabinet,
        v.specialist,
        v.at.to_rfc3339(),
        local_day,
        v.voided.is_some()
    ])?;
    Ok(())
}

fn write_referral(conn: &Connection, r: &Referral) -> Result<()> {
    let status = r.status();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO referral_index
         (referral_id, code, person_id, visit_id, reason, destination, urgency, status, is_open, issued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        r.id.as_bytes(),
        r.code.to_string(),
        r.person_id.as_bytes(),
        r.visit_id.as_bytes(),
        r.reason.as_str(),
        r.destination.slug(),
        r.urgency.rank(),
        status.as_str(),
        status.is_open(),
        r.issued_at().to_rfc3339(),
    ])?;
    Ok(())
}

/// The projection tables, in a fixed order (used by rebuild and by tests comparing them).
pub const PROJECTION_TABLES: [&str; 5] = [
    "person_index",
    "person_name_token",
    "visit_index",
    "referral_index",
    "field_conflict",
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
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table}"))?;
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let mut cols = Vec::with_capacity(n);
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        cols.push(format!("{v:?}"));
                    }
                    Ok(format!("{table}: {}", cols.join(" | ")))
                })?
                .collect::<rusqlite::Result<_>>()?;
            rows.sort();
            out.extend(rows);
        }
        Ok(out)
    }
}

/// Keeps `field_conflict` equal to the document's fields with concurrent values.
pub(crate) fn note_conflicts(
    conn: &Connection,
    doc_id: Uuid,
    doc: &automerge::AutoCommit,
) -> Result<()> {
    let paths = crate::doc::conflicts(doc)
        .map_err(|source| crate::StoreError::Document { doc_id, source })?;
    conn.prepare_cached("DELETE FROM field_conflict WHERE doc_id = ?1")?
        .execute([doc_id.as_bytes().as_slice()])?;
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO field_conflict (doc_id, path) VALUES (?1, ?2)")?;
    for path in paths {
        insert.execute(rusqlite::params![doc_id.as_bytes().as_slice(), path])?;
    }
    Ok(())
}
