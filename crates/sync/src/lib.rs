//! Kabinet's sync protocol, shared by devices and the hub: the versioned wire format of a sync
//! exchange. See docs/sync.md for the design (two change feeds with cursors, byte-bounded
//! batches, per-document Automerge changes the other side lacks).

pub mod agent;
pub mod engine;
pub mod transport;
pub mod wire;

pub use agent::{AgentOptions, AgentView, SyncAgent, SyncState};
pub use engine::{
    CODE_FINGERPRINT_DIGITS, Enrolled, EnrollmentCode, SyncError, SyncLimits, SyncReport,
    SyncStatus, apply_answer, enroll, fetch_roster, grouped, next_exchange, probe, status, sync,
    sync_users, sync_with,
};
pub use transport::HubAddress;
pub use wire::{DocChanges, SyncRequest, SyncResponse, WireError};
