//! Moving a hub from its SQLite file to a PostgreSQL database (`kabinet-hub migrate --to`):
//! every table copied row for row in one transaction of the target (documents with their
//! chunks, projections, the audit chain, devices with their token hashes, users, sessions,
//! the relay log with its sequence numbers), from one consistent read of the source. Devices
//! keep their tokens and their cursors, so they sync on with no re-enrollment; then the copy
//! is checked: rows per table, every document's heads, the audit chain.

use super::StoreHub;
use crate::storage::HubError;
use kabinet_store::Origin;
use kabinet_store::sql::{Sql, SqlError, SqlErrorKind, SqlExt, ToSql, ValueRef};
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// What a migration copied and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Rows per table, as copied (equal on both sides).
    pub tables: Vec<(String, u64)>,
    /// Documents whose heads are the same in the source and the target.
    pub documents_checked: u64,
    /// Entries of the hub's audit chain, verified in the target.
    pub audit_entries: u64,
}

/// Why a migration stopped (nothing is kept in the target then).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the target database already holds a hub ({what}); migrate into an empty database (createdb) so nothing there is mixed with this hub"
    )]
    TargetNotEmpty { what: String },
    #[error(
        "the copy differs from the source: {0}. Was the hub still running? Stop it, drop and create the target database again, and migrate again"
    )]
    Mismatch(String),
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl From<SqlError> for MigrateError {
    fn from(e: SqlError) -> Self {
        MigrateError::Hub(e.into())
    }
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Hub(e.into())
    }
}

impl From<kabinet_store::StoreError> for MigrateError {
    fn from(e: kabinet_store::StoreError) -> Self {
        MigrateError::Hub(e.into())
    }
}

/// A value read from one database, to be written to the other.
enum Owned {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Owned {
    fn to_sql(&self) -> ValueRef<'_> {
        match self {
            Owned::Null => ValueRef::Null,
            Owned::Integer(i) => ValueRef::Integer(*i),
            Owned::Real(f) => ValueRef::Real(*f),
            Owned::Text(s) => ValueRef::Text(s),
            Owned::Blob(b) => ValueRef::Blob(b),
        }
    }
}

fn owned(v: ValueRef<'_>) -> Owned {
    match v {
        ValueRef::Null => Owned::Null,
        ValueRef::Integer(i) => Owned::Integer(i),
        ValueRef::Real(f) => Owned::Real(f),
        ValueRef::Text(s) => Owned::Text(s.to_string()),
        ValueRef::Blob(b) => Owned::Blob(b.to_vec()),
    }
}

/// Copies the SQLite hub `source` into the empty PostgreSQL hub `target` (opened, so its
/// tables are made), then checks the copy.
pub fn to_postgres(source: &StoreHub, target: &StoreHub) -> Result<MigrationReport, MigrateError> {
    into_postgres(&source.store(), target, Into::Empty, |_| Ok(()))
}

/// What the PostgreSQL database is to hold before the copy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Into {
    /// Nothing of a hub (a move): refused otherwise.
    Empty,
    /// Whatever it holds gives way to the copy (a restore).
    Replace,
}

