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

/// A user as the hub admin manages them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: StaffUser,
    pub disabled: bool,
    /// Raised by every reset; devices clear their wrong-try count when it rises.
    pub generation: u32,
    /// Wrong web sign-ins since the last good one.
    pub failed_logins: u32,
    /// Users added before devices had logins have no credential until their next reset.
    pub on_devices: bool,
}

/// What a sign-in needs to know about a user.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user: StaffUser,
    pub password_hash: String,
    pub failed_logins: u32,
    pub next_try_at: Option<DateTime<Utc>>,
}

/// What the admin's audit view asks for; `None` means any.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditFilter {
    /// Part of the user's name.
    pub user: Option<String>,
    pub device: Option<String>,
    /// A record id (or its beginning).
    pub record: Option<String>,
    /// create | edit | view | print | withdraw | refused
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    500
}

/// One line of the audit view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub at: String,
    pub user: String,
    pub device: String,
    pub action: String,
    pub record: String,
    pub class: String,
    /// device (a device's own log), hub (staff at the hub), refusal (refused by the hub).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "device {device}: its audit log does not continue the one the hub holds ({reason}); it was changed on the device"
    )]
    AuditChain { device: String, reason: String },
    #[error("no user {0}")]
    NoSuchUser(String),
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
    /// Adds a user with an argon2 password hash (PHC string) for the web UI and their
    /// credential for devices (and its secret key, kept so a reset can rewrap it).
    fn add_user(
        &self,
        user: &StaffUser,
        password_hash: &str,
        credential: &kabinet_keys::UserCredential,
        secret_key: &[u8; 32],
    ) -> Result<(), HubError>;
    fn users(&self) -> Result<Vec<UserRecord>, HubError>;
    /// Disables (ending their sessions) or enables a user.
    fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), HubError>;
    /// The secret key of a user's credential, to wrap it with a new secret.
    fn user_secret_key(&self, name: &str) -> Result<Option<[u8; 32]>, HubError>;
    /// A new password: raises the generation, clears wrong sign-ins, ends sessions.
    fn reset_user(
        &self,
        name: &str,
        password_hash: &str,
        credential: &kabinet_keys::UserCredential,
        secret_key: &[u8; 32],
    ) -> Result<(), HubError>;
    /// Every user of these roles with a credential, disabled ones too: what devices of these
    /// roles receive.
    fn roster(
        &self,
        roles: &[kabinet_core::Role],
    ) -> Result<Vec<kabinet_keys::DeviceUser>, HubError>;
    /// Takes a device's audit entries that continue the chain the hub holds for it; returns
    /// the last sequence number held. A break is refused and recorded.
    fn push_audit(
        &self,
        device: &Device,
        entries: &[kabinet_core::audit::ChainedEntry],
    ) -> Result<u64, HubError>;
    /// The audit view, newest first.
    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, HubError>;
    /// An active user, their password hash and wrong-try state, for signing in.
    fn user_for_login(&self, name: &str) -> Result<Option<LoginRecord>, HubError>;
    /// Records a sign-in's outcome: a good one clears the count; a wrong one counts and sets
    /// when the next try may come.
    fn record_login(
        &self,
        name: &str,
        ok: bool,
        next_try_at: Option<DateTime<Utc>>,
    ) -> Result<(), HubError>;
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
