//! The store through its public API, on real encrypted SQLite files in a temporary directory.

use chrono::{DateTime, NaiveDate, Utc};
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_store::import::{ImportError, ImportOptions, import};
use kabinet_store::{DeviceSettings, DocKind, Origin, Store, StoreError, StoreKey, results_doc_id};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use uuid::Uuid;

const FIXTURE: &str = include_str!("../../../tests/fixtures/workload-300.jsonl");

fn key() -> StoreKey {
    StoreKey::Raw([7u8; 32])
}

fn settings() -> DeviceSettings {
    DeviceSettings {
        cabinet: "cabinet-1".into(),
        issuer: 3,
    }
}

/// The file itself, as plain SQL, beside the store open on it.
fn raw(store: &Store) -> rusqlite::Connection {
    kabinet_store::open_raw(store.path(), &key()).unwrap()
}

fn new_store(dir: &Path) -> (Store, PathBuf) {
    let path = dir.join("kabinet.db");
    (Store::create(&path, &key(), &settings()).unwrap(), path)
}

fn rec() -> Recorded {
    Recorded {
        by: "nurse-1".into(),
        at: Utc::now(),
    }
}

fn person(given: &str, family: &str, egn: Option<&str>, phone: Option<&str>) -> Person {
    PersonDraft {
        given_name: given.into(),
        family_name: family.into(),
        sex: if egn.is_none() {
            Some("F".into())
        } else {
            None
        },
        birth_year: if egn.is_none() { Some(1985) } else { None },
        egn: egn.map(Into::into),
        phone: phone.map(Into::into),
        neighbourhood: Some("Мошино".into()),
        consent_given: true,
        ..Default::default()
    }
    .validate(Uuid::now_v7(), Utc::now().date_naive(), &rec())
    .unwrap()
    .value
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn visit_with_hiv(person: &Person, result: RapidResult) -> Visit {
    Visit {
        place: Some("Мошино".into()),
        notes: "бележка".into(),
        clinical_note: String::new(),
        ..testing::visit(
            person.id,
            at("2026-03-02T08:30:00Z"),
            Screenings {
                hiv: Some(testing::hiv(result)),
                glucose: Some(testing::glucose(7.4)),
                ..Default::default()
            },
        )
    }
}

#[test]
fn wrong_key_is_a_clear_error_and_missing_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    drop(store);
    match Store::open(&path, &StoreKey::Raw([8u8; 32])) {
        Err(StoreError::WrongKey { path: p }) => assert_eq!(p, path),
        Err(other) => panic!("expected WrongKey, got {other}"),
        Ok(_) => panic!("opened with the wrong key"),
    }
    match Store::open(&path, &StoreKey::Passphrase("guess".into())) {
        Err(StoreError::WrongKey { .. }) => {}
        other => panic!("expected WrongKey, got {:?}", other.err()),
    }
    assert!(matches!(
        Store::open(&dir.path().join("nope.db"), &key()),
        Err(StoreError::Missing { .. })
    ));
    assert!(matches!(
        Store::create(&path, &key(), &settings()),
        Err(StoreError::AlreadyExists { .. })
    ));
    assert!(Store::open(&path, &key()).is_ok());
}

