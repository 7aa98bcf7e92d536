//! Backup and restore (issue #20 item 5): `kabinet-hub backup -o FILE` while a van syncs, and
//! `kabinet-hub restore FILE` after which the devices that synced since send the hub what it
//! lost; on the hub's own backend (SQLite, or PostgreSQL under `KABINET_TEST_HUB=postgres`).
//! The file is a hub database encrypted with the hub key, as of one moment, checked against
//! the hub before it gets its name.

use kabinet_store::{DocKind, Origin, Store, StoreKey};
use kabinet_tests::calls::sync;
use kabinet_tests::hub::{HUB_KEY, HubProcess, enrolled_device};
use std::path::Path;

fn register(van: &mut Store, family: &str, n: usize) {
    for i in 0..n {
        let person = kabinet_core::testing::man_without_documents("Асен", family, 1960 + i as i32);
        van.write(Origin::Local, |w| w.put_person(&person)).unwrap();
    }
}

fn persons(store: &Store) -> u64 {
    store.count(DocKind::Person).unwrap()
}

/// A sync request as a device not yet updated writes it (wire version 1), with `van`'s token
/// and cursor: the hub's status and the answer's version.
fn sync_as_version_1(van: &Store) -> (u16, Vec<u8>) {
    let meta = |k: &str| van.meta(k).unwrap().unwrap_or_default();
    let request = kabinet_sync::SyncRequest {
        push: Vec::new(),
        push_through: meta(kabinet_store::meta::PUSH_CURSOR).parse().unwrap_or(0),
        pull_cursor: meta(kabinet_store::meta::PULL_CURSOR).parse().unwrap_or(0),
        max_pull_bytes: 0,
        relay_epoch: None,
    };
    // A raw client of the test's own (the devices' clients name their TLS provider).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", meta(kabinet_store::meta::HUB_URL)))
        .bearer_auth(meta(kabinet_store::meta::HUB_TOKEN))
        .body(request.encode_v1())
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.bytes().unwrap().to_vec())
}

#[test]
fn after_a_restore_the_devices_send_the_hub_what_it_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start(
        Path::new(env!("CARGO_BIN_EXE_kabinet-hub-under-test")),
        &dir.path().join("hub"),
    );
    hub.add_nurse();
    let mut a = enrolled_device(dir.path(), "van-a", &hub, "cabinet-1");
    let mut b = enrolled_device(dir.path(), "van-b", &hub, "cabinet-1");
    register(&mut a, "Асенов", 10);
    sync(&mut a);
    sync(&mut b);
    assert_eq!(persons(&b), 10);
    // A device not yet updated still syncs, answered in its own version.
    let (status, answer) = sync_as_version_1(&b);
    assert_eq!(status, 200);
    assert_eq!(&answer[4..6], &1u16.to_le_bytes());

    let file = dir.path().join("hub-backup.db");
    hub.admin(&["backup", "-o", file.to_str().unwrap()]);

    // After the backup: A records 5 more, B pulls them and records 3 of its own, A pulls those.
    register(&mut a, "Борисов", 5);
    sync(&mut a);
    sync(&mut b);
    register(&mut b, "Василев", 3);
    sync(&mut b);
    sync(&mut a);
    assert_eq!((persons(&a), persons(&b)), (18, 18));

    // Not under a serving hub.
    let refused = hub.admin_output(&["restore", file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stop every hub process"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    hub.kill();
    let out = hub.admin(&["restore", file.to_str().unwrap()]);
    assert!(out.contains("new relay epoch"), "{out}");
    assert!(file.exists(), "the backup itself is kept");
    if hub.database.is_none() {
        let kept: Vec<_> = std::fs::read_dir(&hub.data_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("hub.db.before-restore-")
            })
            .collect();
        assert!(!kept.is_empty(), "the hub's file is kept aside");
    }
    hub.restart();
    let at_hub = |hub: &HubProcess| hub.storage().read(|s| s.count(DocKind::Person)).unwrap();
    assert_eq!(at_hub(&hub), 10, "the hub is as it was at the backup");

    // A device not yet updated cannot start over: told to update, nothing taken.
    let (status, answer) = sync_as_version_1(&a);
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&answer));
    assert!(String::from_utf8_lossy(&answer).contains("update the app"));

    // A van enrolled after the restore records two persons first: relay rows 11 and 12,
    // numbers A's old cursor (18) had passed; A must pull them all the same.
    let mut c = enrolled_device(dir.path(), "van-c", &hub, "cabinet-1");
    register(&mut c, "Димитров", 2);
    sync(&mut c);
    assert_eq!(at_hub(&hub), 12);

    // The vans sync as usual: each starts over once and sends what the hub lost.
    sync(&mut a);
    assert_eq!(at_hub(&hub), 20, "A held 18: the hub has them again");
    assert_eq!(persons(&a), 20, "and A pulled C's from the backup's end");
    sync(&mut b);
    sync(&mut a);
    sync(&mut c);
    assert_eq!((persons(&a), persons(&b), persons(&c)), (20, 20, 20));
    assert_eq!(at_hub(&hub), 20);
    // Both now count in the hub's new epoch: the next sync is an ordinary one.
    let epoch = |s: &Store| s.meta(kabinet_store::meta::RELAY_EPOCH).unwrap();
    assert_eq!(epoch(&a), epoch(&b));
    let sent = kabinet_sync::sync(&mut a, |_| {}).unwrap();
    assert_eq!(sent.docs_sent + sent.docs_received, 0, "{sent:?}");

    // Work after the restore flows as before, and a device enrolled now receives everything.
    register(&mut b, "Георгиев", 2);
    sync(&mut b);
    sync(&mut a);
    assert_eq!(persons(&a), 22);
    let mut d = enrolled_device(dir.path(), "van-d", &hub, "cabinet-1");
    sync(&mut d);
    assert_eq!(persons(&d), 22);

    // The devices' audit logs continue at the hub (re-sent from the start, taken again).
    let audit = hub.admin(&["audit", "--limit", "1000"]);
    assert!(audit.lines().count() > 20, "{audit}");
    hub.storage().read(|s| s.verify_audit()).unwrap();
}

