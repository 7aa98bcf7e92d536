//! The Kabinet Hub server: enrolls cabinet devices, authenticates every request, and syncs
//! documents between devices through a relay log (see docs/sync.md). Storage sits behind
//! [`storage::HubStorage`]; SQLite ([`sqlite::SqliteHub`]) is the default.

pub mod cli;
pub mod server;
pub mod sqlite;
pub mod staff;
pub mod storage;
pub mod tls;
pub mod users;

pub use server::router;
pub use sqlite::SqliteHub;
pub use storage::{AuditFilter, AuditRow, Device, HubError, HubStorage, StaffUser, UserRecord};