#[test]
fn a_store_made_with_the_old_4_kib_pages_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    assert_eq!(store.page_size().unwrap(), kabinet_store::PAGE_SIZE);
    let p = person("Росица", "Юсеинова", Some("7706245930"), None);
    store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    drop(store);

    // The same store as an older build made it: SQLCipher's default 4 KiB pages, same key.
    let legacy = dir.path().join("legacy.db");
    let raw = format!("x'{}'", "07".repeat(32));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "key", &raw).unwrap();
    conn.pragma_update(None, "cipher_page_size", kabinet_store::PAGE_SIZE)
        .unwrap();
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS legacy KEY \"{raw}\""),
        [legacy.to_str().unwrap()],
    )
    .unwrap();
    conn.pragma_update(Some("legacy"), "cipher_page_size", 4096)
        .unwrap();
    conn.query_row("SELECT sqlcipher_export('legacy')", [], |_| Ok(()))
        .unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    conn.pragma_update(Some("legacy"), "user_version", version)
        .unwrap();
    conn.execute("DETACH DATABASE legacy", []).unwrap();
    drop(conn);

    let mut store = Store::open(&legacy, &key()).unwrap();
    assert_eq!(store.page_size().unwrap(), kabinet_store::LEGACY_PAGE_SIZE);
    assert_eq!(store.person(p.id).unwrap(), p);
    assert_eq!(store.search_persons("Юсеинова", 5).unwrap().len(), 1);
    // A save, then the process dies: the save is only in the WAL (4 KiB frames) when the
    // store is opened again, and the first try at 16 KiB must not trip over it.
    let q = person("Асен", "Асенов", None, Some("0888123456"));
    store.write(Origin::Local, |w| w.put_person(&q)).unwrap();
    std::mem::forget(store);
    assert!(
        std::fs::metadata(format!("{}-wal", legacy.display()))
            .unwrap()
            .len()
            > 0
    );
    let store = Store::open(&legacy, &key()).unwrap();
    assert_eq!(store.page_size().unwrap(), kabinet_store::LEGACY_PAGE_SIZE);
    assert_eq!(store.person(q.id).unwrap(), q);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    assert!(matches!(
        Store::open(&legacy, &StoreKey::Raw([8u8; 32])),
        Err(StoreError::WrongKey { .. })
    ));
}

#[test]
fn passphrase_keys_work_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let k = StoreKey::from_text("дълга парола").unwrap();
    Store::create(&path, &k, &settings()).unwrap();
    assert_eq!(
        Store::open(&path, &k).unwrap().settings().unwrap(),
        settings()
    );
    assert!(matches!(
        StoreKey::from_text("raw:abcd"),
        Err(StoreError::BadKeyFormat)
    ));
    assert!(matches!(StoreKey::from_text(""), Err(StoreError::EmptyKey)));
}

#[test]
fn the_file_on_disk_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let p = person("Златка", "Щерева", Some("7706245930"), Some("0888123456"));
    store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    let v = visit_with_hiv(&p, RapidResult::Reactive);
    store.write(Origin::Local, |w| w.put_visit(&v)).unwrap();
    // Look at the main file and the WAL while the store is open (data sits in the WAL).
    for suffix in ["", "-wal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in [
            "Златка",
            "Щерева",
            "Zlatka",
            "7706245930",
            "+359888123456",
            "reactive",
            // Needles of 6+ bytes: a 3-byte one turns up in random ciphertext now and then.
            "rapid_ab_1_2",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} found in {}",
                file.display()
            );
        }
    }
    // The same check must be able to fail: the decrypted content does hold the name.
    assert_eq!(store.person(p.id).unwrap().family_name, "Щерева");
}

#[test]
fn records_round_trip_and_sensitive_results_live_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let p = person("Росица", "Юсеинова", Some("7706245930"), None);
    let v = visit_with_hiv(&p, RapidResult::Reactive);
    store
        .write(Origin::Local, |w| {
            w.put_person(&p)?;
            w.put_visit(&v)
        })
        .unwrap();
    assert_eq!(store.person(p.id).unwrap(), p);
    assert_eq!(store.visit(v.id).unwrap(), v);

    // The visit document itself has no HIV field; the HIV document does.
    let visit_bytes = store.changes_after(v.id, &[]).unwrap();
    let hiv_id = results_doc_id(v.id, AccessClass::Hiv);
    let hiv_bytes = store.changes_after(hiv_id, &[]).unwrap();
    let has = |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!has(&visit_bytes, "reactive") && !has(&visit_bytes, "consent"));
    assert!(has(&hiv_bytes, "reactive"));
    let changed = store.changes_since(0, 100).unwrap();
    let classes: Vec<_> = changed.iter().map(|c| (c.kind, c.access_class)).collect();
    assert_eq!(
        classes,
        vec![
            (DocKind::Person, AccessClass::General),
            (DocKind::Visit, AccessClass::General),
            (DocKind::Results, AccessClass::Hiv)
        ]
    );
    assert_eq!(changed[2].parent_id, Some(v.id));
}