/// Copies the SQLite hub store `source` into the PostgreSQL hub `target` in one transaction
/// of the target, running `finish` in it last (before the check), then checks the copy.
pub(super) fn into_postgres(
    source: &kabinet_store::Store,
    target: &StoreHub,
    into: Into,
    finish: impl FnOnce(&dyn Sql) -> Result<(), SqlError>,
) -> Result<MigrationReport, MigrateError> {
    let target_seal = target.seal.as_ref();
    let mut target = target.store();
    if source.dialect() != kabinet_store::sql::Dialect::Sqlite {
        return Err(MigrateError::Mismatch(
            "the source is not an SQLite hub".into(),
        ));
    }
    let from = source.extension_sql();
    if into == Into::Empty {
        for (table, what) in [
            ("documents", "documents"),
            ("hub_device", "devices"),
            ("hub_user", "users"),
            ("audit_log", "an audit log"),
        ] {
            let n: i64 = target
                .sql()
                .one(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))?;
            if n > 0 {
                return Err(MigrateError::TargetNotEmpty {
                    what: format!("{n} rows of {what}"),
                });
            }
        }
    }
    // One read transaction of the source: every table as of one moment.
    from.execute_batch("BEGIN")?;
    let mut failed_check = None;
    let copied = (|| -> Result<Vec<(String, u64)>, MigrateError> {
        let tables = sqlite_tables(from)?;
        let from_sql: &dyn Sql = from;
        let counts = target.write(Origin::Import, |w| {
            let to = w.sql();
            if into == Into::Replace {
                // Every table the copy fills, at once (the ones that name a user with it).
                let emptied: Vec<&str> = tables
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .filter(|t| *t != "meta")
                    .collect();
                to.batch(&format!("TRUNCATE {}", emptied.join(", ")))?;
            }
            // What opening the target wrote (its settings, the relay mark) gives way to the
            // source's own; the salt its seal was derived with stays, or no key sealed below
            // would open again.
            to.exec("DELETE FROM meta WHERE key <> ?1", &[&super::seal::SALT_META])?;
            let mut counts = Vec::new();
            for (table, columns) in &tables {
                counts.push((table.clone(), copy_table(from_sql, to, table, columns)?));
            }
            // Users' secret keys, plain in the (encrypted) SQLite file, are sealed on the server.
            if let Some(seal) = &target_seal {
                let keys: Vec<(String, Vec<u8>)> = to.rows(
                    "SELECT name, secret_key FROM hub_user WHERE secret_key IS NOT NULL",
                    &[],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                for (name, stored) in keys {
                    if let Ok(secret) = <[u8; 32]>::try_from(stored.as_slice()) {
                        let secret = zeroize::Zeroizing::new(secret);
                        to.exec(
                            "UPDATE hub_user SET secret_key = ?2 WHERE name = ?1",
                            &[&name, &seal.seal(&secret)],
                        )?;
                    }
                }
            }
            // The relay log's numbers were copied as they were: its sequence goes on after
            // them, so devices' cursors keep their meaning.
            to.exec(
                "SELECT setval(pg_get_serial_sequence('hub_relay', 'hub_seq'), GREATEST(MAX(hub_seq), 1), MAX(hub_seq) IS NOT NULL) FROM hub_relay",
                &[],
            )?;
            finish(to)?;
            recount_meta(to, &mut counts)?;
            // A restore replaces a hub: checked before it commits, so a copy that differs
            // leaves the hub as it was. (A move checks after: its target was empty.)
            if into == Into::Replace
                && let Err(e) = check(from_sql, to, counts.clone())
            {
                failed_check = Some(e);
                return Err(SqlError::new(SqlErrorKind::Database, "the copy differs from the backup").into());
            }
            Ok(counts)
        });
        match (counts, failed_check.take()) {
            (_, Some(e)) => Err(e),
            (counts, None) => Ok(counts?),
        }
    })();
    let _ = from.execute_batch("COMMIT");
    let tables = copied?;
    let report = check(source.sql(), target.sql(), tables)?;
    Ok(report)
}

/// Every table of an SQLite hub file with its columns in order, users first (the tables that
/// name a user, sessions and cabinets, are checked row by row on a server).
fn sqlite_tables(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name <> 'hub_user', name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .into_iter()
        .map(|table| {
            let columns = conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
                .query_map([&table], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((table, columns))
        })
        .collect()
}

/// Rows one statement of a copy inserts: a round trip per row cost a move to a database server
/// most of its time. Kept under SQLite's 32,766 parameters and PostgreSQL's 65,535.
fn rows_per_insert(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 500)
}

