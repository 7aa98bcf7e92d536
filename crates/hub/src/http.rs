//! What every HTTP handler of the hub shares: the storage behind the router, error answers in
//! English and Bulgarian, running blocking work off the async threads. A module of its own so
//! the device, staff and auth handlers need only it, not each other.

use crate::storage::{HubError, HubStorage};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub type SharedStorage = Arc<dyn HubStorage>;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// An error answer: a status and a message in English and Bulgarian.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    en: String,
    bg: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        en: impl Into<String>,
        bg: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            en: en.into(),
            bg: bg.into(),
        }
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({"error": self.en, "error_bg": self.bg})),
        )
            .into_response()
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::BadEnrollmentCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unknown, used or expired enrollment code; ask the hub operator for a new one",
                "непознат, използван или изтекъл код за регистрация; поискайте нов от оператора на Хъба",
            ),
            HubError::Forbidden { class, .. } => {
                tracing::warn!(error = %e, "refused by the access matrix");
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    e.to_string(),
                    format!(
                        "ролите на това устройство не позволяват запис на документи от клас „{class}“"
                    ),
                )
            }
            HubError::Misfit { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                e.to_string(),
                format!("Хъбът не приема документа: не отговаря на вида или класа си ({e})"),
            ),
            HubError::AuditChain { .. } => {
                tracing::error!(error = %e, "audit chain broken");
                ApiError::new(
                    StatusCode::CONFLICT,
                    e.to_string(),
                    "дневникът за достъп на устройството е променян: Хъбът не го приема; уведомете администратора",
                )
            }
            HubError::IssuersExhausted => {
                tracing::error!(error = %e, "enrollment refused");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "this hub has given out all 98 referral-code issuer numbers (one per device ever enrolled, so that codes never repeat); no more devices can be enrolled with it",
                    "Хъбът е раздал всички 98 номера за кодове на направления (по един на всяко регистрирано устройство, за да не се повтарят кодовете); не могат да се регистрират още устройства",
                )
            }
            HubError::BadDocument { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.to_string(),
                format!("невалиден документ: {e}"),
            ),
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the hub could not complete the request; try again",
                    "Хъбът не можа да изпълни заявката; опитайте отново",
                )
            }
        }
    }
}

/// A route that takes bodies of up to `bytes`. A larger announced body is refused (413) on its
/// headers, before any of it is read (axum's own limit alone would read up to it first); a
/// body without a length is read no further than the limit. Authentication reads headers
/// only, so it never waits for a body either.
pub(crate) fn body_limit<S: Clone + Send + Sync + 'static>(
    route: axum::routing::MethodRouter<S>,
    bytes: usize,
) -> axum::routing::MethodRouter<S> {
    route
        .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(bytes))
        .layer::<_, std::convert::Infallible>(tower_http::limit::RequestBodyLimitLayer::new(bytes))
}

/// Runs blocking work (storage, argon2) off the async threads.
pub(crate) async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
            "вътрешна грешка",
        )
    })
}

/// A storage call off the async threads, its error as the answer's.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> Result<T, ApiError> {
    off_thread(f).await?.map_err(ApiError::from)
}
