//! The audit log in the store: every local create and edit is appended in the same
//! transaction as the write itself (so neither lands without the other), views of sensitive
//! records are appended by the service, and the chain can be checked at any time.

use crate::records::Writer;
use crate::sql::{Sql, SqlError, SqlExt};
use crate::{Result, Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use kabinet_core::audit::{
    AuditAction, AuditEntry, ChainedEntry, GENESIS, chain_hash, to_hex, verify_chain,
};

/// Who a device is in its audit entries: its hub device id once enrolled, else its cabinet.
fn device_label(conn: &dyn Sql) -> Result<String> {
    let get = |k: &str| -> Result<Option<String>> {
        Ok(conn.row("SELECT value FROM meta WHERE key = ?1", &[&k], |r| r.get(0))?)
    };
    Ok(match get(crate::meta::DEVICE_ID)? {
        Some(id) => id,
        None => get(crate::meta::CABINET)?.unwrap_or_else(|| "local".into()),
    })
}

fn last(conn: &dyn Sql) -> Result<(u64, [u8; 32])> {
    let row: Option<(i64, Vec<u8>)> = conn.row(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match row {
        Some((seq, hash)) => (seq as u64, hash.try_into().unwrap_or(GENESIS)),
        None => (0, GENESIS),
    })
}

/// The end of the chain inside one transaction: read once, then carried from entry to entry.
struct Tail<'c> {
    conn: &'c dyn Sql,
    device: String,
    seq: u64,
    prev: [u8; 32],
}

impl<'c> Tail<'c> {
    fn read(conn: &'c dyn Sql) -> Result<Tail<'c>> {
        let (seq, prev) = last(conn)?;
        Ok(Tail {
            conn,
            device: device_label(conn)?,
            seq,
            prev,
        })
    }

    /// Appends one entry after the chain's last.
    fn append(
        &mut self,
        user: &str,
        action: AuditAction,
        record: &str,
        class: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        // Stored with microseconds, hashed the same way: the entry read back hashes alike.
        let at_text = at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let at = DateTime::parse_from_rfc3339(&at_text)
            .expect("just formatted")
            .with_timezone(&Utc);
        let entry = AuditEntry {
            seq: self.seq + 1,
            at,
            user: user.to_string(),
            device: self.device.clone(),
            action,
            record: record.to_string(),
            class: class.to_string(),
        };
        let hash = chain_hash(&self.prev, &entry);
        // `user` is a reserved word in PostgreSQL: the column is quoted, which SQLite reads alike.
        self.conn.exec(
            "INSERT INTO audit_log (seq, at, \"user\", device, action, record, class, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                &(entry.seq as i64),
                &at_text,
                &entry.user,
                &entry.device,
                &action.as_str(),
                &entry.record,
                &entry.class,
                &self.prev.to_vec(),
                &hash.to_vec(),
            ],
        )?;
        self.seq = entry.seq;
        self.prev = hash;
        Ok(())
    }
}

impl Writer<'_> {
    /// Appends the entries of this write's created and changed documents.
    pub(crate) fn audit_touched(&mut self) -> Result<()> {
        let touched = std::mem::take(&mut self.touched);
        if touched.is_empty() {
            return Ok(());
        }
        let user = self.audit_user.clone().unwrap_or_else(|| "system".into());
        let now = Utc::now();
        let mut tail = Tail::read(&self.tx)?;
        for (doc_id, kind, class, created) in touched {
            let action = if created {
                AuditAction::Create
            } else {
                AuditAction::Edit
            };
            let class = format!("{}/{}", kind.name(), class.as_str());
            tail.append(&user, action, &doc_id.to_string(), &class, now)?;
        }
        Ok(())
    }

    /// An entry of its own in this write (a consent withdrawn, slips printed).
    pub fn audit(&mut self, action: AuditAction, record: &str, class: &str) -> Result<()> {
        let user = self.audit_user.clone().unwrap_or_else(|| "system".into());
        Tail::read(&self.tx)?.append(&user, action, record, class, Utc::now())
    }
}

fn row(r: &crate::sql::Row<'_>) -> Result<ChainedEntry, SqlError> {
    let at: String = r.get(1)?;
    let action: String = r.get(4)?;
    let prev: Vec<u8> = r.get(7)?;
    let hash: Vec<u8> = r.get(8)?;
    let hex = |b: Vec<u8>| to_hex(&b.try_into().unwrap_or([0xff; 32]));
    Ok(ChainedEntry {
        entry: AuditEntry {
            seq: r.get::<i64>(0)? as u64,
            at: DateTime::parse_from_rfc3339(&at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            user: r.get(2)?,
            device: r.get(3)?,
            // An unknown action can only be a tampered row: it then fails the hash check.
            action: AuditAction::parse(&action).unwrap_or(AuditAction::Edit),
            record: r.get(5)?,
            class: r.get(6)?,
        },
        prev_hash: hex(prev),
        hash: hex(hash),
    })
}

impl Store {
    /// Local writes from now on are recorded as `user`'s.
    pub fn set_audit_user(&mut self, user: Option<String>) {
        self.audit_user = user;
    }

    /// Records a view (or print) of a sensitive record.
    pub fn audit_event(&mut self, action: AuditAction, record: &str, class: &str) -> Result<()> {
        let user = self.audit_user.clone().unwrap_or_else(|| "system".into());
        let tx = crate::sql::Tx::begin(&*self.conn)?;
        Tail::read(&tx)?.append(&user, action, record, class, Utc::now())?;
        tx.commit()?;
        Ok(())
    }

    /// Entries after `after_seq`, oldest first, at most `limit`.
    pub fn audit_entries(&self, after_seq: u64, limit: usize) -> Result<Vec<ChainedEntry>> {
        entries(&self.conn, after_seq, limit)
    }

    /// Checks the whole chain; returns how many entries it holds.
    pub fn verify_audit(&self) -> Result<u64> {
        verify_audit_on(&self.conn)
    }
}

fn entries(conn: &dyn Sql, after_seq: u64, limit: usize) -> Result<Vec<ChainedEntry>> {
    // `user` is a reserved word in PostgreSQL: the column is quoted, which SQLite reads alike.
    Ok(conn.rows(
        "SELECT seq, at, \"user\", device, action, record, class, prev_hash, hash
             FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        &[&(after_seq as i64), &limit],
        row,
    )?)
}

/// [`Store::verify_audit`] on any connection to a store's tables (a transaction under way, the
/// copy a hub's move or restore is checking before it commits).
pub fn verify_audit_on(conn: &dyn Sql) -> Result<u64> {
    let mut prev = GENESIS;
    let mut seq = 0;
    loop {
        let batch = entries(conn, seq, 10_000)?;
        if batch.is_empty() {
            return Ok(seq);
        }
        prev = verify_chain(prev, seq, &batch).map_err(StoreError::AuditChain)?;
        seq = batch.last().expect("not empty").entry.seq;
    }
}
