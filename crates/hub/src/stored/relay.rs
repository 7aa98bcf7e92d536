//! The relay log in SQLite: what every push and hub-side edit brought that was new, in
//! arrival order, and the pages devices pull from it. A new document's row holds no bytes:
//! the pull sends the document as stored, so its bytes are written once.

use crate::storage::{HubError, RelayPage};
use chrono::{DateTime, Utc};
use kabinet_core::AccessClass;
use kabinet_store::sql::SqlExt;
use kabinet_store::{Origin, Received, Store, Writer, heads_from_bytes, heads_to_bytes};
use kabinet_sync::DocChanges;
use std::ops::ControlFlow;
use uuid::Uuid;

/// The relay log's origin for the hub's own edits.
const HUB_ORIGIN: &str = "hub";

const INSERT: &str =
    "INSERT INTO hub_relay (doc_id, kind, access_class, parent_id, origin_device, changes, heads)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

pub(super) fn commit_push(
    store: &mut Store,
    device_id: &str,
    docs: &[Received<'_>],
    seen_at: Option<DateTime<Utc>>,
) -> Result<(), HubError> {
    store.write(Origin::Sync, |w| {
        // Hub edits not yet in the relay log (another process's, or one whose relay failed)
        // go first: the push's relay rows record heads that may include them, and a later
        // relay of "changes since those heads" would never carry them.
        relay_past_mark(w)?;
        // Each document checked against the one held and its class (kabinet_store::fit): the
        // class a row is relayed under is then the stored one, not only the device's claim.
        w.merge_pushed(docs, |w, doc, merged| {
            if let Some(m) = merged {
                w.sql().exec(
                    INSERT,
                    &[
                        doc.doc_id.as_bytes(),
                        &(doc.kind as i64),
                        &doc.class.code(),
                        &doc.parent.map(|p| p.as_bytes().to_vec()),
                        &device_id,
                        &m.new_changes,
                        &heads_to_bytes(&m.heads),
                    ],
                )?;
            }
            Ok(())
        })?;
        if let Some(at) = seen_at {
            w.sql().exec(
                "UPDATE hub_device SET last_sync_at = ?2 WHERE device_id = ?1",
                &[&device_id, &at.to_rfc3339()],
            )?;
        }
        // Everything before this push was relayed above, and the push is relayed with it.
        // `WHERE true`: SQLite would read an upsert's ON right after the SELECT's FROM as the
        // join's.
        w.sql().exec(
            "INSERT INTO meta (key, value)
             SELECT CAST(?1 AS TEXT), CAST(COALESCE(MAX(change_seq), 0) AS TEXT) FROM documents
             WHERE true
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&RELAYED_THROUGH],
        )?;
        Ok(())
    })?;
    Ok(())
}

/// The last local change sequence whose changes are all in the relay log: hub edits are
/// relayed past it after each staff call, before each push (in the push's transaction) and
/// when the hub opens, so an edit whose relay failed, or another process's, is never passed
/// over.
const RELAYED_THROUGH: &str = "hub.relayed_through_seq";

/// Relays hub edits committed but not yet relayed (a crash between an edit and its relay
/// row, a failed relay) when the hub opens. A hub without the mark (made before it existed)
/// takes its current change sequence as relayed: it relayed every edit in one lock.
pub(super) fn recover_unrelayed(store: &mut Store) -> Result<usize, HubError> {
    if store.meta(RELAYED_THROUGH)?.is_none() {
        let last = store.last_change_seq()?;
        store.write(Origin::Local, |w| {
            w.set_meta(RELAYED_THROUGH, &last.to_string())
        })?;
        return Ok(0);
    }
    relay_hub_edits(store)
}

/// Relays the hub's own edits past the mark, in a transaction of their own.
pub(super) fn relay_hub_edits(store: &mut Store) -> Result<usize, HubError> {
    Ok(store.write(Origin::Local, relay_past_mark)?)
}

