use chrono::Utc;
use kabinet_core::Lang;
use kabinet_service::{Call, Context, ErrorBody};
use kabinet_store::{DeviceSettings, Store, StoreError, StoreKey};
use kabinet_sync::{AgentOptions, AgentView, SyncAgent};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::Manager;

const STORE_FILE: &str = "cabinet.db";
const MIN_PASSPHRASE: usize = 8;
/// The sync agent starts this long after unlocking, once the Today screen is up.
const AFTER_UNLOCK: std::time::Duration = std::time::Duration::from_millis(1500);

/// An unlocked store and who unlocked it.
struct Session {
    store: Store,
    user: String,
    key: StoreKey,
}

struct AppState {
    data_dir: PathBuf,
    session: Mutex<Option<Session>>,
    /// Started after unlock, beside the session (its own connection to the store).
    agent: Mutex<Option<SyncAgent>>,
}

impl AppState {
    fn path(&self) -> PathBuf {
        self.data_dir.join(STORE_FILE)
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn agent(&self) -> std::sync::MutexGuard<'_, Option<SyncAgent>> {
        self.agent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (Re)starts the sync agent on its own thread, `after` a pause: opening a second
    /// connection costs a key derivation, which must not compete with the first screen.
    fn start_agent(&'static self, after: std::time::Duration) {
        let (path, key) = match self.session().as_ref() {
            Some(s) => (self.path(), s.key.clone()),
            None => return,
        };
        std::thread::spawn(move || {
            std::thread::sleep(after);
            if let Some(old) = self.agent().take() {
                old.stop();
            }
            match SyncAgent::start(path, key, agent_options()) {
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
    match e {
        StoreError::WrongKey { .. } => ErrorBody::new(
            "wrong_key",
            tr(
                lang,
                "Грешна парола: базата данни не може да се отключи с нея. Проверете клавиатурата (кирилица/латиница, главни букви).",
                "Wrong passphrase: it does not unlock the database. Check the keyboard layout (Cyrillic/Latin, caps lock).",
            ),
        ),
        other => ErrorBody::new("store", other.message(lang)),
    }
}

fn locked(lang: Lang) -> ErrorBody {
    ErrorBody::new(
        "locked",
        tr(
            lang,
            "Приложението е заключено; отключете го.",
            "The app is locked; unlock it.",
        ),
    )
}

fn check_user(user: &str, lang: Lang) -> Result<String, ErrorBody> {
    let user = user.trim();
    if user.is_empty() {
        return Err(ErrorBody::invalid_field(
            tr(lang, "Въведете името си.", "Type your name."),
            "user",
            tr(
                lang,
                "Специалист: задължително поле; въведете името си, то се записва в прегледите.",
                "Specialist: required; type your name, it is recorded on visits.",
            ),
        ));
    }
    Ok(user.to_string())
}

#[derive(Serialize)]
struct AppStatus {
    exists: bool,
    unlocked: bool,
    user: Option<String>,
    cabinet: Option<String>,
}

#[tauri::command(rename_all = "snake_case")]
fn app_status(state: tauri::State<'_, &'static AppState>) -> AppStatus {
    let session = state.session();
    AppStatus {
        exists: state.path().exists(),
        unlocked: session.is_some(),
        user: session.as_ref().map(|s| s.user.clone()),
        cabinet: session
            .as_ref()
            .and_then(|s| s.store.settings().ok())
            .map(|s| s.cabinet),
    }
}

#[tauri::command(rename_all = "snake_case", async)]
fn create_store(
    state: tauri::State<'_, &'static AppState>,
    cabinet: String,
    passphrase: String,
    user: String,
    lang: String,
) -> Result<AppStatus, ErrorBody> {
    let lang = lang_of(&lang);
    let user = check_user(&user, lang)?;
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(ErrorBody::invalid_field(
            tr(
                lang,
                "Паролата е твърде къса.",
                "The passphrase is too short.",
            ),
            "passphrase",
            tr(
                lang,
                "Парола: поне 8 знака; изберете фраза, която помните, без нея данните не могат да се отворят.",
                "Passphrase: at least 8 characters; choose a phrase you remember, without it the data cannot be opened.",
            ),
        ));
    }
    let cabinet = cabinet.trim();
    let cabinet = if cabinet.is_empty() {
        "cabinet-1"
    } else {
        cabinet
    };
    std::fs::create_dir_all(&state.data_dir).map_err(|e| ErrorBody::new("store", e.to_string()))?;
    let key = StoreKey::Passphrase(passphrase);
    let store = Store::create(
        &state.path(),
        &key,
        &DeviceSettings {
            cabinet: cabinet.to_string(),
            issuer: 1,
        },
    )
    .map_err(|e| store_error(&e, lang))?;
    *state.session() = Some(Session { store, user, key });
    state.start_agent(AFTER_UNLOCK);
    Ok(app_status(state))
}

#[tauri::command(rename_all = "snake_case", async)]
fn unlock(
    state: tauri::State<'_, &'static AppState>,
    passphrase: String,
    user: String,
    lang: String,
) -> Result<AppStatus, ErrorBody> {
    let lang = lang_of(&lang);
    let user = check_user(&user, lang)?;
    let key = StoreKey::from_text(&passphrase).map_err(|e| store_error(&e, lang))?;
    let store = Store::open(&state.path(), &key).map_err(|e| store_error(&e, lang))?;
    *state.session() = Some(Session { store, user, key });
    state.start_agent(AFTER_UNLOCK);
    Ok(app_status(state))
}

#[tauri::command(rename_all = "snake_case")]
fn lock(state: tauri::State<'_, &'static AppState>) {
    *state.session() = None;
    if let Some(agent) = state.agent().take() {
        agent.stop();
    }
}

/// One screen operation (see `kabinet_service::Request`).
#[tauri::command(rename_all = "snake_case", async)]
fn api(state: tauri::State<'_, &'static AppState>, call: Value) -> Result<Value, ErrorBody> {
    let lang = lang_of(call.get("lang").and_then(Value::as_str).unwrap_or("bg"));
    let call: Call = serde_json::from_value(call)
        .map_err(|e| ErrorBody::new("bad_request", format!("malformed call: {e}")))?;
    let mut guard = state.session();
    let session = guard.as_mut().ok_or_else(|| locked(lang))?;
    let ctx = Context {
        lang,
        user: session.user.clone(),
        now: Utc::now(),
        roles: None,
    };
    let writes = matches!(
        call.request,
        kabinet_service::Request::RegisterPerson { .. }
            | kabinet_service::Request::SaveVisit { .. }
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
        .session()
        .as_ref()
        .ok_or_else(|| locked(Lang::Bg))?
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
) -> Result<(), ErrorBody> {
    let lang = lang_of(&lang);
    let hub_url = hub_url.trim().trim_end_matches('/').to_string();
    if !(hub_url.starts_with("http://") || hub_url.starts_with("https://")) {
        return Err(ErrorBody::invalid_field(
            tr(lang, "Невалиден адрес.", "Invalid address."),
            "hub_url",
            tr(
                lang,
                "Адрес на Хъба: започва с http:// или https://, напр. https://hub.pernik.bg:8750",
                "Hub address: starts with http:// or https://, e.g. https://hub.pernik.bg:8750",
            ),
        ));
    }
    {
        let mut guard = state.session();
        let session = guard.as_mut().ok_or_else(|| locked(lang))?;
        // reqwest's blocking client runs its own runtime, which must not live on one of the
        // async runtime's threads: enroll from a plain thread.
        let store = &mut session.store;
        std::thread::scope(|s| {
            s.spawn(|| kabinet_sync::enroll(store, &hub_url, &code, device_name.trim()))
                .join()
                .unwrap_or_else(|_| {
                    Err(kabinet_sync::SyncError::Unreachable(
                        "the enrollment thread failed".into(),
                    ))
                })
        })
        .map_err(
            |e| {
                let message = match (&e, lang) {
                    (kabinet_sync::SyncError::Unreachable(_), Lang::Bg) => {
                        "Хъбът не отговаря на този адрес; проверете адреса и връзката.".to_string()
                    }
                    (kabinet_sync::SyncError::Refused { status: 401, .. }, Lang::Bg) => {
                        "Кодът не е приет (непознат, използван или изтекъл); поискайте нов код от оператора на Хъба.".to_string()
                    }
                    _ => e.to_string(),
                };
                ErrorBody::new("enroll", message)
            },
        )?;
    }
    state.start_agent(std::time::Duration::ZERO);
    Ok(())
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
        let guard = state.session();
        let session = guard.as_ref().ok_or_else(|| locked(lang))?;
        let ctx = Context {
            lang,
            user: session.user.clone(),
            now: Utc::now(),
            roles: None,
        };
        kabinet_service::referrals::slips_pdf(&session.store, &ctx, &ids, &paper)
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
            let state: &'static AppState = Box::leak(Box::new(AppState {
                data_dir,
                session: Mutex::new(None),
                agent: Mutex::new(None),
            }));
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_status,
            create_store,
            unlock,
            lock,
            api,
            sync_view,
            sync_now,
            enroll,
            print_slips
        ])
        .run(tauri::generate_context!())
        .expect("error while running Kabinet");
}
