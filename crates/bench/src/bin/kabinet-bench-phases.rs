//! Where a sync's time goes, without HTTP: the W1 (initial upload) and W4 (fresh device pulls
//! everything) exchanges of the shared benchmark driven in one process through the real code
//! (`kabinet_sync::next_exchange` / `apply_answer` on the device, `kabinet_hub::relay::sync` over
//! `StoreHub` on the hub, the real wire encoding), each phase timed on its own.
//! `--database postgres` puts the hub on a PostgreSQL server the benchmark starts itself.
//!
//!   kabinet-bench-phases --visits 5000 [--rounds 3] [--cache-kib 4096]
//!
//! After W1 and W4, both devices make no-op syncs (W3), timed whole: their cost must not grow
//! with N.
//!
//! The workload is `../shared/bench/gen_workload.py` (seed 1), imported in one transaction;
//! stores are SQLCipher files in a temporary folder, removed at the end.

use kabinet_bench::{BENCH_KEY, arg};
use kabinet_hub::{HubStorage, StoreHub};
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::{DeviceSettings, Store};
use kabinet_sync::{SyncRequest, SyncResponse, apply_answer, next_exchange};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// CPU time of this process so far (user + system), in ms, from /proc (10 ms ticks).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0
}

#[derive(Default)]
struct Phases(
    BTreeMap<&'static str, f64>,
    BTreeMap<&'static str, f64>,
    BTreeMap<&'static str, usize>,
);

impl Phases {
    fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let cpu = cpu_ms();
        let out = f();
        *self.0.entry(name).or_default() += t.elapsed().as_secs_f64() * 1000.0;
        *self.1.entry(name).or_default() += cpu_ms() - cpu;
        out
    }

    fn print(&self, scenario: &str, docs: u64) {
        let total: f64 = self.0.values().sum();
        println!(
            "{scenario}: {total:.0} ms for {docs} documents ({:.1} µs/document)",
            total * 1000.0 / docs as f64
        );
        for (name, bytes) in &self.2 {
            println!("  {name:<28} {bytes:>8} B");
        }
        for (name, ms) in &self.0 {
            println!(
                "  {name:<28} {ms:>8.1} ms  {:>5.1} %  (CPU {:.0} ms)",
                ms * 100.0 / total,
                self.1.get(name).copied().unwrap_or_default()
            );
        }
    }
}

fn workload(visits: usize) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join("kabinet-bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("visits-{visits}-seed1.jsonl"));
    if !path.exists() {
        std::fs::write(
            &path,
            kabinet_bench::gen_workload(visits, 1, Some("cabinet-1"))?,
        )?;
    }
    Ok(path)
}

/// How many no-op syncs each device makes after W4.
const NOOPS: usize = 21;

/// An enrolled device, as the hub sees it now.
fn device_named(hub: &StoreHub, name: &str) -> anyhow::Result<kabinet_hub::Device> {
    hub.devices()?
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| anyhow::anyhow!("no device {name}"))
}

fn device(hub: &StoreHub, name: &str) -> anyhow::Result<kabinet_hub::Device> {
    let code = kabinet_hub::server::sha256(name.as_bytes());
    hub.create_enrollment(
        "bench",
        &[kabinet_core::Role::Nurse],
        code,
        chrono::Utc::now() + chrono::Duration::days(1),
    )?;
    Ok(hub.redeem_enrollment(
        code,
        name,
        kabinet_hub::server::sha256(format!("token {name}").as_bytes()),
    )?)
}

