//! The cabinet's local store. Every record (person, visit, sensitive results, referral) is an
//! Automerge document kept in an SQLCipher-encrypted SQLite file; the query tables are
//! projections of the documents, written in the same transaction and rebuildable by one call.
//!
//! Durability: WAL with `synchronous = FULL`, one transaction per save; when a save returns,
//! the record is on disk. Sync reads [`Store::changes_since`] and the document heads.
//!
//! Ids are 16-byte BLOBs read and written as `Uuid` (rusqlite's `uuid` feature); times are
//! RFC 3339 text written by `to_rfc3339`, not rusqlite's `chrono` feature, whose
//! "YYYY-MM-DD HH:MM:SS" text would not sort together with the rows already stored.

pub mod audit;
mod cases;
mod doc;
pub mod fit;
pub mod import;
mod kind;
mod merges;
pub mod meta;
mod projection;
mod query;
mod records;
mod replication;
pub mod report;
mod schema;
pub mod sql;

pub use cases::{CaseSummary, TaskRow};
pub use doc::{DocError, conflicts};
pub use projection::{PROJECTION_TABLES, RebuildReport};
pub use query::{ChangedDoc, PersonHit, ReferralSummary, VisitSummary};
pub use records::{
    ConflictedDoc, Decoded, DocKind, Merged, Origin, Received, Writer, heads_from_bytes,
    heads_to_bytes, results_doc_id,
};
pub use replication::{Outgoing, OutgoingBatch};
pub use schema::SCHEMA_VERSION;

