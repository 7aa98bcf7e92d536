//! The HTTP face of the hub (axum): health, device enrollment and sync. Every sync request is
//! authenticated by its device token; bodies are size-limited and decoded defensively; a bad
//! request gets a clear 4xx and the hub goes on serving.

use crate::auth::DeviceAuth;
use crate::http::blocking;
pub use crate::http::{ApiError, SharedStorage, sha256};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kabinet_sync::wire::{MAX_MESSAGE_BYTES, WIRE_VERSION};
use kabinet_sync::{SyncRequest, WireError};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    wire_version: u16,
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        wire_version: WIRE_VERSION,
    })
}

#[derive(Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct EnrollResponse {
    pub device_id: String,
    pub token: String,
    pub cabinet: String,
    pub issuer: u8,
}

/// Codes are typed by people: only the digits count.
/// The one-time code's 12 digits. A code as printed over HTTPS goes on with the certificate's
/// short fingerprint (for the device to check, see `kabinet_sync::EnrollmentCode`): not part of
/// the secret.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, ' ' | '-' | ':'))
        .take(12)
        .filter(char::is_ascii_digit)
        .collect()
}

async fn enroll(
    State(storage): State<SharedStorage>,
    Json(req): Json<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let code_hash = sha256(normalise_code(&req.code).as_bytes());
    let token_bytes: [u8; 32] = rand::random();
    let token = hex::encode(token_bytes);
    let token_hash = sha256(token.as_bytes());
    let name = req.device_name.trim().chars().take(100).collect::<String>();
    let device = blocking(move || storage.redeem_enrollment(code_hash, &name, token_hash)).await?;
    tracing::info!(device = %device.id, cabinet = %device.cabinet, "device enrolled");
    Ok(Json(EnrollResponse {
        device_id: device.id,
        token,
        cabinet: device.cabinet,
        issuer: device.issuer,
    }))
}

async fn sync(
    State(storage): State<SharedStorage>,
    DeviceAuth(device): DeviceAuth,
    body: Bytes,
) -> Result<Response, ApiError> {
    // A few exchanges at a time: each holds a decoded request and a response of up to several
    // MB while it is (de)compressed; fifty cabinets at once must not mean fifty of those.
    static EXCHANGES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let _permit = EXCHANGES.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the hub is shutting down",
            "Хъбът спира",
        )
    })?;
    let request = SyncRequest::decode(&body).map_err(|e| match e {
        WireError::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string(), "заявката е твърде голяма"),
        WireError::Version { got, supported } => ApiError::new(
            StatusCode::BAD_REQUEST,
            e.to_string(),
            format!("версия {got} на протокола не се поддържа (Хъбът говори версия {supported}); обновете по-старата страна"),
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, e.to_string(), "повредена заявка за синхронизация"),
    })?;
    let pushed = request.push.len();
    let device_id = device.id.clone();
    let (pulled, encoded) = blocking(move || {
        let response = crate::relay::sync(storage.as_ref(), &device, &request)?;
        Ok((response.pull.len(), response.encode()))
    })
    .await?;
    tracing::debug!(device = %device_id, pushed, pulled, "sync");
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        encoded,
    )
        .into_response())
}

/// The users of the device's cabinet and roles (disabled ones too, so the device locks them
/// out): their credentials let them log in on the device offline.
async fn roster(
    State(storage): State<SharedStorage>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let users = blocking(move || storage.roster(&device)).await?;
    Ok(Json(serde_json::json!({ "users": users })))
}

#[derive(Deserialize)]
struct AuditPush {
    entries: Vec<kabinet_core::audit::ChainedEntry>,
}

/// A device's audit entries since the last it sent.
async fn audit_push(
    State(storage): State<SharedStorage>,
    DeviceAuth(device): DeviceAuth,
    Json(push): Json<AuditPush>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let acked = blocking(move || storage.push_audit(&device, &push.entries)).await?;
    Ok(Json(serde_json::json!({ "acked_through": acked })))
}

/// The router: `/health`, `/v1/enroll`, `/v1/sync`, the staff web API under `/api`, and the
/// web UI from `ui_dir` when given.
pub fn router(storage: SharedStorage, ui_dir: Option<std::path::PathBuf>) -> Router {
    let app = Router::new()
        .route("/health", get(health))
        .route("/v1/enroll", post(enroll))
        .route("/v1/sync", post(sync))
        .route("/v1/users", get(roster))
        .route("/v1/audit", post(audit_push))
        .merge(crate::staff::api_routes());
    let app = match ui_dir {
        Some(dir) => app.fallback_service(crate::staff::ui_service(dir)),
        None => app,
    };
    app.layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(storage)
}
