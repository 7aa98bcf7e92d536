//! Importing and exporting JSON lines.
//!
//! Two line shapes are read: a screening visit as `gen_workload.py` writes it (the visit with
//! its person, screenings and referrals inline), and the record lines [`export`] writes
//! (`{"type": "person" | "visit" | "referral", "record": …}`), so an export can be imported
//! back. Every line is parsed and validated before anything is written; then everything is
//! written in one transaction. An import is idempotent: ids are kept, and a referral already
//! held keeps its code.

use crate::sql::SqlExt;
use crate::{Origin, Result as StoreResult, Store, StoreError};
use chrono::{DateTime, Utc};
use kabinet_core::{
    BloodPressure, Body, Destination, Glucose, GlucoseUnit, Hba1c, Hba1cUnit, HepatitisTest,
    HivAssay, HivTest, Lang, Person, PersonDraft, RapidResult, Recorded, Referral, ReferralReason,
    ReferralStatus, ScreeningKind, Screenings, StatusChange, TbScreen, Urgency, ValidationErrors,
    Visit, rules,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{BufRead, Write};
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Drop a screening whose values are impossible (and the referrals it caused), report it,
    /// and import the rest of the visit; otherwise any invalid line stops the import.
    pub skip_invalid_screenings: bool,
    /// Who is recorded as the author of imported consent and status entries.
    pub recorded_by: String,
}

/// A problem with one input line, in the user's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineIssue {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub lines: usize,
    pub persons_written: usize,
    pub visits_written: usize,
    pub referrals_written: usize,
    /// Screenings dropped under `skip_invalid_screenings`.
    pub skipped: Vec<LineIssue>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} invalid line(s); nothing was imported. First: line {}: {}", .0.len(), .0[0].line, .0[0].message)]
    Invalid(Vec<LineIssue>),
    #[error("reading the input: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

// ---- the workload line shape -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadVisit {
    id: Uuid,
    cabinet: String,
    at: DateTime<Utc>,
    specialist: String,
    person: WorkloadPerson,
    #[serde(default)]
    screenings: Vec<WorkloadScreening>,
    #[serde(default)]
    referrals: Vec<WorkloadReferral>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    place: Option<String>,
}

