//! Managing users, the same from the command line and from the admin's web screen: add,
//! disable, enable, reset. A user's password signs them in to the web UI and, through the
//! credential that devices receive by sync, logs them in on a device offline.

use crate::storage::{HubError, HubStorage, StaffUser};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use kabinet_core::{Lang, Role};
use kabinet_keys::{KeyError, UserCredential, UserSecretKey};

#[derive(Debug, thiserror::Error)]
pub enum UserAdminError {
    #[error("name: the login name must be one word of letters, digits, . _ or -, e.g. mpetrova")]
    Name,
    #[error("display_name: give the name shown on records, e.g. Мария Петрова")]
    DisplayName,
    #[error("role: {0:?} is not a role; one of {roles}", roles = role_list())]
    Role(String),
    #[error("password: at least {min} characters", min = kabinet_keys::MIN_SECRET_CHARS)]
    Password,
    /// Hashing the password for the web UI failed (argon2 refused its parameters or salt).
    #[error("the password could not be hashed: {0}")]
    PasswordHash(argon2::password_hash::Error),
    /// Making or wrapping the user's device credential failed.
    #[error("the user's credential could not be made: {0}")]
    Credential(KeyError),
    #[error(transparent)]
    Hub(#[from] HubError),
}

/// Every role, as typed: "nurse, doctor, …" (core's list, so a new role appears here too).
pub fn role_list() -> String {
    Role::ALL
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl UserAdminError {
    /// The form field at fault, for the web UI.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            UserAdminError::Name | UserAdminError::Hub(HubError::UserExists(_)) => Some("name"),
            UserAdminError::DisplayName
            | UserAdminError::Hub(HubError::DisplayNameTaken { .. }) => Some("display_name"),
            UserAdminError::Role(_) => Some("role"),
            UserAdminError::Password => Some("password"),
            UserAdminError::PasswordHash(_)
            | UserAdminError::Credential(_)
            | UserAdminError::Hub(_) => None,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return match self {
                UserAdminError::Hub(HubError::DisplayNameTaken { login, .. }) => format!(
                    "display_name: already the name of {login}; add a middle name or an initial to tell them apart"
                ),
                other => other.to_string(),
            };
        }
        match self {
            UserAdminError::Name => {
                "Потребителско име: една дума от латински букви, цифри, . _ или -, напр. mpetrova"
                    .into()
            }
            UserAdminError::DisplayName => {
                "Име за документите: задължително, напр. Мария Петрова".into()
            }
            UserAdminError::Role(r) => format!("Роля: „{r}“ не е роля; изберете от списъка"),
            UserAdminError::Password => {
                format!("Парола/ПИН: поне {} знака", kabinet_keys::MIN_SECRET_CHARS)
            }
            UserAdminError::Hub(HubError::UserExists(n)) => {
                format!("Потребителско име: „{n}“ вече съществува")
            }
            UserAdminError::Hub(HubError::DisplayNameTaken { login, .. }) => format!(
                "Име за документите: вече е на потребителя {login}; добавете презиме или инициал, за да се различават"
            ),
            UserAdminError::Hub(HubError::NoSuchUser(n)) => format!("Няма потребител „{n}“"),
            UserAdminError::PasswordHash(e) => format!("Паролата не можа да се хешира: {e}"),
            UserAdminError::Credential(e) => {
                format!("Ключовете на потребителя не можаха да се създадат: {e}")
            }
            UserAdminError::Hub(e) => format!("Хъбът не можа да запише: {e}"),
        }
    }
}

/// A login name: one word of ASCII letters, digits, `.`, `_` or `-`, up to 64 characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn secret_error(e: KeyError) -> UserAdminError {
    match e {
        KeyError::TooShort { .. } => UserAdminError::Password,
        other => UserAdminError::Credential(other),
    }
}

fn password_hash(password: &str) -> Result<String, UserAdminError> {
    hash_password(password).map_err(UserAdminError::PasswordHash)
}

/// Who changes users, as the hub's audit chain records them.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A hub admin at the web UI.
    Admin(&'a StaffUser),
    /// Someone at the hub's command line (`kabinet-hub users …`).
    Console,
}

impl Actor<'_> {
    /// The audit entry's user: an admin's display name (unique, shown with their login), or
    /// `console:` and the operating system's user who ran the command.
    pub fn recorded(&self) -> String {
        match self {
            Actor::Admin(user) => user.display_name.clone(),
            Actor::Console => {
                let os_user = std::env::var("SUDO_USER")
                    .or_else(|_| std::env::var("USER"))
                    .unwrap_or_else(|_| "?".into());
                format!("console:{os_user}")
            }
        }
    }
}

/// Adds a user; every field is checked before anything is written.
pub fn add(
    hub: &dyn HubStorage,
    name: &str,
    display_name: &str,
    role: &str,
    password: &str,
    by: Actor<'_>,
) -> Result<StaffUser, UserAdminError> {
    let name = name.trim();
    if !valid_name(name) {
        return Err(UserAdminError::Name);
    }
    if display_name.trim().is_empty() {
        return Err(UserAdminError::DisplayName);
    }
    if Role::parse(role.trim()).is_none() {
        return Err(UserAdminError::Role(role.trim().into()));
    }
    kabinet_keys::check_secret(password).map_err(secret_error)?;
    let (credential, key) = UserCredential::create(password).map_err(secret_error)?;
    let user = StaffUser {
        name: name.into(),
        display_name: display_name.trim().into(),
        role: role.trim().into(),
    };
    hub.add_user(
        &user,
        &password_hash(password)?,
        &credential,
        &key.to_bytes(),
        &by.recorded(),
    )?;
    tracing::info!(user = %user.name, role = %user.role, "user added");
    Ok(user)
}

/// A new password for a user: the same key pair wrapped anew (devices that hold the store key
/// sealed to this user need nothing else), wrong tries cleared everywhere at the next sync.
pub fn reset(
    hub: &dyn HubStorage,
    name: &str,
    password: &str,
    by: Actor<'_>,
) -> Result<(), UserAdminError> {
    kabinet_keys::check_secret(password).map_err(secret_error)?;
    let key = match hub.user_secret_key(name)? {
        Some(bytes) => UserSecretKey::from_bytes(bytes),
        // Added before devices had logins: a first key pair now.
        None => UserCredential::create(password).map_err(secret_error)?.1,
    };
    let credential = UserCredential::wrap(&key, password).map_err(secret_error)?;
    hub.reset_user(
        name,
        &password_hash(password)?,
        &credential,
        &key.to_bytes(),
        &by.recorded(),
    )?;
    tracing::info!(user = %name, "user reset");
    Ok(())
}

pub fn set_disabled(
    hub: &dyn HubStorage,
    name: &str,
    disabled: bool,
    by: Actor<'_>,
) -> Result<(), UserAdminError> {
    hub.set_disabled(name, disabled, &by.recorded())?;
    tracing::info!(user = %name, disabled, "user disabled/enabled");
    Ok(())
}

/// An argon2id hash (PHC string) of a password, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}
