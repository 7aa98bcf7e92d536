//! The device's keyring: a small file beside the store that holds, for each user the hub sent
//! this device, their credential and the store key sealed to them, plus the count of wrong
//! tries. It is read before anything is unlocked, so it holds nothing that opens the store
//! without a user's secret. Every change is written whole to a new file and renamed over the
//! old one, so a crash leaves either the old keyring or the new one.
//!
//! What the app trusts about a user (login, display name, role) is sealed with the store key,
//! so only someone who can already open the store could change it; the plain copy beside it
//! is for the login screen, and a login whose plain copy disagrees with the sealed one fails.
//! A try is counted on disk, under an exclusive lock on the keyring, before the secret is
//! checked: parallel tries, from threads or processes, are counted one by one, and stopping
//! the app during the check does not uncount it. (Whoever can write the app's files can still
//! put an old keyring back, as they can copy a credential and guess offline: the limits stop
//! guessing in the app; see the README's limitations.)

use crate::credential::{KeyError, UserCredential, open_sealed};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Wrong tries allowed before each further try must wait.
pub const SLOW_AFTER: u32 = 3;
/// Wrong tries after which the user is locked until an admin resets them at the hub.
pub const LOCK_AFTER: u32 = 6;
/// The first wait; it doubles with every further wrong try.
const FIRST_WAIT_SECS: i64 = 5;

/// How long the next try must wait after `failures` wrong tries in a row: nothing for the
/// first [`SLOW_AFTER`], then 5, 10, 20 s; none once the user is locked ([`LOCK_AFTER`]),
/// as only a reset opens them again. One policy for devices and the hub's web sign-in.
pub fn wait_after(failures: u32) -> Option<Duration> {
    (SLOW_AFTER..LOCK_AFTER)
        .contains(&failures)
        .then(|| Duration::seconds(FIRST_WAIT_SECS << (failures - SLOW_AFTER)))
}

/// A user as the hub sends them to a device (the roster is every user of the device's roles,
/// disabled ones included, so devices learn who was disabled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceUser {
    /// The login name.
    pub name: String,
    pub display_name: String,
    /// kabinet_core role text (nurse, doctor, …).
    pub role: String,
    pub disabled: bool,
    /// Raised by every reset at the hub; a higher one clears this device's wrong-try count.
    pub generation: u32,
    pub credential: UserCredential,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Slot {
    user: DeviceUser,
    /// The store key sealed to the user's public key (hex); none once disabled. Since
    /// [`SEALED_USER`], a [`SealedPayload`]: the store key with who the user is.
    sealed_store_key: Option<String>,
    /// What `sealed_store_key` holds: 0, the store key alone (keyrings before); 2, a
    /// [`SealedPayload`].
    #[serde(default)]
    sealed: u32,
    failures: u32,
    not_before: Option<DateTime<Utc>>,
}

/// The version of the sealed payload that carries the user's login, name and role.
pub const SEALED_USER: u32 = 2;

/// What is sealed to a user: the store key, and who the app takes them for once it opens. A
/// copy of the role or name edited in the file then no longer matches, and the login fails.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct SealedPayload {
    v: u32,
    /// Hex.
    store_key: String,
    name: String,
    display_name: String,
    role: String,
}

impl SealedPayload {
    fn of(user: &DeviceUser, store_key: &[u8]) -> SealedPayload {
        SealedPayload {
            v: SEALED_USER,
            store_key: hex::encode(store_key),
            name: user.name.clone(),
            display_name: user.display_name.clone(),
            role: user.role.clone(),
        }
    }

