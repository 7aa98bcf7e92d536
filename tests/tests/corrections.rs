//! Corrections across a real hub process: a person's record corrected in two vans and at the
//! hub's web API while apart, synced in every order. Each correction is a field-level change,
//! so edits of different fields all survive; the same field changed in two places converges
//! to one value everywhere and is listed for review, the same list everywhere; every
//! correction (who, when, which fields, why) is kept on every copy.

use kabinet_store::Store;
use kabinet_tests::calls::{call_as, staff_call, staff_post, sync, two_vans_and_a_social_worker};
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::{Value, json};
use std::path::Path;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

/// The person's form on `store`, with `changes` applied.
fn corrected(store: &mut Store, id: Uuid, changes: Value) -> Value {
    let mut form = call_as(store, "t", json!({"op": "person_form", "args": {"id": id}}));
    for (k, v) in changes.as_object().unwrap() {
        form[k] = v.clone();
    }
    form
}

/// What must be the same on every copy: the person and the visit as stored (results
/// included) and their fields changed apart.
fn state(store: &Store, id: Uuid, visit: Uuid) -> (Value, Vec<String>, Value, Vec<String>) {
    let hiv = kabinet_store::results_doc_id(visit, kabinet_core::AccessClass::Hiv);
    let mut visit_conflicts = store.conflicts(visit).unwrap();
    visit_conflicts.extend(store.conflicts(hiv).unwrap());
    (
        serde_json::to_value(store.person(id).unwrap()).unwrap(),
        store.conflicts(id).unwrap(),
        serde_json::to_value(store.visit(visit).unwrap()).unwrap(),
        visit_conflicts,
    )
}

/// The visit's correction form with `changes`, saved with a reason.
fn correct_visit(store: &mut Store, who: &str, visit: Uuid, changes: Value) {
    let mut form = call_as(
        store,
        who,
        json!({"op": "visit_for_correction", "args": {"visit_id": visit}}),
    )["form"]
        .clone();
    for (k, v) in changes.as_object().unwrap() {
        form[k] = v.clone();
    }
    call_as(
        store,
        who,
        json!({"op": "correct_visit", "args": {"visit_id": visit, "form": form,
               "reason": "сверено с апарата"}}),
    );
}

