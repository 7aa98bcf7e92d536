//! Programme reports at the hub (issue #19): `kabinet-hub report` in JSON, CSV and PDF, its
//! refusals of bad input, the web API's report for each role, and what a role that reads no
//! record (the programme manager) cannot reach. On the hub's own backend (SQLite, or
//! PostgreSQL under `KABINET_TEST_HUB=postgres`).

use chrono::{DateTime, Utc};
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_store::{Origin, Store};
use kabinet_tests::calls::{staff_post, sync};
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::{Value, json};
use std::path::Path;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Six people of Мошино and one of Изток, each tested for HIV in March 2026 in cabinet-1;
/// two of Мошино reactive. Seven people, seven visits, one outreach day.
fn record_march(van: &mut Store) {
    van.write(Origin::Local, |w| {
        for i in 0..7 {
            let neighbourhood = if i < 6 { "Мошино" } else { "Изток" };
            let person = testing::register(PersonDraft {
                given_name: "Асен".into(),
                family_name: format!("Асенов{}", "ов".repeat(i)),
                sex: Some("M".into()),
                birth_year: Some(1970 + i as i32),
                neighbourhood: Some(neighbourhood.into()),
                consent_given: true,
                no_documents: true,
                ..Default::default()
            });
            let result = if i < 2 {
                RapidResult::Reactive
            } else {
                RapidResult::NonReactive
            };
            let visit = testing::visit(
                person.id,
                at("2026-03-10T09:00:00Z"),
                Screenings {
                    hiv: Some(testing::hiv(result)),
                    ..Default::default()
                },
            );
            w.put_person(&person)?;
            w.put_visit(&visit)?;
        }
        Ok(())
    })
    .unwrap();
}

fn setup(dir: &Path) -> HubProcess {
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.join("hub"));
    let mut van = enrolled_device(dir, "van", &hub, "cabinet-1");
    record_march(&mut van);
    sync(&mut van);
    hub
}

fn value<'a>(report: &'a Value, indicator: &str, breakdown: &str, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicator"] == indicator && r["breakdown"] == breakdown && r["key"] == key)
        .map(|r| &r["text"])
        .unwrap_or(&Value::Null)
}

#[test]
fn the_hub_writes_the_report_as_json_csv_and_pdf_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let hub = setup(dir.path());
    let out = dir.path().join("q1.json");
    let period = ["--from", "2026-01-01", "--to", "2026-03-31"];
    hub.admin(&[&["report"], &period[..], &["-o", out.to_str().unwrap()]].concat());
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(value(&report, "reach.persons", "programme", "all"), "7");
    assert_eq!(
        value(&report, "reach.no_documents", "programme", "all"),
        "7"
    );
    assert_eq!(
        value(&report, "reach.outreach_days", "programme", "all"),
        "1"
    );
    assert_eq!(value(&report, "screened.hiv", "programme", "all"), "7");
    assert_eq!(value(&report, "abnormal.hiv", "programme", "all"), "2");
    assert_eq!(value(&report, "yield.hiv", "programme", "all"), "28.6%");
    // Below the whole programme: the one of Изток is "<5", and the six of Мошино are
    // withheld beside it (7 − 6 would tell it); two reactive of Мошино are "<5", and so is
    // their share.
    assert_eq!(
        value(&report, "screened.hiv", "neighbourhood", "Мошино"),
        "x"
    );
    assert_eq!(
        value(&report, "screened.hiv", "neighbourhood", "Изток"),
        "<5"
    );
    assert_eq!(
        value(&report, "abnormal.hiv", "neighbourhood", "Мошино"),
        "<5"
    );
    assert_eq!(value(&report, "yield.hiv", "cabinet", "cabinet-1"), "<5");
    // General indicators are not suppressed.
    assert_eq!(
        value(&report, "reach.persons", "neighbourhood", "Изток"),
        "1"
    );

    // CSV: one row per number, parsed back.
    let csv_path = dir.path().join("q1.csv");
    hub.admin(
        &[
            &["report"],
            &period[..],
            &["--format", "csv", "-o", csv_path.to_str().unwrap()],
        ]
        .concat(),
    );
    let mut rows = csv::Reader::from_path(&csv_path).unwrap();
    let headers = rows.headers().unwrap().clone();
    assert_eq!(&headers[0], "indicator");
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), report["rows"].as_array().unwrap().len());
    let in_iztok = records
        .iter()
        .find(|r| &r[0] == "screened.hiv" && &r[2] == "neighbourhood" && &r[3] == "Изток")
        .unwrap();
    assert_eq!(&in_iztok[4], "<5");
    assert_eq!(
        &in_iztok[1],
        "Изследвани за ХИВ (със съгласие и консултиране)"
    );

    // PDF: one page whose text says what the JSON says.
    let pdf = dir.path().join("q1.pdf");
    hub.admin(
        &[
            &["report"],
            &period[..],
            &["--format", "pdf", "-o", pdf.to_str().unwrap()],
        ]
        .concat(),
    );
    let text = std::process::Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Отчет на програмата"), "{text}");
    assert!(text.contains("Достигнати лица"), "{text}");
    assert!(text.contains("28.6%"), "{text}");

    // Bad input: the flag at fault is named, and no file is written.
    let reversed = dir.path().join("reversed.json");
    let refused = hub.admin_output(&[
        "report",
        "--from",
        "2026-03-31",
        "--to",
        "2026-01-01",
        "-o",
        reversed.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("--from"), "{message}");
    assert!(message.contains("разменете"), "{message}");
    assert!(!reversed.exists());
    let refused = hub.admin_output(&[
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
        "--cabinet",
        "cabinet-99",
    ]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("--cabinet") && message.contains("cabinet-1"),
        "{message}"
    );
    let refused = hub.admin_output(&["report", "--from", "1 март", "--to", "2026-03-31"]);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("--from") && message.contains("1 март"),
        "{message}"
    );

    // Each report made is on the hub's audit log.
    let log = hub.admin(&["audit", "--action", "report"]);
    assert!(log.contains("2026-01-01..2026-03-31"), "{log}");
}

