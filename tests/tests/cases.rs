//! Case management across a real hub process: hub staff open a case and plan tasks; a
//! psychologist's note written at the hub never reaches the education mediator's tablet,
//! which holds the case, the handover and its tasks; the mediator works on a task offline
//! while the hub edits the same case; both converge to the same case, edits of different
//! fields kept, the same field one value everywhere.

use kabinet_store::sql::SqlExt;
use kabinet_tests::calls::{call_as, staff_call, staff_post, sync};
use kabinet_tests::hub::{HubProcess, device_sql, enrolled_device, enrolled_device_with_roles};
use serde_json::{Value, json};
use std::path::Path;
use uuid::Uuid;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

#[test]
fn a_case_reaches_the_mediator_without_the_psychologists_note_and_task_edits_converge() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.path().join("hub"));
    let mut van = enrolled_device(dir.path(), "tablet", &hub, "cabinet-1");
    let mut mediator = enrolled_device_with_roles(
        dir.path(),
        "mediator",
        &hub,
        "hub-mediators",
        &["education_mediator"],
    );
    hub.add_user(
        "gdimitrov",
        "Георги Димитров",
        "social_worker",
        "social work 2026",
    );
    hub.add_user(
        "epetrova",
        "Елена Петрова",
        "psychologist",
        "psychology 2026",
    );
    hub.add_user(
        "akostova",
        "Анна Костова",
        "hub_admin",
        "admin staple battery",
    );
    let sw = hub.staff_session("gdimitrov", "social work 2026");
    let psy = hub.staff_session("epetrova", "psychology 2026");
    let admin = hub.staff_session("akostova", "admin staple battery");

    let registered = call_as(
        &mut van,
        "Мария Петрова",
        json!({"op": "register_person", "args": {"draft": {
            "given_name": "Асен", "family_name": "Асенов", "sex": "M", "birth_year": 1990,
            "no_documents": true, "consent_given": true}}}),
    );
    let person = registered["id"].clone();
    sync(&mut van);

    // At the hub: the case, a task for the mediators, the psychologist's note, a handover.
    let case = staff_call(
        &hub,
        &sw,
        json!({"op": "open_case", "args": {"person_id": person}}),
    );
    let case_id = case["id"].clone();
    let planned = staff_call(
        &hub,
        &sw,
        json!({"op": "add_task", "args": {"case_id": case_id,
        "task": {"title": "придружаване до бюро труда", "role": "education_mediator", "due": "2099-01-10"}}}),
    );
    let task_id = planned["tasks"][0]["id"].clone();
    staff_call(
        &hub,
        &psy,
        json!({"op": "add_case_note", "args": {"case_id": case_id,
        "kind": "psychology", "text": "депресивни епизоди"}}),
    );
    staff_call(
        &hub,
        &sw,
        json!({"op": "add_case_note", "args": {"case_id": case_id,
        "kind": "handover", "text": "среща всеки вторник"}}),
    );
    // The hub admin may read the case but add nothing to it.
    let refused = staff_post(
        &hub,
        &admin,
        json!({"op": "add_task", "args": {"case_id": case_id,
        "task": {"title": "x", "role": "education_mediator"}}}),
    );
    assert_eq!(refused.status(), 403);
    let admins = staff_call(&hub, &admin, json!({"op": "case", "args": {"id": case_id}}));
    assert!(!admins.to_string().contains("депресивни"), "{admins}");
    // A lawyer may not write a psychology note: refused, and the refusal is on the audit log.
    hub.add_user("iivanov", "Иван Иванов", "lawyer", "legal work 2026");
    let lawyer = hub.staff_session("iivanov", "legal work 2026");
    let refused = staff_post(
        &hub,
        &lawyer,
        json!({"op": "add_case_note", "args": {"case_id": case_id,
        "kind": "psychology", "text": "x"}}),
    );
    assert_eq!(refused.status(), 403);
    let log = hub.admin(&["audit", "--action", "refused"]);
    assert!(log.contains("hub:Иван Иванов"), "{log}");
    // The psychologist's view of the page is on the audit log; the hub admin's audit view
    // leaves out lines about psychology notes (they would tell who sees a psychologist), the
    // privacy officer's keeps them.
    staff_call(&hub, &psy, json!({"op": "case", "args": {"id": case_id}}));
    hub.add_user(
        "dpo",
        "Десислава Попова",
        "privacy_officer",
        "privacy staple battery",
    );
    let dpo = hub.staff_session("dpo", "privacy staple battery");
    let audit_lines = |token: &str| -> Vec<Value> {
        reqwest::blocking::Client::new()
            .get(format!("{}/api/admin/audit", hub.url()))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let about_psychology = |l: &Value| {
        l["class"]
            .as_str()
            .unwrap_or_default()
            .contains("psychology")
    };
    assert!(
        audit_lines(&dpo).iter().any(about_psychology),
        "the privacy officer sees the view"
    );
    assert!(
        !audit_lines(&admin).iter().any(about_psychology),
        "the admin does not"
    );
    let lawyers = staff_call(
        &hub,
        &lawyer,
        json!({"op": "case", "args": {"id": case_id}}),
    );
    assert!(!lawyers.to_string().contains("депресивни"), "{lawyers}");

    // The command line lists the case and shows it; the psychology note only on request.
    let listed: Value =
        serde_json::from_str(&hub.admin(&["cases", "list", "--status", "open", "--json"])).unwrap();
    assert_eq!(listed[0]["id"], case_id);
    assert_eq!(listed[0]["person_name"], "Асен Асенов");
    let wrong = hub.admin_output(&["cases", "list", "--status", "opened"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("on_hold"));
    let shown = hub.admin(&["cases", "show", case_id.as_str().unwrap()]);
    assert!(
        shown.contains("придружаване до бюро труда") && shown.contains("среща всеки вторник"),
        "{shown}"
    );
    assert!(!shown.contains("депресивни"), "{shown}");
    let all = hub.admin(&["cases", "show", case_id.as_str().unwrap(), "--all-notes"]);
    assert!(all.contains("депресивни"), "{all}");

    // The mediator's tablet: the case, its task, the handover; the psychology note is not
    // on the device at all.
    sync(&mut mediator);
    let page = call_as(
        &mut mediator,
        "ali",
        json!({"op": "case", "args": {"id": case_id}}),
    );
    assert_eq!(page["tasks"][0]["title"], "придружаване до бюро труда");
    let notes: Vec<&str> = page["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["handover"]);
    let held: i64 = device_sql(&mediator)
        .query_row(
            "SELECT count(*) FROM documents WHERE kind = 7 AND access_class != 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        held, 0,
        "no note of a sensitive class on the mediator's tablet"
    );
    let on_hub: i64 = hub.with_sql(|sql| {
        sql.one("SELECT count(*) FROM documents WHERE kind = 7", &[], |r| {
            r.get(0)
        })
    });
    assert_eq!(on_hub, 2);

    // Apart: the mediator marks the task done with an outcome, offline; at the hub the social
    // worker adds a second task and cancels the first (the same field, another value).
    call_as(
        &mut mediator,
        "ali",
        json!({"op": "update_task", "args": {"case_id": case_id,
        "task_id": task_id, "status": "done", "outcome": "регистриран в бюрото"}}),
    );
    staff_call(
        &hub,
        &sw,
        json!({"op": "add_task", "args": {"case_id": case_id,
        "task": {"title": "заявление за социална помощ", "user": "gdimitrov"}}}),
    );
    staff_call(
        &hub,
        &sw,
        json!({"op": "update_task", "args": {"case_id": case_id,
        "task_id": task_id, "status": "cancelled"}}),
    );
    sync(&mut mediator);
    sync(&mut mediator);

    let id: Uuid = serde_json::from_value(case_id.clone()).unwrap();
    let on_tablet = serde_json::to_value(mediator.case(id).unwrap()).unwrap();
    let at_hub = serde_json::to_value(hub.storage().read(|s| s.case(id)).unwrap()).unwrap();
    assert_eq!(
        on_tablet, at_hub,
        "the same case on the tablet and at the hub"
    );
    let tasks = at_hub["tasks"].as_object().unwrap();
    assert_eq!(tasks.len(), 2, "both tasks");
    let first = &at_hub["tasks"][task_id.as_str().unwrap()];
    assert_eq!(
        first["outcome"], "регистриран в бюрото",
        "the mediator's outcome kept"
    );
    assert!(
        ["done", "cancelled"].contains(&first["status"].as_str().unwrap()),
        "{first}"
    );
    // The status changed apart is listed as such on both copies.
    let conflicts =
        |paths: Vec<String>| paths.into_iter().filter(|p| p.ends_with(".status")).count();
    assert_eq!(conflicts(mediator.conflicts(id).unwrap()), 1);
    assert_eq!(
        conflicts(hub.storage().read(|s| s.conflicts(id)).unwrap()),
        1
    );
    // The mediator's worklist holds no task of hers now (done or cancelled either way).
    let mine: Value = call_as(&mut mediator, "ali", json!({"op": "my_tasks", "args": {}}));
    assert_eq!(mine, json!([]));
}
