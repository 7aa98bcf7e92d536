//! Records as documents: which document each record lives in, writing a record as Automerge
//! changes (incremental, in the caller's transaction, with its projection), and reading it
//! back.
//!
//! Document model: a person is one document; a visit is one document holding its general
//! screenings; each sensitive access class of a visit (HIV, hepatitis, TB) is a document of
//! its own, whose id is derived from the visit id and the class, so a device can hold a visit
//! without its HIV result; a referral is one document, classed by its reason.

use crate::doc::{self, DocError};
pub use crate::kind::DocKind;
use crate::projection::{self, PROJECTION_TABLES, RebuildReport};
use crate::sql::Tx;
use crate::sql::{Row, Sql, SqlError, SqlExt};
use crate::{Result, Store, StoreError};
use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::{DateTime, Utc};
use kabinet_core::{AccessClass, Person, Referral, ReferralCode, Screenings, Visit};
use serde::{Serialize, de::DeserializeOwned};
use std::ops::ControlFlow;
use uuid::Uuid;

/// After this many incremental chunks a document is compacted into a fresh snapshot: loading
/// stays fast, and edits never rewrite the whole document in between.
const COMPACT_AFTER_CHUNKS: i64 = 32;

/// Namespace of the derived ids of results documents (UUID v5 of visit id + class).
const RESULTS_NAMESPACE: Uuid = Uuid::from_u128(0x6b61_6269_6e65_7400_8000_7265_7375_6c74);

/// Where a write came from, kept on the document row, so that sync can tell its own echoes
/// and the audit can tell typing from importing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local = 0,
    Import = 1,
    Sync = 2,
}

/// The id of the document holding a visit's screenings of one sensitive class.
pub fn results_doc_id(visit_id: Uuid, class: AccessClass) -> Uuid {
    let mut name = visit_id.as_bytes().to_vec();
    name.push(class.code());
    Uuid::new_v5(&RESULTS_NAMESPACE, &name)
}

/// The results document's content: the screenings of its class, or, in the clinical class,
/// the visit's clinical note. Which visit and which class it belongs to is the document's row
/// (parent, access class), and its id is derived from both.
#[derive(Serialize, serde::Deserialize)]
struct ResultsRecord {
    #[serde(default)]
    screenings: Screenings,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    note: String,
}

/// The classes that have a results document per visit, beside the visit's own (general).
const RESULTS_CLASSES: [AccessClass; 4] = [
    AccessClass::Hiv,
    AccessClass::Hepatitis,
    AccessClass::Tuberculosis,
    AccessClass::Clinical,
];

/// A record's own id is its document id, so the document does not repeat it: every record
/// sent or stored would otherwise carry its id twice (and sync bytes are mostly ids).
pub(crate) fn content_of(mut record: serde_json::Value) -> serde_json::Value {
    if let Some(map) = record.as_object_mut() {
        map.remove("id");
    }
    record
}

/// The record a document holds: its content with the id put back.
pub(crate) fn record_of(doc_id: Uuid, mut content: serde_json::Value) -> serde_json::Value {
    if let Some(map) = content.as_object_mut() {
        map.insert("id".into(), serde_json::Value::String(doc_id.to_string()));
    }
    content
}

/// Heads as stored: their 32-byte hashes, sorted, end to end (for a crate built on the store
/// that keeps heads in its own tables, like the hub's relay log).
pub fn heads_to_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    sorted.iter().flat_map(|h| h.0).collect()
}

/// Heads stored by [`heads_to_bytes`].
pub fn heads_from_bytes(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|c| ChangeHash(c.try_into().expect("32-byte chunks")))
        .collect()
}

/// A stored code this build does not know: a read fails rather than guess (an unknown class
/// read as `General` would hand a sensitive document to anyone).
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} code {code} in column {column}")]
pub(crate) struct UnknownCode {
    what: &'static str,
    code: i64,
    column: usize,
}

fn unknown(what: &'static str, code: i64, column: usize) -> SqlError {
    SqlError::new(
        crate::sql::SqlErrorKind::Conversion,
        UnknownCode { what, code, column },
    )
}

/// The document kind in column `idx` of a row of `documents`; unknown is an error.
pub(crate) fn kind_at(row: &Row<'_>, idx: usize) -> Result<DocKind, SqlError> {
    let code: i64 = row.get(idx)?;
    DocKind::from_code(code).ok_or_else(|| unknown("document kind", code, idx))
}

/// The access class in column `idx` of a row of `documents`; unknown is an error.
pub(crate) fn class_at(row: &Row<'_>, idx: usize) -> Result<AccessClass, SqlError> {
    let code: i64 = row.get(idx)?;
    u8::try_from(code)
        .ok()
        .and_then(AccessClass::from_code)
        .ok_or_else(|| unknown("access class", code, idx))
}

fn doc_err(doc_id: Uuid) -> impl Fn(DocError) -> StoreError {
    move |source| StoreError::Document { doc_id, source }
}

/// A document as stored: its kind and its Automerge state.
pub(crate) struct LoadedDoc {
    pub kind: DocKind,
    /// The access class code on its row (read as a class where it matters: a pushed
    /// document is checked against it).
    pub class_code: u8,
    pub doc: AutoCommit,
    pub heads: Vec<ChangeHash>,
    /// The document's change sequence, and the one at which its row says it was in sync
    /// with the hub (see the `in_sync_seq` migration).
    pub change_seq: i64,
    pub in_sync_seq: Option<i64>,
}

