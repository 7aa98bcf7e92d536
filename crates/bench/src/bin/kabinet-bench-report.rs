//! The programme report at national scale (issue #19): `kabinet-bench-report [--cabinets 300]
//! [--per-cabinet 3333] [--runs 5]`.
//!
//! A hub database of `--cabinets` cabinets × `--per-cabinet` visits of gen_workload.py (a seed
//! and a cabinet name per cabinet; ≈1 million visits by default) is imported once (kept under
//! the temporary folder for the next run), then opened as the hub opens it and timed:
//! - the whole programme's report over 2026 at the store (the query tables read, the facts
//!   aggregated), the median of `--runs`;
//! - the same through the hub's desk, as `/api/report` and `kabinet-hub report` make it (the
//!   devices' and possible duplicates' counts, the audit entry);
//! - one cabinet's report.
//!
//! Each line is one measurement; the numbers go to docs/benchmarks.md.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use kabinet_bench::{BENCH_KEY, arg, peak_rss_mb, programme_hub};
use kabinet_core::indicators::ReportRequest;
use kabinet_core::{AccessClass, FollowUpDays, Lang, Role};
use kabinet_hub::StoreHub;
use std::time::Instant;

fn number(name: &str, default: usize) -> Result<usize> {
    Ok(arg(name).map_or(Ok(default), |v| v.parse())?)
}

/// One cabinet's day: 300 visits of a seed no cabinet of the hub has.
fn cabinet_day() -> Result<String> {
    kabinet_bench::gen_workload(300, 29_001, Some("cabinet-day"))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Result<()> {
    let cabinets = number("cabinets", 300)?;
    let per = number("per-cabinet", 3333)?;
    let runs = number("runs", 5)?;
    let dir = programme_hub(cabinets, per).context("loading the workload")?;
    let hub = StoreHub::open(&dir, &BENCH_KEY)?;
    let day = |s: &str| s.parse::<NaiveDate>().expect("a day");
    let request = ReportRequest {
        from: day("2026-01-01"),
        to: day("2026-12-31"),
        as_of: day("2026-12-31"),
        shown: vec![
            AccessClass::Hiv,
            AccessClass::Hepatitis,
            AccessClass::Tuberculosis,
        ],
        follow_up: FollowUpDays::default(),
        devices_not_synced: None,
        open_duplicates: None,
        at_hub: true,
        below_programme: false,
    };
    let visits = hub.read(|s| s.count(kabinet_store::DocKind::Visit))?;
    let persons = hub.read(|s| s.count(kabinet_store::DocKind::Person))?;
    println!("hub: {cabinets} cabinets, {visits} visits, {persons} persons");

    // Read afresh each time: what a device does, and a hub did before it kept the facts.
    let mut fresh_times = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let report = hub.read(|s| kabinet_store::report::make_report(s.sql(), &request, None))?;
        fresh_times.push(started.elapsed().as_secs_f64());
        rows = report.rows.len();
    }
    println!(
        "report, whole programme, facts read afresh from the tables: median {:.3} s of {runs} ({rows} numbers)",
        median(fresh_times)
    );

    // The hub keeps the facts: the first report reads them (as `serve` does as it starts).
    let started = Instant::now();
    hub.read(|s| s.report(&request, None))?;
    println!(
        "report, whole programme, first at the hub (reads the facts it then keeps): {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let mut store_times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        hub.read(|s| s.report(&request, None))?;
        store_times.push(started.elapsed().as_secs_f64());
    }
    println!(
        "report, whole programme, at the hub (kept facts, nothing changed): median {:.3} s of {runs}",
        median(store_times)
    );
    // A day's work of one cabinet arrives (300 visits of a new seed), then the report.
    let day = cabinet_day()?;
    kabinet_hub::desk::staff_call(&hub, |store| {
        kabinet_store::import::import(
            store,
            std::io::Cursor::new(day),
            &kabinet_store::import::ImportOptions {
                skip_invalid_screenings: true,
                recorded_by: "bench".into(),
            },
        )
    })??;
    let started = Instant::now();
    hub.read(|s| s.report(&request, None))?;
    println!(
        "report, whole programme, at the hub after a cabinet's day arrived (300 visits read again): {:.3} s",
        started.elapsed().as_secs_f64()
    );

    let ctx = kabinet_service::Context {
        lang: Lang::Bg,
        user: "bench".into(),
        login: "bench".into(),
        now: chrono::Utc::now(),
        roles: Some(vec![Role::ProgrammeManager]),
    };
    let mut desk_times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        kabinet_hub::desk::report(&hub, &ctx, "2026-01-01", "2026-12-31", None, "json")?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        desk_times.push(started.elapsed().as_secs_f64());
    }
    println!(
        "report, whole programme, through the hub's desk (with the duplicates' and devices' counts, audited): median {:.3} s of {runs}",
        median(desk_times)
    );

    let mut one = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        hub.read(|s| s.report(&request, Some("cabinet-007")))?;
        one.push(started.elapsed().as_secs_f64());
    }
    println!(
        "report, one cabinet, at the store: median {:.3} s of {runs}",
        median(one)
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS of this process: {mb:.0} MB");
    }
    Ok(())
}
