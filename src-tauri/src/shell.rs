use chrono::Utc;
use kabinet_core::{Lang, Role};
use kabinet_keys::{Keyring, LoginError, UserSummary};
use kabinet_service::{Call, Context, ErrorBody};
use kabinet_store::{DeviceSettings, Store, StoreError, StoreKey};
use kabinet_sync::{AgentOptions, AgentView, SyncAgent};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;
use tauri::Manager;

const STORE_FILE: &str = "cabinet.db";
/// The sync agent starts this long after unlocking, once the Today screen is up.
const AFTER_UNLOCK: std::time::Duration = std::time::Duration::from_millis(1500);
/// Locked after this long without a touch, a key or a call (KABINET_IDLE_LOCK_MS overrides).
const IDLE_LOCK: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// An unlocked store and who logged in.
struct Session {
    store: Store,
    /// The name recorded on visits and in the audit log.
    user: String,
    login: String,
    role: Role,
    key: StoreKey,
    last_activity: Instant,
}

struct AppState {
    data_dir: PathBuf,
    session: Mutex<Option<Session>>,
    /// Started after unlock, beside the session (its own connection to the store).
    agent: Mutex<Option<SyncAgent>>,
    /// A store just made and enrolled whose hub has no users for it yet: its key lives only
    /// here until a user arrives, so "try again" can finish the setup.
    pending_setup: Mutex<Option<StoreKey>>,
    idle_lock: std::time::Duration,
    /// Why the last session ended, for the login screen ("locked after inactivity", …).
    lock_reason: Mutex<Option<&'static str>>,
}

impl AppState {
    fn path(&self) -> PathBuf {
        self.data_dir.join(STORE_FILE)
    }

    fn keyring_path(&self) -> PathBuf {
        Keyring::beside(&self.path())
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn agent(&self) -> std::sync::MutexGuard<'_, Option<SyncAgent>> {
        self.agent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_setup(&self) -> std::sync::MutexGuard<'_, Option<StoreKey>> {
        self.pending_setup.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the session: the store is closed and its key dropped; nothing stays open.
    fn end_session(&self, reason: Option<&'static str>) {
        *self.session() = None;
        *self.lock_reason.lock().unwrap_or_else(|p| p.into_inner()) = reason;
        if let Some(agent) = self.agent().take() {
            agent.stop();
        }
    }

    /// The open session if it may go on: not idle too long, and (when `check_user`) its user
    /// still active in the keyring (a sync may just have disabled them).
    fn live_session(
        &self,
        lang: Lang,
        check_user: bool,
    ) -> Result<std::sync::MutexGuard<'_, Option<Session>>, ErrorBody> {
        let guard = self.session();
        let Some(s) = guard.as_ref() else {
            return Err(locked(lang, self.lock_reason()));
        };
        let reason = if s.last_activity.elapsed() > self.idle_lock {
            Some("idle")
        } else if check_user
            && !Keyring::load(&self.keyring_path()).is_ok_and(|k| k.is_active(&s.login))
        {
            Some("disabled")
        } else {
            None
        };
        if let Some(reason) = reason {
            drop(guard);
            self.end_session(Some(reason));
            return Err(locked(lang, Some(reason)));
        }
        Ok(guard)
    }

    fn lock_reason(&self) -> Option<&'static str> {
        *self.lock_reason.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (Re)starts the sync agent on its own thread, `after` a pause: opening a second
    /// connection costs a key derivation, which must not compete with the first screen.
    fn start_agent(&'static self, after: std::time::Duration) {
        let (path, key) = match self.session().as_ref() {
            Some(s) => (self.path(), s.key.clone()),
            None => return,
        };
        let mut options = agent_options();
        options.keyring = Some(self.keyring_path());
        std::thread::spawn(move || {
            std::thread::sleep(after);
            if let Some(old) = self.agent().take() {
                old.stop();
            }
            if self.session().is_none() {
                return; // locked meanwhile
            }
            match SyncAgent::start(path, key, options) {
                Ok(agent) => *self.agent() = Some(agent),
                Err(e) => eprintln!("kabinet: the sync agent did not start: {e}"),
            }
        });
    }
}

