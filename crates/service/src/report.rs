//! The programme report (issue #19) as the screens, the hub's API and `kabinet-hub report`
//! ask for it: the period checked, the reader's classes applied, every report on the audit
//! log, and its CSV. The indicators themselves are `kabinet_core::indicators`'.

use crate::{Context, ServiceError};
use chrono::NaiveDate;
use kabinet_core::case::ClosureReason;
use kabinet_core::indicators::{
    Breakdown, Group, INDICATORS, Report, ReportRequest, SMALL_NUMBER, Unit, Value,
};
use kabinet_core::{AccessClass, Field, Lang, Problem, Role, ValidationError, ValidationErrors};
use kabinet_store::Store;
use serde::Serialize;

/// What only the hub knows, for its data-quality indicators.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubCounts {
    pub devices_not_synced: Option<u64>,
    pub open_duplicates: Option<u64>,
    /// The hub makes the report (its store knows when each visit arrived).
    pub at_hub: bool,
}

/// One indicator as the report screen shows it: its name in the asked language.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct IndicatorView {
    pub id: String,
    pub name: String,
    pub group: Group,
    pub unit: Unit,
    /// About HIV, hepatitis or TB: small numbers are suppressed below the programme.
    pub sensitive: bool,
    pub breakdowns: Vec<Breakdown>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BreakdownView {
    pub id: Breakdown,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReportRowView {
    pub indicator: String,
    pub breakdown: Breakdown,
    pub key: String,
    /// The cell as a reader reads it: a closure reason in the reader's language; other keys
    /// (cabinets, neighbourhoods, months, bands) as they are.
    pub key_label: String,
    pub value: Value,
    /// As a table shows it ("12", "33.3%", "<5").
    pub text: String,
}

/// A report with what the screen needs to print it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReportView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    /// The one cabinet reported on; none: the whole programme the store holds.
    pub cabinet: Option<String>,
    /// The cabinets a report may be asked for.
    pub cabinets: Vec<String>,
    pub small_number: u64,
    /// The indicators the reader may see, in the definitions' order.
    pub indicators: Vec<IndicatorView>,
    pub breakdowns: Vec<BreakdownView>,
    pub rows: Vec<ReportRowView>,
}

/// A day typed as yyyy-mm-dd or dd.mm.yyyy.
fn parse_day(field: Field, input: &str) -> Result<NaiveDate, ValidationError> {
    let input = input.trim();
    NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(input, "%d.%m.%Y"))
        .map_err(|_| {
            let problem = match input.is_empty() {
                true => Problem::Required,
                false => Problem::NotADate {
                    input: input.to_string(),
                },
            };
            ValidationError::new(field, problem)
        })
}

/// The period and cabinet asked for, checked: every field's problem at once.
pub fn check_period(
    from: &str,
    to: &str,
    cabinet: Option<&str>,
    known_cabinets: &[String],
) -> Result<(NaiveDate, NaiveDate, Option<String>), ValidationErrors> {
    let mut errors = Vec::new();
    let from = parse_day(Field::ReportFrom, from).map_err(|e| errors.push(e));
    let to = parse_day(Field::ReportTo, to).map_err(|e| errors.push(e));
    if let (Ok(f), Ok(t)) = (from, to)
        && f > t
    {
        errors.push(ValidationError::new(
            Field::ReportFrom,
            Problem::PeriodReversed {
                from: f.to_string(),
                to: t.to_string(),
            },
        ));
    }
    let cabinet = cabinet.map(str::trim).filter(|c| !c.is_empty());
    if let Some(c) = cabinet
        && !known_cabinets.iter().any(|k| k == c)
    {
        errors.push(ValidationError::new(
            Field::Cabinet,
            Problem::NotAChoice {
                input: c.to_string(),
                options: known_cabinets.join(", "),
            },
        ));
    }
    match (from, to, errors.is_empty()) {
        (Ok(f), Ok(t), true) => Ok((f, t, cabinet.map(str::to_string))),
        _ => Err(ValidationErrors(errors)),
    }
}

