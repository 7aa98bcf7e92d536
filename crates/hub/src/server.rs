//! The HTTP face of the hub (axum): health, device enrollment and sync. Every sync request is
//! authenticated by its device token; bodies are size-limited and decoded defensively; a bad
//! request gets a clear 4xx and the hub goes on serving.
//!
//! Authentication comes first: the auth extractors read only the headers and run before a
//! handler's body is read. Bodies then have a limit per route: small everywhere (sign-in and
//! enrollment are open to anyone on the network), larger only where an authenticated caller
//! needs it, and a sync message's size only for an enrolled device's `/v1/sync`.

use crate::auth::DeviceAuth;
pub use crate::http::{ApiError, SharedStorage, sha256};
use crate::http::{blocking, body_limit};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kabinet_sync::wire::{MAX_MESSAGE_BYTES, WIRE_VERSION};
use kabinet_sync::{SyncRequest, WireError};
use serde::{Deserialize, Serialize};

/// The body limit of every route that sets none: sign-in, enrollment, the admin's forms.
pub const SMALL_BODY_BYTES: usize = 16 * 1024;
/// A device's audit entries: up to 2,000 per request.
pub const AUDIT_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What the pages the hub serves may load and who may frame them. The built UI is one script
/// and one style sheet from the hub itself (no inline script or style); slips open as a PDF
/// in a blob: URL, which inherits this policy (hence blob: for objects and frames, and for
/// fetching it back). No other site may frame a page (a signed-in admin's clicks).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self' blob:; \
    object-src 'self' blob:; frame-src 'self' blob:; worker-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

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
    let (request, version) = SyncRequest::decode_versioned(&body).map_err(|e| match e {
        WireError::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string(), "заявката е твърде голяма"),
        WireError::Version { got, supported } => ApiError::new(
            StatusCode::BAD_REQUEST,
            e.to_string(),
            format!("версия {got} на протокола не се поддържа (Хъбът говори версия {supported}); обновете по-старата страна"),
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, e.to_string(), "повредена заявка за синхронизация"),
    })
    .inspect_err(|e| crate::metrics::sync_failed(e.status().as_u16()))?;
    let pushed = request.push.len();
    let device_id = device.id.clone();
    let started = std::time::Instant::now();
    let answered = blocking(move || {
        let response = crate::relay::sync(storage.as_ref(), &device, &request)?;
        Ok(response)
    })
    .await
    .and_then(|response| {
        // A version 1 answer cannot say "start over": such a device must be updated first.
        if response.rewind.is_some() && version < WIRE_VERSION {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "the hub was restored from a backup; update the app so that it can send the hub what it lost",
                "Хъбът е възстановен от резервно копие; обновете приложението, за да изпрати на Хъба каквото той е загубил",
            ));
        }
        Ok((response.pull.len(), response.encode_as(version)))
    });
    let (pulled, encoded) =
        answered.inspect_err(|e| crate::metrics::sync_failed(e.status().as_u16()))?;
    crate::metrics::sync_done(pushed, pulled, body.len(), encoded.len(), started.elapsed());
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
    // What a browser loads: the pages' policy headers. Devices' `/v1` answers go without
    // them: no browser renders them, and a no-op sync's answer is a few hundred bytes that
    // they would double.
    let browser = Router::new()
        .route("/health", get(health))
        .merge(crate::staff::api_routes());
    let browser = match ui_dir {
        Some(dir) => browser.fallback_service(crate::staff::ui_service(dir)),
        None => browser,
    };
    let app = Router::new()
        .route("/v1/enroll", body_limit(post(enroll), SMALL_BODY_BYTES))
        .route("/v1/sync", body_limit(post(sync), MAX_MESSAGE_BYTES))
        .route("/v1/users", get(roster))
        .route("/v1/audit", body_limit(post(audit_push), AUDIT_BODY_BYTES))
        .merge(security_headers(browser));
    // A route that sets no limit of its own reads no more than a small body.
    app.layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(storage)
}

/// Every answer to a browser: the page policy, no type sniffing, no referrer sent elsewhere (a screen's
/// address may hold a record's id), no framing for browsers that predate frame-ancestors.
fn security_headers(app: Router<SharedStorage>) -> Router<SharedStorage> {
    use tower_http::set_header::SetResponseHeaderLayer;
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    headers.into_iter().fold(app, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::overriding(name, value))
    })
}
