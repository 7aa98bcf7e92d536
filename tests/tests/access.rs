//! The access matrix enforced where it matters, in what the hub syncs: a cabinet's device
//! (nurse, doctor) sends a visit with a reactive HIV test and two referrals; a mediator's
//! device receives the person, the visit and the social referral, and nothing of HIV — not
//! even encrypted: its decrypted database holds no HIV document or result bytes. A device
//! that sends a class its roles may not write is refused with 403, the refusal is recorded,
//! and the hub keeps serving.

use kabinet_core::*;
use kabinet_store::sql::SqlExt;
use kabinet_store::{DocKind, Origin, Store};
use kabinet_sync::SyncError;
use kabinet_tests::hub::HubProcess;
use std::path::Path;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn sync(store: &mut Store) -> Result<kabinet_sync::SyncReport, SyncError> {
    kabinet_sync::sync(store, |_| {})
}

fn referral(
    w: &mut kabinet_store::Writer<'_>,
    visit: &Visit,
    reason: ReferralReason,
    to: &str,
) -> Referral {
    kabinet_tests::put_referral(w, visit, reason, to).unwrap()
}

/// A hub with a cabinet's device (nurse, doctor) and an education mediator's device.
fn cabinet_and_mediator(dir: &Path) -> (HubProcess, Store, Store) {
    kabinet_tests::hub::cabinet_and_mediator(Path::new(HUB_BIN), dir)
}

#[test]
fn a_mediators_device_never_receives_hiv_and_may_not_send_it() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());

    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    let (hiv_referral, social_referral) = cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            let hiv = referral(
                w,
                &visit,
                ReferralReason::Screening(ScreeningKind::Hiv),
                "hiv-confirmatory",
            );
            let social = referral(w, &visit, ReferralReason::Social, "hub-social-worker");
            Ok((hiv, social))
        })
        .unwrap();
    sync(&mut cabinet).unwrap();
    sync(&mut mediator).unwrap();

    // The mediator's device has the person, the visit and the social referral…
    assert_eq!(
        mediator.person(person.id).unwrap().full_name(),
        "Асен Асенов"
    );
    let seen = mediator.visit(visit.id).unwrap();
    assert!(seen.screenings.blood_pressure.is_some());
    assert!(seen.screenings.hiv.is_none());
    let referrals = mediator.referrals_of_person(person.id).unwrap();
    assert_eq!(referrals.len(), 1);
    assert_eq!(referrals[0].id, social_referral.id);
    // …and nothing of HIV, searched in the decrypted database itself.
    let hiv_docs: i64 = kabinet_tests::hub::device_sql(&mediator)
        .query_row(
            "SELECT count(*) FROM documents WHERE access_class = ?1",
            [AccessClass::Hiv.code()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hiv_docs, 0);
    for id in [results_doc(visit.id), hiv_referral.id] {
        let n: i64 = kabinet_tests::hub::device_sql(&mediator)
            .query_row(
                "SELECT count(*) FROM documents WHERE doc_id = ?1",
                [id.as_bytes()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "document {id} reached the mediator");
    }
    let mut export = Vec::new();
    kabinet_store::import::export(&mediator, &mut export).unwrap();
    let export = String::from_utf8(export).unwrap();
    assert!(
        !export.contains("reactive") && !export.contains("hiv"),
        "{export}"
    );
    assert!(!export.contains(&hiv_referral.code.to_string()));

    // The cabinet's own device holds it all.
    assert!(cabinet.visit(visit.id).unwrap().screenings.hiv.is_some());
    assert_eq!(cabinet.count(DocKind::Results).unwrap(), 1);

    // The mediator's device sends an HIV result anyway: refused with 403, recorded.
    let mut forged = seen.clone();
    forged.screenings.hiv = visit.screenings.hiv;
    mediator
        .write(Origin::Local, |w| w.put_visit(&forged))
        .unwrap();
    match sync(&mut mediator) {
        Err(SyncError::Refused {
            status: 403,
            message,
        }) => {
            assert!(message.contains("hiv"), "{message}")
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let refusals: i64 = hub.with_sql(|sql| {
        sql.one(
            "SELECT count(*) FROM hub_refusal WHERE class = 'hiv'",
            &[],
            |r| r.get(0),
        )
    });
    assert!(refusals >= 1);
    // The hub goes on serving the others.
    sync(&mut cabinet).unwrap();
}

fn results_doc(visit: Uuid) -> Uuid {
    kabinet_store::results_doc_id(visit, AccessClass::Hiv)
}

/// For every role: a device of that role, synced against a real hub, holds exactly the
/// documents of the classes the access matrix lets it read, whatever classes exist.
#[test]
fn every_role_receives_exactly_the_classes_it_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    // Hub staff record one person with a document of every class (a hub-side edit, relayed).
    let staff = hub.storage();
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let mut visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    visit.screenings = VisitForm {
        hiv_result: "reactive".into(),
        hiv_consent: true,
        hiv_counselled: true,
        systolic: "150".into(),
        diastolic: "95".into(),
        tb_cough: true,
        tb_cough_weeks: "3".into(),
        hbsag: "reactive".into(),
        ..Default::default()
    }
    .screenings()
    .unwrap();
    visit.clinical_note = "Реактивен бърз тест; насочен към КАБКИС.".into();
    staff
        .write_local(|w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            for (reason, to) in [
                (
                    ReferralReason::Screening(ScreeningKind::Hiv),
                    "hiv-confirmatory",
                ),
                (ReferralReason::Social, "hub-social-worker"),
                (ReferralReason::Psychological, "hub-psychologist"),
                (ReferralReason::Legal, "hub-lawyer"),
            ] {
                referral(w, &visit, reason, to);
            }
            Ok(())
        })
        .unwrap();
    let all = AccessClass::ALL;
    for &role in Role::ALL {
        if !role.records() {
            continue; // the hub admin, the privacy officer, the programme manager: at the hub
        }
        let name = role.as_str();
        let mut device = kabinet_tests::hub::enrolled_device_with_roles(
            dir.path(),
            name,
            &hub,
            "cabinet-1",
            &[name],
        );
        sync(&mut device).unwrap();
        let held: Vec<u8> = kabinet_tests::hub::device_sql(&device)
            .prepare("SELECT DISTINCT access_class FROM documents ORDER BY 1")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<u8> = all
            .iter()
            .filter(|c| may_read(&[role], **c))
            .map(|c| c.code())
            .collect();
        assert_eq!(held, expected, "role {name}");
        assert!(held.contains(&AccessClass::General.code()), "role {name}");
    }
}

/// Hub staff asking for a record of a class their role may not read get "not found" (its
/// existence is not revealed), and the request is on the hub's audit log as refused.
#[test]
fn a_staff_request_for_another_class_is_answered_not_found_and_logged() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let staff = hub.storage();
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    let hiv = staff
        .write_local(|w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            Ok(referral(
                w,
                &visit,
                ReferralReason::Screening(ScreeningKind::Hiv),
                "hiv-confirmatory",
            ))
        })
        .unwrap();
    drop(staff);
    hub.add_user("ali", "Али Мехмед", "education_mediator", "mediator-pass");
    let token = hub.staff_session("ali", "mediator-pass");
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/api/call", hub.url()))
        .bearer_auth(token)
        .json(&serde_json::json!({"op": "referral", "args": {"id": hiv.id}}))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 404);
    let body: serde_json::Value = answer.json().unwrap();
    assert_eq!(body["kind"], "not_found");
    let log = hub.admin(&["audit", "--action", "refused"]);
    assert!(
        log.contains("hub:Али Мехмед") && log.contains("hiv"),
        "{log}"
    );
}