    fn matches(&self, user: &DeviceUser) -> bool {
        self.name == user.name && self.display_name == user.display_name && self.role == user.role
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeyringFile {
    version: u32,
    slots: BTreeMap<String, Slot>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("keyring {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("no user {0} on this device")]
    UnknownUser(String),
    #[error("user {0} is disabled")]
    Disabled(String),
    #[error("user {0} is locked after too many wrong tries; an admin must reset them at the hub")]
    Locked(String),
    #[error("too many wrong tries; wait {seconds} s")]
    Wait { seconds: i64 },
    #[error("wrong password or PIN; {tries_left} tries left before the user is locked")]
    WrongSecret { tries_left: u32 },
    /// The user's entry was changed outside the app (its role or name no longer matches what
    /// is sealed with the store key).
    #[error("user {0}: this device's keyring was changed outside the app")]
    Tampered(String),
    #[error("the keyring: {0}")]
    Keyring(String),
}

impl LoginError {
    /// The login form's field the error belongs beside (`user` or `secret`), if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            LoginError::UnknownUser(_) | LoginError::Disabled(_) => Some("user"),
            LoginError::Locked(_) | LoginError::Wait { .. } | LoginError::WrongSecret { .. } => {
                Some("secret")
            }
            LoginError::Tampered(_) | LoginError::Keyring(_) => None,
        }
    }

    /// What the user is told, in their language, with what to do.
    pub fn message(&self, lang: kabinet_core::Lang) -> String {
        match self {
            LoginError::UnknownUser(_) => lang
                .pick(
                    "Потребител: няма такъв на това устройство; изберете от списъка (новите идват със синхронизация).",
                    "User: not on this device; pick one from the list (new users arrive by sync).",
                )
                .into(),
            LoginError::Disabled(_) => lang
                .pick(
                    "Потребителят е деактивиран от Хъба.",
                    "This user was disabled at the hub.",
                )
                .into(),
            LoginError::Locked(_) => lang
                .pick(
                    "Потребителят е заключен след твърде много грешни опити; администратор в Хъба трябва да го нулира.",
                    "Locked after too many wrong tries; a hub admin must reset the user.",
                )
                .into(),
            LoginError::Wait { seconds } => lang.pick(
                format!("Твърде много грешни опити; изчакайте {seconds} с и опитайте отново."),
                format!("Too many wrong tries; wait {seconds} s and try again."),
            ),
            LoginError::WrongSecret { tries_left } => lang.pick(
                format!("Грешна парола или ПИН; остават {tries_left} опита преди заключване."),
                format!(
                    "Wrong password or PIN; {tries_left} tries left before the user is locked."
                ),
            ),
            LoginError::Tampered(_) => lang
                .pick(
                    "Данните на потребителя на това устройство са променяни извън приложението; влизането е спряно. Нека друг потребител синхронизира с Хъба или уведомете администратора.",
                    "This user's entry on this device was changed outside the app; login is stopped. Let another user sync with the hub, or tell the hub admin.",
                )
                .into(),
            LoginError::Keyring(m) => m.clone(),
        }
    }
}

/// What a successful login gives: the store key and who logged in.
pub struct Unlocked {
    pub store_key: Zeroizing<Vec<u8>>,
    pub user: DeviceUser,
    /// Who the user is came sealed with the store key ([`SEALED_USER`]); `false` for a slot
    /// sealed before, whose role and name are only the file's word (the device refuses those
    /// once it has seen a sealed one).
    pub sealed_user: bool,
}

/// A user as the login screen lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct UserSummary {
    pub name: String,
    pub display_name: String,
    pub role: String,
    pub disabled: bool,
    pub locked: bool,
}

/// What applying a roster changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RosterOutcome {
    pub added: Vec<String>,
    /// Disabled now, or no longer sent to this device: their sealed key is gone.
    pub removed: Vec<String>,
}

pub struct Keyring {
    path: PathBuf,
    file: KeyringFile,
}

impl Keyring {
    /// The keyring of the store at `store`: `cabinet.db` → `cabinet.keys.json`.
    pub fn beside(store: &Path) -> PathBuf {
        store.with_extension("keys.json")
    }