/// Loads a document: the snapshot, then the chunks saved since.
pub(crate) fn load_doc(conn: &dyn Sql, doc_id: Uuid) -> Result<Option<LoadedDoc>> {
    let row = conn.row(
        "SELECT kind, snapshot, heads, change_seq, in_sync_seq, access_class FROM documents WHERE doc_id = ?1",
        &[&doc_id],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<Vec<u8>>(1)?,
                r.get::<Vec<u8>>(2)?,
                r.get::<i64>(3)?,
                r.get::<Option<i64>>(4)?,
                r.get::<u8>(5)?,
            ))
        },
    )?;
    let Some((kind, snapshot, heads, change_seq, in_sync_seq, class_code)) = row else {
        return Ok(None);
    };
    let err = doc_err(doc_id);
    let mut doc = AutoCommit::load(&snapshot).map_err(|e| err(e.into()))?;
    let mut loaded = Ok(());
    conn.each_row(
        "SELECT bytes FROM document_chunks WHERE doc_id = ?1 ORDER BY chunk_no",
        &[&doc_id],
        &mut |r| {
            let crate::sql::ValueRef::Blob(chunk) = r.value(0)? else {
                return Err(SqlError::conversion(0, "blob", "another kind"));
            };
            loaded = doc.load_incremental(chunk).map(|_| ());
            Ok(if loaded.is_ok() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            })
        },
    )?;
    loaded.map_err(|e| err(e.into()))?;
    let kind = DocKind::from_code(kind).ok_or_else(|| StoreError::Shape {
        doc_id,
        kind: "document",
        reason: format!("unknown kind {kind}"),
    })?;
    Ok(Some(LoadedDoc {
        kind,
        class_code,
        doc,
        heads: heads_from_bytes(&heads),
        change_seq,
        in_sync_seq,
    }))
}

/// A document's stored bytes and current access class (see [`Store::document_bytes`]).
fn document_bytes(conn: &dyn Sql, doc_id: Uuid) -> Result<Option<(Vec<u8>, AccessClass)>> {
    let row = conn.row(
        "SELECT snapshot, access_class FROM documents WHERE doc_id = ?1",
        &[&doc_id],
        |r| Ok((r.get::<Vec<u8>>(0)?, r.get::<u8>(1)?)),
    )?;
    let Some((mut bytes, class)) = row else {
        return Ok(None);
    };
    // An unknown class is an error, never a document handed out unclassed.
    let class = AccessClass::from_code(class).ok_or_else(|| StoreError::Shape {
        doc_id,
        kind: "document",
        reason: format!("unknown access class {class}"),
    })?;
    append_chunks(conn, doc_id, &mut bytes)?;
    Ok(Some((bytes, class)))
}

/// Appends the incremental chunks saved since a document's snapshot, in order.
pub(crate) fn append_chunks(conn: &dyn Sql, doc_id: Uuid, bytes: &mut Vec<u8>) -> Result<()> {
    conn.each_row(
        "SELECT bytes FROM document_chunks WHERE doc_id = ?1 ORDER BY chunk_no",
        &[&doc_id],
        &mut |r| match r.value(0)? {
            crate::sql::ValueRef::Blob(chunk) => {
                bytes.extend_from_slice(chunk);
                Ok(ControlFlow::Continue(()))
            }
            _ => Err(SqlError::conversion(0, "blob", "another kind")),
        },
    )?;
    Ok(())
}

/// Reads a document as a record of type `T`, checking its kind.
pub(crate) fn read_record<T: DeserializeOwned>(
    conn: &dyn Sql,
    doc_id: Uuid,
    kind: DocKind,
) -> Result<Option<T>> {
    let Some(loaded) = load_doc(conn, doc_id)? else {
        return Ok(None);
    };
    if loaded.kind != kind {
        return Err(StoreError::KindMismatch {
            doc_id,
            found: loaded.kind.name(),
            expected: kind.name(),
        });
    }
    let json = record_of(doc_id, doc::to_json(&loaded.doc).map_err(doc_err(doc_id))?);
    serde_json::from_value(json)
        .map(Some)
        .map_err(|e| StoreError::Shape {
            doc_id,
            kind: kind.name(),
            reason: e.to_string(),
        })
}

/// Where a new document belongs.
struct NewDocument {
    doc_id: Uuid,
    kind: DocKind,
    class: AccessClass,
    parent: Option<Uuid>,
    /// Received from the hub, which therefore holds exactly this.
    in_sync: bool,
}

