//! The hub at national scale (issue #20), on SQLite and on PostgreSQL in one run:
//! `kabinet-bench-national [--visits 1000000] [--small 10000] [--chunk 50000] [--cabinets 50]
//! [--day 300] [--waves 2] [--backends sqlite,postgres]`.
//!
//! 1. Bulk load: `--visits` visits of gen_workload.py (a new seed per chunk) imported into an
//!    SQLite hub as hub-side writes (relayed as devices would pull them), then moved to a
//!    PostgreSQL server this benchmark starts with `migrate` (the operator's bulk path).
//! 2. At `--small` visits and again at `--visits`, on each backend, the real `kabinet-hub serve`
//!    with `--cabinets` devices enrolled and caught up (their pull cursor at the relay head, as
//!    devices that synced all year): a no-op sync's cost (each device alone, four times).
//! 3. At `--visits`: `--waves` waves in which every cabinet records `--day` visits and all sync
//!    at once (p50/p99 per sync, errors, hub RSS); the database's size; `kabinet-hub backup`
//!    while serving and `kabinet-hub restore` (timed), then one device's sync that starts over;
//!    on PostgreSQL one more wave with two hub processes on the database, against one.
//!
//! Needs `kabinet-hub` built in the same profile (beside this binary). Everything lives under
//! the temporary folder and is deleted at the end.

use anyhow::{Context, Result, bail};
use kabinet_bench::{BENCH_KEY, arg, rss_mb};
use kabinet_hub::server::{normalise_code, sha256};
use kabinet_hub::{HubStorage, StoreHub};
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::sql::SqlExt;
use kabinet_store::{DeviceSettings, Origin, Store};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HUB_KEY_TEXT: &str = "raw:5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b";

fn number(name: &str, default: usize) -> Result<usize> {
    Ok(arg(name).map_or(Ok(default), |v| v.parse())?)
}

/// `n` visits of the shared workload, one JSON line each.
fn workload(n: usize, seed: usize) -> Result<String> {
    kabinet_bench::gen_workload(n, seed, None)
}

fn options() -> ImportOptions {
    ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "national".into(),
    }
}

