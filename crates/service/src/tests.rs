use super::*;
use kabinet_store::{DeviceSettings, StoreKey};
use serde_json::json;

fn settings() -> DeviceSettings {
    DeviceSettings {
        cabinet: "cabinet-1".into(),
        issuer: 4,
    }
}

/// `KABINET_TEST_STORE=postgres` runs the suite on PostgreSQL (a database per test on a
/// server of the test process's own) instead of an SQLite file: the same rules, the other
/// backend.
fn on_postgres() -> bool {
    std::env::var("KABINET_TEST_STORE").as_deref() == Ok("postgres")
}

thread_local! {
    /// The database of this test, when it runs on PostgreSQL (to open it again).
    static DATABASE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn store(dir: &tempfile::TempDir) -> Store {
    if on_postgres() {
        let url = kabinet_store_pg::test_server::PgServer::shared().fresh_database();
        DATABASE.with(|d| *d.borrow_mut() = Some(url.clone()));
        return kabinet_store_pg::open(&url, &settings()).unwrap();
    }
    Store::create(
        &dir.path().join("cabinet.db"),
        &StoreKey::Passphrase("test passphrase".into()),
        &settings(),
    )
    .unwrap()
}

/// The store of [`store`] closed and opened again (the app restarted).
fn reopen(dir: &tempfile::TempDir, store: Store) -> Store {
    drop(store);
    if on_postgres() {
        let url = DATABASE
            .with(|d| d.borrow().clone())
            .expect("a database of this test");
        return kabinet_store_pg::open(&url, &settings()).unwrap();
    }
    Store::open(
        &dir.path().join("cabinet.db"),
        &StoreKey::Passphrase("test passphrase".into()),
    )
    .unwrap()
}

fn ctx() -> Context {
    Context {
        lang: Lang::Bg,
        user: "мед. сестра Петрова".into(),
        login: "mpetrova".into(),
        now: Utc::now(),
        roles: None,
    }
}

/// `handle`, answered as the JSON a screen receives.
fn handle_json(store: &mut Store, ctx: &Context, request: Request) -> Result<Value, ServiceError> {
    handle(store, ctx, request).map(|r| serde_json::to_value(r).expect("a response serializes"))
}

fn call(store: &mut Store, request: Value) -> Result<Value, ServiceError> {
    let call: Call = serde_json::from_value(request).expect("a well-formed call");
    handle_json(
        store,
        &Context {
            lang: call.lang,
            ..ctx()
        },
        call.request,
    )
}

fn register(store: &mut Store, draft: Value, not_a_duplicate: bool) -> Result<Value, ServiceError> {
    call(
        store,
        json!({"op": "register_person", "args": {"draft": draft, "not_a_duplicate": not_a_duplicate}}),
    )
}

fn rositsa() -> Value {
    json!({"given_name": "Росица", "family_name": "Юсеинова", "egn": "7706245930", "consent_given": true})
}

#[test]
fn an_egn_fills_birth_date_and_sex_while_typing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let check = call(
        &mut s,
        json!({"op": "check_person", "args": {"draft": {"egn": "7706245930"}}}),
    )
    .unwrap();
    assert_eq!(check["birth_date"], "24.06.1977");
    assert_eq!(check["sex"], "F");
    let fields: Vec<&str> = check["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"given_name"), "{fields:?}");
    assert!(!fields.contains(&"birth_date"), "{fields:?}");
}

#[test]
fn registering_the_same_egn_twice_is_refused_with_the_existing_person() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let first = register(&mut s, rositsa(), false).unwrap();
    let err = register(&mut s, rositsa(), true).unwrap_err();
    let body = err.body(Lang::Bg);
    assert_eq!(body.kind.as_str(), "egn_taken");
    assert_eq!(body.fields[0].field, "egn");
    assert_eq!(body.duplicates[0].id.to_string(), first["id"]);
    assert_eq!(s.count(kabinet_store::DocKind::Person).unwrap(), 1);
}

#[test]
fn a_similar_name_and_birth_year_is_shown_before_a_new_person_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    register(&mut s, rositsa(), false).unwrap();
    // Same person, no documents this time, name typed in Latin.
    let draft = json!({"given_name": "Rositsa", "family_name": "Yuseinova", "sex": "F", "birth_year": 1978, "no_documents": true});
    let check = call(
        &mut s,
        json!({"op": "check_person", "args": {"draft": draft}}),
    )
    .unwrap();
    assert_eq!(check["duplicates"].as_array().unwrap().len(), 1);
    let err = register(&mut s, draft.clone(), false).unwrap_err();
    assert_eq!(err.body(Lang::En).kind.as_str(), "possible_duplicates");
    // The user looked and says it is someone else.
    register(&mut s, draft.clone(), true).unwrap();
    assert_eq!(s.count(kabinet_store::DocKind::Person).unwrap(), 2);
}

fn full_form() -> Value {
    json!({
        "hiv_result": "reactive", "hiv_consent": true, "hiv_counselled": true,
        "glucose": "13,2", "glucose_unit": "mmol/L", "fasting": "random",
        "hba1c": "8.1", "systolic": "182", "diastolic": "112", "pulse": "90",
        "weight_kg": "92", "height_cm": "170",
        "tb_cough": true, "tb_cough_weeks": "3", "tb_night_sweats": true,
        "hbsag": "non-reactive", "anti_hcv": "non-reactive"
    })
}

#[test]
fn a_visit_with_every_screening_suggests_referrals_and_saves_the_confirmed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let check = call(
        &mut s,
        json!({"op": "check_visit", "args": {"form": full_form()}}),
    )
    .unwrap();
    assert_eq!(check["issues"], json!([]));
    assert!((check["bmi"].as_f64().unwrap() - 31.8).abs() < 0.01);
    let suggestions = check["suggestions"].as_array().unwrap();
    let reasons: Vec<&str> = suggestions
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    for r in [
        "screening:hiv",
        "screening:tb_symptoms",
        "screening:glucose",
    ] {
        assert!(reasons.contains(&r), "{reasons:?}");
    }
    let hiv = suggestions
        .iter()
        .find(|s| s["reason"] == "screening:hiv")
        .unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {
            "person_id": person["id"], "form": full_form(), "notes": "",
            "referrals": [
                {"reason": hiv["reason"], "destination": hiv["destination"], "urgency": hiv["urgency"]},
                {"reason": "social", "destination": "hub-social-worker", "urgency": "routine"}
            ]
        }}),
    )
    .unwrap();
    assert_eq!(saved["referrals"].as_array().unwrap().len(), 2);
    assert!(
        saved["referrals"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with("04-")
    );

    let record = call(
        &mut s,
        json!({"op": "person_record", "args": {"id": person["id"]}}),
    )
    .unwrap();
    let lines = record["visits"][0]["screenings"].as_array().unwrap();
    assert_eq!(lines.len(), 8, "{lines:?}");
    let hiv_line = lines.iter().find(|l| l["kind"] == "hiv").unwrap();
    assert_eq!(hiv_line["value"], "реактивен");
    assert_eq!(hiv_line["flagged"], true);
    assert_eq!(record["referrals"].as_array().unwrap().len(), 2);

    let today = call(&mut s, json!({"op": "today", "args": {}})).unwrap();
    assert_eq!(today["visits"].as_array().unwrap().len(), 1);
    assert_eq!(today["referrals"].as_array().unwrap().len(), 2);
}

#[test]
fn an_invalid_visit_names_each_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let before = s.count(kabinet_store::DocKind::Visit).unwrap();
    let err = call(
        &mut s,
        json!({"op": "save_visit", "args": {
            "person_id": person["id"],
            "form": {"hiv_result": "non-reactive", "glucose": "abc", "systolic": "80", "diastolic": "120"},
            "referrals": [{"reason": "social", "destination": "nowhere", "urgency": "routine"}]
        }}),
    )
    .unwrap_err();
    let body = err.body(Lang::Bg);
    assert_eq!(body.kind.as_str(), "invalid");
    let fields: Vec<&str> = body.fields.iter().map(|f| f.field.as_str()).collect();
    assert!(fields.contains(&"glucose.value"), "{fields:?}");
    assert!(body.fields[0].message.contains("не е число"), "{body:?}");
    assert_eq!(s.count(kabinet_store::DocKind::Visit).unwrap(), before);

    // The screenings' own checks: consent before an HIV result, systolic above diastolic.
    let err = call(
        &mut s,
        json!({"op": "save_visit", "args": {
            "person_id": person["id"],
            "form": {"hiv_result": "non-reactive", "systolic": "80", "diastolic": "120"},
            "referrals": [{"reason": "social", "destination": "nowhere", "urgency": "routine"}]
        }}),
    )
    .unwrap_err();
    let fields: Vec<String> = err
        .body(Lang::Bg)
        .fields
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert!(
        fields.iter().any(|f| f.starts_with("hiv.consent")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|f| f == "referral.destination"),
        "{fields:?}"
    );
    assert_eq!(s.count(kabinet_store::DocKind::Visit).unwrap(), before);
}

