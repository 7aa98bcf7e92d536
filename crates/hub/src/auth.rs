//! Who is asking, as axum extractors: a handler that takes [`DeviceAuth`], [`StaffAuth`] or
//! [`AdminAuth`] runs only for an enrolled device, a signed-in staff member or a hub admin;
//! everyone else gets 401 (or 403) before the handler or its body is read.

use crate::http::{ApiError, SharedStorage, blocking, sha256};
use crate::storage::{Device, StaffUser};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

/// The role that manages users (its spelling in `StaffUser::role`).
pub const ADMIN_ROLE: &str = "hub_admin";

/// The hash of the request's bearer token, as storage keeps tokens.
pub fn bearer(headers: &HeaderMap) -> Option<[u8; 32]> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| sha256(t.trim().as_bytes()))
}

/// An enrolled, not revoked device, by its device token.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub Device);

impl FromRequestParts<SharedStorage> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        storage: &SharedStorage,
    ) -> Result<Self, Self::Rejection> {
        let hash = bearer(&parts.headers).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing device token (Authorization: Bearer …); enroll the device first",
                "липсва ключ на устройството; първо регистрирайте устройството",
            )
        })?;
        let storage = storage.clone();
        blocking(move || storage.device_by_token(hash))
            .await?
            .map(DeviceAuth)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unknown or revoked device token; enroll the device again",
                    "непознато или отнето устройство; регистрирайте устройството отново",
                )
            })
    }
}

/// A staff member signed in to the web UI, by their session token.
#[derive(Debug, Clone)]
pub struct StaffAuth(pub StaffUser);

impl FromRequestParts<SharedStorage> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        storage: &SharedStorage,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "sign in first (the session is missing or has expired)",
                "влезте отново (няма вход или е изтекъл)",
            )
        };
        let hash = bearer(&parts.headers).ok_or_else(unauthorized)?;
        let storage = storage.clone();
        blocking(move || storage.session_user(hash))
            .await?
            .map(StaffAuth)
            .ok_or_else(unauthorized)
    }
}

/// A signed-in staff member whose role `may` pass; others get 403 with `refusal` (en, bg).
async fn staff_in_role(
    parts: &mut Parts,
    storage: &SharedStorage,
    may: fn(kabinet_core::Role) -> bool,
    refusal: (&'static str, &'static str),
) -> Result<(StaffUser, kabinet_core::Role), ApiError> {
    let StaffAuth(user) = StaffAuth::from_request_parts(parts, storage).await?;
    match kabinet_core::Role::parse(&user.role).filter(|r| may(*r)) {
        Some(role) => Ok((user, role)),
        None => Err(ApiError::new(StatusCode::FORBIDDEN, refusal.0, refusal.1)),
    }
}

/// A signed-in hub admin; other staff get 403.
#[derive(Debug, Clone)]
pub struct AdminAuth(pub StaffUser);

impl FromRequestParts<SharedStorage> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        storage: &SharedStorage,
    ) -> Result<Self, Self::Rejection> {
        let (user, _) = staff_in_role(
            parts,
            storage,
            |r| r == kabinet_core::Role::HubAdmin,
            (
                "only a hub admin may manage users",
                "само администратор на Хъба може да управлява потребители",
            ),
        )
        .await?;
        Ok(AdminAuth(user))
    }
}

/// A staff member whose role reads the audit log (`Role::reads_audit`): the hub admin and
/// the privacy officer.
pub struct AuditAuth(pub StaffUser, pub kabinet_core::Role);