fn agent_options() -> AgentOptions {
    let mut o = AgentOptions::default();
    // Tests and demos shorten the waits; the defaults suit the van.
    if let Some(ms) = std::env::var("KABINET_SYNC_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        o.interval = std::time::Duration::from_millis(ms);
        o.backoff_start = std::time::Duration::from_millis(ms.min(2000));
        o.backoff_max = std::time::Duration::from_millis(ms.max(2000));
    }
    o
}

fn lang_of(lang: &str) -> Lang {
    if lang == "en" { Lang::En } else { Lang::Bg }
}

fn tr(lang: Lang, bg: &str, en: &str) -> String {
    match lang {
        Lang::Bg => bg.into(),
        Lang::En => en.into(),
    }
}

fn store_error(e: &StoreError, lang: Lang) -> ErrorBody {
    ErrorBody::new("store", e.message(lang))
}

fn locked(lang: Lang, reason: Option<&str>) -> ErrorBody {
    let message = match reason {
        Some("idle") => tr(
            lang,
            "Заключено след неактивност; влезте отново.",
            "Locked after inactivity; log in again.",
        ),
        Some("disabled") => tr(
            lang,
            "Потребителят е деактивиран от Хъба; приложението е заключено.",
            "The user was disabled at the hub; the app is locked.",
        ),
        _ => tr(
            lang,
            "Приложението е заключено; влезте.",
            "The app is locked; log in.",
        ),
    };
    ErrorBody::new("locked", message)
}

#[derive(Serialize)]
struct AppStatus {
    /// "setup" (no store or nobody can open it yet), "locked" or "unlocked".
    state: &'static str,
    /// Kept for the UI's older checks: a store users can open exists.
    exists: bool,
    unlocked: bool,
    user: Option<String>,
    role: Option<&'static str>,
    cabinet: Option<String>,
    /// The users who may log in on this device.
    users: Vec<UserSummary>,
    idle_lock_ms: u64,
    lock_reason: Option<&'static str>,
}

fn status_of(state: &AppState) -> AppStatus {
    let users = Keyring::load(&state.keyring_path())
        .map(|k| k.users())
        .unwrap_or_default();
    let session = state.session();
    let ready = state.path().exists() && !users.is_empty();
    AppStatus {
        state: if session.is_some() {
            "unlocked"
        } else if ready {
            "locked"
        } else {
            "setup"
        },
        exists: ready,
        unlocked: session.is_some(),
        user: session.as_ref().map(|s| s.user.clone()),
        role: session.as_ref().map(|s| s.role.as_str()),
        cabinet: session
            .as_ref()
            .and_then(|s| s.store.settings().ok())
            .map(|s| s.cabinet),
        users,
        idle_lock_ms: state.idle_lock.as_millis() as u64,
        lock_reason: if session.is_some() {
            None
        } else {
            state.lock_reason()
        },
    }
}

#[tauri::command(rename_all = "snake_case")]
fn app_status(state: tauri::State<'_, &'static AppState>) -> AppStatus {
    status_of(&state)
}

fn sync_error(e: &kabinet_sync::SyncError, lang: Lang) -> ErrorBody {
    use kabinet_sync::SyncError as E;
    let message = match (e, lang) {
        (E::Address(_), _) => {
            return ErrorBody::invalid_field(
                tr(lang, "Невалиден адрес.", "Invalid address."),
                "hub_url",
                tr(
                    lang,
                    "Адрес на Хъба: https://адрес:порт, напр. https://hub.pernik.bg:8750 (http:// само към този компютър)",
                    "Hub address: https://host:port, e.g. https://hub.pernik.bg:8750 (http:// only to this machine)",
                ),
            );
        }
        (E::Unreachable(_), Lang::Bg) => {
            "Хъбът не отговаря на този адрес; проверете адреса и връзката.".to_string()
        }
        (E::Refused { status: 401, .. }, Lang::Bg) => {
            "Кодът не е приет (непознат, използван или изтекъл); поискайте нов код от оператора на Хъба.".to_string()
        }
        (E::CertificateMismatch { .. }, Lang::Bg) => {
            "Сертификатът на сървъра не съвпада с отпечатъка на Хъба: това може да е чужд сървър. Не продължавайте; обадете се на оператора на Хъба.".to_string()
        }
        _ => e.to_string(),
    };
    ErrorBody::new("enroll", message)
}

