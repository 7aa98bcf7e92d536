//! The background sync agent of a device: probes the hub (with backoff while it is out of
//! reach), syncs as soon as it answers, then again every interval or when asked ("sync now",
//! or after a local save). Its state is what the app's sync indicator shows: not enrolled /
//! offline / syncing (with progress) / up to date / error with the reason.

use crate::engine::{self, SyncError, SyncReport};
use chrono::{DateTime, Utc};
use kabinet_store::{Store, StoreKey};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the sync indicator shows.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    NotEnrolled,
    /// The hub does not answer; the next probe is due in `retry_in_ms`.
    Offline {
        retry_in_ms: u64,
    },
    Syncing {
        progress: SyncReport,
    },
    UpToDate,
    Error {
        reason: String,
    },
}

/// The state plus what the status line needs beside it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AgentView {
    #[serde(flatten)]
    pub state: SyncState,
    pub last_success: Option<DateTime<Utc>>,
    pub pending_local_changes: u64,
}

#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// First wait after a failed probe; doubled on every further failure.
    pub backoff_start: Duration,
    pub backoff_max: Duration,
    /// Time between syncs while the hub answers.
    pub interval: Duration,
    /// The keyring beside the store, brought up to the hub's users after every sync.
    pub keyring: Option<PathBuf>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            backoff_start: Duration::from_secs(2),
            backoff_max: Duration::from_secs(120),
            interval: Duration::from_secs(60),
            keyring: None,
        }
    }
}

struct Shared {
    view: Mutex<AgentView>,
    /// Set by `sync_now`/`stop`; the agent waits on it between rounds.
    wake: Mutex<(bool, bool)>,
    signal: Condvar,
}

/// A running agent; dropping it stops the thread.
pub struct SyncAgent {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl SyncAgent {
    /// Starts the agent on its own connection to the store at `path`.
    pub fn start(
        path: PathBuf,
        key: StoreKey,
        options: AgentOptions,
    ) -> Result<SyncAgent, SyncError> {
        let store = Store::open(&path, &key)?;
        let users = options.keyring.clone().map(|ring| (ring, key.clone()));
        // The agent streams documents; the app's own connection keeps the big cache.
        store.set_cache_kib(4096)?;
        let status = engine::status(&store)?;
        let shared = Arc::new(Shared {
            view: Mutex::new(AgentView {
                state: if status.enrolled {
                    SyncState::Offline { retry_in_ms: 0 }
                } else {
                    SyncState::NotEnrolled
                },
                last_success: status.last_success,
                pending_local_changes: status.pending_local_changes,
            }),
            wake: Mutex::new((false, false)),
            signal: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kabinet-sync".into())
            .spawn(move || run(store, thread_shared, options, users))
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        Ok(SyncAgent {
            shared,
            thread: Some(thread),
        })
    }

    pub fn view(&self) -> AgentView {
        self.shared
            .view
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sync as soon as possible (the "sync now" button, or after a local save).
    pub fn sync_now(&self) {
        let mut w = self.shared.wake.lock().unwrap_or_else(|p| p.into_inner());
        w.0 = true;
        self.shared.signal.notify_all();
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        {
            let mut w = self.shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            w.1 = true;
            self.shared.signal.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SyncAgent {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Waits up to `d`, or until woken; returns false when asked to stop.
fn wait(shared: &Shared, d: Duration) -> bool {
    let guard = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
    let (mut guard, _) = shared
        .signal
        .wait_timeout_while(guard, d, |w| !w.0 && !w.1)
        .unwrap_or_else(|p| p.into_inner());
    guard.0 = false;
    !guard.1
}

fn set(shared: &Shared, store: &Store, state: SyncState) {
    let status = engine::status(store).ok();
    let mut v = shared.view.lock().unwrap_or_else(|p| p.into_inner());
    v.state = state;
    if let Some(s) = status {
        v.last_success = s.last_success;
        v.pending_local_changes = s.pending_local_changes;
    }
}

/// The hub is out of reach: show it, wait the backoff (or a wake-up), and lengthen the next
/// wait. Returns false when asked to stop.
fn offline(shared: &Shared, store: &Store, backoff: &mut Duration, options: &AgentOptions) -> bool {
    set(
        shared,
        store,
        SyncState::Offline {
            retry_in_ms: backoff.as_millis() as u64,
        },
    );
    let go_on = wait(shared, *backoff);
    *backoff = (*backoff * 2).min(options.backoff_max);
    go_on
}

fn run(
    mut store: Store,
    shared: Arc<Shared>,
    options: AgentOptions,
    users: Option<(PathBuf, StoreKey)>,
) {
    let mut backoff = options.backoff_start;
    loop {
        if store
            .meta(kabinet_store::meta::HUB_URL)
            .ok()
            .flatten()
            .is_none()
        {
            set(&shared, &store, SyncState::NotEnrolled);
            if !wait(&shared, options.interval) {
                return;
            }
            continue;
        }
        match engine::probe(&store) {
            Ok(true) => {}
            Ok(false) => {
                if !offline(&shared, &store, &mut backoff, &options) {
                    return;
                }
                continue;
            }
            Err(e) => {
                set(
                    &shared,
                    &store,
                    SyncState::Error {
                        reason: e.to_string(),
                    },
                );
                if !wait(&shared, options.interval) {
                    return;
                }
                continue;
            }
        }
        backoff = options.backoff_start;
        set(
            &shared,
            &store,
            SyncState::Syncing {
                progress: SyncReport::default(),
            },
        );
        let progress_shared = shared.clone();
        let result = engine::sync(&mut store, |report| {
            let mut v = progress_shared
                .view
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            v.state = SyncState::Syncing {
                progress: report.clone(),
            };
        });
        // Users next: a disabled user must be locked out as soon as the device hears of it.
        let result = result.and_then(|_| match &users {
            Some((ring, key)) => engine::sync_users(&store, ring, key).map(|outcome| {
                if !outcome.removed.is_empty() {
                    tracing::info!(removed = ?outcome.removed, "users removed from this device");
                }
            }),
            None => Ok(()),
        });
        match result {
            Ok(_) => {
                set(&shared, &store, SyncState::UpToDate);
                // The store refreshes its last success at most every LAST_SUCCESS_EVERY while
                // syncs move nothing; the screen shows this one.
                let mut v = shared.view.lock().unwrap_or_else(|p| p.into_inner());
                v.last_success = v.last_success.max(Some(Utc::now()));
            }
            Err(SyncError::Unreachable(_)) => {
                if !offline(&shared, &store, &mut backoff, &options) {
                    return;
                }
                continue;
            }
            Err(e) => set(
                &shared,
                &store,
                SyncState::Error {
                    reason: e.to_string(),
                },
            ),
        }
        if !wait(&shared, options.interval) {
            return;
        }
    }
}
