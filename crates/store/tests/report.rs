//! The programme report read from a real store (issue #19): the facts come from the query
//! tables, a results document's bits included, and stay the same after a rebuild and after
//! an upgrade from a store made before the report's tables.

use chrono::{DateTime, NaiveDate, Utc};
use kabinet_core::indicators::{Breakdown, Report, ReportRequest, Value};
use kabinet_core::screening::AccessClass;
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_store::{DeviceSettings, Origin, Store, StoreKey};

fn key() -> StoreKey {
    StoreKey::Raw([7u8; 32])
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A new store at `path` for `cabinet` ("hub" for the hub's).
fn new_store(path: &std::path::Path, cabinet: &str) -> Store {
    Store::create(
        path,
        &key(),
        &DeviceSettings {
            cabinet: cabinet.into(),
            issuer: 3,
        },
    )
    .unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn request(shown: Vec<AccessClass>) -> ReportRequest {
    ReportRequest {
        from: day("2026-03-01"),
        to: day("2026-03-31"),
        as_of: day("2026-06-01"),
        shown,
        at_hub: true,
        ..Default::default()
    }
}

const ALL: [AccessClass; 3] = [
    AccessClass::Hiv,
    AccessClass::Hepatitis,
    AccessClass::Tuberculosis,
];

/// Ana (a woman of 1985 with a record since January) and Emil (a boy of 2012 without
/// documents, new in March), seen in March in cabinet-1; Ana's reactive HIV test is referred
/// to the HIV testing cabinet on 2 March and attended on 9 March.
fn fill(store: &mut Store) {
    let ana = testing::register(PersonDraft {
        given_name: "Ана".into(),
        family_name: "Асенова".into(),
        sex: Some("F".into()),
        birth_year: Some(1985),
        neighbourhood: Some("Мошино".into()),
        consent_given: true,
        ..Default::default()
    });
    let emil = testing::man_without_documents("Емил", "Костов", 2012);
    let january = testing::visit(ana.id, at("2026-01-10T09:00:00Z"), Default::default());
    let march = testing::visit(
        ana.id,
        at("2026-03-02T08:30:00Z"),
        Screenings {
            hiv: Some(testing::hiv(RapidResult::Reactive)),
            glucose: Some(testing::glucose(5.0)),
            ..Default::default()
        },
    );
    let boy = testing::visit(
        emil.id,
        at("2026-03-05T10:00:00Z"),
        Screenings {
            // 135/85 is raised for a boy of 13, not for an adult.
            blood_pressure: Some(BloodPressure::reading(135, 85)),
            ..Default::default()
        },
    );
    let mut to_the_lab = testing::referral(
        ana.id,
        march.id,
        ReferralCode::new(3, 1),
        ReferralReason::Screening(ScreeningKind::Hiv),
        Destination::Institution(Institution::HivTestingCabinet),
        at("2026-03-02T08:40:00Z"),
    );
    to_the_lab
        .advance(StatusChange {
            status: ReferralStatus::Attended,
            at: at("2026-03-09T12:00:00Z"),
            by: "nurse-1".into(),
            note: None,
        })
        .unwrap();
    store
        .write(Origin::Local, |w| {
            w.put_person(&ana)?;
            w.put_person(&emil)?;
            w.put_visit(&january)?;
            w.put_visit(&march)?;
            w.put_visit(&boy)?;
            w.put_referral(&to_the_lab)?;
            Ok(())
        })
        .unwrap();
}

fn count(report: &Report, indicator: &str, breakdown: Breakdown, key: &str) -> Option<Value> {
    report.value(indicator, breakdown, key).cloned()
}

fn check(report: &Report) {
    use Breakdown::*;
    let all = |i: &str| count(report, i, Programme, "all");
    assert_eq!(all("reach.persons"), Some(Value::Count(2)));
    assert_eq!(all("reach.new"), Some(Value::Count(1)), "Emil");
    assert_eq!(all("reach.returning"), Some(Value::Count(1)), "Ana");
    assert_eq!(all("reach.no_documents"), Some(Value::Count(1)));
    assert_eq!(all("reach.visits"), Some(Value::Count(2)));
    assert_eq!(all("reach.outreach_days"), Some(Value::Count(2)));
    assert_eq!(all("screened.hiv"), Some(Value::Count(1)));
    assert_eq!(all("abnormal.hiv"), Some(Value::Count(1)));
    assert_eq!(all("screened.glucose"), Some(Value::Count(1)));
    assert_eq!(all("abnormal.glucose"), Some(Value::Count(0)));
    assert_eq!(all("abnormal.bp"), Some(Value::Count(1)), "a child's range");
    assert_eq!(
        all("quality.consent"),
        Some(Value::Percent {
            numerator: 1,
            denominator: 2
        })
    );
    assert_eq!(all("referrals.issued"), Some(Value::Count(1)));
    // Recorded in March, first held by this store now: neither reached it within 48 hours.
    assert_eq!(
        all("quality.synced_48h"),
        Some(Value::Percent {
            numerator: 0,
            denominator: 2
        })
    );
    // The cascade: screened 1 → reactive 1 → referred 1 → attended 1.
    assert_eq!(all("referred.hiv"), Some(Value::Count(1)));
    assert_eq!(all("attended.hiv"), Some(Value::Count(1)));
    assert_eq!(all("referred.glucose"), Some(Value::Count(0)));
    assert_eq!(all("referrals.median_days"), Some(Value::Number(7.0)));
    assert_eq!(
        all("hiv.confirmed_7"),
        Some(Value::Percent {
            numerator: 1,
            denominator: 1
        })
    );
    // One HIV test in a cabinet is a person one could name.
    assert_eq!(
        count(report, "screened.hiv", Cabinet, "cabinet-1"),
        Some(Value::Suppressed)
    );
    assert_eq!(
        count(report, "reach.persons", Neighbourhood, "Мошино"),
        Some(Value::Count(1))
    );
}

#[test]
fn a_report_counts_what_the_store_holds_and_hides_what_the_reader_may_not_see() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir.path().join("kabinet.db"), "cabinet-1");
    fill(&mut store);
    let report = store.report(&request(ALL.to_vec()), None).unwrap();
    check(&report);

    let general = store.report(&request(vec![]), None).unwrap();
    assert!(
        general
            .rows
            .iter()
            .all(|r| !r.indicator.contains("hiv") && !r.indicator.contains("tb")),
        "a reader of no sensitive class gets no row about one"
    );
    assert_eq!(
        general.value("reach.persons", Breakdown::Programme, "all"),
        Some(&Value::Count(2))
    );

    // One cabinet's report: its totals are below the whole programme, so its one HIV test
    // is "<5" there too.
    let one = store
        .report(&request(ALL.to_vec()), Some("cabinet-1"))
        .unwrap();
    assert_eq!(
        one.value("screened.hiv", Breakdown::Programme, "all"),
        Some(&Value::Suppressed)
    );
    assert_eq!(
        one.value("reach.persons", Breakdown::Programme, "all"),
        Some(&Value::Count(2))
    );

    // Another cabinet's report has none of these.
    let other = store
        .report(&request(ALL.to_vec()), Some("cabinet-9"))
        .unwrap();
    assert_eq!(
        other.value("reach.persons", Breakdown::Programme, "all"),
        Some(&Value::Count(0))
    );

    // The projections rebuilt from the documents give the same report.
    store.rebuild_projections().unwrap();
    assert_eq!(store.report(&request(ALL.to_vec()), None).unwrap(), report);
}

#[test]
fn a_store_made_before_the_report_is_filled_for_it_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kabinet.db");
    let mut store = new_store(&path, "cabinet-1");
    fill(&mut store);
    let mut report = store.report(&request(ALL.to_vec()), None).unwrap();
    drop(store);

    // Back to schema 12: no report table, none of its columns, no projections version.
    let conn = kabinet_store::open_raw(&path, &key()).unwrap();
    conn.execute_batch(
        "DROP TABLE report_screening;
         DROP TABLE visit_arrival;
         ALTER TABLE referral_index DROP COLUMN attended_at;
         ALTER TABLE person_index DROP COLUMN data_consent;
         ALTER TABLE case_index DROP COLUMN closed_at;
         ALTER TABLE case_index DROP COLUMN closure_reason;
         DELETE FROM meta WHERE key = 'projections.version';",
    )
    .unwrap();
    conn.pragma_update(
        None,
        "user_version",
        (kabinet_store::SCHEMA_VERSION - 3) as i64,
    )
    .unwrap();
    drop(conn);

    let store = Store::open(&path, &key()).unwrap();
    check(&report);
    // When the visits arrived is not known for what the store held before it recorded
    // arrivals: not guessed, left out. Everything else is as it was.
    report.rows.retain(|r| r.indicator != "quality.synced_48h");
    assert_eq!(store.report(&request(ALL.to_vec()), None).unwrap(), report);
}

