//! What the device side of sync needs from the store: the batch of local changes the hub does
//! not have yet, and applying what the hub sends, each recorded with the heads the hub holds
//! so that nothing received is ever sent back. The protocol itself lives in `kabinet-sync`.

use crate::records::{
    Decoded, DocKind, MergeAs, Merged, Received, append_chunks, class_at, heads_from_bytes,
    heads_to_bytes, kind_at, load_doc,
};
use crate::sql::{Sql, SqlExt};
use crate::{Result, Store, StoreError, Writer};
use automerge::ChangeHash;
use kabinet_core::AccessClass;
use std::ops::ControlFlow;
use uuid::Uuid;

/// One document's changes for the hub.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub class: AccessClass,
    pub parent: Option<Uuid>,
    pub changes: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    pub change_seq: u64,
}

#[derive(Debug, Clone, Default)]
pub struct OutgoingBatch {
    pub docs: Vec<Outgoing>,
    /// The local change sequence this batch covers (documents up to it that need nothing are
    /// covered too).
    pub through: u64,
    /// More local changes wait after `through`.
    pub more: bool,
}

/// The highest local change sequence in `conn`'s store (0 when empty).
fn last_change_seq(conn: &dyn Sql) -> Result<u64> {
    let last: i64 = conn.one(
        "SELECT COALESCE(MAX(change_seq), 0) FROM documents",
        &[],
        |r| r.get(0),
    )?;
    Ok(last as u64)
}

