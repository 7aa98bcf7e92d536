//! Enrollment codes and enrolled devices: a code is spent for a device, its token and the
//! lowest free referral issuer number.

use crate::storage::{Device, HubError};
use chrono::{DateTime, Utc};
use kabinet_store::{Origin, Store};
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

/// The hub's own issuer number for referral codes (hub staff issue referrals too).
pub const HUB_ISSUER: u8 = 99;

const DEVICE_COLUMNS: &str =
    "device_id, name, cabinet, issuer, enrolled_at, revoked_at, last_sync_at, roles";

fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let time = |s: Option<String>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Ok(Device {
        id: r.get(0)?,
        name: r.get(1)?,
        cabinet: r.get(2)?,
        issuer: r.get(3)?,
        enrolled_at: time(r.get(4)?).unwrap_or_default(),
        revoked_at: time(r.get(5)?),
        last_sync_at: time(r.get(6)?),
        roles: kabinet_core::access::roles_from_text(&r.get::<_, String>(7)?),
    })
}

pub(super) fn create_enrollment(
    store: &Store,
    cabinet: &str,
    roles: &[kabinet_core::Role],
    code_hash: [u8; 32],
    expires_at: DateTime<Utc>,
) -> Result<(), HubError> {
    store.extension_sql().execute(
        "INSERT INTO hub_enrollment (code_hash, cabinet, expires_at, roles) VALUES (?1, ?2, ?3, ?4)",
        params![
            code_hash.to_vec(),
            cabinet,
            expires_at.to_rfc3339(),
            kabinet_core::access::roles_to_text(roles)
        ],
    )?;
    Ok(())
}

pub(super) fn redeem_enrollment(
    store: &mut Store,
    code_hash: [u8; 32],
    device_name: &str,
    token_hash: [u8; 32],
) -> Result<Device, HubError> {
    store.write(Origin::Local, |w| {
        let sql = w.extension_sql();
        let found: Option<(String, String, String)> = sql
            .query_row(
                "SELECT cabinet, expires_at, roles FROM hub_enrollment WHERE code_hash = ?1",
                [code_hash.to_vec()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((cabinet, expires, roles)) = found else {
            return Ok(Err(HubError::BadEnrollmentCode));
        };
        sql.execute(
            "DELETE FROM hub_enrollment WHERE code_hash = ?1",
            [code_hash.to_vec()],
        )?;
        if expires < Utc::now().to_rfc3339() {
            return Ok(Err(HubError::BadEnrollmentCode));
        }
        let taken: Vec<u8> = sql
            .prepare("SELECT issuer FROM hub_device")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(issuer) = (1..HUB_ISSUER).find(|i| !taken.contains(i)) else {
            return Ok(Err(HubError::IssuersExhausted));
        };
        let device = Device {
            id: Uuid::now_v7().to_string(),
            name: device_name.to_string(),
            cabinet,
            issuer,
            enrolled_at: Utc::now(),
            revoked_at: None,
            last_sync_at: None,
            roles: kabinet_core::access::roles_from_text(&roles),
        };
        sql.execute(
            "INSERT INTO hub_device (device_id, name, cabinet, issuer, token_hash, enrolled_at, roles) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![device.id, device.name, device.cabinet, device.issuer, token_hash.to_vec(), device.enrolled_at.to_rfc3339(), roles],
        )?;
        Ok(Ok(device))
    })?
}

pub(super) fn device_by_token(
    store: &Store,
    token_hash: [u8; 32],
) -> Result<Option<Device>, HubError> {
    Ok(store
        .extension_sql()
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM hub_device WHERE token_hash = ?1 AND revoked_at IS NULL"
        ))?
        .query_row([token_hash.to_vec()], device_row)
        .optional()?)
}

pub(super) fn devices(store: &Store) -> Result<Vec<Device>, HubError> {
    Ok(store
        .extension_sql()
        .prepare(&format!(
            "SELECT {DEVICE_COLUMNS} FROM hub_device ORDER BY enrolled_at"
        ))?
        .query_map([], device_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub(super) fn revoke(store: &Store, device_id: &str) -> Result<(), HubError> {
    let n = store.extension_sql().execute(
        "UPDATE hub_device SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
        params![device_id, Utc::now().to_rfc3339()],
    )?;
    if n == 0 {
        return Err(HubError::NoSuchDevice(device_id.to_string()));
    }
    Ok(())
}
