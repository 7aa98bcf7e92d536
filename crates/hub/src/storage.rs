//! The hub's storage, behind a small trait so a PostgreSQL backend can be added without
//! touching the protocol or the HTTP layer (the way Atuin's server is generic over its
//! database). The trait is persistence only: the relay's protocol ([`crate::relay`]) and the
//! staff desk ([`crate::desk`]) are written once above it. The SQLite backend in
//! [`crate::stored`] is the zero-setup default.

use chrono::{DateTime, Utc};
use kabinet_core::AccessClass;
use kabinet_store::{Received, Store};
use kabinet_sync::DocChanges;
use serde::Serialize;

pub use crate::sign_in::SignInTry;

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
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct StaffUser {
    /// The login name.
    pub name: String,
    pub display_name: String,
    pub role: String,
}

/// A user as the hub admin manages them.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: StaffUser,
    /// The cabinets whose devices receive this user (none: on no device).
    pub cabinets: Vec<String>,
    pub disabled: bool,
    /// Raised by every new device PIN; devices clear their wrong-try count when it rises.
    pub generation: u32,
    /// Wrong web sign-ins since the last good one.
    pub failed_logins: u32,
    /// Has a web password (signs in at the hub's web UI).
    pub web_sign_in: bool,
    /// Has a device PIN (a credential devices of their cabinets receive).
    pub on_devices: bool,
}

/// Which of a user's two secrets. They are never the same: the device PIN's wrapped key sits
/// on every tablet of the user's cabinets, where it can be guessed offline, so it must not
/// also open the hub's web UI, which reaches every cabinet's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// The password for the hub's web UI (an argon2 hash at the hub).
    Web,
    /// The PIN (or password) that opens the user's credential on their cabinets' devices.
    Device,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::Web => "web",
            SecretKind::Device => "device",
        }
    }
}

/// A user's device credential with the secret key it wraps (kept at the hub, in its encrypted
/// database, so a new PIN rewraps the same key pair and devices need nothing else).
pub struct DeviceSecret<'a> {
    pub credential: &'a kabinet_keys::UserCredential,
    pub secret_key: &'a [u8; 32],
}

/// What a new user is given: a web password's hash, a device credential, or (later) both.
pub struct NewSecrets<'a> {
    pub password_hash: Option<&'a str>,
    pub device: Option<DeviceSecret<'a>>,
}

/// A user's secrets as the hub holds them, for checking a new one against the other.
pub struct UserSecrets {
    pub password_hash: Option<String>,
    pub credential: Option<kabinet_keys::UserCredential>,
    pub secret_key: Option<zeroize::Zeroizing<[u8; 32]>>,
    pub cabinets: Vec<String>,
    pub role: String,
}

/// What a sign-in needs to know about a user.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub user: StaffUser,
    /// The web password's argon2 hash; `None` for a user who signs in on devices only.
    pub password_hash: Option<String>,
}

/// What the admin's audit view asks for; `None` means any.
#[derive(Debug, Clone, Default, serde::Deserialize, ts_rs::TS)]
#[ts(optional_fields)]
pub struct AuditFilter {
    /// Part of the user's display name or login name.
    pub user: Option<String>,
    pub device: Option<String>,
    /// A record id (or its beginning).
    pub record: Option<String>,
    /// create | edit | view | print | withdraw | refused
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    #[serde(default = "default_limit")]
    #[ts(optional, as = "Option<usize>")]
    pub limit: usize,
    /// Sensitive classes whose lines the reader may see (`Role::reads_audit_of`); lines
    /// about any other sensitive class are left out. Set by the hub from the reader's role,
    /// never from the request; empty (the default) shows general lines only.
    #[serde(skip)]
    #[ts(skip)]
    pub shown_classes: Vec<kabinet_core::AccessClass>,
}

impl AuditFilter {
    /// Every class: the operator at the hub's terminal, who holds the whole database anyway.
    pub fn all_classes(self) -> AuditFilter {
        AuditFilter {
            shown_classes: kabinet_core::AccessClass::ALL.to_vec(),
            ..self
        }
    }
}

fn default_limit() -> usize {
    500
}

/// One line of the audit view.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AuditRow {
    pub at: String,
    /// As the entry recorded them: a user's display name (unique at the hub), `console:…`
    /// for the hub's command line, `system`.
    pub user: String,
    /// The login name of the user of that display name (`""` when none has it; several,
    /// comma-separated, only for names given twice before the hub refused duplicates).
    pub login: String,
    pub device: String,
    pub action: String,
    pub record: String,
    pub class: String,
    /// device (a device's own log), hub (staff at the hub), refusal (refused by the hub).
    pub source: String,
}