fn run(order: [&str; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut a, mut b, staff) = two_vans_and_a_social_worker(dir.path(), Path::new(HUB_BIN));
    hub.add_user("mpetrova", "Мария Петрова", "nurse", "nurse pass 2026");

    let registered = call_as(
        &mut a,
        "Мария Петрова",
        json!({"op": "register_person", "args": {"draft": {
            "given_name": "Росица", "family_name": "Юсеинова", "egn": "7706245930",
            "neighbourhood": "Ралица", "consent_given": true}}}),
    );
    let id: Uuid = serde_json::from_value(registered["id"].clone()).unwrap();
    let saved = call_as(
        &mut a,
        "Мария Петрова",
        json!({"op": "save_visit", "args": {"person_id": id, "form": {
            "glucose": "6,0", "glucose_unit": "mmol/L", "fasting": "random",
            "weight_kg": "70", "height_cm": "170",
            "hiv_result": "non_reactive", "hiv_consent": true, "hiv_counselled": true}}}),
    );
    let visit: Uuid = serde_json::from_value(saved["visit_id"].clone()).unwrap();
    sync(&mut a);
    sync(&mut b);

    // Apart: the visit's glucose and HIV result corrected differently in the two vans, its
    // weight at the hub; none of it is a conflict yet anywhere.
    correct_visit(
        &mut a,
        "Мария Петрова",
        visit,
        json!({"glucose": "5,5", "hiv_result": "reactive"}),
    );
    correct_visit(
        &mut b,
        "Иван Иванов",
        visit,
        json!({"glucose": "6,5", "hiv_result": "invalid"}),
    );

    // Apart: van A corrects the phone, van B the phone (differently) and the neighbourhood,
    // and the hub's social worker the address, through the web API.
    let draft = corrected(&mut a, id, json!({"phone": "0888 111 111"}));
    call_as(
        &mut a,
        "Мария Петрова",
        json!({"op": "edit_person", "args": {"id": id, "draft": draft}}),
    );
    let draft = corrected(
        &mut b,
        id,
        json!({"phone": "0888 222 222", "neighbourhood": "Изток"}),
    );
    call_as(
        &mut b,
        "Иван Иванов",
        json!({"op": "edit_person", "args": {"id": id, "draft": draft}}),
    );
    let hub_call = |request: Value| staff_call(&hub, &staff, request);
    let mut draft = hub_call(json!({"op": "person_form", "args": {"id": id}}));
    draft["address"] = json!("ул. Юрий Гагарин 5");
    let edited = hub_call(json!({"op": "edit_person", "args": {"id": id, "draft": draft}}));
    assert_eq!(edited["changed"], json!(["address"]));
    let mut form =
        hub_call(json!({"op": "visit_for_correction", "args": {"visit_id": visit}}))["form"]
            .clone();
    assert_eq!(
        form["hiv_result"], "",
        "a social worker's form holds no HIV result"
    );
    form["weight_kg"] = json!("68");
    hub_call(
        json!({"op": "correct_visit", "args": {"visit_id": visit, "form": form, "reason": "претеглена отново"}}),
    );

    for _round in 0..2 {
        for who in order {
            match who {
                "a" => sync(&mut a),
                "b" => sync(&mut b),
                // The hub holds whatever has reached it by now.
                _ => {}
            }
        }
    }
    let hub_store = hub.storage();
    let at_hub = hub_store.read(|s| Ok(state(s, id, visit))).unwrap();
    assert_eq!(state(&a, id, visit), at_hub, "{order:?}: van A and the hub");
    assert_eq!(state(&b, id, visit), at_hub, "{order:?}: van B and the hub");
    let (person, review, stored_visit, visit_review) = at_hub;
    // The visit: the weight from the hub, the glucose and the HIV result one of the two typed,
    // each listed as changed apart.
    let glucose = stored_visit["screenings"]["glucose"]["value"]
        .as_f64()
        .unwrap();
    assert!([5.5, 6.5].contains(&glucose), "{glucose}");
    assert_eq!(stored_visit["screenings"]["body"]["weight_kg"], 68.0);
    assert_eq!(
        visit_review,
        vec![
            "screenings.glucose.value".to_string(),
            "screenings.hiv.result".to_string()
        ],
        "{order:?}"
    );
    // The same "to review" list on every copy (a nurse's at the hub): the glucose and the HIV
    // result; the phone settles on one value with a note and is not listed.
    let review_of = |store: &mut Store| call_as(store, "t", json!({"op": "to_review", "args": {}}));
    let on_a = review_of(&mut a);
    assert_eq!(on_a, review_of(&mut b), "{order:?}");
    let nurse = hub.staff_session("mpetrova", "nurse pass 2026");
    assert_eq!(
        on_a,
        staff_call(&hub, &nurse, json!({"op": "to_review", "args": {}})),
        "{order:?}"
    );
    assert_eq!(on_a[0]["person_id"], json!(id));
    let fields: Vec<&str> = on_a[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("Кръвна захар")),
        "{fields:?}"
    );
    assert!(fields.iter().any(|f| f.starts_with("ХИВ")), "{fields:?}");
    // The social worker reads no HIV: her list names the glucose only.
    let hers = hub_call(json!({"op": "to_review", "args": {}}));
    assert_eq!(hers[0]["fields"].as_array().unwrap().len(), 1, "{hers}");
    assert!(!hers.to_string().contains("ХИВ"), "{hers}");
    // The nurse at the hub settles both from the record; the social worker may not touch the
    // HIV result (answered as if there were none). Once synced, nothing is left to review.
    let record = staff_call(
        &hub,
        &nurse,
        json!({"op": "person_record", "args": {"id": id}}),
    );
    let conflict = |path: &str| {
        record["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == path)
            .unwrap_or_else(|| panic!("{path} in {record}"))
            .clone()
    };
    let (glucose_c, hiv_c) = (
        conflict("screenings.glucose.value"),
        conflict("screenings.hiv.result"),
    );
    assert_eq!(glucose_c["doc_id"], json!(visit));
    let settle = |c: &Value| {
        json!({"op": "settle_conflict", "args": {"person_id": id, "doc_id": c["doc_id"],
               "field": c["field"], "choice": 0}})
    };
    assert_eq!(staff_post(&hub, &staff, settle(&hiv_c)).status(), 404);
    for c in [&glucose_c, &hiv_c] {
        staff_call(&hub, &nurse, settle(c));
    }
    sync(&mut a);
    sync(&mut b);
    assert_eq!(review_of(&mut a), json!([]), "{order:?}");
    assert_eq!(review_of(&mut b), json!([]), "{order:?}");
    let settled = a.visit(visit).unwrap();
    assert_eq!(
        settled.screenings.glucose.unwrap().value,
        glucose_c["values"][0].as_str().unwrap().parse::<f64>().ok()
    );
    // Different fields all survive; the phone is one of the two typed, and it is listed
    // for review (the same list everywhere).
    assert_eq!(person["neighbourhood"], "Изток", "{order:?}");
    assert_eq!(person["address"], "ул. Юрий Гагарин 5", "{order:?}");
    let phone = person["phone"].as_str().unwrap();
    assert!(
        ["+359888111111", "+359888222222"].contains(&phone),
        "{phone}"
    );
    assert_eq!(review, vec!["phone".to_string()], "{order:?}");
    // Three corrections, each with who did it, on every copy.
    let by: Vec<&str> = person["corrections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["by"].as_str().unwrap())
        .collect();
    assert_eq!(by.len(), 3, "{by:?}");
    for who in ["Мария Петрова", "Иван Иванов", "Георги Димитров"]
    {
        assert!(by.contains(&who), "{who} in {by:?}");
    }
    // The hub's search finds the person by the corrected neighbourhood's record.
    let hits = hub_call(json!({"op": "search", "args": {"query": "rositsa"}}));
    assert_eq!(hits[0]["id"], json!(id));
}

#[test]
fn corrections_made_apart_converge_in_every_order() {
    for order in [
        ["a", "b", "hub"],
        ["a", "hub", "b"],
        ["b", "a", "hub"],
        ["b", "hub", "a"],
        ["hub", "a", "b"],
        ["hub", "b", "a"],
    ] {
        run(order);
    }
}

/// Hub staff correct a person; the van receives it at the next sync, and another person's
/// ЕГН is refused at the hub as on the device.
#[test]
fn a_correction_at_the_hub_reaches_the_van_and_another_persons_egn_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut van = enrolled_device(dir.path(), "tablet", &hub, "cabinet-1");
    hub.add_user(
        "gdimitrov",
        "Георги Димитров",
        "social_worker",
        "social work 2026",
    );
    let staff = hub.staff_session("gdimitrov", "social work 2026");
    let mut ids = Vec::new();
    for (given, egn) in [("Росица", "7706245930"), ("Мария", "7502010014")] {
        let r = call_as(
            &mut van,
            "Мария Петрова",
            json!({"op": "register_person", "args": {"not_a_duplicate": true, "draft": {
                "given_name": given, "family_name": "Юсеинова", "egn": egn,
                "consent_given": true}}}),
        );
        ids.push(serde_json::from_value::<Uuid>(r["id"].clone()).unwrap());
    }
    sync(&mut van);
    let post = |request: Value| staff_post(&hub, &staff, request);
    let mut draft: Value = post(json!({"op": "person_form", "args": {"id": ids[0]}}))
        .json()
        .unwrap();
    draft["phone"] = json!("0877 555 444");
    assert!(
        post(json!({"op": "edit_person", "args": {"id": ids[0], "draft": draft}}))
            .status()
            .is_success()
    );
    draft["egn"] = json!("7502010014");
    draft["birth_date"] = json!(null);
    let refused = post(json!({"op": "edit_person",
        "args": {"id": ids[0], "draft": draft, "reason": "сверено"}}));
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["kind"], "egn_taken");

    sync(&mut van);
    let person = van.person(ids[0]).unwrap();
    assert_eq!(person.phone.unwrap().as_str(), "+359877555444");
    assert_eq!(person.egn.unwrap().as_str(), "7706245930");
    assert_eq!(person.corrections.len(), 1);
    assert_eq!(person.corrections[0].by, "Георги Димитров");
}