/// The report as DHIS2 dataValueSets with the example mapping of docs/: each mapped number
/// where the mapping sends it; a period DHIS2 has no name for and a mapping with a mistake
/// refused before anything is written.
#[test]
fn the_hub_sends_the_report_to_dhis2_as_the_mapping_says() {
    let dir = tempfile::tempdir().unwrap();
    let hub = setup(dir.path());
    let mapping = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/dhis2-mapping.example.toml"
    );
    let out = dir.path().join("q1-dhis2.json");
    let args = |from: &str, to: &str, mapping: &str, out: &Path| -> Vec<String> {
        [
            "report",
            "--from",
            from,
            "--to",
            to,
            "--format",
            "dhis2",
            "--mapping",
            mapping,
            "-o",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.to_str().unwrap().to_string()])
        .collect()
    };
    let run = |a: Vec<String>| hub.admin_output(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let made = run(args("2026-01-01", "2026-03-31", mapping, &out));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let set: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(set["period"], "2026Q1");
    assert_eq!(set["orgUnit"], "KbPernikHub");
    assert_eq!(set["dataSet"], "KbMonthly01");
    let values = set["dataValues"].as_array().unwrap();
    let find = |de: &str, coc: Option<&str>| {
        values
            .iter()
            .find(|v| v["dataElement"] == de && v["categoryOptionCombo"].as_str() == coc)
            .unwrap_or_else(|| panic!("{de} {coc:?} in {values:?}"))
    };
    assert_eq!(find("KbReachPers", None)["value"], "7");
    assert_eq!(find("KbHivTested", None)["value"], "7");
    assert_eq!(find("KbHivReactv", None)["value"], "2");
    assert_eq!(find("KbReachSex0", Some("KbCocMale00"))["value"], "7");
    // Born 1970–1976: two of 55 and over, five of 30–54 in 2026.
    assert_eq!(find("KbReachAge0", Some("KbCocAge55x"))["value"], "2");
    assert_eq!(find("KbReachAge0", Some("KbCocAge30x"))["value"], "5");
    // By cabinet: under the cabinet's own unit.
    let by_cabinet = find("KbHivTestCb", None);
    assert_eq!(by_cabinet["orgUnit"], "KbCabinet01");
    assert_eq!(by_cabinet["value"], "7");
    // By month: March's visits under March.
    let march = find("KbVisits000", None);
    assert_eq!(
        (&march["period"], &march["value"]),
        (&json!("202603"), &json!("7"))
    );
    for v in values {
        assert!(v["value"].as_str().unwrap().parse::<f64>().is_ok(), "{v}");
    }

    // Not a month, quarter or year: refused, nothing written.
    let odd = dir.path().join("odd.json");
    let refused = run(args("2026-01-01", "2026-03-30", mapping, &odd));
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("DHIS2") && message.contains("--to 2026-03-30"),
        "{message}"
    );
    assert!(!odd.exists());
    // A mapping with mistakes: each named by its entry and field.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "org_unit = \"KbPernikHub\"\n[[value]]\nindicator = \"reach.people\"\ndata_element = \"KbReachPers\"\n[[value]]\nindicator = \"yield.hiv\"\ndata_element = \"x\"\npart = \"numerator\"\n",
    )
    .unwrap();
    let refused = run(args(
        "2026-01-01",
        "2026-03-31",
        bad.to_str().unwrap(),
        &odd,
    ));
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("value #1: indicator"), "{message}");
    assert!(
        message.contains("value #2 (yield.hiv): data_element"),
        "{message}"
    );
    assert!(!odd.exists());
    // Made reports are audited as such.
    let log = hub.admin(&["audit", "--action", "report"]);
    assert!(log.contains("report/dhis2"), "{log}");
}