#[test]
fn a_draft_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    call(
        &mut s,
        json!({"op": "save_draft", "args": {"key": "visit", "value": {"form": {"glucose": "7,1"}}}}),
    )
    .unwrap();
    let mut s = reopen(&dir, s);
    let draft = call(
        &mut s,
        json!({"op": "load_draft", "args": {"key": "visit"}}),
    )
    .unwrap();
    assert_eq!(draft["form"]["glucose"], "7,1");
    call(
        &mut s,
        json!({"op": "delete_draft", "args": {"key": "visit"}}),
    )
    .unwrap();
    assert_eq!(
        call(
            &mut s,
            json!({"op": "load_draft", "args": {"key": "visit"}})
        )
        .unwrap(),
        Value::Null
    );
}

#[test]
fn english_messages_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let check = call(
        &mut s,
        json!({"lang": "en", "op": "check_visit", "args": {"form": {"glucose": "x"}}}),
    )
    .unwrap();
    assert!(
        check["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a number")
    );
}

#[test]
fn the_referral_loop_slip_code_lookup_attendance_and_worklist() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"systolic": "150", "diastolic": "95"},
            "referrals": [{"reason": "social", "destination": "hub-social-worker", "urgency": "priority"}]}}),
    )
    .unwrap();
    let id: Uuid = serde_json::from_value(saved["referrals"][0]["id"].clone()).unwrap();
    let code = saved["referrals"][0]["code"].as_str().unwrap().to_string();

    let pdf = referrals::slips_pdf(&mut s, &ctx(), &[id], "A5", None).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let today = call(&mut s, json!({"op": "issued_on", "args": {}})).unwrap();
    assert_eq!(today, json!([id]));

    // Found by the code as typed with spaces; a typo is caught by the check digit.
    let found = call(
        &mut s,
        json!({"op": "referral_by_code", "args": {"code": code.replace('-', " ")}}),
    )
    .unwrap();
    assert_eq!(found["id"], json!(id));
    assert!(
        found["next"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["status"] == "attended" && n["label"] == "явил се")
    );
    let mut typo = code.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'9' {
        b'8'
    } else {
        typo[last] + 1
    };
    let err = call(
        &mut s,
        json!({"op": "referral_by_code", "args": {"code": String::from_utf8(typo).unwrap()}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "referral.code");

    // Eight days later, the priority referral is overdue and on the worklist...
    let later = Context {
        now: Utc::now() + chrono::Duration::days(8),
        ..ctx()
    };
    let list = handle_json(&mut s, &later, Request::FollowUp {}).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // ...until it is attended; then it leaves the list, with the outcome in its history.
    let updated = handle_json(
        &mut s,
        &later,
        serde_json::from_value::<Call>(json!({"op": "update_referral", "args": {"id": id, "status": "attended", "note": "получи помощ"}}))
            .unwrap()
            .request,
    )
    .unwrap();
    assert_eq!(updated["status"], "attended");
    assert_eq!(updated["history"][1]["note"], "получи помощ");
    assert_eq!(
        handle_json(&mut s, &later, Request::FollowUp {}).unwrap(),
        json!([])
    );
    // Attended cannot go back to declined.
    let err = handle_json(
        &mut s,
        &later,
        serde_json::from_value::<Call>(
            json!({"op": "update_referral", "args": {"id": id, "status": "declined"}}),
        )
        .unwrap()
        .request,
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "invalid");
}

#[test]
fn hub_staff_see_only_what_their_role_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": full_form(),
            "referrals": [{"reason": "screening:hiv", "destination": "hiv-confirmatory", "urgency": "priority"},
                          {"reason": "social", "destination": "hub-social-worker", "urgency": "routine"}]}}),
    )
    .unwrap();
    let hiv_id: Uuid = serde_json::from_value(saved["referrals"][0]["id"].clone()).unwrap();
    let hiv_code = saved["referrals"][0]["code"].as_str().unwrap().to_string();
    let mediator = Context {
        roles: Some(vec![kabinet_core::Role::EducationMediator]),
        ..ctx()
    };
    let as_mediator = |s: &mut Store, v: Value| {
        handle_json(
            s,
            &mediator,
            serde_json::from_value::<Call>(v).unwrap().request,
        )
    };
    let record = as_mediator(
        &mut s,
        json!({"op": "person_record", "args": {"id": person["id"]}}),
    )
    .unwrap();
    let text = record.to_string();
    assert!(
        !text.contains("\"hiv\"") && !text.contains("реактивен"),
        "{text}"
    );
    assert!(!text.contains(&hiv_code));
    assert_eq!(record["referrals"].as_array().unwrap().len(), 1);
    assert!(
        record["visits"][0]["screenings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["kind"] != "hiv"
                && l["kind"] != "tb_symptoms"
                && l["kind"] != "hepatitis_b")
    );
    // The HIV referral is "not found" for the mediator, by code, by id and as a slip.
    let err = as_mediator(
        &mut s,
        json!({"op": "referral_by_code", "args": {"code": hiv_code}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "not_found");
    assert!(referrals::slips_pdf(&mut s, &mediator, &[hiv_id], "A5", None).is_err());
    let today = as_mediator(&mut s, json!({"op": "today", "args": {}})).unwrap();
    assert_eq!(today["referrals"].as_array().unwrap().len(), 1);
    // And may not record an HIV result.
    let err = as_mediator(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"hiv_result": "non-reactive", "hiv_consent": true, "hiv_counselled": true}}}),
    )
    .unwrap_err();
    let body = err.body(Lang::Bg);
    assert_eq!(body.kind.as_str(), "invalid");
    assert_eq!(body.fields[0].field, "hiv.result");
    assert!(
        body.fields[0].message.contains("вашата роля"),
        "{:?}",
        body.fields
    );
    // A TB screen is refused beside its own field, not the HIV one.
    let err = as_mediator(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"tb_cough": true, "tb_cough_weeks": "3"}}}),
    )
    .unwrap_err();
    let fields: Vec<String> = err
        .body(Lang::Bg)
        .fields
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert!(fields.contains(&"tb.cough_weeks".to_string()), "{fields:?}");
    assert!(!fields.contains(&"hiv.result".to_string()));
}

#[test]
fn a_withdrawn_consent_keeps_the_record_minimal_marked_audited_and_off_the_worklist() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let mut draft = rositsa();
    draft["phone"] = json!("0888 123 456");
    draft["address"] = json!("ул. Мир 1");
    draft["other_names"] = json!(["Роси"]);
    let person = register(&mut s, draft, false).unwrap();
    call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"systolic": "150", "diastolic": "95"},
            "referrals": [{"reason": "social", "destination": "hub-social-worker", "urgency": "priority"}]}}),
    )
    .unwrap();
    assert_eq!(
        call(
            &mut s,
            json!({"op": "search", "args": {"query": "0888123456"}})
        )
        .unwrap()
        .as_array()
        .unwrap()
        .len(),
        1
    );

    let record = call(
        &mut s,
        json!({"op": "withdraw_consent", "args": {"person_id": person["id"]}}),
    )
    .unwrap();
    assert_eq!(record["person"]["consent_withdrawn"], true);
    assert!(
        record["person"]["consent"]
            .as_str()
            .unwrap()
            .starts_with("withdrawn")
    );
    assert!(
        record["person"]["consent"]
            .as_str()
            .unwrap()
            .contains("Петрова")
    );
    assert_eq!(record["person"]["phone"], Value::Null);
    assert_eq!(record["person"]["address"], Value::Null);
    assert_eq!(record["person"]["other_names"], json!([]));
    assert_eq!(
        record["visits"].as_array().unwrap().len(),
        1,
        "medical records stay"
    );
    // Contact data is gone from the query tables too; the name still finds the person.
    assert!(
        call(
            &mut s,
            json!({"op": "search", "args": {"query": "0888123456"}})
        )
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        call(
            &mut s,
            json!({"op": "search", "args": {"query": "Юсеинова"}})
        )
        .unwrap()
        .as_array()
        .unwrap()
        .len(),
        1
    );
    // No outreach: the overdue referral is not on the worklist.
    let later = Context {
        now: Utc::now() + chrono::Duration::days(8),
        ..ctx()
    };
    let list = handle_json(&mut s, &later, Request::FollowUp {}).unwrap();
    assert!(list.as_array().unwrap().is_empty());
    // On the audit log, with who did it.
    let log = s.audit_entries(0, 100).unwrap();
    let withdrawal = log
        .iter()
        .find(|e| e.entry.action == kabinet_core::AuditAction::Withdraw)
        .expect("the withdrawal is audited");
    assert_eq!(withdrawal.entry.user, "мед. сестра Петрова");
    assert_eq!(withdrawal.entry.record, person["id"].as_str().unwrap());
    s.verify_audit().unwrap();
}

