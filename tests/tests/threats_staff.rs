//! Issue #15, the staff side: what a hub admin, a guesser at the hub's sign-in, or someone
//! holding a tablet could do with users and their secrets, each against a real hub process
//! on loopback and real files. One test per threat, named for it.

use kabinet_keys::{Keyring, LoginError};
use kabinet_tests::hub::{DEVICE_KEY, HubProcess, enrolled_device};
use std::time::Duration;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// One web sign-in: its status and body.
fn sign_in(
    http: &reqwest::blocking::Client,
    hub: &HubProcess,
    name: &str,
    password: &str,
) -> (u16, serde_json::Value) {
    let r = http
        .post(format!("{}/api/login", hub.url()))
        .json(&serde_json::json!({"name": name, "password": password}))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn fifty_parallel_wrong_passwords_are_counted_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("akostova", "Анна Костова", "hub_admin", "admin-pass-1");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hub = &hub;
        let tries: Vec<_> = (0..50)
            .map(|i| s.spawn(move || sign_in(&http(), hub, "akostova", &format!("guess-{i:04}")).0))
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(
        checked, 3,
        "only the free tries reach the password check: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    let listed = hub.admin(&["users", "list"]);
    assert!(listed.contains("3 wrong sign-ins"), "{listed}");
    // The right password now waits like any other try.
    assert_eq!(sign_in(&http(), &hub, "akostova", "admin-pass-1").0, 429);
}

#[test]
fn an_unknown_name_is_answered_like_a_known_one() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("akostova", "Анна Костова", "hub_admin", "admin-pass-1");
    let http = http();
    let answers = |name: &str| -> Vec<(u16, String)> {
        (0..5)
            .map(|_| {
                let (status, body) = sign_in(&http, &hub, name, "wrong-password");
                // The wait's seconds may differ by one between the two; the words may not.
                let words: String = body["error"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_ascii_digit())
                    .collect();
                (status, words)
            })
            .collect()
    };
    let known = answers("akostova");
    let unknown = answers("nobody");
    assert_eq!(known, unknown);
    assert_eq!(
        known.iter().map(|a| a.0).collect::<Vec<_>>(),
        [401, 401, 401, 429, 429]
    );
}

#[test]
fn one_address_cannot_spray_guesses_over_many_names() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("akostova", "Анна Костова", "hub_admin", "admin-pass-1");
    let http = http();
    // Two tries per name stay under each name's limit; the address's limit stops the spray.
    let mut statuses = Vec::new();
    for i in 0..30 {
        for _ in 0..2 {
            statuses.push(sign_in(&http, &hub, &format!("user{i}"), "wrong-password").0);
        }
    }
    let refused_from = statuses.iter().position(|s| *s == 429);
    assert_eq!(
        refused_from,
        Some(kabinet_hub::sign_in::ADDRESS_FAILURES as usize),
        "{statuses:?}"
    );
    assert!(statuses[refused_from.unwrap()..].iter().all(|s| *s == 429));
    // Even the right password from that address waits for the window to pass.
    let (status, body) = sign_in(&http, &hub, "akostova", "admin-pass-1");
    assert_eq!(status, 429, "{body}");
}

