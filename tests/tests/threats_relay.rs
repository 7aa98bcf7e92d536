//! Issue #15, the hub's side: what a device (a modified app on an enrolled tablet) or anyone
//! on the network could make the hub accept, keep or hand out beyond what their role allows.
//! Each test is named for the threat; each drives a real hub process on loopback with real,
//! encrypted SQLite files, through the app's own sync engine where the attack fits through it
//! and through raw sync requests where only a modified app could send them.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT};
use kabinet_core::*;
use kabinet_store::sql::SqlExt;
use kabinet_store::{DocKind, Origin, Store};
use kabinet_sync::{DocChanges, SyncError, SyncRequest, SyncResponse};
use kabinet_tests::hub::{HubProcess, enrolled_device_with_roles};
use serde_json::Value as Json;
use std::path::Path;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn sync(store: &mut Store) -> Result<kabinet_sync::SyncReport, SyncError> {
    kabinet_sync::sync(store, |_| {})
}

/// The status and message of a sync the hub refused; panics if it was not refused.
fn refused(result: Result<kabinet_sync::SyncReport, SyncError>) -> (u16, String) {
    match result {
        Err(SyncError::Refused { status, message }) => (status, message),
        other => panic!("expected the hub to refuse the push, got {other:?}"),
    }
}

/// A hub with a cabinet's device (nurse, doctor) and an education mediator's device.
fn cabinet_and_mediator(dir: &Path) -> (HubProcess, Store, Store) {
    kabinet_tests::hub::cabinet_and_mediator(Path::new(HUB_BIN), dir)
}

fn hiv_referral_reason() -> ReferralReason {
    ReferralReason::Screening(ScreeningKind::Hiv)
}

/// An HTTP client for raw requests (reqwest needs rustls' crypto chosen once per process).
fn http_client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// What a modified app can send: a sync request of its own making, with the device's token.
fn push_raw(store: &Store, docs: Vec<DocChanges>) -> Result<SyncResponse, (u16, String)> {
    let request = SyncRequest {
        push: docs,
        push_through: 0,
        pull_cursor: 0,
        max_pull_bytes: 0,
        relay_epoch: None,
    };
    exchange(store, &request)
}

fn exchange(store: &Store, request: &SyncRequest) -> Result<SyncResponse, (u16, String)> {
    let url = store.meta(kabinet_store::meta::HUB_URL).unwrap().unwrap();
    let token = store.meta(kabinet_store::meta::HUB_TOKEN).unwrap().unwrap();
    let answer = http_client()
        .post(format!("{url}/v1/sync"))
        .bearer_auth(token)
        .body(request.encode())
        .send()
        .unwrap();
    let status = answer.status().as_u16();
    let body = answer.bytes().unwrap();
    if status != 200 {
        return Err((status, String::from_utf8_lossy(&body).into_owned()));
    }
    Ok(SyncResponse::decode(&body).unwrap())
}

/// The refusals the hub recorded for a document: (device or user, class, action).
fn refusals_of(hub: &HubProcess, doc_id: Uuid) -> Vec<(String, String, String)> {
    hub.with_sql(|sql| {
        sql.rows(
            "SELECT device_id, class, action FROM hub_refusal WHERE doc_id = ?1",
            &[&doc_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    })
}

fn held_by(store: &Store, doc_id: Uuid) -> bool {
    kabinet_tests::hub::device_sql(store)
        .query_row(
            "SELECT count(*) FROM documents WHERE doc_id = ?1",
            [doc_id.as_bytes()],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0
}

/// Writes a JSON value into an Automerge map (what a device's store does for a record).
fn put_json(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &Json) {
    match value {
        Json::Object(map) => {
            let child = doc.put_object(obj, key, ObjType::Map).unwrap();
            for (k, v) in map {
                put_json(doc, &child, k, v);
            }
        }
        Json::String(s) => doc.put(obj, key, s.as_str()).unwrap(),
        Json::Bool(b) => doc.put(obj, key, *b).unwrap(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => doc.put(obj, key, i).unwrap(),
            None => doc.put(obj, key, n.as_f64().unwrap()).unwrap(),
        },
        other => panic!("not needed here: {other}"),
    }
}

/// A mediator's device (a modified app) writes a "social" referral under the id of the
/// cabinet's HIV referral and pushes it claiming `general`. The hub checks a push against the
/// class it holds the document in, not the class claimed: refused, recorded as an attempt on
/// HIV data, and the referral at the hub is untouched.
#[test]
fn a_mediators_device_cannot_push_into_an_hiv_referral_by_claiming_general() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    let hiv = cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            kabinet_tests::put_referral(w, &visit, hiv_referral_reason(), "hiv-confirmatory")
        })
        .unwrap();
    sync(&mut cabinet).unwrap();
    sync(&mut mediator).unwrap();
    assert!(!held_by(&mediator, hiv.id));

    let mut forged = hiv.clone();
    forged.reason = ReferralReason::Social;
    forged.destination = Destination::parse("hub-social-worker").unwrap();
    mediator
        .write(Origin::Local, |w| w.put_referral(&forged))
        .unwrap();
    let (status, message) = refused(sync(&mut mediator));
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("hiv"), "{message}");

    let at_hub = hub.storage().read(|s| s.referral(hiv.id)).unwrap();
    assert_eq!(at_hub, hiv, "nothing of the push was kept");
    let mediator_id = mediator
        .meta(kabinet_store::meta::DEVICE_ID)
        .unwrap()
        .unwrap();
    assert_eq!(
        refusals_of(&hub, hiv.id),
        vec![(mediator_id, "hiv".into(), "push".into())]
    );
    // The hub goes on serving, the cabinet's device too.
    sync(&mut cabinet).unwrap();
}

