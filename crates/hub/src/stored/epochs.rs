//! The hub's relay epochs (see [`crate::epoch`]) in its `meta` table: read when the hub
//! opens, a first one made for a hub that has none, a new one started by a restore.

use crate::epoch::Epochs;
use crate::storage::HubError;
use chrono::Utc;
use kabinet_store::sql::{Sql, SqlError, SqlExt};
use kabinet_store::{Origin, Store};

/// The epochs, oldest first, as JSON.
pub(super) const EPOCHS_META: &str = "hub.relay_epochs";

/// The stored epochs, if any (and readable).
pub(super) fn stored(sql: &dyn Sql) -> Result<Option<Epochs>, SqlError> {
    let text: Option<String> = sql.row(
        "SELECT value FROM meta WHERE key = ?1",
        &[&EPOCHS_META],
        |r| r.get(0),
    )?;
    Ok(text.as_deref().and_then(Epochs::from_json))
}

/// The hub's epochs; a hub without (new, or made before they were kept) gets its first. Two
/// processes opening one database at once: the first one written stays, and both read it.
pub(super) fn load_or_begin(store: &mut Store) -> Result<Epochs, HubError> {
    if let Some(epochs) = stored(store.sql())? {
        return Ok(epochs);
    }
    let first = Epochs::first(Utc::now());
    store.write(Origin::Local, |w| {
        w.sql().exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[&EPOCHS_META, &first.to_json()],
        )?;
        Ok(())
    })?;
    Ok(stored(store.sql())?.unwrap_or(first))
}

/// The last relay row held.
pub(super) fn relay_head(sql: &dyn Sql) -> Result<u64, SqlError> {
    let head: i64 = sql.one(
        "SELECT COALESCE(MAX(hub_seq), 0) FROM hub_relay",
        &[],
        |r| r.get(0),
    )?;
    Ok(head as u64)
}

/// Starts a new epoch after a restore, in the write under way: the restored history (or
/// `held`, the history the hub kept before, when the backup is of its lineage) and a new
/// epoch from the last relay row now held.
pub(super) fn begin_after_restore(
    sql: &dyn Sql,
    held: Option<&Epochs>,
) -> Result<Epochs, SqlError> {
    let restored = stored(sql)?.unwrap_or_else(|| Epochs::first(Utc::now()));
    let epochs = Epochs::after_restore(held, &restored, relay_head(sql)?, Utc::now());
    sql.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&EPOCHS_META, &epochs.to_json()],
    )?;
    Ok(epochs)
}
