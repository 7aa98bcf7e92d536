//! The hub staff's web face: the same UI as the cabinet's app, served by the hub, talking to
//! `/api/*` instead of Tauri (online only). Staff sign in with a name and password (argon2
//! hash at the hub); every `/api` call but sign-in needs the session token as a bearer token.
//! The screens' operations are `kabinet-service`'s, on the hub's documents; edits are relayed
//! to the cabinets like any other change.

use crate::auth::{AdminAuth, StaffAuth};
use crate::http::{ApiError, SharedStorage, blocking, body_limit, off_thread, sha256};
use crate::sign_in::{self, ClientAddr, SignInTry};
use crate::storage::{SecretKind, StaffUser};
use crate::users::{Actor, hash_password, password_matches};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use kabinet_core::Lang;
use kabinet_service::{Call, Context, ServiceError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use zeroize::Zeroizing;

/// How long a sign-in lasts: one working day.
const SESSION_HOURS: i64 = 12;

#[derive(Deserialize)]
struct Login {
    name: String,
    password: String,
}

#[derive(Serialize)]
struct Session {
    token: String,
    user: StaffUser,
}

/// A hash of no one's password, made like every user's: names nobody has, and users without
/// a web password, cost the same argon2 check as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no one's password").unwrap_or_default())
}

/// Signs a staff member in. Every typed name goes through the same steps, whether someone has
/// it or not: the address's limit, the name's count (taken before the password is checked), the
/// argon2 check (against a decoy hash when there is no such user), so neither the answer nor
/// its time tells which names exist.
async fn login(
    State(storage): State<SharedStorage>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<Login>,
) -> Result<Json<Session>, ApiError> {
    let name = req.name.trim().to_string();
    // Wiped from memory once checked.
    let password = Zeroizing::new(req.password);
    // This try is taken from the address's allowance now, before any check.
    let try_stamp = match sign_in::reserve_address(addr, Instant::now()) {
        Ok(stamp) => stamp,
        Err(wait) => {
            let secs = wait.as_secs().max(1);
            tracing::warn!(
                ?addr,
                "sign-ins refused: too many wrong ones from this address"
            );
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many wrong sign-ins from this address; try again in {secs} s"),
                format!("твърде много грешни опити от този адрес; опитайте отново след {secs} с"),
            ));
        }
    };
    // A name no user can have is counted against the address only: storing it would let
    // anyone fill the table.
    if !crate::users::valid_name(&name) {
        return Err(wrong_password());
    }
    let now = Utc::now();
    let counted = {
        let (storage, name) = (storage.clone(), name.clone());
        blocking(move || {
            storage.reserve_sign_in(
                &name,
                now,
                kabinet_keys::LOCK_AFTER,
                &kabinet_keys::wait_after,
            )
        })
        .await?
    };
    match counted {
        SignInTry::Locked => {
            return Err(ApiError::new(
                StatusCode::LOCKED,
                "this user is locked after too many wrong passwords; a hub admin must reset them",
                "потребителят е заключен след твърде много грешни пароли; администратор трябва да го нулира",
            ));
        }
        SignInTry::Wait { until } => {
            let secs = (until - now).num_seconds().max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many wrong passwords; try again in {secs} s"),
                format!("твърде много грешни пароли; опитайте отново след {secs} с"),
            ));
        }
        SignInTry::Counted { .. } => {}
    }
    let found = {
        let (storage, name) = (storage.clone(), name.clone());
        blocking(move || storage.user_for_login(&name)).await?
    };
    let hash = found
        .as_ref()
        .and_then(|r| r.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let real = found.as_ref().is_some_and(|r| r.password_hash.is_some());
    let ok = sign_in::bounded_check(move || password_matches(&password, &hash) && real)
        .await
        .map_err(|e| match e {
            sign_in::CheckError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the hub is busy checking other sign-ins; try again in a moment",
                "Хъбът проверява много входове в момента; опитайте отново след малко",
            ),
            sign_in::CheckError::Failed => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
                "вътрешна грешка",
            ),
        })?;
    let Some(record) = found.filter(|_| ok) else {
        tracing::warn!(user = %name, "wrong password at sign-in");
        return Err(wrong_password());
    };
    sign_in::address_succeeded(addr, try_stamp);
    {
        let (storage, name) = (storage.clone(), name.clone());
        blocking(move || storage.sign_in_succeeded(&name)).await?;
    }
    let user = record.user;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let hash = sha256(token.as_bytes());
    let user_name = user.name.clone();
    blocking(move || {
        storage.create_session(
            hash,
            &user_name,
            Utc::now() + Duration::hours(SESSION_HOURS),
        )
    })
    .await?;
    tracing::info!(user = %user.name, "staff signed in");
    Ok(Json(Session { token, user }))
}