/// In the write under way: each document changed past the mark gets a relay row with its
/// changes since the heads the relay log last recorded for it (a device's push, relayed with
/// it, has none and is skipped); the mark moves to the last change. Returns how many
/// documents it relayed.
fn relay_past_mark(w: &mut Writer<'_>) -> kabinet_store::Result<usize> {
    let mark: u64 = w
        .sql()
        .row(
            "SELECT value FROM meta WHERE key = ?1",
            &[&RELAYED_THROUGH],
            |r| r.get::<String>(0),
        )?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let changed = w.changes_since(mark)?;
    let Some(through) = changed.iter().map(|d| d.change_seq).max() else {
        return Ok(0);
    };
    let mut relayed = 0;
    for doc in &changed {
        let last: Option<Vec<u8>> = w.sql().row(
            "SELECT heads FROM hub_relay WHERE doc_id = ?1 ORDER BY hub_seq DESC LIMIT 1",
            &[doc.doc_id.as_bytes()],
            |r| r.get(0),
        )?;
        let base = last.as_deref().map(heads_from_bytes).unwrap_or_default();
        let changes = w.changes_after(doc.doc_id, &base)?;
        if changes.is_empty() {
            continue; // nothing new to relay (an empty row would mean "the whole document")
        }
        w.sql().exec(
            INSERT,
            &[
                doc.doc_id.as_bytes(),
                &(doc.kind as i64),
                &doc.access_class.code(),
                &doc.parent_id.map(|p| p.as_bytes().to_vec()),
                &HUB_ORIGIN,
                &changes,
                &heads_to_bytes(&doc.heads),
            ],
        )?;
        relayed += 1;
    }
    w.set_meta(RELAYED_THROUGH, &through.to_string())?;
    Ok(relayed)
}

/// Relay rows one page reads at most (a database server hands a query's rows over at once).
const PAGE_ROWS: usize = 20_000;