/// Runs blocking network work off the async runtime's threads (reqwest's blocking client
/// has a runtime of its own).
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("the network thread panicked"))
}

fn remove_store_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// First start: make the store with a fresh random key, enroll it with the hub by the
/// operator's one-time code, and take the hub's users for this device, sealing the key to
/// each. The key is never shown to anyone and never written down unsealed.
#[tauri::command(rename_all = "snake_case", async)]
fn setup_device(
    state: tauri::State<'_, &'static AppState>,
    hub_url: String,
    code: String,
    device_name: String,
    lang: String,
) -> Result<AppStatus, ErrorBody> {
    let lang = lang_of(&lang);
    let path = state.path();
    let pending = state.pending_setup().clone();
    let key = match pending {
        Some(key) if path.exists() => key,
        _ => {
            kabinet_sync::HubAddress::parse(&hub_url)
                .map_err(|e| sync_error(&kabinet_sync::SyncError::Address(e), lang))?;
            if code.chars().filter(char::is_ascii_digit).count() < 12 {
                return Err(ErrorBody::invalid_field(
                    tr(lang, "Липсва код.", "The code is missing."),
                    "code",
                    tr(
                        lang,
                        "Код за регистрация: 12 цифри от оператора на Хъба (kabinet-hub enroll)",
                        "Enrollment code: 12 digits from the hub operator (kabinet-hub enroll)",
                    ),
                ));
            }
            // A store nobody can open (an earlier setup cut short) is only in the way.
            remove_store_files(&path);
            std::fs::create_dir_all(&state.data_dir)
                .map_err(|e| ErrorBody::new("store", e.to_string()))?;
            let key = StoreKey::Raw(rand::random());
            let mut store = Store::create(
                &path,
                &key,
                &DeviceSettings {
                    cabinet: "unenrolled".into(),
                    issuer: 1,
                },
            )
            .map_err(|e| store_error(&e, lang))?;
            let name = if device_name.trim().is_empty() {
                "kabinet"
            } else {
                device_name.trim()
            };
            let enrolled = off_runtime(|| kabinet_sync::enroll(&mut store, &hub_url, &code, name));
            if let Err(e) = enrolled {
                drop(store);
                remove_store_files(&path);
                return Err(sync_error(&e, lang));
            }
            *state.pending_setup() = Some(key.clone());
            key
        }
    };
    let ring = state.keyring_path();
    off_runtime(|| {
        let store = Store::open(&path, &key).map_err(|e| store_error(&e, lang))?;
        kabinet_sync::sync_users(&store, &ring, &key).map_err(|e| sync_error(&e, lang))
    })?;
    if Keyring::load(&ring).is_ok_and(|k| k.users().iter().any(|u| !u.disabled)) {
        *state.pending_setup() = None;
        Ok(status_of(&state))
    } else {
        Err(ErrorBody::new(
            "no_users",
            tr(
                lang,
                "Устройството е регистрирано, но в Хъба още няма потребители с неговите роли. Добавете ги в Хъба (kabinet-hub users add …) и натиснете „Опитай отново“, без да затваряте приложението.",
                "The device is enrolled, but the hub has no users of its roles yet. Add them at the hub (kabinet-hub users add …) and press “Try again” without closing the app.",
            ),
        ))
    }
}

fn login_error(e: &LoginError, lang: Lang) -> ErrorBody {
    let (field, bg, en) = match e {
        LoginError::UnknownUser(_) => (
            "user",
            "Потребител: няма такъв на това устройство; изберете от списъка (новите идват със синхронизация).".to_string(),
            "User: not on this device; pick one from the list (new users arrive by sync).".to_string(),
        ),
        LoginError::Disabled(_) => (
            "user",
            "Потребителят е деактивиран от Хъба.".to_string(),
            "This user was disabled at the hub.".to_string(),
        ),
        LoginError::Locked(_) => (
            "secret",
            "Потребителят е заключен след твърде много грешни опити; администратор в Хъба трябва да го нулира.".to_string(),
            "Locked after too many wrong tries; a hub admin must reset the user.".to_string(),
        ),
        LoginError::Wait { seconds } => (
            "secret",
            format!("Твърде много грешни опити; изчакайте {seconds} с и опитайте отново."),
            format!("Too many wrong tries; wait {seconds} s and try again."),
        ),
        LoginError::WrongSecret { tries_left } => (
            "secret",
            format!("Грешна парола или ПИН; остават {tries_left} опита преди заключване."),
            format!("Wrong password or PIN; {tries_left} tries left before the user is locked."),
        ),
        LoginError::Keyring(m) => return ErrorBody::new("store", m.clone()),
    };
    let message = tr(lang, &bg, &en);
    ErrorBody::invalid_field(message.clone(), field, message)
}

