//! The referral loop across a real hub process: a cabinet issues a referral offline and prints
//! its slip; after a sync the hub (by the code on the slip) records attendance; after the next
//! sync the cabinet sees "attended". The hub's directory (addresses, follow-up days) reaches
//! the cabinet by sync and appears on its slips; an overdue referral is on the worklist until
//! it is attended.

use chrono::Utc;
use kabinet_core::Lang;
use kabinet_service::{Context, referrals};
use kabinet_store::Store;
use kabinet_tests::calls::{call_as, sync};
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

/// A call as the cabinet's nurse.
fn call(store: &mut Store, request: Value) -> Value {
    call_as(store, "Мария Петрова", request)
}

#[test]
fn issued_offline_attended_at_the_hub_seen_back_in_the_cabinet() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut cabinet = enrolled_device(dir.path(), "tablet-1", &hub, "cabinet-1");

    // The hub's directory: its address, the social worker's hours, and no grace for priority
    // referrals (so the one below is overdue at once).
    let directory = dir.path().join("directory.toml");
    std::fs::write(
        &directory,
        r#"
[hub]
name = "Социално-здравен хъб Перник"
address = "ул. „Кракра“ 1, Перник"
phone = "076 600 600"

[destinations.hub-social-worker]
address = "Хъбът, стая 3"
hours = "пон.–пет. 9:00–17:00"

[follow_up_days]
priority = 0
"#,
    )
    .unwrap();
    hub.admin(&["directory", "set", directory.to_str().unwrap()]);
    sync(&mut cabinet);
    assert_eq!(cabinet.directory().unwrap().hub.phone, "076 600 600");

    // In the van, offline: a person, a visit, a referral to the hub's social worker.
    let person = call(
        &mut cabinet,
        json!({"op": "register_person", "args": {"draft": {"given_name": "Асен", "family_name": "Асенов", "sex": "M", "birth_year": 1990, "no_documents": true}}}),
    );
    let saved = call(
        &mut cabinet,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {},
            "referrals": [{"reason": "social", "destination": "hub-social-worker", "urgency": "priority"}]}}),
    );
    let id = serde_json::from_value(saved["referrals"][0]["id"].clone()).unwrap();
    let code = saved["referrals"][0]["code"].as_str().unwrap().to_string();

    // The slip carries the synced addresses.
    let pdf = dir.path().join("slip.pdf");
    std::fs::write(
        &pdf,
        referrals::slips_pdf(
            &mut cabinet,
            &Context {
                lang: Lang::Bg,
                user: "t".into(),
                login: "t".into(),
                now: Utc::now(),
                roles: None,
            },
            &[id],
            "A6",
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let text = Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils)")
        .stdout;
    let text = String::from_utf8_lossy(&text);
    for needle in [
        "Асен Асенов",
        "Хъбът, стая 3",
        "пон.–пет. 9:00–17:00",
        &code[..9],
    ] {
        assert!(text.contains(needle), "{needle:?} not on the slip:\n{text}");
    }

    sync(&mut cabinet);
    let worklist = hub.admin(&["followup"]);
    assert!(worklist.contains(&code), "{worklist}");

    // At the hub, the person shows the slip: the social worker records attendance by its code.
    let shown = hub.admin(&[
        "referral",
        "set",
        &code.replace('-', " "),
        "--status",
        "attended",
        "--note",
        "подадени документи за лична карта",
        "--by",
        "соц. работник Иванова",
    ]);
    assert!(shown.contains("attended"), "{shown}");
    assert!(!hub.admin(&["followup"]).contains(&code));

    // Back in range: the cabinet learns of it.
    sync(&mut cabinet);
    let record = call(
        &mut cabinet,
        json!({"op": "person_record", "args": {"id": person["id"]}}),
    );
    assert_eq!(record["referrals"][0]["status"], "attended");
    let detail = call(&mut cabinet, json!({"op": "referral", "args": {"id": id}}));
    assert_eq!(detail["history"][1]["by"], "соц. работник Иванова");
    assert_eq!(
        detail["history"][1]["note"],
        "подадени документи за лична карта"
    );
}
