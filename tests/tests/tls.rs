//! The hub serves HTTPS with a certificate it makes itself, and a device trusts exactly the
//! certificate it pinned at enrollment: another server at the same address (another hub, or
//! someone in the middle) is refused, with an error that says so rather than "offline".

use kabinet_store::{DeviceSettings, Store};
use kabinet_sync::SyncError;
use kabinet_tests::hub::{DEVICE_KEY, HubProcess, enrolled_device};
use std::process::Command;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn fresh_device(dir: &std::path::Path, name: &str) -> Store {
    Store::create(
        &dir.join(format!("{name}.db")),
        &DEVICE_KEY,
        &DeviceSettings {
            cabinet: "unenrolled".into(),
            issuer: 1,
        },
    )
    .unwrap()
}

fn digits(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_lowercase()
}

#[test]
fn a_device_syncs_over_https_with_the_pinned_certificate_and_refuses_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start_tls(HUB_BIN.as_ref(), &dir.path().join("hub-a"));
    let addr = hub.addr;
    assert!(hub.url().starts_with("https://"));
    let fingerprint = digits(hub.admin(&["fingerprint"]).trim());
    assert_eq!(fingerprint.len(), 64);

    // Enrolling with the fingerprint the operator read out (grouped, as printed) works; the
    // device pins that certificate and syncs.
    let mut device = fresh_device(dir.path(), "tablet");
    let code = hub.enrollment_code("Перник-1");
    let printed = hub.admin(&["fingerprint"]);
    let enrolled = kabinet_sync::enroll(
        &mut device,
        &format!("{}#sha256={}", hub.url(), printed.trim()),
        &code,
        "tablet",
    )
    .unwrap();
    assert_eq!(enrolled.fingerprint.as_deref(), Some(fingerprint.as_str()));
    assert!(kabinet_sync::probe(&device).unwrap());
    kabinet_sync::sync(&mut device, |_| {}).unwrap();

    // A wrong fingerprint in the address: refused before the code is even sent.
    let mut other = fresh_device(dir.path(), "other");
    let code2 = hub.enrollment_code("Перник-1");
    let wrong = format!("{}#sha256={}", hub.url(), "00".repeat(32));
    let err = kabinet_sync::enroll(&mut other, &wrong, &code2, "other").unwrap_err();
    assert!(
        matches!(err, SyncError::CertificateMismatch { ref presented } if *presented == fingerprint),
        "{err}"
    );
    assert!(!kabinet_sync::status(&other).unwrap().enrolled);
    // The code was not spent on the impostor check: it still enrolls the device.
    kabinet_sync::enroll(&mut other, &hub.url(), &code2, "other").unwrap();

    // Another hub (its own certificate) appears at the same address.
    hub.kill();
    let _impostor = HubProcess::start_at(HUB_BIN.as_ref(), &dir.path().join("hub-b"), addr, true);
    let err = kabinet_sync::sync(&mut device, |_| {}).unwrap_err();
    assert!(
        matches!(err, SyncError::CertificateMismatch { .. }),
        "a different certificate must be refused, got {err}"
    );
    assert!(err.to_string().contains("not the one pinned"), "{err}");
    assert!(matches!(
        kabinet_sync::probe(&device),
        Err(SyncError::CertificateMismatch { .. })
    ));
    let status = kabinet_sync::status(&device).unwrap();
    assert!(
        status
            .last_error
            .is_some_and(|e| e.contains("not the one pinned")),
        "the refusal is what the device shows"
    );
}

#[test]
fn plain_http_is_refused_off_loopback_and_by_devices() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(HUB_BIN)
        .args(["serve", "--plain-http", "--listen", "0.0.0.0:0"])
        .env("KABINET_HUB_DATA", dir.path().join("hub"))
        .env("KABINET_HUB_KEY", kabinet_tests::hub::HUB_KEY)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--plain-http") && stderr.contains("HTTPS"),
        "{stderr}"
    );

    let mut device = fresh_device(dir.path(), "tablet");
    let err = kabinet_sync::enroll(&mut device, "http://192.0.2.7:8750", "1234", "t").unwrap_err();
    assert!(err.to_string().contains("plain HTTP"), "{err}");
}

#[test]
fn loopback_development_hubs_still_work_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    let mut device = enrolled_device(dir.path(), "dev", &hub, "Перник-1");
    kabinet_sync::sync(&mut device, |_| {}).unwrap();
}

/// Enrollment does not trust the first certificate it sees: the code the operator printed
/// carries the start of the hub's fingerprint, and a device checks the certificate against it
/// before the one-time code leaves; a code without it gets the fingerprint shown to compare,
/// and only enrolling again with it (confirmed) goes on.
#[test]
fn enrollment_checks_the_certificate_against_the_code_and_never_pins_blindly() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start_tls(HUB_BIN.as_ref(), &dir.path().join("hub-a"));
    let addr = hub.addr;
    let fingerprint = digits(hub.admin(&["fingerprint"]).trim());
    let code = hub.enrollment_code("Перник-1");
    // 1234-5678-9012 and the fingerprint's first 16 hex digits.
    assert_eq!(digits(&code)[12..], fingerprint[..16], "{code}");

    // Someone else's server at the hub's address: the code's fingerprint does not match, and
    // the code is not sent (it still works at the real hub afterwards).
    hub.kill();
    let impostor = HubProcess::start_at(HUB_BIN.as_ref(), &dir.path().join("hub-b"), addr, true);
    let mut tablet = fresh_device(dir.path(), "tablet");
    let err = kabinet_sync::enroll(&mut tablet, &hub.url(), &code, "tablet").unwrap_err();
    assert!(
        matches!(err, SyncError::CertificateMismatch { .. }),
        "{err}"
    );
    assert!(!kabinet_sync::status(&tablet).unwrap().enrolled);
    drop(impostor);
    hub.restart();
    let enrolled = kabinet_sync::enroll(&mut tablet, &hub.url(), &code, "tablet").unwrap();
    assert_eq!(enrolled.fingerprint.as_deref(), Some(fingerprint.as_str()));
    kabinet_sync::sync(&mut tablet, |_| {}).unwrap();

    // Only the 12 digits, no fingerprint in the address: nothing is pinned on trust; the
    // fingerprint comes back to be compared, and the code is not spent.
    let code = hub.enrollment_code("Перник-1");
    let only_digits: String = code.chars().filter(char::is_ascii_digit).take(12).collect();
    let mut other = fresh_device(dir.path(), "other");
    let err = kabinet_sync::enroll(&mut other, &hub.url(), &only_digits, "other").unwrap_err();
    let SyncError::UnconfirmedCertificate { presented } = &err else {
        panic!("expected the fingerprint to confirm, got {err}")
    };
    assert_eq!(*presented, fingerprint);
    assert!(
        err.message(kabinet_core::Lang::Bg)
            .contains(&kabinet_sync::grouped(&fingerprint)),
        "the message shows it as the hub prints it"
    );
    assert!(!kabinet_sync::status(&other).unwrap().enrolled);
    // Confirmed: the same code with the fingerprint after the address.
    kabinet_sync::enroll(
        &mut other,
        &format!("{}#sha256={presented}", hub.url()),
        &only_digits,
        "other",
    )
    .unwrap();
    assert!(kabinet_sync::status(&other).unwrap().enrolled);
}