fn wrong_password() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "wrong name or password",
        "грешно име или парола",
    )
}

async fn me(StaffAuth(user): StaffAuth) -> Json<StaffUser> {
    Json(user)
}

async fn logout(
    State(storage): State<SharedStorage>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    if let Some(hash) = crate::auth::bearer(&headers) {
        blocking(move || storage.end_session(hash)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What a staff member may see and do: their role's row of the access matrix.
fn staff_context(user: &StaffUser, lang: Lang) -> Context {
    Context {
        lang,
        user: user.display_name.clone(),
        login: user.name.clone(),
        now: Utc::now(),
        // An unknown role reads and writes nothing.
        roles: Some(kabinet_core::Role::parse(&user.role).into_iter().collect()),
    }
}

/// One screen operation; refused operations answer 422/404/409 with the service's error body
/// (messages per field in the asked language).
async fn call(
    State(storage): State<SharedStorage>,
    StaffAuth(user): StaffAuth,
    Json(call): Json<Call>,
) -> Result<Response, ApiError> {
    let lang: Lang = call.lang;
    let ctx = staff_context(&user, lang);
    let answer = blocking(move || crate::desk::call(storage.as_ref(), &ctx, call.request)).await?;
    Ok(match answer {
        Ok(value) => Json(value).into_response(),
        Err(e) => refused(&e, lang),
    })
}

#[derive(Deserialize)]
struct SlipQuery {
    /// Comma-separated referral ids.
    ids: String,
    #[serde(default)]
    paper: String,
    /// HIV slips without name and ЕГН (`true`) or named (`false`); absent: the directory's
    /// default.
    #[serde(default)]
    anonymous: Option<bool>,
}

/// The slips of some referrals as one PDF, for the browser's viewer and print dialog.
async fn slips(
    State(storage): State<SharedStorage>,
    StaffAuth(user): StaffAuth,
    axum::extract::Query(q): axum::extract::Query<SlipQuery>,
) -> Result<Response, ApiError> {
    let ctx = staff_context(&user, Lang::Bg);
    let ids: Vec<uuid::Uuid> = q
        .ids
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "ids: comma-separated referral ids",
                "ids: идентификатори на направления, разделени със запетая",
            )
        })?;
    let (paper, anonymous) = (q.paper, q.anonymous);
    let pdf = blocking(move || crate::desk::slips(storage.as_ref(), &ctx, &ids, &paper, anonymous))
        .await?;
    Ok(match pdf {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => refused(&e, Lang::Bg),
    })
}

#[derive(Deserialize)]
struct ReportQuery {
    from: String,
    to: String,
    #[serde(default)]
    cabinet: Option<String>,
    /// csv | pdf | json
    #[serde(default)]
    format: String,
    #[serde(default)]
    lang: Lang,
}