/// An HIV result written into the general visit document (by a build that does not split
/// results out, or on purpose) would reach every device that may read the visit: mediators
/// too. The hub checks a visit's content after merging it: refused, whoever sends it.
#[test]
fn an_hiv_result_inside_a_general_visit_document_is_refused_whoever_sends_it() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)
        })
        .unwrap();
    sync(&mut cabinet).unwrap();
    sync(&mut mediator).unwrap();

    // The visit document, with the HIV test added to its screenings.
    let hiv = serde_json::to_value(visit.screenings.hiv.as_ref().unwrap()).unwrap();
    for sender in [&cabinet, &mediator] {
        let mut doc = AutoCommit::load(&sender.changes_after(visit.id, &[]).unwrap()).unwrap();
        let before = doc.get_heads();
        let (_, screenings) = automerge::ReadDoc::get(&doc, &ROOT, "screenings")
            .unwrap()
            .expect("the visit has general screenings");
        put_json(&mut doc, &screenings, "hiv", &hiv);
        let changes = doc.save_after(&before);
        let pushed = DocChanges::new(
            visit.id,
            DocKind::Visit as u8,
            AccessClass::General.code(),
            Some(person.id),
            changes,
        );
        let (status, message) = push_raw(sender, vec![pushed]).unwrap_err();
        assert_eq!(status, 403, "{message}");
        assert!(message.contains("hiv"), "{message}");
    }
    assert_eq!(refusals_of(&hub, visit.id).len(), 2);

    // No device that may read the visit but not HIV receives the result.
    let mut other = enrolled_device_with_roles(
        dir.path(),
        "mediator-2",
        &hub,
        "hub-mediators",
        &["education_mediator"],
    );
    sync(&mut other).unwrap();
    assert!(other.visit(visit.id).unwrap().screenings.hiv.is_none());
    assert!(
        hub.storage()
            .read(|s| s.visit(visit.id))
            .unwrap()
            .screenings
            .hiv
            .is_some(),
        "the real result is still where it belongs"
    );
}