/// A hub keeps the report's facts and reads again only what changed: after each kind of
/// change (a new person and visit, a result corrected, a referral attended, a merge, a visit
/// voided) its report is the one a fresh read of the tables makes.
#[test]
fn kept_facts_follow_every_change_as_a_fresh_read_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir.path().join("hub.db"), "hub");
    store.keep_report_facts(true).unwrap();
    let same = |store: &Store, what: &str| {
        let whole = store.report(&request(ALL.to_vec()), None).unwrap();
        let fresh =
            kabinet_store::report::make_report(store.sql(), &request(ALL.to_vec()), None).unwrap();
        assert_eq!(whole, fresh, "after {what}");
        let kept = store
            .report(&request(ALL.to_vec()), Some("cabinet-1"))
            .unwrap();
        let fresh = kabinet_store::report::make_report(
            store.sql(),
            &request(ALL.to_vec()),
            Some("cabinet-1"),
        )
        .unwrap();
        assert_eq!(kept, fresh, "after {what}, one cabinet");
        whole
    };
    same(&store, "nothing");
    fill(&mut store);
    check(&same(&store, "the fixture"));

    // A new person with an abnormal glucose; then the glucose corrected to normal.
    let dora = testing::register(PersonDraft {
        given_name: "Дора".into(),
        family_name: "Илиева".into(),
        sex: Some("F".into()),
        birth_year: Some(1960),
        neighbourhood: Some("Изток".into()),
        ..Default::default()
    });
    let mut visit = testing::visit(
        dora.id,
        at("2026-03-20T09:00:00Z"),
        Screenings {
            glucose: Some(testing::glucose(13.0)),
            hepatitis_b: Some(HepatitisTest::of(RapidResult::Reactive)),
            ..Default::default()
        },
    );
    store
        .write(Origin::Local, |w| {
            w.put_person(&dora)?;
            w.put_visit(&visit)
        })
        .unwrap();
    let before = same(&store, "a new visit");
    assert_eq!(
        count(&before, "abnormal.glucose", Breakdown::Programme, "all"),
        Some(Value::Count(1))
    );
    visit.screenings.glucose = Some(testing::glucose(5.1));
    visit.screenings.hepatitis_b = Some(HepatitisTest::of(RapidResult::NonReactive));
    store.write(Origin::Local, |w| w.put_visit(&visit)).unwrap();
    let after = same(&store, "a result corrected");
    assert_eq!(
        count(&after, "abnormal.glucose", Breakdown::Programme, "all"),
        Some(Value::Count(0))
    );

    // Dora merged into Ana (the survivor): one person fewer reached.
    let ana_id = store.document_ids(kabinet_store::DocKind::Person).unwrap()[0];
    let mut merged = dora.clone();
    merged.merged_into = Some(kabinet_core::person::MergedInto {
        survivor: ana_id,
        at: at("2026-04-01T09:00:00Z"),
        by: "hub".into(),
        reason: "the same woman".into(),
    });
    store
        .write(Origin::Local, |w| w.put_person(&merged))
        .unwrap();
    let merged_report = same(&store, "a merge");
    assert_eq!(
        count(&merged_report, "reach.persons", Breakdown::Programme, "all"),
        Some(Value::Count(2)),
        "Dora is Ana now"
    );

    // The visit voided: it leaves the counts.
    visit.voided = Some(kabinet_core::visit::Voided {
        at: at("2026-04-02T09:00:00Z"),
        by: "hub".into(),
        reason: "entered in error".into(),
    });
    store.write(Origin::Local, |w| w.put_visit(&visit)).unwrap();
    let last = same(&store, "a visit voided");
    assert_eq!(
        count(&last, "reach.visits", Breakdown::Programme, "all"),
        count(&merged_report, "reach.visits", Breakdown::Programme, "all").map(|v| match v {
            Value::Count(n) => Value::Count(n - 1),
            other => other,
        })
    );
}