impl FromRequestParts<SharedStorage> for AuditAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        storage: &SharedStorage,
    ) -> Result<Self, Self::Rejection> {
        let (user, role) = staff_in_role(
            parts,
            storage,
            kabinet_core::Role::reads_audit,
            (
                "only a hub admin or the privacy officer may read the audit log",
                "само администратор на Хъба или длъжностното лице по защита на данните може да чете дневника",
            ),
        )
        .await?;
        Ok(AuditAuth(user, role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use std::sync::Arc;

    fn parts(token: Option<&str>) -> Parts {
        let mut request = Request::builder().uri("/v1/sync");
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        request.body(()).unwrap().into_parts().0
    }

    fn hub(dir: &std::path::Path) -> SharedStorage {
        let key = kabinet_store::StoreKey::Raw([5; 32]);
        Arc::new(crate::StoreHub::open(dir, &key).unwrap())
    }

    async fn device(storage: &SharedStorage, token: Option<&str>) -> Result<Device, StatusCode> {
        DeviceAuth::from_request_parts(&mut parts(token), storage)
            .await
            .map(|DeviceAuth(d)| d)
            .map_err(|e| e.status())
    }

    async fn staff<E: FromRequestParts<SharedStorage, Rejection = ApiError>>(
        storage: &SharedStorage,
        token: Option<&str>,
    ) -> Result<E, StatusCode> {
        E::from_request_parts(&mut parts(token), storage)
            .await
            .map_err(|e| e.status())
    }

    #[tokio::test]
    async fn a_device_needs_its_enrolled_unrevoked_token() {
        let dir = tempfile::tempdir().unwrap();
        let storage = hub(dir.path());
        let code = sha256(b"123456");
        let token = "device-token";
        storage
            .create_enrollment(
                "cabinet-1",
                &[],
                code,
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .unwrap();
        let enrolled = storage
            .redeem_enrollment(code, "tablet", sha256(token.as_bytes()))
            .unwrap();

        assert_eq!(
            device(&storage, None).await.unwrap_err(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            device(&storage, Some("forged")).await.unwrap_err(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(device(&storage, Some(token)).await.unwrap().id, enrolled.id);
        storage.revoke(&enrolled.id).unwrap();
        assert_eq!(
            device(&storage, Some(token)).await.unwrap_err(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn staff_need_a_session_and_admin_screens_the_admin_role() {
        let dir = tempfile::tempdir().unwrap();
        let storage = hub(dir.path());
        let (credential, key) = kabinet_keys::UserCredential::create("дълга парола").unwrap();
        let expires = chrono::Utc::now() + chrono::Duration::hours(1);
        for (name, role, token) in [
            ("nurse", "nurse", "t-nurse"),
            ("admin", ADMIN_ROLE, "t-admin"),
        ] {
            let user = StaffUser {
                name: name.into(),
                display_name: name.into(),
                role: role.into(),
            };
            let secrets = crate::storage::NewSecrets {
                password_hash: Some("hash"),
                device: Some(crate::storage::DeviceSecret {
                    credential: &credential,
                    secret_key: &key.to_bytes(),
                }),
            };
            storage.add_user(&user, &[], &secrets, "test").unwrap();
            storage
                .create_session(sha256(token.as_bytes()), name, expires)
                .unwrap();
        }

        for token in [None, Some("no such session")] {
            assert_eq!(
                staff::<StaffAuth>(&storage, token).await.unwrap_err(),
                StatusCode::UNAUTHORIZED
            );
            assert_eq!(
                staff::<AdminAuth>(&storage, token).await.unwrap_err(),
                StatusCode::UNAUTHORIZED
            );
        }
        let StaffAuth(nurse) = staff::<StaffAuth>(&storage, Some("t-nurse")).await.unwrap();
        assert_eq!(nurse.name, "nurse");
        assert_eq!(
            staff::<AdminAuth>(&storage, Some("t-nurse"))
                .await
                .unwrap_err(),
            StatusCode::FORBIDDEN
        );
        let AdminAuth(admin) = staff::<AdminAuth>(&storage, Some("t-admin")).await.unwrap();
        assert_eq!(admin.name, "admin");
        // A disabled user's session ends at once.
        storage.set_disabled("nurse", true, "test").unwrap();
        assert_eq!(
            staff::<StaffAuth>(&storage, Some("t-nurse"))
                .await
                .unwrap_err(),
            StatusCode::UNAUTHORIZED
        );
    }
}
