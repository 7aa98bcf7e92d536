//! Users, their cabinets and their web sessions: password hashes, device credentials, wrong
//! sign-ins, and the sessions that end when a user is disabled or given a new password. Every
//! admin change is written with its entry in the hub's audit chain.

use crate::storage::{
    Device, DeviceSecret, HubError, LoginRecord, NewSecrets, SignInTry, StaffUser, UserRecord,
    UserSecrets, display_key,
};
use chrono::{DateTime, Utc};
use kabinet_core::AuditAction;
use kabinet_store::{Origin, Store};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use zeroize::Zeroizing;

fn parse_time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// An admin's change to users and its entries in the hub's audit chain, in one transaction,
/// as `by`'s. `change` checks before it writes: its error leaves nothing written.
fn admin_change<T>(
    store: &mut Store,
    by: &str,
    change: impl FnOnce(&Connection) -> Result<(T, Vec<AdminEntry>), HubError>,
) -> Result<T, HubError> {
    store.set_audit_user(Some(by.to_string()));
    let out = store.write(Origin::Local, |w| {
        Ok(match change(w.extension_sql()) {
            Ok((value, entries)) => {
                for entry in entries {
                    w.audit(entry.action, &entry.login, &entry.what)?;
                }
                Ok(value)
            }
            Err(e) => Err(e),
        })
    });
    store.set_audit_user(None);
    out?
}

/// One admin change as the chain records it: the action, the user's login (their stable id,
/// never changed or reused) and what changed.
struct AdminEntry {
    action: AuditAction,
    login: String,
    what: String,
}

impl AdminEntry {
    fn new(action: AuditAction, login: &str, what: impl Into<String>) -> AdminEntry {
        AdminEntry {
            action,
            login: login.into(),
            what: what.into(),
        }
    }
}

fn cabinets_of(c: &Connection, name: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached("SELECT cabinet FROM hub_user_cabinet WHERE user_name = ?1 ORDER BY cabinet")?
        .query_map([name], |r| r.get(0))?
        .collect()
}

fn set_cabinets(c: &Connection, name: &str, cabinets: &[String]) -> rusqlite::Result<()> {
    c.execute("DELETE FROM hub_user_cabinet WHERE user_name = ?1", [name])?;
    for cabinet in cabinets {
        c.execute(
            "INSERT OR IGNORE INTO hub_user_cabinet (user_name, cabinet) VALUES (?1, ?2)",
            params![name, cabinet],
        )?;
    }
    Ok(())
}

fn no_such_user(c: &Connection, name: &str) -> Result<(), HubError> {
    let exists = c
        .prepare_cached("SELECT 1 FROM hub_user WHERE name = ?1")?
        .exists([name])?;
    if exists {
        Ok(())
    } else {
        Err(HubError::NoSuchUser(name.into()))
    }
}

pub(super) fn add_user(
    store: &mut Store,
    user: &StaffUser,
    cabinets: &[String],
    secrets: &NewSecrets<'_>,
    by: &str,
) -> Result<(), HubError> {
    let credential = secrets
        .device
        .as_ref()
        .map(|d| serde_json::to_string(d.credential).expect("a credential serialises"));
    let secret_key = secrets.device.as_ref().map(|d| d.secret_key.to_vec());
    admin_change(store, by, |c| {
        // Every user ever added counts: their name is on records and in the audit log.
        let key = display_key(&user.display_name);
        let taken: Option<String> = c
            .prepare("SELECT name, display_name FROM hub_user")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .filter_map(Result::ok)
            .find(|(_, d)| display_key(d) == key)
            .map(|(name, _)| name);
        if let Some(login) = taken {
            return Err(HubError::DisplayNameTaken {
                display_name: user.display_name.clone(),
                login,
            });
        }
        let n = c.execute(
            "INSERT INTO hub_user (name, display_name, role, password_hash, created_at,
                                   credential, secret_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(name) DO NOTHING",
            params![
                user.name,
                user.display_name,
                user.role,
                // Empty: no web password (the column predates users of devices only).
                secrets.password_hash.unwrap_or(""),
                Utc::now().to_rfc3339(),
                credential,
                secret_key,
            ],
        )?;
        if n == 0 {
            return Err(HubError::UserExists(user.name.clone()));
        }
        set_cabinets(c, &user.name, cabinets)?;
        let mut what = format!("user/{}", user.role);
        if !cabinets.is_empty() {
            what.push_str(&format!(" @ {}", cabinets.join(",")));
        }
        Ok((
            (),
            vec![AdminEntry::new(AuditAction::AddUser, &user.name, what)],
        ))
    })
}

