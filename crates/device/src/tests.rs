//! The session's states, the inactivity lock and wrong-try waits, on a real store and keyring
//! with a clock the tests move.

use super::*;
use kabinet_keys::{DeviceUser, UserCredential};
use serde_json::json;

/// Real time plus an offset the test moves forward.
#[derive(Clone, Default)]
struct TestClock(Arc<Mutex<Duration>>);

impl TestClock {
    fn advance(&self, by: Duration) {
        *lock(&self.0) += by;
    }
}

impl Clock for TestClock {
    fn instant(&self) -> Instant {
        Instant::now() + *lock(&self.0)
    }
    fn utc(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(*lock(&self.0)).unwrap()
    }
}

const SECRET: &str = "сестра-парола";

fn nurse(name: &str, disabled: bool) -> DeviceUser {
    let (credential, _) = UserCredential::create(SECRET).unwrap();
    DeviceUser {
        name: name.into(),
        display_name: format!("Сестра {name}"),
        role: "nurse".into(),
        disabled,
        generation: 0,
        credential,
    }
}

/// A device whose store exists and whose keyring holds `users` (what setup leaves behind).
fn set_up(dir: &Path, users: &[DeviceUser], clock: &TestClock) -> Device {
    let device = Device::new(dir.to_path_buf())
        .with_idle_lock(Duration::from_secs(300))
        .with_clock(clock.clone());
    let key = StoreKey::Raw([7; 32]);
    std::fs::create_dir_all(dir).unwrap();
    Store::create(
        &device.store_path(),
        &key,
        &DeviceSettings {
            cabinet: "cabinet-1".into(),
            issuer: 1,
        },
    )
    .unwrap();
    roster(&device, users, &key);
    device
}

fn roster(device: &Device, users: &[DeviceUser], key: &StoreKey) {
    Keyring::load(&device.keyring_path())
        .unwrap()
        .apply_roster(users, key.to_text().as_bytes())
        .unwrap();
}

fn call(device: &Device, op: serde_json::Value) -> Result<Response, ErrorBody> {
    device.call(serde_json::from_value(op).unwrap())
}

#[test]
fn a_new_device_is_in_setup_until_a_store_and_a_user_exist() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let fresh = Device::new(dir.path().join("fresh"));
    assert_eq!(fresh.status().state, AppState::Setup);
    assert_eq!(
        fresh.login("nobody", SECRET, Lang::Bg).unwrap_err().kind,
        ErrorKind::Invalid
    );
    // A store with nobody who can open it is still setup.
    let empty = set_up(&dir.path().join("empty"), &[], &clock);
    assert_eq!(empty.status().state, AppState::Setup);
    let device = set_up(
        &dir.path().join("ready"),
        &[nurse("ipetrova", false)],
        &clock,
    );
    let status = device.status();
    assert_eq!(status.state, AppState::Locked);
    assert_eq!(status.users.len(), 1);
    assert_eq!(status.user, None);
    // A setup with a malformed address or code names the field and writes nothing.
    let e = fresh
        .setup("hub.pernik.bg", "1234-5678-9012", "", Lang::Bg)
        .unwrap_err();
    assert_eq!(e.fields[0].field, "hub_url");
    let e = fresh
        .setup("https://127.0.0.1:1", "12", "", Lang::En)
        .unwrap_err();
    assert_eq!(e.fields[0].field, "code");
    assert!(!fresh.store_path().exists());
}

#[test]
fn a_login_unlocks_and_a_lock_closes_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let device = set_up(dir.path(), &[nurse("ipetrova", false)], &clock);
    let status = device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    assert_eq!(status.state, AppState::Unlocked);
    assert_eq!(status.user.as_deref(), Some("Сестра ipetrova"));
    assert_eq!(status.role, Some(Role::Nurse));
    assert_eq!(status.cabinet.as_deref(), Some("cabinet-1"));
    assert!(matches!(
        call(&device, json!({"op": "search", "args": {"query": "Иван"}})).unwrap(),
        Response::Search(hits) if hits.is_empty()
    ));
    device.lock();
    assert_eq!(device.status().state, AppState::Locked);
    let e = call(&device, json!({"op": "search", "args": {"query": "Иван"}})).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Locked);
}

#[test]
fn the_app_locks_itself_after_the_idle_time_and_a_touch_keeps_it_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let device = set_up(dir.path(), &[nurse("ipetrova", false)], &clock);
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    clock.advance(Duration::from_secs(240));
    device.touch().unwrap();
    clock.advance(Duration::from_secs(240));
    // Eight minutes since the login, four since the touch: still open.
    assert!(call(&device, json!({"op": "destinations", "args": {}})).is_ok());
    clock.advance(Duration::from_secs(301));
    let e = call(
        &device,
        json!({"lang": "en", "op": "destinations", "args": {}}),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Locked);
    assert!(e.message.contains("inactivity"), "{}", e.message);
    let status = device.status();
    assert_eq!(status.state, AppState::Locked);
    assert_eq!(status.lock_reason, Some(LockReason::Idle));
    // A touch after the lock does not reopen anything.
    assert_eq!(device.touch().unwrap_err().kind, ErrorKind::Locked);
    // Logging in again clears the reason.
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    assert_eq!(device.status().lock_reason, None);
}

#[test]
fn wrong_tries_wait_then_lock_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let device = set_up(dir.path(), &[nurse("ipetrova", false)], &clock);
    for left in [5, 4, 3] {
        let e = device.login("ipetrova", "грешна", Lang::Bg).unwrap_err();
        assert_eq!(e.fields[0].field, "secret");
        assert!(
            e.message.contains(&format!("остават {left} опита")) || left < 3,
            "{}",
            e.message
        );
    }
    // The fourth try, right away, must wait.
    let e = device.login("ipetrova", SECRET, Lang::En).unwrap_err();
    assert!(e.message.contains("wait"), "{}", e.message);
    clock.advance(Duration::from_secs(6));
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    device.lock();
}

