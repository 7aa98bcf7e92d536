//! The Kabinet Hub server: enrolls cabinet devices, authenticates every request, and syncs
//! documents between devices through a relay log (see docs/sync.md). Storage sits behind
//! [`storage::HubStorage`] (persistence only); the relay ([`relay`]), the staff desk
//! ([`desk`]) and authentication ([`auth`]) are written once above it, on a Kabinet store
//! ([`stored::StoreHub`]): an embedded SQLite file by default, or a PostgreSQL server.

pub mod auth;
pub mod cli;
pub mod desk;
pub mod epoch;
pub mod http;
pub mod metrics;
pub mod relay;
pub mod server;
pub mod sign_in;
pub mod staff;
pub mod storage;
pub mod stored;
pub mod tls;
pub mod users;

pub use server::router;
pub use storage::{
    AuditFilter, AuditRow, Device, HubError, HubStorage, Refusal, RelayPage, StaffUser, UserRecord,
};
pub use stored::StoreHub;

/// glibc gives threads that allocate at once arenas of their own (up to eight per core) and
/// keeps what they free there: with fifty cabinets syncing at once the hub's resident memory
/// then follows its thread count, not its data (peak 570 MB in kabinet-bench-fleet; two
/// arenas: see docs/benchmarks.md). An operator's own MALLOC_ARENA_MAX wins.
pub fn bound_memory_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it is called before the hub
        // starts its threads.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