/// Copies every row of `table` (its `columns`, named alike on both sides) from one database
/// to the other, many rows per statement; how many.
fn copy_table(
    from: &dyn Sql,
    to: &dyn Sql,
    table: &str,
    columns: &[String],
) -> Result<u64, SqlError> {
    let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let insert = |rows: usize| {
        let tuples: Vec<String> = (0..rows)
            .map(|r| {
                let slots: Vec<String> = (1..=columns.len())
                    .map(|c| format!("?{}", r * columns.len() + c))
                    .collect();
                format!("({})", slots.join(", "))
            })
            .collect();
        format!(
            "INSERT INTO {table} ({}) VALUES {}",
            names.join(", "),
            tuples.join(", ")
        )
    };
    let per_insert = rows_per_insert(columns.len());
    let full = insert(per_insert);
    let mut pending: Vec<Owned> = Vec::with_capacity(per_insert * columns.len());
    let mut rows = 0u64;
    let flush = |pending: &mut Vec<Owned>| -> Result<(), SqlError> {
        if pending.is_empty() {
            return Ok(());
        }
        let n = pending.len() / columns.len();
        let params: Vec<&dyn ToSql> = pending.iter().map(|v| v as &dyn ToSql).collect();
        match n == per_insert {
            true => to.exec(&full, &params)?,
            false => to.exec(&insert(n), &params)?,
        };
        pending.clear();
        Ok(())
    };
    let select = format!("SELECT {} FROM {table}", names.join(", "));
    let mut take = |r: &kabinet_store::sql::Row<'_>| -> Result<(), SqlError> {
        for i in 0..columns.len() {
            pending.push(owned(r.value(i)?));
        }
        rows += 1;
        if pending.len() >= per_insert * columns.len() {
            flush(&mut pending)?;
        }
        Ok(())
    };
    match from.dialect() {
        // SQLite hands rows over as it reads them.
        kabinet_store::sql::Dialect::Sqlite => from.each_row(&select, &[], &mut |r| {
            take(r)?;
            Ok(ControlFlow::Continue(()))
        })?,
        // A server's answer is taken whole (see `PgConnection::each_row`): through a cursor,
        // a page at a time, so a national hub's documents are never all in memory at once.
        // The caller's transaction holds the snapshot the cursor reads. A cursor of its own
        // per table: a prepared FETCH keeps the columns of the cursor it was prepared for.
        kabinet_store::sql::Dialect::Postgres => {
            let cursor = format!("kabinet_copy_{table}");
            from.batch(&format!("DECLARE {cursor} NO SCROLL CURSOR FOR {select}"))?;
            let fetch = format!("FETCH FORWARD 2000 FROM {cursor}");
            loop {
                let mut fetched = 0;
                from.each_row(&fetch, &[], &mut |r| {
                    fetched += 1;
                    take(r)?;
                    Ok(ControlFlow::Continue(()))
                })?;
                if fetched == 0 {
                    break;
                }
            }
            from.batch(&format!("CLOSE {cursor}"))?;
        }
    }
    flush(&mut pending)?;
    Ok(rows)
}

/// The target's own meta rows (a seal's salt) beside the copied ones: what the check expects.
fn recount_meta(to: &dyn Sql, counts: &mut [(String, u64)]) -> Result<(), SqlError> {
    if let Some((_, n)) = counts.iter_mut().find(|(t, _)| t == "meta") {
        *n = to.one("SELECT count(*) FROM meta", &[], |r| r.get::<u64>(0))?;
    }
    Ok(())
}

/// Rows per table of an SQLite hub store.
pub(super) fn table_counts(
    store: &kabinet_store::Store,
) -> Result<Vec<(String, u64)>, MigrateError> {
    let mut counts = Vec::new();
    for (table, _) in sqlite_tables(store.extension_sql())? {
        let n: i64 = store
            .sql()
            .one(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))?;
        counts.push((table, n as u64));
    }
    Ok(counts)
}

