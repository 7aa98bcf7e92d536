//! Backups (issue #20 item 5, first half): `kabinet-hub backup -o FILE` while a van syncs,
//! on the hub's own backend (SQLite, or PostgreSQL under `KABINET_TEST_HUB=postgres`). The
//! file is a hub database encrypted with the hub key, as of one moment, checked against the
//! hub before it gets its name.

use kabinet_store::{DocKind, Origin, Store, StoreKey};
use kabinet_tests::calls::sync;
use kabinet_tests::hub::{HUB_KEY, HubProcess, enrolled_device};
use std::path::Path;

#[test]
fn a_backup_taken_while_a_van_syncs_is_whole_checked_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(
        Path::new(env!("CARGO_BIN_EXE_kabinet-hub-under-test")),
        &dir.path().join("hub"),
    );
    hub.add_user_in(
        "mpetrova",
        "Мария Петрова",
        "nurse",
        "van pin 2026",
        &["cabinet-1"],
    );
    let mut van = enrolled_device(dir.path(), "van", &hub, "cabinet-1");
    let register = |van: &mut Store, n: usize| {
        for i in 0..n {
            let person =
                kabinet_core::testing::man_without_documents("Асен", "Асенов", 1960 + i as i32);
            van.write(Origin::Local, |w| w.put_person(&person)).unwrap();
        }
    };
    register(&mut van, 20);
    sync(&mut van);

    let file = dir.path().join("hub-backup.db");
    // The van goes on registering and syncing while the backup is taken.
    let out = std::thread::scope(|scope| {
        let syncing = scope.spawn(|| {
            for _ in 0..5 {
                register(&mut van, 4);
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
