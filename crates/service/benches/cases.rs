//! Case management on the 100,000-person store (issue #18), as the hub's team uses it:
//! - a case page with 200 notes and 50 tasks (`case` as a psychologist opens it: every note
//!   of her classes loaded and filtered, tasks sorted, referrals and visits read), p50/p99;
//! - "my tasks" for an education mediator among 2,000 open cases with 5 tasks each, p50/p99.
//!
//! `cargo bench -p kabinet-service --bench cases`. The 100k store is the store bench's
//! workload (10 × 17,000 visits of `../shared/bench/gen_workload.py`), built once and kept
//! under `$KABINET_WORKLOAD_DIR` (default: the temp dir's `kabinet-bench`).

use chrono::Utc;
use kabinet_core::{Lang, Role};
use kabinet_service::{Context, cases};
use kabinet_store::import::{ImportOptions, import};
use kabinet_store::{DeviceSettings, Store, StoreKey};
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[path = "../../store/benches/workload.rs"]
mod workload;
use workload::{bench_dir, workload};

const KEY: StoreKey = StoreKey::Raw([0x42; 32]);

/// A copy of the 100k-person store at `to` (built on the first run and kept).
fn store_100k(to: &Path) -> Store {
    let kept = bench_dir().join("store-100k.db");
    if !kept.exists() {
        let building = bench_dir().join("store-100k.building.db");
        let _ = std::fs::remove_file(&building);
        let mut store = Store::create(
            &building,
            &KEY,
            &DeviceSettings {
                cabinet: "hub".into(),
                issuer: 1,
            },
        )
        .unwrap();
        let options = ImportOptions {
            skip_invalid_screenings: true,
            recorded_by: "bench".into(),
        };
        for seed in 1..=10 {
            let file = std::fs::File::open(workload(17_000, seed)).unwrap();
            import(&mut store, BufReader::new(file), &options).unwrap();
        }
        store.checkpoint().unwrap();
        drop(store);
        std::fs::rename(&building, &kept).unwrap();
    }
    std::fs::copy(&kept, to).unwrap();
    Store::open(to, &KEY).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn as_role(login: &str, role: Role) -> Context {
    Context {
        lang: Lang::Bg,
        user: login.into(),
        login: login.into(),
        now: Utc::now(),
        roles: Some(vec![role]),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store_100k(&dir.path().join("hub.db"));
    let persons: Vec<Uuid> = store
        .search_persons("Иван", 2_100)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    let persons = if persons.len() >= 2_001 {
        persons
    } else {
        // Not enough Ivans: any persons will do.
        let mut all = persons;
        for q in ["Мария", "Асен", "Фатме", "Георги"] {
            all.extend(
                store
                    .search_persons(q, 2_100)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.id),
            );
        }
        all.sort();
        all.dedup();
        all
    };
    let sw = as_role("gdimitrov", Role::SocialWorker);
    let psy = as_role("epetrova", Role::Psychologist);
    let mediator = as_role("ali", Role::EducationMediator);

    // The busy case: 200 notes (half the psychologist's, half the handover), 50 tasks.
    let t = Instant::now();
    let big = cases::open_case(&mut store, &sw, persons[0], None, None, None)
        .unwrap()
        .id;
    for i in 0..50 {
        let task = cases::TaskInput {
            title: format!("задача {i}"),
            user: None,
            role: Some("education_mediator".into()),
            due: Some(format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28)),
            priority: None,
        };
        cases::add_task(&mut store, &sw, big, &task).unwrap();
    }
    for i in 0..200 {
        let (ctx, kind) = if i % 2 == 0 {
            (&psy, "psychology")
        } else {
            (&sw, "handover")
        };
        cases::add_note(
            &mut store,
            ctx,
            big,
            kind,
            &format!("бележка {i}: {}", "текст ".repeat(40)),
        )
        .unwrap();
    }
    // The team's other cases: 2,000 open ones with 5 tasks each, a fifth for the mediators.
    for (n, person) in persons[1..2_001].iter().enumerate() {
        let id = cases::open_case(&mut store, &sw, *person, None, None, None)
            .unwrap()
            .id;
        for k in 0..5 {
            let task = cases::TaskInput {
                title: format!("задача {n}.{k}"),
                user: (k != 0).then(|| "gdimitrov".to_string()),
                role: (k == 0).then(|| "education_mediator".to_string()),
                due: Some(format!("2027-{:02}-{:02}", 1 + (n + k) % 12, 1 + n % 28)),
                priority: None,
            };
            cases::add_task(&mut store, &sw, id, &task).unwrap();
        }
    }
    let setup = t.elapsed();

    let mut page = Vec::new();
    let mut notes = 0;
    for _ in 0..60 {
        let t = Instant::now();
        let view = cases::case_view(&store, &psy, big).unwrap();
        page.push(t.elapsed());
        notes = view.notes.len();
        assert_eq!(view.tasks.len(), 50);
    }
    assert_eq!(
        notes, 200,
        "the psychologist reads her notes and the handover"
    );
    page.sort();
    let mut mine = Vec::new();
    let mut found = 0;
    for _ in 0..200 {
        let t = Instant::now();
        found = cases::tasks(&store, &mediator, true).unwrap().len();
        mine.push(t.elapsed());
    }
    mine.sort();
    let persons_n = store.count(kabinet_store::DocKind::Person).unwrap();
    println!("| measure | result | target |\n|---|---|---|");
    println!(
        "| setup: a case with 200 notes and 50 tasks, 2,000 cases of 5 tasks, {persons_n} persons | {:.1} s | — |",
        setup.as_secs_f64()
    );
    println!(
        "| case page, 200 notes and 50 tasks (psychologist) | p50 {} · p99 {} | ≤ 100 ms |",
        ms(percentile(&page, 0.5)),
        ms(percentile(&page, 0.99))
    );
    println!(
        "| my tasks, education mediator ({found} open tasks of 2,001 cases) | p50 {} · p99 {} | p99 ≤ 50 ms |",
        ms(percentile(&mine, 0.5)),
        ms(percentile(&mine, 0.99))
    );
}
