//! A real hub process on loopback for the tests, killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key of the devices' test databases.
pub const DEVICE_KEY: kabinet_store::StoreKey = kabinet_store::StoreKey::Raw([3; 32]);

/// A new device database in `dir`, enrolled with `hub` for `cabinet` (a cabinet's device:
/// nurse and doctor).
pub fn enrolled_device(
    dir: &Path,
    name: &str,
    hub: &HubProcess,
    cabinet: &str,
) -> kabinet_store::Store {
    enrolled_device_with_roles(dir, name, hub, cabinet, &[])
}

/// Like [`enrolled_device`], for a device whose users have `roles` (empty: the default).
pub fn enrolled_device_with_roles(
    dir: &Path,
    name: &str,
    hub: &HubProcess,
    cabinet: &str,
    roles: &[&str],
) -> kabinet_store::Store {
    let settings = kabinet_store::DeviceSettings {
        cabinet: "unenrolled".into(),
        issuer: 1,
    };
    let mut store =
        kabinet_store::Store::create(&dir.join(format!("{name}.db")), &DEVICE_KEY, &settings)
            .unwrap();
    let code = hub.enrollment_code_for(cabinet, roles);
    kabinet_sync::enroll(&mut store, &hub.url(), &code, name).unwrap();
    store
}

/// A hub at `binary` with a cabinet's device (nurse, doctor) and an education mediator's
/// device, all under `dir`.
pub fn cabinet_and_mediator(
    binary: &Path,
    dir: &Path,
) -> (HubProcess, kabinet_store::Store, kabinet_store::Store) {
    let hub = HubProcess::start(binary, &dir.join("hub"));
    let cabinet = enrolled_device(dir, "cabinet", &hub, "cabinet-1");
    let mediator = enrolled_device_with_roles(
        dir,
        "mediator",
        &hub,
        "hub-mediators",
        &["education_mediator"],
    );
    (hub, cabinet, mediator)
}

/// A device's database file as plain SQL, beside the store open on it: for tests that look
/// inside it (what a thief of the decrypted file would see) or tamper with it.
pub fn device_sql(store: &kabinet_store::Store) -> rusqlite::Connection {
    kabinet_store::open_raw(store.path(), &DEVICE_KEY).unwrap()
}

pub const HUB_KEY: &str = "raw:4242424242424242424242424242424242424242424242424242424242424242";