#[derive(Deserialize)]
struct WorkloadPerson {
    id: Uuid,
    given_name: String,
    family_name: String,
    #[serde(default)]
    middle_name: Option<String>,
    sex: Option<String>,
    birth_date: Option<String>,
    #[serde(default)]
    birth_year: Option<i32>,
    egn: Option<String>,
    #[serde(default)]
    lnch: Option<String>,
    #[serde(alias = "neighbourhood")]
    neighborhood: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WorkloadScreening {
    Hiv {
        consent: bool,
        /// Absent in the workload: there, `consent` records the informed-consent procedure, of
        /// which pre-test counselling is part; an explicit `false` is respected.
        counselled: Option<bool>,
        result: String,
    },
    Glucose {
        fasting: bool,
        mmol_l: Option<f64>,
        mg_dl: Option<f64>,
    },
    Hba1c {
        percent: Option<f64>,
        mmol_mol: Option<f64>,
    },
    TbSymptoms {
        cough: bool,
        #[serde(default)]
        cough_weeks: u16,
        fever: bool,
        night_sweats: bool,
        weight_loss: bool,
        #[serde(default)]
        contact: bool,
    },
    BloodPressure {
        systolic: u16,
        diastolic: u16,
        pulse: Option<u16>,
    },
    Body {
        weight_kg: Option<f64>,
        height_cm: Option<f64>,
    },
    HepatitisB {
        result: String,
    },
    HepatitisC {
        result: String,
    },
}

#[derive(Deserialize)]
struct WorkloadReferral {
    id: Uuid,
    reason: String,
    to: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
}

/// The export line shape.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", content = "record", rename_all = "snake_case")]
enum RecordLine {
    Person(Person),
    Visit(Visit),
    Referral(Referral),
}

/// What one line turns into, validated, before anything is written.
#[derive(Default)]
struct Parsed {
    person: Option<Person>,
    visit: Option<Visit>,
    /// Referrals without a code yet (workload lines) get one at write time.
    new_referrals: Vec<PendingReferral>,
    referrals: Vec<Referral>,
}

struct PendingReferral {
    id: Uuid,
    reason: ReferralReason,
    destination: Destination,
    urgency: Urgency,
    status: ReferralStatus,
}

fn messages(e: &ValidationErrors) -> String {
    e.messages(Lang::Bg).join("; ")
}

fn rapid(field: kabinet_core::Field, s: &str) -> Result<RapidResult, String> {
    RapidResult::parse(field, s).map_err(|e| e.message(Lang::Bg))
}

fn screenings_of(list: Vec<WorkloadScreening>) -> Result<Screenings, String> {
    use kabinet_core::Field;
    let mut s = Screenings::default();
    for item in list {
        match item {
            WorkloadScreening::Hiv {
                consent,
                counselled,
                result,
            } => {
                s.hiv = Some(HivTest {
                    consent,
                    counselled: counselled.unwrap_or(consent),
                    assay: HivAssay::RapidAb12,
                    result: rapid(Field::HivResult, &result)?,
                    repeat: None,
                })
            }
            WorkloadScreening::Glucose {
                fasting,
                mmol_l,
                mg_dl,
            } => {
                let (value, unit) = match (mmol_l, mg_dl) {
                    (Some(v), _) => (v, GlucoseUnit::MmolL),
                    (None, Some(v)) => (v, GlucoseUnit::MgDl),
                    (None, None) => return Err("glucose: mmol_l or mg_dl is required".into()),
                };
                // The workload's tick: fasting or not (it has no "unknown").
                let fasting = if fasting {
                    kabinet_core::Fasting::Fasting
                } else {
                    kabinet_core::Fasting::Random
                };
                s.glucose = Some(Glucose::reading(value, unit, fasting));
            }
            WorkloadScreening::Hba1c { percent, mmol_mol } => {
                let (value, unit) = match (percent, mmol_mol) {
                    (Some(v), _) => (v, Hba1cUnit::Percent),
                    (None, Some(v)) => (v, Hba1cUnit::MmolMol),
                    (None, None) => return Err("hba1c: percent or mmol_mol is required".into()),
                };
                s.hba1c = Some(Hba1c { value, unit });
            }
            WorkloadScreening::TbSymptoms {
                cough,
                cough_weeks,
                fever,
                night_sweats,
                weight_loss,
                contact,
            } => {
                s.tb = Some(TbScreen {
                    cough,
                    cough_weeks,
                    fever,
                    night_sweats,
                    weight_loss,
                    contact,
                    ..TbScreen::default()
                })
            }
            WorkloadScreening::BloodPressure {
                systolic,
                diastolic,
                pulse,
            } => {
                s.blood_pressure = Some(BloodPressure {
                    pulse,
                    ..BloodPressure::reading(systolic, diastolic)
                })
            }
            WorkloadScreening::Body {
                weight_kg,
                height_cm,
            } => {
                s.body = Some(Body {
                    weight_kg,
                    height_cm,
                })
            }
            WorkloadScreening::HepatitisB { result } => {
                s.hepatitis_b = Some(HepatitisTest::of(rapid(Field::HepatitisResult, &result)?))
            }
            WorkloadScreening::HepatitisC { result } => {
                s.hepatitis_c = Some(HepatitisTest::of(rapid(Field::HepatitisResult, &result)?))
            }
        }
    }
    Ok(s)
}

/// Parses and validates one line. Returns the records and the screenings it dropped.
fn parse_line(
    text: &str,
    now: DateTime<Utc>,
    options: &ImportOptions,
) -> Result<(Parsed, Vec<String>), String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("не е JSON / not JSON: {e}"))?;
    let recorded = Recorded {
        by: options.recorded_by.clone(),
        at: now,
    };
    if value.get("type").is_some() {
        let line: RecordLine =
            serde_json::from_value(value).map_err(|e| format!("запис / record: {e}"))?;
        let mut parsed = Parsed::default();
        match line {
            RecordLine::Person(p) => parsed.person = Some(p),
            RecordLine::Visit(v) => {
                v.check(now).map_err(|e| messages(&e))?;
                parsed.visit = Some(v);
            }
            RecordLine::Referral(r) => parsed.referrals.push(r),
        }
        return Ok((parsed, Vec::new()));
    }
    let w: WorkloadVisit =
        serde_json::from_value(value).map_err(|e| format!("посещение / visit: {e}"))?;
    let draft = PersonDraft {
        given_name: w.person.given_name,
        middle_name: w.person.middle_name,
        family_name: w.person.family_name,
        sex: w.person.sex,
        birth_date: w.person.birth_date,
        birth_year: w.person.birth_year,
        egn: w.person.egn,
        lnch: w.person.lnch,
        phone: w.person.phone,
        neighbourhood: w.person.neighborhood,
        no_documents: false,
        ..Default::default()
    };
    let mut person = draft
        .validate(w.person.id, now.date_naive(), &recorded)
        .map_err(|e| messages(&e))?
        .value;
    if person.egn.is_none() && person.lnch.is_none() {
        person.documents = kabinet_core::Documents::NoDocuments;
    }
    let mut visit = Visit {
        id: w.id,
        person_id: person.id,
        cabinet: w.cabinet,
        specialist: w.specialist,
        at: w.at,
        place: w.place,
        screenings: screenings_of(w.screenings)?,
        notes: w.notes,
        clinical_note: String::new(),
        pregnant: false,
        corrections: Vec::new(),
        voided: None,
    };
    let mut dropped = Vec::new();
    let mut dropped_kinds = HashSet::new();
    if let Err(errors) = visit.check(now) {
        let all_in_screenings = errors
            .0
            .iter()
            .all(|e| ScreeningKind::of_field(e.field).is_some());
        if !(options.skip_invalid_screenings && all_in_screenings) {
            return Err(messages(&errors));
        }
        for e in &errors.0 {
            let kind = ScreeningKind::of_field(e.field).expect("checked above");
            visit.screenings.remove(kind);
            dropped_kinds.insert(kind);
            dropped.push(e.message(Lang::Bg));
        }
    }
    // The workload records no pregnancy.
    let subject = rules::Subject::of(&person, visit.at.date_naive(), false)
        .map_err(|e| e.message(Lang::Bg))?;
    let suggestions = rules::suggest_referrals(&visit.screenings, &subject);
    let mut new_referrals = Vec::new();
    for r in w.referrals {
        let kind = ScreeningKind::parse(&r.reason)
            .ok_or_else(|| format!("непозната причина / unknown reason \"{}\"", r.reason))?;
        if dropped_kinds.contains(&kind) {
            continue;
        }
        let destination = Destination::parse(&r.to).map_err(|e| e.message(Lang::Bg))?;
        // The workload carries no urgency: take the rules' tier for this screening.
        let urgency = match r.urgency {
            Some(u) => Urgency::parse(&u).map_err(|e| e.message(Lang::Bg))?,
            None => suggestions
                .iter()
                .filter(|s| s.reason == kind)
                .map(|s| s.urgency)
                .max()
                .unwrap_or(Urgency::Routine),
        };
        let status = match r.status {
            Some(s) => ReferralStatus::parse(&s).map_err(|e| e.message(Lang::Bg))?,
            None => ReferralStatus::Issued,
        };
        new_referrals.push(PendingReferral {
            id: r.id,
            reason: ReferralReason::Screening(kind),
            destination,
            urgency,
            status,
        });
    }
    Ok((
        Parsed {
            person: Some(person),
            visit: Some(visit),
            new_referrals,
            referrals: Vec::new(),
        },
        dropped,
    ))
}

