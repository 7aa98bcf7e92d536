use crate::map::{Exporter, observation_id};
use crate::model::Resource;
use crate::{BundleWriter, bundle, systems};
use chrono::{TimeZone, Utc};
use kabinet_core::person::BirthDate;
use kabinet_core::referral::{Destination, Institution, ReferralCode, ReferralReason};
use kabinet_core::screening::{Body, HepatitisTest, RapidResult, Screenings};
use kabinet_core::testing::{glucose, man_without_documents, referral, visit, visit_with_hiv};
use kabinet_core::{AccessClass, Lang, ScreeningKind, Sex};
use serde_json::{Value, json};

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 15, 0).unwrap()
}

fn everything() -> Exporter {
    Exporter::new(Lang::Bg, AccessClass::ALL.iter().copied())
}

fn as_json(r: &Resource) -> Value {
    serde_json::to_value(r).unwrap()
}

#[test]
fn a_person_without_documents_leaves_with_a_birth_year_only_and_both_scripts() {
    let mut p = man_without_documents("Асен", "Асенов", 1984);
    // Even a full date the team wrote down: without documents, only the year goes out.
    p.birth_date = BirthDate::Exact(chrono::NaiveDate::from_ymd_opt(1984, 5, 17).unwrap());
    let patient = as_json(&everything().person(&p)[0]);
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], p.id.to_string());
    assert_eq!(patient["birthDate"], "1984");
    assert_eq!(patient["gender"], "male");
    assert_eq!(patient["name"][0]["family"], "Асенов");
    assert_eq!(patient["name"][1]["family"], "Asenov");
    assert_eq!(patient["name"][1]["given"], json!(["Asen"]));
    // Only Kabinet's own id: no national number was shown.
    assert_eq!(patient["identifier"].as_array().unwrap().len(), 1);

    p.documents = kabinet_core::person::Documents::Presented;
    p.egn = Some(kabinet_core::Egn::parse("8405170000").unwrap_or_else(|_| {
        // Any valid ЕГН of a man born 17.05.1984 will do: find one.
        (0..10)
            .find_map(|c| kabinet_core::Egn::parse(&format!("840517000{c}")).ok())
            .unwrap()
    }));
    let patient = as_json(&everything().person(&p)[0]);
    assert_eq!(patient["birthDate"], "1984-05-17");
    let egn = &patient["identifier"][1];
    assert_eq!(egn["system"], systems::EGN);
    assert_eq!(egn["value"], p.egn.as_ref().unwrap().as_str());
    assert_eq!(egn["type"]["coding"][0]["code"], "NI");
    let _ = Sex::F;
}

#[test]
fn hiv_results_go_only_to_an_exporter_who_reads_them_and_carry_hls_label() {
    let p = man_without_documents("Асен", "Асенов", 1984);
    let v = visit_with_hiv(p.id, RapidResult::Reactive);
    let general = Exporter::new(Lang::Bg, [AccessClass::General]);
    let written: Vec<Value> = general.visit(&v).iter().map(as_json).collect();
    let text = serde_json::to_string(&written).unwrap();
    assert!(
        !text.contains("80387-4"),
        "an HIV code for a general-only exporter"
    );
    assert!(
        !text.contains("11214006"),
        "a reactive answer for a general-only exporter"
    );
    // The blood pressure and pulse of the same visit do go.
    assert!(text.contains("85354-9") && text.contains("8867-4"));

    let all: Vec<Value> = everything().visit(&v).iter().map(as_json).collect();
    let hiv = all
        .iter()
        .find(|o| o["code"]["coding"][0]["code"] == "80387-4")
        .expect("the HIV observation");
    assert_eq!(
        hiv["id"],
        observation_id(v.id, ScreeningKind::Hiv).to_string()
    );
    assert_eq!(hiv["valueCodeableConcept"]["coding"][0]["code"], "11214006");
    assert_eq!(
        hiv["valueCodeableConcept"]["coding"][0]["system"],
        "http://snomed.info/sct"
    );
    let labels: Vec<&str> = hiv["meta"]["security"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["R", "HIV"]);
    assert_eq!(hiv["encounter"]["reference"], format!("Encounter/{}", v.id));
    assert_eq!(hiv["subject"]["reference"], format!("Patient/{}", p.id));
}

