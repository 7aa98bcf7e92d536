//! The cabinet device's session, without Tauri: first-start setup, offline login, the
//! inactivity lock, the screens' calls and slips, and the sync agent beside the store. The
//! app shell (`src-tauri`) only wires its commands to [`Device`]'s methods, so everything a
//! nurse meets before and around the screens is tested here, with a clock tests can move.

use chrono::{DateTime, Utc};
use kabinet_core::{Lang, Role};
use kabinet_keys::{Keyring, LoginError, UserSummary};
use kabinet_service::{Call, Context, ErrorBody, ErrorKind, Response};
use kabinet_store::{DeviceSettings, Store, StoreError, StoreKey};
use kabinet_sync::{AgentOptions, AgentView, SyncAgent, SyncError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

mod slips;
pub use slips::SLIP_FILE_LIFETIME;

/// The store's file in the app's data directory; its keyring sits beside it.
pub const STORE_FILE: &str = "cabinet.db";
/// The sync agent starts this long after a login, once the first screen is up.
pub const AGENT_AFTER_LOGIN: Duration = Duration::from_millis(1500);
/// Locked after this long without a touch, a key or a call.
pub const IDLE_LOCK: Duration = Duration::from_secs(5 * 60);

/// The time, as the device sees it. Tests move it forward instead of waiting.
pub trait Clock: Send + Sync {
    /// For the inactivity lock (monotonic).
    fn instant(&self) -> Instant;
    /// For wrong-try waits and what is recorded.
    fn utc(&self) -> DateTime<Utc>;
}

/// The machine's own clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn instant(&self) -> Instant {
        Instant::now()
    }
    fn utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Where the app stands: what the first screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    /// No store, or nobody can open it yet (first start, or setup not finished).
    Setup,
    Locked,
    Unlocked,
}

/// Why the last session ended, for the login screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LockReason {
    /// Nobody touched the app for the idle-lock time.
    Idle,
    /// The user was disabled at the hub (learnt at a sync).
    Disabled,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStatus {
    pub state: AppState,
    pub unlocked: bool,
    pub user: Option<String>,
    pub role: Option<Role>,
    pub cabinet: Option<String>,
    /// The users who may log in on this device.
    pub users: Vec<UserSummary>,
    pub idle_lock_ms: u64,
    pub lock_reason: Option<LockReason>,
}

/// The sync bar's view: the agent's state and the hub it syncs with.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(untagged)]
pub enum SyncView {
    /// The agent runs: its state, last success and pending changes.
    Running {
        #[serde(flatten)]
        agent: AgentView,
        hub_url: Option<String>,
    },
    /// Just logged in: the agent starts in a moment.
    Starting { hub_url: Option<String> },
}

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

/// One device: its data directory, the session when someone is logged in, the sync agent.
pub struct Device {
    data_dir: PathBuf,
    session: Mutex<Option<Session>>,
    /// Started after a login, beside the session (its own connection to the store).
    agent: Mutex<Option<SyncAgent>>,
    /// A store just made and enrolled whose hub has no users for it yet: its key lives only
    /// here until a user arrives, so "try again" can finish the setup.
    pending_setup: Mutex<Option<StoreKey>>,
    /// Held through a login, so two logins of this app are counted one after the other.
    logging_in: Mutex<()>,
    idle_lock: Duration,
    lock_reason: Mutex<Option<LockReason>>,
    agent_options: AgentOptions,
    clock: Box<dyn Clock>,
    slips: slips::SlipFolder,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not lock the nurse out: the data behind the lock stays whole.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn store_error(e: &StoreError, lang: Lang) -> ErrorBody {
    ErrorBody::new(ErrorKind::Store, e.message(lang))
}

fn sync_error(e: &SyncError, lang: Lang) -> ErrorBody {
    match e {
        SyncError::Address(_) => ErrorBody::invalid_field(
            lang.pick("Невалиден адрес.", "Invalid address."),
            "hub_url",
            e.message(lang),
        ),
        SyncError::BadCode => ErrorBody::invalid_field(
            lang.pick("Невалиден код.", "Invalid code."),
            "code",
            e.message(lang),
        ),
        SyncError::UnconfirmedCertificate { presented } => ErrorBody {
            fingerprint: Some(presented.clone()),
            ..ErrorBody::new(ErrorKind::ConfirmFingerprint, e.message(lang))
        },
        _ => ErrorBody::new(ErrorKind::Enroll, e.message(lang)),
    }
}

fn login_error(e: &LoginError, lang: Lang) -> ErrorBody {
    let message = e.message(lang);
    match e.field() {
        Some(field) => ErrorBody::invalid_field(message.clone(), field, message),
        None => ErrorBody::new(ErrorKind::Store, message),
    }
}

/// The answer to a call made while nobody is logged in, or after the session ended.
pub fn locked(lang: Lang, reason: Option<LockReason>) -> ErrorBody {
    let message = match reason {
        Some(LockReason::Idle) => lang.pick(
            "Заключено след неактивност; влезте отново.",
            "Locked after inactivity; log in again.",
        ),
        Some(LockReason::Disabled) => lang.pick(
            "Потребителят е деактивиран от Хъба; приложението е заключено.",
            "The user was disabled at the hub; the app is locked.",
        ),
        None => lang.pick(
            "Приложението е заключено; влезте.",
            "The app is locked; log in.",
        ),
    };
    ErrorBody::new(ErrorKind::Locked, message)
}

fn remove_store_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Runs blocking network work off the caller's thread (the shell's async runtime must not
/// block; reqwest's blocking client has a runtime of its own).
fn off_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("the network thread panicked"))
}