/// A results document's id is derived from its visit and class (UUID v5), so anyone who
/// holds the visit can work it out. A mediator's device takes that id first for a person:
/// the nurse's real HIV result would then be refused at the hub for good. The hub refuses
/// name-based ids for anything but results documents, and the result goes through.
#[test]
fn a_device_cannot_squat_the_derived_id_of_a_visits_hiv_results() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let mut visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    let result = visit.screenings.hiv.take();
    cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)
        })
        .unwrap();
    sync(&mut cabinet).unwrap();
    sync(&mut mediator).unwrap();

    let results_id = kabinet_store::results_doc_id(visit.id, AccessClass::Hiv);
    let mut squatter = kabinet_tests::man_without_documents("Иван", "Иванов", 1980);
    squatter.id = results_id;
    mediator
        .write(Origin::Local, |w| w.put_person(&squatter))
        .unwrap();
    let (status, message) = refused(sync(&mut mediator));
    assert_eq!(status, 403, "{message}");
    assert_eq!(refusals_of(&hub, results_id).len(), 1);
    // Nor the other way round: results sent under an id of the device's choosing.
    let hiv_part = serde_json::json!({ "screenings": { "hiv": result } });
    let mut doc = AutoCommit::new();
    for (key, value) in hiv_part.as_object().unwrap() {
        put_json(&mut doc, &ROOT, key, value);
    }
    let elsewhere = DocChanges {
        doc_id: Some(person.id),
        ..DocChanges::new(
            results_id,
            DocKind::Results as u8,
            AccessClass::Hiv.code(),
            Some(visit.id),
            doc.save(),
        )
    };
    let (status, message) = push_raw(&cabinet, vec![elsewhere]).unwrap_err();
    assert_eq!(status, 403, "{message}");
    assert_eq!(refusals_of(&hub, person.id).len(), 1);

    // The test's result, entered later, reaches the hub under its derived id.
    visit.screenings.hiv = result;
    cabinet
        .write(Origin::Local, |w| w.put_visit(&visit))
        .unwrap();
    sync(&mut cabinet).unwrap();
    let kind: i64 = hub.with_sql(|sql| {
        sql.one(
            "SELECT kind FROM documents WHERE doc_id = ?1",
            &[&results_id],
            |r| r.get(0),
        )
    });
    assert_eq!(kind, DocKind::Results as i64);
}

/// A new HIV referral sent as `general` would be relayed under `general`, to mediators. The
/// hub files a referral under the class its content requires, so the claim is refused.
#[test]
fn a_new_hiv_referral_claimed_general_is_refused_and_never_reaches_a_mediator() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    let hiv = cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            kabinet_tests::put_referral(w, &visit, hiv_referral_reason(), "hiv-confirmatory")
        })
        .unwrap();
    let bytes = cabinet.changes_after(hiv.id, &[]).unwrap();
    let pushed = DocChanges::new(
        hiv.id,
        DocKind::Referral as u8,
        AccessClass::General.code(),
        Some(visit.id),
        bytes,
    );
    let (status, message) = push_raw(&cabinet, vec![pushed]).unwrap_err();
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("hiv"), "{message}");

    sync(&mut cabinet).unwrap(); // the real push, as hiv
    sync(&mut mediator).unwrap();
    assert!(!held_by(&mediator, hiv.id));
    assert!(mediator.referrals_of_person(person.id).unwrap().is_empty());
}

/// The directory says where each destination is: what every slip prints. It is the hub's to
/// edit; a device that changes it (a modified app) is refused, and no other device gets it.
#[test]
fn a_device_cannot_rewrite_the_hubs_directory_of_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());
    let mut directory = Directory::default();
    directory.hub.name = "Хъб".into();
    hub.storage()
        .write_local(|w| w.put_directory(&directory))
        .unwrap();
    sync(&mut mediator).unwrap();
    assert_eq!(mediator.directory().unwrap(), directory);

    let mut redirected = directory.clone();
    redirected.hub.address = "somewhere else".into();
    mediator
        .write(Origin::Local, |w| w.put_directory(&redirected))
        .unwrap();
    let (status, message) = refused(sync(&mut mediator));
    assert_eq!(status, 403, "{message}");
    sync(&mut cabinet).unwrap();
    assert_eq!(cabinet.directory().unwrap(), directory);
    assert_eq!(hub.storage().read(|s| s.directory()).unwrap(), directory);
}

/// A device asks for as many bytes per pull as it likes; the hub gathers a page in memory
/// and encodes it whole, so it caps the page itself.
#[test]
fn a_device_cannot_make_the_hub_gather_its_whole_relay_log_into_one_answer() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    let (hub, cabinet, _mediator) = cabinet_and_mediator(dir.path());
    // 16 visits with a megabyte of notes each (random letters, which compress little).
    let mut rng = rand::rng();
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    hub.storage()
        .write_local(|w| {
            w.put_person(&person)?;
            for _ in 0..16 {
                let mut visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
                visit.notes = (0..1 << 20)
                    .map(|_| char::from(rng.random_range(b'a'..=b'z')))
                    .collect();
                w.put_visit(&visit)?;
            }
            Ok(())
        })
        .unwrap();
    let request = SyncRequest {
        push: Vec::new(),
        push_through: 0,
        pull_cursor: 0,
        max_pull_bytes: u32::MAX,
        relay_epoch: None,
    };
    let answer = exchange(&cabinet, &request).unwrap();
    let bytes: usize = answer.pull.iter().map(|d| d.changes.len()).sum();
    let largest = answer.pull.iter().map(|d| d.changes.len()).max().unwrap();
    assert!(answer.more, "{bytes} bytes in one answer");
    assert!(
        bytes <= kabinet_hub::relay::MAX_PULL_BYTES + largest,
        "{bytes} bytes in one answer"
    );
}

