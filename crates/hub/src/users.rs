//! Managing users, the same from the command line and from the admin's web screen: add,
//! edit (role, cabinets), disable, enable, new secrets. A user has up to two secrets, never the
//! same: a web password (an argon2 hash at the hub) for the hub's web UI, and a device PIN that
//! wraps the credential the devices of the user's cabinets receive by sync, to log in offline.
//! A user of no cabinet is on no device.

use crate::storage::{
    DeviceSecret, HubError, HubStorage, NewSecrets, SecretKind, StaffUser, UserSecrets,
};
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
    #[error("cabinets: {0:?} is not a cabinet's name (up to 100 characters, no commas)")]
    Cabinet(String),
    #[error(
        "cabinets: a {0} works at the hub's web UI and belongs to no cabinet; leave cabinets empty"
    )]
    NoCabinets(String),
    #[error(
        "password: the web password and the device PIN must differ (the PIN's wrapped key is on every tablet of the user's cabinets)"
    )]
    SameSecret,
    #[error(
        "secret: this user has a web password and a device PIN; say which to replace (web or device)"
    )]
    WhichSecret,
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
            UserAdminError::Password | UserAdminError::SameSecret => Some("password"),
            UserAdminError::Cabinet(_) | UserAdminError::NoCabinets(_) => Some("cabinets"),
            UserAdminError::WhichSecret => Some("secret"),
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
            UserAdminError::Cabinet(c) => format!(
                "Кабинети: „{c}“ не е име на кабинет (до 100 знака, без запетаи)"
            ),
            UserAdminError::NoCabinets(r) => format!(
                "Кабинети: ролята „{r}“ работи в уеб интерфейса на Хъба и не е към кабинет; оставете кабинетите празни"
            ),
            UserAdminError::SameSecret => "Парола/ПИН: паролата за уеб и ПИН-ът за устройствата трябва да са различни (ключът на ПИН-а е на всеки таблет на кабинетите му)".into(),
            UserAdminError::WhichSecret => "Кое да се смени: потребителят има и парола за уеб, и ПИН за устройствата; изберете едното".into(),
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

/// The cabinets as typed (trimmed, each once, in order); an empty or odd name is refused.
fn cabinet_list(cabinets: &[String]) -> Result<Vec<String>, UserAdminError> {
    let mut out: Vec<String> = Vec::new();
    for c in cabinets {
        let c = c.trim();
        if c.is_empty()
            || c.chars().count() > 100
            || c.contains(',')
            || c.chars().any(char::is_control)
        {
            return Err(UserAdminError::Cabinet(c.into()));
        }
        if !out.iter().any(|o| o == c) {
            out.push(c.into());
        }
    }
    out.sort();
    Ok(out)
}

fn role_of(role: &str) -> Result<String, UserAdminError> {
    match Role::parse(role.trim()) {
        Some(r) => Ok(r.as_str().into()),
        None => Err(UserAdminError::Role(role.trim().into())),
    }
}

/// A device credential for `secret`: the user's key pair (a new one if they have none yet)
/// wrapped by it.
fn device_credential(
    key: Option<UserSecretKey>,
    secret: &str,
) -> Result<(UserCredential, UserSecretKey), UserAdminError> {
    match key {
        Some(key) => Ok((
            UserCredential::wrap(&key, secret).map_err(secret_error)?,
            key,
        )),
        None => UserCredential::create(secret).map_err(secret_error),
    }
}