/// The sensitive classes whose indicators `ctx`'s reader sees, or `Forbidden` for a role
/// that reads no report. The terminal (no roles) reads what its store holds.
pub fn shown_classes(ctx: &Context) -> Result<Vec<AccessClass>, ServiceError> {
    match &ctx.roles {
        None => Ok(vec![
            AccessClass::Hiv,
            AccessClass::Hepatitis,
            AccessClass::Tuberculosis,
        ]),
        Some(roles) if roles.iter().any(|r| r.reads_reports()) => {
            let mut shown: Vec<AccessClass> = roles
                .iter()
                .flat_map(|r| Role::report_classes(*r))
                .collect();
            shown.sort_by_key(|c| c.code());
            shown.dedup();
            Ok(shown)
        }
        Some(_) => Err(ServiceError::Forbidden),
    }
}

/// The report of `from`..=`to` (and one cabinet) for `ctx`'s reader, on the audit log as
/// `format` (json, csv, pdf).
#[allow(clippy::too_many_arguments)]
pub fn report(
    store: &mut Store,
    ctx: &Context,
    from: &str,
    to: &str,
    cabinet: Option<&str>,
    known_cabinets: &[String],
    hub: HubCounts,
    format: &str,
) -> Result<ReportView, ServiceError> {
    let shown = shown_classes(ctx)?;
    let (from, to, cabinet) =
        check_period(from, to, cabinet, known_cabinets).map_err(ServiceError::Invalid)?;
    let request = ReportRequest {
        from,
        to,
        as_of: ctx
            .now
            .with_timezone(&chrono_tz::Europe::Sofia)
            .date_naive(),
        shown,
        follow_up: store.directory()?.follow_up_days,
        devices_not_synced: hub.devices_not_synced,
        open_duplicates: hub.open_duplicates,
        at_hub: hub.at_hub,
        below_programme: false,
    };
    let report = store.report(&request, cabinet.as_deref())?;
    store.audit_event(
        kabinet_core::AuditAction::Report,
        &format!(
            "{from}..{to}{}",
            cabinet
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default()
        ),
        &format!("report/{format}"),
    )?;
    Ok(view(report, cabinet, known_cabinets.to_vec(), ctx.lang))
}

pub(crate) fn view(
    report: Report,
    cabinet: Option<String>,
    cabinets: Vec<String>,
    lang: Lang,
) -> ReportView {
    let present: std::collections::HashSet<&str> =
        report.rows.iter().map(|r| r.indicator).collect();
    ReportView {
        from: report.from,
        to: report.to,
        as_of: report.as_of,
        cabinet,
        cabinets,
        small_number: SMALL_NUMBER,
        indicators: INDICATORS
            .iter()
            .filter(|i| present.contains(i.id))
            .map(|i| IndicatorView {
                id: i.id.into(),
                name: i.name(lang).into(),
                group: i.group,
                unit: i.unit,
                sensitive: i.class() != AccessClass::General,
                breakdowns: i.breakdowns().to_vec(),
            })
            .collect(),
        breakdowns: Breakdown::ALL
            .iter()
            .map(|b| BreakdownView {
                id: *b,
                name: b.label(lang).into(),
            })
            .collect(),
        rows: report
            .rows
            .into_iter()
            .map(|r| ReportRowView {
                indicator: r.indicator.into(),
                breakdown: r.breakdown,
                key_label: key_label(r.breakdown, &r.key, lang),
                key: r.key,
                text: r.value.text(),
                value: r.value,
            })
            .collect(),
    }
}

fn key_label(breakdown: Breakdown, key: &str, lang: Lang) -> String {
    match (breakdown, ClosureReason::parse(key)) {
        (Breakdown::ClosureReason, Some(reason)) => reason.label(lang).into(),
        (Breakdown::ClosureReason, None) => lang.pick("неизвестна", "unknown").into(),
        _ => key.into(),
    }
}