/// Reads JSON lines and writes them all in one transaction, or nothing if a line is invalid.
pub fn import(
    store: &mut Store,
    input: impl BufRead,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let now = Utc::now();
    let mut report = ImportReport::default();
    let mut parsed = Vec::new();
    let mut issues = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        let number = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        match parse_line(&line, now, options) {
            Ok((p, dropped)) => {
                report
                    .skipped
                    .extend(dropped.into_iter().map(|message| LineIssue {
                        line: number,
                        message,
                    }));
                parsed.push(p);
            }
            Err(message) => issues.push(LineIssue {
                line: number,
                message,
            }),
        }
    }
    if !issues.is_empty() {
        return Err(ImportError::Invalid(issues));
    }
    let by = options.recorded_by.clone();
    store.write(Origin::Import, |w| {
        for p in parsed {
            if let Some(person) = &p.person
                && w.put_person(person)?
            {
                report.persons_written += 1;
            }
            if let Some(visit) = &p.visit
                && w.put_visit(visit)?
            {
                report.visits_written += 1;
            }
            let visit = p.visit.as_ref();
            for r in p.new_referrals {
                if w.exists(r.id)? {
                    continue;
                }
                let visit = visit.expect("workload referrals come with their visit");
                let mut history = vec![StatusChange {
                    status: ReferralStatus::Issued,
                    at: visit.at,
                    by: visit.specialist.clone(),
                    note: None,
                }];
                if r.status != ReferralStatus::Issued {
                    history.push(StatusChange {
                        status: r.status,
                        at: now,
                        by: by.clone(),
                        note: None,
                    });
                }
                let referral = Referral {
                    id: r.id,
                    code: w.next_referral_code()?,
                    person_id: visit.person_id,
                    visit_id: visit.id,
                    reason: r.reason,
                    destination: r.destination,
                    urgency: r.urgency,
                    finding: None,
                    history,
                };
                w.put_referral(&referral)?;
                report.referrals_written += 1;
            }
            for r in &p.referrals {
                if w.put_referral(r)? {
                    report.referrals_written += 1;
                }
            }
        }
        Ok(())
    })?;
    Ok(report)
}

/// Writes every record as a JSON line: persons, then visits (with all the screenings this
/// device holds), then referrals.
pub fn export(store: &Store, mut out: impl Write) -> StoreResult<usize> {
    let mut n = 0;
    for kind in [
        crate::DocKind::Person,
        crate::DocKind::Visit,
        crate::DocKind::Referral,
    ] {
        let ids: Vec<Uuid> = store.conn.rows(
            "SELECT doc_id FROM documents WHERE kind = ?1 ORDER BY change_seq",
            &[&(kind as i64)],
            |r| r.get(0),
        )?;
        for id in ids {
            let line = match kind {
                crate::DocKind::Person => RecordLine::Person(store.person(id)?),
                crate::DocKind::Visit => RecordLine::Visit(store.visit(id)?),
                _ => RecordLine::Referral(store.referral(id)?),
            };
            serde_json::to_writer(&mut out, &line).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    Ok(n)
}
