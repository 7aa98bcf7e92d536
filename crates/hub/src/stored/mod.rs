//! The hub's storage: a Kabinet store holding the documents (with its projections, so hub
//! staff can search) plus the hub's own tables beside them, one module per concern:
//! [`schema`] (migrations), devices, users and sessions, audit intake, the relay log, and the
//! WAL checkpointer. The store is one encrypted SQLite file by default ([`StoreHub::open`]) or
//! a PostgreSQL database ([`StoreHub::open_postgres`]); every statement here runs on either.

mod audit;
mod checkpoint;
mod devices;
mod epochs;
pub mod migrate;
mod relay;
pub mod restore;
pub mod schema;
mod seal;
mod users;

use crate::storage::{
    AuditFilter, AuditRow, Device, DeviceSecret, HubError, HubStorage, LoginRecord, NewSecrets,
    Refusal, RelayPage, SignInTry, StaffUser, UserRecord, UserSecrets,
};
use checkpoint::Checkpointer;
use chrono::{DateTime, Utc};
use kabinet_core::AccessClass;
use kabinet_core::audit::ChainedEntry;
use kabinet_store::{DeviceSettings, Origin, Received, Store, StoreKey};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

pub use devices::HUB_ISSUER;

pub struct StoreHub {
    // Dropped first: its last checkpoint runs before the store's connection closes. A server
    // checkpoints by itself: none there.
    checkpointer: Option<Checkpointer>,
    store: Mutex<Store>,
    /// Seals users' secret keys where the database is not encrypted itself (a server).
    seal: Option<seal::Seal>,
    /// The open possible duplicates as last counted: the last change then, the count, and
    /// how long counting took.
    open_duplicates: Mutex<Option<(u64, u64, std::time::Duration)>>,
}

/// Counting possible duplicates longer than this makes a report answer the kept count (kept
/// current by the serving hub every few minutes) instead of counting again.
const SLOW_COUNT: std::time::Duration = std::time::Duration::from_millis(500);

/// The SQLite hub's page cache: 256 MiB, at most (pages are taken as they are read).
pub const HUB_CACHE_KIB: u32 = 256 * 1024;

/// The settings a new hub database starts with.
fn hub_settings() -> DeviceSettings {
    DeviceSettings {
        cabinet: "hub".into(),
        issuer: HUB_ISSUER,
    }
}

impl StoreHub {
    /// Opens (or creates) the hub database in `data_dir`, migrating the hub's tables forward.
    pub fn open(data_dir: &Path, key: &StoreKey) -> Result<StoreHub, HubError> {
        std::fs::create_dir_all(data_dir).map_err(kabinet_store::StoreError::from)?;
        let path = data_dir.join("hub.db");
        let mut store = if path.exists() {
            Store::open(&path, key)?
        } else {
            Store::create(&path, key, &hub_settings())?
        };
        // The hub's file holds every cabinet's records: pages read from disk are decrypted
        // too, and a national hub's indexes do not fit a device's cache (a bulk load of a
        // million visits slowed chunk by chunk, most of its time decrypting pages read again).
        store.set_cache_kib(HUB_CACHE_KIB)?;
        StoreHub::prepare(&mut store)?;
        let checkpointer = Checkpointer::start(&path, key)?;
        store.set_autocheckpoint(0)?;
        Ok(StoreHub {
            checkpointer: Some(checkpointer),
            store: Mutex::new(store),
            seal: None,
            open_duplicates: Mutex::new(None),
        })
    }

    /// Opens (or creates) the hub's tables and documents in the PostgreSQL database at `url`
    /// (libpq's syntax; a Unix socket as `?host=/run/dir`); `key`, the hub key, seals users'
    /// secret keys there.
    pub fn open_postgres(url: &str, key: &StoreKey) -> Result<StoreHub, HubError> {
        let mut store = kabinet_store_pg::open(url, &hub_settings())?;
        StoreHub::prepare(&mut store)?;
        let salt = match store.meta(seal::SALT_META)? {
            Some(s) => s,
            None => {
                let salt = hex::encode(rand::random::<[u8; 16]>());
                // Another process starting at the same time may set it first: the first
                // one stays, and is the one every process reads.
                store.write(Origin::Local, |w| {
                    w.sql().exec(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        &[&seal::SALT_META, &salt],
                    )?;
                    Ok(())
                })?;
                store.meta(seal::SALT_META)?.unwrap_or(salt)
            }
        };
        let seal = seal::Seal::new(key, salt.as_bytes())?;
        Ok(StoreHub {
            checkpointer: None,
            store: Mutex::new(store),
            seal: Some(seal),
            open_duplicates: Mutex::new(None),
        })
    }