/// The status the hub answers to a request that announces a body of `length` bytes and
/// sends none of it: an answer means the hub decided on the headers alone; a hub that reads
/// (and parses) bodies first would wait for the body instead, until the timeout.
fn status_without_the_body(
    hub: &HubProcess,
    path: &str,
    token: Option<&str>,
    length: usize,
) -> u16 {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(hub.addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        tcp,
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n",
        hub.addr
    )
    .unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head)
        .unwrap_or_else(|e| panic!("{path}: no answer before the body was sent ({e})"));
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

/// Sign-in and enrollment are open to anyone on the network: a huge body must be turned away
/// before it is read, not read and parsed (and a password hashed) first. Only an enrolled
/// device's sync takes large bodies, and only after its token is checked.
#[test]
fn a_huge_body_is_refused_before_it_is_read_unless_an_enrolled_device_syncs() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, _mediator) = cabinet_and_mediator(dir.path());
    hub.add_user("ali", "Али Мехмед", "education_mediator", "mediator-pass");
    let megabytes = 2 << 20;
    assert_eq!(
        status_without_the_body(&hub, "/api/login", None, megabytes),
        413
    );
    assert_eq!(
        status_without_the_body(&hub, "/v1/enroll", None, megabytes),
        413
    );
    let login: Json = http_client()
        .post(format!("{}/api/login", hub.url()))
        .json(&serde_json::json!({"name": "ali", "password": "mediator-pass"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let staff = login["token"].as_str();
    assert_eq!(
        status_without_the_body(&hub, "/api/call", staff, megabytes),
        413
    );
    // A sync without a device token is refused before its body counts; a staff session is
    // no device token.
    assert_eq!(
        status_without_the_body(&hub, "/v1/sync", None, 30 << 20),
        401
    );
    assert_eq!(
        status_without_the_body(&hub, "/v1/sync", staff, 30 << 20),
        401
    );

    // An enrolled device's big push (3 MB of notes that compress little) is taken.
    let mut rng = rand::rng();
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let mut visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    visit.notes = (0..3 << 20)
        .map(|_| char::from(rng.random_range(b'a'..=b'z')))
        .collect();
    cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)
        })
        .unwrap();
    sync(&mut cabinet).unwrap();
    let at_hub = hub.storage().read(|s| s.visit(visit.id)).unwrap();
    assert_eq!(at_hub.notes.len(), 3 << 20);
}

/// The web UI the hub serves may not be framed by another site (clickjacking a signed-in
/// admin), nor run scripts from anywhere but the hub; no answer is sniffed into another type
/// or sends the page's address (which may hold a record id) elsewhere.
#[test]
fn the_hubs_pages_may_not_be_framed_nor_load_foreign_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let ui = dir.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Кабинет</title>",
    )
    .unwrap();
    let hub = HubProcess::start_with_ui(Path::new(HUB_BIN), &dir.path().join("hub"), &ui);
    let http = http_client();
    for path in ["/", "/index.html", "/some/screen", "/api/me", "/health"] {
        let answer = http.get(format!("{}{path}", hub.url())).send().unwrap();
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp:?}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
    }
}

/// Slips carry a name and a reason: staff asking for the slip of a referral their role may
/// not read get "not found", and the request is on the audit log as refused, like every
/// other refused request at the hub.
#[test]
fn a_refused_slip_request_at_the_hub_is_on_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    let hiv = hub
        .storage()
        .write_local(|w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            kabinet_tests::put_referral(w, &visit, hiv_referral_reason(), "hiv-confirmatory")
        })
        .unwrap();
    hub.add_user("ali", "Али Мехмед", "education_mediator", "mediator-pass");
    let http = http_client();
    let login: Json = http
        .post(format!("{}/api/login", hub.url()))
        .json(&serde_json::json!({"name": "ali", "password": "mediator-pass"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let answer = http
        .get(format!("{}/api/slips?ids={}&paper=A5", hub.url(), hiv.id))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    assert_eq!(
        refusals_of(&hub, hiv.id),
        vec![("hub:Али Мехмед".into(), "hiv".into(), "slips".into())]
    );
}