#[test]
fn visit_options_offer_only_referral_reasons_the_role_may_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let as_role = |role| Context {
        roles: Some(vec![role]),
        ..ctx()
    };
    let needs = |s: &mut Store, role| {
        let Response::VisitOptions(o) =
            handle(s, &as_role(role), Request::VisitOptions {}).unwrap()
        else {
            panic!("visit_options answers with options")
        };
        assert_eq!(o.urgencies.len(), 4);
        assert_eq!(o.rapid_results.len(), 3);
        assert_eq!(o.screenings[0].label, "ХИВ бърз тест");
        o.needs.into_iter().map(|n| n.reason).collect::<Vec<_>>()
    };
    assert_eq!(
        needs(&mut s, kabinet_core::Role::Nurse),
        ["social", "education"]
    );
    assert_eq!(
        needs(&mut s, kabinet_core::Role::Psychologist),
        ["social", "psychological", "education"]
    );
    assert_eq!(
        needs(&mut s, kabinet_core::Role::Lawyer),
        ["social", "legal", "education"]
    );
}

// Threats (issue #15, docs/threats.md): each test is named for the path it closes.

fn as_user(login: &str, role: kabinet_core::Role) -> Context {
    Context {
        login: login.into(),
        roles: Some(vec![role]),
        ..ctx()
    }
}

fn call_as(s: &mut Store, ctx: &Context, v: Value) -> Result<Value, ServiceError> {
    handle_json(s, ctx, serde_json::from_value::<Call>(v).unwrap().request)
}

#[test]
fn a_nurses_draft_is_not_loaded_by_another_user_or_after_her_role_changed() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let nurse = as_user("mpetrova", Role::Nurse);
    let draft = json!({"form": {"hiv_result": "reactive", "hiv_consent": true}});
    call_as(
        &mut s,
        &nurse,
        json!({"op": "save_draft", "args": {"key": "visit.p1", "value": draft}}),
    )
    .unwrap();
    let load = json!({"op": "load_draft", "args": {"key": "visit.p1"}});
    assert_eq!(call_as(&mut s, &nurse, load.clone()).unwrap(), draft);
    // Another nurse, a mediator, the admin: nothing under the same key.
    for other in [
        as_user("gdimitrova", Role::Nurse),
        as_user("mediator", Role::EducationMediator),
    ] {
        assert_eq!(
            call_as(&mut s, &other, load.clone()).unwrap(),
            Value::Null,
            "{}",
            other.login
        );
    }
    assert!(matches!(
        call_as(&mut s, &as_user("admin", Role::HubAdmin), load.clone()),
        Err(ServiceError::Forbidden)
    ));
    // The same sign-in, now a social worker: the draft may hold HIV data, so it stays shut.
    assert_eq!(
        call_as(&mut s, &as_user("mpetrova", Role::SocialWorker), load).unwrap(),
        Value::Null
    );
}

#[test]
fn an_admin_who_may_only_read_general_data_cannot_record_a_visit_or_a_draft() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let admin = as_user("admin", kabinet_core::Role::HubAdmin);
    let err = call_as(
        &mut s,
        &admin,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"systolic": "120", "diastolic": "80"}}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "forbidden");
    let err = call_as(
        &mut s,
        &admin,
        json!({"op": "save_draft", "args": {"key": "visit.p1", "value": {}}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "forbidden");
    assert!(
        s.visits_on(sofia_today(Utc::now()), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_social_referral_to_the_hiv_lab_is_as_hidden_as_an_hiv_referral() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let nurse = as_user("mpetrova", Role::Nurse);
    let saved = call_as(
        &mut s,
        &nurse,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"systolic": "120", "diastolic": "80"},
            "referrals": [{"reason": "social", "destination": "hiv-confirmatory", "urgency": "priority"},
                          {"reason": "social", "destination": "rdsp", "urgency": "routine"}]}}),
    )
    .unwrap();
    let lab_code = saved["referrals"][0]["code"].as_str().unwrap().to_string();
    let mediator = as_user("mediator", Role::EducationMediator);
    let record = call_as(
        &mut s,
        &mediator,
        json!({"op": "person_record", "args": {"id": person["id"]}}),
    )
    .unwrap();
    assert_eq!(record["referrals"].as_array().unwrap().len(), 1);
    assert!(!record.to_string().contains("hiv-confirmatory"));
    let today = call_as(&mut s, &mediator, json!({"op": "today", "args": {}})).unwrap();
    assert!(!today.to_string().contains("hiv-confirmatory"));
    assert_eq!(
        call_as(&mut s, &mediator, json!({"op": "issued_on", "args": {}}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        call_as(&mut s, &nurse, json!({"op": "issued_on", "args": {}}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        call_as(
            &mut s,
            &mediator,
            json!({"op": "referral_by_code", "args": {"code": lab_code}}),
        )
        .is_err()
    );
    // A psychological referral to the lung hospital makes no sense to anyone: refused.
    let err = call_as(
        &mut s,
        &as_user("psy", Role::Psychologist),
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {},
            "referrals": [{"reason": "psychological", "destination": "lung-hospital", "urgency": "routine"}]}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::En).fields[0].field, "referral.destination");
    // A mediator may not send someone to the HIV lab at all: the referral would be hidden
    // from her the moment she saved it.
    let err = call_as(
        &mut s,
        &mediator,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {},
            "referrals": [{"reason": "social", "destination": "hiv-confirmatory", "urgency": "routine"}]}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::En).kind.as_str(), "invalid");
}

#[test]
fn a_hidden_referral_looked_up_by_code_is_answered_like_a_code_never_issued() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call_as(
        &mut s,
        &as_user("mpetrova", Role::Nurse),
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": full_form(),
            "referrals": [{"reason": "screening:hiv", "destination": "hiv-confirmatory", "urgency": "priority"}]}}),
    )
    .unwrap();
    let code = saved["referrals"][0]["code"].as_str().unwrap().to_string();
    let id = saved["referrals"][0]["id"].as_str().unwrap().to_string();
    let never = kabinet_core::ReferralCode::new(4, 999).to_string();
    let mediator = as_user("mediator", Role::EducationMediator);
    let answer = |code: &str, s: &mut Store| {
        let body = call_as(
            s,
            &mediator,
            json!({"op": "referral_by_code", "args": {"code": code}}),
        )
        .unwrap_err()
        .body(Lang::Bg);
        (body.kind, body.message.replace(code, "<code>"))
    };
    let hidden = answer(&code, &mut s);
    assert!(!hidden.1.contains(&id), "{}", hidden.1);
    assert_eq!(hidden, answer(&never, &mut s));
}

