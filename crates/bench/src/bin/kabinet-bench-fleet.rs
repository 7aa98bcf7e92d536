//! Many cabinets at once: `kabinet-bench-fleet [--cabinets 50] [--visits 300] [--waves 3]`.
//! Starts a hub process (kabinet-bench-hub, beside this binary), enrolls the cabinets, and in
//! each wave gives every cabinet its own new visits (from gen_workload.py) and lets all of them
//! sync at the same moment, each on its own thread and connection. Prints, per wave, errors,
//! wall time, the slowest cabinet, and the hub's resident memory, so growth with N shows.

use kabinet_bench::{BENCH_KEY, arg, control_get, rss_mb};
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::{DeviceSettings, Store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let cabinets: usize = arg("cabinets").map_or(Ok(50), |v| v.parse())?;
    let visits: usize = arg("visits").map_or(Ok(300), |v| v.parse())?;
    let waves: usize = arg("waves").map_or(Ok(3), |v| v.parse())?;
    let work = std::env::temp_dir().join("kabinet-bench-fleet");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    let hub_bin = std::env::current_exe()?.with_file_name("kabinet-bench-hub");
    let mut hub = Command::new(&hub_bin)
        .args(["--dir", work.join("hub").to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ready = String::new();
    BufReader::new(hub.stdout.take().unwrap()).read_line(&mut ready)?;
    let ready: serde_json::Value = serde_json::from_str(ready.trim_start_matches("READY "))?;
    let (port, control) = (
        ready["port"].as_u64().unwrap() as u16,
        ready["control"].as_u64().unwrap() as u16,
    );
    let hub_url = format!("http://127.0.0.1:{port}");

    let mut stores = Vec::new();
    for i in 0..cabinets {
        let path = work.join(format!("cabinet-{i}.db"));
        let settings = DeviceSettings {
            cabinet: format!("cabinet-{i}"),
            issuer: 1,
        };
        let mut store = Store::create(&path, &BENCH_KEY, &settings)?;
        kabinet_sync::enroll(
            &mut store,
            &hub_url,
            &control_get(control, "/enroll-code")?,
            &format!("fleet-{i}"),
        )?;
        stores.push(store);
    }
    println!(
        "| wave | visits at the hub | cabinets | errors | wall (all at once) | slowest cabinet | docs sent | docs received | hub RSS MB | hub peak MB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let options = ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "fleet".into(),
    };
    for wave in 0..waves {
        // Each cabinet gets its own slice of a fresh workload (a new seed per wave).
        let text = kabinet_bench::gen_workload(cabinets * visits, 7000 + wave, None)?;
        let lines: Vec<&str> = text.lines().collect();
        for (i, store) in stores.iter_mut().enumerate() {
            let chunk = lines[i * visits..(i + 1) * visits].join("\n");
            import(store, std::io::Cursor::new(chunk), &options)?;
        }
        let t = Instant::now();
        let synced = kabinet_bench::sync_all_at_once(std::mem::take(&mut stores));
        let mut errors = 0;
        let mut slowest = std::time::Duration::ZERO;
        let (mut sent, mut received) = (0, 0);
        for (store, result, took) in synced {
            match result {
                Ok(r) => {
                    sent += r.docs_sent;
                    received += r.docs_received;
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("wave {wave}: {e}");
                }
            }
            slowest = slowest.max(took);
            stores.push(store);
        }
        let wall = t.elapsed();
        let (count, _) =
            serde_json::from_str::<serde_json::Value>(&control_get(control, "/digest")?)
                .map(|v| (v["count"].as_u64().unwrap_or(0), ()))?;
        let (rss, peak) = rss_mb(hub.id());
        println!(
            "| {} | {count} | {cabinets} | {errors} | {:.1} s | {:.1} s | {sent} | {received} | {rss:.0} | {peak:.0} |",
            wave + 1,
            wall.as_secs_f64(),
            slowest.as_secs_f64()
        );
    }
    let _ = hub.kill();
    let _ = hub.wait();
    // Gigabytes of device databases: the disk is shared, they go when the run ends.
    drop(stores);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