/// A birth year changed differently in two vans is an identity field changed apart: the hub
/// lists the person to review with both values and who changed each; staff pick one, and
/// that choice reaches both vans, where the field reads one value again.
#[test]
fn an_identity_field_changed_apart_is_reviewed_at_the_hub_and_the_choice_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut a, mut b, staff) = two_vans_and_a_social_worker(dir.path(), Path::new(HUB_BIN));
    let hub_call = |request: Value| staff_call(&hub, &staff, request);
    let registered = call_as(
        &mut a,
        "Мария Петрова",
        json!({"op": "register_person", "args": {"draft": {
            "given_name": "Асен", "family_name": "Асенов", "sex": "M", "birth_year": 1990,
            "no_documents": true, "consent_given": true}}}),
    );
    let id: Uuid = serde_json::from_value(registered["id"].clone()).unwrap();
    sync(&mut a);
    sync(&mut b);
    assert_eq!(hub_call(json!({"op": "to_review", "args": {}})), json!([]));

    for (store, who, year) in [
        (&mut a, "Мария Петрова", 1988),
        (&mut b, "Иван Иванов", 1992),
    ] {
        let draft = corrected(store, id, json!({"birth_year": year}));
        call_as(
            store,
            who,
            json!({"op": "edit_person", "args": {"id": id, "draft": draft,
                   "reason": "каза друга година"}}),
        );
    }
    sync(&mut a);
    sync(&mut b);
    sync(&mut a);

    let review = hub_call(json!({"op": "to_review", "args": {}}));
    assert_eq!(review.as_array().unwrap().len(), 1, "{review}");
    assert_eq!(review[0]["person_id"], json!(id));
    assert_eq!(review[0]["fields"], json!(["Дата на раждане"]));
    let record = hub_call(json!({"op": "person_record", "args": {"id": id}}));
    let conflict = &record["conflicts"][0];
    assert_eq!(conflict["label"], "Дата на раждане");
    assert_eq!(conflict["identity"], true);
    let mut values: Vec<&str> = conflict["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let chosen = values[0].to_string();
    values.sort();
    assert_eq!(values, vec!["~1988", "~1992"]);
    let by: Vec<&str> = conflict["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["by"].as_str().unwrap())
        .collect();
    assert!(
        by.contains(&"Мария Петрова") && by.contains(&"Иван Иванов"),
        "{by:?}"
    );

    let settled = hub_call(json!({"op": "settle_conflict",
        "args": {"person_id": id, "field": conflict["field"], "choice": 0}}));
    assert_eq!(settled["conflicts"], json!([]));
    assert_eq!(settled["person"]["birth"], chosen);
    assert_eq!(hub_call(json!({"op": "to_review", "args": {}})), json!([]));
    sync(&mut a);
    sync(&mut b);
    for van in [&a, &b] {
        assert_eq!(van.conflicts(id).unwrap(), Vec::<String>::new());
        assert_eq!(van.person(id).unwrap().birth_date.display(), chosen);
    }
}