/// Rows per table, every document's heads, the audit chain: the target as the source.
pub(super) fn check(
    source: &dyn Sql,
    target: &dyn Sql,
    tables: Vec<(String, u64)>,
) -> Result<MigrationReport, MigrateError> {
    for (table, rows) in &tables {
        let there: i64 = target.one(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))?;
        if there as u64 != *rows {
            return Err(MigrateError::Mismatch(format!(
                "{table}: {rows} rows copied, {there} in the target"
            )));
        }
    }
    let heads = |db: &dyn Sql| -> Result<BTreeMap<Vec<u8>, Vec<u8>>, SqlError> {
        let mut out = BTreeMap::new();
        db.each_row("SELECT doc_id, heads FROM documents", &[], &mut |r| {
            out.insert(r.get::<Vec<u8>>(0)?, r.get::<Vec<u8>>(1)?);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    };
    let (before, after) = (heads(source)?, heads(target)?);
    if before != after {
        let differing = before
            .iter()
            .filter(|(id, h)| after.get(*id) != Some(h))
            .count();
        return Err(MigrateError::Mismatch(format!(
            "{differing} documents have other heads in the target"
        )));
    }
    let audit_entries = kabinet_store::audit::verify_audit_on(target).map_err(|e| {
        MigrateError::Mismatch(format!(
            "the audit chain does not verify in the target: {e}"
        ))
    })?;
    Ok(MigrationReport {
        tables,
        documents_checked: before.len() as u64,
        audit_entries,
    })
}

/// Takes a consistent backup of `source` (on SQLite or PostgreSQL) while it serves: a new
/// hub database file at `path`, SQLCipher-encrypted with `key` (the hub key), holding every
/// table as of one moment (one read transaction, which blocks no writer), then checked like a
/// migration. Written as `path` + `.partial` and renamed when complete, so a file at `path` is
/// always a whole backup. Users' secret keys sealed on a server are stored plain inside the
/// encrypted file, as a SQLite hub keeps them.
pub fn backup(
    source: &StoreHub,
    path: &std::path::Path,
    key: &kabinet_store::StoreKey,
) -> Result<MigrationReport, MigrateError> {
    if path.exists() {
        return Err(MigrateError::Mismatch(format!(
            "{} already exists; name a new file",
            path.display()
        )));
    }
    let partial = path.with_extension("partial");
    // A backup cut short leaves its file, and perhaps a log SQLite would replay onto the next.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    let mut target = kabinet_store::Store::create(&partial, key, &super::hub_settings())?;
    super::schema::migrate(&mut target)?;
    // The copy is one transaction into a file nobody reads until it is renamed: no log. In
    // WAL mode the whole hub went through the log first, and every page the copy read back was
    // looked up in a log of gigabytes: a million visits took 529 s, ten times 100,000's 13 s
    // times four. A copy cut halfway is a `.partial` the next backup deletes.
    target
        .extension_sql()
        .execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let source_seal = source.seal.as_ref();
    let source = source.store();
    let tables = sqlite_tables(target.extension_sql())?;
    let snapshot = match source.dialect() {
        kabinet_store::sql::Dialect::Sqlite => "BEGIN",
        kabinet_store::sql::Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    source.sql().batch(snapshot)?;
    let done = (|| -> Result<MigrationReport, MigrateError> {
        let from = source.sql();
        let counts = target.write(Origin::Import, |w| {
            let to = w.sql();
            to.exec("DELETE FROM meta", &[])?;
            let mut counts = Vec::new();
            for (table, columns) in &tables {
                counts.push((table.clone(), copy_table(from, to, table, columns)?));
            }
            // The file keeps keys plain (SQLCipher encrypts it whole): a server's salt would
            // only stand in the way of the seal a later move makes.
            to.exec(
                "DELETE FROM meta WHERE key = ?1",
                &[&super::seal::SALT_META],
            )?;
            recount_meta(to, &mut counts)?;
            Ok(counts)
        })?;
        if let Some(seal) = source_seal {
            let keys: Vec<(String, Vec<u8>)> = target.sql().rows(
                "SELECT name, secret_key FROM hub_user WHERE secret_key IS NOT NULL",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut plain = Vec::new();
            for (name, stored) in keys {
                if let Some(secret) = super::seal::open_secret(Some(seal), &stored)? {
                    plain.push((name, secret));
                }
            }
            target.write(Origin::Import, |w| {
                for (name, secret) in &plain {
                    w.sql().exec(
                        "UPDATE hub_user SET secret_key = ?2 WHERE name = ?1",
                        &[name, &secret.as_slice()],
                    )?;
                }
                Ok(())
            })?;
        }
        // Checked inside the source's snapshot: what the backup must equal.
        check(from, target.sql(), counts)
    })();
    let _ = source.sql().batch("COMMIT");
    let report = match done {
        Ok(r) => r,
        Err(e) => {
            drop(target);
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    drop(target);
    // Written without syncs: on disk before it gets its name.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(kabinet_store::StoreError::from)?;
    std::fs::rename(&partial, path).map_err(kabinet_store::StoreError::from)?;
    Ok(report)
}