#[test]
fn a_backup_taken_while_a_van_syncs_is_whole_checked_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(
        Path::new(env!("CARGO_BIN_EXE_kabinet-hub-under-test")),
        &dir.path().join("hub"),
    );
    hub.add_nurse();
    let mut van = enrolled_device(dir.path(), "van", &hub, "cabinet-1");
    register(&mut van, "Асенов", 20);
    sync(&mut van);

    let file = dir.path().join("hub-backup.db");
    // The van goes on registering and syncing while the backup is taken.
    let out = std::thread::scope(|scope| {
        let syncing = scope.spawn(|| {
            for _ in 0..5 {
                register(&mut van, "Асенов", 4);
                sync(&mut van);
            }
        });
        let out = hub.admin(&["backup", "-o", file.to_str().unwrap()]);
        syncing.join().unwrap();
        out
    });
    assert!(out.contains("audit entries verified"), "{out}");
    assert!(file.exists());
    assert!(
        !file.with_extension("partial").exists(),
        "no half-written file left"
    );

    // Encrypted with the hub key: another key does not open it.
    assert!(Store::open(&file, &StoreKey::Raw([9; 32])).is_err());
    let backup = Store::open(&file, &StoreKey::from_text(HUB_KEY).unwrap()).unwrap();
    let persons = backup.count(DocKind::Person).unwrap();
    assert!(
        (20..=40).contains(&persons),
        "{persons} persons: one moment between the two"
    );
    backup.verify_audit().unwrap();
    drop(backup);

    // It opens as a hub (SQLite) with its users, the nurse's secret key readable.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&file, restored.join("hub.db")).unwrap();
    let opened =
        kabinet_hub::StoreHub::open(&restored, &StoreKey::from_text(HUB_KEY).unwrap()).unwrap();
    use kabinet_hub::HubStorage;
    let secrets = opened.user_secrets("mpetrova").unwrap();
    assert!(
        secrets.secret_key.is_some(),
        "the device key pair survives the backup"
    );
    assert_eq!(opened.devices().unwrap().len(), 1);

    // A second backup never overwrites a file.
    let again = hub.admin_output(&["backup", "-o", file.to_str().unwrap()]);
    assert!(!again.status.success());
}

/// A hub file copied back by hand (the operator's own tools) and then `mark-restored`: the
/// van sends again what the copy lacks. Without the mark the van would wait for relay rows
/// the hub numbers anew, and the hub would never get back what it lost.
#[test]
fn a_hub_restored_by_hand_and_marked_gets_back_what_it_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start_on_sqlite(
        Path::new(env!("CARGO_BIN_EXE_kabinet-hub-under-test")),
        &dir.path().join("hub"),
    );
    let mut van = enrolled_device(dir.path(), "van", &hub, "cabinet-1");
    register(&mut van, "Асенов", 4);
    sync(&mut van);
    let copy = dir.path().join("copy.db");
    hub.admin(&["backup", "-o", copy.to_str().unwrap()]);
    register(&mut van, "Борисов", 3);
    sync(&mut van);
    hub.kill();
    // The backup copied over the hub's file, its write-ahead log dropped.
    std::fs::copy(&copy, hub.data_dir.join("hub.db")).unwrap();
    for side in ["hub.db-wal", "hub.db-shm"] {
        let _ = std::fs::remove_file(hub.data_dir.join(side));
    }
    let out = hub.admin(&["mark-restored"]);
    assert!(out.contains("new relay epoch"), "{out}");
    hub.restart();
    let at_hub = |hub: &HubProcess| hub.storage().read(|s| s.count(DocKind::Person)).unwrap();
    assert_eq!(at_hub(&hub), 4);
    sync(&mut van);
    assert_eq!(at_hub(&hub), 7);
    // Refused while the hub serves.
    assert!(!hub.admin_output(&["mark-restored"]).status.success());
}