#[test]
fn edits_are_saved_incrementally_and_move_the_change_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let mut p = person("Асен", "Асенов", None, None);
    let q = person("Мария", "Петрова", None, None);
    store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    store.write(Origin::Local, |w| w.put_person(&q)).unwrap();
    let snapshot_before: Vec<u8> = raw(&store)
        .query_row(
            "SELECT snapshot FROM documents WHERE doc_id = ?1",
            [p.id.as_bytes()],
            |r| r.get(0),
        )
        .unwrap();
    let heads_before = store.heads(p.id).unwrap().unwrap();
    let cursor = store
        .changes_since(0, 10)
        .unwrap()
        .last()
        .unwrap()
        .change_seq;

    // Writing the same record again changes nothing.
    assert!(!store.write(Origin::Local, |w| w.put_person(&p)).unwrap());
    assert!(store.changes_since(cursor, 10).unwrap().is_empty());

    p.phone = Some(Phone::parse("0887 111 222").unwrap());
    assert!(store.write(Origin::Local, |w| w.put_person(&p)).unwrap());
    let changed = store.changes_since(cursor, 10).unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].doc_id, p.id);
    assert_ne!(changed[0].heads, heads_before);

    let (snapshot_after, chunks, chunk_bytes): (Vec<u8>, i64, i64) = raw(&store)
        .query_row(
            "SELECT d.snapshot, count(c.chunk_no), COALESCE(SUM(length(c.bytes)), 0) FROM documents d
             LEFT JOIN document_chunks c ON c.doc_id = d.doc_id WHERE d.doc_id = ?1",
            [p.id.as_bytes()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        snapshot_after, snapshot_before,
        "the snapshot is not rewritten on an edit"
    );
    assert_eq!(chunks, 1);
    assert!(
        chunk_bytes < 300,
        "one field's change is small: {chunk_bytes} bytes"
    );
    assert_eq!(store.person(p.id).unwrap(), p);
}

#[test]
fn many_edits_compact_into_a_snapshot_and_still_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let mut p = person("Асен", "Асенов", None, None);
    for i in 0..70 {
        p.address = Some(format!("ул. {i}"));
        store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    }
    let chunks: i64 = raw(&store)
        .query_row(
            "SELECT count(*) FROM document_chunks WHERE doc_id = ?1",
            [p.id.as_bytes()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(chunks < 32, "{chunks} chunks");
    drop(store);
    let store = Store::open(&dir.path().join("kabinet.db"), &key()).unwrap();
    assert_eq!(store.person(p.id).unwrap(), p);
}

#[test]
fn search_by_cyrillic_latin_egn_and_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let a = person("Христо", "Жечков", Some("8001015000"), Some("0888 123 456"));
    let b = person("Юлия", "Щерева", None, Some("+359 877 000 111"));
    let c = person("Христина", "Асенова", None, None);
    store
        .write(Origin::Local, |w| {
            for p in [&a, &b, &c] {
                w.put_person(p)?;
            }
            Ok(())
        })
        .unwrap();
    let names = |q: &str| -> Vec<String> {
        store
            .search_persons(q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.full_name)
            .collect()
    };
    assert_eq!(names("Жечков"), vec!["Христо Жечков"]);
    assert_eq!(names("zhechkov"), vec!["Христо Жечков"]);
    assert_eq!(names("Khristo Zhech"), vec!["Христо Жечков"]);
    assert_eq!(
        names("Hristo"),
        vec!["Христо Жечков"],
        "exact word first, then prefixes"
    );
    assert_eq!(names("hrist"), vec!["Христина Асенова", "Христо Жечков"]);
    assert_eq!(names("Julia Shtereva"), vec!["Юлия Щерева"]);
    assert_eq!(names("Щерева 1985"), vec!["Юлия Щерева"]);
    assert!(names("Щерева 1990").is_empty());
    assert_eq!(names("8001015000"), vec!["Христо Жечков"]);
    assert_eq!(
        names("800101"),
        vec!["Христо Жечков"],
        "ЕГН prefix while typing"
    );
    assert_eq!(names("0888123456"), vec!["Христо Жечков"]);
    assert_eq!(names("0877 000"), vec!["Юлия Щерева"]);
    assert!(names("Петров").is_empty());
    assert!(names("  ").is_empty());
}

