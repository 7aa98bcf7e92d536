//! Users, their cabinets and their web sessions: password hashes, device credentials, wrong
//! sign-ins, and the sessions that end when a user is disabled or given a new password. Every
//! admin change is written with its entry in the hub's audit chain.

use crate::storage::{
    Device, DeviceSecret, HubError, LoginRecord, NewSecrets, SignInTry, StaffUser, UserRecord,
    UserSecrets, display_key,
};
use chrono::{DateTime, Utc};
use kabinet_core::AuditAction;
use kabinet_store::sql::{Dialect, Sql, SqlError, SqlExt};
use kabinet_store::{Origin, Store};
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
    change: impl FnOnce(&dyn Sql) -> Result<(T, Vec<AdminEntry>), HubError>,
) -> Result<T, HubError> {
    store.set_audit_user(Some(by.to_string()));
    let out = store.write(Origin::Local, |w| {
        Ok(match change(w.sql()) {
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

fn cabinets_of(c: &dyn Sql, name: &str) -> Result<Vec<String>, SqlError> {
    c.rows(
        "SELECT cabinet FROM hub_user_cabinet WHERE user_name = ?1 ORDER BY cabinet",
        &[&name],
        |r| r.get(0),
    )
}

fn set_cabinets(c: &dyn Sql, name: &str, cabinets: &[String]) -> Result<(), SqlError> {
    c.exec(
        "DELETE FROM hub_user_cabinet WHERE user_name = ?1",
        &[&name],
    )?;
    for cabinet in cabinets {
        c.exec(
            "INSERT INTO hub_user_cabinet (user_name, cabinet) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[&name, cabinet],
        )?;
    }
    Ok(())
}

fn no_such_user(c: &dyn Sql, name: &str) -> Result<(), HubError> {
    let exists = c
        .row("SELECT 1 FROM hub_user WHERE name = ?1", &[&name], |_| {
            Ok(())
        })?
        .is_some();
    if exists {
        Ok(())
    } else {
        Err(HubError::NoSuchUser(name.into()))
    }
}

pub(super) fn add_user(
    store: &mut Store,
    seal: Option<&super::seal::Seal>,
    user: &StaffUser,
    cabinets: &[String],
    secrets: &NewSecrets<'_>,
    by: &str,
) -> Result<(), HubError> {
    let credential = secrets
        .device
        .as_ref()
        .map(|d| serde_json::to_string(d.credential).expect("a credential serialises"));
    let secret_key = secrets
        .device
        .as_ref()
        .map(|d| super::seal::store_secret(seal, d.secret_key));
    admin_change(store, by, |c| {
        // Every user ever added counts: their name is on records and in the audit log.
        let key = display_key(&user.display_name);
        let taken: Option<String> = c
            .rows("SELECT name, display_name FROM hub_user", &[], |r| {
                Ok(match (r.get::<String>(0), r.get::<String>(1)) {
                    (Ok(name), Ok(display_name)) => Some((name, display_name)),
                    _ => None,
                })
            })?
            .into_iter()
            .flatten()
            .find(|(_, d)| display_key(d) == key)
            .map(|(name, _)| name);
        if let Some(login) = taken {
            return Err(HubError::DisplayNameTaken {
                display_name: user.display_name.clone(),
                login,
            });
        }
        let n = c.exec(
            "INSERT INTO hub_user (name, display_name, role, password_hash, created_at,
                                   credential, secret_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(name) DO NOTHING",
            &[
                &user.name,
                &user.display_name,
                &user.role,
                // Empty: no web password (the column predates users of devices only).
                &secrets.password_hash.unwrap_or(""),
                &Utc::now().to_rfc3339(),
                &credential,
                &secret_key,
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
    let c = store.sql();
    let mut out: Vec<UserRecord> = c.rows(
        "SELECT u.name, u.display_name, u.role, u.disabled_at IS NOT NULL, u.generation,
                COALESCE(s.failures, 0), u.password_hash != '', u.credential IS NOT NULL
         FROM hub_user u LEFT JOIN hub_sign_in s ON s.name = u.name ORDER BY u.name",
        &[],
        |r| {
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
        },
    )?;
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
        let n = c.exec(
            "UPDATE hub_user SET disabled_at = CASE WHEN ?2 THEN COALESCE(disabled_at, ?3) END
             WHERE name = ?1",
            &[&name, &disabled, &Utc::now().to_rfc3339()],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        if disabled {
            c.exec("DELETE FROM hub_session WHERE user_name = ?1", &[&name])?;
        }
        let action = if disabled {
            AuditAction::DisableUser
        } else {
            AuditAction::EnableUser
        };
        Ok(((), vec![AdminEntry::new(action, name, "user")]))
    })
}

pub(super) fn user_secrets(
    store: &Store,
    seal: Option<&super::seal::Seal>,
    name: &str,
) -> Result<UserSecrets, HubError> {
    let c = store.sql();
    let found = c.row(
        "SELECT password_hash, credential, secret_key, role FROM hub_user WHERE name = ?1",
        &[&name],
        |r| {
            // The key's bytes are wiped once copied out (and the copy, when dropped).
            let key: Option<Zeroizing<Vec<u8>>> = r.get::<Option<Vec<u8>>>(2)?.map(Zeroizing::new);
            Ok((
                UserSecrets {
                    // Empty: no web password.
                    password_hash: Some(r.get::<String>(0)?).filter(|h| !h.is_empty()),
                    credential: r
                        .get::<Option<String>>(1)?
                        .and_then(|c| serde_json::from_str(&c).ok()),
                    secret_key: None,
                    cabinets: Vec::new(),
                    role: r.get(3)?,
                },
                key,
            ))
        },
    )?;
    let Some((mut secrets, key)) = found else {
        return Err(HubError::NoSuchUser(name.into()));
    };
    secrets.secret_key = match key {
        Some(k) => super::seal::open_secret(seal, &k)?,
        None => None,
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
        let n = c.exec(
            "UPDATE hub_user SET password_hash = ?2 WHERE name = ?1",
            &[&name, &password_hash],
        )?;
        if n == 0 {
            return Err(HubError::NoSuchUser(name.into()));
        }
        c.exec("DELETE FROM hub_sign_in WHERE name = ?1", &[&name])?;
        c.exec("DELETE FROM hub_session WHERE user_name = ?1", &[&name])?;
        Ok((
            (),
            vec![AdminEntry::new(AuditAction::ResetSecret, name, "user/web")],
        ))
    })
}

pub(super) fn set_device_secret(
    store: &mut Store,
    seal: Option<&super::seal::Seal>,
    name: &str,
    device: &DeviceSecret<'_>,
    by: &str,
) -> Result<(), HubError> {
    let credential = serde_json::to_string(device.credential).expect("a credential serialises");
    admin_change(store, by, |c| {
        let n = c.exec(
            "UPDATE hub_user SET credential = ?2, secret_key = ?3, generation = generation + 1
             WHERE name = ?1",
            &[
                &name,
                &credential,
                &super::seal::store_secret(seal, device.secret_key),
            ],
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
                c.one("SELECT role FROM hub_user WHERE name = ?1", &[&name], |r| {
                    r.get(0)
                })?;
            if before != role {
                c.exec(
                    "UPDATE hub_user SET role = ?2 WHERE name = ?1",
                    &[&name, &role],
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
    let rows = store.sql().rows(
        "SELECT u.name, u.display_name, u.role, u.disabled_at IS NOT NULL, u.generation,
                u.credential
         FROM hub_user u JOIN hub_user_cabinet c ON c.user_name = u.name
         WHERE c.cabinet = ?1 AND u.credential IS NOT NULL ORDER BY u.name",
        &[&device.cabinet],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<bool>(3)?,
                r.get::<u32>(4)?,
                r.get::<String>(5)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (name, display_name, role, disabled, generation, credential) = row;
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
    Ok(store.sql().row(
        "SELECT name, display_name, role, password_hash
         FROM hub_user WHERE name = ?1 AND disabled_at IS NULL",
        &[&name],
        |r| {
            Ok(LoginRecord {
                user: StaffUser {
                    name: r.get(0)?,
                    display_name: r.get(1)?,
                    role: r.get(2)?,
                },
                // An empty hash: no web password (a user of devices only).
                password_hash: Some(r.get::<String>(3)?).filter(|h| !h.is_empty()),
            })
        },
    )?)
}

pub(super) fn reserve_sign_in(
    store: &mut Store,
    name: &str,
    now: DateTime<Utc>,
    lock_after: u32,
    wait_after: &dyn Fn(u32) -> Option<chrono::Duration>,
) -> Result<SignInTry, HubError> {
    // In a write (SQLite takes the write lock at its start; PostgreSQL locks the name's row
    // as it is read): a `kabinet-hub users reset` in another process cannot slip between the
    // read and the count.
    let read = match store.dialect() {
        Dialect::Sqlite => "SELECT failures, next_try_at FROM hub_sign_in WHERE name = ?1",
        Dialect::Postgres => {
            "SELECT failures, next_try_at FROM hub_sign_in WHERE name = ?1 FOR UPDATE"
        }
    };
    Ok(store.write(Origin::Local, |w| {
        let tx = w.sql();
        let (failures, next_try_at): (u32, Option<DateTime<Utc>>) = tx
            .row(read, &[&name], |r| Ok((r.get(0)?, parse_time(r.get(1)?))))?
            .unwrap_or((0, None));
        let answer = if failures >= lock_after {
            SignInTry::Locked
        } else if let Some(until) = next_try_at.filter(|t| now < *t) {
            SignInTry::Wait { until }
        } else {
            let failures = failures + 1;
            let next = wait_after(failures).map(|wait| (now + wait).to_rfc3339());
            tx.exec(
                "INSERT INTO hub_sign_in (name, failures, next_try_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET failures = excluded.failures,
                                                 next_try_at = excluded.next_try_at",
                &[&name, &failures, &next],
            )?;
            SignInTry::Counted { failures }
        };
        Ok(answer)
    })?)
}

pub(super) fn sign_in_succeeded(store: &Store, name: &str) -> Result<(), HubError> {
    store
        .sql()
        .exec("DELETE FROM hub_sign_in WHERE name = ?1", &[&name])?;
    Ok(())
}

pub(super) fn create_session(
    store: &Store,
    token_hash: [u8; 32],
    user: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), HubError> {
    let c = store.sql();
    c.exec(
        "DELETE FROM hub_session WHERE expires_at < ?1",
        &[&Utc::now().to_rfc3339()],
    )?;
    c.exec(
        "INSERT INTO hub_session (token_hash, user_name, expires_at) VALUES (?1, ?2, ?3)",
        &[&token_hash, &user, &expires_at.to_rfc3339()],
    )?;
    Ok(())
}

pub(super) fn session_user(
    store: &Store,
    token_hash: [u8; 32],
) -> Result<Option<StaffUser>, HubError> {
    Ok(store.sql().row(
        "SELECT u.name, u.display_name, u.role FROM hub_session s
         JOIN hub_user u ON u.name = s.user_name
         WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
        &[&token_hash, &Utc::now().to_rfc3339()],
        |r| {
            Ok(StaffUser {
                name: r.get(0)?,
                display_name: r.get(1)?,
                role: r.get(2)?,
            })
        },
    )?)
}

pub(super) fn end_session(store: &Store, token_hash: [u8; 32]) -> Result<(), HubError> {
    store.sql().exec(
        "DELETE FROM hub_session WHERE token_hash = ?1",
        &[&token_hash],
    )?;
    Ok(())
}
