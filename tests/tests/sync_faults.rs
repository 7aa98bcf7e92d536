//! Sync under faults: a link that cuts connections at random byte offsets, and a hub killed
//! with SIGKILL in the middle of a sync. Everything converges; nothing acknowledged is lost;
//! nothing is duplicated.

use chrono::{Duration, Utc};
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_store::{DocKind, Origin, Store};
use kabinet_tests::hub::{DEVICE_KEY, HubProcess, enrolled_device};
use kabinet_tests::proxy::CuttingProxy;
use rand::Rng;
use std::path::Path;
use std::sync::atomic::Ordering;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn point_at(store: &mut Store, url: &str) {
    store
        .write(Origin::Local, |w| {
            w.set_meta(kabinet_store::meta::HUB_URL, url)
        })
        .unwrap();
}

/// Syncs until one sync completes without error (the link may cut any attempt).
fn sync_until_done(store: &mut Store) -> u32 {
    for attempt in 1..=200 {
        if kabinet_sync::sync(store, |_| {}).is_ok() {
            return attempt;
        }
    }
    panic!("no sync completed in 200 attempts");
}

/// A new visit of `person` with a glucose referral, written in one transaction.
fn record_visit(store: &mut Store, person: Uuid, i: u64) -> (Uuid, Uuid) {
    let visit = Visit {
        cabinet: "cabinet".into(),
        notes: format!("посещение {i}"),
        clinical_note: String::new(),
        ..testing::visit(
            person,
            Utc::now() - Duration::minutes(i as i64),
            Screenings {
                glucose: Some(testing::glucose(8.0)),
                hiv: Some(testing::hiv(RapidResult::NonReactive)),
                ..Default::default()
            },
        )
    };
    let referral_id = Uuid::now_v7();
    store
        .write(Origin::Local, |w| {
            w.put_visit(&visit)?;
            let referral = Referral {
                id: referral_id,
                ..testing::referral(
                    person,
                    visit.id,
                    w.next_referral_code()?,
                    ReferralReason::Screening(ScreeningKind::Glucose),
                    Destination::Hub(HubRole::Gp),
                    visit.at,
                )
            };
            w.put_referral(&referral)
        })
        .unwrap();
    (visit.id, referral_id)
}

/// Everything a store holds, as export lines in a stable order: two stores that converged
/// give the same lines.
fn export(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    kabinet_store::import::export(s, &mut out).unwrap();
    let mut lines: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

fn shared_person() -> Person {
    kabinet_tests::man_without_documents("Асен", "Асенов", 1990)
}

#[test]
fn a_link_that_cuts_at_random_bytes_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let proxy = CuttingProxy::start(hub.addr, 60);
    let mut stores = [
        enrolled_device(dir.path(), "cab-a", &hub, "cab-a"),
        enrolled_device(dir.path(), "cab-b", &hub, "cab-b"),
    ];
    for s in stores.iter_mut() {
        point_at(s, &proxy.url());
    }
    let person = shared_person();
    stores[0]
        .write(Origin::Local, |w| w.put_person(&person))
        .unwrap();
    sync_until_done(&mut stores[0]);
    sync_until_done(&mut stores[1]);

    let mut rng = rand::rng();
    let mut visits = Vec::new();
    let mut attempts = 0;
    let mut failed = 0;
    for i in 0..120u64 {
        let who = rng.random_range(0..2);
        let s = &mut stores[who];
        visits.push(record_visit(s, person.id, i));
        if i % 10 == 0 {
            // Both edit the shared person now and then.
            let mut p = s.person(person.id).unwrap();
            p.address = Some(format!("адрес {i} от {who}"));
            s.write(Origin::Local, |w| w.put_person(&p)).unwrap();
        }
        // One attempt through the bad link; failures are expected.
        attempts += 1;
        if kabinet_sync::sync(s, |_| {}).is_err() {
            failed += 1;
        }
    }
    assert!(
        failed > 30,
        "the link must actually break syncs: {failed} of 120 failed"
    );
    assert!(proxy.cuts.load(Ordering::Relaxed) >= failed);

    // The link heals; each side syncs to completion, twice around.
    proxy.cut_percent.store(0, Ordering::Relaxed);
    for _ in 0..2 {
        for s in stores.iter_mut() {
            attempts += sync_until_done(s);
        }
    }
    assert!(attempts >= 100);
    let [a, b] = &stores;
    for s in [a, b] {
        assert_eq!(s.count(DocKind::Visit).unwrap(), visits.len() as u64);
        assert_eq!(s.count(DocKind::Referral).unwrap(), visits.len() as u64);
        assert_eq!(s.count(DocKind::Results).unwrap(), visits.len() as u64);
        assert_eq!(
            s.visits_of_person(person.id).unwrap().len(),
            visits.len(),
            "no duplicate visits"
        );
        assert_eq!(
            s.referrals_of_person(person.id).unwrap().len(),
            visits.len(),
            "no duplicate referrals"
        );
        for (visit, referral) in &visits {
            s.visit(*visit).unwrap();
            s.referral(*referral).unwrap();
        }
    }
    assert_eq!(export(a), export(b));
    assert_eq!(a.heads(person.id).unwrap(), b.heads(person.id).unwrap());
}