/// A request refused by the access matrix (or an audit log that does not continue its
/// chain): who asked for what, for the admin's audit view.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub at: DateTime<Utc>,
    /// The device's id, or `hub:<user>` for staff at the web UI.
    pub by: String,
    pub doc_id: Option<uuid::Uuid>,
    /// The access class asked for (`""` when none applies).
    pub class: String,
    /// push | audit_chain | the desk operation's name
    pub action: String,
}

/// One page of the relay log for a device: what it pulls.
#[derive(Debug, Default)]
pub struct RelayPage {
    pub docs: Vec<DocChanges>,
    /// The cursor after this page.
    pub next_cursor: u64,
    /// More entries wait beyond the page's size.
    pub more: bool,
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
    #[error("the display name {display_name:?} is already {login}'s")]
    DisplayNameTaken { display_name: String, login: String },
    #[error("unknown or expired enrollment code")]
    BadEnrollmentCode,
    #[error("no free referral issuer numbers left (1–98 are taken)")]
    IssuersExhausted,
    #[error("no device {0}")]
    NoSuchDevice(String),
    #[error("document {doc_id}: {reason}")]
    BadDocument { doc_id: uuid::Uuid, reason: String },
    /// A pushed document that is not what the device claims, or does not fit its class.
    #[error("document {doc_id} refused: {misfit}")]
    Misfit {
        doc_id: uuid::Uuid,
        misfit: kabinet_store::fit::Misfit,
    },
    #[error(
        "the hub database was written by a newer Kabinet Hub (hub schema {found}); this build knows up to {known}. Update the hub."
    )]
    NewerSchema { found: usize, known: usize },
    #[error("storage: {0}")]
    Store(#[from] kabinet_store::StoreError),
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("storage: {0}")]
    Database(#[from] kabinet_store::sql::SqlError),
    #[error(transparent)]
    Postgres(#[from] kabinet_store_pg::ConnectError),
    #[error("{0}")]
    Seal(String),
}

/// A display name as it is compared for sameness: two names that read alike on a record
/// (letters' case, spaces) are the same name.
pub fn display_key(display_name: &str) -> String {
    display_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What a hub database must do: keep enrollments, devices, users and sessions, the devices'
/// audit logs and refusals, the documents and the relay log (every change new to the hub, in
/// arrival order). Implementations are blocking; the server calls them from a blocking
/// thread. Rules (who may read or write what, how long a wrong password waits, what a sync
/// answers) live above it, so each backend implements only storage.
pub trait HubStorage: Send + Sync + 'static {
    /// Registers a one-time enrollment code (by its hash) for a cabinet.
    fn create_enrollment(
        &self,
        cabinet: &str,
        roles: &[kabinet_core::Role],
        code_hash: [u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError>;
    /// Exchanges a code for a device whose token has `token_hash`, with the lowest free
    /// referral issuer number; the code is then spent.
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

    /// Adds a user of `cabinets` with their secrets (see [`NewSecrets`]). The display name
    /// must be no one else's ([`display_key`]). Every change to users is an entry of the hub's
    /// audit chain, written in the change's transaction, as `by`'s.
    fn add_user(
        &self,
        user: &StaffUser,
        cabinets: &[String],
        secrets: &NewSecrets<'_>,
        by: &str,
    ) -> Result<(), HubError>;
    fn users(&self) -> Result<Vec<UserRecord>, HubError>;
    /// Disables (ending their sessions) or enables a user.
    fn set_disabled(&self, name: &str, disabled: bool, by: &str) -> Result<(), HubError>;
    /// A user's secrets, cabinets and role.
    fn user_secrets(&self, name: &str) -> Result<UserSecrets, HubError>;
    /// A new web password: clears wrong sign-ins, ends web sessions.
    fn set_web_password(&self, name: &str, password_hash: &str, by: &str) -> Result<(), HubError>;
    /// A new device PIN (the same key pair wrapped anew): raises the generation, so devices
    /// clear their wrong tries.
    fn set_device_secret(
        &self,
        name: &str,
        device: &DeviceSecret<'_>,
        by: &str,
    ) -> Result<(), HubError>;
    /// Changes a user's role and/or cabinets (each change one audit entry).
    fn edit_user(
        &self,
        name: &str,
        role: Option<&str>,
        cabinets: Option<&[String]>,
        by: &str,
    ) -> Result<(), HubError>;
    /// What a device receives: every user of its cabinet whose role is one of its roles and
    /// who has a device PIN, disabled ones too (so the device locks them out).
    fn roster(&self, device: &Device) -> Result<Vec<kabinet_keys::DeviceUser>, HubError>;
    /// An active user and their web password hash, for signing in.
    fn user_for_login(&self, name: &str) -> Result<Option<LoginRecord>, HubError>;
    /// Decides and counts a web sign-in try for the typed `name` in one step (names nobody has
    /// are counted alike): [`SignInTry::Locked`] once `lock_after` tries in a row were wrong,
    /// [`SignInTry::Wait`] before the time the last wrong one set, otherwise the try is counted
    /// as wrong and the next one may come after `wait_after(failures)`.
    fn reserve_sign_in(
        &self,
        name: &str,
        now: DateTime<Utc>,
        lock_after: u32,
        wait_after: &dyn Fn(u32) -> Option<chrono::Duration>,
    ) -> Result<SignInTry, HubError>;
    /// The password was right: the name's wrong tries are cleared.
    fn sign_in_succeeded(&self, name: &str) -> Result<(), HubError>;
    fn create_session(
        &self,
        token_hash: [u8; 32],
        user: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), HubError>;
    /// The active user of an unexpired session.
    fn session_user(&self, token_hash: [u8; 32]) -> Result<Option<StaffUser>, HubError>;
    fn end_session(&self, token_hash: [u8; 32]) -> Result<(), HubError>;

    /// Takes a device's audit entries that continue the chain the hub holds for it (checked
    /// with `kabinet_core::audit`, in the same transaction as they are stored); returns the
    /// last sequence number held. A break is refused and recorded as a refusal.
    fn push_audit(
        &self,
        device: &Device,
        entries: &[kabinet_core::audit::ChainedEntry],
    ) -> Result<u64, HubError>;
    fn record_refusal(&self, refusal: &Refusal) -> Result<(), HubError>;
    /// The audit view (devices' entries, the hub's own and refusals), newest first.
    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, HubError>;

    /// How many possible duplicate pairs are open (not merged, not dismissed): the report's
    /// data-quality count, kept between reports. Counted again when anything changed since
    /// the last count, except that a report (`recount` false) on a hub where counting is slow
    /// (a national one: seconds) takes the kept count, which the serving hub recounts every
    /// few minutes in the background (`recount` true).
    fn open_duplicates(&self, recount: bool) -> Result<u64, HubError>;

    /// Runs `f` on the hub's documents (a Kabinet store) on behalf of hub staff. Every
    /// document `f` changed is then appended to the relay log as the hub's own change, before
    /// any other write, so devices pull hub-side edits like any other.
    fn with_documents(&self, f: &mut dyn FnMut(&mut Store)) -> Result<(), HubError>;
    /// Merges a device's pushed documents (already checked against the access matrix and
    /// [`kabinet_store::fit::check_claim`]) in one transaction, appending what each brought
    /// that is new to the relay log. Each must be the document held under its id (same kind
    /// and class) and fit its class as merged ([`kabinet_store::fit`], as
    /// `kabinet_store::Writer::merge_pushed` checks), else the whole push fails with
    /// `StoreError::Misfit`; so does, with its own error, a document that does not load or
    /// fit its kind. `seen_at`, when given, is recorded as the device's last sync.
    fn commit_push(
        &self,
        device_id: &str,
        docs: &[Received<'_>],
        seen_at: Option<DateTime<Utc>>,
    ) -> Result<(), HubError>;
    /// The relay log after `cursor`, not from `not_from`, whose class (and a whole document's
    /// current class) is `readable`, up to about `max_bytes`: a device's pull. When the page
    /// is not full, its cursor passes every entry there is, the skipped ones too.
    fn relay_page(
        &self,
        cursor: u64,
        not_from: &str,
        max_bytes: usize,
        readable: &dyn Fn(AccessClass) -> bool,
    ) -> Result<RelayPage, HubError>;
    /// The relay log's epochs (a new one after each restore; see [`crate::epoch`]).
    fn relay_epochs(&self) -> Result<crate::epoch::Epochs, HubError>;
}