#[test]
fn quantities_are_in_the_ucum_unit_of_their_code() {
    let p = man_without_documents("Асен", "Асенов", 1984);
    let mut v = visit(
        p.id,
        at(),
        Screenings {
            glucose: Some(glucose(7.26)),
            body: Some(Body {
                weight_kg: Some(81.0),
                height_cm: Some(180.0),
            }),
            hepatitis_c: Some(HepatitisTest::of(RapidResult::NonReactive)),
            ..Default::default()
        },
    );
    v.place = Some("Изток".into());
    let out: Vec<Value> = everything().visit(&v).iter().map(as_json).collect();
    let by_code = |code: &str| {
        out.iter()
            .find(|o| o["code"]["coding"][0]["code"] == code)
            .unwrap_or_else(|| panic!("no observation {code}"))
    };
    let glucose = by_code("14770-2");
    assert_eq!(
        glucose["valueQuantity"],
        json!({"value": 7.3, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"})
    );
    assert_eq!(by_code("39156-5")["valueQuantity"]["value"], json!(25.0));
    assert_eq!(by_code("39156-5")["valueQuantity"]["code"], "kg/m2");
    assert_eq!(by_code("8302-2")["valueQuantity"]["code"], "cm");
    // anti-HCV has no confirmed code: text, and no code invented for it.
    let hcv = out
        .iter()
        .find(|o| {
            o["code"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Hepatitis C"))
        })
        .unwrap();
    assert!(hcv["code"].get("coding").is_none());
    assert_eq!(
        hcv["valueCodeableConcept"]["coding"][0]["code"],
        "131194007"
    );
    // The three body measures have three ids, the first the screening's own.
    let ids: std::collections::BTreeSet<&str> =
        out.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), out.len());
    assert!(
        ids.contains(
            observation_id(v.id, ScreeningKind::Body)
                .to_string()
                .as_str()
        )
    );
    assert_eq!(out[0]["location"][0]["location"]["display"], "Изток");
}

#[test]
fn a_referral_is_a_service_request_with_its_slip_code_and_a_task_with_its_status() {
    let p = man_without_documents("Асен", "Асенов", 1984);
    let v = visit_with_hiv(p.id, RapidResult::Reactive);
    let r = referral(
        p.id,
        v.id,
        ReferralCode::new(3, 42),
        ReferralReason::Screening(ScreeningKind::Hiv),
        Destination::Institution(Institution::HivTestingCabinet),
        at(),
    );
    let out: Vec<Value> = everything()
        .referral(&r, Some(&v))
        .iter()
        .map(as_json)
        .collect();
    let (sr, task) = (&out[0], &out[1]);
    assert_eq!(sr["resourceType"], "ServiceRequest");
    assert_eq!(sr["id"], r.id.to_string());
    assert_eq!(sr["identifier"][0]["value"], r.code.to_string());
    assert_eq!(sr["identifier"][0]["system"], systems::REFERRAL_CODE);
    assert_eq!(sr["priority"], "urgent");
    assert_eq!(sr["status"], "active");
    assert_eq!(
        sr["reasonReference"][0]["reference"],
        format!("Observation/{}", observation_id(v.id, ScreeningKind::Hiv))
    );
    assert_eq!(task["resourceType"], "Task");
    assert_eq!(task["status"], "requested");
    assert_eq!(
        task["focus"]["reference"],
        format!("ServiceRequest/{}", r.id)
    );
    // An exporter who does not read HIV gets neither.
    assert!(
        Exporter::new(Lang::Bg, [AccessClass::General])
            .referral(&r, Some(&v))
            .is_empty()
    );
}

#[test]
fn the_same_records_give_the_same_ids_and_a_bundle_of_puts() {
    let p = man_without_documents("Асен", "Асенов", 1984);
    let v = visit_with_hiv(p.id, RapidResult::NonReactive);
    let resources = |e: &Exporter| {
        let mut all = e.person(&p);
        all.extend(e.visit(&v));
        all
    };
    let first = bundle(&resources(&everything()), at());
    let again = bundle(&resources(&everything()), at());
    assert_eq!(first, again);
    assert_eq!(first["type"], "transaction");
    let entries = first["entry"].as_array().unwrap();
    for e in entries {
        let r = &e["resource"];
        assert_eq!(e["request"]["method"], "PUT");
        assert_eq!(
            e["request"]["url"],
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        );
    }
    // No entry, no "entry": FHIR has no empty arrays.
    let (bytes, counts) = BundleWriter::start(Vec::new(), at())
        .unwrap()
        .finish()
        .unwrap();
    let empty: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(empty.get("entry").is_none() && counts.is_empty());
}
