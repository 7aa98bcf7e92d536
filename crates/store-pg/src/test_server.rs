//! A real PostgreSQL 15 server for a test, started by the test itself in a temporary folder
//! from Debian's `postgresql-15` binaries and stopped when dropped: `initdb` (as the
//! `postgres` user when the test runs as root, since PostgreSQL refuses to run as root), then
//! `pg_ctl start` listening on a Unix socket only (no TCP port to collide with), fsync on.

//!
//! Suites of many small tests share one server per test process ([`PgServer::shared`]), each
//! test in a database of its own ([`PgServer::fresh_database`]); a watcher stops that server
//! and removes its folder when the process ends, however it ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Where Debian puts PostgreSQL 15's server programs.
const BIN: &str = "/usr/lib/postgresql/15/bin";
/// The socket's "port": only the socket file's name, in a folder of this server's own.
const PORT: u16 = 5432;

pub struct PgServer {
    dir: tempfile::TempDir,
    as_postgres: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgServer {
    /// Whether this machine has the server programs (`scripts/setup.sh` installs them).
    pub fn available() -> bool {
        Path::new(BIN).join("initdb").exists()
    }

    /// Creates a cluster with a superuser `kabinet` and a database `kabinet`, and starts it.
    pub fn start() -> PgServer {
        let dir = tempfile::Builder::new()
            .prefix("kabinet-pg-")
            .tempdir()
            .unwrap();
        let as_postgres = is_root();
        let server = PgServer { dir, as_postgres };
        std::fs::create_dir(server.socket_dir()).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the cluster's folder to postgres");
        }
        let data = server.data_dir();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "kabinet",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        server.pg_ctl(&["start"]);
        server.psql("postgres", "CREATE DATABASE kabinet");
        server
    }

    /// Starts (or restarts) the server with `action`'s arguments, waiting until it is up:
    /// the socket only (no TCP port to collide with), fsync on, its log beside its data.
    fn pg_ctl(&self, action: &[&str]) {
        let data = self.data_dir();
        let options = format!(
            "-k {} -p {PORT} -c listen_addresses= -c fsync=on",
            self.socket_dir().display()
        );
        let log = self.dir.path().join("server.log");
        let mut args = vec![
            "-D",
            data.to_str().unwrap(),
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "-w",
        ];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args);
    }

    /// Stops the server (a fast shutdown: every connection is cut) and starts it again on
    /// the same socket and data, as an operator's restart or a crash and recovery would.
    pub fn restart(&self) {
        self.pg_ctl(&["-m", "fast", "restart"]);
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The folder of the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    /// A libpq-style URL of the `kabinet` database over the socket.
    pub fn url(&self) -> String {
        format!(
            "postgres://kabinet@/kabinet?host={}&port={PORT}",
            self.socket_dir().display()
        )
    }

    /// Runs one of the server's programs, as `postgres` when the test is root; it must succeed.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .run_quietly(program, args)
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The server's process id, from its pid file.
    pub fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).unwrap();
        text.lines().next().unwrap().trim().parse().unwrap()
    }

    /// Runs SQL with `psql` in `database`; its output (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", self.socket_dir().to_str().unwrap()])
            .args(["-p", &PORT.to_string(), "-U", "kabinet", "-d", database])
            .args(["-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A number for a database on a server of one test (not the shared one).
fn rand_suffix() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1_000_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data_dir();
        // A fast shutdown: connections are closed, nothing acknowledged is lost (fsync on).
        let _ = self.run_quietly(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }
}

/// The process's shared server, and the pipe whose end tells its watcher the process ended.
struct Shared {
    server: PgServer,
    _watcher: Mutex<std::process::ChildStdin>,
    databases: AtomicU32,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

impl PgServer {
    /// One server for every test of this process, started by the first that asks. It is
    /// stopped, and its folder removed, when the process exits (a watcher waits for the end
    /// of a pipe only this process holds open, so a crash or a kill stops it too).
    pub fn shared() -> &'static PgServer {
        &SHARED
            .get_or_init(|| {
                let server = PgServer::start();
                let data = server.data_dir();
                let stop = format!(
                    "{}{}/pg_ctl -D '{}' -m fast -w stop",
                    if server.as_postgres {
                        "runuser -u postgres -- "
                    } else {
                        ""
                    },
                    BIN,
                    data.display()
                );
                let script = format!(
                    "cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf '{}'",
                    server.dir.path().display()
                );
                // Its own session: a Ctrl-C to the test's process group must not end the
                // watcher before it has stopped the server. It outlives this process on
                // purpose, so nobody here waits for it.
                #[allow(clippy::zombie_processes)]
                let mut watcher = Command::new("setsid")
                    .args(["sh", "-c", &script])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("starting the watcher of the shared PostgreSQL server");
                let pipe = watcher.stdin.take().expect("piped");
                Shared {
                    server,
                    _watcher: Mutex::new(pipe),
                    databases: AtomicU32::new(0),
                }
            })
            .server
    }

    /// A new, empty database on this server; its URL.
    pub fn fresh_database(&self) -> String {
        let n = SHARED
            .get()
            .map(|s| s.databases.fetch_add(1, Ordering::Relaxed))
            .unwrap_or_else(rand_suffix);
        let name = format!("t{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        format!(
            "postgres://kabinet@/{name}?host={}&port={PORT}",
            self.socket_dir().display()
        )
    }

    fn run_quietly(&self, program: &str, args: &[&str]) -> std::io::Result<Output> {
        let path = Path::new(BIN).join(program);
        if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        }
    }
}