#[test]
fn import_of_the_workload_and_rebuild_of_projections() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let options = ImportOptions {
        skip_invalid_screenings: false,
        recorded_by: "import".into(),
    };
    // Four visits have systolic ≤ diastolic: refused, and nothing is written.
    match import(&mut store, Cursor::new(FIXTURE), &options) {
        Err(ImportError::Invalid(issues)) => {
            assert_eq!(issues.len(), 4);
            assert!(
                issues[0].message.starts_with("Систолно налягане:"),
                "{}",
                issues[0].message
            );
        }
        other => panic!("expected invalid lines, got {other:?}"),
    }
    assert_eq!(store.changes_since(0, 10).unwrap().len(), 0);

    let options = ImportOptions {
        skip_invalid_screenings: true,
        ..options
    };
    let report = import(&mut store, Cursor::new(FIXTURE), &options).unwrap();
    assert_eq!(report.lines, 300);
    assert_eq!(report.visits_written, 300);
    assert_eq!(report.skipped.len(), 4);
    assert_eq!(store.count(DocKind::Visit).unwrap(), 300);
    let expected_persons = FIXTURE
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["person"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    assert_eq!(store.count(DocKind::Person).unwrap(), expected_persons);
    assert_eq!(report.persons_written as u64, expected_persons);

    // Importing again is idempotent.
    let cursor = store
        .changes_since(0, 100_000)
        .unwrap()
        .last()
        .unwrap()
        .change_seq;
    let again = import(&mut store, Cursor::new(FIXTURE), &options).unwrap();
    assert_eq!(
        (
            again.persons_written,
            again.visits_written,
            again.referrals_written
        ),
        (0, 0, 0)
    );
    assert!(store.changes_since(cursor, 10).unwrap().is_empty());

    // The incrementally maintained projections equal a rebuild from the documents.
    let before = store.dump_projections().unwrap();
    assert!(before.len() > 600);
    let report = store.rebuild_projections().unwrap();
    assert_eq!(
        report.documents,
        store.changes_since(0, 100_000).unwrap().len()
    );
    assert_eq!(store.dump_projections().unwrap(), before);

    // Day and referral queries read the projections.
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    assert_eq!(store.visits_on(day, Some("cabinet-1")).unwrap().len(), 300);
    let open = store.open_referrals(1000).unwrap();
    assert!(!open.is_empty());
    assert!(open.windows(2).all(|w| w[0].urgency >= w[1].urgency));
    let first = ReferralCode::parse(&open[0].code).unwrap();
    assert_eq!(first.issuer, 3);
    assert_eq!(
        store.referral_by_code(&first).unwrap().unwrap().id,
        open[0].id
    );
}

#[test]
fn a_damaged_projection_is_repaired_by_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let p = person("Асен", "Асенов", None, Some("0888000111"));
    store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    let good = store.dump_projections().unwrap();
    raw(&store)
        .execute("DELETE FROM person_name_token", [])
        .unwrap();
    raw(&store)
        .execute("UPDATE person_index SET phone = NULL", [])
        .unwrap();
    assert_ne!(store.dump_projections().unwrap(), good);
    assert!(store.search_persons("Асен", 5).unwrap().is_empty());
    store.rebuild_projections().unwrap();
    assert_eq!(store.dump_projections().unwrap(), good);
    assert_eq!(store.search_persons("Асен", 5).unwrap().len(), 1);
}

/// Merges a person's changes as sync does.
fn merge(
    w: &mut kabinet_store::Writer<'_>,
    id: Uuid,
    changes: &[u8],
) -> kabinet_store::Result<Option<kabinet_store::Merged>> {
    let doc = kabinet_store::Received {
        doc_id: id,
        kind: DocKind::Person,
        class: AccessClass::General,
        parent: None,
        changes,
    };
    w.merge_decoded(&doc, kabinet_store::Decoded::of(&doc))
}