#[test]
fn a_hub_killed_mid_sync_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut a = enrolled_device(dir.path(), "cab-a", &hub, "cab-a");
    let mut b = enrolled_device(dir.path(), "cab-b", &hub, "cab-b");
    let fixture = fixture_path();
    let options = kabinet_store::import::ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "test".into(),
    };
    let mut rng = rand::rng();
    for round in 0..5 {
        // Fresh work on A each round: the fixture the first time, then new visits.
        if round == 0 {
            let file = std::io::BufReader::new(std::fs::File::open(&fixture).unwrap());
            kabinet_store::import::import(&mut a, file, &options).unwrap();
        } else {
            let person = shared_person();
            a.write(Origin::Local, |w| w.put_person(&person)).unwrap();
            for i in 0..50 {
                record_visit(&mut a, person.id, i);
            }
        }
        // Sync on a thread, kill the hub while it runs, restart it, sync to completion.
        // The first round's 990 documents take far longer than 2 ms to sync: that kill lands
        // mid-sync for sure; later rounds kill at random moments.
        let delay = if round == 0 {
            2
        } else {
            rng.random_range(1..40)
        };
        let path = a.path().to_path_buf();
        drop(a);
        let syncing = std::thread::spawn(move || {
            let mut store = Store::open(&path, &DEVICE_KEY).unwrap();
            let result = kabinet_sync::sync(&mut store, |_| {});
            (store, result.is_ok())
        });
        std::thread::sleep(std::time::Duration::from_millis(delay));
        hub.kill();
        let (store, completed) = syncing.join().unwrap();
        a = store;
        if round == 0 {
            assert!(!completed, "the kill must interrupt the first sync");
        }
        hub.restart();
        sync_until_done(&mut a);
        sync_until_done(&mut b);
        assert_eq!(
            kabinet_sync::status(&a).unwrap().pending_local_changes,
            0,
            "round {round}"
        );
        for kind in [
            DocKind::Person,
            DocKind::Visit,
            DocKind::Results,
            DocKind::Referral,
        ] {
            assert_eq!(
                a.count(kind).unwrap(),
                b.count(kind).unwrap(),
                "round {round}: {kind:?}"
            );
        }
    }
    let mut out_a = Vec::new();
    let mut out_b = Vec::new();
    kabinet_store::import::export(&a, &mut out_a).unwrap();
    kabinet_store::import::export(&b, &mut out_b).unwrap();
    assert_eq!(out_a.len(), out_b.len());
    let sorted = |v: Vec<u8>| {
        let mut l: Vec<String> = String::from_utf8(v)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        l.sort();
        l
    };
    assert_eq!(sorted(out_a), sorted(out_b));
}

