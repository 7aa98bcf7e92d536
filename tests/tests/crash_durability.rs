//! Crash durability: a child process saves records in a loop and is killed with SIGKILL at
//! random moments, again and again. After every kill the database opens, passes
//! `PRAGMA integrity_check`, and holds every record whose save had returned.

use kabinet_store::{DeviceSettings, Store, StoreKey};
use rand::Rng;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

const KILLS: usize = 60;

#[test]
fn acknowledged_saves_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let raw = [0x5a_u8; 32];
    let hex_key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let settings = DeviceSettings {
        cabinet: "cabinet-1".into(),
        issuer: 1,
    };
    drop(Store::create(&path, &StoreKey::Raw(raw), &settings).unwrap());

    let mut acked: BTreeMap<u64, (Uuid, Uuid, Uuid)> = BTreeMap::new();
    // Record index → the index whose iteration edited its address.
    let mut edited: BTreeMap<u64, u64> = BTreeMap::new();
    let mut next = 0u64;
    let mut rng = rand::rng();
    let mut kills_mid_stream = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kabinet-crash-writer"))
            .args([path.to_str().unwrap(), &hex_key, &next.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(5..250)));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        let lines = reader.join().unwrap();
        if !status.success() && !lines.is_empty() {
            kills_mid_stream += 1;
        }
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts[0] == "edit" {
                let j: u64 = parts[1].parse().unwrap();
                edited.insert(j, j + 1);
            } else {
                let i: u64 = parts[0].parse().unwrap();
                let ids = (
                    parts[1].parse().unwrap(),
                    parts[2].parse().unwrap(),
                    parts[3].parse().unwrap(),
                );
                acked.insert(i, ids);
                next = next.max(i + 1);
            }
        }

        let store = Store::open(&path, &StoreKey::Raw(raw))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(store.integrity_check().unwrap(), "ok", "round {round}");
        // Every acknowledged document is there; the content is compared in full at the end.
        for (i, ids) in &acked {
            for id in [ids.0, ids.1, ids.2] {
                assert!(
                    store.heads(id).unwrap().is_some(),
                    "round {round}: record {i} lost"
                );
            }
        }
    }
    assert!(
        acked.len() > 100,
        "only {} records were acknowledged",
        acked.len()
    );
    assert!(
        kills_mid_stream > KILLS / 2,
        "the kills should land while the writer works"
    );

    let store = Store::open(&path, &StoreKey::Raw(raw)).unwrap();
    for (&i, &(person_id, visit_id, referral_id)) in &acked {
        let (mut person, visit, referral) = kabinet_tests::crash_record(i);
        let stored = store.person(person_id).unwrap();
        if let Some(&by) = edited.get(&i) {
            person.address = Some(format!("ул. {by}"));
            assert_eq!(stored, person, "record {i}");
        } else {
            // An edit may have committed without being acknowledged; all else must match.
            person.address = stored.address.clone();
            assert_eq!(stored, person, "record {i}");
        }
        assert_eq!(store.visit(visit_id).unwrap(), visit, "visit {i}");
        assert_eq!(
            store.referral(referral_id).unwrap(),
            referral,
            "referral {i}"
        );
    }
    drop(store);

    // After all the kills, the projections still equal a rebuild from the documents.
    let mut store = Store::open(&path, &StoreKey::Raw(raw)).unwrap();
    let before = store.dump_projections().unwrap();
    store.rebuild_projections().unwrap();
    assert_eq!(store.dump_projections().unwrap(), before);
}