    fn err(&self, reason: impl ToString) -> KeyringError {
        KeyringError::File {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Loads the keyring at `path`; a missing file is an empty keyring.
    pub fn load(path: &Path) -> Result<Keyring, KeyringError> {
        let mut k = Keyring {
            path: path.to_path_buf(),
            file: KeyringFile {
                version: 1,
                slots: BTreeMap::new(),
            },
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                k.file = serde_json::from_slice(&bytes).map_err(|e| k.err(e))?;
                Ok(k)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(k),
            Err(e) => Err(k.err(e)),
        }
    }

    /// Takes the keyring's exclusive lock (held until the guard drops) and reads the file
    /// afresh under it: a change then starts from what other threads and processes wrote.
    fn lock_and_reload(&mut self) -> Result<std::fs::File, KeyringError> {
        let lock_path = self.path.with_extension("json.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.err(e))?;
        lock.lock().map_err(|e| self.err(e))?;
        let fresh = Keyring::load(&self.path)?;
        self.file = fresh.file;
        Ok(lock)
    }

    fn save(&self) -> Result<(), KeyringError> {
        use std::io::Write;
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&self.file).map_err(|e| self.err(e))?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(true).write(true);
        // Readable by the app's user only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|e| self.err(e))?;
        // A leftover from a crash keeps the mode it was made with: made private here too.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| self.err(e))?;
        f.write_all(&bytes).map_err(|e| self.err(e))?;
        f.sync_all().map_err(|e| self.err(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.file.slots.is_empty()
    }

    /// Takes the hub's roster: seals `store_key` to users new to this device (or whose key
    /// pair changed), forgets the sealed key of disabled users and of users the hub no longer
    /// sends, and clears the wrong tries of users reset at the hub.
    pub fn apply_roster(
        &mut self,
        roster: &[DeviceUser],
        store_key: &[u8],
    ) -> Result<RosterOutcome, KeyringError> {
        let _lock = self.lock_and_reload()?;
        let mut outcome = RosterOutcome::default();
        let mut dirty = !self.path.exists();
        let listed: std::collections::BTreeSet<&str> =
            roster.iter().map(|u| u.name.as_str()).collect();
        let gone: Vec<String> = self
            .file
            .slots
            .keys()
            .filter(|n| !listed.contains(n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            self.file.slots.remove(&name);
            outcome.removed.push(name);
        }
        for user in roster {
            let slot = self.file.slots.get(&user.name);
            // Sealed anew for a new key pair, and whenever who the user is changed at the hub
            // (or was never sealed with the key).
            let reseal = slot.is_none_or(|s| {
                s.user.credential.public_key != user.credential.public_key
                    || s.sealed_store_key.is_none()
                    || s.sealed != SEALED_USER
                    || s.user.name != user.name
                    || s.user.display_name != user.display_name
                    || s.user.role != user.role
            });
            let mut next = slot.cloned().unwrap_or(Slot {
                user: user.clone(),
                sealed_store_key: None,
                sealed: SEALED_USER,
                failures: 0,
                not_before: None,
            });
            if user.generation > next.user.generation {
                next.failures = 0;
                next.not_before = None;
            }
            if user.disabled {
                if next.sealed_store_key.take().is_some() {
                    outcome.removed.push(user.name.clone());
                }
            } else if reseal {
                let payload = Zeroizing::new(
                    serde_json::to_vec(&SealedPayload::of(user, store_key))
                        .map_err(|e| self.err(e))?,
                );
                next.sealed_store_key = Some(hex::encode(user.credential.seal(&payload)?));
                next.sealed = SEALED_USER;
                if slot.is_none() {
                    outcome.added.push(user.name.clone());
                }
            }
            next.user = user.clone();
            if slot != Some(&next) {
                self.file.slots.insert(user.name.clone(), next);
                dirty = true;
            }
        }
        // The agent applies the roster after every sync: the file is rewritten (and synced to
        // disk) only when something changed.
        if dirty || !outcome.removed.is_empty() {
            self.save()?;
        }
        Ok(outcome)
    }

    /// Logs `name` in with `secret` at `now`, counting wrong tries: under the keyring's lock,
    /// the try is written down as a wrong one before the secret is checked, and cleared only
    /// once the secret proved right.
    pub fn unlock(
        &mut self,
        name: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Unlocked, LoginError> {
        let name = name.trim();
        // No keyring yet: nobody to log in (and nowhere to put a lock).
        if !self.path.exists() {
            return Err(LoginError::UnknownUser(name.to_string()));
        }
        let _lock = self
            .lock_and_reload()
            .map_err(|e| LoginError::Keyring(e.to_string()))?;
        let slot = self
            .file
            .slots
            .get_mut(name)
            .ok_or_else(|| LoginError::UnknownUser(name.to_string()))?;
        if slot.user.disabled {
            return Err(LoginError::Disabled(name.into()));
        }
        let Some(sealed) = slot.sealed_store_key.clone() else {
            return Err(LoginError::Disabled(name.into()));
        };
        if slot.failures >= LOCK_AFTER {
            return Err(LoginError::Locked(name.into()));
        }
        if let Some(t) = slot.not_before
            && now < t
        {
            return Err(LoginError::Wait {
                seconds: (t - now).num_seconds().max(1),
            });
        }
        slot.failures += 1;
        let failures = slot.failures;
        slot.not_before = wait_after(failures).map(|wait| now + wait);
        let credential = slot.user.credential.clone();
        let user = slot.user.clone();
        let sealed_version = slot.sealed;
        self.save()
            .map_err(|e| LoginError::Keyring(e.to_string()))?;
        match credential.unlock(secret) {
            Ok(key) => {
                let sealed = hex::decode(sealed).map_err(|e| LoginError::Keyring(e.to_string()))?;
                let opened =
                    open_sealed(&key, &sealed).map_err(|e| LoginError::Keyring(e.to_string()))?;
                let (store_key, sealed_user) = if sealed_version == SEALED_USER {
                    let payload: SealedPayload = serde_json::from_slice(&opened)
                        .map_err(|_| LoginError::Tampered(name.into()))?;
                    if payload.v != SEALED_USER || !payload.matches(&user) {
                        return Err(LoginError::Tampered(name.into()));
                    }
                    let key = hex::decode(&payload.store_key)
                        .map(Zeroizing::new)
                        .map_err(|_| LoginError::Tampered(name.into()))?;
                    (key, true)
                } else {
                    (opened, false)
                };
                if let Some(slot) = self.file.slots.get_mut(name) {
                    slot.failures = 0;
                    slot.not_before = None;
                }
                // The try counted above is taken back.
                self.save()
                    .map_err(|e| LoginError::Keyring(e.to_string()))?;
                Ok(Unlocked {
                    store_key,
                    user,
                    sealed_user,
                })
            }
            Err(KeyError::WrongSecret) if failures >= LOCK_AFTER => {
                Err(LoginError::Locked(name.into()))
            }
            Err(KeyError::WrongSecret) => Err(LoginError::WrongSecret {
                tries_left: LOCK_AFTER - failures,
            }),
            Err(e) => Err(LoginError::Keyring(e.to_string())),
        }
    }

    /// The users of this device, for the login screen.
    pub fn users(&self) -> Vec<UserSummary> {
        self.file
            .slots
            .values()
            .map(|s| UserSummary {
                name: s.user.name.clone(),
                display_name: s.user.display_name.clone(),
                role: s.user.role.clone(),
                disabled: s.user.disabled || s.sealed_store_key.is_none(),
                locked: s.failures >= LOCK_AFTER,
            })
            .collect()
    }

    /// Whether `name` may still be logged in (not disabled, not removed by the hub).
    pub fn is_active(&self, name: &str) -> bool {
        self.file
            .slots
            .get(name)
            .is_some_and(|s| !s.user.disabled && s.sealed_store_key.is_some())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrong_tries_wait_five_ten_twenty_seconds_then_lock() {
        let waits: Vec<Option<i64>> = (0..=7)
            .map(|f| super::wait_after(f).map(|d| d.num_seconds()))
            .collect();
        assert_eq!(
            waits,
            [None, None, None, Some(5), Some(10), Some(20), None, None]
        );
    }

    use super::*;
    use crate::credential::tests::cheap;

    fn user(name: &str, secret: &str) -> DeviceUser {
        let (c, key) = UserCredential::create(secret).unwrap();
        DeviceUser {
            name: name.into(),
            display_name: format!("{name} display"),
            role: "nurse".into(),
            disabled: false,
            generation: 0,
            credential: cheap(c, &key, secret),
        }
    }

    #[test]
    fn the_right_secret_opens_the_store_key_and_the_file_holds_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cabinet.keys.json");
        let mut k = Keyring::load(&path).unwrap();
        let store_key = [0x5a_u8; 32];
        let out = k
            .apply_roster(
                &[user("mpetrova", "secret-1"), user("ivanov", "secret-2")],
                &store_key,
            )
            .unwrap();
        assert_eq!(out.added, vec!["mpetrova", "ivanov"]);
        let text = std::fs::read(&path).unwrap();
        assert!(!text.windows(32).any(|w| w == store_key));
        assert!(!String::from_utf8_lossy(&text).contains(&hex::encode(store_key)));
        let mut k = Keyring::load(&path).unwrap();
        let u = k.unlock("mpetrova", "secret-1", Utc::now()).unwrap();
        assert_eq!(u.store_key.as_slice(), store_key);
        assert_eq!(u.user.display_name, "mpetrova display");
        assert!(matches!(
            k.unlock("nobody", "secret-1", Utc::now()),
            Err(LoginError::UnknownUser(_))
        ));
    }

    #[test]
    fn wrong_tries_slow_down_then_lock_until_a_reset_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.keys.json");
        let mut k = Keyring::load(&path).unwrap();
        let u = user("mpetrova", "secret-1");
        k.apply_roster(std::slice::from_ref(&u), &[1; 32]).unwrap();
        let mut now = Utc::now();
        for left in [5, 4] {
            assert_eq!(
                k.unlock("mpetrova", "wrong-one", now).err(),
                Some(LoginError::WrongSecret { tries_left: left })
            );
        }
        // The third wrong try makes the next one wait 5 s, then 10 s, 20 s.
        assert_eq!(
            k.unlock("mpetrova", "wrong-one", now).err(),
            Some(LoginError::WrongSecret { tries_left: 3 })
        );
        assert_eq!(
            k.unlock("mpetrova", "secret-1", now).err(),
            Some(LoginError::Wait { seconds: 5 }),
            "even the right secret waits"
        );
        for wait in [10, 20] {
            now += Duration::seconds(61);
            assert!(matches!(
                k.unlock("mpetrova", "wrong-one", now),
                Err(LoginError::WrongSecret { .. })
            ));
            assert_eq!(
                k.unlock("mpetrova", "x", now).err(),
                Some(LoginError::Wait { seconds: wait })
            );
        }
        now += Duration::seconds(61);
        assert_eq!(
            k.unlock("mpetrova", "wrong-one", now).err(),
            Some(LoginError::Locked("mpetrova".into()))
        );
        now += Duration::days(3);
        // Locked survives reopening the keyring and the right secret.
        let mut k = Keyring::load(&path).unwrap();
        assert_eq!(
            k.unlock("mpetrova", "secret-1", now).err(),
            Some(LoginError::Locked("mpetrova".into()))
        );
        assert!(k.users()[0].locked);
        // The same roster again changes nothing; a reset (higher generation) unlocks.
        k.apply_roster(std::slice::from_ref(&u), &[1; 32]).unwrap();
        assert!(k.unlock("mpetrova", "secret-1", now).is_err());
        let reset = DeviceUser { generation: 1, ..u };
        k.apply_roster(&[reset], &[1; 32]).unwrap();
        assert!(k.unlock("mpetrova", "secret-1", now).is_ok());
    }

    #[test]
    fn the_same_roster_again_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.keys.json");
        let mut k = Keyring::load(&path).unwrap();
        let u = user("a", "secret-a1");
        k.apply_roster(std::slice::from_ref(&u), &[7; 32]).unwrap();
        let before = std::fs::read(&path).unwrap();
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let out = k.apply_roster(std::slice::from_ref(&u), &[7; 32]).unwrap();
        assert_eq!(out, RosterOutcome::default());
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            written
        );
        // A change (disabled) is written.
        k.apply_roster(
            &[DeviceUser {
                disabled: true,
                ..u
            }],
            &[7; 32],
        )
        .unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn twenty_parallel_wrong_tries_are_counted_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.keys.json");
        let u = user("mpetrova", "secret-1");
        Keyring::load(&path)
            .unwrap()
            .apply_roster(std::slice::from_ref(&u), &[1; 32])
            .unwrap();
        // Twenty logins at once, each with its keyring as it was read (as two processes, or
        // two calls of the app, would have): only the free tries are checked.
        let start = std::sync::Barrier::new(20);
        let now = Utc::now();
        let answers: Vec<LoginError> = std::thread::scope(|s| {
            let tries: Vec<_> = (0..20)
                .map(|_| {
                    s.spawn(|| {
                        let mut k = Keyring::load(&path).unwrap();
                        start.wait();
                        k.unlock("mpetrova", "wrong-one", now).err().unwrap()
                    })
                })
                .collect();
            tries.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let checked = answers
            .iter()
            .filter(|a| matches!(a, LoginError::WrongSecret { .. }))
            .count();
        assert_eq!(checked, 3, "{answers:?}");
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, LoginError::WrongSecret { .. } | LoginError::Wait { .. })),
            "{answers:?}"
        );
        // The count on disk is the count of checks: the next wrong tries lock after three more.
        let mut k = Keyring::load(&path).unwrap();
        let mut t = now;
        for _ in 0..3 {
            t += Duration::seconds(61);
            assert!(k.unlock("mpetrova", "wrong-one", t).is_err());
        }
        assert_eq!(
            k.unlock("mpetrova", "secret-1", t + Duration::hours(1))
                .err(),
            Some(LoginError::Locked("mpetrova".into()))
        );
    }

    #[test]
    fn a_disabled_user_loses_their_sealed_key_and_cannot_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.keys.json");
        let mut k = Keyring::load(&path).unwrap();
        let a = user("a", "secret-a1");
        let b = user("b", "secret-b1");
        k.apply_roster(&[a.clone(), b.clone()], &[7; 32]).unwrap();
        let out = k
            .apply_roster(
                &[DeviceUser {
                    disabled: true,
                    ..a
                }],
                &[7; 32],
            )
            .unwrap();
        assert_eq!(out.removed, vec!["b", "a"]);
        assert!(!k.is_active("a") && !k.is_active("b"));
        assert_eq!(
            k.unlock("a", "secret-a1", Utc::now()).err(),
            Some(LoginError::Disabled("a".into()))
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("\"sealed_store_key\": \""), "{text}");
    }
}
