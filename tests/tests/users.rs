//! Users reach devices by sync and log in there offline: the hub's users of the device's roles
//! arrive with their credentials; the right password opens the store with the hub out of
//! reach; wrong ones slow down, then lock; a disabled user is locked out at the next sync; a
//! reset at the hub unlocks and replaces the password everywhere. Hub sign-in has the same
//! limits.

use chrono::{Duration, Utc};
use kabinet_keys::{Keyring, LoginError};
use kabinet_store::{Store, StoreKey};
use kabinet_tests::hub::{HubProcess, enrolled_device};

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

#[test]
fn users_log_in_offline_slow_down_lock_and_follow_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    let pernik = &["Перник-1"];
    hub.add_user_in("mpetrova", "Мария Петрова", "nurse", "sestra-2026", pernik);
    hub.add_user_in("ivanov", "Д-р Иван Иванов", "doctor", "lekar-2026", pernik);
    hub.add_user_in(
        "ali",
        "Али Мехмед",
        "education_mediator",
        "mediator-1",
        pernik,
    );

    let device = enrolled_device(dir.path(), "tablet", &hub, "Перник-1");
    let db = dir.path().join("tablet.db");
    let ring_path = Keyring::beside(&db);
    let key = kabinet_tests::hub::DEVICE_KEY;
    let outcome = kabinet_sync::sync_users(&device, &ring_path, &key).unwrap();
    assert_eq!(
        outcome.added,
        vec!["ivanov", "mpetrova"],
        "only the device's roles"
    );
    drop(device);

    // The keyring holds no store key in any form.
    let file = std::fs::read_to_string(&ring_path).unwrap();
    assert!(!file.contains(&key.to_text()[4..]));

    // Offline: the hub is gone.
    hub.kill();
    let mut ring = Keyring::load(&ring_path).unwrap();
    let now = Utc::now();
    let unlocked = ring.unlock("mpetrova", "sestra-2026", now).unwrap();
    assert_eq!(unlocked.user.display_name, "Мария Петрова");
    let opened = StoreKey::from_text(std::str::from_utf8(&unlocked.store_key).unwrap()).unwrap();
    let store = Store::open(&db, &opened).expect("the unsealed key opens the store");
    assert_eq!(store.settings().unwrap().cabinet, "Перник-1");
    drop(store);
    assert!(matches!(
        ring.unlock("ali", "mediator-1", now),
        Err(LoginError::UnknownUser(_))
    ));

    // Wrong PINs: three free, then waits that grow, then locked.
    for left in [5, 4, 3] {
        assert_eq!(
            ring.unlock("ivanov", "lekar-2025", now).err(),
            Some(LoginError::WrongSecret { tries_left: left })
        );
    }
    assert_eq!(
        ring.unlock("ivanov", "lekar-2026", now).err(),
        Some(LoginError::Wait { seconds: 5 })
    );
    let mut t = now;
    for _ in 0..3 {
        t += Duration::minutes(1);
        let _ = ring.unlock("ivanov", "lekar-2025", t);
    }
    assert_eq!(
        ring.unlock("ivanov", "lekar-2026", t + Duration::hours(1))
            .err(),
        Some(LoginError::Locked("ivanov".into()))
    );

    // Back in range: the admin disables mpetrova and resets ivanov with a new password.
    hub.restart();
    hub.admin(&["users", "disable", "mpetrova"]);
    hub.admin_with_password(&["users", "reset", "ivanov"], "novа-parola-1");
    let device = Store::open(&db, &key).unwrap();
    let outcome = kabinet_sync::sync_users(&device, &ring_path, &key).unwrap();
    assert_eq!(outcome.removed, vec!["mpetrova"]);
    let mut ring = Keyring::load(&ring_path).unwrap();
    assert_eq!(
        ring.unlock("mpetrova", "sestra-2026", t).err(),
        Some(LoginError::Disabled("mpetrova".into())),
        "a disabled user is locked out at the next sync"
    );
    assert!(!ring.is_active("mpetrova"));
    assert!(matches!(
        ring.unlock("ivanov", "lekar-2026", t),
        Err(LoginError::WrongSecret { .. })
    ));
    let u = ring
        .unlock("ivanov", "novа-parola-1", t)
        .expect("reset unlocks with the new one");
    assert_eq!(u.user.generation, 1);
}

#[test]
fn hub_sign_in_slows_down_after_wrong_passwords_and_a_reset_clears_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("admin", "Админ", "hub_admin", "admin-pass-1");
    let http = reqwest::blocking::Client::new();
    let login = |password: &str| {
        http.post(format!("{}/api/login", hub.url()))
            .json(&serde_json::json!({"name": "admin", "password": password}))
            .send()
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(login("wrong-password").status(), 401);
    }
    let slowed = login("admin-pass-1");
    assert_eq!(slowed.status(), 429, "even the right password waits");
    let body: serde_json::Value = slowed.json().unwrap();
    assert!(
        body["error_bg"]
            .as_str()
            .unwrap()
            .contains("опитайте отново след")
    );
    // Unknown names answer like wrong passwords.
    let unknown = http
        .post(format!("{}/api/login", hub.url()))
        .json(&serde_json::json!({"name": "nobody", "password": "x"}))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 401);
    hub.admin_with_password(&["users", "reset", "admin"], "admin-pass-2");
    assert_eq!(login("admin-pass-1").status(), 401);
    assert_eq!(login("admin-pass-2").status(), 200);
    let listed = hub.admin(&["users", "list"]);
    assert!(
        listed.contains("admin  Админ  hub_admin  active"),
        "{listed}"
    );
}
