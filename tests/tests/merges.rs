//! Two records of one person made one, across a real hub process: found by the hub's finder
//! (web API and `kabinet-hub duplicates list`), merged at the hub while a van records a visit
//! on the duplicate offline (the visit lands on the survivor after sync), refused for two
//! different ЕГН, split again, and merged in opposite directions apart (one survivor
//! everywhere). A role that may not edit cannot merge through the web API.

use kabinet_store::Store;
use kabinet_tests::calls::{call_as, staff_post, sync, two_vans_and_a_social_worker};
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::{Value, json};
use std::path::Path;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn register(store: &mut Store, draft: Value) -> Uuid {
    let r = call_as(
        store,
        "Мария Петрова",
        json!({"op": "register_person", "args": {"not_a_duplicate": true, "draft": draft}}),
    );
    serde_json::from_value(r["id"].clone()).unwrap()
}

fn fatme(given: &str, family: &str, year: i32) -> Value {
    json!({"given_name": given, "family_name": family, "sex": "F", "birth_year": year,
           "no_documents": true, "neighbourhood": "Мошино", "consent_given": true})
}

fn visit(store: &mut Store, person: Uuid, form: Value) -> Uuid {
    let saved = call_as(
        store,
        "Мария Петрова",
        json!({"op": "save_visit", "args": {"person_id": person, "form": form}}),
    );
    serde_json::from_value(saved["visit_id"].clone()).unwrap()
}

fn ids_of(visits: &Value) -> Vec<String> {
    let mut ids: Vec<String> = visits
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_merge_at_the_hub_takes_the_vans_offline_visit_and_can_be_undone() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut van = enrolled_device(dir.path(), "tablet", &hub, "cabinet-1");
    hub.add_user(
        "gdimitrov",
        "Георги Димитров",
        "social_worker",
        "social work 2026",
    );
    hub.add_user(
        "akostova",
        "Анна Костова",
        "hub_admin",
        "admin staple battery",
    );
    let staff = hub.staff_session("gdimitrov", "social work 2026");

    let survivor = register(&mut van, fatme("Фатме", "Мустафова", 1990));
    let duplicate = register(&mut van, fatme("Fatma", "Mustafova", 1991));
    let first = visit(
        &mut van,
        survivor,
        json!({"fasting": "", "hiv_result": "non_reactive", "hiv_consent": true, "hiv_counselled": true}),
    );
    let second = visit(
        &mut van,
        duplicate,
        json!({"fasting": "", "weight_kg": "61"}),
    );
    sync(&mut van);

    // The hub finds the pair: its web API and its command line agree.
    let found: Value = staff_post(
        &hub,
        &staff,
        json!({"op": "possible_duplicates", "args": {}}),
    )
    .json()
    .unwrap();
    assert_eq!(found["total"], 1, "{found}");
    let listed: Value =
        serde_json::from_str(&hub.admin(&["duplicates", "list", "--json"])).unwrap();
    assert_eq!(listed["total"], 1, "{listed}");
    let pair = [
        &listed["pairs"][0]["a"]["id"],
        &listed["pairs"][0]["b"]["id"],
    ];
    assert!(pair.contains(&&json!(survivor)) && pair.contains(&&json!(duplicate)));
    assert!(
        hub.admin(&["duplicates", "list"])
            .contains("Фатме Мустафова")
    );

    // The hub admin may read but not edit: no merge through the web API, nothing written.
    let admin = hub.staff_session("akostova", "admin staple battery");
    let refused = staff_post(
        &hub,
        &admin,
        json!({"op": "merge_persons",
        "args": {"survivor": survivor, "duplicate": duplicate, "reason": "същата"}}),
    );
    assert_eq!(refused.status(), 403);

    // Staff merge at the hub (command line) while the van, offline, records a visit on the
    // duplicate it still shows.
    let out = hub.admin(&[
        "merge",
        &survivor.to_string(),
        &duplicate.to_string(),
        "--reason",
        "същата жена, две изписвания",
        "--by",
        "Георги Димитров",
    ]);
    assert!(out.contains("2 посещения"), "{out}");
    let offline = visit(
        &mut van,
        duplicate,
        json!({"fasting": "", "weight_kg": "60"}),
    );
    sync(&mut van);

    // On the van and at the hub, either id opens the survivor with all three visits.
    let all = {
        let mut v = vec![first.to_string(), second.to_string(), offline.to_string()];
        v.sort();
        v
    };
    for id in [survivor, duplicate] {
        let on_van = call_as(
            &mut van,
            "t",
            json!({"op": "person_record", "args": {"id": id}}),
        );
        assert_eq!(on_van["person"]["id"], json!(survivor));
        assert_eq!(ids_of(&on_van["visits"]), all);
        let at_hub: Value = staff_post(
            &hub,
            &staff,
            json!({"op": "person_record", "args": {"id": id}}),
        )
        .json()
        .unwrap();
        assert_eq!(ids_of(&at_hub["visits"]), all, "{at_hub}");
        assert_eq!(at_hub["merged"][0]["id"], json!(duplicate));
        assert_eq!(at_hub["merged"][0]["by"], "Георги Димитров");
    }
    // The visit stays as recorded (on the duplicate's id): history is not rewritten.
    assert_eq!(van.visit(offline).unwrap().person_id, duplicate);
    let hits = call_as(
        &mut van,
        "t",
        json!({"op": "search", "args": {"query": "Fatma"}}),
    );
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["id"], json!(survivor));
    assert_eq!(
        hub.admin(&["duplicates", "list", "--json"])
            .parse::<Value>()
            .unwrap()["total"],
        0
    );

    // Split again at the hub: the van shows two persons again.
    hub.admin(&[
        "unmerge",
        &duplicate.to_string(),
        "--reason",
        "сестри, не един човек",
    ]);
    sync(&mut van);
    let split = call_as(
        &mut van,
        "t",
        json!({"op": "person_record", "args": {"id": duplicate}}),
    );
    assert_eq!(split["person"]["id"], json!(duplicate));
    assert_eq!(ids_of(&split["visits"]), {
        let mut v = vec![second.to_string(), offline.to_string()];
        v.sort();
        v
    });
}