#[test]
fn changes_merge_between_stores_and_conflicts_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, _) = new_store(dir.path());
    let path_b = dir.path().join("b.db");
    let mut b = Store::create(&path_b, &key(), &settings()).unwrap();
    let p = person("Асен", "Асенов", None, None);
    a.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    let all = a.changes_after(p.id, &[]).unwrap();
    b.write(Origin::Sync, |w| merge(w, p.id, &all)).unwrap();
    assert_eq!(b.person(p.id).unwrap(), p);

    // Offline: A changes the phone, B the neighbourhood and also the phone.
    let base = a.heads(p.id).unwrap().unwrap();
    let mut pa = p.clone();
    pa.phone = Some(Phone::parse("0888111111").unwrap());
    a.write(Origin::Local, |w| w.put_person(&pa)).unwrap();
    let mut pb = p.clone();
    pb.neighbourhood = Some("Изток".into());
    pb.phone = Some(Phone::parse("0888222222").unwrap());
    b.write(Origin::Local, |w| w.put_person(&pb)).unwrap();

    let from_a = a.changes_after(p.id, &base).unwrap();
    let from_b = b.changes_after(p.id, &base).unwrap();
    b.write(Origin::Sync, |w| merge(w, p.id, &from_a)).unwrap();
    a.write(Origin::Sync, |w| merge(w, p.id, &from_b)).unwrap();
    // Replaying a merge changes nothing.
    let replay = a.write(Origin::Sync, |w| merge(w, p.id, &from_b));
    assert!(replay.unwrap().is_none());

    let (ma, mb) = (a.person(p.id).unwrap(), b.person(p.id).unwrap());
    assert_eq!(ma, mb);
    assert_eq!(
        ma.neighbourhood.as_deref(),
        Some("Изток"),
        "different fields both survive"
    );
    assert_eq!(a.conflicts(p.id).unwrap(), vec!["phone".to_string()]);
    // The projection follows the merged document.
    assert_eq!(
        a.search_persons(ma.phone.as_ref().unwrap().as_str(), 5)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let p = person("Асен", "Асенов", None, None);
    let v = visit_with_hiv(&p, RapidResult::NonReactive);
    let result: Result<(), StoreError> = store.write(Origin::Local, |w| {
        w.put_person(&p)?;
        w.put_visit(&v)?;
        w.next_referral_code()?;
        Err(StoreError::NotFound {
            kind: "referral",
            id: "simulated failure after two records".into(),
        })
    });
    assert!(result.is_err());
    assert!(store.changes_since(0, 10).unwrap().is_empty());
    assert!(matches!(
        store.person(p.id),
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store.search_persons("Асен", 5).unwrap().is_empty(),
        "no projection row either"
    );
    // The referral counter was rolled back too: the next code is still the first.
    let code = store
        .write(Origin::Local, |w| w.next_referral_code())
        .unwrap();
    assert_eq!(code, ReferralCode::new(3, 1));
}

#[test]
fn a_database_from_a_newer_kabinet_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = new_store(dir.path());
    raw(&store).pragma_update(None, "user_version", 99).unwrap();
    drop(store);
    match Store::open(&path, &key()) {
        Err(e @ StoreError::NewerSchema { found: 99, .. }) => {
            assert!(
                e.message(Lang::Bg).contains("обновете Кабинет"),
                "{}",
                e.message(Lang::Bg)
            );
        }
        other => panic!("expected NewerSchema, got {:?}", other.err()),
    }
}

#[test]
fn reopening_migrates_nothing_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let p = person("Асен", "Асенов", None, None);
    store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    let version: i64 = raw(&store)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, kabinet_store::SCHEMA_VERSION);
    assert_eq!(store.person(p.id).unwrap(), p);
    assert_eq!(store.settings().unwrap(), settings());
}

