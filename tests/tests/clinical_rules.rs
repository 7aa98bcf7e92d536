//! The clinician's review sheet, `docs/clinical-rules.md`, is generated from the rules table
//! (`kabinet_core::rules::RULES`) and the slip's wording (`kabinet_slip::reason_text`), never
//! written by hand: this test fails when it is stale, and
//! `KABINET_WRITE_CLINICAL_RULES=1 cargo test -p kabinet-tests --test clinical_rules` rewrites it.

use kabinet_core::rules::{Cmp, Measure, RULES};
use kabinet_core::screening::GLUCOSE_MG_DL_PER_MMOL_L;
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

/// The same threshold in the other unit people meet it in (mg/dL, mmol/mol), rounded as
/// written; empty where there is none.
fn other_unit(m: Measure, x: f64) -> String {
    use Measure::*;
    match m {
        FastingGlucoseMmolL | RandomGlucoseMmolL | GlucoseMmolL => {
            format!("{:.0} mg/dL", x * GLUCOSE_MG_DL_PER_MMOL_L)
        }
        Hba1cPercent => format!("{:.0} mmol/mol", (x - 2.15) * 10.929),
        _ => String::new(),
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
         | rule | reads | fires when | also written | urgency | goes to | on screen (bg) | on screen (en) | on the slip (bg) | source |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for rule in RULES {
        let (what, unit) = reads(rule.measure);
        let (when, also) = match rule.cmp {
            Cmp::AtLeast(x) => (
                format!("≥ {} {unit}", number(x)),
                other_unit(rule.measure, x),
            ),
            Cmp::Below(x) => (
                format!("< {} {unit}", number(x)),
                other_unit(rule.measure, x),
            ),
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
