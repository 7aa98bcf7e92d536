//! The programme report as DHIS2 `dataValueSets` JSON (issue #19): the health authorities'
//! and many funders' systems take aggregate numbers this way. Which number goes to which data
//! element (and category option combo, and organisation unit) is the operator's mapping file
//! (TOML, `docs/dhis2.md`), checked whole before anything is written: every mistake named by
//! its entry and field.
//!
//! Only numbers the report shows leave: a cell suppressed under the small-number rule ("<5")
//! is not sent at all (DHIS2 would read any number put in its place as the truth), and is
//! counted in what [`data_value_set`] says it skipped.

use crate::report::ReportView;
use chrono::{Datelike, NaiveDate};
use kabinet_core::indicators::{Breakdown, Indicator, Unit, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The operator's mapping, as the file spells it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The programme's organisation unit: whole-programme values and every breakdown but the
    /// cabinet one are reported under it.
    pub org_unit: String,
    /// The data set the values belong to, if the receiving instance wants it named.
    #[serde(default)]
    pub data_set: Option<String>,
    /// A cabinet's own organisation unit, for values by cabinet.
    #[serde(default)]
    pub cabinets: BTreeMap<String, String>,
    /// One entry per indicator and breakdown sent.
    #[serde(default, rename = "value")]
    pub values: Vec<MappedValue>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedValue {
    /// An indicator's id (`reach.persons`, `screened.hiv`…).
    pub indicator: String,
    /// `programme` (the default), `cabinet`, `sex`, `age_esf`, `age_who`, `month`,
    /// `neighbourhood`, `destination_urgency` or `closure_reason`.
    #[serde(default)]
    pub breakdown: Option<String>,
    pub data_element: String,
    /// For a whole-programme, by-cabinet or by-month value: its combo, if not the default.
    #[serde(default)]
    pub category_option_combo: Option<String>,
    /// For any other breakdown: each cell's key (`F`, `18-29`, `goals_met`…) and its combo.
    #[serde(default)]
    pub category_option_combos: BTreeMap<String, String>,
    /// For a percentage: which of its two counts is sent (DHIS2 computes its own ratios).
    #[serde(default)]
    pub part: Option<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Numerator,
    Denominator,
}

/// What DHIS2's `POST /api/dataValueSets` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataValueSet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set: Option<String>,
    pub period: String,
    pub org_unit: String,
    pub data_values: Vec<DataValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataValue {
    pub data_element: String,
    pub period: String,
    pub org_unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_option_combo: Option<String>,
    pub value: String,
}

/// What was not sent, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Cells hidden by the small-number rule (`<5`) and those withheld beside them (`x`).
    pub suppressed: usize,
    /// Cells whose key (a cabinet, a sex, a band…) the mapping gives no combo or unit.
    pub unmapped: usize,
    /// Mapped indicators the report does not have (a class the reader may not see, team
    /// indicators without cases, the hub's counts in a device's report).
    pub absent: usize,
}

/// A mistake in the mapping file or a period DHIS2 has no name for, named so it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dhis2Error {
    #[error("the mapping file is not valid TOML: {0}")]
    Syntax(String),
    #[error("{at}: {problem}")]
    Mapping { at: String, problem: String },
    #[error(
        "--from {from} --to {to}: DHIS2 takes a calendar month, quarter or year (for example --from 2026-01-01 --to 2026-03-31)"
    )]
    Period { from: NaiveDate, to: NaiveDate },
}

/// The cells a breakdown can have, where they are a closed set.
fn known_keys(b: Breakdown) -> Option<Vec<String>> {
    use kabinet_core::indicators::{ESF_BANDS, who_band};
    Some(match b {
        Breakdown::Sex => [kabinet_core::Sex::F, kabinet_core::Sex::M]
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        Breakdown::AgeEsf => ESF_BANDS.iter().map(|b| b.to_string()).collect(),
        Breakdown::AgeWho => (0..=80)
            .step_by(5)
            .map(Some)
            .chain([None])
            .map(who_band)
            .collect(),
        Breakdown::ClosureReason => kabinet_core::case::ClosureReason::ALL
            .iter()
            .map(|r| r.as_str().to_string())
            .chain(["unknown".to_string()])
            .collect(),
        _ => return None,
    })
}

/// DHIS2 identifiers: eleven letters and digits, a letter first.
fn is_uid(s: &str) -> bool {
    s.len() == 11
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
}