    /// The hub's tables at this build's version, hub edits a crash left unrelayed sent on, and
    /// the relay's first epoch for a hub that has none.
    fn prepare(store: &mut Store) -> Result<(), HubError> {
        schema::migrate(store)?;
        let recovered = relay::recover_unrelayed(store)?;
        if recovered > 0 {
            tracing::warn!(
                documents = recovered,
                "relayed hub edits a crash had left unrelayed"
            );
        }
        epochs::load_or_begin(store)?;
        // A hub keeps the programme report's facts in memory (read at the first report, or
        // by `serve` as it starts) and reads again only what changed.
        store.keep_report_facts(false)?;
        Ok(())
    }

    fn wrote(&self) {
        if let Some(c) = &self.checkpointer {
            c.wrote();
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves no half transaction (SQLite rolled it back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A write, then a nudge to the checkpointer.
    fn writing<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, HubError>) -> Result<T, HubError> {
        let out = f(&mut self.store());
        self.wrote();
        out
    }

    /// Runs a write of hub staff (a hub-side edit) and relays the changes it made.
    pub fn write_local<T>(
        &self,
        f: impl FnOnce(&mut kabinet_store::Writer<'_>) -> kabinet_store::Result<T>,
    ) -> Result<T, HubError> {
        crate::desk::write_local(self, f)
    }

    /// Runs `f` on the hub's store on behalf of hub staff, then relays every document it
    /// changed. `f`'s own result (which may be an error of its own) is returned as is.
    pub fn staff_call<T>(&self, f: impl FnOnce(&mut Store) -> T) -> Result<T, HubError> {
        crate::desk::staff_call(self, f)
    }

    /// Reads through the hub's store (search, records) under the lock.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Store) -> kabinet_store::Result<T>,
    ) -> Result<T, HubError> {
        crate::desk::read(self, f)
    }
}

impl HubStorage for StoreHub {
    fn create_enrollment(
        &self,
        cabinet: &str,
        roles: &[kabinet_core::Role],
        code_hash: [u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError> {
        devices::create_enrollment(&self.store(), cabinet, roles, code_hash, expires_at)
    }

    fn redeem_enrollment(
        &self,
        code_hash: [u8; 32],
        device_name: &str,
        token_hash: [u8; 32],
    ) -> Result<Device, HubError> {
        devices::redeem_enrollment(&mut self.store(), code_hash, device_name, token_hash)
    }

    fn device_by_token(&self, token_hash: [u8; 32]) -> Result<Option<Device>, HubError> {
        devices::device_by_token(&self.store(), token_hash)
    }

    fn devices(&self) -> Result<Vec<Device>, HubError> {
        devices::devices(&self.store())
    }

    fn revoke(&self, device_id: &str) -> Result<(), HubError> {
        devices::revoke(&self.store(), device_id)
    }

    fn add_user(
        &self,
        user: &StaffUser,
        cabinets: &[String],
        secrets: &NewSecrets<'_>,
        by: &str,
    ) -> Result<(), HubError> {
        users::add_user(
            &mut self.store(),
            self.seal.as_ref(),
            user,
            cabinets,
            secrets,
            by,
        )
    }

    fn users(&self) -> Result<Vec<UserRecord>, HubError> {
        users::users(&self.store())
    }

    fn set_disabled(&self, name: &str, disabled: bool, by: &str) -> Result<(), HubError> {
        users::set_disabled(&mut self.store(), name, disabled, by)
    }

    fn user_secrets(&self, name: &str) -> Result<UserSecrets, HubError> {
        users::user_secrets(&self.store(), self.seal.as_ref(), name)
    }

    fn set_web_password(&self, name: &str, password_hash: &str, by: &str) -> Result<(), HubError> {
        users::set_web_password(&mut self.store(), name, password_hash, by)
    }

    fn set_device_secret(
        &self,
        name: &str,
        device: &DeviceSecret<'_>,
        by: &str,
    ) -> Result<(), HubError> {
        users::set_device_secret(&mut self.store(), self.seal.as_ref(), name, device, by)
    }

    fn edit_user(
        &self,
        name: &str,
        role: Option<&str>,
        cabinets: Option<&[String]>,
        by: &str,
    ) -> Result<(), HubError> {
        users::edit_user(&mut self.store(), name, role, cabinets, by)
    }

    fn roster(&self, device: &Device) -> Result<Vec<kabinet_keys::DeviceUser>, HubError> {
        users::roster(&self.store(), device)
    }

    fn user_for_login(&self, name: &str) -> Result<Option<LoginRecord>, HubError> {
        users::user_for_login(&self.store(), name)
    }

    fn reserve_sign_in(
        &self,
        name: &str,
        now: DateTime<Utc>,
        lock_after: u32,
        wait_after: &dyn Fn(u32) -> Option<chrono::Duration>,
    ) -> Result<SignInTry, HubError> {
        users::reserve_sign_in(&mut self.store(), name, now, lock_after, wait_after)
    }

    fn sign_in_succeeded(&self, name: &str) -> Result<(), HubError> {
        users::sign_in_succeeded(&self.store(), name)
    }

    fn create_session(
        &self,
        token_hash: [u8; 32],
        user: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError> {
        users::create_session(&self.store(), token_hash, user, expires_at)
    }

    fn session_user(&self, token_hash: [u8; 32]) -> Result<Option<StaffUser>, HubError> {
        users::session_user(&self.store(), token_hash)
    }

    fn end_session(&self, token_hash: [u8; 32]) -> Result<(), HubError> {
        users::end_session(&self.store(), token_hash)
    }

    fn push_audit(&self, device: &Device, entries: &[ChainedEntry]) -> Result<u64, HubError> {
        audit::push_audit(&mut self.store(), device, entries)
    }

    fn record_refusal(&self, refusal: &Refusal) -> Result<(), HubError> {
        audit::record_refusal(&self.store(), refusal)
    }

    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, HubError> {
        audit::audit(&self.store(), filter)
    }

    fn open_duplicates(&self, recount: bool) -> Result<u64, HubError> {
        let kept = *self
            .open_duplicates
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (candidates, dismissed, head) = {
            let store = self.store();
            let head = store.last_change_seq()?;
            match kept {
                Some((at, count, _)) if at == head => return Ok(count),
                // Records changed, but counting takes long here (a national hub): the count
                // the background keeps current will do.
                Some((_, count, took)) if !recount && took > SLOW_COUNT => return Ok(count),
                _ => {}
            }
            (
                store.duplicate_candidates()?,
                store.dismissed_pairs()?,
                head,
            )
        };
        // Found without the store's lock: syncs go on meanwhile.
        let started = std::time::Instant::now();
        let count = kabinet_core::duplicates::find(&candidates, &dismissed).len() as u64;
        *self
            .open_duplicates
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((head, count, started.elapsed()));
        Ok(count)
    }

    fn with_documents(&self, f: &mut dyn FnMut(&mut Store)) -> Result<(), HubError> {
        let mut store = self.store();
        let before = store.last_change_seq()?;
        f(&mut store);
        if store.last_change_seq()? == before {
            return Ok(()); // nothing written (a read)
        }
        // Relayed under the same lock, from the relay mark (not from `before`): an earlier
        // edit whose relay failed goes out with this one. A push relays past the mark first
        // too, so another process's edit is never passed over either.
        relay::relay_hub_edits(&mut store)?;
        drop(store);
        self.wrote();
        Ok(())
    }

    fn commit_push(
        &self,
        device_id: &str,
        docs: &[Received<'_>],
        seen_at: Option<DateTime<Utc>>,
    ) -> Result<(), HubError> {
        self.writing(|store| relay::commit_push(store, device_id, docs, seen_at))
    }

    fn relay_page(
        &self,
        cursor: u64,
        not_from: &str,
        max_bytes: usize,
        readable: &dyn Fn(AccessClass) -> bool,
    ) -> Result<RelayPage, HubError> {
        relay::relay_page(&self.store(), cursor, not_from, max_bytes, readable)
    }

    fn relay_epochs(&self) -> Result<crate::epoch::Epochs, HubError> {
        // Read at every sync (one row), not kept from the start: a restore under a hub whose
        // serve lock was lost (its server restarted) must still be seen.
        let store = self.store();
        Ok(epochs::stored(store.sql())?
            .unwrap_or_else(|| crate::epoch::Epochs::first(chrono::Utc::now())))
    }
}
