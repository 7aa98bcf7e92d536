//! Bringing a hub back from a backup (`kabinet-hub restore FILE`), on either backend, and the
//! lock that keeps a restore from happening under a serving hub.
//!
//! A restore puts the backup's tables in place of the hub's, then starts a new relay epoch
//! ([`crate::epoch`]): devices that synced after the backup learn at their next sync that the
//! hub lost what came after it, and send it again. What no device holds is lost for good:
//! hub-side edits after the backup that no device pulled, and enrollments, users and
//! sessions changed after it (README, "Backup and restore").

use super::migrate::{Into, MigrateError, MigrationReport, check, into_postgres};
use super::{StoreHub, epochs};
use crate::epoch::Epochs;
use crate::storage::{HubError, HubStorage};
use kabinet_store::{Origin, Store, StoreError, StoreKey};
use std::path::{Path, PathBuf};

/// The advisory lock every serving hub holds shared on a PostgreSQL database, and a restore
/// exclusively ("KBSERVE" in ASCII).
const SERVE_LOCK: i64 = 0x004b_4253_4552_5645;

/// Held while a hub serves: a restore (or `mark-restored`) waits for none, it is refused.
pub enum ServeLock {
    /// A shared lock on `DATA_DIR/hub.lock`.
    Folder(std::fs::File),
    Postgres(Box<kabinet_store_pg::SessionLock>),
}

/// Where the hub lives: its data folder (the SQLite file), or a PostgreSQL database.
#[derive(Debug, Clone, Copy)]
pub enum HubAt<'a> {
    Folder(&'a Path),
    Postgres(&'a str),
}

fn lock_file(data_dir: &Path) -> Result<std::fs::File, HubError> {
    std::fs::create_dir_all(data_dir).map_err(StoreError::from)?;
    Ok(std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join("hub.lock"))
        .map_err(StoreError::from)?)
}

impl ServeLock {
    /// The lock a serving hub holds: shared, so several hub processes serve one database.
    /// `None` while a restore holds it.
    pub fn serving(at: HubAt<'_>) -> Result<Option<ServeLock>, HubError> {
        match at {
            HubAt::Folder(dir) => {
                let file = lock_file(dir)?;
                Ok(file
                    .try_lock_shared()
                    .is_ok()
                    .then_some(ServeLock::Folder(file)))
            }
            HubAt::Postgres(url) => Ok(kabinet_store_pg::try_session_lock(url, SERVE_LOCK, true)?
                .map(|l| ServeLock::Postgres(Box::new(l)))),
        }
    }