/// Who reads the report at the web API, and what a role that reads no record cannot reach.
#[test]
fn the_programme_manager_reads_aggregates_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let hub = setup(dir.path());
    hub.add_user(
        "pm",
        "Петя Манова",
        "programme_manager",
        "manager staple battery",
    );
    hub.add_user("admin", "Анна Костова", "hub_admin", "admin staple battery");
    hub.add_user(
        "sw",
        "Георги Димитров",
        "social_worker",
        "social staple battery",
    );
    hub.add_user(
        "psy",
        "Пламен Стоянов",
        "psychologist",
        "psycho staple battery",
    );
    let pm = hub.staff_session("pm", "manager staple battery");
    let report_call = json!({"op": "report", "args": {"from": "2026-03-01", "to": "2026-03-31"}});

    let report: Value = staff_post(&hub, &pm, report_call.clone()).json().unwrap();
    assert_eq!(value(&report, "screened.hiv", "programme", "all"), "7");
    assert_eq!(
        value(&report, "screened.hiv", "neighbourhood", "Изток"),
        "<5"
    );

    // No person-level read of any kind: every other operation is refused.
    let person_id = hub.with_sql(|sql| {
        use kabinet_store::sql::SqlExt;
        sql.one("SELECT person_id FROM person_index LIMIT 1", &[], |r| {
            r.get::<uuid::Uuid>(0)
        })
    });
    for call in [
        json!({"op": "search", "args": {"query": "Асен"}}),
        json!({"op": "person_record", "args": {"id": person_id}}),
        json!({"op": "today", "args": {}}),
        json!({"op": "follow_up", "args": {}}),
        json!({"op": "cases", "args": {}}),
        json!({"op": "possible_duplicates", "args": {}}),
        json!({"op": "to_review", "args": {}}),
        json!({"op": "my_tasks", "args": {}}),
    ] {
        let answer = staff_post(&hub, &pm, call.clone());
        assert_eq!(answer.status(), 403, "{call}");
    }
    let slips = reqwest::blocking::Client::new()
        .get(format!("{}/api/slips?ids={person_id}", hub.url()))
        .bearer_auth(&pm)
        .send()
        .unwrap();
    // Not a referral's id: not found (not "it is something else", not a server error).
    assert_eq!(slips.status(), 404);
    // Nor the audit log (it names records), nor the users.
    for path in ["/api/admin/audit", "/api/admin/users"] {
        let answer = reqwest::blocking::Client::new()
            .get(format!("{}{path}", hub.url()))
            .bearer_auth(&pm)
            .send()
            .unwrap();
        assert_eq!(answer.status(), 403, "{path}");
    }

    // The CSV download is the same report.
    let csv = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/report?from=2026-03-01&to=2026-03-31&format=csv",
            hub.url()
        ))
        .bearer_auth(&pm)
        .send()
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("kabinet-report-2026-03-01-2026-03-31.csv")
    );
    assert!(csv.text().unwrap().contains("screened.hiv,"));

    // The hub admin's report has no HIV, hepatitis or TB number at all.
    let admin = hub.staff_session("admin", "admin staple battery");
    let report: Value = staff_post(&hub, &admin, report_call.clone())
        .json()
        .unwrap();
    assert_eq!(value(&report, "reach.persons", "programme", "all"), "7");
    let rows = report["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| {
            let id = r["indicator"].as_str().unwrap();
            !id.contains("hiv")
                && !id.contains("hbsag")
                && !id.contains("hcv")
                && !id.contains(".tb")
        }),
        "{report}"
    );
    let pdf = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/report?from=2026-03-01&to=2026-03-31&format=pdf",
            hub.url()
        ))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let path = dir.path().join("admin.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Достигнати лица") && !text.contains("ХИВ"),
        "{text}"
    );

    // Roles that read no report are refused it, in every format.
    for (name, password) in [
        ("sw", "social staple battery"),
        ("psy", "psycho staple battery"),
    ] {
        let token = hub.staff_session(name, password);
        assert_eq!(
            staff_post(&hub, &token, report_call.clone()).status(),
            403,
            "{name}"
        );
        let file = reqwest::blocking::Client::new()
            .get(format!(
                "{}/api/report?from=2026-03-01&to=2026-03-31&format=csv",
                hub.url()
            ))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(file.status(), 403, "{name}");
    }
    // And nobody signed out gets one.
    let anonymous = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/report?from=2026-03-01&to=2026-03-31&format=csv",
            hub.url()
        ))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // A programme manager belongs to no cabinet and has no device.
    let out = hub.admin_output(&[
        "enroll",
        "--cabinet",
        "cabinet-1",
        "--role",
        "programme_manager",
    ]);
    assert!(!out.status.success());
    let out = hub.admin_command(
        &[
            "users",
            "add",
            "pm2",
            "--display-name",
            "Пенка Манова",
            "--role",
            "programme_manager",
            "--cabinet",
            "cabinet-1",
        ],
        "manager staple battery",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cabinet"));
}
