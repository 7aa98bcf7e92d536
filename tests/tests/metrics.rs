//! The operators' view (issue #20 item 6): `/metrics` in Prometheus' text format on a
//! loopback listener of its own — syncs by outcome, documents and bytes each way, refused
//! syncs by status, the sync duration histogram, each device's last sync — and a metrics
//! address off loopback refused at start.

use kabinet_tests::calls::{call_as, sync};
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::json;
use std::path::Path;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

/// The value of the sample `name` (with its labels as written), or 0 when absent.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn metrics_count_syncs_documents_bytes_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_with_metrics(Path::new(HUB_BIN), &dir.path().join("hub"));
    // reqwest is built without a default TLS provider: the one the whole workspace uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = hub.metrics_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let scrape = || reqwest::blocking::get(&url).unwrap().text().unwrap();
    let before = scrape();
    assert!(
        before.contains("# TYPE kabinet_hub_sync_duration_seconds histogram"),
        "{before}"
    );
    assert_eq!(sample(&before, "kabinet_hub_devices"), 0.0);

    let mut van = enrolled_device(dir.path(), "tablet", &hub, "cabinet-1");
    call_as(
        &mut van,
        "Мария Петрова",
        json!({"op": "register_person", "args": {"draft": {"given_name": "Асен", "family_name": "Асенов",
               "sex": "M", "birth_year": 1990, "no_documents": true, "consent_given": true}}}),
    );
    sync(&mut van);
    // A sync body that is no sync message: refused with 400, counted.
    let token = van
        .meta(kabinet_store::meta::HUB_TOKEN)
        .unwrap()
        .expect("an enrolled device's token");
    let refused = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", hub.url()))
        .bearer_auth(token)
        .body(vec![1u8, 2, 3])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);

    let after = scrape();
    assert!(
        sample(&after, "kabinet_hub_syncs_total{outcome=\"ok\"}") >= 1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "kabinet_hub_syncs_total{outcome=\"error\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "kabinet_hub_sync_errors_total{status=\"400\"}"),
        1.0
    );
    assert!(sample(&after, "kabinet_hub_sync_documents_total{direction=\"in\"}") >= 1.0);
    assert!(sample(&after, "kabinet_hub_sync_bytes_total{direction=\"in\"}") > 0.0);
    assert!(sample(&after, "kabinet_hub_sync_bytes_total{direction=\"out\"}") > 0.0);
    assert!(sample(&after, "kabinet_hub_sync_duration_seconds_count") >= 1.0);
    assert_eq!(sample(&after, "kabinet_hub_devices"), 1.0);
    assert!(
        after.contains("kabinet_hub_device_last_sync_timestamp_seconds{device=\"")
            && after.contains("cabinet=\"cabinet-1\""),
        "{after}"
    );
    // The main listener does not serve them.
    let main = reqwest::blocking::get(format!("{}/metrics", hub.url())).unwrap();
    assert!(!main.text().unwrap().contains("kabinet_hub_syncs_total"));
}

#[test]
fn metrics_off_loopback_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(HUB_BIN)
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "0.0.0.0:9750",
        ])
        .env("KABINET_HUB_DATA", dir.path())
        .env("KABINET_HUB_KEY", "raw:".to_string() + &"42".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loopback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
