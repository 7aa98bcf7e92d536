//! Slips checked with the tools a reader or a printer shop would use: qpdf says the PDF is
//! valid, pdftotext finds the person's Cyrillic name, the code and the reason, zbarimg reads
//! the QR back as the code, and a low-resolution render is compared with a golden image.

use chrono::{TimeZone, Utc};
use kabinet_core::testing;
use kabinet_core::*;
use kabinet_slip::{Paper, Place, Slip, reason_text, render};
use std::path::Path;
use std::process::Command;
use uuid::Uuid;

fn person() -> Person {
    let draft = PersonDraft {
        given_name: "Росица".into(),
        family_name: "Юсеинова".into(),
        egn: Some("7706245930".into()),
        ..Default::default()
    };
    let recorded = Recorded {
        by: "test".into(),
        at: Utc::now(),
    };
    draft
        .validate(Uuid::nil(), Utc::now().date_naive(), &recorded)
        .unwrap()
        .value
}

fn referral(reason: ReferralReason, destination: &str) -> Referral {
    let mut r = testing::referral(
        Uuid::nil(),
        Uuid::nil(),
        ReferralCode::new(7, 42),
        reason,
        Destination::parse(destination).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 15, 0).unwrap(),
    );
    r.history[0].by = "мед. сестра Петрова".into();
    r
}

fn hub() -> Place {
    Place {
        name: "Социално-здравен хъб — Перник".into(),
        address: "ул. „Кракра“ 1, 2300 Перник".into(),
        phone: "076 000 000".into(),
        hours: String::new(),
    }
}

fn slip(reason: ReferralReason, destination: &str, place: &str) -> Slip {
    Slip::of(
        &referral(reason, destination),
        &person(),
        hub(),
        "cabinet-1",
        Place {
            name: place.into(),
            address: "бул. „Освобождение“ 12, Перник".into(),
            phone: "076 111 222".into(),
            hours: "пон.–пет. 8:30–17:00".into(),
        },
        "Мария Петрова, медицинска сестра",
    )
}

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} is needed for this test (apt: poppler-utils, qpdf, zbar-tools): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn a_slip_is_valid_searchable_and_its_qr_reads_back_as_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let s = slip(
        ReferralReason::Screening(ScreeningKind::Hiv),
        "hiv-confirmatory",
        "КАБКИС — ХИВ изследване",
    );
    let pdf = render(std::slice::from_ref(&s), Paper::A5).unwrap();
    assert!(pdf.len() <= 100 * 1024, "{} bytes", pdf.len());
    if let Some(out) = std::env::var_os("KABINET_SLIP_SAMPLE") {
        std::fs::write(out, &pdf).unwrap();
    }
    let path = write(dir.path(), "slip.pdf", &pdf);
    tool("qpdf", &["--check", &path]);
    // Lines wrap where the layout decides: compare with white space folded.
    let text = tool("pdftotext", &[&path, "-"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "Росица Юсеинова",
        "Rositsa Yuseinova",
        "07-00042-",
        "потвърдително изследване",
        "******5930",
        "24.06.1977",
        "02.03.2026 10:15",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    assert!(
        !text.contains("7706245930"),
        "the full ЕГН must not be printed"
    );
    let png = dir.path().join("page");
    tool(
        "pdftoppm",
        &[
            "-r",
            "200",
            "-png",
            "-singlefile",
            &path,
            png.to_str().unwrap(),
        ],
    );
    let qr = tool(
        "zbarimg",
        &["--nodbus", "-q", "--raw", &format!("{}.png", png.display())],
    );
    assert_eq!(qr.trim(), s.code);
}

#[test]
fn a_social_slip_of_a_person_with_a_reactive_hiv_test_says_nothing_of_hiv() {
    let dir = tempfile::tempdir().unwrap();
    let s = slip(
        ReferralReason::Social,
        "hub-social-worker",
        "Социален работник (Хъб)",
    );
    assert_eq!(s.reason, reason_text(ReferralReason::Social, Lang::Bg));
    let path = write(dir.path(), "social.pdf", &render(&[s], Paper::A5).unwrap());
    let text = tool("pdftotext", &[&path, "-"]).to_lowercase();
    for word in ["хив", "hiv", "спин", "aids", "реактив", "потвърдит"] {
        assert!(!text.contains(word), "{word:?} on a social slip:\n{text}");
    }
    assert!(text.contains("социална подкрепа"));
}

#[test]
fn a6_and_a_batch_of_slips() {
    let dir = tempfile::tempdir().unwrap();
    let slips: Vec<Slip> = (0..5)
        .map(|_| slip(ReferralReason::Legal, "hub-lawyer", "Юрист (Хъб)"))
        .collect();
    let path = write(dir.path(), "batch.pdf", &render(&slips, Paper::A6).unwrap());
    tool("qpdf", &["--check", &path]);
    let info = tool("pdfinfo", &[&path]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("Pages:"), "5", "{info}");
    assert!(
        field("Page size:").starts_with("297.64 x 419.53 pts"),
        "{info}"
    );
}

/// Reads a binary PGM (P5) as (width, height, pixels).
fn pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[i + 1..].to_vec())
}