#[test]
fn a_clinical_note_is_kept_in_its_own_document_never_in_the_visit_s() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = new_store(dir.path());
    let p = person("Асен", "Асенов", None, None);
    let mut visit = testing::visit(p.id, Utc::now(), Screenings::default());
    visit.notes = "Идва с дъщеря си.".into();
    visit.clinical_note = "ХИВ реактивен; изпратен в КАБКИС.".into();
    store
        .write(Origin::Local, |w| {
            w.put_person(&p)?;
            w.put_visit(&visit)
        })
        .unwrap();
    let text_of = |id: Uuid| {
        let (bytes, class) = store.document_bytes(id).unwrap().unwrap();
        let doc = automerge::AutoCommit::load(&bytes).unwrap();
        (
            serde_json::to_string(&automerge::AutoSerde::from(&doc)).unwrap(),
            class,
        )
    };
    let (general, class) = text_of(visit.id);
    assert_eq!(class, AccessClass::General);
    assert!(
        general.contains("Идва с дъщеря си") && !general.contains("КАБКИС"),
        "{general}"
    );
    let (clinical, class) = text_of(results_doc_id(visit.id, AccessClass::Clinical));
    assert_eq!(class, AccessClass::Clinical);
    assert!(clinical.contains("КАБКИС"), "{clinical}");
    // Read back whole.
    assert_eq!(store.visit(visit.id).unwrap(), visit);
}

#[test]
fn a_general_referral_to_a_condition_s_clinic_moves_to_that_class_on_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let p = person("Асен", "Асенов", None, None);
    let at = Utc::now();
    let visit = testing::visit(p.id, at, Screenings::default());
    let code = |n| ReferralCode::new(7, n);
    let to_the_lab = testing::referral(
        p.id,
        visit.id,
        code(1),
        ReferralReason::Social,
        Destination::parse("hiv-confirmatory").unwrap(),
        at,
    );
    let to_the_rdsp = testing::referral(
        p.id,
        visit.id,
        code(2),
        ReferralReason::Social,
        Destination::parse("rdsp").unwrap(),
        at,
    );
    store
        .write(Origin::Local, |w| {
            w.put_person(&p)?;
            w.put_visit(&visit)?;
            w.put_referral(&to_the_lab)?;
            w.put_referral(&to_the_rdsp)
        })
        .unwrap();
    let class_of = |store: &Store, id: Uuid| {
        store
            .changes_since(0, 1000)
            .unwrap()
            .into_iter()
            .find(|d| d.doc_id == id)
            .unwrap()
            .access_class
    };
    assert_eq!(class_of(&store, to_the_lab.id), AccessClass::Hiv);
    // As an older build wrote it: general, two schema versions back (before this migration
    // and the drafts' one), with a shared draft of that time.
    let conn = raw(&store);
    conn.execute(
        "UPDATE documents SET access_class = 0 WHERE doc_id = ?1",
        [to_the_lab.id.as_bytes()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('draft.visit.p1', '{\"form\":{\"hiv_result\":\"reactive\"}}'),
                                              ('draft.mpetrova/visit.p1', '{}')",
        [],
    )
    .unwrap();
    // Back to before the referral migration (the field_conflict table, the merge tables, the
    // case tables and the report's came after it).
    for table in [
        "field_conflict",
        "person_merge",
        "person_alias",
        "person_not_same",
        "case_index",
        "case_task",
        "report_screening",
        "visit_arrival",
    ] {
        conn.execute(&format!("DROP TABLE {table}"), []).unwrap();
    }
    conn.execute_batch(
        "ALTER TABLE visit_index DROP COLUMN voided;
         ALTER TABLE referral_index DROP COLUMN attended_at;
         ALTER TABLE person_index DROP COLUMN data_consent;",
    )
    .unwrap();
    conn.pragma_update(
        None,
        "user_version",
        (kabinet_store::SCHEMA_VERSION - 8) as i64,
    )
    .unwrap();
    drop(conn);
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(class_of(&store, to_the_lab.id), AccessClass::Hiv);
    assert_eq!(class_of(&store, to_the_rdsp.id), AccessClass::General);
    // The shared draft of before is gone; a user's own stays.
    assert_eq!(store.meta("draft.visit.p1").unwrap(), None);
    assert_eq!(
        store.meta("draft.mpetrova/visit.p1").unwrap().as_deref(),
        Some("{}")
    );
}

