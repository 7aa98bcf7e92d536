//! The clinician's review sheet, `docs/clinical-rules.md`, is generated from the rules table
//! (`kabinet_core::rules::RULES`) and the slip's wording (`kabinet_slip::reason_text`), never
//! written by hand: this test fails when it is stale, and
//! `KABINET_WRITE_CLINICAL_RULES=1 cargo test -p kabinet-tests --test clinical_rules` rewrites it.

use kabinet_core::rules::{Cmp, Measure, RULES};
use kabinet_core::{Lang, ReferralReason};

/// What a rule reads, in the unit its threshold is written in.
fn reads(m: Measure) -> (&'static str, &'static str) {
    use Measure::*;
    match m {
        FastingGlucoseMmolL => ("capillary glucose, fasting", "mmol/L"),
        RandomGlucoseMmolL => ("capillary glucose, random", "mmol/L"),
        GlucoseMmolL => ("capillary glucose, any", "mmol/L"),
        Hba1cPercent => ("HbA1c", "%"),
        Systolic => ("systolic blood pressure", "mmHg"),
        Diastolic => ("diastolic blood pressure", "mmHg"),
        Bmi => ("body mass index", "kg/m²"),
        TbAnySymptom => (
            "TB symptom screen: any of cough, fever, night sweats, weight loss",
            "",
        ),
        TbCoughWeeks => ("cough", "weeks"),
        TbContact => ("contact with a person with TB", ""),
        HivReactive => ("HIV 1+2 rapid test reactive", ""),
        HivInvalid => ("HIV rapid test invalid", ""),
        HbsagReactive => ("HBsAg rapid test reactive", ""),
        AntiHcvReactive => ("anti-HCV rapid test reactive", ""),
        HepatitisInvalid => ("HBsAg or anti-HCV rapid test invalid", ""),
    }
}

/// The other unit a measure is entered in, if it has one.
fn other_unit_name(m: Measure) -> &'static str {
    use Measure::*;
    match m {
        FastingGlucoseMmolL | RandomGlucoseMmolL | GlucoseMmolL => "mg/dL",
        Hba1cPercent => "mmol/mol",
        _ => "",
    }
}

fn number(x: f64) -> String {
    let text = format!("{x}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_string)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn generated() -> String {
    let mut out = String::from(
        "# Screening rules: the clinician's review sheet\n\n\
         Generated from `crates/core/src/rules.rs` (the rules table) and the slip's wording\n\
         (`crates/slip/src/lib.rs`) by `tests/tests/clinical_rules.rs`; do not edit by hand:\n\
         `KABINET_WRITE_CLINICAL_RULES=1 cargo test -p kabinet-tests --test clinical_rules`.\n\n\
         **These rules need review and sign-off by a Bulgarian clinician before field use.**\n\
         Each rule suggests a referral the specialist confirms, edits or drops; nothing here is a\n\
         diagnosis. Where several rules of one screening fire, the most urgent is kept.\n\n\
         A threshold published in two units (glucose in mmol/L and mg/dL, HbA1c in % and\n\
         mmol/mol) is kept in both, as published, and a value is compared in the unit it was\n\
         entered in: no conversion moves a boundary (126 mg/dL is the diabetic fasting range,\n\
         as 7.0 mmol/L is). \"in the other unit\" below is that second threshold.\n\n\
         | rule | reads | fires when | in the other unit | urgency | goes to | on screen (bg) | on screen (en) | on the slip (bg) | source |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for rule in RULES {
        let (what, unit) = reads(rule.measure);
        let other = |sign: &str| {
            rule.other_unit.map_or(String::new(), |x| {
                format!("{sign} {} {}", number(x), other_unit_name(rule.measure))
            })
        };
        let (when, also) = match rule.cmp {
            Cmp::AtLeast(x) => (format!("≥ {} {unit}", number(x)), other("≥")),
            Cmp::Below(x) => (format!("< {} {unit}", number(x)), other("<")),
            Cmp::IsTrue => ("yes".to_string(), String::new()),
        };
        let slip: Vec<&str> = rule
            .measure
            .kinds()
            .iter()
            .map(|k| kabinet_slip::reason_text(ReferralReason::Screening(*k), Lang::Bg))
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            rule.id,
            cell(what),
            cell(when.trim()),
            cell(&also),
            rule.urgency.label(Lang::En),
            cell(rule.destination.label(Lang::En)),
            cell(rule.finding_bg),
            cell(rule.finding_en),
            cell(&slip.join(" / ")),
            cell(rule.source),
        ));
    }
    out
}

#[test]
fn the_review_sheet_is_generated_from_the_rules_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/clinical-rules.md");
    let want = generated();
    if std::env::var_os("KABINET_WRITE_CLINICAL_RULES").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/clinical-rules.md is stale: run KABINET_WRITE_CLINICAL_RULES=1 cargo test -p kabinet-tests --test clinical_rules"
    );
}
