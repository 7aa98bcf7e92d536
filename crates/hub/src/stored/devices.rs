//! Enrollment codes and enrolled devices: a code is spent for a device, its token and the
//! lowest free referral issuer number.

use crate::storage::{Device, HubError};
use chrono::{DateTime, Utc};
use kabinet_store::sql::{Row, SqlError, SqlExt};
use kabinet_store::{Origin, Store};
use uuid::Uuid;

/// The hub's own issuer number for referral codes (hub staff issue referrals too).
pub const HUB_ISSUER: u8 = 99;

const DEVICE_COLUMNS: &str =
    "device_id, name, cabinet, issuer, enrolled_at, revoked_at, last_sync_at, roles";

fn device_row(r: &Row<'_>) -> Result<Device, SqlError> {
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
        roles: kabinet_core::access::roles_from_text(&r.get::<String>(7)?),
    })
}

pub(super) fn create_enrollment(
    store: &Store,
    cabinet: &str,
    roles: &[kabinet_core::Role],
    code_hash: [u8; 32],
    expires_at: DateTime<Utc>,
) -> Result<(), HubError> {
    store.sql().exec(
        "INSERT INTO hub_enrollment (code_hash, cabinet, expires_at, roles) VALUES (?1, ?2, ?3, ?4)",
        &[
            &code_hash,
            &cabinet,
            &expires_at.to_rfc3339(),
            &kabinet_core::access::roles_to_text(roles),
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
        let sql = w.sql();
        let found: Option<(String, String, String)> = sql.row(
            "SELECT cabinet, expires_at, roles FROM hub_enrollment WHERE code_hash = ?1",
            &[&code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let Some((cabinet, expires, roles)) = found else {
            return Ok(Err(HubError::BadEnrollmentCode));
        };
        sql.exec(
            "DELETE FROM hub_enrollment WHERE code_hash = ?1",
            &[&code_hash],
        )?;
        if expires < Utc::now().to_rfc3339() {
            return Ok(Err(HubError::BadEnrollmentCode));
        }
        let taken: Vec<u8> = sql.rows("SELECT issuer FROM hub_device", &[], |r| r.get(0))?;
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
        sql.exec(
            "INSERT INTO hub_device (device_id, name, cabinet, issuer, token_hash, enrolled_at, roles) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[&device.id, &device.name, &device.cabinet, &device.issuer, &token_hash, &device.enrolled_at.to_rfc3339(), &roles],
        )?;
        Ok(Ok(device))
    })?
}

pub(super) fn device_by_token(
    store: &Store,
    token_hash: [u8; 32],
) -> Result<Option<Device>, HubError> {
    Ok(store.sql().row(
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM hub_device WHERE token_hash = ?1 AND revoked_at IS NULL"
        ),
        &[&token_hash],
        device_row,
    )?)
}

pub(super) fn devices(store: &Store) -> Result<Vec<Device>, HubError> {
    Ok(store.sql().rows(
        &format!("SELECT {DEVICE_COLUMNS} FROM hub_device ORDER BY enrolled_at"),
        &[],
        device_row,
    )?)
}

pub(super) fn revoke(store: &Store, device_id: &str) -> Result<(), HubError> {
    let n = store.sql().exec(
        "UPDATE hub_device SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
        &[&device_id, &Utc::now().to_rfc3339()],
    )?;
    if n == 0 {
        return Err(HubError::NoSuchDevice(device_id.to_string()));
    }
    Ok(())
}