#[test]
fn a_user_disabled_at_the_hub_is_locked_out_at_the_next_look() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let user = nurse("ipetrova", false);
    let device = set_up(dir.path(), std::slice::from_ref(&user), &clock);
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    assert!(device.sync_view().is_ok());
    // A sync brings the roster with the user disabled.
    let disabled = DeviceUser {
        disabled: true,
        ..user
    };
    roster(&device, &[disabled], &StoreKey::Raw([7; 32]));
    let e = device.sync_view().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Locked);
    assert_eq!(device.status().lock_reason, Some(LockReason::Disabled));
    assert_eq!(
        device
            .login("ipetrova", SECRET, Lang::Bg)
            .unwrap_err()
            .fields[0]
            .field,
        "user"
    );
}

/// A referral saved through the screens' calls, for printing.
fn a_referral(device: &Device) -> uuid::Uuid {
    let Response::RegisterPerson(person) = call(
        device,
        json!({"op": "register_person", "args": {"draft": {"given_name": "Асен", "family_name": "Асенов", "birth_year": 1990, "sex": "M", "consent_given": true}, "not_a_duplicate": true}}),
    )
    .unwrap() else {
        panic!("a person")
    };
    let Response::SaveVisit(saved) = call(
        device,
        json!({"op": "save_visit", "args": {"person_id": person.id, "form": {"hiv_result": "reactive", "hiv_consent": true, "hiv_counselled": true},
            "referrals": [{"reason": "screening:hiv", "destination": "hiv-confirmatory", "urgency": "priority"}]}}),
    )
    .unwrap() else {
        panic!("a visit")
    };
    saved.referrals[0].id
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_printed_slip_is_private_and_gone_after_the_viewer_had_it_on_lock_and_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let device = set_up(dir.path(), &[nurse("ipetrova", false)], &clock);
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    let id = a_referral(&device);

    let pdf = device.print_slips(&[id], "A5", None, Lang::Bg).unwrap();
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&pdf), 0o600, "only this user reads a slip");
    assert_eq!(mode(device.slip_dir()), 0o700);
    // Time to open it in the viewer; then the next touch clears it.
    device.touch().unwrap();
    assert!(pdf.exists());
    clock.advance(SLIP_FILE_LIFETIME + Duration::from_secs(1));
    device.touch().unwrap();
    assert!(!pdf.exists());

    // Locking clears what is still there.
    let pdf = device.print_slips(&[id], "A6", None, Lang::Bg).unwrap();
    device.lock();
    assert!(!pdf.exists());
    assert!(files_in(device.slip_dir()).is_empty());

    // A crash's leftovers go when the app starts again.
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    let pdf = device.print_slips(&[id], "A5", None, Lang::Bg).unwrap();
    std::mem::forget(device);
    assert!(pdf.exists());
    let again = Device::new(dir.path().to_path_buf());
    assert!(files_in(again.slip_dir()).is_empty());
    // And quitting clears too.
    again.login("ipetrova", SECRET, Lang::Bg).unwrap();
    let pdf = again.print_slips(&[id], "A5", None, Lang::Bg).unwrap();
    again.shut_down();
    assert!(!pdf.exists());
}

#[test]
fn an_old_keyring_put_back_cannot_bring_back_an_unsealed_role() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let user = nurse("ipetrova", false);
    let device = set_up(dir.path(), std::slice::from_ref(&user), &clock);
    let key = StoreKey::Raw([7; 32]);
    // A slot as keyrings before sealed it: the store key alone, the role only the file's word.
    let unsealed = |role: &str| {
        let path = device.keyring_path();
        let mut file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let slot = &mut file["slots"]["ipetrova"];
        slot["sealed"] = 0.into();
        slot["user"]["role"] = role.into();
        slot["sealed_store_key"] =
            hex_of(&user.credential.seal(key.to_text().as_bytes()).unwrap()).into();
        std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    };
    // A device updated from before: its old slots still log in, until a sealed one did.
    let sealed_keyring = std::fs::read(device.keyring_path()).unwrap();
    unsealed("nurse");
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    device.lock();
    std::fs::write(device.keyring_path(), &sealed_keyring).unwrap();
    device.login("ipetrova", SECRET, Lang::Bg).unwrap();
    device.lock();
    // From now on an old slot, with whatever role it says, is refused.
    unsealed("psychologist");
    let e = device.login("ipetrova", SECRET, Lang::En).unwrap_err();
    assert!(
        e.message.contains("changed outside the app"),
        "{}",
        e.message
    );
    // The hub's next roster seals her again.
    roster(&device, std::slice::from_ref(&user), &key);
    assert_eq!(
        device.login("ipetrova", SECRET, Lang::Bg).unwrap().role,
        Some(Role::Nurse)
    );
}

#[test]
fn parallel_logins_cannot_outrun_the_wrong_try_count() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let device = set_up(dir.path(), &[nurse("ipetrova", false)], &clock);
    let answers: Vec<ErrorBody> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    device
                        .login("ipetrova", "грешна-парола", Lang::En)
                        .unwrap_err()
                })
            })
            .collect();
        tries.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let checked = answers
        .iter()
        .filter(|e| e.message.contains("Wrong password"))
        .count();
    assert_eq!(
        checked,
        3,
        "{:?}",
        answers.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