#[test]
fn the_layout_matches_the_golden_render() {
    let dir = tempfile::tempdir().unwrap();
    let s = slip(
        ReferralReason::Screening(ScreeningKind::Glucose),
        "hub-gp",
        "Лекар (Хъб)",
    );
    let path = write(dir.path(), "golden.pdf", &render(&[s], Paper::A5).unwrap());
    let out = dir.path().join("render");
    tool(
        "pdftoppm",
        &[
            "-r",
            "40",
            "-gray",
            "-singlefile",
            &path,
            out.to_str().unwrap(),
        ],
    );
    let rendered = dir.path().join("render.pgm");
    // Read at run time: a test binary reused from another checkout (a shared target folder)
    // would otherwise look in the folder it was built from.
    let golden = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/golden/slip-a5-40dpi.pgm");
    if std::env::var_os("KABINET_UPDATE_GOLDEN").is_some() {
        std::fs::copy(&rendered, &golden).unwrap();
    }
    let (w1, h1, a) = pgm(&rendered);
    let (w2, h2, b) = pgm(&golden);
    assert_eq!((w1, h1), (w2, h2), "page size changed");
    // Pixels that differ clearly; anti-aliasing noise stays below the threshold.
    let changed = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.abs_diff(**y) > 64)
        .count();
    let share = changed as f64 / a.len() as f64;
    assert!(
        share < 0.002,
        "{:.2}% of the page differs from tests/golden/slip-a5-40dpi.pgm; if the layout change is intended, run with KABINET_UPDATE_GOLDEN=1",
        share * 100.0
    );
}

/// A slip says what its rule found, not what its screening kind usually means: a low glucose
/// prints "low". An emergency slip leads with "СПЕШНО — 112" in the text a reader sees first.
#[test]
fn a_slip_prints_its_rule_s_wording_and_an_emergency_leads_with_112() {
    let dir = tempfile::tempdir().unwrap();
    let mut low = referral(ReferralReason::Screening(ScreeningKind::Glucose), "hub-gp");
    low.finding = Some("glucose.hypo.level2".into());
    low.urgency = Urgency::SameDay;
    let mut emergency = referral(
        ReferralReason::Screening(ScreeningKind::BloodPressure),
        "emergency",
    );
    emergency.finding = Some("bp.emergency.systolic".into());
    emergency.urgency = Urgency::Emergency;
    let slips: Vec<Slip> = [&low, &emergency]
        .iter()
        .map(|r| {
            Slip::of(
                r,
                &person(),
                hub(),
                "cabinet-1",
                Place {
                    name: "Спешна помощ".into(),
                    ..Place::default()
                },
                "Мария Петрова",
            )
        })
        .collect();
    assert!(
        slips[0].reason.contains("Ниска кръвна захар"),
        "{}",
        slips[0].reason
    );
    assert!(!slips[0].emergency && slips[1].emergency);
    let pdf = render(&slips, Paper::A5).unwrap();
    let path = write(dir.path(), "slips.pdf", &pdf);
    let page = |n: &str| {
        tool("pdftotext", &["-f", n, "-l", n, &path, "-"])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (first, second) = (page("1"), page("2"));
    assert!(first.contains("Ниска кръвна захар"), "{first}");
    assert!(!first.contains("СПЕШНО"), "{first}");
    assert!(second.starts_with("Социално-здравен хъб"), "{second}");
    let banner = second.find("СПЕШНО — 112").expect("the emergency banner");
    assert!(banner < second.find("НАПРАВЛЕНИЕ").unwrap(), "{second}");
    assert!(
        second.contains("много високо кръвно налягане с оплаквания"),
        "{second}"
    );
}

/// An anonymous HIV slip, as anonymous testing centres work: the code, birth year and sex;
/// no name in either script and no digit of the ЕГН anywhere in the PDF's text.
#[test]
fn an_anonymous_slip_prints_the_code_birth_year_and_sex_only() {
    let dir = tempfile::tempdir().unwrap();
    let r = referral(
        ReferralReason::Screening(ScreeningKind::Hiv),
        "hiv-confirmatory",
    );
    assert!(kabinet_slip::may_be_anonymous(&r));
    assert!(!kabinet_slip::may_be_anonymous(&referral(
        ReferralReason::Screening(ScreeningKind::Glucose),
        "hub-gp"
    )));
    let s = slip(
        ReferralReason::Screening(ScreeningKind::Hiv),
        "hiv-confirmatory",
        "КАБКИС",
    )
    .anonymous(&person());
    let pdf = render(&[s], Paper::A5).unwrap();
    let path = write(dir.path(), "anonymous.pdf", &pdf);
    let text = tool("pdftotext", &[&path, "-"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for absent in ["Росица", "Юсеинова", "Rositsa", "5930", "24.06"] {
        assert!(!text.contains(absent), "{absent:?} in:\n{text}");
    }
    for present in [
        "07-00042-",
        "1977 г., жена",
        "Анонимно",
        "потвърдително изследване",
    ] {
        assert!(text.contains(present), "{present:?} not in:\n{text}");
    }
}