use automerge::ActorId;
use kabinet_core::ValidationErrors;
use rusqlite::{Connection, OpenFlags};
use sql::{Sql, SqlExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The key of a store file, from the caller: a passphrase (SQLCipher derives the key with
/// PBKDF2, ~0.5 s per open), or 32 raw bytes already derived by the caller (no KDF at open).
/// Wiped from memory when dropped, as are the texts made from it here.
#[derive(Clone, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub enum StoreKey {
    Passphrase(String),
    Raw([u8; 32]),
}

impl StoreKey {
    /// Reads a key as given on the command line or in `KABINET_KEY`: `raw:` followed by 64 hex
    /// digits is a raw key; anything else is a passphrase.
    pub fn from_text(text: &str) -> Result<StoreKey, StoreError> {
        if let Some(hex_key) = text.strip_prefix("raw:") {
            let bytes = zeroize::Zeroizing::new(
                hex::decode(hex_key).map_err(|_| StoreError::BadKeyFormat)?,
            );
            let raw: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::BadKeyFormat)?;
            Ok(StoreKey::Raw(raw))
        } else if text.is_empty() {
            Err(StoreError::EmptyKey)
        } else {
            Ok(StoreKey::Passphrase(text.to_string()))
        }
    }

    /// The key as [`StoreKey::from_text`] reads it (what a device's keyring seals per user).
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        match self {
            StoreKey::Passphrase(p) => zeroize::Zeroizing::new(p.clone()),
            StoreKey::Raw(raw) => Self::hex_between("raw:", raw, ""),
        }
    }

    fn pragma_value(&self) -> zeroize::Zeroizing<String> {
        match self {
            StoreKey::Passphrase(p) => zeroize::Zeroizing::new(p.clone()),
            StoreKey::Raw(raw) => Self::hex_between("x'", raw, "'"),
        }
    }

    /// `before`, the key in hex, `after`, with no copy left behind unwiped.
    fn hex_between(before: &str, raw: &[u8; 32], after: &str) -> zeroize::Zeroizing<String> {
        let hex = zeroize::Zeroizing::new(hex::encode(raw));
        let mut out =
            zeroize::Zeroizing::new(String::with_capacity(before.len() + 64 + after.len()));
        out.push_str(before);
        out.push_str(&hex);
        out.push_str(after);
        out
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open {path}: wrong key, or not a Kabinet database")]
    WrongKey { path: PathBuf },
    #[error("no database at {path}; create one with `kabinet init`")]
    Missing { path: PathBuf },
    #[error("a database already exists at {path}")]
    AlreadyExists { path: PathBuf },
    #[error("the key is empty; give a passphrase or raw:<64 hex digits>")]
    EmptyKey,
    #[error("a raw key is `raw:` followed by 64 hex digits (32 bytes)")]
    BadKeyFormat,
    #[error(
        "the database was written by a newer Kabinet (schema version {found}); this build knows up to {known}. Update Kabinet."
    )]
    NewerSchema { found: usize, known: usize },
    #[error("schema migration failed: {0}")]
    Migration(rusqlite_migration::Error),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Database(#[from] sql::SqlError),
    #[error("document {doc_id}: {source}")]
    Document {
        doc_id: uuid::Uuid,
        source: DocError,
    },
    #[error("document {doc_id} does not hold a valid {kind}: {reason}")]
    Shape {
        doc_id: uuid::Uuid,
        kind: &'static str,
        reason: String,
    },
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    /// A pushed document that does not fit its kind and class ([`fit`]): the hub refuses it.
    #[error("document {doc_id} refused: {misfit}")]
    Misfit {
        doc_id: uuid::Uuid,
        misfit: fit::Misfit,
    },
    #[error("document {doc_id} is a {found}, not a {expected}")]
    KindMismatch {
        doc_id: uuid::Uuid,
        found: &'static str,
        expected: &'static str,
    },
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("{what} is a feature of the embedded SQLite store, not of a database server")]
    NotSqlite { what: &'static str },
    #[error("the audit log was tampered with: {0}")]
    AuditChain(#[from] kabinet_core::audit::ChainBreak),
}

impl StoreError {
    /// The message for the person at the screen, in their language. Errors a user can act on
    /// say what to do; the rest are reported as they are.
    pub fn message(&self, lang: kabinet_core::Lang) -> String {
        use kabinet_core::Lang::{Bg, En};
        match (self, lang) {
            (StoreError::WrongKey { path }, Bg) => {
                format!(
                    "базата {} не може да се отвори: грешен ключ или файлът не е база на Кабинет.",
                    path.display()
                )
            }
            (StoreError::Missing { path }, Bg) => {
                format!(
                    "няма база в {}; създайте я с `kabinet init`.",
                    path.display()
                )
            }
            (StoreError::AlreadyExists { path }, Bg) => {
                format!("вече има база в {}.", path.display())
            }
            (StoreError::EmptyKey, Bg) => {
                "ключът е празен; въведете парола или raw:<64 шестнадесетични цифри>.".into()
            }
            (StoreError::BadKeyFormat, Bg) => {
                "суровият ключ е raw: и 64 шестнадесетични цифри (32 байта).".into()
            }
            (StoreError::NewerSchema { found, known }, Bg) => format!(
                "базата е от по-нова версия на Кабинет (схема {found}, тази версия знае до {known}); обновете Кабинет."
            ),
            (StoreError::NotFound { kind, id }, Bg) => {
                let what = match *kind {
                    "person" => "лице",
                    "visit" => "посещение",
                    "referral" => "направление",
                    _ => "документ",
                };
                format!("няма {what} с идентификатор {id}.")
            }
            (StoreError::Invalid(errors), lang) => errors.messages(lang).join("\n"),
            (other, Bg) => format!("грешка в базата: {other}"),
            (other, En) => other.to_string(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Page size of a new store. A commit writes (and SQLCipher encrypts and authenticates) every
/// dirty page one by one, and that per-page cost, not the bytes, is most of a commit here:
/// 17,000 rows of 400 bytes commit in ~150 ms with SQLCipher's 4 KiB pages and ~31 ms with
/// 16 KiB ones (`cargo run --release -p kabinet-store --example page_size`). A sync's
/// batches are exactly such commits. Bigger pages stop paying: 64 KiB gave ~26 ms and make
/// every small save write and encrypt 64 KiB per touched page.
pub const PAGE_SIZE: u32 = 16 * 1024;

/// SQLCipher's default page size, which stores made before [`PAGE_SIZE`] have.
pub const LEGACY_PAGE_SIZE: u32 = 4096;

/// SQLite's own default: a commit that leaves more than this many pages in the WAL copies
/// them into the database file.
pub const DEFAULT_AUTOCHECKPOINT: u32 = 1000;

/// Settings of this device kept in the store itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// The cabinet (or hub desk) this device works for, e.g. "cabinet-1".
    pub cabinet: String,
    /// The referral code issuer number (1–99): assigned per device by the hub at enrollment,
    /// so codes are unique per hub.
    pub issuer: u8,
}

pub struct Store {
    /// The embedded SQLite file (a device, a small hub) or a PostgreSQL server (a national
    /// hub), through the one seam every statement takes.
    conn: Box<dyn sql::Database>,
    /// A fresh Automerge actor for every open: two devices must never share an actor, and a
    /// copied database file would otherwise carry its actor along.
    actor: ActorId,
    path: PathBuf,
    /// Who local writes are recorded as in the audit log (set per call by the service).
    audit_user: Option<String>,
    /// The programme report's facts, when this store keeps them (a hub): `None` not kept,
    /// `Some(None)` kept from the next report on. A mutex, not a cell: a report is a read.
    report_facts: std::sync::Mutex<Option<Option<report::ReportFacts>>>,
}

impl Store {
    /// Creates a new encrypted store. Fails if a file is already there.
    pub fn create(path: &Path, key: &StoreKey, settings: &DeviceSettings) -> Result<Store> {
        if path.exists() {
            return Err(StoreError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        let mut store = Store::open_file(path, key, true)?;
        store.write(Origin::Local, |w| {
            w.set_meta(meta::CABINET, &settings.cabinet)?;
            w.set_meta(meta::ISSUER, &settings.issuer.to_string())?;
            w.set_meta(meta::NEXT_REFERRAL_SERIAL, "1")
        })?;
        Ok(store)
    }

    /// Opens an existing store, migrating its schema forward if needed.
    pub fn open(path: &Path, key: &StoreKey) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        Store::open_file(path, key, false)
    }

    fn open_file(path: &Path, key: &StoreKey, create: bool) -> Result<Store> {
        // SQLCipher must be told the page size before it can decrypt the first page: a store
        // made before pages grew to 16 KiB opens with the 4 KiB it was made with.
        let mut conn = match Store::connect(path, key, create, PAGE_SIZE) {
            Err(StoreError::WrongKey { .. }) if !create => {
                Store::connect(path, key, false, LEGACY_PAGE_SIZE)?
            }
            other => other?,
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        // FULL: in WAL mode, NORMAL may lose the last transactions on power loss; a nurse's
        // acknowledged save must not be lost.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Sorting and temporary indexes stay in memory: no plaintext temp files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // 32 MB of page cache (default 2 MB): the id indexes are random-access, and every page
        // read from disk is also a page to decrypt.
        conn.pragma_update(None, "cache_size", -32_768)?;
        let version =
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
        if version > schema::SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found: version,
                known: schema::SCHEMA_VERSION,
            });
        }
        // Only migrate when behind: migrating takes the write lock, and a second connection
        // (the sync agent's) opening beside a nurse's save must not hold it up.
        if version < schema::SCHEMA_VERSION {
            schema::MIGRATIONS
                .to_latest(&mut conn)
                .map_err(StoreError::Migration)?;
        }
        let mut store = Store::on_database(Box::new(conn), path.to_path_buf());
        store.catch_up_projections()?;
        Ok(store)
    }

    /// A store on a database already at this build's schema (a server's backend crate
    /// connects and migrates; `label` names it in messages, as a file's path does).
    pub fn on_database(db: Box<dyn sql::Database>, label: PathBuf) -> Store {
        Store {
            conn: db,
            actor: ActorId::random(),
            path: label,
            audit_user: None,
            report_facts: std::sync::Mutex::new(None),
        }
    }

    /// Gives an empty store on another database its settings, as [`Store::create`] does for
    /// a new file; a store that has them keeps its own.
    pub fn init_settings(&mut self, settings: &DeviceSettings) -> Result<()> {
        if self.meta(meta::CABINET)?.is_some() {
            return Ok(());
        }
        self.write(Origin::Local, |w| {
            w.set_meta(meta::CABINET, &settings.cabinet)?;
            w.set_meta(meta::ISSUER, &settings.issuer.to_string())?;
            w.set_meta(meta::NEXT_REFERRAL_SERIAL, "1")
        })
    }

    /// The SQLite connection underneath, for what only the embedded file has.
    fn sqlite(&self, what: &'static str) -> Result<&Connection> {
        self.conn.sqlite().ok_or(StoreError::NotSqlite { what })
    }

    /// A connection to `path` under `key` with pages of `page_size` bytes, checked by reading
    /// the first page: a wrong key (or page size) is [`StoreError::WrongKey`].
    fn connect(path: &Path, key: &StoreKey, create: bool, page_size: u32) -> Result<Connection> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        // SQLCipher has refused a key now and then while many connections were being keyed
        // at once on this machine ("An error occurred with PRAGMA key or rekey", seen once in
        // CI with four tests creating stores together): a fresh connection, a moment later,
        // takes it. A real fault fails every try and is reported as before.
        let mut tries = 0;
        let conn = loop {
            let conn = Connection::open_with_flags(path, flags)?;
            // A wrong key is reported by us, clearly; SQLCipher's own stderr log would only
            // add noise.
            conn.pragma_update(None, "cipher_log_level", "NONE")?;
            match conn.pragma_update(None, "key", key.pragma_value().as_str()) {
                Ok(()) => break conn,
                Err(rusqlite::Error::SqliteFailure(_, Some(message)))
                    if tries < 3 && message.contains("PRAGMA key") =>
                {
                    tries += 1;
                    tracing::warn!(tries, %message, "SQLCipher refused the key; trying again");
                    drop(conn);
                    std::thread::sleep(Duration::from_millis(50 * tries));
                }
                Err(e) => return Err(e.into()),
            }
        };
        conn.pragma_update(None, "cipher_page_size", page_size)?;
        // The first read decrypts page 1: a wrong key fails here, as "not a database".
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => Ok(conn),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                Err(StoreError::WrongKey {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// This connection's page cache, in KiB.
    pub fn cache_kib(&self) -> Result<u32> {
        let size: i64 =
            self.sqlite("a page cache")?
                .pragma_query_value(None, "cache_size", |r| r.get(0))?;
        Ok(if size < 0 {
            size.unsigned_abs() as u32
        } else {
            (size * i64::from(self.page_size()?) / 1024) as u32
        })
    }

    /// Shrinks this connection's page cache (the default 32 MB serves search; a connection
    /// that only streams documents, like the sync agent's, needs far less).
    pub fn set_cache_kib(&self, kib: u32) -> Result<()> {
        // A server sizes its own caches.
        if let Some(conn) = self.conn.sqlite() {
            conn.pragma_update(None, "cache_size", -i64::from(kib))?;
        }
        Ok(())
    }

    /// Sets after how many WAL pages a commit on this connection checkpoints the WAL into the
    /// database file itself (0: never; SQLite's default is 1,000). A connection whose
    /// checkpoints are run elsewhere ([`Store::checkpoint`]) sets 0, so that a big commit is
    /// not followed by copying every page it wrote a second time.
    pub fn set_autocheckpoint(&self, pages: u32) -> Result<()> {
        if let Some(conn) = self.conn.sqlite() {
            conn.pragma_update(None, "wal_autocheckpoint", i64::from(pages))?;
        }
        Ok(())
    }

    /// Copies what the WAL holds into the database file as far as readers allow, without
    /// waiting for anyone (a PASSIVE checkpoint). Returns the frames in the WAL and the frames
    /// now checkpointed. Nothing is lost if it is never run: the WAL is the database too.
    pub fn checkpoint(&self) -> Result<(i64, i64)> {
        // A server checkpoints by itself: nothing waits here.
        let Some(conn) = self.conn.sqlite() else {
            return Ok((0, 0));
        };
        Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one transaction: everything it writes lands together or not at all.
    pub fn write<T>(
        &mut self,
        origin: Origin,
        f: impl FnOnce(&mut Writer<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = sql::Tx::begin(&*self.conn)?;
        let mut writer = Writer::new(tx, &self.actor, origin);
        writer.audit_user = self.audit_user.clone();
        let out = f(&mut writer)?;
        writer.commit()?;
        Ok(out)
    }

    /// [`Store::write`] for a record whose loss in a power cut costs nothing (a sync's status:
    /// when it last succeeded). It commits like any write, safe from a crash of the process,
    /// but does not wait for the disk; the next durable commit carries it there. (The first
    /// write after a complete checkpoint still waits once: SQLite syncs the header of the
    /// WAL it restarts.)
    pub fn write_without_fsync<T>(
        &mut self,
        origin: Origin,
        f: impl FnOnce(&mut Writer<'_>) -> Result<T>,
    ) -> Result<T> {
        // A server's commits are the server's to make durable.
        let Some(conn) = self.conn.sqlite() else {
            return self.write(origin, f);
        };
        // Back to this connection's own setting (FULL, see `open_file`) afterwards, even if
        // `f` panics: every later write on the connection would otherwise skip its fsync.
        let durable: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.write(origin, f)));
        self.sqlite("a write without fsync")?
            .pragma_update(None, "synchronous", durable)?;
        out.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    pub fn settings(&self) -> Result<DeviceSettings> {
        let get = |k: &str| -> Result<Option<String>> {
            Ok(self
                .conn
                .row("SELECT value FROM meta WHERE key = ?1", &[&k], |r| r.get(0))?)
        };
        Ok(DeviceSettings {
            cabinet: get(meta::CABINET)?.unwrap_or_default(),
            issuer: get(meta::ISSUER)?.and_then(|s| s.parse().ok()).unwrap_or(0),
        })
    }

    /// Re-encrypts the whole database under `new_key` (SQLCipher's rekey). The old key no
    /// longer opens it; a device's keyring must then seal the new key to its users again.
    pub fn rekey(&self, new_key: &StoreKey) -> Result<()> {
        self.sqlite("rekeying")?
            .pragma_update(None, "rekey", new_key.pragma_value().as_str())?;
        Ok(())
    }

    /// The page size this store's file was made with ([`PAGE_SIZE`], or
    /// [`LEGACY_PAGE_SIZE`] for an older one).
    pub fn page_size(&self) -> Result<u32> {
        // SQLCipher answers `PRAGMA page_size` itself, as text.
        Ok(self
            .sqlite("a page size")?
            .pragma_query_value(None, "page_size", |r| {
                r.get::<_, String>(0)?.parse().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })?)
    }

    /// `PRAGMA integrity_check`, "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .sqlite("an integrity check")?
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// The SQLite connection, for what only the embedded file has (its catalogue, its
    /// migrations' own statements); the tables of a crate built on the store are reached
    /// through [`Store::sql`], which serves both databases. Panics on a database server.
    pub fn extension_sql(&self) -> &Connection {
        self.conn
            .sqlite()
            .expect("the hub's SQLite tables live beside a SQLite store")
    }

    /// The database, for the tables of a crate built on the store (the hub's devices, users
    /// and relay log) outside a write; a statement here commits on its own. The store's own
    /// tables are read through the store's methods. See [`Writer::sql`].
    pub fn sql(&self) -> &dyn sql::Sql {
        &*self.conn
    }

    /// Which database the store is on.
    pub fn dialect(&self) -> sql::Dialect {
        self.conn.dialect()
    }

    /// Rows this store has written (inserted, updated, deleted) since it was opened: what a
    /// test of "a no-op writes nothing" compares.
    pub fn rows_written(&self) -> u64 {
        self.conn.rows_written()
    }
}

/// A plain SQL connection to the store file at `path`, beside any [`Store`] open on it: for
/// tests and forensics that look inside the file (or tamper with it, as an attacker would).
/// Nothing written through it is checked, projected or put on the audit log.
pub fn open_raw(path: &Path, key: &StoreKey) -> Result<Connection> {
    let conn = match Store::connect(path, key, false, PAGE_SIZE) {
        Err(StoreError::WrongKey { .. }) => Store::connect(path, key, false, LEGACY_PAGE_SIZE)?,
        other => other?,
    };
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        StoreKey::Raw([7u8; 32])
    }

    fn new_store(dir: &Path) -> (Store, PathBuf) {
        let path = dir.join("kabinet.db");
        let settings = DeviceSettings {
            cabinet: "cabinet-1".into(),
            issuer: 3,
        };
        (Store::create(&path, &key(), &settings).unwrap(), path)
    }

    // Here, not in tests/: it reads the store's own connection's setting.
    #[test]
    fn a_write_without_fsync_commits_and_leaves_saves_durable() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, path) = new_store(dir.path());
        let synchronous = |s: &Store| -> i64 {
            s.conn
                .sqlite()
                .unwrap()
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .unwrap()
        };
        assert_eq!(synchronous(&store), 2, "FULL");
        store
            .write_without_fsync(Origin::Local, |w| w.set_meta(meta::LAST_SUCCESS, "now"))
            .unwrap();
        assert_eq!(
            synchronous(&store),
            2,
            "the next save waits for the disk again"
        );
        // A panic inside the write rolls it back and still leaves the connection durable.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write_without_fsync(Origin::Local, |w| -> crate::Result<()> {
                w.set_meta(meta::LAST_SUCCESS, "half")?;
                panic!("a bug in the closure")
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(synchronous(&store), 2, "FULL after a panic too");
        drop(store);
        let store = Store::open(&path, &key()).unwrap();
        assert_eq!(
            store.meta(meta::LAST_SUCCESS).unwrap().as_deref(),
            Some("now")
        );
    }
}
