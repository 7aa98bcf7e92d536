//! A real PostgreSQL 15 server for a test, started by the test itself in a temporary folder
//! from Debian's `postgresql-15` binaries and stopped when dropped: `initdb` (as the
//! `postgres` user when the test runs as root, since PostgreSQL refuses to run as root), then
//! `pg_ctl start` listening on a Unix socket only (no TCP port to collide with), fsync on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        let options = format!(
            "-k {} -p {PORT} -c listen_addresses= -c fsync=on",
            server.socket_dir().display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        server.psql("postgres", "CREATE DATABASE kabinet");
        server
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

impl PgServer {
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
