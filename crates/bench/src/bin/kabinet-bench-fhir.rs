//! FHIR R4 export at national scale (issue #19): `kabinet-bench-fhir [--cabinets 300]
//! [--per-cabinet 3333]`.
//!
//! The programme's hub of the report benchmark (`kabinet_bench::programme_hub`: ≈1 million
//! visits by default, imported once and kept) is opened as the hub opens it, and the whole
//! store is exported for a doctor as `kabinet-hub export fhir --role doctor -o FILE` does it:
//! one transaction Bundle written to a file, every resource the doctor reads. Then the
//! persons touched since a day (`--since`), and one person's Bundle as the screen asks for it.
//! Prints resources per second, the file's size and the process's peak memory.

use anyhow::{Context, Result};
use kabinet_bench::{BENCH_KEY, arg, peak_rss_mb, programme_hub};
use kabinet_core::{Lang, Role};
use kabinet_hub::StoreHub;
use std::time::Instant;

fn number(name: &str, default: usize) -> Result<usize> {
    Ok(arg(name).map_or(Ok(default), |v| v.parse())?)
}

fn main() -> Result<()> {
    let cabinets = number("cabinets", 300)?;
    let per = number("per-cabinet", 3333)?;
    let dir = programme_hub(cabinets, per).context("loading the workload")?;
    let hub = StoreHub::open(&dir, &BENCH_KEY)?;
    let visits = hub.read(|s| s.count(kabinet_store::DocKind::Visit))?;
    let persons = hub.read(|s| s.count(kabinet_store::DocKind::Person))?;
    println!("hub: {cabinets} cabinets, {visits} visits, {persons} persons");
    let ctx = kabinet_service::Context {
        lang: Lang::Bg,
        user: "bench".into(),
        login: "bench".into(),
        now: chrono::Utc::now(),
        roles: Some(vec![Role::Doctor]),
    };
    let out_path = dir.join("export.fhir.json");
    let started = Instant::now();
    let summary = kabinet_hub::desk::staff_call(&hub, |store| {
        let file = std::fs::File::create(&out_path)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let summary = kabinet_service::fhir::export_bundle(store, &ctx, None, &mut out)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        anyhow::Ok(summary)
    })??;
    let secs = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&out_path)?.len();
    std::fs::remove_file(&out_path)?;
    println!(
        "export fhir, whole store, role doctor: {} persons, {} resources in {secs:.1} s = {:.0} resources/s; {:.0} MB ({:?})",
        summary.persons,
        summary.total(),
        summary.total() as f64 / secs,
        bytes as f64 / 1e6,
        summary.resources
    );

    // One person's Bundle, as the screen asks for it: the median of 200 persons.
    let ids = hub.read(|s| s.document_ids(kabinet_store::DocKind::Person))?;
    let step = (ids.len() / 200).max(1);
    let mut times = Vec::new();
    let mut resources = 0;
    for id in ids.iter().step_by(step).take(200) {
        let started = Instant::now();
        let bundle = kabinet_hub::desk::staff_call(&hub, |store| {
            kabinet_service::fhir::person_bundle(store, &ctx, *id)
        })?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        resources += bundle["entry"].as_array().map_or(0, Vec::len);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "one person's bundle (fhir_person): median {:.2} ms, p99 {:.2} ms of {} ({:.1} resources each)",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times.len(),
        resources as f64 / times.len() as f64
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS of this process: {mb:.0} MB");
    }
    Ok(())
}