/// Loads visits `from..to` into the SQLite hub in `dir`, `chunk` at a time (each chunk one
/// transaction, then relayed): seconds taken.
fn load(dir: &Path, from: usize, to: usize, chunk: usize) -> Result<f64> {
    let hub = StoreHub::open(dir, &BENCH_KEY)?;
    let started = Instant::now();
    let mut at = from;
    while at < to {
        let n = chunk.min(to - at);
        let text = workload(n, 90_000 + at / chunk.max(1))?;
        hub.staff_call(|store| import(store, std::io::Cursor::new(text), &options()))??;
        at += n;
        eprintln!(
            "loaded {at} visits ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

fn quantile(samples: &mut [Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort();
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

/// Where a hub under test keeps its data.
#[derive(Clone)]
struct Backend {
    name: &'static str,
    data_dir: PathBuf,
    database: Option<String>,
}

impl Backend {
    fn hub_command(&self, args: &[&str]) -> Command {
        let binary = std::env::current_exe()
            .expect("own path")
            .with_file_name("kabinet-hub");
        let mut command = Command::new(binary);
        command
            .args(args)
            .env("KABINET_HUB_DATA", &self.data_dir)
            .env("KABINET_HUB_KEY", HUB_KEY_TEXT)
            .env("KABINET_HUB_PLAIN_HTTP", "true")
            .env("KABINET_HUB_LOG", "error");
        if let Some(url) = &self.database {
            command.env("KABINET_HUB_DATABASE", url);
        }
        command
    }

    fn admin(&self, args: &[&str]) -> Result<f64> {
        let started = Instant::now();
        let out = self.hub_command(args).output()?;
        if !out.status.success() {
            bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(started.elapsed().as_secs_f64())
    }

    fn open(&self) -> Result<StoreHub> {
        Ok(match &self.database {
            Some(url) => StoreHub::open_postgres(url, &BENCH_KEY)?,
            None => StoreHub::open(&self.data_dir, &BENCH_KEY)?,
        })
    }

    /// The database's size on disk, in MB.
    fn size_mb(&self) -> Result<f64> {
        Ok(match &self.database {
            Some(_) => {
                let bytes: i64 = self.open()?.read(|s| {
                    Ok(s.sql()
                        .one("SELECT pg_database_size(current_database())", &[], |r| {
                            r.get(0)
                        })?)
                })?;
                bytes as f64 / 1e6
            }
            None => ["hub.db", "hub.db-wal"]
                .iter()
                .filter_map(|f| std::fs::metadata(self.data_dir.join(f)).ok())
                .map(|m| m.len() as f64 / 1e6)
                .sum(),
        })
    }
}

/// A running `kabinet-hub serve`.
struct Serving {
    child: Child,
    url: String,
}

impl Serving {
    fn start(backend: &Backend) -> Result<Serving> {
        let mut child = backend
            .hub_command(&["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("hub stdout")?).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("the hub did not start: {line:?}"))?
            .to_string();
        Ok(Serving { child, url })
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` devices enrolled with the hub at `url`, each of its own cabinet, caught up with the
/// relay log (as devices that synced all along).
fn devices(backend: &Backend, url: &str, dir: &Path, n: usize) -> Result<Vec<Store>> {
    std::fs::create_dir_all(dir)?;
    let hub = backend.open()?;
    let head: i64 = hub.read(|s| {
        Ok(s.sql().one(
            "SELECT COALESCE(MAX(hub_seq), 0) FROM hub_relay",
            &[],
            |r| r.get(0),
        )?)
    })?;
    let mut stores = Vec::new();
    for i in 0..n {
        let code = format!(
            "{:012}",
            100_000_000_000u64 + rand_u32() as u64 * 10 + i as u64
        );
        hub.create_enrollment(
            &format!("cabinet-{i}"),
            &[kabinet_core::Role::Nurse],
            sha256(normalise_code(&code).as_bytes()),
            chrono::Utc::now() + chrono::Duration::days(1),
        )?;
        let settings = DeviceSettings {
            cabinet: format!("cabinet-{i}"),
            issuer: 1,
        };
        let mut store = Store::create(&dir.join(format!("device-{i}.db")), &BENCH_KEY, &settings)?;
        kabinet_sync::enroll(&mut store, url, &code, &format!("national-{i}"))?;
        store.write(Origin::Sync, |w| {
            w.set_meta(kabinet_store::meta::PULL_CURSOR, &head.to_string())
        })?;
        stores.push(store);
    }
    Ok(stores)
}

fn rand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.subsec_nanos())
}

/// Every device alone, four no-op syncs each: p50 and p99 in ms.
fn no_op(stores: &mut [Store]) -> Result<(f64, f64)> {
    for store in stores.iter_mut() {
        kabinet_sync::sync(store, |_| {})?; // the first may write the epoch
    }
    let mut took = Vec::new();
    for _ in 0..4 {
        for store in stores.iter_mut() {
            let t = Instant::now();
            let report = kabinet_sync::sync(store, |_| {})?;
            took.push(t.elapsed());
            anyhow::ensure!(
                report.docs_sent + report.docs_received == 0,
                "not a no-op: {report:?}"
            );
        }
    }
    Ok((quantile(&mut took, 0.5), quantile(&mut took, 0.99)))
}

struct Wave {
    errors: usize,
    wall: f64,
    p50: f64,
    p99: f64,
    visits: usize,
}

/// Every cabinet records `day` visits, then all sync at the same moment.
fn wave(stores: &mut Vec<Store>, day: usize, seed: usize) -> Result<Wave> {
    let text = workload(stores.len() * day, seed)?;
    let lines: Vec<&str> = text.lines().collect();
    for (i, store) in stores.iter_mut().enumerate() {
        let chunk = lines[i * day..(i + 1) * day].join("\n");
        import(store, std::io::Cursor::new(chunk), &options())?;
    }
    let started = Instant::now();
    let synced = kabinet_bench::sync_all_at_once(std::mem::take(stores));
    let mut errors = 0;
    let mut took = Vec::new();
    for (store, result, t) in synced {
        if let Err(e) = result {
            errors += 1;
            eprintln!("sync failed: {e}");
        }
        took.push(t);
        stores.push(store);
    }
    let wall = started.elapsed().as_secs_f64();
    Ok(Wave {
        errors,
        wall,
        p50: quantile(&mut took, 0.5),
        p99: quantile(&mut took, 0.99),
        visits: stores.len() * day,
    })
}

fn print_wave(backend: &str, label: &str, w: &Wave, rss: (f64, f64)) {
    println!(
        "| {backend} | {label} | {} | {} | {:.1} s | {:.0} visits/s | {:.0} ms | {:.0} ms | {:.0} / {:.0} MB |",
        w.visits,
        w.errors,
        w.wall,
        w.visits as f64 / w.wall,
        w.p50,
        w.p99,
        rss.0,
        rss.1
    );
}

/// Progress on stderr, with the time since the start.
fn step(what: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("[{t:7.1} s] {what}");
}

fn main() -> Result<()> {
    kabinet_hub::bound_memory_arenas();
    step("start");
    let visits = number("visits", 1_000_000)?;
    let small = number("small", 10_000)?.min(visits);
    let chunk = number("chunk", 50_000)?;
    let cabinets = number("cabinets", 50)?;
    let day = number("day", 300)?;
    let waves = number("waves", 2)?;
    let backends = arg("backends").unwrap_or_else(|| "sqlite,postgres".into());
    let on_postgres = backends.contains("postgres");
    let work = std::env::temp_dir().join("kabinet-bench-national");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let server = on_postgres.then(kabinet_store_pg::test_server::PgServer::start);
    let sqlite = Backend {
        name: "SQLite",
        data_dir: work.join("hub"),
        database: None,
    };
    // PostgreSQL hubs keep their certificate folder apart (DATA_DIR), their data on the server.
    let postgres = |stage: &str| -> Option<Backend> {
        server.as_ref().map(|s| Backend {
            name: "PostgreSQL",
            data_dir: work.join(format!("pg-{stage}")),
            database: Some(s.fresh_database()),
        })
    };

    let mut report = Vec::new();
    // 1. Small: the first visits, then a no-op sync on each backend.
    let t = load(&sqlite.data_dir, 0, small, chunk)?;
    report.push(format!(
        "| load {small} visits into SQLite | {t:.1} s | {:.0} visits/s |",
        small as f64 / t
    ));
    let mut no_ops = Vec::new();
    let small_pg = postgres("small");
    for backend in std::iter::once(sqlite.clone()).chain(small_pg.clone()) {
        if let Some(url) = &backend.database {
            std::fs::create_dir_all(&backend.data_dir)?;
            let t = sqlite.admin(&["migrate", "--to", url])?;
            report.push(format!(
                "| migrate {small} visits to PostgreSQL | {t:.1} s | |"
            ));
        }
        step(&format!("{}: small stage", backend.name));
        let serving = Serving::start(&backend)?;
        // Few: a hub gives out 98 referral-code issuer numbers in its life, and the big stage's
        // hub is this one grown (its PostgreSQL copy too).
        let mut stores = devices(
            &backend,
            &serving.url,
            &work.join(format!("devices-small-{}", backend.name)),
            cabinets.min(10),
        )?;
        no_ops.push((backend.name, small, no_op(&mut stores)?));
    }

    // 2. National: the rest of the load, moved to PostgreSQL in bulk.
    let t = load(&sqlite.data_dir, small, visits, chunk)?;
    report.push(format!(
        "| load {} more visits into SQLite ({visits} in all) | {t:.1} s | {:.0} visits/s |",
        visits - small,
        (visits - small) as f64 / t
    ));
    let documents: i64 = sqlite.open()?.read(|s| {
        Ok(s.sql()
            .one("SELECT count(*) FROM documents", &[], |r| r.get(0))?)
    })?;
    report.push(format!("| documents at the hub | {documents} | |"));
    let big_pg = postgres("big");
    if let Some(pg) = &big_pg {
        // Its DATA_DIR holds only a TLS certificate, which plain HTTP on loopback needs not.
        std::fs::create_dir_all(&pg.data_dir)?;
        let t = sqlite.admin(&["migrate", "--to", pg.database.as_deref().unwrap()])?;
        report.push(format!(
            "| migrate {visits} visits to PostgreSQL (bulk load) | {t:.1} s | {:.0} visits/s |",
            visits as f64 / t
        ));
    }

    println!(
        "| backend | wave | visits | errors | wall | throughput | sync p50 | sync p99 | hub RSS / peak |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut sizes = Vec::new();
    for backend in std::iter::once(sqlite.clone()).chain(big_pg.clone()) {
        step(&format!("{}: national stage", backend.name));
        let size = backend.size_mb()?;
        sizes.push((backend.name, size));
        let serving = Serving::start(&backend)?;
        let devices_dir = work.join(format!("devices-big-{}", backend.name));
        let mut stores = devices(&backend, &serving.url, &devices_dir, cabinets)?;
        step("devices enrolled");
        no_ops.push((backend.name, visits, no_op(&mut stores)?));
        step("no-op syncs done");
        let mut last = None;
        for w in 0..waves {
            let done = wave(&mut stores, day, 7000 + w)?;
            print_wave(
                backend.name,
                &format!("{}, one process", w + 1),
                &done,
                rss_mb(serving.child.id()),
            );
            last = Some(done);
        }
        if backend.database.is_some() {
            // Two processes on the one database: half the cabinets sync with each.
            let second = Serving::start(&backend)?;
            for store in stores.iter_mut().skip(1).step_by(2) {
                store.write(Origin::Local, |w| {
                    w.set_meta(kabinet_store::meta::HUB_URL, &second.url)
                })?;
            }
            let done = wave(&mut stores, day, 7500)?;
            print_wave(
                backend.name,
                "two processes",
                &done,
                rss_mb(second.child.id()),
            );
            if let Some(one) = &last {
                report.push(format!(
                    "| PostgreSQL: two hub processes against one (wave throughput) | {:.2}× | |",
                    (done.visits as f64 / done.wall) / (one.visits as f64 / one.wall)
                ));
            }
            for store in stores.iter_mut() {
                store.write(Origin::Local, |w| {
                    w.set_meta(kabinet_store::meta::HUB_URL, &serving.url)
                })?;
            }
        }
        // Backup while serving, restore while stopped, then a device that starts over.
        let file = work.join(format!("backup-{}.db", backend.name));
        step("waves done");
        let t = backend.admin(&["backup", "-o", file.to_str().unwrap()])?;
        step("backup done");
        let backup_mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
        report.push(format!(
            "| {}: backup while serving | {t:.1} s | {backup_mb:.0} MB file |",
            backend.name
        ));
        drop(serving);
        let t = backend.admin(&["restore", file.to_str().unwrap()])?;
        report.push(format!("| {}: restore | {t:.1} s | |", backend.name));
        let serving = Serving::start(&backend)?;
        stores[0].write(Origin::Local, |w| {
            w.set_meta(kabinet_store::meta::HUB_URL, &serving.url)
        })?;
        let started = Instant::now();
        let again = kabinet_sync::sync(&mut stores[0], |_| {})?;
        report.push(format!(
            "| {}: a device's first sync after the restore (re-sends its {} documents) | {:.2} s | |",
            backend.name,
            again.docs_sent,
            started.elapsed().as_secs_f64()
        ));
        drop(serving);
        drop(stores);
        let _ = std::fs::remove_dir_all(&devices_dir);
        let _ = std::fs::remove_file(&file);
    }
    println!();
    println!("| backend | visits at the hub | no-op sync p50 | no-op sync p99 |");
    println!("|---|---:|---:|---:|");
    for (name, at, (p50, p99)) in &no_ops {
        println!("| {name} | {at} | {p50:.2} ms | {p99:.2} ms |");
    }
    println!();
    println!("| measure | value | |");
    println!("|---|---:|---|");
    for (name, mb) in &sizes {
        println!(
            "| {name}: database size | {mb:.0} MB | {:.0} MB per million visits |",
            mb * 1e6 / visits as f64
        );
    }
    for line in &report {
        println!("{line}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