#[test]
fn hiv_details_typed_as_a_clinical_note_reach_only_nurses_and_doctors() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let nurse = as_user("mpetrova", Role::Nurse);
    let options = call_as(&mut s, &nurse, json!({"op": "visit_options", "args": {}})).unwrap();
    assert_eq!(options["clinical_note"], true);
    call_as(
        &mut s,
        &nurse,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"systolic": "120", "diastolic": "80"},
            "notes": "Идва с дъщеря си.", "clinical_note": "ХИВ реактивен при предишен тест; изпратена в КАБКИС."}}),
    )
    .unwrap();
    let record = |ctx: &Context, s: &mut Store| {
        call_as(
            s,
            ctx,
            json!({"op": "person_record", "args": {"id": person["id"]}}),
        )
        .unwrap()
    };
    let seen_by_nurse = record(&as_user("doc", Role::Doctor), &mut s);
    assert_eq!(
        seen_by_nurse["visits"][0]["clinical_note"],
        "ХИВ реактивен при предишен тест; изпратена в КАБКИС."
    );
    for role in [Role::EducationMediator, Role::SocialWorker, Role::HubAdmin] {
        let seen = record(&as_user("other", role), &mut s);
        assert_eq!(seen["visits"][0]["notes"], "Идва с дъщеря си.");
        assert!(!seen.to_string().contains("КАБКИС"), "{role:?}: {seen}");
    }
    // It is a document of its own, in the clinical class (what sync leaves out).
    let visit_id: Uuid = serde_json::from_value(seen_by_nurse["visits"][0]["id"].clone()).unwrap();
    let note_doc = kabinet_store::results_doc_id(visit_id, kabinet_core::AccessClass::Clinical);
    assert_eq!(
        s.document_bytes(note_doc).unwrap().map(|(_, class)| class),
        Some(kabinet_core::AccessClass::Clinical)
    );
    // A mediator is not offered the field, and cannot write it through the API.
    let mediator = as_user("mediator", Role::EducationMediator);
    let options = call_as(
        &mut s,
        &mediator,
        json!({"op": "visit_options", "args": {}}),
    )
    .unwrap();
    assert_eq!(options["clinical_note"], false);
    let err = call_as(
        &mut s,
        &mediator,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {}, "clinical_note": "x"}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::En).fields[0].field, "clinical_note");
}

/// A confirmed suggestion keeps its rule, and the slip prints that rule's words: a low
/// glucose's slip says "low". A rule that did not fire on the visit is refused, so no slip
/// claims a finding the visit does not have.
#[test]
fn a_referral_keeps_the_rule_it_follows_and_a_rule_that_did_not_fire_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let low = json!({"glucose": "2,6", "fasting": "random"});
    let check = call(
        &mut s,
        json!({"op": "check_visit", "args": {"form": low, "person_id": person["id"]}}),
    )
    .unwrap();
    assert_eq!(check["suggestions"][0]["rule"], "glucose.hypo.level2");
    assert_eq!(check["prompts"][0]["id"], "low_glucose_first_aid");
    assert_eq!(check["emergency"], false);
    let choice = |rule: &str| {
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": low,
            "referrals": [{"reason": "screening:glucose", "destination": "hub-gp",
                           "urgency": "same_day", "finding": rule}]}})
    };
    let refused = call(&mut s, choice("glucose.very_high")).unwrap_err();
    let body = serde_json::to_string(&refused.body(Lang::En)).unwrap();
    assert!(body.contains("glucose.very_high"), "{body}");
    let saved = call(&mut s, choice("glucose.hypo.level2")).unwrap();
    let id: Uuid = serde_json::from_value(saved["referrals"][0]["id"].clone()).unwrap();
    let referral = s.referral(id).unwrap();
    assert_eq!(referral.finding.as_deref(), Some("glucose.hypo.level2"));
    assert!(kabinet_slip::slip_reason(&referral, Lang::Bg).starts_with("Ниска кръвна захар"));
}

/// The person's age and pregnancy reach the rules: a child's blood pressure goes to a
/// paediatric assessment, and pregnancy is refused for a man.
#[test]
fn the_rules_know_who_is_screened() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let child = register(
        &mut s,
        json!({"given_name": "Мира", "family_name": "Асенова", "sex": "F",
               "birth_date": "2016-05-01", "consent_given": true}),
        false,
    )
    .unwrap();
    let bp = json!({"systolic": "150", "diastolic": "95"});
    let check = call(
        &mut s,
        json!({"op": "check_visit", "args": {"form": bp, "person_id": child["id"]}}),
    )
    .unwrap();
    assert_eq!(
        check["suggestions"][0]["rule"],
        "child.paediatric_assessment"
    );
    let man = register(
        &mut s,
        json!({"given_name": "Иван", "family_name": "Асенов", "sex": "M",
               "birth_date": "1980-05-01", "consent_given": true}),
        false,
    )
    .unwrap();
    let check = call(
        &mut s,
        json!({"op": "check_visit", "args": {"form": {"pregnant": true}, "person_id": man["id"]}}),
    )
    .unwrap();
    assert_eq!(check["issues"][0]["field"], "pregnancy");
}

/// An HIV slip may leave out the name and ЕГН (code, birth year and sex only): the hub's
/// directory sets the default, the specialist's choice wins, and no other slip is ever
/// anonymous.
#[test]
fn an_hiv_slip_is_anonymous_by_the_directory_or_the_specialist_and_no_other_slip_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": full_form(),
            "referrals": [{"reason": "screening:hiv", "destination": "hiv-confirmatory", "urgency": "priority"},
                          {"reason": "screening:glucose", "destination": "hub-gp", "urgency": "priority"}]}}),
    )
    .unwrap();
    assert_eq!(saved["referrals"][0]["may_be_anonymous"], true);
    assert_eq!(saved["referrals"][1]["may_be_anonymous"], false);
    let ids: Vec<Uuid> = (0..2)
        .map(|i| serde_json::from_value(saved["referrals"][i]["id"].clone()).unwrap())
        .collect();
    let referrals: Vec<_> = ids.iter().map(|id| s.referral(*id).unwrap()).collect();
    let names = |slips: Vec<kabinet_slip::Slip>| -> Vec<(String, Option<String>)> {
        slips
            .into_iter()
            .map(|x| (x.person_name, x.egn_masked))
            .collect()
    };
    let named = (
        "Росица Юсеинова".to_string(),
        Some("******5930".to_string()),
    );
    // The default directory names everyone.
    let slips = referrals::slips_of(&s, &referrals, None).unwrap();
    assert_eq!(names(slips), vec![named.clone(), named.clone()]);
    // The specialist chooses anonymous: the HIV slip only.
    let slips = referrals::slips_of(&s, &referrals, Some(true)).unwrap();
    assert_eq!(slips[0].birth, "1977 г., жена");
    assert!(slips[0].person_latin.is_empty());
    let anonymous = names(slips);
    assert!(!anonymous[0].0.contains("Росица") && anonymous[0].1.is_none());
    assert_eq!(anonymous[1], named);
    // The hub's default anonymous, and the specialist may still name.
    s.write(kabinet_store::Origin::Local, |w| {
        w.put_directory(&kabinet_core::Directory {
            anonymous_hiv_slips: true,
            ..Default::default()
        })
    })
    .unwrap();
    let options = call(&mut s, json!({"op": "visit_options", "args": {}})).unwrap();
    assert_eq!(options["anonymous_hiv_slips"], true);
    let slips = names(referrals::slips_of(&s, &referrals, None).unwrap());
    assert_ne!(slips[0], named);
    assert_eq!(slips[1], named);
    let slips = names(referrals::slips_of(&s, &referrals, Some(false)).unwrap());
    assert_eq!(slips[0], named);
}

/// A glucose waiting for its fasting state names the choice and hides nothing else: the
/// blood pressure's suggestion is there meanwhile.
#[test]
fn a_field_being_typed_does_not_hide_the_other_screenings_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let form = json!({"glucose": "12,4", "systolic": "165", "diastolic": "100"});
    let check = call(&mut s, json!({"op": "check_visit", "args": {"form": form}})).unwrap();
    assert_eq!(check["issues"][0]["field"], "glucose.fasting");
    assert_eq!(
        check["suggestions"][0]["reason"],
        "screening:blood_pressure"
    );
    let form =
        json!({"glucose": "12,4", "fasting": "random", "systolic": "165", "diastolic": "100"});
    let check = call(&mut s, json!({"op": "check_visit", "args": {"form": form}})).unwrap();
    assert_eq!(check["issues"], json!([]));
    assert_eq!(check["suggestions"].as_array().unwrap().len(), 2);
}