impl Store {
    /// The highest local change sequence so far (0 in an empty store): a cursor before the
    /// next write, for [`Store::changes_since`].
    pub fn last_change_seq(&self) -> Result<u64> {
        last_change_seq(&self.conn)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .row("SELECT value FROM meta WHERE key = ?1", &[&key], |r| {
                r.get(0)
            })?)
    }

    /// How many documents changed after `after` may hold changes the hub lacks: what the
    /// status line calls pending. Counts index rows only (no document is read), so it stays
    /// cheap with 100,000 unsynced documents; a document whose only change came from the hub
    /// is not counted.
    pub fn pending_count(&self, after: u64) -> Result<u64> {
        let n: i64 = self.conn.one(
            "SELECT COUNT(*) FROM documents d LEFT JOIN sync_state s ON s.doc_id = d.doc_id
                 WHERE d.change_seq > ?1 AND COALESCE(s.in_sync_seq, d.in_sync_seq, -1) != d.change_seq",
            &[&(after as i64)],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Documents changed after `after` that hold changes the hub lacks, up to about
    /// `max_bytes` of changes (at least one document).
    pub fn outgoing(&self, after: u64, max_bytes: usize) -> Result<OutgoingBatch> {
        let mut batch = OutgoingBatch {
            through: after,
            ..Default::default()
        };
        let mut bytes = 0;
        // The rows are read as they come (no list of every changed document with its bytes);
        // an error of the store's own stops the walk and is kept in `failed`.
        let mut failed: Option<StoreError> = None;
        let read = self.conn.each_row(
            "SELECT d.doc_id, d.kind, d.access_class, d.parent_id, d.change_seq, s.peer_heads,
                    COALESCE(s.in_sync_seq, d.in_sync_seq), d.snapshot, d.heads
             FROM documents d LEFT JOIN sync_state s ON s.doc_id = d.doc_id
             WHERE d.change_seq > ?1 ORDER BY d.change_seq",
            &[&(after as i64)],
            &mut |row| {
                // One row: `Ok(true)` goes on to the next, `Ok(false)` ends the batch.
                let mut step = || -> Result<bool> {
                    let seq = row.get::<i64>(4)? as u64;
                    if bytes >= max_bytes {
                        batch.more = true;
                        return Ok(false);
                    }
                    batch.through = seq;
                    if row.get::<Option<i64>>(6)? == Some(seq as i64) {
                        return Ok(true); // nothing here the hub lacks (it came from the hub)
                    }
                    let doc_id: Uuid = row.get(0)?;
                    let peer = row
                        .get::<Option<Vec<u8>>>(5)?
                        .map(|b| heads_from_bytes(&b))
                        .unwrap_or_default();
                    let missing = || StoreError::NotFound {
                        kind: "document",
                        id: doc_id.to_string(),
                    };
                    let (changes, heads) = if peer.is_empty() {
                        // The hub has none of it: the stored bytes are exactly what it needs.
                        // Read from the row at hand: looking the document up again by id costs a
                        // random probe of the id index per document, and on a device with tens of
                        // thousands of them those probes missed the page cache (a first push of
                        // 50,000 visits spent most of its time reading and decrypting index
                        // pages).
                        let mut bytes: Vec<u8> = row.get(7)?;
                        append_chunks(&self.conn, doc_id, &mut bytes)?;
                        (bytes, heads_from_bytes(&row.get::<Vec<u8>>(8)?))
                    } else {
                        let mut loaded = load_doc(&self.conn, doc_id)?.ok_or_else(missing)?;
                        // Heads the hub holds that this copy lacks cannot be a base: send
                        // everything.
                        let base = if peer
                            .iter()
                            .all(|h| loaded.doc.get_change_by_hash(h).is_some())
                        {
                            peer
                        } else {
                            Vec::new()
                        };
                        (loaded.doc.save_after(&base), loaded.heads)
                    };
                    if changes.is_empty() {
                        return Ok(true);
                    }
                    bytes += changes.len();
                    batch.docs.push(Outgoing {
                        doc_id,
                        kind: kind_at(row, 1)?,
                        class: class_at(row, 2)?,
                        parent: row.get(3)?,
                        changes,
                        heads,
                        change_seq: seq,
                    });
                    Ok(true)
                };
                Ok(match step() {
                    Ok(true) => ControlFlow::Continue(()),
                    Ok(false) => ControlFlow::Break(()),
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                })
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        read?;
        Ok(batch)
    }
}

impl Writer<'_> {
    /// Records that the hub holds `heads` of a document (after an acknowledged push, or
    /// before a local edit of a document that was in sync). If the document has not changed
    /// since `change_seq`, it is in sync.
    pub fn mark_pushed(
        &mut self,
        doc_id: Uuid,
        heads: &[ChangeHash],
        change_seq: u64,
    ) -> Result<()> {
        self.tx.exec(
            "INSERT INTO sync_state (doc_id, peer_heads, in_sync_seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT(doc_id) DO UPDATE SET peer_heads = excluded.peer_heads, in_sync_seq = excluded.in_sync_seq",
            &[&doc_id, &heads_to_bytes(heads), &(change_seq as i64)],
        )?;
        Ok(())
    }

    /// Forgets what the hub was known to hold: every document is then sent whole by the next
    /// push. For a hub restored from a backup, which lost what came after it.
    pub fn forget_hub_state(&mut self) -> Result<()> {
        self.tx.exec("DELETE FROM sync_state", &[])?;
        self.tx.exec(
            "UPDATE documents SET in_sync_seq = NULL WHERE in_sync_seq IS NOT NULL",
            &[],
        )?;
        Ok(())
    }

    /// The highest local change sequence, if every document changed after `after` is in sync
    /// with the hub (`None` if one holds changes the hub lacks). A device that had nothing
    /// waiting before a pull uses it to move its push cursor past what it just pulled, so that
    /// the next sync, with nothing to do, does not write only to move the cursor.
    pub fn in_sync_through(&self, after: u64) -> Result<Option<u64>> {
        // A count of the rows that differ, spelled so both databases read it (PostgreSQL sums
        // no comparisons, and its sums of bigints are numerics).
        let (last, waiting): (Option<i64>, Option<i64>) = self.tx.one(
            "SELECT MAX(d.change_seq),
                    CAST(SUM(CASE WHEN COALESCE(s.in_sync_seq, d.in_sync_seq, -1) != d.change_seq
                                  THEN 1 ELSE 0 END) AS BIGINT)
                 FROM documents d LEFT JOIN sync_state s ON s.doc_id = d.doc_id
                 WHERE d.change_seq > ?1",
            &[&(after as i64)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(match (last, waiting) {
            (None, _) => Some(after),
            (Some(last), Some(0)) => Some(last as u64),
            _ => None,
        })
    }

    /// The highest local change sequence so far (0 in an empty store).
    pub fn last_change_seq(&self) -> Result<u64> {
        last_change_seq(&self.tx)
    }

    /// Applies a batch of changes from the hub, decoded on a second thread ahead of the
    /// writes (see [`Writer::merge_batch`]). The hub then holds everything this copy holds,
    /// unless this copy had local changes not yet pushed: then the old record of the hub's
    /// heads is kept (still true, only older), and the next push sends a little more than
    /// needed.
    pub fn apply_incoming_batch(&mut self, docs: &[Received<'_>]) -> Result<()> {
        self.merge_batch(docs, |w, doc, decoded| {
            w.apply_decoded(doc, decoded)?;
            Ok(true)
        })
    }

    fn apply_decoded(&mut self, doc: &Received<'_>, decoded: Decoded) -> Result<Option<Merged>> {
        let before: Option<(i64, Option<i64>)> = self.tx.row(
            "SELECT d.change_seq, COALESCE(s.in_sync_seq, d.in_sync_seq)
                 FROM documents d LEFT JOIN sync_state s ON s.doc_id = d.doc_id
                 WHERE d.doc_id = ?1",
            &[&doc.doc_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some((seq, in_sync)) = before else {
            // New here: it lands in sync (on its own row) and needs no second lookup.
            return self.merge_received(doc, decoded, MergeAs::Device { absent: true });
        };
        let merged = self.merge_received(doc, decoded, MergeAs::Device { absent: false })?;
        if in_sync == Some(seq)
            && let Some(m) = &merged
        {
            self.mark_pushed(doc.doc_id, &m.heads, m.change_seq)?;
        }
        Ok(merged)
    }
}