#[test]
fn rekey_moves_the_database_to_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, path) = new_store(dir.path());
    let p = person("Росица", "Юсеинова", None, None);
    store.write(Origin::Local, |w| w.put_person(&p)).unwrap();
    let new_key = StoreKey::Raw([0x42; 32]);
    store.rekey(&new_key).unwrap();
    drop(store);
    assert!(matches!(
        Store::open(&path, &key()),
        Err(StoreError::WrongKey { .. })
    ));
    let reopened = Store::open(&path, &new_key).unwrap();
    assert_eq!(reopened.person(p.id).unwrap(), p);
    assert_eq!(reopened.integrity_check().unwrap(), "ok");
}

/// Every document of `from` as a received document (its whole history), in change order.
fn everything(from: &Store) -> Vec<(kabinet_store::ChangedDoc, Vec<u8>)> {
    from.changes_since(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|d| {
            let bytes = from.changes_after(d.doc_id, &[]).unwrap();
            (d, bytes)
        })
        .collect()
}

fn received(docs: &[(kabinet_store::ChangedDoc, Vec<u8>)]) -> Vec<kabinet_store::Received<'_>> {
    docs.iter()
        .map(|(d, bytes)| kabinet_store::Received {
            doc_id: d.doc_id,
            kind: d.kind,
            class: d.access_class,
            parent: d.parent_id,
            changes: bytes,
        })
        .collect()
}

fn heads_of(store: &Store) -> Vec<(Uuid, Vec<automerge::ChangeHash>)> {
    let mut all: Vec<_> = store
        .changes_since(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|d| (d.doc_id, d.heads))
        .collect();
    all.sort();
    all
}

#[test]
fn a_batch_decoded_ahead_on_a_second_thread_lands_as_one_by_one_merges_do() {
    let dir = tempfile::tempdir().unwrap();
    let (mut source, _) = new_store(dir.path());
    let options = ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "import".into(),
    };
    import(&mut source, Cursor::new(FIXTURE), &options).unwrap();
    // One person edited after creation: two changes, the general (loading) path.
    let first = source.changes_since(0, 1).unwrap()[0].doc_id;
    let mut edited = source.person(first).unwrap();
    edited.neighbourhood = Some("Изток".into());
    source
        .write(Origin::Local, |w| w.put_person(&edited))
        .unwrap();
    let docs = everything(&source);
    assert!(docs.len() > 300, "a batch big enough to be decoded ahead");

    let one_by_one = Store::create(&dir.path().join("one.db"), &key(), &settings()).unwrap();
    let mut one_by_one = one_by_one;
    one_by_one
        .write(Origin::Sync, |w| {
            // One document per batch: decoded in line, not ahead.
            for d in received(&docs) {
                w.apply_incoming_batch(std::slice::from_ref(&d))?;
            }
            Ok(())
        })
        .unwrap();
    let mut batched = Store::create(&dir.path().join("batch.db"), &key(), &settings()).unwrap();
    batched
        .write(Origin::Sync, |w| w.apply_incoming_batch(&received(&docs)))
        .unwrap();

    assert_eq!(heads_of(&batched), heads_of(&source));
    assert_eq!(heads_of(&batched), heads_of(&one_by_one));
    assert_eq!(
        batched.dump_projections().unwrap(),
        one_by_one.dump_projections().unwrap()
    );
    assert_eq!(
        batched.dump_projections().unwrap(),
        source.dump_projections().unwrap()
    );
    assert_eq!(batched.person(first).unwrap(), edited);
    // Received documents are in sync with the hub: nothing of them is pending.
    assert_eq!(batched.pending_count(0).unwrap(), 0);
    // Replaying the batch changes nothing.
    let seq = batched.changes_since(0, 100_000).unwrap().len();
    batched
        .write(Origin::Sync, |w| w.apply_incoming_batch(&received(&docs)))
        .unwrap();
    assert_eq!(batched.changes_since(0, 100_000).unwrap().len(), seq);
    assert_eq!(heads_of(&batched), heads_of(&source));

    // A received document edited here: pending, and the push carries only the edit (the hub
    // is known to hold the rest), which the other side merges.
    let mut moved = batched.person(first).unwrap();
    moved.neighbourhood = Some("Запад".into());
    batched
        .write(Origin::Local, |w| w.put_person(&moved))
        .unwrap();
    assert_eq!(batched.pending_count(0).unwrap(), 1);
    let out = batched.outgoing(0, usize::MAX).unwrap();
    assert_eq!(out.docs.len(), 1);
    let whole = batched.changes_after(first, &[]).unwrap();
    assert!(
        out.docs[0].changes.len() < whole.len() / 2,
        "{} bytes of {}",
        out.docs[0].changes.len(),
        whole.len()
    );
    source
        .write(Origin::Sync, |w| merge(w, first, &out.docs[0].changes))
        .unwrap()
        .expect("the edit is new there");
    assert_eq!(source.person(first).unwrap(), moved);
}