impl Mapping {
    /// Reads and checks a mapping file's text: every problem at once.
    pub fn parse(text: &str) -> Result<Mapping, Vec<Dhis2Error>> {
        let mapping: Mapping =
            toml::from_str(text).map_err(|e| vec![Dhis2Error::Syntax(e.to_string())])?;
        let mut problems = Vec::new();
        let mut problem = |at: String, problem: String| {
            problems.push(Dhis2Error::Mapping { at, problem });
        };
        let uid = |at: String, s: &str, problem: &mut dyn FnMut(String, String)| {
            if !is_uid(s) {
                problem(
                    at,
                    format!(
                        "\"{s}\" is not a DHIS2 id (eleven letters and digits, a letter first)"
                    ),
                );
            }
        };
        uid("org_unit".into(), &mapping.org_unit, &mut problem);
        if let Some(ds) = &mapping.data_set {
            uid("data_set".into(), ds, &mut problem);
        }
        for (cabinet, ou) in &mapping.cabinets {
            uid(format!("cabinets.\"{cabinet}\""), ou, &mut problem);
        }
        let mut targets = std::collections::HashSet::new();
        for (i, v) in mapping.values.iter().enumerate() {
            let at = |field: &str| format!("value #{} ({}): {field}", i + 1, v.indicator);
            let Some(indicator) = Indicator::by_id(&v.indicator) else {
                problem(
                    format!("value #{}: indicator", i + 1),
                    format!(
                        "no indicator \"{}\" (the ids are in the report's JSON and CSV)",
                        v.indicator
                    ),
                );
                continue;
            };
            uid(at("data_element"), &v.data_element, &mut problem);
            let name = v.breakdown.as_deref().unwrap_or("programme");
            let Some(breakdown) = indicator
                .breakdowns()
                .iter()
                .copied()
                .find(|b| b.as_str() == name)
            else {
                let has: Vec<&str> = indicator.breakdowns().iter().map(|b| b.as_str()).collect();
                problem(
                    at("breakdown"),
                    format!(
                        "\"{name}\" is not one of this indicator's: {}",
                        has.join(", ")
                    ),
                );
                continue;
            };
            let by_key = !matches!(
                breakdown,
                Breakdown::Programme | Breakdown::Cabinet | Breakdown::Month
            );
            match (by_key, v.category_option_combos.is_empty()) {
                (true, true) => problem(
                    at("category_option_combos"),
                    format!(
                        "a value by {name} needs each cell's combo, e.g. {{ F = \"…\", M = \"…\" }}"
                    ),
                ),
                (false, false) => problem(
                    at("category_option_combos"),
                    format!("a value by {name} has one combo: category_option_combo"),
                ),
                _ => {}
            }
            if by_key && v.category_option_combo.is_some() {
                problem(
                    at("category_option_combo"),
                    format!("a value by {name} names a combo per cell: category_option_combos"),
                );
            }
            if let Some(coc) = &v.category_option_combo {
                uid(at("category_option_combo"), coc, &mut problem);
            }
            for (key, coc) in &v.category_option_combos {
                if let Some(known) = known_keys(breakdown)
                    && !known.contains(key)
                {
                    problem(
                        at(&format!("category_option_combos.\"{key}\"")),
                        format!("no cell \"{key}\" by {name}: one of {}", known.join(", ")),
                    );
                }
                uid(
                    at(&format!("category_option_combos.\"{key}\"")),
                    coc,
                    &mut problem,
                );
            }
            match (indicator.unit, v.part) {
                (Unit::Percent, None) => problem(
                    at("part"),
                    "a percentage is sent as one of its counts: part = \"numerator\" or \"denominator\"".into(),
                ),
                (Unit::Percent, Some(_)) | (_, None) => {}
                (_, Some(_)) => problem(at("part"), "only a percentage has parts".into()),
            }
            // The same number twice is a mapping mistake DHIS2 would silently overwrite.
            let combos: Vec<Option<&String>> = match by_key {
                true => v.category_option_combos.values().map(Some).collect(),
                false => vec![v.category_option_combo.as_ref()],
            };
            for coc in combos {
                // Cells of any two per-cell breakdowns land on the same period and unit.
                let class = if by_key { None } else { Some(breakdown) };
                if !targets.insert((v.data_element.clone(), coc.cloned(), class)) {
                    problem(
                        at("data_element"),
                        format!(
                            "{} {} is already the target of another value",
                            v.data_element,
                            coc.map(String::as_str).unwrap_or("(default combo)")
                        ),
                    );
                }
            }
        }
        match problems.is_empty() {
            true => Ok(mapping),
            false => Err(problems),
        }
    }
}

