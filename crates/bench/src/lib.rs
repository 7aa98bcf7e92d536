//! Shared pieces of the benchmark adapters: the digest both sides compute, memory readings,
//! and the fixed keys of the benchmark's throw-away databases.

use anyhow::Result;
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::{DeviceSettings, DocKind, Store, StoreKey};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub const BENCH_KEY: StoreKey = StoreKey::Raw([0x5b; 32]);

/// The harness's digest over (document, version), where a "document" is a visit (the harness
/// counts visits) and its version covers everything the visit brought: the heads of the visit,
/// of its results and referral documents, and of its person. Same set on both sides ⇒ same
/// digest.
pub fn visit_digest(store: &Store) -> anyhow::Result<(usize, String)> {
    let mut heads: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    let mut children: BTreeMap<Vec<u8>, Vec<(Vec<u8>, String)>> = BTreeMap::new();
    let mut visits = Vec::new();
    // Every document: the store's change index from its very start.
    for doc in store.changes_since(0, usize::MAX)? {
        let id = doc.doc_id.as_bytes().to_vec();
        let h: String = doc.heads.iter().map(|h| hex::encode(h.0)).collect();
        match (doc.kind, doc.parent_id) {
            (DocKind::Visit, Some(person)) => visits.push((id.clone(), person.as_bytes().to_vec())),
            (_, Some(parent)) => children
                .entry(parent.as_bytes().to_vec())
                .or_default()
                .push((id.clone(), h.clone())),
            _ => {}
        }
        heads.insert(id, h);
    }
    let mut lines: Vec<String> = visits
        .iter()
        .map(|(visit, person)| {
            let mut kids = children.get(visit).cloned().unwrap_or_default();
            kids.sort();
            let kids: Vec<String> = kids.into_iter().map(|(_, h)| h).collect();
            format!(
                "{}\t{}|{}|{}\n",
                hex::encode(visit),
                heads.get(visit).map_or("", String::as_str),
                kids.join(","),
                heads.get(person).map_or("-", String::as_str)
            )
        })
        .collect();
    lines.sort();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
    }
    Ok((lines.len(), hex::encode(h.finalize())[..16].to_string()))
}

/// Peak resident memory (VmHWM) of this process in MiB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((kb / 102.4).round() / 10.0)
}

/// Resident memory and its peak (VmRSS, VmHWM) of the process `pid`, in MiB; 0 when it is
/// gone.
pub fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// Resets the peak counter, so each command reports its own peak.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == &format!("--{name}"))
        .and_then(|i| args.get(i + 1).cloned())
}

/// A GET on the benchmark hub's side channel (plain HTTP/1.0 on loopback); the body, trimmed.
pub fn control_get(port: u16, path: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// One sync of a cabinet, as [`sync_all_at_once`] hands it back.
pub type CabinetSync = (
    Store,
    Result<kabinet_sync::SyncReport, kabinet_sync::SyncError>,
    std::time::Duration,
);

/// Every store syncs with its hub at the same moment, each on a thread of its own: the stores
/// come back, in their order, each with its result and how long its sync took.
pub fn sync_all_at_once(stores: Vec<Store>) -> Vec<CabinetSync> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(stores.len()));
    let handles: Vec<_> = stores
        .into_iter()
        .map(|mut store| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let t = std::time::Instant::now();
                let result = kabinet_sync::sync(&mut store, |_| {});
                (store, result, t.elapsed())
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("cabinet thread"))
        .collect()
}

/// The programme's hub at scale, as the report and FHIR benchmarks read it: `cabinets` ×
/// `per` visits of gen_workload.py (seed 19000 + i, cabinet `cabinet-NNN` each), imported
/// once into `$TMPDIR/kabinet-bench-report-{cabinets}x{per}` and kept for the next run. The
/// folder, with `hub.db` in it.
pub fn programme_hub(cabinets: usize, per: usize) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kabinet-bench-report-{cabinets}x{per}"));
    load(&dir, cabinets, per)?;
    Ok(dir)
}

fn generator() -> String {
    arg("generator").unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/bench/gen_workload.py"
        )
        .into()
    })
}

/// `visits` visits of the shared workload (`../shared/bench/gen_workload.py`, or the one
/// `--generator` names) of `seed`, one JSON line each, for `cabinet` if named.
pub fn gen_workload(visits: usize, seed: usize, cabinet: Option<&str>) -> Result<String> {
    let mut command = Command::new("python3");
    command
        .arg(generator())
        .args(["--visits", &visits.to_string()])
        .args(["--seed", &seed.to_string()]);
    if let Some(cabinet) = cabinet {
        command.args(["--cabinet", cabinet]);
    }
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "gen_workload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// One cabinet's visits: a seed and a name of its own.
fn cabinet_workload(i: usize, visits: usize) -> Result<String> {
    gen_workload(visits, 19_000 + i, Some(&format!("cabinet-{i:03}")))
}

/// The hub's file in `dir`, loaded once: `cabinets` × `per` visits imported as the operator's
/// bulk import does (no relay rows: a report reads none).
fn load(dir: &Path, cabinets: usize, per: usize) -> Result<()> {
    let done = dir.join("loaded");
    if done.exists() {
        eprintln!("reusing the hub in {}", dir.display());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let mut store = Store::create(
        &dir.join("hub.db"),
        &BENCH_KEY,
        &DeviceSettings {
            cabinet: "hub".into(),
            issuer: 99,
        },
    )?;
    store.set_cache_kib(256 * 1024)?;
    let options = ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "bench".into(),
    };
    let started = Instant::now();
    for i in 0..cabinets {
        let text = cabinet_workload(i, per)?;
        import(&mut store, std::io::Cursor::new(text), &options)?;
        if (i + 1) % 25 == 0 {
            eprintln!(
                "loaded {} cabinets, {} visits ({:.0} s)",
                i + 1,
                (i + 1) * per,
                started.elapsed().as_secs_f64()
            );
        }
    }
    drop(store);
    std::fs::write(done, "")?;
    Ok(())
}