#[test]
fn two_different_egn_are_refused_a_merge_at_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut van = enrolled_device(dir.path(), "tablet", &hub, "cabinet-1");
    let a = register(
        &mut van,
        json!({"given_name": "Росица", "family_name": "Юсеинова", "egn": "7706245930", "consent_given": true}),
    );
    let b = register(
        &mut van,
        json!({"given_name": "Росица", "family_name": "Юсеинова", "egn": "7502010014", "consent_given": true}),
    );
    sync(&mut van);
    let out = hub.admin_output(&["merge", &a.to_string(), &b.to_string(), "--reason", "x"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("различни ЕГН"), "{err}");
    // Nothing was written: the van, synced again, still has two persons.
    sync(&mut van);
    assert!(van.survivor_of(b).unwrap().is_none());
    assert!(hub.storage().read(|s| s.survivor_of(b)).unwrap().is_none());
}

/// The same pair merged in opposite directions while apart (A into B at the hub, B into A
/// on a van, later): every copy ends with one survivor, the same one, and the same records.
#[test]
fn merges_made_apart_in_opposite_directions_converge_to_one_survivor() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut a, mut b, staff) = two_vans_and_a_social_worker(dir.path(), Path::new(HUB_BIN));
    let first = register(&mut a, fatme("Фатме", "Мустафова", 1990));
    let second = register(&mut a, fatme("Фатме", "Мустафова", 1990));
    visit(&mut a, first, json!({"fasting": "", "weight_kg": "61"}));
    visit(&mut a, second, json!({"fasting": "", "weight_kg": "62"}));
    sync(&mut a);
    sync(&mut b);

    let merged = staff_post(
        &hub,
        &staff,
        json!({"op": "merge_persons",
        "args": {"survivor": second, "duplicate": first, "reason": "един човек"}}),
    );
    assert!(merged.status().is_success(), "{:?}", merged.text());
    call_as(
        &mut b,
        "Иван Иванов",
        json!({"op": "merge_persons", "args": {"survivor": first, "duplicate": second, "reason": "един човек"}}),
    );
    for _ in 0..2 {
        sync(&mut a);
        sync(&mut b);
    }
    let hub_view = |id: Uuid| -> Value {
        staff_post(
            &hub,
            &staff,
            json!({"op": "person_record", "args": {"id": id}}),
        )
        .json()
        .unwrap()
    };
    // The hub's merge came first; the van's later one, pointing back, is not followed.
    for id in [first, second] {
        for store in [&mut a, &mut b] {
            let r = call_as(
                store,
                "t",
                json!({"op": "person_record", "args": {"id": id}}),
            );
            assert_eq!(r["person"]["id"], json!(second));
            assert_eq!(r["visits"].as_array().unwrap().len(), 2);
        }
        assert_eq!(hub_view(id)["person"]["id"], json!(second));
    }
    for store in [&a, &b] {
        assert_eq!(store.survivor_of(first).unwrap(), Some(second));
        assert_eq!(store.survivor_of(second).unwrap(), None);
    }
    assert_eq!(
        hub.storage().read(|s| s.survivor_of(first)).unwrap(),
        Some(second)
    );
    // The survivor's own pointer back is on its record, for staff to clear.
    assert_eq!(hub_view(second)["merged_into"], json!(first));
}