/// The programme report as a file to download: one PDF page or the CSV of every breakdown.
async fn report_file(
    State(storage): State<SharedStorage>,
    StaffAuth(user): StaffAuth,
    axum::extract::Query(q): axum::extract::Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let lang = q.lang;
    let ctx = staff_context(&user, lang);
    let format = match q.format.as_str() {
        "" | "pdf" => "pdf",
        "csv" => "csv",
        "json" => "json",
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "format: one of pdf, csv, json",
                "format: едно от pdf, csv, json",
            ));
        }
    };
    let answer = blocking(move || {
        let view = crate::desk::report(
            storage.as_ref(),
            &ctx,
            &q.from,
            &q.to,
            q.cabinet.as_deref(),
            format,
        )?;
        Ok(view.and_then(|view| {
            let bytes = match format {
                "pdf" => kabinet_service::report::to_pdf(&view, lang)?,
                "csv" => kabinet_service::report::to_csv(&view),
                _ => serde_json::to_vec(&view).unwrap_or_default(),
            };
            Ok((view, bytes))
        }))
    })
    .await?;
    let (view, bytes) = match answer {
        Ok(done) => done,
        Err(e) => return Ok(refused(&e, lang)),
    };
    let content_type = match format {
        "pdf" => "application/pdf",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/json",
    };
    let name = format!("kabinet-report-{}-{}.{format}", view.from, view.to);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A refused screen operation: the service's error body with the status of its kind.
fn refused(e: &ServiceError, lang: Lang) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    (status, Json(e.body(lang))).into_response()
}

fn admin_error(e: crate::users::UserAdminError, lang: Lang) -> Response {
    let message = e.message(lang);
    let (status, body) = match e.field() {
        Some(field) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            kabinet_service::ErrorBody::invalid_field(message.clone(), field, message),
        ),
        None => (
            match e {
                crate::users::UserAdminError::Hub(crate::HubError::NoSuchUser(_)) => {
                    StatusCode::NOT_FOUND
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            kabinet_service::ErrorBody::new(kabinet_service::ErrorKind::Admin, message),
        ),
    };
    (status, Json(body)).into_response()
}

async fn list_users(
    State(storage): State<SharedStorage>,
    _: AdminAuth,
) -> Result<Json<Vec<crate::UserRecord>>, ApiError> {
    Ok(Json(blocking(move || storage.users()).await?))
}

/// A user the admin adds from the web UI.
#[derive(Deserialize, ts_rs::TS)]
pub struct NewUser {
    /// The login name.
    pub name: String,
    pub display_name: String,
    /// A role's spelling (`kabinet_core::Role::as_str`).
    pub role: String,
    /// The cabinets whose devices receive the user; none: hub staff, on no device.
    #[serde(default)]
    pub cabinets: Vec<String>,
    /// The device PIN when the user has cabinets, else the web password.
    pub password: String,
    #[serde(default)]
    #[ts(optional)]
    pub lang: Option<Lang>,
}

async fn add_user(
    State(storage): State<SharedStorage>,
    AdminAuth(by): AdminAuth,
    Json(req): Json<NewUser>,
) -> Result<Response, ApiError> {
    let lang = req.lang.unwrap_or(Lang::Bg);
    let admin = by.clone();
    let result = off_thread(move || {
        let password = Zeroizing::new(req.password);
        crate::users::add(
            storage.as_ref(),
            &req.name,
            &req.display_name,
            &req.role,
            &req.cabinets,
            &password,
            Actor::Admin(&admin),
        )
    })
    .await?;
    Ok(match result {
        Ok(user) => {
            tracing::info!(by = %by.name, user = %user.name, "user added at the web UI");
            (StatusCode::CREATED, Json(user)).into_response()
        }
        Err(e) => admin_error(e, lang),
    })
}

/// What an admin's action on one user carries: the new secret and which one (reset), the new
/// role and/or cabinets (edit).
#[derive(Deserialize, ts_rs::TS)]
#[ts(optional_fields)]
pub struct UserAction {
    pub password: Option<String>,
    /// Which secret a reset replaces; without it, the one the user has.
    pub secret: Option<SecretKind>,
    pub role: Option<String>,
    pub cabinets: Option<Vec<String>>,
    pub lang: Option<Lang>,
}

async fn user_action(
    State(storage): State<SharedStorage>,
    AdminAuth(by): AdminAuth,
    axum::extract::Path((name, action)): axum::extract::Path<(String, String)>,
    Json(req): Json<UserAction>,
) -> Result<Response, ApiError> {
    let lang = req.lang.unwrap_or(Lang::Bg);
    if by.name == name && action == "disable" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "you cannot disable yourself",
            "не можете да деактивирате себе си",
        ));
    }
    if by.name == name && action == "edit" && req.role.as_deref().is_some_and(|r| r != by.role) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "you cannot change your own role",
            "не можете да смените собствената си роля",
        ));
    }
    if !matches!(action.as_str(), "disable" | "enable" | "reset" | "edit") {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown action; one of disable, enable, reset, edit",
            "непознато действие",
        ));
    }
    let who = name.clone();
    let admin = by.clone();
    let result = off_thread(move || {
        let by = Actor::Admin(&admin);
        let password = Zeroizing::new(req.password.unwrap_or_default());
        match action.as_str() {
            "disable" => crate::users::set_disabled(storage.as_ref(), &name, true, by),
            "enable" => crate::users::set_disabled(storage.as_ref(), &name, false, by),
            "edit" => crate::users::edit(
                storage.as_ref(),
                &name,
                req.role.as_deref(),
                req.cabinets.as_deref(),
                by,
            ),
            _ => {
                crate::users::reset(storage.as_ref(), &name, &password, req.secret, by).map(|_| ())
            }
        }
    })
    .await?;
    Ok(match result {
        Ok(()) => {
            tracing::info!(by = %by.name, user = %who, "user changed at the web UI");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => admin_error(e, lang),
    })
}