/// Writes records inside one transaction (see [`Store::write`]).
pub struct Writer<'a> {
    pub(crate) tx: Tx<'a>,
    actor: &'a ActorId,
    origin: Origin,
    now: DateTime<Utc>,
    /// `now` as stored in `updated_at`, formatted once: a sync writes thousands of rows.
    now_text: String,
    /// The next local change sequence: read once per transaction, then counted here (the
    /// transaction is the only writer while it lives).
    next_seq: Option<i64>,
    /// Who this write is recorded as; local writes are audited at commit.
    pub(crate) audit_user: Option<String>,
    /// Documents this local write created or changed, for the audit log.
    pub(crate) touched: Vec<(Uuid, DocKind, AccessClass, bool)>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(tx: Tx<'a>, actor: &'a ActorId, origin: Origin) -> Writer<'a> {
        let now = Utc::now();
        Writer {
            tx,
            actor,
            origin,
            now,
            now_text: now.to_rfc3339(),
            next_seq: None,
            audit_user: None,
            touched: Vec::new(),
        }
    }

    /// Adds a document's row (a new document: written locally or received).
    fn insert_document(
        &self,
        row: &NewDocument,
        snapshot: &[u8],
        heads: &[u8],
        seq: i64,
    ) -> Result<()> {
        let in_sync_seq = row.in_sync.then_some(seq);
        self.tx.exec(
            "INSERT INTO documents (doc_id, kind, access_class, parent_id, snapshot, heads, change_seq, origin, updated_at, in_sync_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &[
                &row.doc_id,
                &(row.kind as i64),
                &row.class.code(),
                &row.parent,
                &snapshot,
                &heads,
                &seq,
                &(self.origin as i64),
                &self.now_text,
                &in_sync_seq,
            ],
        )?;
        // When this store first held the visit: at the hub, when it arrived. An import of
        // old records is not an arrival (its visits were never synced late).
        if row.kind == DocKind::Visit && self.origin != Origin::Import {
            self.tx.exec(
                "INSERT INTO visit_arrival (visit_id, arrived_at) VALUES (?1, ?2)
                 ON CONFLICT (visit_id) DO NOTHING",
                &[&row.doc_id, &self.now.timestamp()],
            )?;
        }
        Ok(())
    }

    /// Takes the next local change sequence number.
    fn take_seq(&mut self) -> Result<i64> {
        let seq = match self.next_seq {
            Some(s) => s,
            None => self.tx.one(
                "SELECT COALESCE(MAX(change_seq), 0) + 1 FROM documents",
                &[],
                |r| r.get(0),
            )?,
        };
        self.next_seq = Some(seq + 1);
        Ok(seq)
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.audit_touched()?;
        self.tx.commit()?;
        Ok(())
    }

    /// The SQLite transaction, for what only the embedded file has (see
    /// [`crate::Store::extension_sql`]); otherwise [`Writer::sql`]. Panics on a server.
    pub fn extension_sql(&self) -> &rusqlite::Connection {
        self.tx
            .database()
            .sqlite()
            .expect("the hub's SQLite tables live beside a SQLite store")
    }

    /// The transaction, for the tables of a crate built on the store (the hub's relay log and
    /// devices), so they commit together with the documents.
    pub fn sql(&self) -> &dyn Sql {
        &self.tx
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.tx.exec(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    pub fn delete_meta(&mut self, key: &str) -> Result<()> {
        self.tx.exec("DELETE FROM meta WHERE key = ?1", &[&key])?;
        Ok(())
    }

    /// Takes the next referral code of this device's issuer number.
    pub fn next_referral_code(&mut self) -> Result<ReferralCode> {
        let get = |tx: &Tx<'_>, k: &str| -> Result<u32> {
            let v: Option<String> =
                tx.row("SELECT value FROM meta WHERE key = ?1", &[&k], |r| r.get(0))?;
            Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        let issuer = u8::try_from(get(&self.tx, crate::meta::ISSUER)?).unwrap_or(0);
        let serial = get(&self.tx, crate::meta::NEXT_REFERRAL_SERIAL)?.max(1);
        self.set_meta(crate::meta::NEXT_REFERRAL_SERIAL, &(serial + 1).to_string())?;
        Ok(ReferralCode::new(issuer, serial))
    }

    pub fn put_person(&mut self, person: &Person) -> Result<bool> {
        self.put_record(
            person.id,
            DocKind::Person,
            AccessClass::General,
            None,
            person,
        )
    }

    /// Writes a visit: the visit document with its general screenings, and one results
    /// document per sensitive class present (or previously present, so a removed result is
    /// removed there too).
    pub fn put_visit(&mut self, visit: &Visit) -> Result<bool> {
        let mut parts = visit.screenings.clone().split_by_access();
        let general = parts.remove(&AccessClass::General).unwrap_or_default();
        let mut header = visit.clone();
        header.screenings = general;
        // The clinical note never sits in the visit's document (every role reads that).
        header.clinical_note = String::new();
        let mut changed = self.put_record(
            visit.id,
            DocKind::Visit,
            AccessClass::General,
            Some(visit.person_id),
            &header,
        )?;
        for class in RESULTS_CLASSES {
            let id = results_doc_id(visit.id, class);
            let screenings = parts.remove(&class);
            let note = if class == AccessClass::Clinical {
                visit.clinical_note.clone()
            } else {
                String::new()
            };
            if screenings.is_none() && note.is_empty() && !self.exists(id)? {
                continue;
            }
            let record = ResultsRecord {
                screenings: screenings.unwrap_or_default(),
                note,
            };
            changed |= self.put_record(id, DocKind::Results, class, Some(visit.id), &record)?;
        }
        Ok(changed)
    }

    pub fn put_referral(&mut self, referral: &Referral) -> Result<bool> {
        // The class the hub checks pushed referrals against too ([`crate::fit`]).
        let class = referral.access_class();
        self.put_record(
            referral.id,
            DocKind::Referral,
            class,
            Some(referral.visit_id),
            referral,
        )
    }

    /// Writes a case (general; its person is its parent).
    pub fn put_case(&mut self, case: &kabinet_core::case::Case) -> Result<bool> {
        self.put_record(
            case.id,
            DocKind::Case,
            AccessClass::General,
            Some(case.person_id),
            case,
        )
    }

    /// Writes a note on a case, in its discipline's class (the case is its parent).
    pub fn put_case_note(&mut self, note: &kabinet_core::case::CaseNote) -> Result<bool> {
        self.put_record(
            note.id,
            DocKind::CaseNote,
            note.kind.access_class(),
            Some(note.case_id),
            note,
        )
    }

    pub fn case(&self, id: Uuid) -> Result<Option<kabinet_core::case::Case>> {
        read_record(&self.tx, id, DocKind::Case)
    }

    /// Documents changed after `cursor`, as this write sees them (see `Store::changes_since`).
    pub fn changes_since(&self, cursor: u64) -> Result<Vec<crate::ChangedDoc>> {
        crate::query::changes_since(&self.tx, cursor, usize::MAX)
    }

    /// A document's changes since `heads`, as this write sees it (see `Store::changes_after`).
    pub fn changes_after(&self, doc_id: Uuid, heads: &[ChangeHash]) -> Result<Vec<u8>> {
        let mut loaded = load_doc(&self.tx, doc_id)?.ok_or_else(|| StoreError::NotFound {
            kind: "document",
            id: doc_id.to_string(),
        })?;
        Ok(loaded.doc.save_after(heads))
    }

    pub fn put_directory(&mut self, directory: &kabinet_core::Directory) -> Result<bool> {
        self.put_record(
            kabinet_core::Directory::doc_id(),
            DocKind::Directory,
            AccessClass::General,
            None,
            directory,
        )
    }

    /// A document's stored bytes (all its changes) and its current access class, without
    /// loading it into Automerge.
    pub fn document_bytes(&self, doc_id: Uuid) -> Result<Option<(Vec<u8>, AccessClass)>> {
        document_bytes(&self.tx, doc_id)
    }

    pub fn exists(&self, doc_id: Uuid) -> Result<bool> {
        Ok(self
            .tx
            .row(
                "SELECT 1 FROM documents WHERE doc_id = ?1",
                &[&doc_id],
                |_| Ok(()),
            )?
            .is_some())
    }

    pub fn person(&self, id: Uuid) -> Result<Option<Person>> {
        read_record(&self.tx, id, DocKind::Person)
    }

    pub fn referral(&self, id: Uuid) -> Result<Option<Referral>> {
        read_record(&self.tx, id, DocKind::Referral)
    }

    /// Settles a field of a document with concurrent values on `value` (a person picked one
    /// or typed another): a change of its own that syncs like any edit, audited as an edit.
    pub fn settle_field(
        &mut self,
        doc_id: Uuid,
        kind: DocKind,
        path: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        let err = doc_err(doc_id);
        let seq = self.take_seq()?;
        let mut loaded = load_doc(&self.tx, doc_id)?.ok_or_else(|| StoreError::NotFound {
            kind: kind.name(),
            id: doc_id.to_string(),
        })?;
        if loaded.kind != kind {
            return Err(StoreError::KindMismatch {
                doc_id,
                found: loaded.kind.name(),
                expected: kind.name(),
            });
        }
        let class = AccessClass::from_code(loaded.class_code).ok_or(StoreError::Shape {
            doc_id,
            kind: kind.name(),
            reason: format!("unknown access class {}", loaded.class_code),
        })?;
        if self.origin == Origin::Local {
            self.touched.push((doc_id, kind, class, false));
        }
        loaded.doc.set_actor(self.actor.clone());
        doc::settle(&mut loaded.doc, path, value).map_err(&err)?;
        projection::note_conflicts(&self.tx, doc_id, &loaded.doc)?;
        let content = doc::to_json(&loaded.doc).map_err(&err)?;
        self.store_changes(doc_id, &mut loaded, seq, Some(class))?;
        projection::project(&self.tx, kind, doc_id, record_of(doc_id, content))?;
        Ok(())
    }

    /// Reconciles a record into its document and saves only the new changes. Returns whether
    /// anything changed (an identical record writes nothing and keeps its change sequence).
    fn put_record<T: Serialize>(
        &mut self,
        doc_id: Uuid,
        kind: DocKind,
        class: AccessClass,
        parent: Option<Uuid>,
        record: &T,
    ) -> Result<bool> {
        let err = doc_err(doc_id);
        let record_json = serde_json::to_value(record).map_err(|e| StoreError::Shape {
            doc_id,
            kind: kind.name(),
            reason: e.to_string(),
        })?;
        let new = content_of(record_json.clone());
        let seq = self.take_seq()?;
        let loaded = load_doc(&self.tx, doc_id)?;
        if self.origin == Origin::Local && kind != DocKind::Directory {
            self.touched.push((doc_id, kind, class, loaded.is_none()));
        }
        match loaded {
            None => {
                let (snapshot, head) =
                    doc::encode_new(&new, self.actor, self.now.timestamp() * 1000).map_err(&err)?;
                let heads = heads_to_bytes(&[head]);
                let row = NewDocument {
                    doc_id,
                    kind,
                    class,
                    parent,
                    in_sync: false,
                };
                self.insert_document(&row, &snapshot, &heads, seq)?;
            }
            Some(mut loaded) => {
                if loaded.kind != kind {
                    return Err(StoreError::KindMismatch {
                        doc_id,
                        found: loaded.kind.name(),
                        expected: kind.name(),
                    });
                }
                let old = doc::to_json(&loaded.doc).map_err(&err)?;
                if old == new {
                    if self.origin == Origin::Local && kind != DocKind::Directory {
                        self.touched.pop(); // nothing changed: nothing to audit
                    }
                    return Ok(false);
                }
                loaded.doc.set_actor(self.actor.clone());
                doc::reconcile(&mut loaded.doc, &old, &new).map_err(&err)?;
                projection::note_conflicts(&self.tx, doc_id, &loaded.doc)?;
                self.store_changes(doc_id, &mut loaded, seq, Some(class))?;
            }
        }
        projection::project(&self.tx, kind, doc_id, record_json)?;
        Ok(true)
    }

    /// Saves the changes of a loaded document since its stored heads as one chunk (or a fresh
    /// snapshot when the chunks pile up), and bumps its change sequence.
    fn store_changes(
        &mut self,
        doc_id: Uuid,
        loaded: &mut LoadedDoc,
        seq: i64,
        class: Option<AccessClass>,
    ) -> Result<()> {
        if loaded.in_sync_seq == Some(loaded.change_seq) {
            // In sync by its row until now: keep what the hub holds where the next push
            // looks for it, so that it sends only this change.
            self.mark_pushed(doc_id, &loaded.heads, loaded.change_seq as u64)?;
        }
        let chunk = loaded.doc.save_after(&loaded.heads);
        let heads = heads_to_bytes(&loaded.doc.get_heads());
        let (count, last): (i64, i64) = self.tx.one(
            "SELECT count(*), COALESCE(MAX(chunk_no), 0) FROM document_chunks WHERE doc_id = ?1",
            &[&doc_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count + 1 >= COMPACT_AFTER_CHUNKS {
            let snapshot = loaded.doc.save();
            self.tx
                .exec("DELETE FROM document_chunks WHERE doc_id = ?1", &[&doc_id])?;
            self.tx.exec(
                "UPDATE documents SET snapshot = ?2 WHERE doc_id = ?1",
                &[&doc_id, &snapshot],
            )?;
            tracing::debug!(%doc_id, chunks = count + 1, "compacted document");
        } else {
            tracing::trace!(%doc_id, bytes = chunk.len(), "saved incremental changes");
            self.tx.exec(
                "INSERT INTO document_chunks (doc_id, chunk_no, bytes) VALUES (?1, ?2, ?3)",
                &[&doc_id, &(last + 1), &chunk],
            )?;
        }
        self.tx.exec(
            "UPDATE documents SET heads = ?2, change_seq = ?3, origin = ?4, updated_at = ?5,
                 access_class = COALESCE(?6, access_class)
             WHERE doc_id = ?1",
            &[
                &doc_id,
                &heads,
                &seq,
                &(self.origin as i64),
                &self.now_text,
                &class.map(|c| c.code()),
            ],
        )?;
        Ok(())
    }
}

impl Store {
    /// A document's stored bytes (all its changes) and its current access class, without
    /// loading it into Automerge: what a relay sends a peer that lacks the whole document.
    pub fn document_bytes(&self, doc_id: Uuid) -> Result<Option<(Vec<u8>, AccessClass)>> {
        document_bytes(&self.conn, doc_id)
    }

    pub fn person(&self, id: Uuid) -> Result<Person> {
        read_record(&self.conn, id, DocKind::Person)?.ok_or_else(|| StoreError::NotFound {
            kind: "person",
            id: id.to_string(),
        })
    }

    /// A visit with every screening this device holds (sensitive classes it does not hold are
    /// simply absent).
    pub fn visit(&self, id: Uuid) -> Result<Visit> {
        let mut visit: Visit =
            read_record(&self.conn, id, DocKind::Visit)?.ok_or_else(|| StoreError::NotFound {
                kind: "visit",
                id: id.to_string(),
            })?;
        let mut parts = vec![std::mem::take(&mut visit.screenings)];
        for class in RESULTS_CLASSES {
            if let Some(r) = read_record::<ResultsRecord>(
                &self.conn,
                results_doc_id(id, class),
                DocKind::Results,
            )? {
                parts.push(r.screenings);
                if class == AccessClass::Clinical {
                    visit.clinical_note = r.note;
                }
            }
        }
        visit.screenings = Screenings::join(parts);
        Ok(visit)
    }

    /// The hub's directory as synced here; the built-in default before the first sync.
    pub fn directory(&self) -> Result<kabinet_core::Directory> {
        Ok(read_record(
            &self.conn,
            kabinet_core::Directory::doc_id(),
            DocKind::Directory,
        )?
        .unwrap_or_default())
    }

    pub fn referral(&self, id: Uuid) -> Result<Referral> {
        read_record(&self.conn, id, DocKind::Referral)?.ok_or_else(|| StoreError::NotFound {
            kind: "referral",
            id: id.to_string(),
        })
    }

    pub fn case(&self, id: Uuid) -> Result<kabinet_core::case::Case> {
        read_record(&self.conn, id, DocKind::Case)?.ok_or_else(|| StoreError::NotFound {
            kind: "case",
            id: id.to_string(),
        })
    }

    /// The notes of a case in `classes` (the ones the reader may read; this store may hold
    /// others), oldest first. Notes of other classes are not loaded at all.
    pub fn case_notes(
        &self,
        case_id: Uuid,
        classes: &[AccessClass],
    ) -> Result<Vec<kabinet_core::case::CaseNote>> {
        let ids: Vec<(Uuid, u8)> = self.conn.rows(
            "SELECT doc_id, access_class FROM documents WHERE parent_id = ?1 AND kind = ?2",
            &[&case_id, &(DocKind::CaseNote as i64)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut notes = Vec::new();
        for (id, class) in ids {
            if !AccessClass::from_code(class).is_some_and(|c| classes.contains(&c)) {
                continue;
            }
            if let Some(note) = read_record(&self.conn, id, DocKind::CaseNote)? {
                notes.push(note);
            }
        }
        notes.sort_by_key(|n: &kabinet_core::case::CaseNote| (n.at, n.id));
        Ok(notes)
    }

    /// The document's current heads (for sync).
    pub fn heads(&self, doc_id: Uuid) -> Result<Option<Vec<ChangeHash>>> {
        let h: Option<Vec<u8>> = self.conn.row(
            "SELECT heads FROM documents WHERE doc_id = ?1",
            &[&doc_id],
            |r| r.get(0),
        )?;
        Ok(h.map(|b| heads_from_bytes(&b)))
    }

    /// A document's content as stored (Automerge's winner where fields conflict): what a
    /// device holding only this document can read.
    pub fn document_json(&self, doc_id: Uuid) -> Result<serde_json::Value> {
        let loaded = load_doc(&self.conn, doc_id)?.ok_or_else(|| StoreError::NotFound {
            kind: "document",
            id: doc_id.to_string(),
        })?;
        doc::to_json(&loaded.doc).map_err(doc_err(doc_id))
    }

    /// Each field of a document with concurrent values, with all of them (the one read
    /// everywhere until someone settles it last).
    pub fn conflict_values(&self, doc_id: Uuid) -> Result<Vec<(String, Vec<serde_json::Value>)>> {
        let loaded = load_doc(&self.conn, doc_id)?.ok_or_else(|| StoreError::NotFound {
            kind: "document",
            id: doc_id.to_string(),
        })?;
        doc::conflict_values(&loaded.doc).map_err(doc_err(doc_id))
    }

    /// Persons with concurrent values in one of `paths` (the fields a person must review),
    /// with those fields.
    pub fn persons_to_review(&self, paths: &[&str]) -> Result<Vec<(Uuid, Vec<String>)>> {
        let mut out: Vec<(Uuid, Vec<String>)> = Vec::new();
        let rows = self.conn.rows(
            "SELECT c.doc_id, c.path FROM field_conflict c
             JOIN documents d ON d.doc_id = c.doc_id
             WHERE d.kind = ?1 ORDER BY c.doc_id, c.path",
            &[&(DocKind::Person as i64)],
            |r| Ok((r.get::<Vec<u8>>(0)?, r.get::<String>(1)?)),
        )?;
        for (raw, path) in rows {
            // A field kept as a map (a birth date) conflicts inside it: its top key counts.
            let path = path.split('.').next().unwrap_or_default().to_string();
            if !paths.contains(&path.as_str()) {
                continue;
            }
            let id = Uuid::from_slice(&raw).map_err(|e| StoreError::Shape {
                doc_id: Uuid::nil(),
                kind: "person",
                reason: e.to_string(),
            })?;
            match out.last_mut() {
                Some((last, fields)) if *last == id => {
                    if !fields.contains(&path) {
                        fields.push(path)
                    }
                }
                _ => out.push((id, vec![path])),
            }
        }
        Ok(out)
    }

    /// Documents of `kinds` with concurrent values, as the `field_conflict` projection lists
    /// them (no document is loaded): the hub's review list reads this.
    pub fn conflicted_documents(&self, kinds: &[DocKind]) -> Result<Vec<ConflictedDoc>> {
        let rows = self.conn.rows(
            "SELECT c.doc_id, d.kind, d.access_class, d.parent_id, c.path FROM field_conflict c
             JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.doc_id, c.path",
            &[],
            |r| {
                Ok((
                    r.get::<Uuid>(0)?,
                    kind_at(r, 1)?,
                    class_at(r, 2)?,
                    r.get::<Option<Uuid>>(3)?,
                    r.get::<String>(4)?,
                ))
            },
        )?;
        let mut out: Vec<ConflictedDoc> = Vec::new();
        for (doc_id, kind, class, parent, path) in rows {
            if !kinds.contains(&kind) {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.doc_id == doc_id => last.paths.push(path),
                _ => out.push(ConflictedDoc {
                    doc_id,
                    kind,
                    class,
                    parent,
                    paths: vec![path],
                }),
            }
        }
        Ok(out)
    }

    /// The fields of a document listed with concurrent values (from the projection).
    pub fn listed_conflicts(&self, doc_id: Uuid) -> Result<Vec<String>> {
        Ok(self.conn.rows(
            "SELECT path FROM field_conflict WHERE doc_id = ?1 ORDER BY path",
            &[&doc_id],
            |r| r.get(0),
        )?)
    }

    /// A document's kind, access class and parent (a visit's person, a result's visit).
    pub fn document_meta(
        &self,
        doc_id: Uuid,
    ) -> Result<Option<(DocKind, AccessClass, Option<Uuid>)>> {
        Ok(self.conn.row(
            "SELECT kind, access_class, parent_id FROM documents WHERE doc_id = ?1",
            &[&doc_id],
            |r| Ok((kind_at(r, 0)?, class_at(r, 1)?, r.get(2)?)),
        )?)
    }

    /// Fields of a document with concurrent values (same-field edits on two devices).
    pub fn conflicts(&self, doc_id: Uuid) -> Result<Vec<String>> {
        let loaded = load_doc(&self.conn, doc_id)?.ok_or_else(|| StoreError::NotFound {
            kind: "document",
            id: doc_id.to_string(),
        })?;
        doc::conflicts(&loaded.doc).map_err(doc_err(doc_id))
    }

    /// The Automerge changes of a document since `heads` (all of it for empty heads).
    pub fn changes_after(&self, doc_id: Uuid, heads: &[ChangeHash]) -> Result<Vec<u8>> {
        let mut loaded = load_doc(&self.conn, doc_id)?.ok_or_else(|| StoreError::NotFound {
            kind: "document",
            id: doc_id.to_string(),
        })?;
        Ok(loaded.doc.save_after(heads))
    }
}

/// A document with fields changed apart (see [`Store::conflicted_documents`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictedDoc {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub class: AccessClass,
    pub parent: Option<Uuid>,
    pub paths: Vec<String>,
}

/// A document received from elsewhere (a sync peer), for [`Writer::merge_batch`].
#[derive(Debug, Clone, Copy)]
pub struct Received<'b> {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub class: AccessClass,
    pub parent: Option<Uuid>,
    pub changes: &'b [u8],
}

/// What can be worked out about a received document without the database: for a document
/// created in one change (nearly every one a sync brings), its head and its projection rows.
pub struct Decoded {
    new: Option<(ChangeHash, Result<projection::Rows>)>,
}

impl Decoded {
    pub fn of(doc: &Received<'_>) -> Decoded {
        let new = match doc.kind {
            // No query table reads their content: checking the change and taking its hash
            // is enough.
            DocKind::Directory | DocKind::CaseNote => {
                doc::verify_new(doc.changes).map(|head| (head, Ok(projection::Rows::Nothing)))
            }
            // Results are read for the report's bits (`report_screening`).
            DocKind::Results
            | DocKind::Person
            | DocKind::Visit
            | DocKind::Referral
            | DocKind::Case => doc::decode_new(doc.changes).map(|(content, head)| {
                let record = record_of(doc.doc_id, content);
                (head, projection::prepare(doc.kind, doc.doc_id, record))
            }),
        };
        Decoded { new }
    }

    /// Like [`Decoded::of`], for a document a device pushed to the hub: its content is read
    /// whatever its kind (results too) and checked to fit its class ([`crate::fit`]); a
    /// misfit is kept as the error of its rows, which a merge meets before writing anything.
    pub fn pushed(doc: &Received<'_>) -> Decoded {
        let new = doc::decode_new(doc.changes).map(|(content, head)| {
            let record = record_of(doc.doc_id, content);
            let rows = fits(doc, &record, true)
                .and_then(|()| projection::prepare(doc.kind, doc.doc_id, record));
            (head, rows)
        });
        Decoded { new }
    }
}

/// A pushed document's record (as merged) fits its class, or the error that refuses the push.
/// `new`: the hub did not hold the document before this push.
fn fits(doc: &Received<'_>, record: &serde_json::Value, new: bool) -> Result<()> {
    let check = if new {
        crate::fit::check_content
    } else {
        crate::fit::check_merged
    };
    check(doc.kind, doc.class, record)
        .and_then(|()| crate::fit::check_parent(doc.kind, doc.parent, record))
        .map_err(|misfit| StoreError::Misfit {
            doc_id: doc.doc_id,
            misfit,
        })
}

/// Who merges received documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeAs {
    /// Without recording what a peer holds (the hub keeps no such record):
    /// [`Writer::merge_decoded`].
    Hub,
    /// The hub merging what a device pushed ([`Writer::merge_pushed`]): as `Hub`, and each
    /// document must be the one the hub holds (kind and class) and fit its class after the
    /// merge ([`crate::fit`]).
    Pushed,
    /// A device merging what the hub sent (so a new document is in sync as it lands);
    /// `absent`: the caller has just seen that the document is not here.
    Device { absent: bool },
}

/// Below this many documents a batch is decoded inline: a thread costs more than it saves.
const DECODE_AHEAD_FROM: usize = 64;
/// How many decoded documents may wait for the writer.
const DECODE_AHEAD: usize = 256;

impl<'a> Writer<'a> {
    /// Goes through received documents in order, handing each to `each` with what a second
    /// thread decoded of it ahead of time ([`Decoded`]: Automerge, the record, its projection
    /// rows), so that a big batch keeps two cores busy: one decoding, one writing. `each`
    /// merges (normally with [`Writer::merge_decoded`]) and returns false to stop early.
    pub fn merge_batch(
        &mut self,
        docs: &[Received<'_>],
        each: impl FnMut(&mut Writer<'a>, &Received<'_>, Decoded) -> Result<bool>,
    ) -> Result<()> {
        self.decode_ahead(docs, Decoded::of, each)
    }

    /// Merges documents a device pushed, as the hub does: each must be the document the hub
    /// holds under that id (same kind and class, [`crate::fit::check_stored`]) and its
    /// content, as merged, must fit its class ([`crate::fit::check_content`]); the first
    /// that does not fails the whole batch with [`StoreError::Misfit`], so the caller's
    /// transaction keeps nothing of it. `each` gets what each merge added (`None`: nothing
    /// new). What the claim alone shows ([`crate::fit::check_claim`]) is the caller's to
    /// check first.
    pub fn merge_pushed(
        &mut self,
        docs: &[Received<'_>],
        mut each: impl FnMut(&mut Writer<'a>, &Received<'_>, Option<Merged>) -> Result<()>,
    ) -> Result<()> {
        self.decode_ahead(docs, Decoded::pushed, |w, doc, decoded| {
            let merged = w.merge_received(doc, decoded, MergeAs::Pushed)?;
            each(w, doc, merged)?;
            Ok(true)
        })
    }

    fn decode_ahead(
        &mut self,
        docs: &[Received<'_>],
        decode: fn(&Received<'_>) -> Decoded,
        mut each: impl FnMut(&mut Writer<'a>, &Received<'_>, Decoded) -> Result<bool>,
    ) -> Result<()> {
        if docs.len() < DECODE_AHEAD_FROM {
            for doc in docs {
                if !each(self, doc, decode(doc))? {
                    break;
                }
            }
            return Ok(());
        }
        std::thread::scope(|scope| {
            let (ahead, decoded) = std::sync::mpsc::sync_channel(DECODE_AHEAD);
            scope.spawn(move || {
                for doc in docs {
                    if ahead.send(decode(doc)).is_err() {
                        return; // the writer stopped
                    }
                }
            });
            for doc in docs {
                // The decoder sends one per document unless it died, which only a bug in a
                // decoder could cause: then decode here.
                let d = decoded.recv().unwrap_or_else(|_| decode(doc));
                if !each(self, doc, d)? {
                    break;
                }
            }
            Ok(())
        })
    }

    /// Merges Automerge changes received from elsewhere (sync) into a document, creating it
    /// if new, and refreshes its projection, with the decoding already done
    /// ([`Decoded::of`], or ahead on another thread by [`Writer::merge_batch`]). Idempotent:
    /// changes already held change nothing (`None`). Otherwise returns the changes that were
    /// new here and the heads after.
    pub fn merge_decoded(
        &mut self,
        doc: &Received<'_>,
        decoded: Decoded,
    ) -> Result<Option<Merged>> {
        self.merge_received(doc, decoded, MergeAs::Hub)
    }

    pub(crate) fn merge_received(
        &mut self,
        doc: &Received<'_>,
        decoded: Decoded,
        merge_as: MergeAs,
    ) -> Result<Option<Merged>> {
        let Received {
            doc_id,
            kind,
            class,
            parent,
            changes: bytes,
        } = *doc;
        let err = doc_err(doc_id);
        let seq = self.take_seq()?;
        let loaded = match merge_as {
            MergeAs::Device { absent: true } => None,
            _ => load_doc(&self.tx, doc_id)?,
        };
        let (rows, merged) = match loaded {
            None => {
                // The bytes are checked (decoded or loaded), then kept as they came (a document
                // is any sequence of its chunks), and all of them are new here. A document
                // created in one change, the common case, is read without building an op set.
                let (rows, heads) = match decoded.new {
                    Some((head, rows)) => (rows?, vec![head]),
                    None => {
                        let mut whole = AutoCommit::load(bytes).map_err(|e| err(e.into()))?;
                        projection::note_conflicts(&self.tx, doc_id, &whole)?;
                        let record = record_of(doc_id, doc::to_json(&whole).map_err(&err)?);
                        if merge_as == MergeAs::Pushed {
                            fits(doc, &record, true)?;
                        }
                        (
                            projection::prepare(kind, doc_id, record)?,
                            whole.get_heads(),
                        )
                    }
                };
                let row = NewDocument {
                    doc_id,
                    kind,
                    class,
                    parent,
                    in_sync: matches!(merge_as, MergeAs::Device { .. }),
                };
                self.insert_document(&row, bytes, &heads_to_bytes(&heads), seq)?;
                (
                    rows,
                    Merged {
                        // All of it: the bytes received, which the caller holds.
                        new_changes: Vec::new(),
                        heads,
                        change_seq: seq as u64,
                        created: true,
                    },
                )
            }
            Some(mut loaded) => {
                if merge_as == MergeAs::Pushed {
                    // Before anything is merged: a device names the document the hub holds,
                    // not a lesser class of it (or another kind at its id).
                    let stored_class =
                        AccessClass::from_code(loaded.class_code).ok_or_else(|| {
                            StoreError::Shape {
                                doc_id,
                                kind: "document",
                                reason: format!("unknown access class {}", loaded.class_code),
                            }
                        })?;
                    crate::fit::check_stored((loaded.kind, stored_class), (kind, class))
                        .map_err(|misfit| StoreError::Misfit { doc_id, misfit })?;
                } else if loaded.kind != kind {
                    return Err(StoreError::KindMismatch {
                        doc_id,
                        found: loaded.kind.name(),
                        expected: kind.name(),
                    });
                }
                loaded
                    .doc
                    .load_incremental(bytes)
                    .map_err(|e| err(e.into()))?;
                let heads = loaded.doc.get_heads();
                if heads_to_bytes(&heads) == heads_to_bytes(&loaded.heads) {
                    return Ok(None);
                }
                let record = record_of(doc_id, doc::to_json(&loaded.doc).map_err(&err)?);
                if merge_as == MergeAs::Pushed {
                    // The content as merged: the push may add a field the stored half lacked.
                    fits(doc, &record, false)?;
                }
                let new_changes = loaded.doc.save_after(&loaded.heads);
                projection::note_conflicts(&self.tx, doc_id, &loaded.doc)?;
                self.store_changes(doc_id, &mut loaded, seq, None)?;
                (
                    projection::prepare(kind, doc_id, record)?,
                    Merged {
                        new_changes,
                        heads,
                        change_seq: seq as u64,
                        created: false,
                    },
                )
            }
        };
        projection::write(&self.tx, &rows)?;
        Ok(Some(merged))
    }
}

/// What a merge added.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The Automerge changes that were new here (what a hub relays onwards); empty when the
    /// document was `created`, since then the changes are all the bytes merged.
    pub new_changes: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    /// The document's new local change sequence.
    pub change_seq: u64,
    /// The document was new here: the bytes merged are all of it, exactly as now stored.
    pub created: bool,
}

impl Store {
    /// Drops every projection row and derives them again from the documents, in one
    /// transaction.
    pub fn rebuild_projections(&mut self) -> Result<RebuildReport> {
        let tx = Tx::begin(&*self.conn)?;
        let report = rebuild_in(&tx)?;
        tx.commit()?;
        Ok(report)
    }

    /// Rebuilds the projections once after an update that added or changed one (a store
    /// whose `meta` says an older [`projection::PROJECTIONS_VERSION`]); a store already there
    /// is only read. Several processes opening one database at once rebuild once: the first
    /// holds the meta row, the others wait for it and find the work done.
    pub fn catch_up_projections(&mut self) -> Result<Option<RebuildReport>> {
        let done = |v: Option<String>| {
            v.and_then(|v| v.parse::<u32>().ok())
                .is_some_and(|v| v >= projection::PROJECTIONS_VERSION)
        };
        if done(self.meta(crate::meta::PROJECTIONS_VERSION)?) {
            return Ok(None);
        }
        let tx = Tx::begin(&*self.conn)?;
        tx.exec(
            "INSERT INTO meta (key, value) VALUES (?1, '0')
             ON CONFLICT (key) DO UPDATE SET value = meta.value",
            &[&crate::meta::PROJECTIONS_VERSION],
        )?;
        let stored: Option<String> = tx.row(
            "SELECT value FROM meta WHERE key = ?1",
            &[&crate::meta::PROJECTIONS_VERSION],
            |r| r.get(0),
        )?;
        if done(stored) {
            tx.commit()?;
            return Ok(None);
        }
        let report = rebuild_in(&tx)?;
        tx.exec(
            "UPDATE meta SET value = ?2 WHERE key = ?1",
            &[
                &crate::meta::PROJECTIONS_VERSION,
                &projection::PROJECTIONS_VERSION.to_string(),
            ],
        )?;
        tx.commit()?;
        tracing::info!(
            documents = report.documents,
            "projections rebuilt for this version"
        );
        Ok(Some(report))
    }
}

/// Drops every projection row and derives them again from the documents, in `tx`.
fn rebuild_in(tx: &Tx<'_>) -> Result<RebuildReport> {
    for table in PROJECTION_TABLES {
        tx.exec(&format!("DELETE FROM {table}"), &[])?;
    }
    let ids: Vec<Vec<u8>> = tx.rows(
        "SELECT doc_id FROM documents ORDER BY change_seq",
        &[],
        |r| r.get(0),
    )?;
    for raw in &ids {
        let doc_id = Uuid::from_slice(raw).map_err(|e| StoreError::Shape {
            doc_id: Uuid::nil(),
            kind: "document",
            reason: e.to_string(),
        })?;
        let loaded = load_doc(tx, doc_id)?.expect("listed above, same transaction");
        let json = record_of(
            doc_id,
            doc::to_json(&loaded.doc).map_err(|source| StoreError::Document { doc_id, source })?,
        );
        projection::project(tx, loaded.kind, doc_id, json)?;
        projection::note_conflicts(tx, doc_id, &loaded.doc)?;
    }
    Ok(RebuildReport {
        documents: ids.len(),
    })
}
