//! Users' keys on a device. The hub makes each user's credential (an argon2id-wrapped X25519
//! key pair) and sends it to the devices of the user's role; a device seals its store key to
//! every such user, so any of them can log in offline, and a device with nobody logged in
//! holds nothing that opens its store. Wrong tries slow down, then lock the user.

pub mod credential;
pub mod keyring;

pub use credential::{KeyError, MIN_SECRET_CHARS, UserCredential, UserSecretKey, check_secret};
pub use keyring::{
    DeviceUser, Keyring, KeyringError, LOCK_AFTER, LoginError, RosterOutcome, SEALED_USER,
    SLOW_AFTER, Unlocked, UserSummary, wait_after,
};