#[test]
fn a_bad_document_deep_in_a_batch_leaves_nothing_of_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut source, _) = new_store(dir.path());
    let options = ImportOptions {
        skip_invalid_screenings: true,
        recorded_by: "import".into(),
    };
    import(&mut source, Cursor::new(FIXTURE), &options).unwrap();
    let mut docs = everything(&source);
    let at = docs.len() - 10;
    // A person's bytes under a visit's id: loads, but does not hold a visit.
    let visit_at = (200..at)
        .rev()
        .find(|&i| docs[i].0.kind == DocKind::Visit)
        .unwrap();
    let person_bytes = docs
        .iter()
        .find(|(d, _)| d.kind == DocKind::Person)
        .unwrap()
        .1
        .clone();
    docs[visit_at].1 = person_bytes;
    docs[at].1 = b"not automerge".to_vec();
    let mut target = Store::create(&dir.path().join("t.db"), &key(), &settings()).unwrap();
    let outcome = target.write(Origin::Sync, |w| w.apply_incoming_batch(&received(&docs)));
    match outcome {
        Err(StoreError::Shape { doc_id, .. }) => assert_eq!(doc_id, docs[visit_at].0.doc_id),
        other => panic!("expected the visit refused as not a visit, got {other:?}"),
    }
    assert!(
        target.changes_since(0, 10).unwrap().is_empty(),
        "nothing kept"
    );
    assert!(target.dump_projections().unwrap().is_empty());
}

/// Bytes of page cache a connection holds now.
fn cache_used(conn: &rusqlite::Connection) -> i32 {
    let (mut current, mut highest) = (0, 0);
    // SAFETY: a live connection's handle; sqlite3_db_status only reads counters.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
            &mut current,
            &mut highest,
            0,
        )
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
    current
}

#[test]
fn each_connection_keeps_its_own_page_cache() {
    // The bundled SQLCipher is built without SQLITE_ENABLE_MEMORY_MANAGEMENT
    // (.cargo/config.toml): with it, all connections of a process share one page-cache LRU, and
    // the sync agent's connection, reading through a big sync, evicted the pages the app's own
    // connection had cached.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let setup = rusqlite::Connection::open(&path).unwrap();
    setup
        .execute_batch("CREATE TABLE t (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT zeroblob(4000) FROM n;")
        .unwrap();
    drop(setup);
    let read_all = |conn: &rusqlite::Connection| {
        conn.query_row("SELECT sum(length(x)) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let app = rusqlite::Connection::open(&path).unwrap();
    let agent = rusqlite::Connection::open(&path).unwrap();
    for conn in [&app, &agent] {
        conn.pragma_update(None, "cache_size", -1024).unwrap();
    }
    read_all(&app);
    let cached = cache_used(&app);
    assert!(cached > 900 * 1024, "the app's cache fills: {cached} B");
    // 8 MB through the agent's 1 MB cache.
    read_all(&agent);
    read_all(&agent);
    let after = cache_used(&app);
    assert!(
        after >= cached * 9 / 10,
        "the agent's reads left the app's cache alone: {cached} B before, {after} B after"
    );
}