pub(super) fn users(store: &Store) -> Result<Vec<UserRecord>, HubError> {
    let c = store.extension_sql();
    let mut out: Vec<UserRecord> = c
        .prepare(
            "SELECT u.name, u.display_name, u.role, u.disabled_at IS NOT NULL, u.generation,
                    COALESCE(s.failures, 0), u.password_hash != '', u.credential IS NOT NULL
             FROM hub_user u LEFT JOIN hub_sign_in s ON s.name = u.name ORDER BY u.name",
        )?
        .query_map([], |r| {
            Ok(UserRecord {
                user: StaffUser {
                    name: r.get(0)?,
                    display_name: r.get(1)?,
                    role: r.get(2)?,
                },
                cabinets: Vec::new(),
                disabled: r.get(3)?,
                generation: r.get(4)?,
                failed_logins: r.get(5)?,
                web_sign_in: r.get(6)?,
                on_devices: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    for u in &mut out {
        u.cabinets = cabinets_of(c, &u.user.name)?;
    }
    Ok(out)
}

pub(super) fn set_disabled(
    store: &mut Store,
    name: &str,
    disabled: bool,
    by: &str,
) -> Result<(), HubError> {
    admin_change(store, by, |c| {
        let n = c.execute(
            "UPDATE hub_user SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END
             WHERE name = ?1",
            params![name, disabled, Utc::now().to_rfc3339()],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        if disabled {
            c.execute("DELETE FROM hub_session WHERE user_name = ?1", [name])?;
        }
        let action = if disabled {
            AuditAction::DisableUser
        } else {
            AuditAction::EnableUser
        };
        Ok(((), vec![AdminEntry::new(action, name, "user")]))
    })
}

pub(super) fn user_secrets(store: &Store, name: &str) -> Result<UserSecrets, HubError> {
    let c = store.extension_sql();
    let found = c
        .query_row(
            "SELECT password_hash, credential, secret_key, role FROM hub_user WHERE name = ?1",
            [name],
            |r| {
                // The key's bytes are wiped once copied out (and the copy, when dropped).
                let key: Option<Zeroizing<Vec<u8>>> =
                    r.get::<_, Option<Vec<u8>>>(2)?.map(Zeroizing::new);
                Ok(UserSecrets {
                    // Empty: no web password.
                    password_hash: Some(r.get::<_, String>(0)?).filter(|h| !h.is_empty()),
                    credential: r
                        .get::<_, Option<String>>(1)?
                        .and_then(|c| serde_json::from_str(&c).ok()),
                    secret_key: key
                        .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
                        .map(Zeroizing::new),
                    cabinets: Vec::new(),
                    role: r.get(3)?,
                })
            },
        )
        .optional()?;
    let Some(mut secrets) = found else {
        return Err(HubError::NoSuchUser(name.into()));
    };
    secrets.cabinets = cabinets_of(c, name)?;
    Ok(secrets)
}

pub(super) fn set_web_password(
    store: &mut Store,
    name: &str,
    password_hash: &str,
    by: &str,
) -> Result<(), HubError> {
    admin_change(store, by, |c| {
        let n = c.execute(
            "UPDATE hub_user SET password_hash = ?2 WHERE name = ?1",
            params![name, password_hash],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        c.execute("DELETE FROM hub_sign_in WHERE name = ?1", [name])?;
        c.execute("DELETE FROM hub_session WHERE user_name = ?1", [name])?;
        Ok((
            (),
            vec![AdminEntry::new(AuditAction::ResetSecret, name, "user/web")],
        ))
    })
}

pub(super) fn set_device_secret(
    store: &mut Store,
    name: &str,
    device: &DeviceSecret<'_>,
    by: &str,
) -> Result<(), HubError> {
    let credential = serde_json::to_string(device.credential).expect("a credential serialises");
    admin_change(store, by, |c| {
        let n = c.execute(
            "UPDATE hub_user SET credential = ?2, secret_key = ?3, generation = generation + 1
             WHERE name = ?1",
            params![name, credential, device.secret_key.to_vec()],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        Ok((
            (),
            vec![AdminEntry::new(
                AuditAction::ResetSecret,
                name,
                "user/device",
            )],
        ))
    })
}

pub(super) fn edit_user(
    store: &mut Store,
    name: &str,
    role: Option<&str>,
    cabinets: Option<&[String]>,
    by: &str,
) -> Result<(), HubError> {
    admin_change(store, by, |c| {
        no_such_user(c, name)?;
        let mut entries = Vec::new();
        if let Some(role) = role {
            let before: String =
                c.query_row("SELECT role FROM hub_user WHERE name = ?1", [name], |r| {
                    r.get(0)
                })?;
            if before != role {
                c.execute(
                    "UPDATE hub_user SET role = ?2 WHERE name = ?1",
                    params![name, role],
                )?;
                entries.push(AdminEntry::new(
                    AuditAction::ChangeRole,
                    name,
                    format!("user/{before}→{role}"),
                ));
            }
        }
        if let Some(cabinets) = cabinets {
            let before = cabinets_of(c, name)?;
            let mut after = cabinets.to_vec();
            after.sort();
            after.dedup();
            if before != after {
                set_cabinets(c, name, &after)?;
                entries.push(AdminEntry::new(
                    AuditAction::ChangeCabinets,
                    name,
                    format!("user/{}→{}", before.join(","), after.join(",")),
                ));
            }
        }
        Ok(((), entries))
    })
}

pub(super) fn roster(
    store: &Store,
    device: &Device,
) -> Result<Vec<kabinet_keys::DeviceUser>, HubError> {
    let mut stmt = store.extension_sql().prepare(
        "SELECT u.name, u.display_name, u.role, u.disabled_at IS NOT NULL, u.generation,
                u.credential
         FROM hub_user u JOIN hub_user_cabinet c ON c.user_name = u.name
         WHERE c.cabinet = ?1 AND u.credential IS NOT NULL ORDER BY u.name",
    )?;
    let rows = stmt.query_map([&device.cabinet], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, display_name, role, disabled, generation, credential) = row?;
        let Some(r) = kabinet_core::Role::parse(&role) else {
            continue;
        };
        if !device.roles.contains(&r) {
            continue;
        }
        let Ok(credential) = serde_json::from_str(&credential) else {
            tracing::error!(user = %name, "unreadable credential; give the user a new PIN");
            continue;
        };
        out.push(kabinet_keys::DeviceUser {
            name,
            display_name,
            role,
            disabled,
            generation,
            credential,
        });
    }
    Ok(out)
}

pub(super) fn user_for_login(store: &Store, name: &str) -> Result<Option<LoginRecord>, HubError> {
    Ok(store
        .extension_sql()
        .query_row(
            "SELECT name, display_name, role, password_hash
             FROM hub_user WHERE name = ?1 AND disabled_at IS NULL",
            [name],
            |r| {
                Ok(LoginRecord {
                    user: StaffUser {
                        name: r.get(0)?,
                        display_name: r.get(1)?,
                        role: r.get(2)?,
                    },
                    // An empty hash: no web password (a user of devices only).
                    password_hash: Some(r.get::<_, String>(3)?).filter(|h| !h.is_empty()),
                })
            },
        )
        .optional()?)
}

pub(super) fn reserve_sign_in(
    store: &Store,
    name: &str,
    now: DateTime<Utc>,
    lock_after: u32,
    wait_after: &dyn Fn(u32) -> Option<chrono::Duration>,
) -> Result<SignInTry, HubError> {
    // Immediate: a `kabinet-hub users reset` in another process cannot slip between the read
    // and the count.
    let tx = Transaction::new_unchecked(store.extension_sql(), TransactionBehavior::Immediate)?;
    let (failures, next_try_at): (u32, Option<DateTime<Utc>>) = tx
        .query_row(
            "SELECT failures, next_try_at FROM hub_sign_in WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, parse_time(r.get(1)?))),
        )
        .optional()?
        .unwrap_or((0, None));
    let answer = if failures >= lock_after {
        SignInTry::Locked
    } else if let Some(until) = next_try_at.filter(|t| now < *t) {
        SignInTry::Wait { until }
    } else {
        let failures = failures + 1;
        let next = wait_after(failures).map(|wait| (now + wait).to_rfc3339());
        tx.execute(
            "INSERT INTO hub_sign_in (name, failures, next_try_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET failures = excluded.failures,
                                             next_try_at = excluded.next_try_at",
            params![name, failures, next],
        )?;
        SignInTry::Counted { failures }
    };
    tx.commit()?;
    Ok(answer)
}

pub(super) fn sign_in_succeeded(store: &Store, name: &str) -> Result<(), HubError> {
    store
        .extension_sql()
        .execute("DELETE FROM hub_sign_in WHERE name = ?1", [name])?;
    Ok(())
}

pub(super) fn create_session(
    store: &Store,
    token_hash: [u8; 32],
    user: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), HubError> {
    let c = store.extension_sql();
    c.execute(
        "DELETE FROM hub_session WHERE expires_at < ?1",
        [Utc::now().to_rfc3339()],
    )?;
    c.execute(
        "INSERT INTO hub_session (token_hash, user_name, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash.to_vec(), user, expires_at.to_rfc3339()],
    )?;
    Ok(())
}

pub(super) fn session_user(
    store: &Store,
    token_hash: [u8; 32],
) -> Result<Option<StaffUser>, HubError> {
    Ok(store
        .extension_sql()
        .query_row(
            "SELECT u.name, u.display_name, u.role FROM hub_session s
             JOIN hub_user u ON u.name = s.user_name
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
            params![token_hash.to_vec(), Utc::now().to_rfc3339()],
            |r| {
                Ok(StaffUser {
                    name: r.get(0)?,
                    display_name: r.get(1)?,
                    role: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn end_session(store: &Store, token_hash: [u8; 32]) -> Result<(), HubError> {
    store.extension_sql().execute(
        "DELETE FROM hub_session WHERE token_hash = ?1",
        [token_hash.to_vec()],
    )?;
    Ok(())
}