    /// The lock a restore holds: exclusive. `None` while a hub serves.
    pub fn restoring(at: HubAt<'_>) -> Result<Option<ServeLock>, HubError> {
        match at {
            HubAt::Folder(dir) => {
                let file = lock_file(dir)?;
                Ok(file.try_lock().is_ok().then_some(ServeLock::Folder(file)))
            }
            HubAt::Postgres(url) => Ok(kabinet_store_pg::try_session_lock(url, SERVE_LOCK, false)?
                .map(|l| ServeLock::Postgres(Box::new(l)))),
        }
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    /// The backup's rows per table and checks, as in the restored hub.
    pub copied: MigrationReport,
    /// The epoch devices are moved to, and the last relay row it starts after.
    pub epoch: crate::epoch::Epoch,
    /// Where the hub's file was kept (SQLite): `hub.db.before-restore-<time>`.
    pub kept: Option<PathBuf>,
}

/// Why a restore stopped (the hub is then as it was).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("a hub is serving {0}: stop every hub process first, then restore")]
    Serving(String),
    #[error("no backup at {0}")]
    NoBackup(PathBuf),
    #[error(
        "{file} does not open with this hub key ({reason}); restore with the key the hub had when the backup was taken"
    )]
    Key { file: PathBuf, reason: String },
    #[error("{file} is damaged: {report}")]
    Damaged { file: PathBuf, report: String },
    #[error(transparent)]
    Copy(#[from] MigrateError),
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl RestoreError {
    fn serving(at: HubAt<'_>) -> RestoreError {
        RestoreError::Serving(match at {
            HubAt::Folder(dir) => dir.display().to_string(),
            HubAt::Postgres(url) => kabinet_store_pg::describe(url),
        })
    }
}

impl From<StoreError> for RestoreError {
    fn from(e: StoreError) -> Self {
        RestoreError::Hub(e.into())
    }
}

/// Restores the hub at `at` from `backup` (a file `kabinet-hub backup` wrote, encrypted with
/// `key`), refusing while any hub serves it. The backup file itself is not changed.
pub fn restore(
    backup: &Path,
    key: &StoreKey,
    at: HubAt<'_>,
    data_dir: &Path,
) -> Result<RestoreReport, RestoreError> {
    if !backup.is_file() {
        return Err(RestoreError::NoBackup(backup.to_path_buf()));
    }
    let Some(_lock) = ServeLock::restoring(at)? else {
        return Err(RestoreError::serving(at));
    };
    // Worked on as a copy beside the hub: the operator's backup stays as it was, and a
    // restore cut halfway leaves the hub untouched.
    let work = data_dir.join("hub.db.restoring");
    let leftovers = [
        work.clone(),
        PathBuf::from(format!("{}-wal", work.display())),
        PathBuf::from(format!("{}-shm", work.display())),
    ];
    // A restore cut short leaves its copy's write-ahead log: replayed onto a fresh copy, it
    // would change what is restored.
    for leftover in &leftovers {
        let _ = std::fs::remove_file(leftover);
    }
    std::fs::copy(backup, &work).map_err(StoreError::from)?;
    let outcome = restore_from_copy(&work, backup, key, at);
    for leftover in &leftovers {
        let _ = std::fs::remove_file(leftover);
    }
    outcome
}

fn restore_from_copy(
    work: &Path,
    backup: &Path,
    key: &StoreKey,
    at: HubAt<'_>,
) -> Result<RestoreReport, RestoreError> {
    let mut source = Store::open(work, key).map_err(|e| RestoreError::Key {
        file: backup.to_path_buf(),
        reason: e.to_string(),
    })?;
    let report = source.integrity_check()?;
    if report != "ok" {
        return Err(RestoreError::Damaged {
            file: backup.to_path_buf(),
            report,
        });
    }
    // A backup of an older hub: its tables brought to this build's, as opening it would.
    super::schema::migrate(&mut source)?;
    match at {
        HubAt::Folder(dir) => {
            let path = dir.join("hub.db");
            // The history the hub held, when its file still opens.
            let held = match path.exists() {
                true => Store::open(&path, key)
                    .ok()
                    .and_then(|s| epochs::stored(s.sql()).ok().flatten()),
                false => None,
            };
            let epochs = source.write(Origin::Import, |w| {
                Ok(epochs::begin_after_restore(w.sql(), held.as_ref())?)
            })?;
            let copied = check_file(&source)?;
            source.checkpoint()?;
            drop(source);
            let kept = keep_aside(&path)?;
            std::fs::rename(work, &path).map_err(StoreError::from)?;
            Ok(RestoreReport {
                copied,
                epoch: epochs.current().clone(),
                kept,
            })
        }
        HubAt::Postgres(url) => {
            let target = StoreHub::open_postgres(url, key)?;
            let held = target.relay_epochs()?;
            let mut epoch = None;
            let copied = into_postgres(&source, &target, Into::Replace, |sql| {
                epoch = Some(epochs::begin_after_restore(sql, Some(&held))?);
                Ok(())
            })?;
            Ok(RestoreReport {
                copied,
                epoch: epoch.expect("written above").current().clone(),
                kept: None,
            })
        }
    }
}

/// The restored file checked as a backup is: its audit chain verifies; rows per table.
fn check_file(store: &Store) -> Result<MigrationReport, RestoreError> {
    let tables = super::migrate::table_counts(store)?;
    Ok(check(store.sql(), store.sql(), tables)?)
}

/// Moves the hub's file (and its WAL, which may hold its last commits) aside, named with the
/// time: nothing of the hub is deleted by a restore.
fn keep_aside(path: &Path) -> Result<Option<PathBuf>, RestoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let kept = PathBuf::from(format!("{}.before-restore-{stamp}", path.display()));
    // The file first: if that fails, nothing moved; its log follows it (a log left without
    // its file is harmless, a file left without its log loses its last commits).
    std::fs::rename(path, &kept).map_err(StoreError::from)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            std::fs::rename(&side, format!("{}{suffix}", kept.display()))
                .map_err(StoreError::from)?;
        }
    }
    Ok(Some(kept))
}

impl StoreHub {
    /// Starts a new relay epoch by hand, for a hub restored with other tools (a file copied
    /// back, `pg_restore`, a replica promoted): devices then send again what it lacks.
    /// Refused while a hub serves (`at` is where this hub lives).
    pub fn mark_restored(&self, at: HubAt<'_>) -> Result<crate::epoch::Epoch, RestoreError> {
        let Some(_lock) = ServeLock::restoring(at)? else {
            return Err(RestoreError::serving(at));
        };
        let held: Epochs = self.relay_epochs()?;
        let epochs = self.writing(|store| {
            Ok(store.write(Origin::Local, |w| {
                Ok(epochs::begin_after_restore(w.sql(), Some(&held))?)
            })?)
        })?;
        Ok(epochs.current().clone())
    }
}