/// Adds a user; every field is checked before anything is written. `secret` is the user's
/// device PIN when they belong to cabinets (they log in on those cabinets' devices; a web
/// password of their own can be given later), else their web password (hub staff).
pub fn add(
    hub: &dyn HubStorage,
    name: &str,
    display_name: &str,
    role: &str,
    cabinets: &[String],
    secret: &str,
    by: Actor<'_>,
) -> Result<StaffUser, UserAdminError> {
    let name = name.trim();
    if !valid_name(name) {
        return Err(UserAdminError::Name);
    }
    if display_name.trim().is_empty() {
        return Err(UserAdminError::DisplayName);
    }
    let role = role_of(role)?;
    let cabinets = cabinet_list(cabinets)?;
    // The programme manager reads no record: no device of a cabinet is for them.
    if role == Role::ProgrammeManager.as_str() && !cabinets.is_empty() {
        return Err(UserAdminError::NoCabinets(role));
    }
    kabinet_keys::check_secret(secret).map_err(secret_error)?;
    let user = StaffUser {
        name: name.into(),
        display_name: display_name.trim().into(),
        role,
    };
    if cabinets.is_empty() {
        let hash = password_hash(secret)?;
        let secrets = NewSecrets {
            password_hash: Some(&hash),
            device: None,
        };
        hub.add_user(&user, &cabinets, &secrets, &by.recorded())?;
    } else {
        let (credential, key) = device_credential(None, secret)?;
        let secret_key = key.to_bytes();
        let secrets = NewSecrets {
            password_hash: None,
            device: Some(DeviceSecret {
                credential: &credential,
                secret_key: &secret_key,
            }),
        };
        hub.add_user(&user, &cabinets, &secrets, &by.recorded())?;
    }
    tracing::info!(user = %user.name, role = %user.role, cabinets = cabinets.len(), "user added");
    Ok(user)
}

/// Which secret a reset replaces when the admin does not say: the one the user has; for a
/// user with neither, the PIN if they belong to cabinets, else the web password.
fn secret_to_reset(held: &UserSecrets) -> Result<SecretKind, UserAdminError> {
    match (held.password_hash.is_some(), held.credential.is_some()) {
        (true, true) => Err(UserAdminError::WhichSecret),
        (true, false) => Ok(SecretKind::Web),
        (false, true) => Ok(SecretKind::Device),
        (false, false) if held.cabinets.is_empty() => Ok(SecretKind::Web),
        (false, false) => Ok(SecretKind::Device),
    }
}

/// A new web password or device PIN for a user (see [`secret_to_reset`] when `kind` is not
/// given). It may not be the user's other secret. A new PIN wraps the same key pair (devices
/// that sealed their store key to this user need nothing else) and clears wrong tries on
/// devices at their next sync; a new web password clears wrong sign-ins and ends web sessions.
pub fn reset(
    hub: &dyn HubStorage,
    name: &str,
    secret: &str,
    kind: Option<SecretKind>,
    by: Actor<'_>,
) -> Result<SecretKind, UserAdminError> {
    kabinet_keys::check_secret(secret).map_err(secret_error)?;
    let held = hub.user_secrets(name)?;
    let kind = match kind {
        Some(kind) => kind,
        None => secret_to_reset(&held)?,
    };
    match kind {
        SecretKind::Web => {
            if let Some(credential) = &held.credential
                && credential.unlock(secret).is_ok()
            {
                return Err(UserAdminError::SameSecret);
            }
            hub.set_web_password(name, &password_hash(secret)?, &by.recorded())?;
        }
        SecretKind::Device => {
            if let Some(hash) = &held.password_hash
                && password_matches(secret, hash)
            {
                return Err(UserAdminError::SameSecret);
            }
            let key = held
                .secret_key
                .as_ref()
                .map(|k| UserSecretKey::from_bytes(**k));
            let (credential, key) = device_credential(key, secret)?;
            let secret_key = key.to_bytes();
            let device = DeviceSecret {
                credential: &credential,
                secret_key: &secret_key,
            };
            hub.set_device_secret(name, &device, &by.recorded())?;
        }
    }
    tracing::info!(user = %name, secret = kind.as_str(), "user given a new secret");
    Ok(kind)
}

/// Changes a user's role and/or cabinets. Devices learn both at their next sync: a device of
/// a cabinet the user left forgets them.
pub fn edit(
    hub: &dyn HubStorage,
    name: &str,
    role: Option<&str>,
    cabinets: Option<&[String]>,
    by: Actor<'_>,
) -> Result<(), UserAdminError> {
    let role = role.map(role_of).transpose()?;
    let cabinets = cabinets.map(cabinet_list).transpose()?;
    hub.edit_user(name, role.as_deref(), cabinets.as_deref(), &by.recorded())?;
    tracing::info!(user = %name, "user edited");
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