/// At the hub, a visit that arrives within 48 hours of being recorded is synced in time and
/// one that arrives later is not; a device's report (not the hub's) has no such number; a
/// visit written again later keeps its first arrival.
#[test]
fn the_hub_counts_the_visits_that_reached_it_within_48_hours() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir.path().join("hub.db"), "hub");
    let now = Utc::now();
    let ana = testing::register(PersonDraft {
        given_name: "Ана".into(),
        family_name: "Асенова".into(),
        sex: Some("F".into()),
        birth_year: Some(1985),
        ..Default::default()
    });
    let recent = testing::visit(
        ana.id,
        now - chrono::Duration::hours(47),
        Default::default(),
    );
    let mut late = testing::visit(
        ana.id,
        now - chrono::Duration::hours(72),
        Default::default(),
    );
    store
        .write(Origin::Local, |w| {
            w.put_person(&ana)?;
            w.put_visit(&recent)?;
            w.put_visit(&late)
        })
        .unwrap();
    let ask = |at_hub: bool| ReportRequest {
        from: (now - chrono::Duration::days(10)).date_naive(),
        to: (now + chrono::Duration::days(1)).date_naive(),
        at_hub,
        ..request(ALL.to_vec())
    };
    let in_time = |store: &Store| {
        store
            .report(&ask(true), None)
            .unwrap()
            .value("quality.synced_48h", Breakdown::Programme, "all")
            .cloned()
    };
    let one_of_two = Some(Value::Percent {
        numerator: 1,
        denominator: 2,
    });
    assert_eq!(in_time(&store), one_of_two);
    assert_eq!(
        store.report(&ask(false), None).unwrap().value(
            "quality.synced_48h",
            Breakdown::Programme,
            "all"
        ),
        None,
        "a device cannot tell when the hub got its visits"
    );
    // Corrected later, the late visit still arrived when it first did.
    late.notes = "корекция".into();
    store.write(Origin::Local, |w| w.put_visit(&late)).unwrap();
    assert_eq!(in_time(&store), one_of_two);
    // So with the facts kept, read again from the change feed.
    store.keep_report_facts(true).unwrap();
    assert_eq!(in_time(&store), one_of_two);
    late.notes = "втора корекция".into();
    store.write(Origin::Local, |w| w.put_visit(&late)).unwrap();
    assert_eq!(in_time(&store), one_of_two);
}