/// Logs a user in, offline: their secret unwraps their key, which opens the store key sealed
/// to them in the keyring.
#[tauri::command(rename_all = "snake_case", async)]
fn login(
    state: tauri::State<'_, &'static AppState>,
    user: String,
    secret: String,
    lang: String,
) -> Result<AppStatus, ErrorBody> {
    let lang = lang_of(&lang);
    let mut ring =
        Keyring::load(&state.keyring_path()).map_err(|e| ErrorBody::new("store", e.to_string()))?;
    let unlocked = ring
        .unlock(&user, &secret, Utc::now())
        .map_err(|e| login_error(&e, lang))?;
    let text = std::str::from_utf8(&unlocked.store_key)
        .map_err(|_| ErrorBody::new("store", "damaged keyring".to_string()))?;
    let key = StoreKey::from_text(text).map_err(|e| store_error(&e, lang))?;
    let store = Store::open(&state.path(), &key).map_err(|e| store_error(&e, lang))?;
    let role = Role::parse(&unlocked.user.role).unwrap_or(Role::Nurse);
    *state.session() = Some(Session {
        store,
        user: unlocked.user.display_name.clone(),
        login: unlocked.user.name.clone(),
        role,
        key,
        last_activity: Instant::now(),
    });
    *state.lock_reason.lock().unwrap_or_else(|p| p.into_inner()) = None;
    state.start_agent(AFTER_UNLOCK);
    Ok(status_of(&state))
}

#[tauri::command(rename_all = "snake_case")]
fn lock(state: tauri::State<'_, &'static AppState>) {
    state.end_session(None);
}

/// The user is at work (a key, a touch): the inactivity lock starts counting again.
#[tauri::command(rename_all = "snake_case")]
fn touch(state: tauri::State<'_, &'static AppState>) -> Result<(), ErrorBody> {
    let mut guard = state.live_session(Lang::Bg, false)?;
    if let Some(s) = guard.as_mut() {
        s.last_activity = Instant::now();
    }
    Ok(())
}

fn context(session: &Session, lang: Lang) -> Context {
    Context {
        lang,
        user: session.user.clone(),
        now: Utc::now(),
        roles: Some(vec![session.role]),
    }
}

/// One screen operation (see `kabinet_service::Request`).
#[tauri::command(rename_all = "snake_case", async)]
fn api(state: tauri::State<'_, &'static AppState>, call: Value) -> Result<Value, ErrorBody> {
    let lang = lang_of(call.get("lang").and_then(Value::as_str).unwrap_or("bg"));
    let call: Call = serde_json::from_value(call)
        .map_err(|e| ErrorBody::new("bad_request", format!("malformed call: {e}")))?;
    let mut guard = state.live_session(lang, false)?;
    let session = guard.as_mut().ok_or_else(|| locked(lang, None))?;
    session.last_activity = Instant::now();
    let ctx = context(session, lang);
    let writes = matches!(
        call.request,
        kabinet_service::Request::RegisterPerson { .. }
            | kabinet_service::Request::SaveVisit { .. }
            | kabinet_service::Request::UpdateReferral { .. }
            | kabinet_service::Request::WithdrawConsent { .. }
    );
    let answer = kabinet_service::handle(&mut session.store, &ctx, call.request)
        .map_err(|e| e.body(lang))?;
    drop(guard);
    if writes && let Some(agent) = state.agent().as_ref() {
        agent.sync_now();
    }
    Ok(answer)
}

