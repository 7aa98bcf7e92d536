//! Store benchmark (a bench binary, not a timed test). Run:
//!
//!     cargo bench -p kabinet-store --bench store
//!
//! It uses the shared workload (`../shared/bench/gen_workload.py`, or the file in
//! `KABINET_WORKLOAD_DIR`), all on encrypted stores, and prints a Markdown table for
//! docs/benchmarks.md:
//! - import of 10,000 visits (visits/s);
//! - one durable save of a visit with its results and a referral (p50/p99);
//! - person search with 100,000 persons: Cyrillic prefix, Latin prefix, ЕГН (p50/p99);
//! - a person's correction on that store (p50/p99);
//! - database bytes per visit.

use chrono::Utc;
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::{DeviceSettings, Origin, Store, StoreKey};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[allow(dead_code)] // `bench_dir` is the service bench's.
mod workload;
use workload::workload;

const KEY: StoreKey = StoreKey::Raw([0x42; 32]);

fn fresh_store(dir: &Path, name: &str) -> Store {
    let settings = DeviceSettings {
        cabinet: "cabinet-1".into(),
        issuer: 1,
    };
    Store::create(&dir.join(name), &KEY, &settings).unwrap()
}

fn import_file(store: &mut Store, path: &Path) -> kabinet_store::import::ImportReport {
    let options = ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "bench".into(),
    };
    import(
        store,
        BufReader::new(std::fs::File::open(path).unwrap()),
        &options,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Bytes of the database file and its WAL after a checkpoint.
fn db_bytes(store: &Store) -> u64 {
    kabinet_store::open_raw(store.path(), &KEY)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let p = store.path();
    let wal = PathBuf::from(format!("{}-wal", p.display()));
    std::fs::metadata(p).unwrap().len() + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // KABINET_BENCH=import,save,search,open runs only those parts (e.g. under a profiler).
    let only = std::env::var("KABINET_BENCH").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p == name);
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    if part("import") || part("save") {
        // --- Import of 10,000 visits.
        let w10k = workload(10_000, 2080);
        let mut store = fresh_store(dir.path(), "import.db");
        let t = Instant::now();
        let report = import_file(&mut store, &w10k);
        let secs = t.elapsed().as_secs_f64();
        rows.push((
            "import 10,000 visits (encrypted, one transaction)".into(),
            format!(
                "{:.0} visits/s ({secs:.2} s; {} persons, {} referrals)",
                10_000.0 / secs,
                report.persons_written,
                report.referrals_written
            ),
            "≥ 2,000 visits/s".into(),
        ));
        // Baseline in the same run: the same lines as raw JSON rows in an encrypted SQLite
        // table (no documents, no validation, no projections) — the floor of what any
        // encrypted store pays. The ratio is what the documents and query tables cost.
        let raw_store = fresh_store(dir.path(), "raw.db");
        let raw = kabinet_store::open_raw(raw_store.path(), &KEY).unwrap();
        // The store's own connection settings (see Store::open), so only the tables differ.
        raw.execute_batch("PRAGMA synchronous = FULL; PRAGMA cache_size = -32768;")
            .unwrap();
        raw.execute_batch("CREATE TABLE raw (id TEXT PRIMARY KEY, line TEXT NOT NULL)")
            .unwrap();
        let text = std::fs::read_to_string(&w10k).unwrap();
        let t = Instant::now();
        raw.execute_batch("BEGIN").unwrap();
        {
            let mut insert = raw
                .prepare("INSERT INTO raw (id, line) VALUES (?1, ?2)")
                .unwrap();
            for line in text.lines() {
                insert.execute([&line[8..44], line]).unwrap();
            }
        }
        raw.execute_batch("COMMIT").unwrap();
        let raw_secs = t.elapsed().as_secs_f64();
        rows.push((
            "baseline: the same 10,000 lines as raw JSON rows (encrypted)".into(),
            format!(
                "{:.0} lines/s; Kabinet import takes {:.1}× as long",
                10_000.0 / raw_secs,
                secs / raw_secs
            ),
            "—".into(),
        ));
        let bytes = db_bytes(&store);
        rows.push((
            "database bytes per visit (10,000 visits, all documents and indexes)".into(),
            format!(
                "{:.0} B ({:.1} MB total; the raw JSON lines in SQLite: {:.0} B)",
                bytes as f64 / 10_000.0,
                bytes as f64 / 1e6,
                db_bytes(&raw_store) as f64 / 10_000.0
            ),
            "≤ 3 KB".into(),
        ));

        if part("save") {
            // --- One durable save: a new visit with HIV + glucose, its results document and a
            // referral, in one transaction with fsync, on the 10,000-visit store.
            let person_id = store.search_persons("Юсеинова", 1).unwrap()[0].id;
            let mut times = Vec::new();
            for i in 0..400 {
                let visit = testing::visit(
                    person_id,
                    Utc::now(),
                    Screenings {
                        hiv: Some(testing::hiv(RapidResult::NonReactive)),
                        glucose: Some(testing::glucose(7.0 + f64::from(i % 10) / 10.0)),
                        ..Default::default()
                    },
                );
                let t = Instant::now();
                store
                    .write(Origin::Local, |w| {
                        w.put_visit(&visit)?;
                        let referral = testing::referral(
                            person_id,
                            visit.id,
                            w.next_referral_code()?,
                            ReferralReason::Screening(ScreeningKind::Glucose),
                            Destination::Hub(HubRole::Gp),
                            visit.at,
                        );
                        w.put_referral(&referral)
                    })
                    .unwrap();
                times.push(t.elapsed());
            }
            times.sort();
            rows.push((
                "one durable save (visit + HIV results + referral, fsync)".into(),
                format!(
                    "p50 {} · p99 {}",
                    ms(percentile(&times, 0.5)),
                    ms(percentile(&times, 0.99))
                ),
                "p99 ≤ 10 ms".into(),
            ));
            drop(store);
        }
    }
    if part("search") {
        // --- Search with 100,000 persons: the workload makes about 0.59 persons per visit; ten
        // cabinets (seeds) of 17,000 visits each (a seed's dates span 57 days, none in the future).
        let mut store = fresh_store(dir.path(), "search.db");
        let t = Instant::now();
        for seed in 1..=10 {
            import_file(&mut store, &workload(17_000, seed));
        }
        let import_secs = t.elapsed().as_secs_f64();
        let persons = store.count(kabinet_store::DocKind::Person).unwrap();
        rows.push((
            format!("import 10 × 17,000 visits into one store ({persons} persons)"),
            format!(
                "{:.0} visits/s ({import_secs:.0} s)",
                170_000.0 / import_secs
            ),
            "—".into(),
        ));
        let egns: Vec<String> = kabinet_store::open_raw(store.path(), &KEY)
            .unwrap()
            .prepare(
                "SELECT egn FROM person_index WHERE egn IS NOT NULL ORDER BY person_id LIMIT 300",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let cyrillic = [
            "Юсеин",
            "Иван",
            "Щере",
            "Мария Пет",
            "Ахмедова",
            "Цвет",
            "Жечк",
            "Асен Асенов",
            "Рад",
            "Шенай",
        ];
        let latin = [
            "yusein",
            "ivan",
            "shtere",
            "maria pet",
            "ahmedova",
            "tsvet",
            "zhechk",
            "asen asenov",
            "rad",
            "shenay",
        ];
        let mut measure = |name: &str, queries: &[String]| {
            let mut times = Vec::new();
            let mut found = 0;
            for _round in 0..20 {
                for q in queries {
                    let t = Instant::now();
                    found += store.search_persons(q, 20).unwrap().len();
                    times.push(t.elapsed());
                }
            }
            assert!(found > 0, "{name}: nothing found");
            times.sort();
            rows.push((
                format!("search, {persons} persons: {name}"),
                format!(
                    "p50 {} · p99 {}",
                    ms(percentile(&times, 0.5)),
                    ms(percentile(&times, 0.99))
                ),
                "p99 ≤ 20 ms".into(),
            ));
        };
        measure("Cyrillic prefix", &cyrillic.map(String::from));
        measure("Latin prefix", &latin.map(String::from));
        measure("ЕГН", &egns);

        // --- A correction of a person (#17): read the record, change the phone, append the
        // correction, one durable write (field-level change, projections, audit), on the
        // 100,000-person store.
        let ids: Vec<uuid::Uuid> = store
            .search_persons("Иван", 200)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        // After the bulk import, not during its WAL's checkpoint: a van's store is written a
        // visit at a time. A new visit's save on the same store is measured beside the edits
        // (alternating), so the two compare in one run on this shared machine.
        db_bytes(&store);
        let mut times = Vec::new();
        let mut visit_times = Vec::new();
        for (i, id) in ids.iter().cycle().take(400).enumerate() {
            let visit = testing::visit(
                *id,
                Utc::now(),
                Screenings {
                    glucose: Some(testing::glucose(6.0)),
                    ..Default::default()
                },
            );
            let t = Instant::now();
            store.write(Origin::Local, |w| w.put_visit(&visit)).unwrap();
            visit_times.push(t.elapsed());
            let t = Instant::now();
            let mut person = store.person(*id).unwrap();
            person.phone = Some(Phone::parse(&format!("0888{:06}", i)).unwrap());
            person.corrections.push(kabinet_core::person::Correction {
                at: Utc::now(),
                by: "bench".into(),
                fields: vec!["phone".into()],
                reason: String::new(),
            });
            store
                .write(Origin::Local, |w| w.put_person(&person))
                .unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        visit_times.sort();
        rows.push((
            format!("a person corrected (read, change, durable write), {persons} persons"),
            format!(
                "p50 {} · p99 {} (a new visit's save, alternating: p50 {} · p99 {})",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(percentile(&visit_times, 0.5)),
                ms(percentile(&visit_times, 0.99))
            ),
            "p99 ≤ 10 ms".into(),
        ));

        // --- Possible duplicates among the 100,000 persons (#17): read every person's index
        // row, compare within the finder's blocks. Three runs; the slowest is reported.
        let mut slowest = Duration::ZERO;
        let mut found = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let candidates = store.duplicate_candidates().unwrap();
            found = kabinet_core::duplicates::find(&candidates, &store.dismissed_pairs().unwrap());
            slowest = slowest.max(t.elapsed());
        }
        let certain = found.iter().filter(|l| l.certain()).count();
        rows.push((
            format!("possible duplicates found among {persons} persons"),
            format!(
                "{:.2} s, slowest of 3 ({} pairs, {certain} of them a shared ЕГН)",
                slowest.as_secs_f64(),
                found.len()
            ),
            "≤ 10 s".into(),
        ));
        drop(store);
    }
    if part("open") {
        // --- Opening with a passphrase (SQLCipher's PBKDF2) vs a raw key.
        let path = dir.path().join("kdf.db");
        let pass = StoreKey::Passphrase("парола".into());
        drop(
            Store::create(
                &path,
                &pass,
                &DeviceSettings {
                    cabinet: "c".into(),
                    issuer: 1,
                },
            )
            .unwrap(),
        );
        let t = Instant::now();
        drop(Store::open(&path, &pass).unwrap());
        rows.push((
            "open with a passphrase (SQLCipher KDF)".into(),
            ms(t.elapsed()),
            "—".into(),
        ));
    }
    println!("| measure | result | target |\n|---|---|---|");
    for (a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
}
