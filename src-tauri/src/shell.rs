//! Tauri commands wired to [`kabinet_device::Device`]: each command parses its arguments,
//! calls the device and hands back the answer. What the commands do (setup, login, the
//! inactivity lock, calls, slips) lives and is tested in `kabinet-device`.

use kabinet_core::Lang;
use kabinet_device::{AppStatus, Device, StartAgent, SyncView};
use kabinet_service::{Call, ErrorBody, Response};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::Manager;

type State<'a> = tauri::State<'a, Arc<Device>>;

#[tauri::command(rename_all = "snake_case")]
fn app_status(device: State<'_>) -> AppStatus {
    device.status()
}

#[tauri::command(rename_all = "snake_case", async)]
fn setup_device(
    device: State<'_>,
    hub_url: String,
    code: String,
    device_name: String,
    lang: String,
) -> Result<AppStatus, ErrorBody> {
    device.setup(&hub_url, &code, &device_name, Lang::from_code(&lang))
}

#[tauri::command(rename_all = "snake_case", async)]
fn login(
    device: State<'_>,
    user: String,
    secret: String,
    lang: String,
) -> Result<AppStatus, ErrorBody> {
    // The typed PIN is wiped from memory once checked.
    let secret = zeroize::Zeroizing::new(secret);
    let status = device.login(&user, &secret, Lang::from_code(&lang))?;
    device.start_agent(kabinet_device::AGENT_AFTER_LOGIN);
    Ok(status)
}

#[tauri::command(rename_all = "snake_case")]
fn lock(device: State<'_>) {
    device.lock();
}

#[tauri::command(rename_all = "snake_case")]
fn touch(device: State<'_>) -> Result<(), ErrorBody> {
    device.touch()
}

/// One screen operation (see `kabinet_service::Request`).
#[tauri::command(rename_all = "snake_case", async)]
fn api(device: State<'_>, call: serde_json::Value) -> Result<Response, ErrorBody> {
    let call: Call = serde_json::from_value(call).map_err(|e| {
        ErrorBody::new(
            kabinet_service::ErrorKind::BadRequest,
            format!("malformed call: {e}"),
        )
    })?;
    device.call(call)
}

#[tauri::command(rename_all = "snake_case")]
fn sync_view(device: State<'_>) -> Result<SyncView, ErrorBody> {
    device.sync_view()
}

#[tauri::command(rename_all = "snake_case")]
fn sync_now(device: State<'_>) {
    device.sync_now();
}

#[tauri::command(rename_all = "snake_case", async)]
fn enroll(
    device: State<'_>,
    hub_url: String,
    code: String,
    device_name: String,
    lang: String,
) -> Result<Option<String>, ErrorBody> {
    let fingerprint = device.enroll(&hub_url, &code, &device_name, Lang::from_code(&lang))?;
    device.start_agent(Duration::ZERO);
    Ok(fingerprint)
}

/// Writes the slips as one PDF and opens it in the system's PDF viewer (its print dialog and
/// "Save as" are there). Returns the file, which is private and removed soon after (on lock,
/// on quit, or once the viewer has had time to open it).
#[tauri::command(rename_all = "snake_case", async)]
fn print_slips(
    device: State<'_>,
    ids: Vec<uuid::Uuid>,
    paper: String,
    anonymous: Option<bool>,
    lang: String,
) -> Result<String, ErrorBody> {
    let path = device.print_slips(&ids, &paper, anonymous, Lang::from_code(&lang))?;
    if std::env::var_os("KABINET_NO_VIEWER").is_none() {
        // The desktop's viewer; a missing one is not an error (the file is there).
        let _ = std::process::Command::new("xdg-open").arg(&path).spawn();
    }
    Ok(path.to_string_lossy().into_owned())
}

/// Tests and demos shorten the waits (`KABINET_SYNC_INTERVAL_MS`); the defaults suit the van.
fn agent_options() -> kabinet_sync::AgentOptions {
    let mut o = kabinet_sync::AgentOptions::default();
    if let Some(ms) = std::env::var("KABINET_SYNC_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        o.interval = Duration::from_millis(ms);
        o.backoff_start = Duration::from_millis(ms.min(2000));
        o.backoff_max = Duration::from_millis(ms.max(2000));
    }
    o
}

pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let data_dir = match std::env::var_os("KABINET_APP_DATA") {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            let idle_lock = std::env::var("KABINET_IDLE_LOCK_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map_or(kabinet_device::IDLE_LOCK, Duration::from_millis);
            app.manage(Arc::new(
                Device::new(data_dir)
                    .with_idle_lock(idle_lock)
                    .with_agent_options(agent_options()),
            ));
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
        .build(tauri::generate_context!())
        .expect("error while building Kabinet")
        .run(|app, event| {
            // Quitting ends the session and removes any slip file still waiting for the viewer.
            if let tauri::RunEvent::Exit = event
                && let Some(device) = app.try_state::<Arc<Device>>()
            {
                device.shut_down();
            }
        });
}