impl Device {
    pub fn new(data_dir: PathBuf) -> Device {
        Device {
            data_dir: data_dir.clone(),
            session: Mutex::new(None),
            agent: Mutex::new(None),
            pending_setup: Mutex::new(None),
            logging_in: Mutex::new(()),
            idle_lock: IDLE_LOCK,
            lock_reason: Mutex::new(None),
            agent_options: AgentOptions::default(),
            clock: Box::new(SystemClock),
            slips: slips::SlipFolder::for_data_dir(&data_dir),
        }
    }

    pub fn with_idle_lock(mut self, idle_lock: Duration) -> Device {
        self.idle_lock = idle_lock;
        self
    }

    pub fn with_agent_options(mut self, options: AgentOptions) -> Device {
        self.agent_options = options;
        self
    }

    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Device {
        self.clock = Box::new(clock);
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join(STORE_FILE)
    }

    fn keyring_path(&self) -> PathBuf {
        Keyring::beside(&self.store_path())
    }

    fn session(&self) -> MutexGuard<'_, Option<Session>> {
        lock(&self.session)
    }

    fn agent(&self) -> MutexGuard<'_, Option<SyncAgent>> {
        lock(&self.agent)
    }

    fn lock_reason(&self) -> Option<LockReason> {
        *lock(&self.lock_reason)
    }

    /// Ends the session: the store is closed and its key dropped; nothing stays open.
    fn end_session(&self, reason: Option<LockReason>) {
        *self.session() = None;
        // Slips name people and what they were referred for: none outlives the session.
        self.slips.clear();
        *lock(&self.lock_reason) = reason;
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
    ) -> Result<MutexGuard<'_, Option<Session>>, ErrorBody> {
        let guard = self.session();
        let Some(s) = guard.as_ref() else {
            return Err(locked(lang, self.lock_reason()));
        };
        let idle = self
            .clock
            .instant()
            .saturating_duration_since(s.last_activity);
        let reason = if idle > self.idle_lock {
            Some(LockReason::Idle)
        } else if check_user
            && !Keyring::load(&self.keyring_path()).is_ok_and(|k| k.is_active(&s.login))
        {
            Some(LockReason::Disabled)
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

    pub fn status(&self) -> AppStatus {
        let users = Keyring::load(&self.keyring_path())
            .map(|k| k.users())
            .unwrap_or_default();
        let session = self.session();
        let ready = self.store_path().exists() && !users.is_empty();
        let state = match (session.is_some(), ready) {
            (true, _) => AppState::Unlocked,
            (false, true) => AppState::Locked,
            (false, false) => AppState::Setup,
        };
        AppStatus {
            state,
            unlocked: session.is_some(),
            user: session.as_ref().map(|s| s.user.clone()),
            role: session.as_ref().map(|s| s.role),
            cabinet: session
                .as_ref()
                .and_then(|s| s.store.settings().ok())
                .map(|s| s.cabinet),
            users,
            idle_lock_ms: u64::try_from(self.idle_lock.as_millis()).unwrap_or(u64::MAX),
            lock_reason: if session.is_some() {
                None
            } else {
                self.lock_reason()
            },
        }
    }

    /// First start: make the store with a fresh random key, enroll it with the hub by the
    /// operator's one-time code, and take the hub's users for this device, sealing the key to
    /// each. The key is never shown to anyone and never written down unsealed.
    pub fn setup(
        &self,
        hub_url: &str,
        code: &str,
        device_name: &str,
        lang: Lang,
    ) -> Result<AppStatus, ErrorBody> {
        let path = self.store_path();
        let pending = lock(&self.pending_setup).clone();
        let key = match pending {
            Some(key) if path.exists() => key,
            _ => {
                kabinet_sync::HubAddress::parse(hub_url)
                    .map_err(|e| sync_error(&SyncError::Address(e), lang))?;
                kabinet_sync::EnrollmentCode::parse(code).map_err(|e| sync_error(&e, lang))?;
                // A store nobody can open (an earlier setup cut short) is only in the way.
                remove_store_files(&path);
                std::fs::create_dir_all(&self.data_dir)
                    .map_err(|e| ErrorBody::new(ErrorKind::Store, e.to_string()))?;
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
                let name = match device_name.trim() {
                    "" => "kabinet",
                    name => name,
                };
                let enrolled = off_thread(|| kabinet_sync::enroll(&mut store, hub_url, code, name));
                if let Err(e) = enrolled {
                    drop(store);
                    remove_store_files(&path);
                    return Err(sync_error(&e, lang));
                }
                *lock(&self.pending_setup) = Some(key.clone());
                key
            }
        };
        let ring = self.keyring_path();
        off_thread(|| {
            let store = Store::open(&path, &key).map_err(|e| store_error(&e, lang))?;
            kabinet_sync::sync_users(&store, &ring, &key).map_err(|e| sync_error(&e, lang))
        })?;
        if Keyring::load(&ring).is_ok_and(|k| k.users().iter().any(|u| !u.disabled)) {
            *lock(&self.pending_setup) = None;
            Ok(self.status())
        } else {
            Err(ErrorBody::new(
                ErrorKind::NoUsers,
                lang.pick(
                    "Устройството е регистрирано, но в Хъба още няма потребители с неговите роли. Добавете ги в Хъба (kabinet-hub users add …) и натиснете „Опитай отново“, без да затваряте приложението.",
                    "The device is enrolled, but the hub has no users of its roles yet. Add them at the hub (kabinet-hub users add …) and press “Try again” without closing the app.",
                ),
            ))
        }
    }

    /// Logs a user in, offline: their secret unwraps their key, which opens the store key
    /// sealed to them in the keyring, with who they are (login, name, role) sealed beside it.
    /// Wrong tries are counted (and waited for) by the keyring.
    pub fn login(&self, user: &str, secret: &str, lang: Lang) -> Result<AppStatus, ErrorBody> {
        // One login at a time in this app (the keyring's lock covers other processes).
        let _one = lock(&self.logging_in);
        let mut ring = Keyring::load(&self.keyring_path())
            .map_err(|e| ErrorBody::new(ErrorKind::Store, e.to_string()))?;
        let unlocked = ring
            .unlock(user, secret, self.clock.utc())
            .map_err(|e| login_error(&e, lang))?;
        let text = Zeroizing::new(
            String::from_utf8(unlocked.store_key.to_vec())
                .map_err(|_| ErrorBody::new(ErrorKind::Store, "damaged keyring".to_string()))?,
        );
        let key = StoreKey::from_text(&text).map_err(|e| store_error(&e, lang))?;
        let mut store = Store::open(&self.store_path(), &key).map_err(|e| store_error(&e, lang))?;
        let tampered = || login_error(&LoginError::Tampered(unlocked.user.name.clone()), lang);
        // Once a user was found sealed with the store key, an entry sealed the old way can
        // only be an old copy of the keyring put back.
        let seals_users = store
            .meta(kabinet_store::meta::KEYRING_SEALS_USERS)
            .map_err(|e| store_error(&e, lang))?
            .is_some();
        match (unlocked.sealed_user, seals_users) {
            (false, true) => return Err(tampered()),
            (true, false) => store
                .write(kabinet_store::Origin::Local, |w| {
                    w.set_meta(kabinet_store::meta::KEYRING_SEALS_USERS, "1")
                })
                .map_err(|e| store_error(&e, lang))?,
            _ => {}
        }
        // A role this build does not know opens nothing rather than a nurse's view.
        let role = Role::parse(&unlocked.user.role).ok_or_else(|| {
            ErrorBody::new(
                ErrorKind::Store,
                lang.pick(
                    "Непозната роля на потребителя; обновете приложението.",
                    "The user's role is unknown to this app; update the app.",
                ),
            )
        })?;
        *self.session() = Some(Session {
            store,
            user: unlocked.user.display_name.clone(),
            login: unlocked.user.name.clone(),
            role,
            key,
            last_activity: self.clock.instant(),
        });
        *lock(&self.lock_reason) = None;
        Ok(self.status())
    }

    pub fn lock(&self) {
        self.end_session(None);
    }

    /// The user is at work (a key, a touch): the inactivity lock starts counting again.
    pub fn touch(&self) -> Result<(), ErrorBody> {
        self.slips.sweep(self.clock.instant());
        let mut guard = self.live_session(Lang::Bg, false)?;
        if let Some(s) = guard.as_mut() {
            s.last_activity = self.clock.instant();
        }
        Ok(())
    }

    fn context(&self, session: &Session, lang: Lang) -> Context {
        Context {
            lang,
            user: session.user.clone(),
            login: session.login.clone(),
            now: self.clock.utc(),
            roles: Some(vec![session.role]),
        }
    }

    /// One screen operation (see `kabinet_service::Request`). A write asks the agent to sync
    /// right after.
    pub fn call(&self, call: Call) -> Result<Response, ErrorBody> {
        let lang = call.lang;
        let mut guard = self.live_session(lang, false)?;
        let session = guard.as_mut().ok_or_else(|| locked(lang, None))?;
        session.last_activity = self.clock.instant();
        let ctx = self.context(session, lang);
        let writes = call.request.writes();
        let answer = kabinet_service::handle(&mut session.store, &ctx, call.request)
            .map_err(|e| e.body(lang))?;
        drop(guard);
        if writes && let Some(agent) = self.agent().as_ref() {
            agent.sync_now();
        }
        Ok(answer)
    }

    pub fn sync_view(&self) -> Result<SyncView, ErrorBody> {
        let hub_url = self
            .live_session(Lang::Bg, true)?
            .as_ref()
            .ok_or_else(|| locked(Lang::Bg, None))?
            .store
            .meta(kabinet_store::meta::HUB_URL)
            .ok()
            .flatten();
        Ok(match self.agent().as_ref() {
            Some(agent) => SyncView::Running {
                agent: agent.view(),
                hub_url,
            },
            None => SyncView::Starting { hub_url },
        })
    }

    pub fn sync_now(&self) {
        if let Some(agent) = self.agent().as_ref() {
            agent.sync_now();
        }
    }

    /// Enrolls an unlocked store with a (new) hub; answers the pinned certificate's
    /// fingerprint.
    pub fn enroll(
        &self,
        hub_url: &str,
        code: &str,
        device_name: &str,
        lang: Lang,
    ) -> Result<Option<String>, ErrorBody> {
        let mut guard = self.live_session(lang, false)?;
        let session = guard.as_mut().ok_or_else(|| locked(lang, None))?;
        let key = session.key.clone();
        let store = &mut session.store;
        let ring = self.keyring_path();
        off_thread(|| {
            let enrolled = kabinet_sync::enroll(store, hub_url, code, device_name.trim())?;
            kabinet_sync::sync_users(store, &ring, &key)?;
            Ok(enrolled.fingerprint)
        })
        .map_err(|e: SyncError| sync_error(&e, lang))
    }

    /// The slips of some referrals as one PDF, for the desktop's viewer: a private file that
    /// goes soon after (see [`SLIP_FILE_LIFETIME`]). Answers the file.
    pub fn print_slips(
        &self,
        ids: &[uuid::Uuid],
        paper: &str,
        anonymous: Option<bool>,
        lang: Lang,
    ) -> Result<PathBuf, ErrorBody> {
        let pdf = {
            let mut guard = self.live_session(lang, false)?;
            let session = guard.as_mut().ok_or_else(|| locked(lang, None))?;
            let ctx = self.context(session, lang);
            kabinet_service::referrals::slips_pdf(&mut session.store, &ctx, ids, paper, anonymous)
                .map_err(|e| e.body(lang))?
        };
        let name = format!(
            "slips-{}-{}.pdf",
            self.clock.utc().format("%Y%m%d-%H%M%S%3f"),
            uuid::Uuid::new_v4().simple()
        );
        self.slips
            .write(&name, &pdf, self.clock.instant())
            .map_err(|e| ErrorBody::new(ErrorKind::Store, e.to_string()))
    }

    /// Where printed slips are written for the viewer (private, short-lived).
    pub fn slip_dir(&self) -> &Path {
        self.slips.dir()
    }

    /// The app quits: the session ends and no slip file stays behind.
    pub fn shut_down(&self) {
        self.end_session(None);
    }
}

/// The sync agent runs on its own thread and holds the device while it starts.
pub trait StartAgent {
    /// (Re)starts the sync agent `after` a pause: opening a second connection costs a key
    /// derivation, which must not compete with the first screen.
    fn start_agent(&self, after: Duration);
}

impl StartAgent for Arc<Device> {
    fn start_agent(&self, after: Duration) {
        let key = match self.session().as_ref() {
            Some(s) => s.key.clone(),
            None => return,
        };
        let path = self.store_path();
        let mut options = self.agent_options.clone();
        options.keyring = Some(self.keyring_path());
        let device = Arc::clone(self);
        std::thread::spawn(move || {
            std::thread::sleep(after);
            if let Some(old) = device.agent().take() {
                old.stop();
            }
            if device.session().is_none() {
                return; // locked meanwhile
            }
            match SyncAgent::start(path, key, options) {
                Ok(agent) => *device.agent() = Some(agent),
                Err(e) => tracing::warn!(error = %e, "the sync agent did not start"),
            }
        });
    }
}

#[cfg(test)]
mod tests;