/// Six HIV tests in cabinet-1 and one in cabinet-2: the programme's report shows cabinet-2's
/// as "<5" and withholds cabinet-1's six beside it; asking for cabinet-1 alone must not
/// show the six (7 − 6 would tell cabinet-2's one).
#[test]
fn a_cabinets_report_hides_what_the_programmes_report_hides_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir.path().join("hub.db"), "hub");
    store
        .write(Origin::Local, |w| {
            for i in 0..7 {
                let person = testing::register(PersonDraft {
                    given_name: "Асен".into(),
                    family_name: format!("Асенов{}", "ов".repeat(i)),
                    sex: Some("M".into()),
                    birth_year: Some(1980),
                    ..Default::default()
                });
                let mut visit = testing::visit(
                    person.id,
                    at("2026-03-10T09:00:00Z"),
                    Screenings {
                        hiv: Some(testing::hiv(RapidResult::NonReactive)),
                        ..Default::default()
                    },
                );
                visit.cabinet = if i < 6 { "cabinet-1" } else { "cabinet-2" }.into();
                w.put_person(&person)?;
                w.put_visit(&visit)?;
            }
            Ok(())
        })
        .unwrap();
    let whole = store.report(&request(ALL.to_vec()), None).unwrap();
    let cell = |r: &Report, b, key: &str| r.value("screened.hiv", b, key).cloned();
    assert_eq!(
        cell(&whole, Breakdown::Programme, "all"),
        Some(Value::Count(7))
    );
    assert_eq!(
        cell(&whole, Breakdown::Cabinet, "cabinet-2"),
        Some(Value::Suppressed)
    );
    assert_eq!(
        cell(&whole, Breakdown::Cabinet, "cabinet-1"),
        Some(Value::Withheld)
    );
    let one = store
        .report(&request(ALL.to_vec()), Some("cabinet-1"))
        .unwrap();
    assert_eq!(
        cell(&one, Breakdown::Programme, "all"),
        Some(Value::Withheld)
    );
    assert_eq!(cell(&one, Breakdown::Sex, "M"), Some(Value::Withheld));
    assert_eq!(
        cell(&one, Breakdown::Cabinet, "cabinet-1"),
        Some(Value::Withheld)
    );
    // General numbers are not hidden.
    assert_eq!(
        one.value("reach.persons", Breakdown::Programme, "all"),
        Some(&Value::Count(6))
    );
}
