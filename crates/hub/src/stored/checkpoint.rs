//! Checkpoints the hub's WAL on a thread of its own, with its own connection, so that a
//! sync's commit is not followed, inside the request, by copying every page it wrote into the
//! database file a second time.

use crate::storage::HubError;
use kabinet_store::{Store, StoreKey};
use std::path::Path;

/// Woken after every write, and every few seconds; a last checkpoint runs when it is dropped.
/// Killing the hub loses nothing: the WAL is part of the database and is replayed at the next
/// open.
pub(super) struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path, key: &StoreKey) -> Result<Checkpointer, HubError> {
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
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Tells the checkpointer there is new WAL to copy (never waits).
    pub(super) fn wrote(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
