//! Issue #15, the staff side: what a hub admin, a guesser at the hub's sign-in, or someone
//! holding a tablet could do with users and their secrets, each against a real hub process
//! on loopback and real files. One test per threat, named for it.

use kabinet_tests::hub::HubProcess;
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