fn admin_post(
    http: &reqwest::blocking::Client,
    hub: &HubProcess,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = http
        .post(format!("{}{path}", hub.url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn every_admin_action_is_in_the_hash_chain_with_the_users_login() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("akostova", "Анна Костова", "hub_admin", "admin-pass-1");
    let http = http();
    let token = hub.staff_session("akostova", "admin-pass-1");
    let (status, body) = admin_post(
        &http,
        &hub,
        &token,
        "/api/admin/users",
        serde_json::json!({"name": "gdimitrov", "display_name": "Георги Димитров",
                           "role": "social_worker", "password": "social-pass-1"}),
    );
    assert_eq!(status, 201, "{body}");
    for (action, body) in [
        ("reset", serde_json::json!({"password": "social-pass-2"})),
        ("disable", serde_json::json!({})),
        ("enable", serde_json::json!({})),
    ] {
        let path = format!("/api/admin/users/gdimitrov/{action}");
        let (status, body) = admin_post(&http, &hub, &token, &path, body);
        assert_eq!(status, 204, "{action}: {body}");
    }
    let (status, body) = admin_post(
        &http,
        &hub,
        &token,
        "/api/admin/users/gdimitrov/edit",
        serde_json::json!({"role": "lawyer", "cabinets": ["Перник-1"]}),
    );
    assert_eq!(status, 204, "{body}");
    hub.admin(&["users", "disable", "gdimitrov"]);

    // The hub's own chain holds every change, who made it and to which login, and verifies.
    let (held, entries) = hub
        .storage()
        .read(|store| Ok((store.verify_audit()?, store.audit_entries(0, 1000)?)))
        .unwrap();
    assert_eq!(entries.len() as u64, held);
    let changes: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.entry.action.as_str().to_string(),
                e.entry.user.clone(),
                e.entry.record.clone(),
            )
        })
        .collect();
    let console = changes[0].1.clone();
    assert!(console.starts_with("console"), "{changes:?}");
    assert_eq!(
        changes,
        [
            ("add_user", console.as_str(), "akostova"),
            ("add_user", "Анна Костова", "gdimitrov"),
            ("reset_secret", "Анна Костова", "gdimitrov"),
            ("disable_user", "Анна Костова", "gdimitrov"),
            ("enable_user", "Анна Костова", "gdimitrov"),
            ("change_role", "Анна Костова", "gdimitrov"),
            ("change_cabinets", "Анна Костова", "gdimitrov"),
            ("disable_user", console.as_str(), "gdimitrov"),
        ]
        .map(|(a, u, r)| (a.to_string(), u.to_string(), r.to_string()))
    );

    // The admin's view shows the login beside the name, and finds the changes by either.
    let rows: serde_json::Value = http
        .get(format!("{}/api/admin/audit?user=akostova", hub.url()))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["user"] == "Анна Костова" && r["login"] == "akostova"),
        "{rows:?}"
    );
    let cli = hub.admin(&["audit", "--action", "change_role"]);
    assert!(
        cli.contains("gdimitrov") && cli.contains("Анна Костова (akostova)"),
        "{cli}"
    );
    assert!(cli.contains("social_worker→lawyer"), "{cli}");
    // An admin may not change their own role.
    let (status, _) = admin_post(
        &http,
        &hub,
        &token,
        "/api/admin/users/akostova/edit",
        serde_json::json!({"role": "nurse"}),
    );
    assert_eq!(status, 409);
}

#[test]
fn a_second_user_with_the_same_display_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("akostova", "Анна Костова", "hub_admin", "admin-pass-1");
    hub.add_user("mpetrova", "Мария Петрова", "nurse", "nurse-pass-1");
    let http = http();
    let token = hub.staff_session("akostova", "admin-pass-1");
    // The same name in other letters' case and spacing is the same name on a record.
    let (status, body) = admin_post(
        &http,
        &hub,
        &token,
        "/api/admin/users",
        serde_json::json!({"name": "mpetrova2", "display_name": " мария  ПЕТРОВА ",
                           "role": "nurse", "password": "nurse-pass-2"}),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "display_name", "{body}");
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("mpetrova"),
        "{body}"
    );
    let listed = hub.admin(&["users", "list"]);
    assert!(!listed.contains("mpetrova2"), "{listed}");
}

#[test]
fn a_device_receives_only_its_cabinets_users() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user_in(
        "mpetrova",
        "Мария Петрова",
        "nurse",
        "pin-pernik-1",
        &["Перник-1"],
    );
    hub.add_user_in(
        "ivanov",
        "Д-р Иван Иванов",
        "doctor",
        "pin-doctor-1",
        &["Перник-1", "Радомир-1"],
    );
    hub.add_user_in(
        "stoyanova",
        "Елена Стоянова",
        "nurse",
        "pin-radomir",
        &["Радомир-1"],
    );
    // A nurse of no cabinet (hub staff) is on no device.
    hub.add_user("akostova", "Анна Костова", "nurse", "web-pass-1");

    let pernik = enrolled_device(dir.path(), "pernik", &hub, "Перник-1");
    let names = |store: &kabinet_store::Store| -> Vec<String> {
        kabinet_sync::fetch_roster(store)
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect()
    };
    assert_eq!(names(&pernik), ["ivanov", "mpetrova"]);
    let radomir = enrolled_device(dir.path(), "radomir", &hub, "Радомир-1");
    assert_eq!(names(&radomir), ["ivanov", "stoyanova"]);

    // Moved out of a cabinet: gone from its devices at their next look.
    hub.admin(&["users", "edit", "ivanov", "--cabinet", "Радомир-1"]);
    assert_eq!(names(&pernik), ["mpetrova"]);
    let ring = Keyring::beside(pernik.path());
    kabinet_sync::sync_users(&pernik, &ring, &DEVICE_KEY).unwrap();
    let mut ring = Keyring::load(&ring).unwrap();
    assert!(matches!(
        ring.unlock("ivanov", "pin-doctor-1", chrono::Utc::now()),
        Err(LoginError::UnknownUser(_))
    ));
    let changes = hub.admin(&["audit", "--action", "change_cabinets"]);
    assert!(
        changes.contains("ivanov") && changes.contains("Радомир-1"),
        "{changes}"
    );
}