pub(super) fn relay_page(
    store: &Store,
    cursor: u64,
    not_from: &str,
    max_bytes: usize,
    readable: &dyn Fn(AccessClass) -> bool,
) -> Result<RelayPage, HubError> {
    let sql = store.sql();
    // A device's own rows are skipped by SQLite: right after its push they are all the rows
    // there are.
    // Each row with its document's class now: a document moved into a stricter class (a
    // referral promoted by its destination, an edit at the hub) must not reach a device through
    // rows relayed while it was less strict.
    let mut page = RelayPage {
        docs: Vec::new(),
        next_cursor: cursor,
        more: false,
    };
    let mut bytes = 0usize;
    // The head first, and the page up to it only: a row committed while the page is read (by
    // another hub process on the same database, or the command line beside this one) has a
    // higher number, and the cursor must not pass it unsent. Every row up to the head is
    // committed by then: writers commit one at a time, in the order of their numbers.
    let head: i64 = sql.one(
        "SELECT COALESCE(MAX(hub_seq), 0) FROM hub_relay",
        &[],
        |r| r.get(0),
    )?;
    // The walk's own errors are the database's; the store's (reading a whole new document)
    // stop it and are kept in `failed`.
    let mut failed: Option<kabinet_store::StoreError> = None;
    let mut rows = 0usize;
    sql.each_row(
        // A whole new document's row comes with its snapshot and whether chunks follow it:
        // most have none, and the page then needs no statement of its own per document (on a
        // database server each is a round trip).
        "SELECT r.hub_seq, r.doc_id, r.kind, r.access_class, r.parent_id, r.changes, d.access_class,
                CASE WHEN length(r.changes) = 0 THEN d.snapshot END,
                CASE WHEN length(r.changes) = 0
                     THEN EXISTS (SELECT 1 FROM document_chunks c WHERE c.doc_id = r.doc_id) END
         FROM hub_relay r LEFT JOIN documents d ON d.doc_id = r.doc_id
         WHERE r.hub_seq > ?1 AND r.hub_seq <= ?3 AND r.origin_device <> ?2
         ORDER BY r.hub_seq LIMIT ?4",
        &[&(cursor as i64), &not_from, &head, &PAGE_ROWS],
        &mut |row| {
            rows += 1;
            if bytes >= max_bytes {
                page.more = true;
                return Ok(ControlFlow::Break(()));
            }
            page.next_cursor = row.get::<i64>(0)? as u64;
            let current: Option<u8> = row.get(6)?;
            if !AccessClass::from_code(row.get::<u8>(3)?).is_some_and(readable)
                || current.is_some_and(|c| !AccessClass::from_code(c).is_some_and(readable))
            {
                return Ok(ControlFlow::Continue(()));
            }
            let doc_id: Uuid = row.get(1)?;
            let mut changes: Vec<u8> = row.get(5)?;
            if changes.is_empty() {
                // A whole new document: send it as stored now (a superset of what arrived, which
                // merges the same). Its class may have changed since: the current one must be
                // readable too (checked above with the row).
                match (row.get::<Option<Vec<u8>>>(7)?, row.get::<Option<bool>>(8)?) {
                    (Some(snapshot), Some(false)) if current.is_some() => changes = snapshot,
                    (None, _) => return Ok(ControlFlow::Continue(())), // no such document
                    _ => match store.document_bytes(doc_id) {
                        Ok(Some((stored, class))) if readable(class) => changes = stored,
                        Ok(_) => return Ok(ControlFlow::Continue(())),
                        Err(e) => {
                            failed = Some(e);
                            return Ok(ControlFlow::Break(()));
                        }
                    },
                }
            }
            bytes += changes.len();
            page.docs.push(DocChanges::new(
                doc_id,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                changes,
            ));
            Ok(ControlFlow::Continue(()))
        },
    )?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if rows == PAGE_ROWS {
        page.more = true; // the rows a page may read, all read: more may follow
    }
    if !page.more {
        // Everything up to the head was seen: the device's own rows past the last one sent
        // are behind it too, or every no-op sync would scan them.
        page.next_cursor = page.next_cursor.max(head as u64);
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use crate::HubStorage;
    use crate::stored::StoreHub;
    use kabinet_store::{Origin, Store, StoreKey};

    const KEY: StoreKey = StoreKey::Raw([7; 32]);

    fn relay_rows(dir: &std::path::Path) -> i64 {
        kabinet_store::open_raw(&dir.join("hub.db"), &KEY)
            .unwrap()
            .query_row("SELECT count(*) FROM hub_relay", [], |r| r.get(0))
            .unwrap()
    }

    /// A hub edit committed and the process gone before its relay row (as a crash between the
    /// two transactions leaves it): the next start relays it, once. Another process's edit
    /// goes out before the next push.
    #[test]
    fn a_hub_edit_left_unrelayed_by_a_crash_is_relayed_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let hub = StoreHub::open(dir.path(), &KEY).unwrap();
        let person = kabinet_core::testing::man_without_documents("Асен", "Асенов", 1990);
        hub.with_documents(&mut |store| {
            store
                .write(Origin::Local, |w| w.put_person(&person))
                .unwrap();
        })
        .unwrap();
        assert_eq!(
            relay_rows(dir.path()),
            1,
            "an edit through the hub is relayed"
        );
        drop(hub);

        // The same store written directly: the edit committed, its relay never made.
        let mut store = Store::open(&dir.path().join("hub.db"), &KEY).unwrap();
        let mut corrected = person.clone();
        corrected.phone = Some(kabinet_core::Phone::parse("0888 123 456").unwrap());
        store
            .write(Origin::Local, |w| w.put_person(&corrected))
            .unwrap();
        drop(store);
        assert_eq!(relay_rows(dir.path()), 1);

        let hub = StoreHub::open(dir.path(), &KEY).unwrap();
        assert_eq!(relay_rows(dir.path()), 2, "relayed when the hub opened");

        // Another process's edit (the command line's, say) committed while this hub runs,
        // its relay not yet made: the next push, even an empty one, relays it first.
        let mut other = Store::open(&dir.path().join("hub.db"), &KEY).unwrap();
        corrected.address = Some("ул. Мир 3".into());
        other
            .write(Origin::Local, |w| w.put_person(&corrected))
            .unwrap();
        drop(other);
        hub.commit_push("tablet", &[], None).unwrap();
        assert_eq!(relay_rows(dir.path()), 3, "relayed before the push");
        drop(hub);
        drop(StoreHub::open(dir.path(), &KEY).unwrap());
        assert_eq!(relay_rows(dir.path()), 3, "and only once");
    }
}
