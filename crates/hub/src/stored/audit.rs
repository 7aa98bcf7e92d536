//! The devices' audit logs as they arrive (each continuing its device's hash chain), the
//! refusals, and the admin's view over both and the hub's own log.

use crate::storage::{AuditFilter, AuditRow, Device, HubError, Refusal};
use chrono::Utc;
use kabinet_core::audit::{ChainedEntry, GENESIS, to_hex, verify_chain};
use kabinet_store::sql::{Dialect, SqlExt};
use kabinet_store::{Origin, Store};

pub(super) fn push_audit(
    store: &mut Store,
    device: &Device,
    entries: &[ChainedEntry],
) -> Result<u64, HubError> {
    let mut outcome = Ok(0);
    store.write(Origin::Sync, |w| {
        let c = w.sql();
        let last: Option<(i64, Vec<u8>)> = c.row(
            "SELECT seq, hash FROM hub_audit WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
            &[&device.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (last_seq, last_hash) = match last {
            Some((seq, hash)) => (seq as u64, hash.try_into().unwrap_or(GENESIS)),
            None => (0, GENESIS),
        };
        // Entries the hub already holds (a replayed request) must be the same ones.
        let mut fresh = Vec::new();
        for e in entries {
            if e.entry.seq <= last_seq {
                let held: Option<Vec<u8>> = c.row(
                    "SELECT hash FROM hub_audit WHERE device_id = ?1 AND seq = ?2",
                    &[&device.id, &(e.entry.seq as i64)],
                    |r| r.get(0),
                )?;
                if held.map(|h| to_hex(&h.try_into().unwrap_or(GENESIS))) != Some(e.hash.clone())
                {
                    outcome = Err(kabinet_core::audit::ChainBreak::Content { seq: e.entry.seq });
                    break;
                }
            } else {
                fresh.push(e.clone());
            }
        }
        if outcome.is_ok() {
            match verify_chain(last_hash, last_seq, &fresh) {
                Ok(_) => {
                    let now = Utc::now().to_rfc3339();
                    for e in &fresh {
                        let decode = |h: &str| hex::decode(h).unwrap_or_default();
                        // `user` is a reserved word in PostgreSQL: the column is quoted, which
                        // SQLite reads alike.
                        c.exec(
                            "INSERT INTO hub_audit (device_id, seq, at, \"user\", device, action, record,
                                                    class, prev_hash, hash, received_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            &[
                                &device.id,
                                &(e.entry.seq as i64),
                                &e.entry.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                                &e.entry.user,
                                &e.entry.device,
                                &e.entry.action.as_str(),
                                &e.entry.record,
                                &e.entry.class,
                                &decode(&e.prev_hash),
                                &decode(&e.hash),
                                &now,
                            ],
                        )?;
                    }
                    outcome = Ok(fresh.last().map_or(last_seq, |e| e.entry.seq).max(last_seq));
                }
                Err(b) => outcome = Err(b),
            }
        }
        if let Err(b) = &outcome {
            // Recorded where the admin looks: the audit view lists refusals too.
            c.exec(
                "INSERT INTO hub_refusal (at, device_id, doc_id, class, action) VALUES (?1, ?2, NULL, ?3, 'audit_chain')",
                &[&Utc::now().to_rfc3339(), &device.id, &b.to_string()],
            )?;
        }
        Ok(())
    })?;
    outcome.map_err(|b| HubError::AuditChain {
        device: device.id.clone(),
        reason: b.to_string(),
    })
}

pub(super) fn record_refusal(store: &Store, refusal: &Refusal) -> Result<(), HubError> {
    store.sql().exec(
        "INSERT INTO hub_refusal (at, device_id, doc_id, class, action) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            &refusal.at.to_rfc3339(),
            &refusal.by,
            &refusal.doc_id.map(|id| id.as_bytes().to_vec()),
            &refusal.class,
            &refusal.action,
        ],
    )?;
    Ok(())
}

pub(super) fn audit(store: &Store, filter: &AuditFilter) -> Result<Vec<AuditRow>, HubError> {
    let db = store.sql();
    // Devices' entries, the hub's own (staff at the web UI, the CLI), and refusals, paged by
    // time in one query. The hub's own are the store's append-only audit log, only read here.
    // Each line's user is shown with the login of that display name (display names are unique
    // at the hub), so "Мария Петрова" reads as one person and can be found by either name.
    // `user` is a reserved word in PostgreSQL: the column is quoted, which SQLite reads alike.
    // A filter left out is a NULL parameter, typed by its CAST (PostgreSQL cannot tell the
    // type of a parameter first seen in `IS NULL`).
    // Typed filters match alike on both databases: both sides lowercased, ASCII letters only
    // (LIKE ignores ASCII case in SQLite only; `lower` folds ASCII alone in SQLite, and under
    // COLLATE "C" in PostgreSQL), and no escape character
    // (PostgreSQL's default is a backslash, which a typed filter may hold).
    let sql = "SELECT at, \"user\", login, device, action, record, class, source FROM (
            SELECT *, COALESCE(
                (SELECT {join_texts}(u.name, ', ') FROM hub_user u WHERE u.display_name = x.\"user\"),
                '') AS login
            FROM (
                SELECT at, \"user\", device, action, record, class, 'device' AS source FROM hub_audit
                UNION ALL
                SELECT at, \"user\", 'hub', action, record, class, 'hub' FROM audit_log
                UNION ALL
                SELECT at, '', device_id, 'refused', COALESCE({doc_id_hex}, ''), class,
                       'refusal'
                  FROM hub_refusal
            ) x
        ) AS line
        WHERE (CAST(?1 AS TEXT) IS NULL
               OR lower(\"user\") LIKE '%' || lower(?1{bytewise}) || '%' {no_escape}
               OR lower(login) LIKE '%' || lower(?1{bytewise}) || '%' {no_escape})
          AND (CAST(?2 AS TEXT) IS NULL OR device = ?2)
          AND (CAST(?3 AS TEXT) IS NULL
               OR lower(replace(record, '-', '')) LIKE lower(replace(?3, '-', ''){bytewise}) || '%' {no_escape})
          AND (CAST(?4 AS TEXT) IS NULL OR action = ?4)
          AND (CAST(?5 AS TEXT) IS NULL OR at >= ?5)
          AND (CAST(?6 AS TEXT) IS NULL OR at < ?6)
          {hidden}
        ORDER BY at DESC LIMIT ?7";
    // A line's class is `kind/class,class`, a class, or (an admin's act) `user/role @ cabinet`:
    // a class it is about is a whole word of it, in core's spelling. Whole words, so that a
    // cabinet called "Archive" does not hide a line for containing "hiv".
    let hidden: String = kabinet_core::AccessClass::ALL
        .iter()
        .filter(|c| **c != kabinet_core::AccessClass::General && !filter.shown_classes.contains(c))
        .map(|c| {
            format!(
                "AND (',' || lower(replace(replace(class, '/', ','), ' ', ',')) || ',') NOT LIKE '%,{},%' ",
                c.as_str()
            )
        })
        .collect();
    let sql = sql
        .replace("{hidden}", &hidden)
        .replace("{join_texts}", join_texts_function(db.dialect()))
        .replace("{doc_id_hex}", &lower_hex(db.dialect(), "doc_id"))
        // The typed text folded as the columns are (COLLATE "C": ASCII letters only), not
        // by the server's locale, which would fold Cyrillic too and then match nothing.
        .replace(
            "{bytewise}",
            match db.dialect() {
                Dialect::Sqlite => "",
                Dialect::Postgres => " COLLATE \"C\"",
            },
        )
        .replace(
            "{no_escape}",
            match db.dialect() {
                Dialect::Sqlite => "",
                Dialect::Postgres => "ESCAPE ''",
            },
        );
    let limit = filter.limit.clamp(1, 5000);
    Ok(db.rows(
        &sql,
        &[
            &filter.user,
            &filter.device,
            &filter.record,
            &filter.action,
            &filter.since.map(|t| t.to_rfc3339()),
            &filter.until.map(|t| t.to_rfc3339()),
            &limit,
        ],
        |r| {
            Ok(AuditRow {
                at: r.get(0)?,
                user: r.get(1)?,
                login: r.get(2)?,
                device: r.get(3)?,
                action: r.get(4)?,
                record: r.get(5)?,
                class: r.get(6)?,
                source: r.get(7)?,
            })
        },
    )?)
}

/// The aggregate that joins a group's texts with a separator, `f(text, separator)`:
/// `group_concat` in SQLite, `string_agg` in PostgreSQL.
fn join_texts_function(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "group_concat",
        Dialect::Postgres => "string_agg",
    }
}

/// The blob `column` as lowercase hex (NULL or empty when it is NULL): PostgreSQL has no
/// `hex()`.
fn lower_hex(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("lower(hex({column}))"),
        Dialect::Postgres => format!("encode({column}, 'hex')"),
    }
}