/// Batches of a few KB: the 300-visit fixture (~1,000 documents) then takes dozens of
/// overlapped exchanges each way.
const SMALL_BATCHES: kabinet_sync::SyncLimits = kabinet_sync::SyncLimits {
    push_batch_bytes: 8 * 1024,
    pull_batch_bytes: 8 * 1024,
};

fn sync_small_until_done(store: &mut Store) -> u32 {
    for attempt in 1..=300 {
        if kabinet_sync::sync_with(store, SMALL_BATCHES, |_| {}).is_ok() {
            return attempt;
        }
    }
    panic!("no sync completed in 300 attempts");
}

#[test]
fn overlapped_exchanges_cut_at_random_bytes_converge_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut a = enrolled_device(dir.path(), "cab-a", &hub, "cab-a");
    let mut b = enrolled_device(dir.path(), "cab-b", &hub, "cab-b");
    let mut c = enrolled_device(dir.path(), "cab-c", &hub, "cab-c");
    let fixture = fixture_path();
    let options = kabinet_store::import::ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "test".into(),
    };
    let file = std::io::BufReader::new(std::fs::File::open(&fixture).unwrap());
    kabinet_store::import::import(&mut a, file, &options).unwrap();
    let documents = a.changes_since(0, 100_000).unwrap().len() as u64;

    // A clean link first: the push and the pull really are many exchanges.
    let pushed = kabinet_sync::sync_with(&mut a, SMALL_BATCHES, |_| {}).unwrap();
    assert_eq!(pushed.docs_sent, documents);
    assert!(pushed.exchanges > 20, "{} exchanges", pushed.exchanges);
    let pulled = kabinet_sync::sync_with(&mut c, SMALL_BATCHES, |_| {}).unwrap();
    assert_eq!(pulled.docs_received, documents);
    assert!(pulled.exchanges > 20, "{} exchanges", pulled.exchanges);

    // Then, through a link that cuts half of the connections at a random byte of their first
    // 20 KB (a connection lives for a whole sync of many exchanges of a few KB each, so cuts
    // land in any of them), B pulls everything while A keeps recording visits and pushing
    // them, until the link has cut them many times.
    let proxy = CuttingProxy::start_within(hub.addr, 50, 20_000);
    point_at(&mut a, &proxy.url());
    point_at(&mut b, &proxy.url());
    let person = shared_person();
    a.write(Origin::Local, |w| w.put_person(&person)).unwrap();
    let mut visits = 0u64;
    let mut attempts = sync_small_until_done(&mut b);
    for round in 0..100 {
        // 20 visits (60 documents) are several exchanges of 8 KB each way.
        for _ in 0..20 {
            record_visit(&mut a, person.id, visits);
            visits += 1;
        }
        attempts += sync_small_until_done(&mut a) + sync_small_until_done(&mut b);
        if round >= 3 && proxy.cuts.load(Ordering::Relaxed) >= 10 {
            break;
        }
    }
    assert!(
        proxy.cuts.load(Ordering::Relaxed) >= 10,
        "the link must cut ({attempts} attempts)"
    );
    proxy.cut_percent.store(0, Ordering::Relaxed);
    sync_small_until_done(&mut b);
    sync_small_until_done(&mut c);
    assert_eq!(kabinet_sync::status(&a).unwrap().pending_local_changes, 0);

    let everything = export(&a);
    assert_eq!(export(&b), everything);
    assert_eq!(export(&c), everything);
    for s in [&a, &b, &c] {
        assert_eq!(
            s.visits_of_person(person.id).unwrap().len() as u64,
            visits,
            "no duplicates"
        );
        assert_eq!(
            s.count(DocKind::Visit).unwrap(),
            a.count(DocKind::Visit).unwrap()
        );
    }
    assert_eq!(b.dump_projections().unwrap(), a.dump_projections().unwrap());
}

/// The 300-visit fixture, found at run time (a test binary reused from another checkout
/// through a shared target folder would otherwise look in the folder it was built from).
fn fixture_path() -> String {
    format!(
        "{}/fixtures/workload-300.jsonl",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    )
}