#[derive(Serialize)]
struct SyncView {
    #[serde(flatten)]
    agent: Option<AgentView>,
    hub_url: Option<String>,
}

#[tauri::command(rename_all = "snake_case")]
fn sync_view(state: tauri::State<'_, &'static AppState>) -> Result<SyncView, ErrorBody> {
    let hub_url = state
        .live_session(Lang::Bg, true)?
        .as_ref()
        .ok_or_else(|| locked(Lang::Bg, None))?
        .store
        .meta("sync.hub_url")
        .ok()
        .flatten();
    Ok(SyncView {
        agent: state.agent().as_ref().map(SyncAgent::view),
        hub_url,
    })
}

#[tauri::command(rename_all = "snake_case")]
fn sync_now(state: tauri::State<'_, &'static AppState>) {
    if let Some(agent) = state.agent().as_ref() {
        agent.sync_now();
    }
}

#[tauri::command(rename_all = "snake_case", async)]
fn enroll(
    state: tauri::State<'_, &'static AppState>,
    hub_url: String,
    code: String,
    device_name: String,
    lang: String,
) -> Result<Option<String>, ErrorBody> {
    let lang = lang_of(&lang);
    let fingerprint = {
        let mut guard = state.live_session(lang, false)?;
        let session = guard.as_mut().ok_or_else(|| locked(lang, None))?;
        let key = session.key.clone();
        let store = &mut session.store;
        let ring = state.keyring_path();
        off_runtime(|| {
            let enrolled = kabinet_sync::enroll(store, &hub_url, &code, device_name.trim())?;
            kabinet_sync::sync_users(store, &ring, &key)?;
            Ok(enrolled.fingerprint)
        })
        .map_err(|e: kabinet_sync::SyncError| sync_error(&e, lang))?
    };
    state.start_agent(std::time::Duration::ZERO);
    Ok(fingerprint)
}

/// Writes the slips of some referrals as one PDF under the app's data directory and opens it
/// in the system's PDF viewer (its print dialog and "Save as" are there). Returns the file.
#[tauri::command(rename_all = "snake_case", async)]
fn print_slips(
    state: tauri::State<'_, &'static AppState>,
    ids: Vec<uuid::Uuid>,
    paper: String,
    lang: String,
) -> Result<String, ErrorBody> {
    let lang = lang_of(&lang);
    let pdf = {
        let mut guard = state.live_session(lang, false)?;
        let session = guard.as_mut().ok_or_else(|| locked(lang, None))?;
        let ctx = context(session, lang);
        kabinet_service::referrals::slips_pdf(&mut session.store, &ctx, &ids, &paper)
            .map_err(|e| e.body(lang))?
    };
    // Slips hold names: they stay in the app's own directory, not in /tmp.
    let dir = state.data_dir.join("slips");
    std::fs::create_dir_all(&dir).map_err(|e| ErrorBody::new("store", e.to_string()))?;
    let path = dir.join(format!(
        "slips-{}.pdf",
        Utc::now().format("%Y%m%d-%H%M%S%3f")
    ));
    std::fs::write(&path, pdf).map_err(|e| ErrorBody::new("store", e.to_string()))?;
    if std::env::var_os("KABINET_NO_VIEWER").is_none() {
        // The desktop's viewer; a missing one is not an error (the file is there).
        let _ = std::process::Command::new("xdg-open").arg(&path).spawn();
    }
    Ok(path.to_string_lossy().into_owned())
}

pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let data_dir = match std::env::var_os("KABINET_APP_DATA") {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            // One state for the whole process; leaked so the agent thread can hold it.
            let idle_lock = std::env::var("KABINET_IDLE_LOCK_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map_or(IDLE_LOCK, std::time::Duration::from_millis);
            let state: &'static AppState = Box::leak(Box::new(AppState {
                data_dir,
                session: Mutex::new(None),
                agent: Mutex::new(None),
                pending_setup: Mutex::new(None),
                idle_lock,
                lock_reason: Mutex::new(None),
            }));
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_status,
            setup_device,
            login,
            lock,
            touch,
            api,
            sync_view,
            sync_now,
            enroll,
            print_slips
        ])
        .run(tauri::generate_context!())
        .expect("error while running Kabinet");
}