/// A person's record is corrected field by field: the phone alone changes without a reason;
/// a birth date needs one; another person's ЕГН is refused; bad input names the field and
/// writes nothing; search finds the new name; each correction says who, when, what and why.
#[test]
fn a_person_is_corrected_field_by_field_with_a_reason_for_identity() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let id: Uuid = serde_json::from_value(person["id"].clone()).unwrap();
    let form = call(&mut s, json!({"op": "person_form", "args": {"id": id}})).unwrap();
    assert_eq!(form["egn"], "7706245930");
    let edit = |s: &mut Store, draft: &Value, reason: &str| {
        call(
            s,
            json!({"op": "edit_person", "args": {"id": id, "draft": draft, "reason": reason}}),
        )
    };
    // Nothing changed: nothing written.
    let same = edit(&mut s, &form, "").unwrap();
    assert_eq!(same["changed"], json!([]));

    let mut phone = form.clone();
    phone["phone"] = json!("0888 123 456");
    let edited = edit(&mut s, &phone, "").unwrap();
    assert_eq!(edited["changed"], json!(["phone"]));
    let stored = s.person(id).unwrap();
    assert_eq!(stored.phone.unwrap().as_str(), "+359888123456");
    assert_eq!(stored.corrections.len(), 1);
    assert_eq!(stored.corrections[0].by, "мед. сестра Петрова");

    // A different ЕГН (and the birth date and sex it carries) is an identity change.
    let mut egn = phone.clone();
    egn["egn"] = json!("7502010014");
    egn["birth_date"] = json!(null);
    egn["sex"] = json!(null);
    let err = edit(&mut s, &egn, " ").unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "reason");
    edit(&mut s, &egn, "ЕГН сверен с личната карта").unwrap();
    let stored = s.person(id).unwrap();
    assert_eq!(stored.egn.unwrap().as_str(), "7502010014");
    assert_eq!(stored.corrections[1].reason, "ЕГН сверен с личната карта");
    assert!(stored.corrections[1].fields.contains(&"egn".to_string()));

    // Another person's ЕГН is refused, and bad input names its field; nothing is written.
    register(
        &mut s,
        json!({"given_name": "Мария", "family_name": "Петрова",
        "egn": "7706245930", "consent_given": true}),
        true,
    )
    .unwrap();
    let mut taken = egn.clone();
    taken["egn"] = json!("7706245930");
    let err = edit(&mut s, &taken, "грешка").unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "egn_taken");
    let mut bad = egn.clone();
    bad["given_name"] = json!("Р0сица");
    let err = edit(&mut s, &bad, "").unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "given_name");
    assert_eq!(s.person(id).unwrap().corrections.len(), 2);

    // The new name is what search finds.
    let mut renamed = egn.clone();
    renamed["family_name"] = json!("Асенова");
    edit(&mut s, &renamed, "").unwrap();
    let hits = call(
        &mut s,
        json!({"op": "search", "args": {"query": "asenova"}}),
    )
    .unwrap();
    assert_eq!(hits[0]["id"], json!(id));
}

/// A role that may not write general data corrects nothing.
#[test]
fn an_admin_who_may_only_read_general_data_cannot_correct_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let mut draft = call(
        &mut s,
        json!({"op": "person_form", "args": {"id": person["id"]}}),
    )
    .unwrap();
    draft["phone"] = json!("0888123456");
    let err = call_as(
        &mut s,
        &as_user("akostova", kabinet_core::Role::HubAdmin),
        json!({"op": "edit_person", "args": {"id": person["id"], "draft": draft}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "forbidden");
    assert!(
        s.person(serde_json::from_value(person["id"].clone()).unwrap())
            .unwrap()
            .phone
            .is_none()
    );
}

/// Settling a field changed apart is an edit: a role that may only read general data may not,
/// and a choice that is not on offer (the field was settled meanwhile) is refused.
#[test]
fn settling_a_conflict_needs_write_access_and_a_value_on_offer() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let err = call_as(
        &mut s,
        &as_user("akostova", kabinet_core::Role::HubAdmin),
        json!({"op": "settle_conflict", "args": {"person_id": person["id"], "field": "phone", "choice": 0}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "forbidden");
    let err = call(
        &mut s,
        json!({"op": "settle_conflict", "args": {"person_id": person["id"], "field": "phone", "choice": 0}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).kind.as_str(), "bad_request");
    assert_eq!(
        call(&mut s, json!({"op": "to_review", "args": {}})).unwrap(),
        json!([])
    );
}

/// A glucose entered in the wrong unit is corrected: the rules run again on the corrected
/// value, a new referral is issued and the old one cancelled with the reason; the visit keeps
/// who corrected it and why. Without a reason nothing changes.
#[test]
fn a_visit_is_corrected_the_rules_run_again_and_referrals_follow() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    // 126 typed as mmol/L instead of mg/dL is refused as impossible; 12,6 random is read.
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"],
            "form": {"glucose": "12,6", "fasting": "random"},
            "referrals": [{"reason": "screening:glucose", "destination": "hub-gp",
                           "urgency": "priority", "finding": "glucose.random.diabetes"}]}}),
    )
    .unwrap();
    let visit_id: Uuid = serde_json::from_value(saved["visit_id"].clone()).unwrap();
    let old_referral: Uuid = serde_json::from_value(saved["referrals"][0]["id"].clone()).unwrap();
    let edit = call(
        &mut s,
        json!({"op": "visit_for_correction", "args": {"visit_id": visit_id}}),
    )
    .unwrap();
    assert_eq!(edit["form"]["glucose"], "12.6");
    let mut form = edit["form"].clone();
    // It was 2,6: a low glucose now.
    form["glucose"] = json!("2,6");
    let no_reason = call(
        &mut s,
        json!({"op": "correct_visit", "args": {"visit_id": visit_id, "form": form, "reason": " "}}),
    )
    .unwrap_err();
    assert_eq!(no_reason.body(Lang::Bg).fields[0].field, "reason");
    assert_eq!(
        s.visit(visit_id).unwrap().screenings.glucose.unwrap().value,
        Some(12.6)
    );
    let check = call(
        &mut s,
        json!({"op": "check_visit", "args": {"form": form, "person_id": person["id"]}}),
    )
    .unwrap();
    assert_eq!(check["suggestions"][0]["rule"], "glucose.hypo.level2");
    let corrected = call(
        &mut s,
        json!({"op": "correct_visit", "args": {"visit_id": visit_id, "form": form,
            "reason": "грешно въведена стойност",
            "referrals": [{"reason": "screening:glucose", "destination": "hub-gp",
                           "urgency": "same_day", "finding": "glucose.hypo.level2"}],
            "cancel": [old_referral]}}),
    )
    .unwrap();
    assert_eq!(corrected["changed"], json!(["Кръвна захар"]));
    assert_eq!(corrected["cancelled"], json!([old_referral]));
    let visit = s.visit(visit_id).unwrap();
    assert_eq!(visit.screenings.glucose.unwrap().value, Some(2.6));
    assert_eq!(visit.corrections[0].reason, "грешно въведена стойност");
    assert_eq!(visit.corrections[0].fields, vec!["glucose"]);
    let old = s.referral(old_referral).unwrap();
    assert_eq!(old.status(), kabinet_core::ReferralStatus::Cancelled);
    assert_eq!(
        old.history.last().unwrap().note.as_deref(),
        Some("грешно въведена стойност")
    );
    let new_id: Uuid = serde_json::from_value(corrected["referrals"][0]["id"].clone()).unwrap();
    assert_eq!(
        s.referral(new_id).unwrap().finding.as_deref(),
        Some("glucose.hypo.level2")
    );
}

/// A correction of an HIV result stays in the HIV document, and the visit's own document (read
/// by every role) names it only as "results"; a role that may not read HIV neither sees it in
/// the form nor loses it by correcting the rest.
#[test]
fn correcting_a_visit_keeps_each_result_in_its_class() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": full_form()}}),
    )
    .unwrap();
    let visit_id: Uuid = serde_json::from_value(saved["visit_id"].clone()).unwrap();
    let mut form = call(
        &mut s,
        json!({"op": "visit_for_correction", "args": {"visit_id": visit_id}}),
    )
    .unwrap()["form"]
        .clone();
    form["hiv_result"] = json!("non_reactive");
    call(&mut s, json!({"op": "correct_visit", "args": {"visit_id": visit_id, "form": form, "reason": "сбъркан ред"}})).unwrap();
    let visit = s.visit(visit_id).unwrap();
    assert_eq!(
        visit.screenings.hiv.unwrap().result,
        kabinet_core::RapidResult::NonReactive
    );
    assert_eq!(visit.corrections[0].fields, vec!["results"]);
    let general = serde_json::to_string(&s.document_json(visit_id).unwrap()).unwrap();
    assert!(
        !general.contains("hiv") && !general.contains("non_reactive"),
        "{general}"
    );

    // A social worker reads no HIV: the form leaves it out, and correcting the weight keeps it.
    let sw = as_user("gdimitrov", kabinet_core::Role::SocialWorker);
    let mut form = call_as(
        &mut s,
        &sw,
        json!({"op": "visit_for_correction", "args": {"visit_id": visit_id}}),
    )
    .unwrap()["form"]
        .clone();
    assert_eq!(form["hiv_result"], "");
    form["weight_kg"] = json!("90");
    call_as(&mut s, &sw, json!({"op": "correct_visit", "args": {"visit_id": visit_id, "form": form, "reason": "претеглена отново"}})).unwrap();
    let visit = s.visit(visit_id).unwrap();
    assert_eq!(
        visit.screenings.hiv.unwrap().result,
        kabinet_core::RapidResult::NonReactive
    );
    assert_eq!(visit.screenings.body.unwrap().weight_kg, Some(90.0));
}