/// A new document is relayed as "the document as stored" (no second copy of its bytes). If
/// hub staff move it into a class a device may not read before that device pulls, the device
/// must not receive it through the row of its first, readable class.
#[test]
fn a_document_moved_into_an_unreadable_class_is_not_pulled_through_its_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut cabinet, mut mediator) = cabinet_and_mediator(dir.path());
    assert!(kabinet_core::may_read(
        &[Role::EducationMediator],
        AccessClass::General
    ));
    assert!(!kabinet_core::may_read(
        &[Role::EducationMediator],
        AccessClass::Psychology
    ));
    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::NonReactive);
    let (social, education) = cabinet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            let social = referral(w, &visit, ReferralReason::Social, "hub-social-worker");
            let education = referral(w, &visit, ReferralReason::Education, "hub-social-worker");
            Ok((social, education))
        })
        .unwrap();
    sync(&mut cabinet).unwrap();
    // At the hub, a psychologist's note turns the social referral into a psychological one.
    hub.storage()
        .write_local(|w| {
            let mut moved = w.referral(social.id)?.unwrap();
            moved.reason = ReferralReason::Psychological;
            w.put_referral(&moved)
        })
        .unwrap();
    sync(&mut mediator).unwrap();
    let held: Vec<Uuid> = mediator
        .referrals_of_person(person.id)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(held, vec![education.id], "the education referral only");
    let psychology_bytes: i64 = kabinet_tests::hub::device_sql(&mediator)
        .query_row(
            "SELECT count(*) FROM documents WHERE doc_id = ?1",
            [social.id.as_bytes()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        psychology_bytes, 0,
        "not even as a document without a query row"
    );
}

/// Roles that only read (the hub admin, the privacy officer) work at the hub's web UI: no
/// device is enrolled for them alone (such a device could not send back, after a restore, the
/// documents it received).
#[test]
fn no_device_is_enrolled_for_roles_that_only_read() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    for role in ["hub_admin", "privacy_officer"] {
        let out = hub.admin_output(&["enroll", "--cabinet", "hub", "--role", role]);
        assert!(!out.status.success(), "{role}");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("web UI"), "{text}");
    }
    // With a role that records beside it, the device is enrolled.
    let out = hub.admin_output(&[
        "enroll",
        "--cabinet",
        "hub",
        "--role",
        "hub_admin",
        "--role",
        "social_worker",
    ]);
    assert!(out.status.success());
}