async fn audit_log(
    State(storage): State<SharedStorage>,
    crate::auth::AuditAuth(_, role): crate::auth::AuditAuth,
    axum::extract::Query(filter): axum::extract::Query<crate::AuditFilter>,
) -> Result<Json<Vec<crate::AuditRow>>, ApiError> {
    // Empty boxes in the form mean "any".
    let blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let filter = crate::AuditFilter {
        user: blank(filter.user),
        device: blank(filter.device),
        record: blank(filter.record),
        action: blank(filter.action),
        // Lines about a class the reader may not read say who has such a record: left out.
        shown_classes: kabinet_core::AccessClass::ALL
            .iter()
            .copied()
            .filter(|c| role.reads_audit_of(*c))
            .collect(),
        ..filter
    };
    Ok(Json(blocking(move || storage.audit(&filter)).await?))
}

/// A screen operation's body: a visit form with its notes is a few kB.
pub const CALL_BODY_BYTES: usize = 256 * 1024;

/// `/api/*` for the web UI. Bodies are small but for a screen operation's.
pub fn api_routes() -> Router<SharedStorage> {
    let small = crate::server::SMALL_BODY_BYTES;
    Router::new()
        .route("/api/slips", get(slips))
        .route("/api/report", get(report_file))
        .route("/api/login", body_limit(post(login), small))
        .route("/api/logout", body_limit(post(logout), small))
        .route("/api/me", get(me))
        .route("/api/call", body_limit(post(call), CALL_BODY_BYTES))
        .route(
            "/api/admin/users",
            body_limit(get(list_users).post(add_user), small),
        )
        .route(
            "/api/admin/users/{name}/{action}",
            body_limit(post(user_action), small),
        )
        .route("/api/admin/audit", get(audit_log))
}

/// Serves the built UI (`ui/dist`) with `index.html` for unknown paths, so a reload on any
/// screen works.
pub fn ui_service(dir: PathBuf) -> tower_http::services::ServeDir<tower_http::services::ServeFile> {
    let index = dir.join("index.html");
    tower_http::services::ServeDir::new(dir).fallback(tower_http::services::ServeFile::new(index))
}