#[test]
fn a_device_pin_does_not_sign_in_at_the_web() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user("akostova", "Анна Костова", "hub_admin", "admin-pass-1");
    hub.add_user_in(
        "mpetrova",
        "Мария Петрова",
        "nurse",
        "van-pin-2026",
        &["Перник-1"],
    );
    let http = http();
    // The PIN whose wrapped key every tablet of her cabinet holds does not open the web.
    assert_eq!(sign_in(&http, &hub, "mpetrova", "van-pin-2026").0, 401);

    // A web password of her own may not be that PIN; a different one signs in.
    let token = hub.staff_session("akostova", "admin-pass-1");
    let web = |password: &str| {
        admin_post(
            &http,
            &hub,
            &token,
            "/api/admin/users/mpetrova/reset",
            serde_json::json!({"password": password, "secret": "web"}),
        )
    };
    let (status, body) = web("van-pin-2026");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "password", "{body}");
    assert_eq!(web("desk-password-1").0, 204);
    assert_eq!(sign_in(&http, &hub, "mpetrova", "desk-password-1").0, 200);
    assert_eq!(sign_in(&http, &hub, "mpetrova", "van-pin-2026").0, 401);
    // Nor may a new PIN be her web password.
    let (status, _) = admin_post(
        &http,
        &hub,
        &token,
        "/api/admin/users/mpetrova/reset",
        serde_json::json!({"password": "desk-password-1", "secret": "device"}),
    );
    assert_eq!(status, 422);

    // Her tablet still opens with the PIN, and only with it.
    let tablet = enrolled_device(dir.path(), "tablet", &hub, "Перник-1");
    let ring = Keyring::beside(tablet.path());
    kabinet_sync::sync_users(&tablet, &ring, &DEVICE_KEY).unwrap();
    let mut ring = Keyring::load(&ring).unwrap();
    let now = chrono::Utc::now();
    assert!(matches!(
        ring.unlock("mpetrova", "desk-password-1", now),
        Err(LoginError::WrongSecret { .. })
    ));
    ring.unlock("mpetrova", "van-pin-2026", now).unwrap();
}

#[test]
fn a_role_or_name_edited_in_the_tablets_keyring_opens_nothing() {
    use kabinet_device::Device;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    hub.add_user_in(
        "mpetrova",
        "Мария Петрова",
        "nurse",
        "van-pin-2026",
        &["Перник-1"],
    );
    hub.add_user_in(
        "ivanov",
        "Д-р Иван Иванов",
        "doctor",
        "doctor-pin-1",
        &["Перник-1"],
    );
    let code = hub.enrollment_code("Перник-1");
    let data = dir.path().join("app");
    let lang = kabinet_core::Lang::En;
    Device::new(data.clone())
        .setup(&hub.url(), &code, "tablet", lang)
        .unwrap();
    let ring = Keyring::beside(&data.join(kabinet_device::STORE_FILE));
    let original = std::fs::read_to_string(&ring).unwrap();
    let role = |status: kabinet_device::AppStatus| status.role.map(|r| r.as_str());
    assert_eq!(
        role(
            Device::new(data.clone())
                .login("mpetrova", "van-pin-2026", lang)
                .unwrap()
        ),
        Some("nurse")
    );

    // The nurse makes herself a psychologist, or signs as the doctor, in the file: her own
    // PIN then opens nothing.
    let edit = |field: &str, value: &str| {
        let mut file: serde_json::Value = serde_json::from_str(&original).unwrap();
        file["slots"]["mpetrova"]["user"][field] = value.into();
        std::fs::write(&ring, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    };
    for (field, value) in [
        ("role", "psychologist"),
        ("role", "no-such-role"),
        ("display_name", "Д-р Иван Иванов"),
    ] {
        edit(field, value);
        let refused = Device::new(data.clone()).login("mpetrova", "van-pin-2026", lang);
        assert!(
            refused.is_err(),
            "{field} = {value}: {:?}",
            refused.map(role)
        );
    }
    // The file as the hub's roster made it opens again.
    std::fs::write(&ring, &original).unwrap();
    Device::new(data.clone())
        .login("mpetrova", "van-pin-2026", lang)
        .unwrap();
}
