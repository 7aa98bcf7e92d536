//! The adversarial suite (issue #15, docs/threats.md): each test is named for a path by which
//! someone could see or change what their role may not, and shows it closed, against a real
//! hub process on loopback and real device stores. The hub's relay and its sign-in have their
//! own files (threats_relay.rs, threats_staff.rs); service-level paths are in
//! crates/service/src/tests.rs.

use kabinet_core::*;
use kabinet_service::{Context, Request};
use kabinet_store::Origin;
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::Value;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn audit_view(hub: &HubProcess, token: &str) -> (u16, Value) {
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/api/admin/audit", hub.url()))
        .bearer_auth(token)
        .send()
        .unwrap();
    (
        answer.status().as_u16(),
        answer.json().unwrap_or(Value::Null),
    )
}

/// The audit view must not tell the hub admin that a named person has an HIV record: lines
/// about a class the reader may not read are left out; the privacy officer sees them all.
#[test]
fn the_audit_view_does_not_tell_an_admin_who_has_hiv_data() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    let mut tablet = enrolled_device(dir.path(), "tablet", &hub, "Перник-1");
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    tablet.set_audit_user(Some("Мария Петрова".into()));
    tablet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)
        })
        .unwrap();
    let doctor = Context {
        lang: Lang::Bg,
        user: "Д-р Иван Иванов".into(),
        login: "iivanov".into(),
        now: chrono::Utc::now(),
        roles: Some(vec![Role::Doctor]),
    };
    kabinet_service::handle(
        &mut tablet,
        &doctor,
        Request::PersonRecord { id: person.id },
    )
    .unwrap();
    kabinet_sync::sync(&mut tablet, |_| {}).unwrap();

    hub.add_user(
        "akostova",
        "Анна Костова",
        "hub_admin",
        "admin staple battery",
    );
    hub.add_user(
        "dpo",
        "Десислава Попова",
        "privacy_officer",
        "privacy staple battery",
    );
    hub.add_user("ali", "Али Мехмед", "education_mediator", "mediator-pass");

    // An admin's act about a cabinet whose name contains "hiv" is still the admin's to see.
    hub.admin_with_password(
        &[
            "users",
            "add",
            "rarchive",
            "--display-name",
            "Роза Архивна",
            "--role",
            "nurse",
            "--cabinet",
            "Archive",
        ],
        "archive pin 2026",
    );
    let (status, admin_lines) =
        audit_view(&hub, &hub.staff_session("akostova", "admin staple battery"));
    assert_eq!(status, 200);
    let admin_lines = admin_lines.as_array().unwrap().clone();
    // The admin still sees the general lines (the person was created)…
    assert!(
        admin_lines
            .iter()
            .any(|l| l["record"] == person.id.to_string()),
        "{admin_lines:?}"
    );
    assert!(
        admin_lines.iter().any(|l| l["record"] == "rarchive"),
        "{admin_lines:?}"
    );
    // …but nothing about HIV data, nor the results document's id.
    let results_id = kabinet_store::results_doc_id(visit.id, AccessClass::Hiv).to_string();
    for line in &admin_lines {
        let text = line.to_string();
        let about_hiv = line["class"]
            .as_str()
            .unwrap_or_default()
            .split(['/', ',', ' '])
            .any(|w| w == "hiv");
        assert!(!about_hiv && !text.contains(&results_id), "{text}");
    }

    let (status, dpo_lines) = audit_view(&hub, &hub.staff_session("dpo", "privacy staple battery"));
    assert_eq!(status, 200);
    let dpo_text = dpo_lines.to_string();
    assert!(dpo_text.contains("person/hiv"), "{dpo_text}");
    assert!(dpo_lines.as_array().unwrap().len() > admin_lines.len());

    // Anyone else reads no audit log at all.
    let (status, _) = audit_view(&hub, &hub.staff_session("ali", "mediator-pass"));
    assert_eq!(status, 403);
}

/// An enrollment code without roles used to make a nurse's and doctor's device, which receives
/// HIV results: the operator must now say which roles the device's users have.
#[test]
fn a_device_gets_hiv_results_only_when_the_operator_names_its_roles() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    let out = std::process::Command::new(HUB_BIN)
        .args(["enroll", "--cabinet", "Перник-1"])
        .env("KABINET_HUB_DATA", dir.path().join("hub"))
        .env("KABINET_HUB_KEY", kabinet_tests::hub::HUB_KEY)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--role"), "{stderr}");
    // Named, it works.
    let code = hub.enrollment_code_for("Перник-1", &["social_worker"]);
    assert!(code.chars().filter(char::is_ascii_digit).count() >= 12);
}

/// A referral's later changes were relayed while it was general; then it moved into a class a
/// mediator may not read (a psychologist's reason at the hub; a destination promoting it on
/// upgrade). A mediator's device pulling from the start must receive none of it: not its first
/// row, and not the rows of changes relayed under the old class.
#[test]
fn changes_relayed_before_a_referral_moved_class_do_not_reach_a_role_that_may_not_read_it() {
    use kabinet_core::testing;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    let mut cabinet = enrolled_device(dir.path(), "cabinet", &hub, "cabinet-1");
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = testing::visit(person.id, chrono::Utc::now(), Screenings::default());
    let social = cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            kabinet_tests::put_referral(w, &visit, ReferralReason::Social, "hub-social-worker")
        })
        .unwrap();
    kabinet_sync::sync(&mut cabinet, |_| {}).unwrap();
    // A change relayed while the referral is general: a note that says more than it should.
    cabinet
        .write(Origin::Local, |w| {
            let mut r = w.referral(social.id)?.unwrap();
            r.advance(StatusChange {
                status: ReferralStatus::Attended,
                at: chrono::Utc::now(),
                by: "Мария Петрова".into(),
                note: Some("разговор с психолог за тревожност".into()),
            })
            .unwrap();
            w.put_referral(&r)
        })
        .unwrap();
    kabinet_sync::sync(&mut cabinet, |_| {}).unwrap();
    // At the hub the psychologist makes it a psychological referral (its class: psychology).
    hub.storage()
        .write_local(|w| {
            let mut moved = w.referral(social.id)?.unwrap();
            moved.reason = ReferralReason::Psychological;
            moved.destination = Destination::parse("hub-psychologist").unwrap();
            w.put_referral(&moved)
        })
        .unwrap();
    // A mediator's tablet enrolled now pulls everything from the start.
    let mut mediator = kabinet_tests::hub::enrolled_device_with_roles(
        dir.path(),
        "mediator",
        &hub,
        "cabinet-1",
        &["education_mediator"],
    );
    kabinet_sync::sync(&mut mediator, |_| {}).unwrap();
    let held: i64 = kabinet_tests::hub::device_sql(&mediator)
        .query_row(
            "SELECT count(*) FROM documents WHERE doc_id = ?1",
            [social.id.as_bytes()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held, 0, "no row of the referral, old or new");
    assert!(mediator.person(person.id).is_ok(), "the general data came");
}
