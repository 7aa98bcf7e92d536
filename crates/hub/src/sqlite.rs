//! The default hub storage: one encrypted SQLite file holding the documents (a Kabinet store,
//! with its projections, so hub staff can search) plus the hub's own tables: devices,
//! enrollment codes and the relay log that devices pull from.

use crate::storage::{
    AuditFilter, AuditRow, Device, HubError, HubStorage, LoginRecord, StaffUser, UserRecord,
};
use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use kabinet_core::AccessClass;
use kabinet_core::audit::{ChainedEntry, GENESIS, to_hex, verify_chain};
use kabinet_store::{DeviceSettings, DocKind, Origin, Received, Store, StoreError, StoreKey};
use kabinet_sync::{DocChanges, SyncRequest, SyncResponse};
use rusqlite::{OptionalExtension, Row, params};
use std::path::Path;
use std::sync::Mutex;
use uuid::Uuid;

/// The hub's own tables, beside the store's. `IF NOT EXISTS`: created on first open.
const HUB_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS hub_device (
    device_id    TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    cabinet      TEXT NOT NULL,
    issuer       INTEGER NOT NULL UNIQUE,
    token_hash   BLOB NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    last_sync_at TEXT,
    -- The roles of the device's users: what it may receive and send (kabinet_core::access).
    roles        TEXT NOT NULL DEFAULT 'nurse,doctor'
) STRICT;
-- Hub staff who use the web UI (and, with #6, every user of every device).
CREATE TABLE IF NOT EXISTS hub_user (
    name          TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS hub_session (
    token_hash BLOB PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES hub_user(name),
    expires_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS hub_enrollment (
    code_hash  BLOB PRIMARY KEY,
    cabinet    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    roles      TEXT NOT NULL DEFAULT 'nurse,doctor'
) STRICT;
-- Requests refused by the access matrix: who asked for what.
CREATE TABLE IF NOT EXISTS hub_refusal (
    at        TEXT NOT NULL,
    device_id TEXT NOT NULL,
    doc_id    BLOB,
    class     TEXT NOT NULL,
    action    TEXT NOT NULL
) STRICT;
-- The devices' audit logs as they arrive, each device's chain continued link by link.
CREATE TABLE IF NOT EXISTS hub_audit (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    user        TEXT NOT NULL,
    device      TEXT NOT NULL,
    action      TEXT NOT NULL,
    record      TEXT NOT NULL,
    class       TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS hub_audit_by_time ON hub_audit(at);
-- Every change new to the hub, in arrival order: what devices pull. `changes` is empty when
-- the row brought a whole new document: the pull then sends the document as stored, so a
-- new document's bytes are written once, not twice.
CREATE TABLE IF NOT EXISTS hub_relay (
    hub_seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id        BLOB NOT NULL,
    kind          INTEGER NOT NULL,
    access_class  INTEGER NOT NULL,
    parent_id     BLOB,
    origin_device TEXT NOT NULL,
    changes       BLOB NOT NULL,
    heads         BLOB NOT NULL
) STRICT;
"#;

/// How stale a device's "last sync" may get while it only polls (pushes nothing): well above
/// the app's agent interval (a minute), so that polling an unchanged hub writes nothing.
const LAST_SEEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The hub's own issuer number for referral codes (hub staff issue referrals too).
pub const HUB_ISSUER: u8 = 99;

pub struct SqliteHub {
    store: Mutex<Store>,
    checkpointer: Option<Checkpointer>,
}

/// Checkpoints the hub's WAL on a thread of its own, with its own connection, so that a
/// sync's commit is not followed, inside the request, by copying every page it wrote into
/// the database file a second time. Woken after every sync and staff write, and every few
/// seconds; a last checkpoint runs when the hub closes. Killing the hub loses nothing: the WAL
/// is part of the database and is replayed at the next open.
struct Checkpointer {
    wake: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path, key: &StoreKey) -> Result<Checkpointer, HubError> {
        let store = Store::open(path, key)?;
        store.set_cache_kib(1024)?;
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("hub-checkpoint".into())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                loop {
                    let last = matches!(
                        woken.recv_timeout(std::time::Duration::from_secs(5)),
                        Err(RecvTimeoutError::Disconnected)
                    );
                    if let Err(e) = store.checkpoint() {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying later");
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(kabinet_store::StoreError::from)?;
        Ok(Checkpointer { wake, thread })
    }
}

impl Drop for SqliteHub {
    fn drop(&mut self) {
        if let Some(Checkpointer { wake, thread }) = self.checkpointer.take() {
            drop(wake);
            let _ = thread.join();
        }
    }
}

fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let time = |s: Option<String>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Ok(Device {
        id: r.get(0)?,
        name: r.get(1)?,
        cabinet: r.get(2)?,
        issuer: r.get(3)?,
        enrolled_at: time(r.get(4)?).unwrap_or_default(),
        revoked_at: time(r.get(5)?),
        last_sync_at: time(r.get(6)?),
        roles: kabinet_core::access::roles_from_text(&r.get::<_, String>(7)?),
    })
}

const DEVICE_COLUMNS: &str =
    "device_id, name, cabinet, issuer, enrolled_at, revoked_at, last_sync_at, roles";

impl SqliteHub {
    /// Opens (or creates) the hub database in `data_dir`.
    pub fn open(data_dir: &Path, key: &StoreKey) -> Result<SqliteHub, HubError> {
        std::fs::create_dir_all(data_dir).map_err(kabinet_store::StoreError::from)?;
        let path = data_dir.join("hub.db");
        let store = if path.exists() {
            Store::open(&path, key)?
        } else {
            let settings = DeviceSettings {
                cabinet: "hub".into(),
                issuer: HUB_ISSUER,
            };
            Store::create(&path, key, &settings)?
        };
        store.connection().execute_batch(HUB_SCHEMA)?;
        // Hubs created before roles existed: add the columns (their devices were cabinets).
        for table in ["hub_device", "hub_enrollment"] {
            let has_roles: bool = store
                .connection()
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('{table}') WHERE name = 'roles'"
                ))?
                .exists([])?;
            if !has_roles {
                store.connection().execute_batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN roles TEXT NOT NULL DEFAULT 'nurse,doctor'"
                ))?;
            }
        }
        // Hubs created before users reached devices: their users get a credential at their
        // next reset.
        for (column, ddl) in [
            ("credential", "credential TEXT"),
            ("secret_key", "secret_key BLOB"),
            ("generation", "generation INTEGER NOT NULL DEFAULT 0"),
            ("failed_logins", "failed_logins INTEGER NOT NULL DEFAULT 0"),
            ("next_try_at", "next_try_at TEXT"),
        ] {
            let has: bool = store
                .connection()
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('hub_user') WHERE name = '{column}'"
                ))?
                .exists([])?;
            if !has {
                store
                    .connection()
                    .execute_batch(&format!("ALTER TABLE hub_user ADD COLUMN {ddl}"))?;
            }
        }
        let checkpointer = Checkpointer::start(&path, key)?;
        store.set_autocheckpoint(0)?;
        Ok(SqliteHub {
            store: Mutex::new(store),
            checkpointer: Some(checkpointer),
        })
    }

    /// Tells the checkpointer there is new WAL to copy (never waits).
    fn wrote(&self) {
        if let Some(c) = &self.checkpointer {
            let _ = c.wake.try_send(());
        }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock leaves no half transaction (SQLite rolled it back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a write of hub staff (a hub-side edit) and relays the changes it made.
    pub fn write_local<T>(
        &self,
        f: impl FnOnce(&mut kabinet_store::Writer<'_>) -> kabinet_store::Result<T>,
    ) -> Result<T, HubError> {
        self.staff_call(|store| store.write(Origin::Local, f))?
            .map_err(HubError::from)
    }

    /// Runs `f` on the hub's store on behalf of hub staff, then relays every document it
    /// changed, so devices pull hub-side edits like any other. `f`'s own result (which may be
    /// an error of its own) is returned as is.
    pub fn staff_call<T>(&self, f: impl FnOnce(&mut Store) -> T) -> Result<T, HubError> {
        let mut store = self.store();
        let before: i64 = store.connection().query_row(
            "SELECT COALESCE(MAX(change_seq), 0) FROM documents",
            [],
            |r| r.get(0),
        )?;
        let out = f(&mut store);
        // Relay every document the call touched: its changes since the heads the relay log
        // last recorded for it.
        let touched: Vec<Vec<u8>> = store
            .connection()
            .prepare("SELECT doc_id FROM documents WHERE change_seq > ?1")?
            .query_map([before], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if touched.is_empty() {
            return Ok(out);
        }
        let mut rows = Vec::new();
        for raw in touched {
            let doc_id = Uuid::from_slice(&raw).unwrap_or_default();
            let relayed: Option<Vec<u8>> = store
                .connection()
                .query_row(
                    "SELECT heads FROM hub_relay WHERE doc_id = ?1 ORDER BY hub_seq DESC LIMIT 1",
                    [&raw],
                    |r| r.get(0),
                )
                .optional()?;
            let base: Vec<ChangeHash> = relayed
                .map(|b| {
                    b.chunks_exact(32)
                        .map(|c| ChangeHash(c.try_into().expect("32")))
                        .collect()
                })
                .unwrap_or_default();
            let changes = store.changes_after(doc_id, &base)?;
            if changes.is_empty() {
                continue; // nothing new to relay (an empty row would mean "the whole document")
            }
            let heads = store.heads(doc_id)?.unwrap_or_default();
            let (kind, class, parent): (i64, i64, Option<Vec<u8>>) = store.connection().query_row(
                "SELECT kind, access_class, parent_id FROM documents WHERE doc_id = ?1",
                [&raw],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            rows.push((raw, kind, class, parent, changes, heads));
        }
        store.write(Origin::Local, |w| {
            for (raw, kind, class, parent, changes, heads) in &rows {
                let heads: Vec<u8> = heads.iter().flat_map(|h| h.0).collect();
                w.extension_sql().execute(
                    "INSERT INTO hub_relay (doc_id, kind, access_class, parent_id, origin_device, changes, heads)
                     VALUES (?1, ?2, ?3, ?4, 'hub', ?5, ?6)",
                    params![raw, kind, class, parent, changes, heads],
                )?;
            }
            Ok(())
        })?;
        drop(store);
        self.wrote();
        Ok(out)
    }

    /// Reads through the hub's store (search, records) under the lock.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Store) -> kabinet_store::Result<T>,
    ) -> Result<T, HubError> {
        Ok(f(&self.store())?)
    }
}

impl HubStorage for SqliteHub {
    fn create_enrollment(
        &self,
        cabinet: &str,
        roles: &[kabinet_core::Role],
        code_hash: [u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError> {
        self.store().connection().execute(
            "INSERT INTO hub_enrollment (code_hash, cabinet, expires_at, roles) VALUES (?1, ?2, ?3, ?4)",
            params![
                code_hash.to_vec(),
                cabinet,
                expires_at.to_rfc3339(),
                kabinet_core::access::roles_to_text(roles)
            ],
        )?;
        Ok(())
    }

    fn redeem_enrollment(
        &self,
        code_hash: [u8; 32],
        device_name: &str,
        token_hash: [u8; 32],
    ) -> Result<Device, HubError> {
        let mut store = self.store();
        store
            .write(Origin::Local, |w| {
                let sql = w.extension_sql();
                let found: Option<(String, String, String)> = sql
                    .query_row(
                        "SELECT cabinet, expires_at, roles FROM hub_enrollment WHERE code_hash = ?1",
                        [code_hash.to_vec()],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                let Some((cabinet, expires, roles)) = found else {
                    return Ok(Err(HubError::BadEnrollmentCode));
                };
                sql.execute("DELETE FROM hub_enrollment WHERE code_hash = ?1", [code_hash.to_vec()])?;
                if expires < Utc::now().to_rfc3339() {
                    return Ok(Err(HubError::BadEnrollmentCode));
                }
                let taken: Vec<u8> = sql
                    .prepare("SELECT issuer FROM hub_device")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let Some(issuer) = (1..HUB_ISSUER).find(|i| !taken.contains(i)) else {
                    return Ok(Err(HubError::IssuersExhausted));
                };
                let device = Device {
                    id: Uuid::now_v7().to_string(),
                    name: device_name.to_string(),
                    cabinet,
                    issuer,
                    enrolled_at: Utc::now(),
                    revoked_at: None,
                    last_sync_at: None,
                    roles: kabinet_core::access::roles_from_text(&roles),
                };
                sql.execute(
                    "INSERT INTO hub_device (device_id, name, cabinet, issuer, token_hash, enrolled_at, roles) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![device.id, device.name, device.cabinet, device.issuer, token_hash.to_vec(), device.enrolled_at.to_rfc3339(), roles],
                )?;
                Ok(Ok(device))
            })?
    }

    fn device_by_token(&self, token_hash: [u8; 32]) -> Result<Option<Device>, HubError> {
        Ok(self
            .store()
            .connection()
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM hub_device WHERE token_hash = ?1 AND revoked_at IS NULL"
            ))?
            .query_row([token_hash.to_vec()], device_row)
            .optional()?)
    }

    fn devices(&self) -> Result<Vec<Device>, HubError> {
        Ok(self
            .store()
            .connection()
            .prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM hub_device ORDER BY enrolled_at"
            ))?
            .query_map([], device_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn revoke(&self, device_id: &str) -> Result<(), HubError> {
        let n = self.store().connection().execute(
            "UPDATE hub_device SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, Utc::now().to_rfc3339()],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchDevice(device_id.to_string()));
        }
        Ok(())
    }

    fn add_user(
        &self,
        user: &StaffUser,
        password_hash: &str,
        credential: &kabinet_keys::UserCredential,
        secret_key: &[u8; 32],
    ) -> Result<(), HubError> {
        let credential = serde_json::to_string(credential).expect("a credential serialises");
        let n = self.store().connection().execute(
            "INSERT INTO hub_user (name, display_name, role, password_hash, created_at,
                                   credential, secret_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(name) DO NOTHING",
            params![
                user.name,
                user.display_name,
                user.role,
                password_hash,
                Utc::now().to_rfc3339(),
                credential,
                secret_key.to_vec(),
            ],
        )?;
        if n == 0 {
            return Err(HubError::UserExists(user.name.clone()));
        }
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserRecord>, HubError> {
        Ok(self
            .store()
            .connection()
            .prepare(
                "SELECT name, display_name, role, disabled_at IS NOT NULL, generation,
                        failed_logins, credential IS NOT NULL
                 FROM hub_user ORDER BY name",
            )?
            .query_map([], |r| {
                Ok(UserRecord {
                    user: StaffUser {
                        name: r.get(0)?,
                        display_name: r.get(1)?,
                        role: r.get(2)?,
                    },
                    disabled: r.get(3)?,
                    generation: r.get(4)?,
                    failed_logins: r.get(5)?,
                    on_devices: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), HubError> {
        let store = self.store();
        let c = store.connection();
        let n = c.execute(
            "UPDATE hub_user SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END
             WHERE name = ?1",
            params![name, disabled, Utc::now().to_rfc3339()],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        if disabled {
            c.execute("DELETE FROM hub_session WHERE user_name = ?1", [name])?;
        }
        Ok(())
    }

    fn user_secret_key(&self, name: &str) -> Result<Option<[u8; 32]>, HubError> {
        let found: Option<Option<Vec<u8>>> = self
            .store()
            .connection()
            .query_row(
                "SELECT secret_key FROM hub_user WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            None => Err(HubError::NoSuchUser(name.into())),
            Some(key) => Ok(key.and_then(|k| k.try_into().ok())),
        }
    }

    fn reset_user(
        &self,
        name: &str,
        password_hash: &str,
        credential: &kabinet_keys::UserCredential,
        secret_key: &[u8; 32],
    ) -> Result<(), HubError> {
        let credential = serde_json::to_string(credential).expect("a credential serialises");
        let store = self.store();
        let c = store.connection();
        let n = c.execute(
            "UPDATE hub_user SET password_hash = ?2, credential = ?3, secret_key = ?4,
                    generation = generation + 1, failed_logins = 0, next_try_at = NULL
             WHERE name = ?1",
            params![name, password_hash, credential, secret_key.to_vec()],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        c.execute("DELETE FROM hub_session WHERE user_name = ?1", [name])?;
        Ok(())
    }

    fn roster(
        &self,
        roles: &[kabinet_core::Role],
    ) -> Result<Vec<kabinet_keys::DeviceUser>, HubError> {
        let store = self.store();
        let mut stmt = store.connection().prepare(
            "SELECT name, display_name, role, disabled_at IS NOT NULL, generation, credential
             FROM hub_user WHERE credential IS NOT NULL ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, display_name, role, disabled, generation, credential) = row?;
            let Some(r) = kabinet_core::Role::parse(&role) else {
                continue;
            };
            if !roles.contains(&r) {
                continue;
            }
            let Ok(credential) = serde_json::from_str(&credential) else {
                tracing::error!(user = %name, "unreadable credential; reset the user");
                continue;
            };
            out.push(kabinet_keys::DeviceUser {
                name,
                display_name,
                role,
                disabled,
                generation,
                credential,
            });
        }
        Ok(out)
    }

    fn push_audit(&self, device: &Device, entries: &[ChainedEntry]) -> Result<u64, HubError> {
        let mut store = self.store();
        let mut outcome = Ok(0);
        store.write(Origin::Sync, |w| {
            let c = w.extension_sql();
            let last: Option<(i64, Vec<u8>)> = c
                .query_row(
                    "SELECT seq, hash FROM hub_audit WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
                    [&device.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (last_seq, last_hash) = match last {
                Some((seq, hash)) => (seq as u64, hash.try_into().unwrap_or(GENESIS)),
                None => (0, GENESIS),
            };
            // Entries the hub already holds (a replayed request) must be the same ones.
            let mut fresh = Vec::new();
            for e in entries {
                if e.entry.seq <= last_seq {
                    let held: Option<Vec<u8>> = c
                        .query_row(
                            "SELECT hash FROM hub_audit WHERE device_id = ?1 AND seq = ?2",
                            params![device.id, e.entry.seq as i64],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if held.map(|h| to_hex(&h.try_into().unwrap_or(GENESIS))) != Some(e.hash.clone())
                    {
                        outcome = Err(kabinet_core::audit::ChainBreak::Content { seq: e.entry.seq });
                        break;
                    }
                } else {
                    fresh.push(e.clone());
                }
            }
            if outcome.is_ok() {
                match verify_chain(last_hash, last_seq, &fresh) {
                    Ok(_) => {
                        let now = Utc::now().to_rfc3339();
                        for e in &fresh {
                            let decode = |h: &str| hex::decode(h).unwrap_or_default();
                            c.execute(
                                "INSERT INTO hub_audit (device_id, seq, at, user, device, action, record,
                                                        class, prev_hash, hash, received_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                                params![
                                    device.id,
                                    e.entry.seq as i64,
                                    e.entry.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                                    e.entry.user,
                                    e.entry.device,
                                    e.entry.action.as_str(),
                                    e.entry.record,
                                    e.entry.class,
                                    decode(&e.prev_hash),
                                    decode(&e.hash),
                                    now
                                ],
                            )?;
                        }
                        outcome = Ok(fresh.last().map_or(last_seq, |e| e.entry.seq).max(last_seq));
                    }
                    Err(b) => outcome = Err(b),
                }
            }
            if let Err(b) = &outcome {
                // Recorded where the admin looks: the audit view lists refusals too.
                c.execute(
                    "INSERT INTO hub_refusal (at, device_id, doc_id, class, action) VALUES (?1, ?2, NULL, ?3, 'audit_chain')",
                    params![Utc::now().to_rfc3339(), device.id, b.to_string()],
                )?;
            }
            Ok(())
        })?;
        outcome.map_err(|b| HubError::AuditChain {
            device: device.id.clone(),
            reason: b.to_string(),
        })
    }

    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, HubError> {
        let store = self.store();
        // Devices' entries, the hub's own (staff at the web UI, the CLI), and refusals.
        let sql = "SELECT * FROM (
                SELECT at, user, device, action, record, class, 'device' AS source FROM hub_audit
                UNION ALL
                SELECT at, user, 'hub', action, record, class, 'hub' FROM audit_log
                UNION ALL
                SELECT at, '', device_id, 'refused', COALESCE(lower(hex(doc_id)), ''), class, 'refusal'
                  FROM hub_refusal
            )
            WHERE (?1 IS NULL OR user LIKE '%' || ?1 || '%')
              AND (?2 IS NULL OR device = ?2)
              AND (?3 IS NULL OR replace(record, '-', '') LIKE replace(?3, '-', '') || '%')
              AND (?4 IS NULL OR action = ?4)
              AND (?5 IS NULL OR at >= ?5)
              AND (?6 IS NULL OR at < ?6)
            ORDER BY at DESC LIMIT ?7";
        Ok(store
            .connection()
            .prepare(sql)?
            .query_map(
                params![
                    filter.user,
                    filter.device,
                    filter.record,
                    filter.action,
                    filter.since.map(|t| t.to_rfc3339()),
                    filter.until.map(|t| t.to_rfc3339()),
                    filter.limit.clamp(1, 5000) as i64
                ],
                |r| {
                    Ok(AuditRow {
                        at: r.get(0)?,
                        user: r.get(1)?,
                        device: r.get(2)?,
                        action: r.get(3)?,
                        record: r.get(4)?,
                        class: r.get(5)?,
                        source: r.get(6)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn user_for_login(&self, name: &str) -> Result<Option<LoginRecord>, HubError> {
        Ok(self
            .store()
            .connection()
            .query_row(
                "SELECT name, display_name, role, password_hash, failed_logins, next_try_at
                 FROM hub_user WHERE name = ?1 AND disabled_at IS NULL",
                [name],
                |r| {
                    Ok(LoginRecord {
                        user: StaffUser {
                            name: r.get(0)?,
                            display_name: r.get(1)?,
                            role: r.get(2)?,
                        },
                        password_hash: r.get(3)?,
                        failed_logins: r.get(4)?,
                        next_try_at: r
                            .get::<_, Option<String>>(5)?
                            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                            .map(|t| t.with_timezone(&Utc)),
                    })
                },
            )
            .optional()?)
    }

    fn record_login(
        &self,
        name: &str,
        ok: bool,
        next_try_at: Option<DateTime<Utc>>,
    ) -> Result<(), HubError> {
        let store = self.store();
        if ok {
            store.connection().execute(
                "UPDATE hub_user SET failed_logins = 0, next_try_at = NULL WHERE name = ?1",
                [name],
            )?;
        } else {
            store.connection().execute(
                "UPDATE hub_user SET failed_logins = failed_logins + 1, next_try_at = ?2
                 WHERE name = ?1",
                params![name, next_try_at.map(|t| t.to_rfc3339())],
            )?;
        }
        Ok(())
    }

    fn create_session(
        &self,
        token_hash: [u8; 32],
        user: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError> {
        let store = self.store();
        let c = store.connection();
        c.execute(
            "DELETE FROM hub_session WHERE expires_at < ?1",
            [Utc::now().to_rfc3339()],
        )?;
        c.execute(
            "INSERT INTO hub_session (token_hash, user_name, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash.to_vec(), user, expires_at.to_rfc3339()],
        )?;
        Ok(())
    }

    fn session_user(&self, token_hash: [u8; 32]) -> Result<Option<StaffUser>, HubError> {
        Ok(self
            .store()
            .connection()
            .query_row(
                "SELECT u.name, u.display_name, u.role FROM hub_session s
                 JOIN hub_user u ON u.name = s.user_name
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
                params![token_hash.to_vec(), Utc::now().to_rfc3339()],
                |r| {
                    Ok(StaffUser {
                        name: r.get(0)?,
                        display_name: r.get(1)?,
                        role: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn end_session(&self, token_hash: [u8; 32]) -> Result<(), HubError> {
        self.store().connection().execute(
            "DELETE FROM hub_session WHERE token_hash = ?1",
            [token_hash.to_vec()],
        )?;
        Ok(())
    }

    fn desk(
        &self,
        ctx: &kabinet_service::Context,
        request: kabinet_service::Request,
    ) -> Result<Result<serde_json::Value, kabinet_service::ServiceError>, HubError> {
        let op = request.name();
        let answer = self.staff_call(|store| {
            kabinet_service::handle(store, ctx, request)
                .map(|r| serde_json::to_value(r).expect("a response serializes"))
        })?;
        // Requests the access matrix refused are on the record, as devices' are.
        let refused = match &answer {
            Err(kabinet_service::ServiceError::Hidden { id, class, .. }) => {
                Some((id.clone(), class.as_str()))
            }
            Err(kabinet_service::ServiceError::Forbidden) => Some((String::new(), "")),
            _ => None,
        };
        if let Some((record, class)) = refused {
            self.store().connection().execute(
                "INSERT INTO hub_refusal (at, device_id, doc_id, class, action) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    Utc::now().to_rfc3339(),
                    format!("hub:{}", ctx.user),
                    uuid::Uuid::parse_str(&record).ok().map(|u| u.as_bytes().to_vec()),
                    class,
                    op
                ],
            )?;
        }
        Ok(answer)
    }

    fn slips(
        &self,
        ctx: &kabinet_service::Context,
        ids: &[Uuid],
        paper: &str,
    ) -> Result<Result<Vec<u8>, kabinet_service::ServiceError>, HubError> {
        Ok(kabinet_service::referrals::slips_pdf(
            &mut self.store(),
            ctx,
            ids,
            paper,
        ))
    }

    fn sync(&self, device: &Device, request: &SyncRequest) -> Result<SyncResponse, HubError> {
        let answer = self.sync_in_store(device, request);
        self.wrote();
        answer
    }
}

impl SqliteHub {
    fn sync_in_store(
        &self,
        device: &Device,
        request: &SyncRequest,
    ) -> Result<SyncResponse, HubError> {
        let mut store = self.store();
        let outcome = store
            .write(Origin::Sync, |w| {
                // Every document is checked before any is merged: a refused push writes
                // nothing but the record of its refusal.
                let mut received = Vec::with_capacity(request.push.len());
                for doc in &request.push {
                    let Some(doc_id) = doc.resolve_id() else {
                        return Ok(Err(HubError::BadDocument {
                            doc_id: doc.doc_id.unwrap_or_default(),
                            reason: "no document id, or a results document id that does not match its visit and class".into(),
                        }));
                    };
                    let (Some(kind), Some(class)) = (DocKind::from_code(i64::from(doc.kind)), AccessClass::from_code(doc.class))
                    else {
                        return Ok(Err(HubError::BadDocument {
                            doc_id,
                            reason: format!("unknown kind {} or class {}", doc.kind, doc.class),
                        }));
                    };
                    // The access matrix: a device sends only classes its users may write.
                    if !kabinet_core::may_write(&device.roles, class) {
                        w.extension_sql().execute(
                            "INSERT INTO hub_refusal (at, device_id, doc_id, class, action) VALUES (?1, ?2, ?3, ?4, 'push')",
                            params![Utc::now().to_rfc3339(), device.id, doc_id.as_bytes(), class.as_str()],
                        )?;
                        return Ok(Err(HubError::Forbidden { doc_id, class: class.as_str() }));
                    }
                    received.push(Received { doc_id, kind, class, parent: doc.parent, changes: &doc.changes });
                }
                // A document that does not load or does not fit its kind fails the whole
                // transaction (nothing of the push is kept) and is answered below as the
                // device's error, not the hub's.
                w.merge_batch(&received, |w, doc, decoded| {
                    if let Some(m) = w.merge_decoded(doc, decoded)? {
                        let heads: Vec<u8> = m.heads.iter().flat_map(|h| h.0).collect();
                        w.extension_sql()
                            .prepare_cached(
                                "INSERT INTO hub_relay (doc_id, kind, access_class, parent_id, origin_device, changes, heads)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            )?
                            .execute(params![
                                doc.doc_id.as_bytes(),
                                doc.kind as i64,
                                doc.class.code(),
                                doc.parent.map(|p| p.as_bytes().to_vec()),
                                device.id,
                                &m.new_changes,
                                heads
                            ])?;
                    }
                    Ok(true)
                })?;
                let sql = w.extension_sql();
                // Without a push, at most every LAST_SEEN_EVERY: the app's agent polls an
                // unchanged hub every minute, and each poll would otherwise be an fsync here.
                let now = Utc::now();
                if !request.push.is_empty()
                    || device.last_sync_at.is_none_or(|at| now - at >= LAST_SEEN_EVERY)
                {
                    sql.prepare_cached("UPDATE hub_device SET last_sync_at = ?2 WHERE device_id = ?1")?
                        .execute(params![device.id, now.to_rfc3339()])?;
                }

                // The pull: relay rows after the cursor, not from this device, up to the size.
                // A device's own rows are skipped by SQLite: right after its push they are
                // all the rows there are.
                let mut stmt = sql.prepare_cached(
                    "SELECT hub_seq, doc_id, kind, access_class, parent_id, changes
                     FROM hub_relay WHERE hub_seq > ?1 AND origin_device <> ?2 ORDER BY hub_seq",
                )?;
                let mut rows = stmt.query(params![request.pull_cursor as i64, device.id])?;
                let mut response = SyncResponse {
                    push_acked_through: request.push_through,
                    pull: Vec::new(),
                    next_cursor: request.pull_cursor,
                    more: false,
                };
                let mut bytes = 0usize;
                while let Some(row) = rows.next()? {
                    if bytes >= request.max_pull_bytes as usize {
                        response.more = true;
                        break;
                    }
                    response.next_cursor = row.get::<_, i64>(0)? as u64;
                    // Only what the device's users may read leaves the hub, not even encrypted.
                    let readable = AccessClass::from_code(row.get::<_, u8>(3)?)
                        .is_some_and(|c| kabinet_core::may_read(&device.roles, c));
                    if !readable {
                        continue;
                    }
                    let doc_id = Uuid::from_slice(&row.get::<_, Vec<u8>>(1)?).unwrap_or_default();
                    let mut changes: Vec<u8> = row.get(5)?;
                    if changes.is_empty() {
                        // A whole new document: send it as stored now (a superset of what
                        // arrived, which merges the same). Its class may have changed since:
                        // the current one must be readable too.
                        match w.document_bytes(doc_id)? {
                            Some((stored, class)) if kabinet_core::may_read(&device.roles, class) => {
                                changes = stored;
                            }
                            _ => continue,
                        }
                    }
                    bytes += changes.len();
                    response.pull.push(DocChanges::new(
                        doc_id,
                        row.get(2)?,
                        row.get(3)?,
                        row.get::<_, Option<Vec<u8>>>(4)?.and_then(|b| Uuid::from_slice(&b).ok()),
                        changes,
                    ));
                }
                drop(rows);
                if !response.more {
                    // Everything after the cursor was seen: the device's own rows past the
                    // last one sent are behind it too, or every no-op sync would scan them.
                    let last: i64 = sql
                        .prepare_cached("SELECT COALESCE(MAX(hub_seq), 0) FROM hub_relay")?
                        .query_row([], |r| r.get(0))?;
                    response.next_cursor = response.next_cursor.max(last as u64);
                }
                Ok(Ok(response))
            });
        match outcome {
            Ok(answer) => answer,
            Err(
                e @ (StoreError::Document { doc_id, .. }
                | StoreError::Shape { doc_id, .. }
                | StoreError::KindMismatch { doc_id, .. }),
            ) => Err(HubError::BadDocument {
                doc_id,
                reason: e.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}