/// Runs exchanges until both feeds are drained; returns the documents moved.
fn drain(
    store: &mut Store,
    hub: &StoreHub,
    dev: &kabinet_hub::Device,
    phases: &mut Phases,
) -> anyhow::Result<u64> {
    let mut docs = 0;
    loop {
        let (batch, request) = phases.time("device: read outgoing", || next_exchange(store))?;
        let body = phases.time("device: encode request", || request.encode());
        *phases.2.entry("bytes up").or_default() += body.len();
        let request = phases.time("hub: decode request", || SyncRequest::decode(&body))?;
        let response = phases.time("hub: sync (store + pull)", || {
            kabinet_hub::relay::sync(hub, dev, &request)
        })?;
        let body = phases.time("hub: encode response", || response.encode());
        *phases.2.entry("bytes down").or_default() += body.len();
        let answer = phases.time("device: decode response", || SyncResponse::decode(&body))?;
        phases.time("device: apply answer", || {
            apply_answer(store, &batch, &answer)
        })?;
        docs += (batch.docs.len() + answer.pull.len()) as u64;
        if !batch.more && !answer.more {
            return Ok(docs);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let visits: usize = arg("visits")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(5000);
    let rounds: usize = arg("rounds").map(|v| v.parse()).transpose()?.unwrap_or(1);
    // The page cache of the pulling device's connection (the app's sync agent keeps 4 MB).
    let cache_kib: Option<u32> = arg("cache-kib").map(|v| v.parse()).transpose()?;
    // `--database postgres`: the hub on a PostgreSQL server this benchmark starts (a fresh
    // database each round); otherwise its SQLite file.
    let server = match arg("database").as_deref() {
        None | Some("sqlite") => None,
        Some("postgres") => Some(kabinet_store_pg::test_server::PgServer::start()),
        Some(other) => anyhow::bail!("--database {other}: sqlite or postgres"),
    };
    let lines = workload(visits)?;
    let settings = DeviceSettings {
        cabinet: "bench".into(),
        issuer: 1,
    };
    for round in 1..=rounds {
        let dir = std::env::temp_dir().join(format!("kabinet-bench-phases-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut first = Store::create(&dir.join("first.db"), &BENCH_KEY, &settings)?;
        let options = ImportOptions {
            skip_invalid_screenings: true,
            recorded_by: "bench".into(),
        };
        import(
            &mut first,
            std::io::BufReader::new(std::fs::File::open(&lines)?),
            &options,
        )?;
        let hub = match &server {
            Some(server) => StoreHub::open_postgres(&server.fresh_database(), &BENCH_KEY)?,
            None => StoreHub::open(&dir.join("hub"), &BENCH_KEY)?,
        };

        println!(
            "round {round}, {visits} visits, hub on {}",
            if server.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            }
        );
        let mut w1 = Phases::default();
        let docs = drain(&mut first, &hub, &device(&hub, "first")?, &mut w1)?;
        w1.print("W1 initial upload", docs);

        let mut fresh = Store::create(&dir.join("fresh.db"), &BENCH_KEY, &settings)?;
        if let Some(kib) = cache_kib {
            fresh.set_cache_kib(kib)?;
        }
        let mut w4 = Phases::default();
        let docs = drain(&mut fresh, &hub, &device(&hub, "fresh")?, &mut w4)?;
        w4.print("W4 fresh pull", docs);

        // W3: both devices are up to date after W4; their no-op syncs (the exchange itself,
        // without HTTP and without the engine's status write) must not cost more as N grows.
        for (name, store, dev) in [
            ("first", &mut first, device_named(&hub, "first")?),
            ("fresh", &mut fresh, device_named(&hub, "fresh")?),
        ] {
            let mut times = Vec::new();
            let changes_before = store.rows_written();
            for _ in 0..NOOPS {
                let t = Instant::now();
                let moved = drain(store, &hub, &dev, &mut Phases::default())?;
                anyhow::ensure!(moved == 0, "a no-op sync moved {moved} documents");
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "W3 no-op ({name}): median {:.0} µs, max {:.0} µs over {NOOPS} syncs; {} rows written on the device",
                times[NOOPS / 2],
                times[NOOPS - 1],
                store.rows_written() - changes_before
            );
        }
        drop((first, fresh, hub));
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
