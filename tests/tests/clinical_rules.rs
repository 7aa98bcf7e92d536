//! The clinician's review sheet, `docs/clinical-rules.md`, is generated from the rules table
//! (`kabinet_core::rules::RULES`, with each rule's slip wording and the prompts), never
//! written by hand: this test fails when it is stale, and
//! `KABINET_WRITE_CLINICAL_RULES=1 cargo test -p kabinet-tests --test clinical_rules` rewrites it.

use kabinet_core::Lang;
use kabinet_core::rules::{Cmp, Prompt, RULES};

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
         Rules have a population: adult BMI classes and blood pressure grades are not applied\n\
         under 18 (a paediatric assessment instead); pregnancy has its own glucose and blood\n\
         pressure thresholds and no HbA1c diagnosis. Blood pressure is graded on the mean of\n\
         two readings, or of the last two of three (ESC/ESH 2018, section 4.2).\n\n\
         | rule | reads | fires when | in the other unit | for | urgency | goes to | on screen (bg) | on screen (en) | on the slip (bg) | source |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for rule in RULES {
        let (what, unit, other_unit) = rule.measure.describe();
        let other = |sign: &str| {
            rule.other_unit.map_or(String::new(), |x| {
                format!("{sign} {} {other_unit}", number(x))
            })
        };
        let (when, also) = match rule.cmp {
            Cmp::AtLeast(x) => (format!("≥ {} {unit}", number(x)), other("≥")),
            Cmp::Below(x) => (format!("< {} {unit}", number(x)), other("<")),
            Cmp::IsTrue => ("yes".to_string(), String::new()),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            rule.id,
            cell(what),
            cell(when.trim()),
            cell(&also),
            rule.population.label(Lang::En),
            rule.urgency.label(Lang::En),
            cell(rule.destination.label(Lang::En)),
            cell(rule.finding_bg),
            cell(rule.finding_en),
            cell(rule.slip.text(Lang::Bg)),
            cell(rule.source),
        ));
    }
    out.push_str(
        "\n## What the visit screen says before any referral\n\n\
         Shown in this order above the suggestions, when their condition holds.\n\n\
         | prompt | on screen (bg) | on screen (en) |\n|---|---|---|\n",
    );
    for p in [
        Prompt::CallEmergency,
        Prompt::LowGlucoseFirstAid,
        Prompt::MeasureBloodPressureAgain,
        Prompt::RepeatRapidTest(kabinet_core::ScreeningKind::Hiv),
        Prompt::RepeatRapidTest(kabinet_core::ScreeningKind::HepatitisB),
        Prompt::RepeatRapidTest(kabinet_core::ScreeningKind::HepatitisC),
        Prompt::Hba1cInPregnancy,
        Prompt::ChildRanges,
    ] {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            p.id(),
            cell(p.text(Lang::Bg)),
            cell(p.text(Lang::En))
        ));
    }
    out.push_str(
        "\n## Standard codes\n\n\
         From `crates/core/src/codes.rs` (each checked against the standard's own text; where, in a\n\
         comment beside each row). Not yet coded: ",
    );
    let uncoded: Vec<String> = kabinet_core::codes::UNCODED
        .iter()
        .map(|u| format!("`{}`", u.key))
        .collect();
    out.push_str(&uncoded.join(", "));
    out.push_str(".\n\n| key | system | code | display | unit |\n|---|---|---|---|---|\n");
    for c in kabinet_core::codes::CODES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            c.key,
            c.system.uri(),
            c.code,
            cell(c.display),
            c.unit.unwrap_or("")
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
