//! The keys of the store's `meta` table, in one place: the store keeps the device's settings
//! there, the sync engine its cursors and credentials, the service the screens' drafts.
//! Every crate names a key through these constants, never by its string.

/// The cabinet (or hub desk) this device works for.
pub const CABINET: &str = "cabinet";
/// The referral-code issuer number the hub assigned to this device.
pub const ISSUER: &str = "issuer";
/// The serial the next referral code of this device takes.
pub const NEXT_REFERRAL_SERIAL: &str = "next_referral_serial";

/// The hub's address, set at enrollment.
pub const HUB_URL: &str = "sync.hub_url";
/// The device's bearer token at the hub.
pub const HUB_TOKEN: &str = "sync.token";
/// SHA-256 of the hub's certificate, taken at enrollment (hex).
pub const HUB_PIN: &str = "sync.hub_pin";
/// The device's id at the hub; also the device named in its audit entries.
pub const DEVICE_ID: &str = "sync.device_id";
/// The last local change sequence the hub acknowledged.
pub const PUSH_CURSOR: &str = "sync.push_cursor";
/// The hub's change sequence this device has pulled through.
pub const PULL_CURSOR: &str = "sync.pull_cursor";
pub const LAST_SUCCESS: &str = "sync.last_success";
pub const LAST_ERROR: &str = "sync.last_error";
/// The last audit entry the hub acknowledged.
pub const AUDIT_PUSHED: &str = "sync.audit_pushed";
/// The hub's relay epoch the cursors count in (a UUID; see the hub's `epoch` module).
pub const RELAY_EPOCH: &str = "sync.relay_epoch";

/// Set once a login on this device found its user sealed with the store key (login, name and
/// role; see `kabinet_keys::SEALED_USER`): from then on a keyring entry sealed the old way is
/// refused, so an old copy of the keyring cannot bring back a role that is only the file's word.
pub const KEYRING_SEALS_USERS: &str = "keyring.seals_users";

/// Prefix of a form's draft, kept in the encrypted store (`draft.<key>`).
pub const DRAFT_PREFIX: &str = "draft.";

/// The version of the hub's own tables, in a hub's store (see the hub's `sqlite::schema`).
pub const HUB_SCHEMA_VERSION: &str = "hub.schema_version";

/// The version of the query tables' layout the store's projections were last built for (see
/// `Store::catch_up_projections`).
pub const PROJECTIONS_VERSION: &str = "projections.version";
