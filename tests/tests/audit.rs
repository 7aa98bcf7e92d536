//! The audit log: every create and edit on a device is in its hash-chained log, a view of a
//! sensitive record too; the log reaches the hub at sync and the admin finds it there. An
//! entry edited on the device is detected: by the device's own check, and by the hub, which
//! refuses a log that does not continue the chain it holds (and records the refusal).

use kabinet_core::*;
use kabinet_service::{Context, Request};
use kabinet_store::{Origin, StoreError};
use kabinet_sync::SyncError;
use kabinet_tests::hub::{HubProcess, enrolled_device};

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

#[test]
fn views_of_sensitive_records_reach_the_hub_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(HUB_BIN.as_ref(), &dir.path().join("hub"));
    let mut tablet = enrolled_device(dir.path(), "tablet", &hub, "Перник-1");
    let device_id = tablet
        .meta(kabinet_store::meta::DEVICE_ID)
        .unwrap()
        .unwrap();

    let person = kabinet_tests::man_without_documents("Асен", "Асенов", 1990);
    let visit = kabinet_tests::visit_with_hiv(person.id, RapidResult::Reactive);
    tablet.set_audit_user(Some("Мария Петрова".into()));
    tablet
        .write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)
        })
        .unwrap();
    // The doctor opens the person's record, HIV result included.
    let ctx = Context {
        lang: Lang::Bg,
        user: "Д-р Иван Иванов".into(),
        login: "iivanov".into(),
        now: chrono::Utc::now(),
        roles: Some(vec![Role::Doctor]),
    };
    kabinet_service::handle(&mut tablet, &ctx, Request::PersonRecord { id: person.id }).unwrap();
    // A record with nothing sensitive is not logged per view.
    let plain = kabinet_tests::man_without_documents("Бойко", "Борисов", 1970);
    tablet
        .write(Origin::Local, |w| w.put_person(&plain))
        .unwrap();
    kabinet_service::handle(&mut tablet, &ctx, Request::PersonRecord { id: plain.id }).unwrap();

    let log = tablet.audit_entries(0, 100).unwrap();
    let lines: Vec<(AuditAction, String, String)> = log
        .iter()
        .map(|e| (e.entry.action, e.entry.user.clone(), e.entry.class.clone()))
        .collect();
    assert!(lines.contains(&(
        AuditAction::Create,
        "Мария Петрова".into(),
        "person/general".into()
    )));
    assert!(lines.contains(&(
        AuditAction::Create,
        "Мария Петрова".into(),
        "results/hiv".into()
    )));
    assert!(lines.contains(&(
        AuditAction::View,
        "Д-р Иван Иванов".into(),
        "person/hiv".into()
    )));
    assert_eq!(
        lines.iter().filter(|l| l.0 == AuditAction::View).count(),
        1,
        "{lines:?}"
    );
    assert_eq!(tablet.verify_audit().unwrap(), log.len() as u64);

    // After sync the hub admin finds the view, by user and by action.
    kabinet_sync::sync(&mut tablet, |_| {}).unwrap();
    let views = hub.admin(&["audit", "--action", "view", "--user", "Иванов"]);
    assert!(views.contains(&device_id), "{views}");
    assert!(
        views.contains("person/hiv") && views.contains(&person.id.to_string()),
        "{views}"
    );
    let creates = hub.admin(&["audit", "--record", &visit.id.to_string()]);
    assert!(
        creates.contains("create") && creates.contains("visit/general"),
        "{creates}"
    );

    // Someone edits an entry already sent: the device's own check finds it.
    let edit = |store: &kabinet_store::Store, sql: &str| {
        kabinet_tests::hub::device_sql(store)
            .execute(sql, [])
            .unwrap();
    };
    edit(&tablet, "UPDATE audit_log SET user = 'Никой' WHERE seq = 2");
    assert!(matches!(
        tablet.verify_audit(),
        Err(StoreError::AuditChain(audit::ChainBreak::Content {
            seq: 2
        }))
    ));
    edit(
        &tablet,
        "UPDATE audit_log SET user = 'Мария Петрова' WHERE seq = 2",
    );
    tablet.verify_audit().unwrap();

    // Another view, then someone rewrites it before it is sent (hash recomputed and all):
    // the hub refuses the log, the sync says so, and the refusal is in the hub's audit view.
    kabinet_service::handle(&mut tablet, &ctx, Request::PersonRecord { id: person.id }).unwrap();
    let last = tablet.audit_entries(0, 1000).unwrap().pop().unwrap();
    let mut forged = last.entry.clone();
    forged.user = "Някой друг".into();
    let hash = audit::chain_hash(&audit::GENESIS, &forged); // not even chained right
    kabinet_tests::hub::device_sql(&tablet)
        .execute(
            "UPDATE audit_log SET user = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![forged.user, hash.to_vec(), last.entry.seq as i64],
        )
        .unwrap();
    let err = kabinet_sync::sync(&mut tablet, |_| {}).unwrap_err();
    assert!(
        matches!(err, SyncError::Refused { status: 409, ref message } if message.contains("audit")),
        "{err}"
    );
    let refused = hub.admin(&["audit", "--action", "refused"]);
    assert!(
        refused.contains(&device_id) && refused.contains("audit entry"),
        "{refused}"
    );
    assert!(!hub.admin(&["audit", "--user", "Някой"]).contains("Някой"));
}
