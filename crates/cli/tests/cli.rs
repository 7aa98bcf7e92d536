//! The `kabinet` binary end to end: real processes, real encrypted files.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The 300-visit fixture, found at run time (a test binary reused from another checkout
/// through a shared target folder would otherwise look in the folder it was built from).
fn fixture() -> String {
    format!(
        "{}/../../tests/fixtures/workload-300.jsonl",
        std::env::var("CARGO_MANIFEST_DIR").unwrap()
    )
}
const RAW_KEY: &str = "raw:0101010101010101010101010101010101010101010101010101010101010101";

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let db = Db { _dir: dir, path };
        db.cmd()
            .args(["init", "--cabinet", "cabinet-2", "--issuer", "12"])
            .assert()
            .success();
        db
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kabinet"));
        c.env("KABINET_DB", &self.path)
            .env("KABINET_KEY", RAW_KEY)
            .env_remove("KABINET_LANG");
        c
    }

    fn stdout(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn search(&self, q: &str) -> Vec<Value> {
        self.stdout(&["person", "search", q, "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn export(&self) -> Vec<Value> {
        self.stdout(&["export"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn add_rositsa(db: &Db) -> String {
    db.stdout(&[
        "person",
        "add",
        "--given-name",
        "Росица",
        "--family-name",
        "Юсеинова",
        "--egn",
        "7706245930",
        "--phone",
        "0888 123 456",
        "--neighbourhood",
        "Ралица",
        "--consent",
    ])
    .trim()
    .to_string()
}

#[test]
fn register_and_find_by_cyrillic_latin_egn_and_phone() {
    let db = Db::new();
    let id = add_rositsa(&db);
    for q in [
        "Юсеинова",
        "yuseinova",
        "Rositsa Yus",
        "7706245930",
        "0888123456",
        "+359 888 123 456",
    ] {
        let hits = db.search(q);
        assert_eq!(hits.len(), 1, "{q}");
        assert_eq!(hits[0]["id"], id.as_str(), "{q}");
    }
    assert!(db.search("Петрова").is_empty());

    let show: Value = serde_json::from_str(&db.stdout(&["person", "show", &id, "--json"])).unwrap();
    assert_eq!(
        show["person"]["birth_date"]["exact"], "1977-06-24",
        "filled from the ЕГН"
    );
    assert_eq!(show["person"]["sex"], "F");
    assert_eq!(show["person"]["consent"]["state"], "given");
    let text = db.stdout(&["person", "show", &id]);
    assert!(
        text.contains("Росица Юсеинова (Rositsa Yuseinova)"),
        "{text}"
    );
}

#[test]
fn bad_person_input_names_the_fields_and_writes_nothing() {
    let db = Db::new();
    db.cmd()
        .args([
            "person",
            "add",
            "--given-name",
            "Асен",
            "--family-name",
            "Асенов2",
            "--sex",
            "X",
            "--egn",
            "7706245931",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Фамилия: допускат се само букви"))
        .stderr(predicate::str::contains(
            "ЕГН: контролната цифра не съвпада",
        ))
        .stderr(predicate::str::contains("Пол: непозната стойност"));
    db.cmd()
        .args([
            "--lang",
            "en",
            "person",
            "add",
            "--given-name",
            "Асен",
            "--family-name",
            "Асенов",
            "--sex",
            "M",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Birth date: this field is required",
        ));
    assert!(db.export().is_empty(), "nothing was written");
}

#[test]
fn a_second_person_with_the_same_egn_is_refused() {
    let db = Db::new();
    add_rositsa(&db);
    db.cmd()
        .args([
            "person",
            "add",
            "--given-name",
            "Роза",
            "--family-name",
            "Юсеинова",
            "--egn",
            "7706245930",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("вече е записан човек с това ЕГН"));
    assert_eq!(db.export().len(), 1);
}

#[test]
fn a_likely_duplicate_is_refused_until_confirmed_as_someone_else() {
    let db = Db::new();
    add_rositsa(&db);
    // The same name, born the same year, no documents: the app and the hub refuse this until
    // the user confirms it is someone else, and so does the terminal.
    let args = [
        "person",
        "add",
        "--given-name",
        "Росица",
        "--family-name",
        "Юсеинова",
        "--sex",
        "F",
        "--birth-year",
        "1977",
        "--no-documents",
    ];
    db.cmd()
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Може би този човек вече е записан",
        ))
        .stderr(predicate::str::contains("Росица Юсеинова"))
        .stderr(predicate::str::contains("--not-a-duplicate"));
    assert_eq!(db.export().len(), 1, "nothing was written");
    db.cmd()
        .args(args)
        .arg("--not-a-duplicate")
        .assert()
        .success();
    assert_eq!(db.search("Rositsa").len(), 2);
}

#[test]
fn english_reaches_every_label_the_terminal_prints() {
    let db = Db::new();
    let id = add_rositsa(&db);
    let out = db.stdout(&[
        "--lang",
        "en",
        "visit",
        "add",
        "--person",
        &id,
        "--specialist",
        "nurse-1",
        "--at",
        "2026-03-02T08:30:00Z",
        "--hiv",
        "reactive",
        "--hiv-consent",
        "--hiv-counselled",
        "--refer",
    ]);
    assert!(
        out.contains("Referral: HIV rapid test → HIV testing cabinet"),
        "{out}"
    );
    let show = db.stdout(&["--lang", "en", "person", "show", &id]);
    assert!(show.contains("HIV rapid test"), "{show}");
    assert!(show.contains("issued"), "{show}");
    let today = db.stdout(&["--lang", "en", "today", "--day", "2026-03-02"]);
    assert!(today.contains("HIV rapid test"), "{today}");
    for text in [out, show, today] {
        assert!(
            !text.contains("ХИВ") && !text.contains("издадено") && !text.contains("КАБКИС"),
            "{text}"
        );
    }
}

#[test]
fn a_person_without_documents_is_registered_without_fuss() {
    let db = Db::new();
    db.cmd()
        .args([
            "person",
            "add",
            "--given-name",
            "Асен",
            "--family-name",
            "Асенов",
            "--sex",
            "M",
            "--birth-year",
            "1990",
            "--no-documents",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("внимание"));
    let hits = db.search("Asen 1990");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["no_documents"], true);
    assert_eq!(hits[0]["birth"], "~1990");
}

#[test]
fn a_visit_with_screenings_suggests_and_issues_referrals() {
    let db = Db::new();
    let id = add_rositsa(&db);
    let out = db.stdout(&[
        "visit",
        "add",
        "--person",
        &id,
        "--specialist",
        "nurse-1",
        "--at",
        "2026-03-02T08:30:00Z",
        "--hiv",
        "reactive",
        "--hiv-consent",
        "--hiv-counselled",
        "--glucose",
        "130",
        "--glucose-unit",
        "mg/dL",
        "--fasting",
        "--bp",
        "165/95",
        "--refer",
    ]);
    assert!(out.contains("КАБКИС — потвърдително изследване"), "{out}");
    assert!(out.contains("нужно е потвърдително изследване"), "{out}");
    assert!(
        out.contains("[12-00001-"),
        "codes carry the issuer number: {out}"
    );
    let show: Value = serde_json::from_str(&db.stdout(&["person", "show", &id, "--json"])).unwrap();
    let visits = show["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["screenings"]["hiv"]["result"], "reactive");
    assert_eq!(visits[0]["screenings"]["glucose"]["unit"], "mg_dl");
    assert_eq!(visits[0]["cabinet"], "cabinet-2");
    let referrals = show["referrals"].as_array().unwrap();
    assert_eq!(referrals.len(), 3, "HIV, glucose, blood pressure");
    let today = db.stdout(&["today", "--day", "2026-03-02"]);
    assert!(today.contains("Росица Юсеинова"), "{today}");
}

#[test]
fn an_hiv_result_without_consent_is_refused_and_nothing_is_written() {
    let db = Db::new();
    let id = add_rositsa(&db);
    db.cmd()
        .args([
            "visit",
            "add",
            "--person",
            &id,
            "--specialist",
            "nurse-1",
            "--hiv",
            "non-reactive",
            "--glucose",
            "5.5",
            "--random",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Информирано съгласие за ХИВ тест"))
        .stderr(predicate::str::contains("Консултиране преди ХИВ тест"));
    db.cmd()
        .args([
            "visit",
            "add",
            "--person",
            &id,
            "--specialist",
            "nurse-1",
            "--glucose",
            "70",
            "--fasting",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Кръвна захар: 70 mmol/L е извън възможния диапазон 0.5–50 mmol/L",
        ));
    let show: Value = serde_json::from_str(&db.stdout(&["person", "show", &id, "--json"])).unwrap();
    assert!(show["visits"].as_array().unwrap().is_empty());
}

/// A glucose without its fasting state is refused with the flags to choose from, and an
/// emergency prints "call 112" before anything else.
#[test]
fn a_glucose_needs_its_fasting_state_and_an_emergency_says_112_first() {
    let db = Db::new();
    let id = add_rositsa(&db);
    let visit = |extra: &[&str]| {
        let mut args = vec!["visit", "add", "--person", &id, "--specialist", "nurse-1"];
        args.extend_from_slice(extra);
        db.cmd().args(args).assert()
    };
    visit(&["--glucose", "7.5"])
        .code(2)
        .stderr(predicate::str::contains(
            "--fasting | --random | --fasting-unknown",
        ));
    let out = visit(&["--bp", "190/115", "--chest-pain", "--refer"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("СПЕШНО: обадете се на 112"), "{text}");
    assert!(text.contains("Спешна помощ"), "{text}");
}

#[test]
fn a_visit_for_an_unknown_person_is_refused() {
    let db = Db::new();
    db.cmd()
        .args([
            "visit",
            "add",
            "--person",
            "01900000-0000-7000-8000-000000000000",
            "--specialist",
            "n",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("няма лице с идентификатор"));
}

#[test]
fn import_refuses_invalid_lines_then_imports_and_round_trips_through_export() {
    let db = Db::new();
    db.cmd()
        .args(["import", &fixture()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ред "))
        .stderr(predicate::str::contains("нищо не е внесено"));
    assert!(db.export().is_empty());

    db.cmd()
        .args(["import", &fixture(), "--skip-invalid-screenings"])
        .assert()
        .success()
        .stdout(predicate::str::contains("посещения: 300"));
    let exported = db.export();
    let count = |t: &str| exported.iter().filter(|l| l["type"] == t).count();
    assert_eq!(count("visit"), 300);
    assert!(count("person") > 150 && count("referral") > 100);

    // Export → import into a fresh database → the same export.
    let other = Db::new();
    let file = other.path.with_extension("jsonl");
    db.cmd()
        .args(["export", "-o", file.to_str().unwrap()])
        .assert()
        .success();
    other
        .cmd()
        .args(["import", file.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(other.export(), exported);
    // And the search projection works on the imported data.
    assert!(!other.search("Юсеинова").is_empty());
}

#[test]
fn egn_checks_lines_from_stdin() {
    let out = Command::new(env!("CARGO_BIN_EXE_kabinet"))
        .arg("egn")
        .write_stdin("7706245930\n7552010005\n7706245931\n12345\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        serde_json::json!({"input": "7706245930", "valid": true, "birth_date": "1977-06-24", "sex": "F", "error": null})
    );
    assert_eq!(lines[1]["birth_date"], "2075-12-01");
    assert_eq!(lines[1]["sex"], "M");
    assert_eq!(lines[2]["valid"], false);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("контролната цифра")
    );
    assert_eq!(lines[3]["birth_date"], Value::Null);
    assert!(lines[3]["error"].as_str().unwrap().contains("10 цифри"));
}

#[test]
fn keys_missing_wrong_or_in_the_environment() {
    let db = Db::new();
    let mut no_key = db.cmd();
    no_key.env_remove("KABINET_KEY");
    no_key
        .args(["person", "search", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("KABINET_KEY"));
    db.cmd()
        .args(["--key", "wrong", "person", "search", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("грешен ключ"));
    db.cmd()
        .args(["init"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("вече има база"));
    db.cmd()
        .args(["--db", "/nonexistent/dir/x.db", "person", "search", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("kabinet init"));
}

#[test]
fn a_passphrase_database_is_unreadable_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path: &Path = &dir.path().join("p.db");
    let cmd = |key: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kabinet"));
        c.env("KABINET_DB", path).env("KABINET_KEY", key);
        c
    };
    cmd("парола за кабинета").arg("init").assert().success();
    cmd("парола за кабинета")
        .args([
            "person",
            "add",
            "--given-name",
            "Златка",
            "--family-name",
            "Щерева",
            "--sex",
            "F",
            "--birth-year",
            "1970",
        ])
        .assert()
        .success();
    let bytes = std::fs::read(path).unwrap();
    assert!(
        !bytes
            .windows("Щерева".len())
            .any(|w| w == "Щерева".as_bytes())
    );
    cmd("друга парола")
        .args(["person", "search", "Щерева"])
        .assert()
        .failure();
    cmd("парола за кабинета")
        .args(["person", "search", "Shtereva"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Златка Щерева"));
}

/// `person edit` changes only the fields given; a birth date needs --reason; the terminal
/// says which fields changed and the record shows the correction.
#[test]
fn person_edit_corrects_the_fields_given_and_asks_a_reason_for_identity() {
    let db = Db::new();
    let id = add_rositsa(&db);
    let out = db.stdout(&["person", "edit", &id, "--phone", "0877 000 111"]);
    assert!(out.contains("Поправено: phone"), "{out}");
    db.cmd()
        .args(["person", "edit", &id, "--egn", "7502010014"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Причина за корекцията"));
    let out = db.stdout(&[
        "person",
        "edit",
        &id,
        "--egn",
        "7502010014",
        "--reason",
        "сверено с личната карта",
    ]);
    assert!(out.contains("egn") && out.contains("birth_date"), "{out}");
    let show: Value = serde_json::from_str(&db.stdout(&["person", "show", &id, "--json"])).unwrap();
    assert_eq!(show["person"]["phone"], "+359877000111");
    assert_eq!(show["person"]["egn"], "7502010014");
    assert_eq!(show["person"]["neighbourhood"], "Ралица", "untouched");
    assert_eq!(
        show["person"]["corrections"][1]["reason"],
        "сверено с личната карта"
    );
    let out = db.stdout(&["person", "edit", &id, "--phone", "0877 000 111"]);
    assert!(out.contains("Няма промени"), "{out}");
}

/// `visit correct` replaces the values given and, with --refer, issues what the corrected
/// values suggest and cancels what they no longer do; `visit void` marks it entered in error.
#[test]
fn visit_correct_and_void_from_the_terminal() {
    let db = Db::new();
    let id = add_rositsa(&db);
    let out = db.stdout(&[
        "visit",
        "add",
        "--person",
        &id,
        "--specialist",
        "nurse-1",
        "--glucose",
        "12,6",
        "--random",
        "--refer",
    ]);
    let visit = out.lines().next().unwrap().trim().to_string();
    db.cmd()
        .args(["visit", "correct", &visit, "--glucose", "2,6"])
        .assert()
        .code(2);
    let out = db.stdout(&[
        "visit",
        "correct",
        &visit,
        "--glucose",
        "2,6",
        "--reason",
        "грешно въведена",
        "--refer",
    ]);
    assert!(out.contains("Поправено: Кръвна захар"), "{out}");
    assert!(out.contains("Отменени направления: 1"), "{out}");
    let show: Value = serde_json::from_str(&db.stdout(&["person", "show", &id, "--json"])).unwrap();
    let statuses: Vec<&str> = show["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"cancelled") && statuses.contains(&"issued"),
        "{statuses:?}"
    );
    let out = db.stdout(&["visit", "void", &visit, "--reason", "друг човек"]);
    assert!(out.contains("въведено по грешка"), "{out}");
    let show: Value = serde_json::from_str(&db.stdout(&["person", "show", &id, "--json"])).unwrap();
    assert_eq!(show["visits"][0]["voided"]["reason"], "друг човек");
}