/// DHIS2's name of a period: a calendar month (`202603`), quarter (`2026Q1`) or year (`2026`).
pub fn period(from: NaiveDate, to: NaiveDate) -> Result<String, Dhis2Error> {
    let last_of = |year: i32, month: u32| {
        let (y, m) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.pred_opt())
    };
    let (y, m) = (from.year(), from.month());
    if from.day() == 1 && to.year() == y {
        if Some(to) == last_of(y, m) {
            return Ok(format!("{y}{m:02}"));
        }
        if (m - 1) % 3 == 0 && Some(to) == last_of(y, m + 2) {
            return Ok(format!("{y}Q{}", (m - 1) / 3 + 1));
        }
        if m == 1 && Some(to) == last_of(y, 12) {
            return Ok(format!("{y}"));
        }
    }
    Err(Dhis2Error::Period { from, to })
}

/// The report's numbers as the mapping sends them.
pub fn data_value_set(
    report: &ReportView,
    mapping: &Mapping,
) -> Result<(DataValueSet, Skipped), Dhis2Error> {
    let whole = period(report.from, report.to)?;
    // A one-cabinet report is that cabinet's, under its own unit: never under the
    // programme's, whose numbers it would replace in DHIS2.
    let org_unit = match &report.cabinet {
        None => mapping.org_unit.clone(),
        Some(c) => mapping
            .cabinets
            .get(c)
            .ok_or_else(|| Dhis2Error::Mapping {
                at: "cabinets".into(),
                problem: format!(
                    "--cabinet {c} has no organisation unit in the mapping: add \"{c}\" = \"…\" under [cabinets]"
                ),
            })?
            .clone(),
    };
    let mut values = Vec::new();
    let mut skipped = Skipped::default();
    for v in &mapping.values {
        let name = v.breakdown.as_deref().unwrap_or("programme");
        let cells: Vec<_> = report
            .rows
            .iter()
            .filter(|r| r.indicator == v.indicator && r.breakdown.as_str() == name)
            .collect();
        if cells.is_empty() {
            skipped.absent += 1;
            continue;
        }
        for cell in cells {
            let number = match (&cell.value, v.part) {
                (Value::Suppressed | Value::Withheld, _) => {
                    skipped.suppressed += 1;
                    continue;
                }
                (Value::Count(n), _) => n.to_string(),
                (Value::Number(x), _) => format!("{x:.1}"),
                (
                    Value::Percent {
                        numerator,
                        denominator,
                    },
                    part,
                ) => match part {
                    Some(Part::Denominator) => denominator.to_string(),
                    _ => numerator.to_string(),
                },
            };
            let (period, org_unit, combo) = match cell.breakdown {
                Breakdown::Programme => (
                    whole.clone(),
                    org_unit.clone(),
                    v.category_option_combo.clone(),
                ),
                Breakdown::Cabinet => match mapping.cabinets.get(&cell.key) {
                    Some(ou) => (whole.clone(), ou.clone(), v.category_option_combo.clone()),
                    None => {
                        skipped.unmapped += 1;
                        continue;
                    }
                },
                // "2026-03" → "202603".
                Breakdown::Month => (
                    cell.key.replace('-', ""),
                    org_unit.clone(),
                    v.category_option_combo.clone(),
                ),
                _ => match v.category_option_combos.get(&cell.key) {
                    Some(coc) => (whole.clone(), org_unit.clone(), Some(coc.clone())),
                    None => {
                        skipped.unmapped += 1;
                        continue;
                    }
                },
            };
            values.push(DataValue {
                data_element: v.data_element.clone(),
                period,
                org_unit,
                category_option_combo: combo,
                value: number,
            });
        }
    }
    // DHIS2 keeps one value per data element, period, unit and combo: a second would
    // silently replace the first (a month's by-month value and a one-month report's total).
    let mut seen = std::collections::HashSet::new();
    for v in &values {
        if !seen.insert((
            &v.data_element,
            &v.period,
            &v.org_unit,
            &v.category_option_combo,
        )) {
            return Err(Dhis2Error::Mapping {
                at: format!("data_element {}", v.data_element),
                problem: format!(
                    "two values for period {}, unit {}, combo {}: map them to different data elements or combos",
                    v.period,
                    v.org_unit,
                    v.category_option_combo.as_deref().unwrap_or("(default)")
                ),
            });
        }
    }
    Ok((
        DataValueSet {
            data_set: mapping.data_set.clone(),
            period: whole,
            org_unit,
            data_values: values,
        },
        skipped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kabinet_core::indicators::{Report, ReportRequest, VisitFact};
    use kabinet_core::{AccessClass, Lang, ScreeningKind, Sex};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Six women tested for HIV in March in cabinet-1 (one reactive), one man in cabinet-2.
    fn march() -> ReportView {
        let hiv = kabinet_core::indicators::kind_bit(ScreeningKind::Hiv);
        let visit = |person: u128, sex, cabinet, reactive: bool| VisitFact {
            person,
            cabinet,
            day: day("2026-03-10"),
            voided: false,
            sex,
            birth_year: Some(1980),
            neighbourhood: None,
            no_documents: false,
            data_consent: true,
            first_visit: day("2026-03-10"),
            screened: hiv,
            abnormal: if reactive { hiv } else { 0 },
            synced_within_48h: None,
        };
        let mut visits: Vec<_> = (0..6)
            .map(|i| visit(i, Sex::F, "cabinet-1", i == 0))
            .collect();
        visits.push(visit(6, Sex::M, "cabinet-2", false));
        let request = ReportRequest {
            from: day("2026-01-01"),
            to: day("2026-03-31"),
            as_of: day("2026-04-01"),
            shown: vec![AccessClass::Hiv],
            ..Default::default()
        };
        let report = Report::make(&request, visits, [], []);
        crate::report::view(report, None, vec![], Lang::Bg)
    }

    const MAPPING: &str = r#"
        org_unit = "PernikProg1"
        data_set = "KabinetDs01"
        [cabinets]
        "cabinet-1" = "PernikCab01"

        [[value]]
        indicator = "reach.persons"
        data_element = "ReachPers01"

        [[value]]
        indicator = "reach.persons"
        breakdown = "sex"
        data_element = "ReachPers02"
        category_option_combos = { F = "CocFemale01", M = "CocMale0001" }

        [[value]]
        indicator = "screened.hiv"
        breakdown = "cabinet"
        data_element = "HivTested01"

        [[value]]
        indicator = "yield.hiv"
        part = "numerator"
        data_element = "HivReactv01"

        [[value]]
        indicator = "reach.visits"
        breakdown = "month"
        data_element = "VisitsMon01"

        [[value]]
        indicator = "screened.hbsag"
        data_element = "HbsagTest01"
    "#;

    #[test]
    fn the_mapped_numbers_go_out_and_small_ones_do_not() {
        let mapping = Mapping::parse(MAPPING).unwrap();
        let (set, skipped) = data_value_set(&march(), &mapping).unwrap();
        assert_eq!(set.period, "2026Q1");
        assert_eq!(set.org_unit, "PernikProg1");
        assert_eq!(set.data_set.as_deref(), Some("KabinetDs01"));
        let find = |de: &str, coc: Option<&str>, ou: &str| {
            set.data_values
                .iter()
                .find(|v| {
                    v.data_element == de
                        && v.category_option_combo.as_deref() == coc
                        && v.org_unit == ou
                })
                .map(|v| (v.period.as_str(), v.value.as_str()))
        };
        assert_eq!(
            find("ReachPers01", None, "PernikProg1"),
            Some(("2026Q1", "7"))
        );
        assert_eq!(
            find("ReachPers02", Some("CocFemale01"), "PernikProg1"),
            Some(("2026Q1", "6"))
        );
        assert_eq!(
            find("ReachPers02", Some("CocMale0001"), "PernikProg1"),
            Some(("2026Q1", "1"))
        );
        // By cabinet: cabinet-2's one test is "<5", so cabinet-1's six (seven in all) are
        // withheld beside it: neither is sent.
        assert_eq!(find("HivTested01", None, "PernikCab01"), None);
        // One reactive of seven: the numerator, a whole-programme number, as it is.
        assert_eq!(
            find("HivReactv01", None, "PernikProg1"),
            Some(("2026Q1", "1"))
        );
        assert_eq!(
            find("VisitsMon01", None, "PernikProg1"),
            Some(("202603", "7"))
        );
        assert_eq!(set.data_values.len(), 5);
        assert_eq!(
            skipped,
            Skipped {
                suppressed: 2,
                unmapped: 0,
                absent: 1
            },
            "cabinet-2's '<5' and cabinet-1's 'x' are not sent; no hepatitis test in the report"
        );
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(json["dataValues"][0]["dataElement"], "ReachPers01");
        assert!(json["dataValues"][0].get("categoryOptionCombo").is_none());

        // One cabinet's report goes under the cabinet's unit, and one without a unit is
        // refused rather than sent as the programme's.
        let mut one = march();
        one.cabinet = Some("cabinet-1".into());
        let (set, _) = data_value_set(&one, &mapping).unwrap();
        assert!(!set.data_values.is_empty());
        assert!(set.data_values.iter().all(|v| v.org_unit == "PernikCab01"));
        one.cabinet = Some("cabinet-2".into());
        let refused = data_value_set(&one, &mapping).unwrap_err().to_string();
        assert!(refused.contains("--cabinet cabinet-2"), "{refused}");
    }

    #[test]
    fn two_values_for_one_target_are_refused() {
        // By month and in total on one data element: a one-month report's total and its
        // month's value are the same DHIS2 value.
        let mapping = Mapping::parse(
            r#"
            org_unit = "PernikProg1"
            [[value]]
            indicator = "reach.visits"
            data_element = "VisitsMon01"
            [[value]]
            indicator = "reach.visits"
            breakdown = "month"
            data_element = "VisitsMon01"
            "#,
        )
        .unwrap();
        let mut report = march();
        assert!(
            data_value_set(&report, &mapping).is_ok(),
            "a quarter: 2026Q1 and 202603"
        );
        report.from = day("2026-03-01");
        let refused = data_value_set(&report, &mapping).unwrap_err().to_string();
        assert!(
            refused.contains("two values for period 202603"),
            "{refused}"
        );
        // Two per-cell breakdowns on one data element and combo: refused in the mapping.
        let problems = Mapping::parse(
            r#"
            org_unit = "PernikProg1"
            [[value]]
            indicator = "reach.persons"
            breakdown = "sex"
            data_element = "ReachPers02"
            category_option_combos = { F = "CocShared01" }
            [[value]]
            indicator = "reach.persons"
            breakdown = "age_esf"
            data_element = "ReachPers02"
            category_option_combos = { "<18" = "CocShared01" }
            "#,
        )
        .unwrap_err();
        assert!(
            problems[0].to_string().contains("already the target"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_mistake_in_a_mapping_is_named() {
        let bad = r#"
            org_unit = "pernik"
            [[value]]
            indicator = "reach.people"
            data_element = "ReachPers01"
            [[value]]
            indicator = "yield.hiv"
            data_element = "HivReactv01"
            [[value]]
            indicator = "reach.persons"
            breakdown = "destination_urgency"
            data_element = "ReachPers01"
            [[value]]
            indicator = "reach.persons"
            breakdown = "sex"
            data_element = "ReachPers02"
            [[value]]
            indicator = "reach.persons"
            breakdown = "age_esf"
            data_element = "ReachPers03"
            category_option_combos = { "18-30" = "CocAge18300" }
        "#;
        let problems: Vec<String> = Mapping::parse(bad)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        let has = |s: &str| problems.iter().any(|p| p.contains(s));
        assert!(
            has("org_unit: \"pernik\" is not a DHIS2 id"),
            "{problems:?}"
        );
        assert!(has("value #1: indicator: no indicator \"reach.people\""));
        assert!(has("value #2 (yield.hiv): part"));
        assert!(has("value #3 (reach.persons): breakdown"));
        assert!(has("value #4 (reach.persons): category_option_combos"));
        assert!(has(
            "value #5 (reach.persons): category_option_combos.\"18-30\": no cell \"18-30\" by age_esf: one of <18, 18-29"
        ));
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(matches!(
            Mapping::parse("org_unit = "),
            Err(e) if matches!(e[0], Dhis2Error::Syntax(_))
        ));
        assert!(Mapping::parse("org_unit = \"PernikProg1\"\ncolour = \"red\"").is_err());
    }

    #[test]
    fn periods_are_months_quarters_and_years() {
        let p = |a: &str, b: &str| period(day(a), day(b));
        assert_eq!(p("2026-02-01", "2026-02-28").unwrap(), "202602");
        assert_eq!(p("2028-02-01", "2028-02-29").unwrap(), "202802");
        assert_eq!(p("2026-12-01", "2026-12-31").unwrap(), "202612");
        assert_eq!(p("2026-04-01", "2026-06-30").unwrap(), "2026Q2");
        assert_eq!(p("2026-10-01", "2026-12-31").unwrap(), "2026Q4");
        assert_eq!(p("2026-01-01", "2026-12-31").unwrap(), "2026");
        assert!(p("2026-02-01", "2026-04-30").is_err(), "not a quarter");
        assert!(p("2026-01-02", "2026-01-31").is_err());
        assert!(p("2026-01-01", "2027-12-31").is_err());
        assert!(
            p("2026-03-01", "2026-03-30")
                .unwrap_err()
                .to_string()
                .contains("--from 2026-03-01 --to 2026-03-30")
        );
    }
}