pub struct HubProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The PostgreSQL database the hub keeps its documents in (`KABINET_TEST_HUB=postgres`:
    /// a fresh database on the test process's own server); `None`: `data_dir`'s SQLite file.
    pub database: Option<String>,
    binary: PathBuf,
    /// HTTPS with the hub's own certificate; otherwise plain HTTP on loopback.
    tls: bool,
    /// The web UI it serves, if any.
    ui_dir: Option<PathBuf>,
    /// Serves Prometheus metrics on a loopback port of its own too.
    metrics: bool,
    /// The metrics address it printed ("metrics on URL"), once read.
    metrics_url: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// Where a hub is told to listen when it has no address yet: port 0, the kernel's free one.
/// Guessing a free port first and passing it on lost a race in CI (another test, or an
/// outgoing connection, took the port between the guess and the hub's bind).
fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Whether the stories run their hubs on PostgreSQL (`KABINET_TEST_HUB=postgres`).
pub fn hubs_on_postgres() -> bool {
    std::env::var("KABINET_TEST_HUB").as_deref() == Ok("postgres")
}

fn spawn_serve(
    binary: &Path,
    data_dir: &Path,
    database: Option<&str>,
    addr: SocketAddr,
    tls: bool,
    ui_dir: Option<&Path>,
    metrics: bool,
) -> Child {
    let mut command = Command::new(binary);
    command.args(["serve", "--listen", &addr.to_string()]);
    if metrics {
        command.args(["--metrics-listen", "127.0.0.1:0"]);
    }
    if let Some(ui) = ui_dir {
        command.arg("--ui-dir").arg(ui);
    }
    command
        .env("KABINET_HUB_DATA", data_dir)
        .env("KABINET_HUB_KEY", HUB_KEY)
        .env("KABINET_HUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if !tls {
        command.env("KABINET_HUB_PLAIN_HTTP", "true");
    }
    if let Some(url) = database {
        command.env("KABINET_HUB_DATABASE", url);
    }
    command.spawn().expect("start the hub")
}

impl HubProcess {
    /// Starts `binary serve` on a free loopback port with its data in `data_dir`, and waits
    /// until it accepts connections.
    /// Plain HTTP on loopback (the development mode) keeps most tests about sync itself.
    pub fn start(binary: &Path, data_dir: &Path) -> HubProcess {
        HubProcess::start_at(binary, data_dir, any_port(), false)
    }

    /// HTTPS with the certificate the hub makes in its data directory.
    pub fn start_tls(binary: &Path, data_dir: &Path) -> HubProcess {
        HubProcess::start_at(binary, data_dir, any_port(), true)
    }

    /// At `addr`: a port another hub had (an impostor at the same address, a restart), or
    /// port 0 for a free one.
    pub fn start_at(binary: &Path, data_dir: &Path, addr: SocketAddr, tls: bool) -> HubProcess {
        HubProcess::start_serving(binary, data_dir, addr, tls, None, false)
    }

    /// Plain HTTP on loopback, with Prometheus metrics on a loopback port of their own.
    pub fn start_with_metrics(binary: &Path, data_dir: &Path) -> HubProcess {
        HubProcess::start_serving(binary, data_dir, any_port(), false, None, true)
    }

    /// The metrics' URL (`http://127.0.0.1:PORT/metrics`), once the hub printed it.
    pub fn metrics_url(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(url) = self.metrics_url.lock().unwrap().clone() {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the hub printed no metrics address"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Plain HTTP on loopback, serving the web UI from `ui_dir`.
    pub fn start_with_ui(binary: &Path, data_dir: &Path, ui_dir: &Path) -> HubProcess {
        HubProcess::start_serving(binary, data_dir, any_port(), false, Some(ui_dir), false)
    }

    /// Plain HTTP on loopback, with its documents in the PostgreSQL database at `url`
    /// whatever `KABINET_TEST_HUB` says.
    pub fn start_on_postgres(binary: &Path, data_dir: &Path, url: &str) -> HubProcess {
        HubProcess::start_with_database(
            binary,
            data_dir,
            Some(url.to_string()),
            (any_port(), false),
            None,
            false,
        )
    }

    /// Plain HTTP on loopback, on `data_dir`'s SQLite file whatever `KABINET_TEST_HUB` says.
    pub fn start_on_sqlite(binary: &Path, data_dir: &Path) -> HubProcess {
        HubProcess::start_with_database(binary, data_dir, None, (any_port(), false), None, false)
    }

    fn start_serving(
        binary: &Path,
        data_dir: &Path,
        addr: SocketAddr,
        tls: bool,
        ui_dir: Option<&Path>,
        metrics: bool,
    ) -> HubProcess {
        let database = hubs_on_postgres()
            .then(|| kabinet_store_pg::test_server::PgServer::shared().fresh_database());
        HubProcess::start_with_database(binary, data_dir, database, (addr, tls), ui_dir, metrics)
    }

    fn start_with_database(
        binary: &Path,
        data_dir: &Path,
        database: Option<String>,
        (addr, tls): (SocketAddr, bool),
        ui_dir: Option<&Path>,
        metrics: bool,
    ) -> HubProcess {
        let mut hub = HubProcess {
            child: spawn_serve(
                binary,
                data_dir,
                database.as_deref(),
                addr,
                tls,
                ui_dir,
                metrics,
            ),
            addr,
            data_dir: data_dir.to_path_buf(),
            database,
            binary: binary.to_path_buf(),
            tls,
            ui_dir: ui_dir.map(Path::to_path_buf),
            metrics,
            metrics_url: Default::default(),
        };
        hub.wait_ready();
        hub
    }

    /// Waits for the hub's "listening on URL" line and takes the address from it. Not a
    /// connect loop: a connection to a port with nothing behind it can reach itself (TCP
    /// simultaneous open) or another test's hub, and both looked ready.
    fn wait_ready(&mut self) {
        let stdout = self.child.stdout.take().expect("the hub's stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let metrics_url = self.metrics_url.clone();
        *metrics_url.lock().unwrap() = None;
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            // Reads to the end so the hub never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("metrics on ") {
                    *metrics_url.lock().unwrap() = Some(url.to_string());
                }
                if let Some(url) = line.strip_prefix("listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(url) => {
                    let authority = url.split("://").nth(1).unwrap_or(&url);
                    self.addr = authority.parse().expect("the hub's address");
                    return;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    panic!("the hub exited before listening: {status:?}");
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the hub exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the hub did not start listening on {}",
                self.addr
            );
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Signs a staff member in at the hub's web API: their session token.
    pub fn staff_session(&self, name: &str, password: &str) -> String {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let answer: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("{}/api/login", self.url()))
            .json(&serde_json::json!({"name": name, "password": password}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} signs in: {answer}"))
            .to_string()
    }

    /// The hub's own storage, opened beside its process (as hub staff's edits are written, and
    /// for tests that look inside it).
    pub fn storage(&self) -> kabinet_hub::StoreHub {
        match &self.database {
            Some(url) => {
                let key = kabinet_store::StoreKey::from_text(HUB_KEY).unwrap();
                kabinet_hub::StoreHub::open_postgres(url, &key).unwrap()
            }
            None => {
                let key = kabinet_store::StoreKey::from_text(HUB_KEY).unwrap();
                kabinet_hub::StoreHub::open(&self.data_dir, &key).unwrap()
            }
        }
    }

    /// Runs `f` on the hub's database (SQLite file or PostgreSQL), for tests that look inside
    /// its tables; the statements are the store's portable ones (`kabinet_store::sql`).
    pub fn with_sql<T>(
        &self,
        f: impl FnOnce(&dyn kabinet_store::sql::Sql) -> Result<T, kabinet_store::sql::SqlError>,
    ) -> T {
        self.storage().read(|store| Ok(f(store.sql())?)).unwrap()
    }

    /// Runs a `kabinet-hub` admin command against the same data directory.
    pub fn admin(&self, args: &[&str]) -> String {
        self.admin_with_password(args, "")
    }

    /// Adds a user of no cabinet, with a web password: hub staff at the web UI.
    pub fn add_user(&self, name: &str, display_name: &str, role: &str, password: &str) {
        self.add_user_in(name, display_name, role, password, &[]);
    }

    /// A nurse of cabinet-1 with a device PIN (`mpetrova`): the hub keeps her device key pair.
    pub fn add_nurse(&self) {
        self.add_user_in(
            "mpetrova",
            "Мария Петрова",
            "nurse",
            "van pin 2026",
            &["cabinet-1"],
        );
    }

    /// Adds a user of `cabinets` (their devices receive them) with a device PIN, or, of no
    /// cabinet, with a web password.
    pub fn add_user_in(
        &self,
        name: &str,
        display_name: &str,
        role: &str,
        secret: &str,
        cabinets: &[&str],
    ) {
        let mut args = vec![
            "users",
            "add",
            name,
            "--display-name",
            display_name,
            "--role",
            role,
        ];
        for c in cabinets {
            args.extend(["--cabinet", c]);
        }
        self.admin_with_password(&args, secret);
    }

    /// Runs an admin command that may fail: its exit status and output, as they came.
    pub fn admin_output(&self, args: &[&str]) -> std::process::Output {
        self.admin_command(args, "")
    }

    /// Runs an admin command that reads a password and may fail: its status and output.
    pub fn admin_command(&self, args: &[&str], password: &str) -> std::process::Output {
        let mut command = Command::new(&self.binary);
        if let Some(url) = &self.database {
            command.env("KABINET_HUB_DATABASE", url);
        }
        command
            .args(args)
            .env("KABINET_HUB_USER_PASSWORD", password)
            .env("KABINET_HUB_DATA", &self.data_dir)
            .env("KABINET_HUB_KEY", HUB_KEY)
            .env("KABINET_HUB_LOG", "warn")
            .output()
            .unwrap()
    }

    /// Runs an admin command that reads a password (`users add`, `users reset`).
    pub fn admin_with_password(&self, args: &[&str], password: &str) -> String {
        let out = self.admin_command(args, password);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A fresh one-time enrollment code for a cabinet's device (a nurse's and a doctor's).
    pub fn enrollment_code(&self, cabinet: &str) -> String {
        self.enrollment_code_for(cabinet, &["nurse", "doctor"])
    }

    /// A fresh one-time enrollment code for a device whose users have `roles`.
    pub fn enrollment_code_for(&self, cabinet: &str, roles: &[&str]) -> String {
        let mut args = vec!["enroll", "--cabinet", cabinet];
        let roles = if roles.is_empty() {
            &["nurse", "doctor"][..]
        } else {
            roles
        };
        for r in roles {
            args.extend(["--role", r]);
        }
        let out = self.admin(&args);
        let line = out.lines().last().unwrap();
        line.rsplit(' ').next().unwrap().to_string()
    }

    /// Kills the hub with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the hub again on the same port and data folder, its documents now in the
    /// PostgreSQL database at `url` (after `kabinet-hub migrate --to`).
    pub fn restart_on_postgres(&mut self, url: &str) {
        self.database = Some(url.to_string());
        self.restart();
    }

    /// Starts the hub again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_serve(
            &self.binary,
            &self.data_dir,
            self.database.as_deref(),
            self.addr,
            self.tls,
            self.ui_dir.as_deref(),
            self.metrics,
        );
        self.wait_ready();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