/// The report as one long table, a row per indicator, breakdown and cell: what a spreadsheet
/// or the funder's template reads.
pub fn to_csv(report: &ReportView) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let names: std::collections::HashMap<&str, &str> = report
        .indicators
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let write = |out: &mut csv::Writer<Vec<u8>>, rec: &[&str]| {
        out.write_record(rec).expect("writing to memory");
    };
    write(
        &mut out,
        &[
            "indicator",
            "name",
            "breakdown",
            "key",
            "value",
            "numerator",
            "denominator",
            "from",
            "to",
        ],
    );
    let (from, to) = (report.from.to_string(), report.to.to_string());
    for r in &report.rows {
        let (num, den) = match r.value {
            Value::Percent {
                numerator,
                denominator,
            } => (numerator.to_string(), denominator.to_string()),
            _ => (String::new(), String::new()),
        };
        write(
            &mut out,
            &[
                &r.indicator,
                names.get(r.indicator.as_str()).copied().unwrap_or(""),
                r.breakdown.as_str(),
                &r.key,
                &r.text,
                &num,
                &den,
                &from,
                &to,
            ],
        );
    }
    out.into_inner().expect("writing to memory")
}

/// The report's one page: every indicator's whole-programme number, by group.
pub fn to_pdf(report: &ReportView, lang: Lang) -> Result<Vec<u8>, ServiceError> {
    let value = |id: &str| {
        report
            .rows
            .iter()
            .find(|r| r.indicator == id && r.breakdown == Breakdown::Programme)
            .map(|r| r.text.clone())
            .unwrap_or_else(|| "—".into())
    };
    let sections = Group::ALL
        .iter()
        .map(|g| kabinet_slip::ReportSection {
            heading: g.label(lang).into(),
            lines: report
                .indicators
                .iter()
                .filter(|i| i.group == *g)
                .flat_map(|i| {
                    // Cases closed: each reason beneath.
                    let reasons = report
                        .rows
                        .iter()
                        .filter(|r| r.indicator == i.id && r.breakdown == Breakdown::ClosureReason)
                        .map(|r| (format!("    · {}", r.key_label), r.text.clone()));
                    std::iter::once((i.name.clone(), value(&i.id))).chain(reasons)
                })
                .collect(),
        })
        .filter(|s| !s.lines.is_empty())
        .collect();
    let cabinet = report
        .cabinet
        .as_deref()
        .unwrap_or(lang.pick("всички кабинети", "all cabinets"));
    let page = kabinet_slip::ReportPage {
        title: lang.pick("Отчет на програмата", "Programme report").into(),
        subtitle: lang.pick(
            format!("{} – {} · {cabinet} · изготвен на {}", report.from, report.to, report.as_of),
            format!("{} – {} · {cabinet} · made on {}", report.from, report.to, report.as_of),
        ),
        sections,
        // Said only where a number of a condition is printed.
        note: match report.indicators.iter().any(|i| i.sensitive) {
            false => String::new(),
            true => lang.pick(
            format!("„<{n}“: по-малко от {n} души в разбивка под цялата програма (ХИВ, хепатит, туберкулоза), за да не може човек да бъде разпознат. Пълните разбивки са в CSV файла („x“ там: скрито до такова число, за да не се изчисли от общия брой).", n = report.small_number),
            format!("\"<{n}\": fewer than {n} people in a breakdown below the whole programme (HIV, hepatitis, TB), so that nobody can be recognised. The full breakdowns are in the CSV file (\"x\" there: hidden beside such a number, so that it cannot be worked out from the total).", n = report.small_number),
            ),
        },
    };
    kabinet_slip::render_report(&page).map_err(|e| ServiceError::BadRequest(e.to_string()))
}