/// A visit entered in error stays in the history, marked, out of the day's list count, and
/// its open referrals are cancelled with the reason.
#[test]
fn a_visit_entered_in_error_is_kept_marked_and_its_referrals_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": full_form(),
            "referrals": [{"reason": "screening:blood_pressure", "destination": "hub-gp", "urgency": "priority"}]}}),
    )
    .unwrap();
    let visit_id: Uuid = serde_json::from_value(saved["visit_id"].clone()).unwrap();
    let referral: Uuid = serde_json::from_value(saved["referrals"][0]["id"].clone()).unwrap();
    let err = call(
        &mut s,
        json!({"op": "void_visit", "args": {"visit_id": visit_id, "reason": ""}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "reason");
    let record = call(
        &mut s,
        json!({"op": "void_visit", "args": {"visit_id": visit_id, "reason": "друг човек"}}),
    )
    .unwrap();
    assert_eq!(record["visits"][0]["voided"]["reason"], "друг човек");
    assert_eq!(
        record["visits"][0]["screenings"].as_array().unwrap().len(),
        8,
        "kept"
    );
    assert_eq!(
        s.referral(referral).unwrap().status(),
        kabinet_core::ReferralStatus::Cancelled
    );
    let today = call(&mut s, json!({"op": "today", "args": {}})).unwrap();
    assert_eq!(today["visits"][0]["voided"], true);
    assert!(
        today["referrals"].as_array().unwrap().is_empty(),
        "no open referral left"
    );
    // A voided visit is not corrected.
    let form = call(
        &mut s,
        json!({"op": "visit_for_correction", "args": {"visit_id": visit_id}}),
    )
    .unwrap();
    assert_eq!(form["voided"], true);
    assert!(call(&mut s, json!({"op": "correct_visit", "args": {"visit_id": visit_id, "form": form["form"], "reason": "x"}})).is_err());
}

/// Two registrations of one woman without documents, in two neighbourhoods, under two
/// spellings: found by the finder, merged by a social worker (who reads no HIV result), shown
/// as one person with both histories, and split again.
#[test]
fn a_duplicate_is_found_merged_shown_as_one_and_split_again() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let first = register(
        &mut s,
        json!({"given_name": "Фатме", "family_name": "Мустафова", "sex": "F", "birth_year": 1990,
               "no_documents": true, "neighbourhood": "Мошино", "consent_given": true}),
        false,
    )
    .unwrap();
    let second = register(
        &mut s,
        json!({"given_name": "Fatma", "family_name": "Mustafova", "sex": "F", "birth_year": 1991,
               "no_documents": true, "neighbourhood": "Мошино", "consent_given": true}),
        true,
    )
    .unwrap();
    // Someone else entirely, and a namesake with another ЕГН: never paired with the first.
    register(&mut s, rositsa(), false).unwrap();
    let (a, b): (Uuid, Uuid) = (
        serde_json::from_value(first["id"].clone()).unwrap(),
        serde_json::from_value(second["id"].clone()).unwrap(),
    );
    let nurse = as_user("mpetrova", Role::Nurse);
    call_as(
        &mut s,
        &nurse,
        json!({"op": "save_visit", "args": {"person_id": a, "form": full_form()}}),
    )
    .unwrap();
    call_as(&mut s, &nurse, json!({"op": "save_visit", "args": {"person_id": b, "form": {"fasting": "", "weight_kg": "61"}}})).unwrap();

    let list = call(&mut s, json!({"op": "possible_duplicates", "args": {}})).unwrap();
    assert_eq!(list["total"], 1, "{list}");
    let pair = &list["pairs"][0];
    let ids = [pair["a"]["id"].clone(), pair["b"]["id"].clone()];
    assert!(ids.contains(&json!(a)) && ids.contains(&json!(b)));
    assert_eq!(pair["certain"], false);
    assert!(pair["score"].as_u64().unwrap() >= 75, "{pair}");
    let evidence = pair["evidence"].to_string();
    assert!(evidence.contains("същият квартал"), "{evidence}");

    // The merge needs a reason; a role that may not edit general data cannot merge at all.
    let sw = as_user("gdimitrov", Role::SocialWorker);
    let err = call_as(
        &mut s,
        &sw,
        json!({"op": "merge_persons", "args": {"survivor": a, "duplicate": b, "reason": " "}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "reason");
    let admin = as_user("admin", Role::HubAdmin);
    assert!(matches!(
        call_as(
            &mut s,
            &admin,
            json!({"op": "merge_persons", "args": {"survivor": a, "duplicate": b, "reason": "същата"}})
        ),
        Err(ServiceError::Forbidden)
    ));
    assert!(
        s.survivor_of(b).unwrap().is_none(),
        "a refused merge writes nothing"
    );

    // The social worker merges without reading any HIV result; the record shows both visits.
    let merged = call_as(&mut s, &sw, json!({"op": "merge_persons", "args": {"survivor": a, "duplicate": b, "reason": "същата жена, два записа"}})).unwrap();
    assert_eq!(merged["person"]["id"], json!(a));
    assert_eq!(merged["visits"].as_array().unwrap().len(), 2);
    assert_eq!(merged["merged"][0]["id"], json!(b));
    assert!(!merged.to_string().contains("ХИВ"), "{merged}");
    // A nurse opening either id sees the survivor with both histories, the HIV result included.
    for id in [a, b] {
        let r = call_as(
            &mut s,
            &nurse,
            json!({"op": "person_record", "args": {"id": id}}),
        )
        .unwrap();
        assert_eq!(r["person"]["id"], json!(a));
        assert_eq!(r["visits"].as_array().unwrap().len(), 2);
        assert!(r["visits"].to_string().contains("hiv"), "{r}");
    }
    // Search by the duplicate's spelling finds the survivor, once.
    let hits = call(&mut s, json!({"op": "search", "args": {"query": "Fatma"}})).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["id"], json!(a));
    // The day's list names the survivor for both visits.
    let today = call(&mut s, json!({"op": "today", "args": {}})).unwrap();
    let persons: std::collections::HashSet<String> = today["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["person_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        persons.contains(&a.to_string()) && !persons.contains(&b.to_string()),
        "{today}"
    );
    // A visit opened on the duplicate's id (a stale screen) is the survivor's.
    let saved = call_as(&mut s, &nurse, json!({"op": "save_visit", "args": {"person_id": b, "form": {"fasting": "", "weight_kg": "60"}}})).unwrap();
    let v: Uuid = serde_json::from_value(saved["visit_id"].clone()).unwrap();
    assert_eq!(s.visit(v).unwrap().person_id, a);
    // The pair is no longer suggested; a second merge of the duplicate is refused.
    let list = call(&mut s, json!({"op": "possible_duplicates", "args": {}})).unwrap();
    assert_eq!(list["total"], 0, "{list}");
    let err = call(
        &mut s,
        json!({"op": "merge_persons", "args": {"survivor": a, "duplicate": b, "reason": "x"}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "duplicate");
    // Merging the survivor into its own duplicate would make a loop: refused.
    let err = call(
        &mut s,
        json!({"op": "merge_persons", "args": {"survivor": b, "duplicate": a, "reason": "x"}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "duplicate");

    // Split again: each has its own history (the visit recorded since stays with the survivor).
    let split = call_as(
        &mut s,
        &sw,
        json!({"op": "unmerge_person", "args": {"duplicate": b, "reason": "две различни жени"}}),
    )
    .unwrap();
    assert_eq!(split["person"]["id"], json!(b));
    assert_eq!(split["visits"].as_array().unwrap().len(), 1);
    let r = call(&mut s, json!({"op": "person_record", "args": {"id": a}})).unwrap();
    assert_eq!(r["visits"].as_array().unwrap().len(), 2);
    assert_eq!(r["merged"], json!([]));
    let corrections = s.person(b).unwrap().corrections;
    assert_eq!(corrections.len(), 2, "merge and split are on the record");
    assert_eq!(corrections[1].reason, "две различни жени");

    // "Not the same person" is remembered: the pair is not suggested again.
    assert_eq!(
        call(&mut s, json!({"op": "possible_duplicates", "args": {}})).unwrap()["total"],
        1
    );
    call_as(
        &mut s,
        &sw,
        json!({"op": "not_same_person", "args": {"a": a, "b": b}}),
    )
    .unwrap();
    assert_eq!(
        call(&mut s, json!({"op": "possible_duplicates", "args": {}})).unwrap()["total"],
        0
    );
    assert!(matches!(
        call_as(
            &mut s,
            &admin,
            json!({"op": "not_same_person", "args": {"a": a, "b": b}})
        ),
        Err(ServiceError::Forbidden)
    ));
}

#[test]
fn two_records_with_different_egn_are_never_merged() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let first = register(&mut s, rositsa(), false).unwrap();
    let other_egn = kabinet_core::Egn::compose(
        chrono::NaiveDate::from_ymd_opt(1977, 6, 24).unwrap(),
        kabinet_core::Sex::F,
        7,
    )
    .unwrap();
    let second = register(
        &mut s,
        json!({"given_name": "Росица", "family_name": "Юсеинова", "egn": other_egn.as_str(), "consent_given": true}),
        true,
    )
    .unwrap();
    let err = call(
        &mut s,
        json!({"op": "merge_persons", "args": {"survivor": first["id"], "duplicate": second["id"], "reason": "същата"}}),
    )
    .unwrap_err();
    let body = err.body(Lang::Bg);
    assert_eq!(body.fields[0].field, "survivor");
    assert!(
        body.fields[0].message.contains("различни ЕГН"),
        "{}",
        body.fields[0].message
    );
    // Nor are they offered as a pair.
    assert_eq!(
        call(&mut s, json!({"op": "possible_duplicates", "args": {}})).unwrap()["total"],
        0
    );
}

/// A case from a referral: goals, tasks (mine and the team's, overdue first), notes by
/// discipline — the psychologist's read by the psychologist only, the lawyer's by the lawyer
/// only, the hub admin reads neither and writes nothing — consent to share a social worker's
/// notes with the mediator, and closure with a reason.
#[test]
fn a_case_keeps_each_disciplines_notes_to_itself_and_the_plan_to_the_team() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": person["id"], "form": {"fasting": "", "weight_kg": "60"},
               "referrals": [{"reason": "social", "destination": "hub-social-worker", "urgency": "routine"}]}}),
    )
    .unwrap();
    let referral = saved["referrals"][0]["id"].clone();
    let sw = as_user("gdimitrov", Role::SocialWorker);
    let psy = as_user("epetrova", Role::Psychologist);
    let lawyer = as_user("iivanov", Role::Lawyer);
    let mediator = as_user("ali", Role::EducationMediator);
    let admin = as_user("admin", Role::HubAdmin);

    let case = call_as(
        &mut s,
        &sw,
        json!({"op": "open_case", "args": {"person_id": person["id"], "referral_id": referral}}),
    )
    .unwrap();
    let case_id = case["id"].clone();
    assert_eq!(case["status"], "open");
    assert_eq!(case["lead"], "gdimitrov");
    assert_eq!(case["referrals"][0]["id"], referral);
    // Opening again answers the same case.
    let again = call_as(
        &mut s,
        &psy,
        json!({"op": "open_case", "args": {"person_id": person["id"]}}),
    )
    .unwrap();
    assert_eq!(again["id"], case_id);

    // A goal and tasks; a bad domain or date is named.
    let err = call_as(&mut s, &sw, json!({"op": "add_goal", "args": {"case_id": case_id, "goal": {"domain": "housing", "text": "x"}}})).unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "domain");
    assert!(
        err.body(Lang::Bg).fields[0]
            .message
            .contains("housing_documents")
    );
    call_as(&mut s, &sw, json!({"op": "add_goal", "args": {"case_id": case_id, "goal": {"domain": "housing_documents", "text": "лична карта", "target": "31.01.2027"}}})).unwrap();
    let err = call_as(&mut s, &sw, json!({"op": "add_task", "args": {"case_id": case_id, "task": {"title": "x", "role": "education_mediator", "due": "32.01.2027"}}})).unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "date");
    call_as(&mut s, &sw, json!({"op": "add_task", "args": {"case_id": case_id, "task": {"title": "придружаване до ДСП", "role": "education_mediator", "due": "2026-01-10"}}})).unwrap();
    call_as(&mut s, &sw, json!({"op": "add_task", "args": {"case_id": case_id, "task": {"title": "заявление за помощ", "user": "gdimitrov", "due": "2099-01-10"}}})).unwrap();
    let mine = call_as(&mut s, &mediator, json!({"op": "my_tasks", "args": {}})).unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["overdue"], true);
    let team = call_as(&mut s, &sw, json!({"op": "team_tasks", "args": {}})).unwrap();
    assert_eq!(team.as_array().unwrap().len(), 2);
    assert_eq!(team[0]["overdue"], true, "overdue first");
    let task_id = mine[0]["id"].clone();
    call_as(&mut s, &mediator, json!({"op": "update_task", "args": {"case_id": case_id, "task_id": task_id, "status": "done", "outcome": "подадено"}})).unwrap();
    assert_eq!(
        call_as(&mut s, &mediator, json!({"op": "my_tasks", "args": {}})).unwrap(),
        json!([])
    );

    // Notes: each discipline writes its own class; a lawyer cannot write a psychology note.
    call_as(&mut s, &psy, json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "psychology", "text": "тревожност, сесии всяка седмица"}})).unwrap();
    call_as(&mut s, &lawyer, json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "legal", "text": "дело за издръжка"}})).unwrap();
    call_as(&mut s, &sw, json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "social", "text": "без доходи"}})).unwrap();
    call_as(&mut s, &sw, json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "handover", "text": "седмична среща в сряда"}})).unwrap();
    assert!(matches!(
        call_as(
            &mut s,
            &lawyer,
            json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "psychology", "text": "x"}})
        ),
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        call_as(
            &mut s,
            &admin,
            json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "handover", "text": "x"}})
        ),
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        call_as(
            &mut s,
            &admin,
            json!({"op": "add_task", "args": {"case_id": case_id, "task": {"title": "x", "user": "admin"}}})
        ),
        Err(ServiceError::Forbidden)
    ));
    // The kinds of note each one sees, sorted.
    let kinds = |ctx: &Context, s: &mut Store| -> Vec<String> {
        let mut k: Vec<String> = call_as(s, ctx, json!({"op": "case", "args": {"id": case_id}}))
            .unwrap()["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds(&psy, &mut s), ["handover", "psychology"]);
    assert_eq!(kinds(&lawyer, &mut s), ["handover", "legal"]);
    assert_eq!(kinds(&sw, &mut s), ["handover", "social"]);
    assert_eq!(kinds(&mediator, &mut s), ["handover"]);
    assert_eq!(kinds(&admin, &mut s), ["handover"]);
    // The person agrees that the social worker's notes may go to the mediator.
    call_as(&mut s, &sw, json!({"op": "share_consent", "args": {"case_id": case_id, "kind": "social", "roles": ["education_mediator"]}})).unwrap();
    assert_eq!(kinds(&mediator, &mut s), ["handover", "social"]);
    assert_eq!(
        kinds(&lawyer, &mut s),
        ["handover", "legal"],
        "consent names the mediator only"
    );
    // Opening the page with a psychology note is on the audit log.
    let audited = s
        .audit_entries(0, 100_000)
        .unwrap()
        .iter()
        .filter(|e| {
            e.entry.action.as_str() == "view"
                && e.entry.class.starts_with("case/")
                && e.entry.class.contains("psychology")
        })
        .count();
    assert!(audited >= 1, "a view of a psychology note is audited");

    // The lead, the team and the household change; the case list filters by lead.
    let edited = call_as(
        &mut s,
        &sw,
        json!({"op": "edit_case", "args": {"case_id": case_id,
        "lead": "epetrova", "team": ["gdimitrov", "ali"], "household": "Юсеинови, ул. Мир 3"}}),
    )
    .unwrap();
    assert_eq!(edited["lead"], "epetrova");
    assert_eq!(edited["team"], json!(["epetrova", "gdimitrov", "ali"]));
    assert_eq!(edited["household"], "Юсеинови, ул. Мир 3");
    let err = call_as(
        &mut s,
        &sw,
        json!({"op": "edit_case", "args": {"case_id": case_id, "lead": " "}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "assignee");
    assert_eq!(
        call_as(
            &mut s,
            &sw,
            json!({"op": "cases", "args": {"lead": "epetrova"}})
        )
        .unwrap()
        .as_array()
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        call_as(
            &mut s,
            &sw,
            json!({"op": "cases", "args": {"lead": "gdimitrov"}})
        )
        .unwrap(),
        json!([])
    );

    // A referral from the case to the child protection department: a code, a slip, the loop.
    let referred = call_as(&mut s, &sw, json!({"op": "refer_from_case", "args": {"case_id": case_id,
        "referral": {"reason": "social", "destination": "child-protection", "urgency": "priority"}}})).unwrap();
    let to_ozd = referred["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["destination"] == "child-protection")
        .expect("the case lists its new referral")
        .clone();
    let id: Uuid = serde_json::from_value(to_ozd["id"].clone()).unwrap();
    let pdf = referrals::slips_pdf(&mut s, &sw, &[id], "A5", None).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let found = call_as(
        &mut s,
        &sw,
        json!({"op": "referral_by_code", "args": {"code": to_ozd["code"]}}),
    )
    .unwrap();
    assert_eq!(found["id"], to_ozd["id"]);
    // A destination that is not one is named.
    let err = call_as(
        &mut s,
        &sw,
        json!({"op": "refer_from_case", "args": {"case_id": case_id,
        "referral": {"reason": "social", "destination": "kindergarten", "urgency": "routine"}}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "referral.destination");
    // A case conference with the school and a decision that becomes a task.
    let conf = call_as(&mut s, &sw, json!({"op": "add_conference", "args": {"case_id": case_id, "conference": {
        "on": "01.12.2026", "attendees": ["gdimitrov", "epetrova"], "institutions": ["ОУ „Христо Ботев“"],
        "decisions": "записване в училище", "tasks": [{"title": "документи за училището", "role": "education_mediator"}]}}})).unwrap();
    assert_eq!(
        conf["conferences"][0]["institutions"][0],
        "ОУ „Христо Ботев“"
    );
    assert!(
        conf["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["title"] == "документи за училището")
    );

    // Closed with a reason (required, from the list); the case list filters by status.
    let err = call_as(
        &mut s,
        &sw,
        json!({"op": "set_case_status", "args": {"case_id": case_id, "status": "closed"}}),
    )
    .unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "closure_reason");
    let closed = call_as(&mut s, &sw, json!({"op": "set_case_status", "args": {"case_id": case_id, "status": "closed", "reason": "goals_met", "note": "има лична карта"}})).unwrap();
    assert!(
        closed["closure"]
            .as_str()
            .unwrap()
            .contains("целите са постигнати")
    );
    assert_eq!(
        call_as(
            &mut s,
            &sw,
            json!({"op": "cases", "args": {"status": "open"}})
        )
        .unwrap(),
        json!([])
    );
    assert_eq!(
        call_as(
            &mut s,
            &sw,
            json!({"op": "cases", "args": {"status": "closed"}})
        )
        .unwrap()
        .as_array()
        .unwrap()
        .len(),
        1
    );
    // A closed case's tasks are nobody's work.
    assert_eq!(
        call_as(&mut s, &sw, json!({"op": "team_tasks", "args": {}})).unwrap(),
        json!([])
    );
}

/// Found in review: a follow-up task from an HIV referral must not name the HIV lab in the
/// general case; settling a field of a results document the caller may not read is answered as
/// if there were none, before anything else is checked; a consent never lets a role write
/// another discipline's notes; a chain of merges never joins two ЕГН.
#[test]
fn review_fixes_keep_sensitive_facts_out_of_general_places() {
    use kabinet_core::Role;
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(&dir);
    let person = register(&mut s, rositsa(), false).unwrap();
    let pid: Uuid = serde_json::from_value(person["id"].clone()).unwrap();
    let saved = call(
        &mut s,
        json!({"op": "save_visit", "args": {"person_id": pid, "form": full_form()}}),
    )
    .unwrap();
    let visit: Uuid = serde_json::from_value(saved["visit_id"].clone()).unwrap();
    let to_lab = Referral {
        id: Uuid::now_v7(),
        code: kabinet_core::ReferralCode::new(4, 900),
        person_id: pid,
        visit_id: visit,
        reason: ReferralReason::parse("screening:hiv").unwrap(),
        destination: Destination::parse("hiv-confirmatory").unwrap(),
        urgency: Urgency::Priority,
        finding: None,
        history: vec![StatusChange {
            status: ReferralStatus::Issued,
            at: Utc::now(),
            by: "t".into(),
            note: None,
        }],
    };
    s.write(Origin::Local, |w| w.put_referral(&to_lab)).unwrap();
    let nurse = as_user("mpetrova", Role::Nurse);
    let case = call_as(
        &mut s,
        &nurse,
        json!({"op": "task_from_referral", "args": {"referral_id": to_lab.id}}),
    )
    .unwrap();
    let title = case["tasks"][0]["title"].as_str().unwrap();
    assert!(title.contains(&to_lab.code.to_string()), "{title}");
    assert!(!title.contains("КАБКИС"), "{title}");
    let stored = serde_json::to_string(
        &s.case(serde_json::from_value(case["id"].clone()).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        !stored.contains("КАБКИС") && !stored.contains("hiv"),
        "{stored}"
    );

    // The HIV results document of the visit: the admin and the social worker get "not found",
    // even with a wrong person id, exactly as for a document that does not exist.
    let hiv_doc = kabinet_store::results_doc_id(visit, kabinet_core::AccessClass::Hiv);
    let stranger = Uuid::now_v7();
    let sw_ctx = as_user("gdimitrov", Role::SocialWorker);
    let err = call_as(&mut s, &sw_ctx, json!({"op": "settle_conflict", "args": {"person_id": stranger, "doc_id": hiv_doc, "field": "screenings.hiv.result", "choice": 0}})).unwrap_err();
    assert!(matches!(err, ServiceError::Hidden { .. }), "{err:?}");
    assert_eq!(err.body(Lang::Bg).kind, ErrorKind::NotFound);
    let admin = as_user("admin", Role::HubAdmin);
    assert!(matches!(
        call_as(
            &mut s,
            &admin,
            json!({"op": "settle_conflict", "args": {"person_id": stranger, "doc_id": hiv_doc, "field": "x", "choice": 0}})
        ),
        Err(ServiceError::Forbidden)
    ));

    // A consent to share social notes with the mediator lets her read them, not write them;
    // only the social worker (or the lead) records it, and never for the administrators.
    let sw = as_user("gdimitrov", Role::SocialWorker);
    let mediator = as_user("ali", Role::EducationMediator);
    let case_id = case["id"].clone();
    assert!(matches!(
        call_as(
            &mut s,
            &mediator,
            json!({"op": "share_consent", "args": {"case_id": case_id, "kind": "social", "roles": ["education_mediator"]}})
        ),
        Err(ServiceError::Forbidden)
    ));
    let err = call_as(&mut s, &sw, json!({"op": "share_consent", "args": {"case_id": case_id, "kind": "social", "roles": ["hub_admin"]}})).unwrap_err();
    assert_eq!(err.body(Lang::Bg).fields[0].field, "assignee");
    call_as(&mut s, &sw, json!({"op": "share_consent", "args": {"case_id": case_id, "kind": "social", "roles": ["education_mediator"]}})).unwrap();
    assert!(matches!(
        call_as(
            &mut s,
            &mediator,
            json!({"op": "add_case_note", "args": {"case_id": case_id, "kind": "social", "text": "x"}})
        ),
        Err(ServiceError::Forbidden)
    ));

    // C (ЕГН 2) merged into B (no ЕГН), then B into A (ЕГН 1): refused, the chain counts.
    let other_egn = kabinet_core::Egn::compose(
        chrono::NaiveDate::from_ymd_opt(1977, 6, 24).unwrap(),
        kabinet_core::Sex::F,
        7,
    )
    .unwrap();
    let c = register(&mut s, json!({"given_name": "Росица", "family_name": "Юсеинова", "egn": other_egn.as_str(), "consent_given": true}), true).unwrap();
    let b = register(&mut s, json!({"given_name": "Росица", "family_name": "Юсеинова", "sex": "F", "birth_year": 1977, "no_documents": true, "consent_given": true}), true).unwrap();
    call(&mut s, json!({"op": "merge_persons", "args": {"survivor": b["id"], "duplicate": c["id"], "reason": "същата"}})).unwrap();
    let err = call(&mut s, json!({"op": "merge_persons", "args": {"survivor": pid, "duplicate": b["id"], "reason": "същата"}})).unwrap_err();
    assert!(
        err.body(Lang::Bg).fields[0]
            .message
            .contains("различни ЕГН"),
        "{:?}",
        err.body(Lang::Bg)
    );
}
