//! The device side of the shared sync benchmark: `kabinet-bench-client --dir DIR` announces
//! itself, then answers one JSON command per stdin line (local_write, sync, digest, exit) on
//! stdout, as ../shared/bench/anchors/README.md describes.

use kabinet_bench::{BENCH_KEY, arg, control_get, peak_rss_mb, reset_peak, visit_digest};
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::{DeviceSettings, Store};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

fn open(dir: &PathBuf) -> anyhow::Result<Store> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("device.db");
    Ok(if path.exists() {
        Store::open(&path, &BENCH_KEY)?
    } else {
        Store::create(
            &path,
            &BENCH_KEY,
            &DeviceSettings {
                cabinet: "bench".into(),
                issuer: 1,
            },
        )?
    })
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

fn handle(store: &mut Store, msg: &Value) -> anyhow::Result<Value> {
    match msg["cmd"].as_str().unwrap_or("") {
        "local_write" => {
            let file = msg["file"].as_str().unwrap_or_default();
            let from = msg["from"].as_u64().unwrap_or(0) as usize;
            let count = msg["count"].as_u64().unwrap_or(0) as usize;
            let text = std::fs::read_to_string(file)?;
            let lines: Vec<&str> = text.lines().skip(from).take(count).collect();
            let options = ImportOptions {
                skip_invalid_screenings: true,
                recorded_by: "bench".into(),
            };
            let t = Instant::now();
            // One visit at a time, each durable (fsync) before the next, as in the field.
            for line in &lines {
                import(store, std::io::Cursor::new(line.as_bytes()), &options)?;
            }
            Ok(
                json!({"wall_ms": ms(t), "note": "one transaction per visit (person, visit, results, referrals), fsync each"}),
            )
        }
        "sync" => {
            let port = msg["port"].as_u64().unwrap_or(0);
            let control = msg["control"].as_u64().unwrap_or(0);
            let hub = format!("http://127.0.0.1:{port}");
            if store.meta(kabinet_store::meta::HUB_TOKEN)?.is_none() {
                let code = control_get(control as u16, "/enroll-code")?;
                kabinet_sync::enroll(store, &hub, &code, "bench-client")?;
            }
            // The meter listens on a new port per scenario: follow it.
            store.write(kabinet_store::Origin::Local, |w| {
                w.set_meta(kabinet_store::meta::HUB_URL, &hub)
            })?;
            let t = Instant::now();
            let report = kabinet_sync::sync(store, |_| {})?;
            Ok(json!({
                "wall_ms": ms(t),
                "timed_out": false,
                "note": "kabinet sync: push+pull exchanges until both feeds are drained",
                "detail": {"exchanges": report.exchanges, "docs_sent": report.docs_sent, "docs_received": report.docs_received,
                           "body_bytes_sent": report.bytes_sent, "body_bytes_received": report.bytes_received}
            }))
        }
        "digest" => {
            let (count, digest) = visit_digest(store)?;
            Ok(json!({"count": count, "digest": digest}))
        }
        "exit" => Ok(json!({})),
        other => anyhow::bail!("unknown command {other}"),
    }
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(arg("dir").unwrap_or_else(|| "data/kabinet-client".into()));
    let mut store = open(&dir)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        json!({"ready": true, "versions": {"kabinet": env!("CARGO_PKG_VERSION")}})
    )?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let msg: Value = serde_json::from_str(&line)?;
        reset_peak();
        let answer = match handle(&mut store, &msg) {
            Ok(mut result) => {
                result["client_rss_mb"] = json!(peak_rss_mb());
                json!({"id": msg["id"], "ok": true, "result": result})
            }
            Err(e) => json!({"id": msg["id"], "ok": false, "error": format!("{e:#}")}),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
        if msg["cmd"] == "exit" {
            break;
        }
    }
    Ok(())
}
