//! The hub's storage, behind a small trait so a PostgreSQL backend can be added without
//! touching the protocol or the HTTP layer (the way Atuin's server is generic over its
//! database). The SQLite backend in [`crate::sqlite`] is the zero-setup default.

use chrono::{DateTime, Utc};
use kabinet_sync::{SyncRequest, SyncResponse};
use serde::Serialize;

/// An enrolled device (one tablet or laptop of a cabinet or of hub staff).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub cabinet: String,
    /// Referral-code issuer number of this device, unique in the hub.
    pub issuer: u8,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The roles of its users: the classes of documents it receives and may send.
    pub roles: Vec<kabinet_core::Role>,
}

/// A member of the hub's staff who signs in to the web UI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffUser {
    /// The login name.
    pub name: String,
    pub display_name: String,
    pub role: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("this device's roles may not write {class} documents (document {doc_id})")]
    Forbidden {
        doc_id: uuid::Uuid,
        class: &'static str,
    },
    #[error("a user named {0} already exists")]
    UserExists(String),
    #[error("unknown or expired enrollment code")]
    BadEnrollmentCode,
    #[error("no free referral issuer numbers left (1–98 are taken)")]
    IssuersExhausted,
    #[error("no device {0}")]
    NoSuchDevice(String),
    #[error("document {doc_id}: {reason}")]
    BadDocument { doc_id: uuid::Uuid, reason: String },
    #[error("storage: {0}")]
    Store(#[from] kabinet_store::StoreError),
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// What the hub needs from its storage. Implementations are blocking; the server calls them
/// from a blocking thread.
pub trait HubStorage: Send + Sync + 'static {
    /// Registers a one-time enrollment code (by its hash) for a cabinet.
    fn create_enrollment(
        &self,
        cabinet: &str,
        roles: &[kabinet_core::Role],
        code_hash: [u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError>;
    /// Exchanges a code for a device whose token has `token_hash`; the code is then spent.
    fn redeem_enrollment(
        &self,
        code_hash: [u8; 32],
        device_name: &str,
        token_hash: [u8; 32],
    ) -> Result<Device, HubError>;
    /// The active (not revoked) device holding this token.
    fn device_by_token(&self, token_hash: [u8; 32]) -> Result<Option<Device>, HubError>;
    fn devices(&self) -> Result<Vec<Device>, HubError>;
    fn revoke(&self, device_id: &str) -> Result<(), HubError>;
    /// Adds a staff user with an argon2 password hash (PHC string).
    fn add_user(&self, user: &StaffUser, password_hash: &str) -> Result<(), HubError>;
    /// An active user and their password hash, for signing in.
    fn user_for_login(&self, name: &str) -> Result<Option<(StaffUser, String)>, HubError>;
    fn create_session(
        &self,
        token_hash: [u8; 32],
        user: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError>;
    /// The active user of an unexpired session.
    fn session_user(&self, token_hash: [u8; 32]) -> Result<Option<StaffUser>, HubError>;
    fn end_session(&self, token_hash: [u8; 32]) -> Result<(), HubError>;
    /// One request of the web UI's screens, on the hub's documents, on behalf of staff; the
    /// edits it makes are relayed to devices.
    fn desk(
        &self,
        ctx: &kabinet_service::Context,
        request: kabinet_service::Request,
    ) -> Result<Result<serde_json::Value, kabinet_service::ServiceError>, HubError>;
    /// Slips of referrals as one PDF (paper A5 or A6).
    fn slips(
        &self,
        ctx: &kabinet_service::Context,
        ids: &[uuid::Uuid],
        paper: &str,
    ) -> Result<Result<Vec<u8>, kabinet_service::ServiceError>, HubError>;
    /// One sync exchange: commit the pushed changes (relaying what is new), then answer with
    /// the device's next pull batch.
    fn sync(&self, device: &Device, request: &SyncRequest) -> Result<SyncResponse, HubError>;
}
