//! The facts a programme report is made of (issue #19), read from the query tables only: no
//! document is loaded, so a year of a national hub is a few table scans. What the facts mean
//! (reached, new, abnormal, completed…) is `kabinet_core::indicators`'; this module only hands
//! them over.

use crate::sql::{Sql, SqlError, ValueRef};
use crate::{Result, Store};
use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Europe::Sofia;
use kabinet_core::indicators::{
    CaseFact, ReferralFact, Report, ReportRequest, ScreeningBits, VisitFact,
};
use kabinet_core::{
    Destination, ReferralReason, ReferralStatus, ScreeningKind, Sex, Urgency, referral_class,
    screening::AccessClass,
};
use rustc_hash::FxHashMap as HashMap;
use std::ops::ControlFlow;

/// Texts that repeat on every row (cabinets, neighbourhoods), kept once.
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
}

struct PersonRow {
    sex: Sex,
    birth_year: i32,
    neighbourhood: Option<u32>,
    no_documents: bool,
    data_consent: bool,
}

struct VisitRow {
    visit: u128,
    person: u128,
    cabinet: u32,
    day: NaiveDate,
    voided: bool,
}

struct ReferralRow {
    cabinet: u32,
    issued: NaiveDate,
    destination: Destination,
    urgency: Urgency,
    class: AccessClass,
    reason: Option<ScreeningKind>,
    status: ReferralStatus,
    attended: Option<NaiveDate>,
}

fn text<'r>(v: ValueRef<'r>, column: usize) -> std::result::Result<&'r str, SqlError> {
    match v {
        ValueRef::Text(s) => Ok(s),
        other => Err(SqlError::conversion(column, "text", other.kind())),
    }
}

fn id(v: ValueRef<'_>, column: usize) -> std::result::Result<u128, SqlError> {
    match v {
        ValueRef::Blob(b) if b.len() == 16 => {
            Ok(u128::from_be_bytes(b.try_into().expect("16 bytes")))
        }
        other => Err(SqlError::conversion(column, "id", other.kind())),
    }
}

fn day(s: &str, column: usize) -> std::result::Result<NaiveDate, SqlError> {
    s.parse()
        .map_err(|_| SqlError::conversion(column, "day", s.to_string()))
}

/// The day in Pernik of a stored instant (RFC 3339).
fn local_day(s: &str, column: usize) -> std::result::Result<NaiveDate, SqlError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Sofia).date_naive())
        .map_err(|_| SqlError::conversion(column, "time", s.to_string()))
}

/// Reads the facts of `request` from `conn` (a device's store or the hub's, either backend)
/// and makes the report; `cabinet` keeps one cabinet's visits and referrals (the team's cases
/// are the hub's, and are left out then).
pub fn make_report(
    conn: &dyn Sql,
    request: &ReportRequest,
    cabinet: Option<&str>,
) -> Result<Report> {
    let mut names = Names::default();

    // Persons: what the breakdowns need, and who a merged duplicate now is.
    let mut persons: HashMap<u128, PersonRow> = HashMap::default();
    conn.each_row(
        "SELECT person_id, sex, birth_year, neighbourhood, no_documents, data_consent
         FROM person_index",
        &[],
        &mut |r| {
            let neighbourhood = match r.value(3)? {
                ValueRef::Null => None,
                v => Some(names.id(text(v, 3)?)),
            };
            persons.insert(
                id(r.value(0)?, 0)?,
                PersonRow {
                    sex: Sex::parse(text(r.value(1)?, 1)?).unwrap_or(Sex::F),
                    birth_year: r.get(2)?,
                    neighbourhood,
                    no_documents: r.get(4)?,
                    data_consent: r.get(5)?,
                },
            );
            Ok(ControlFlow::Continue(()))
        },
    )?;
    let mut survivor: HashMap<u128, u128> = HashMap::default();
    conn.each_row(
        "SELECT person_id, survivor_id FROM person_alias",
        &[],
        &mut |r| {
            survivor.insert(id(r.value(0)?, 0)?, id(r.value(1)?, 1)?);
            Ok(ControlFlow::Continue(()))
        },
    )?;

    // Every visit up to the period's end: those before it tell who is new.
    let to = request.to.to_string();
    let mut visits: Vec<VisitRow> = Vec::new();
    let mut first_visit: HashMap<u128, NaiveDate> = HashMap::default();
    conn.each_row(
        "SELECT visit_id, person_id, cabinet, local_day, voided FROM visit_index
         WHERE local_day <= ?1",
        &[&to],
        &mut |r| {
            let person = id(r.value(1)?, 1)?;
            let person = survivor.get(&person).copied().unwrap_or(person);
            let on = day(text(r.value(3)?, 3)?, 3)?;
            let voided: bool = r.get(4)?;
            if !voided {
                first_visit
                    .entry(person)
                    .and_modify(|d| *d = (*d).min(on))
                    .or_insert(on);
            }
            if on >= request.from {
                visits.push(VisitRow {
                    visit: id(r.value(0)?, 0)?,
                    person,
                    cabinet: names.id(text(r.value(2)?, 2)?),
                    day: on,
                    voided,
                });
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    let cabinet_id = cabinet.map(|c| names.id(c));
    visits.retain(|v| cabinet_id.is_none_or(|c| v.cabinet == c) && !v.voided);

    // Each visit's screenings: the bits of its own document and of its results documents.
    let mut bits: HashMap<u128, ScreeningBits> =
        HashMap::with_capacity_and_hasher(visits.len(), Default::default());
    for v in &visits {
        bits.insert(v.visit, ScreeningBits::default());
    }
    conn.each_row(
        "SELECT visit_id, screened, abnormal_adult, abnormal_child FROM report_screening",
        &[],
        &mut |r| {
            if let Some(b) = bits.get_mut(&id(r.value(0)?, 0)?) {
                b.screened |= r.get::<u8>(1)?;
                b.abnormal_adult |= r.get::<u8>(2)?;
                b.abnormal_child |= r.get::<u8>(3)?;
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;

    // Referrals issued in the period (by the day in Pernik: a day's margin on the instants).
    let margin_from = (request.from - chrono::Days::new(1)).to_string();
    let margin_to = (request.to + chrono::Days::new(2)).to_string();
    let mut referrals: Vec<ReferralRow> = Vec::new();
    conn.each_row(
        "SELECT r.reason, r.destination, r.urgency, r.status, r.issued_at, r.attended_at, v.cabinet
         FROM referral_index r LEFT JOIN visit_index v ON v.visit_id = r.visit_id
         WHERE r.issued_at >= ?1 AND r.issued_at < ?2",
        &[&margin_from, &margin_to],
        &mut |r| {
            let (Ok(reason), Ok(destination)) = (
                ReferralReason::parse(text(r.value(0)?, 0)?),
                Destination::parse(text(r.value(1)?, 1)?),
            ) else {
                return Ok(ControlFlow::Continue(())); // a spelling of a newer build
            };
            let class = referral_class(reason, destination).unwrap_or(AccessClass::Clinical);
            let cabinet = match r.value(6)? {
                ValueRef::Null => "",
                v => text(v, 6)?,
            };
            referrals.push(ReferralRow {
                cabinet: names.id(cabinet),
                issued: local_day(text(r.value(4)?, 4)?, 4)?,
                destination,
                urgency: Urgency::from_rank(r.get(2)?).unwrap_or(Urgency::Routine),
                class,
                reason: match reason {
                    ReferralReason::Screening(kind) => Some(kind),
                    _ => None,
                },
                status: ReferralStatus::parse(text(r.value(3)?, 3)?)
                    .unwrap_or(ReferralStatus::Issued),
                attended: match r.value(5)? {
                    ValueRef::Null => None,
                    v => Some(local_day(text(v, 5)?, 5)?),
                },
            });
            Ok(ControlFlow::Continue(()))
        },
    )?;
    referrals.retain(|r| cabinet_id.is_none_or(|c| r.cabinet == c));

    let mut cases: Vec<CaseFact> = Vec::new();
    if cabinet.is_none() {
        let as_of = request.as_of.to_string();
        conn.each_row(
            "SELECT c.opened_at, c.closed_at,
                    (SELECT count(*) FROM case_task t
                     WHERE t.case_id = c.case_id AND t.is_open = 1 AND t.due < ?1)
             FROM case_index c",
            &[&as_of],
            &mut |r| {
                cases.push(CaseFact {
                    opened: local_day(text(r.value(0)?, 0)?, 0)?,
                    closed: match r.value(1)? {
                        ValueRef::Null => None,
                        v => Some(local_day(text(v, 1)?, 1)?),
                    },
                    overdue_tasks: r.get(2)?,
                });
                Ok(ControlFlow::Continue(()))
            },
        )?;
    }

    let names = &names.names;
    let visit_facts = visits.iter().filter_map(|v| {
        let p = persons.get(&v.person)?;
        let b = bits.get(&v.visit).copied().unwrap_or_default();
        let age = v.day.year() - p.birth_year;
        Some(VisitFact {
            person: v.person,
            cabinet: &names[v.cabinet as usize],
            day: v.day,
            voided: v.voided,
            sex: p.sex,
            birth_year: Some(p.birth_year),
            neighbourhood: p.neighbourhood.map(|n| names[n as usize].as_str()),
            no_documents: p.no_documents,
            data_consent: p.data_consent,
            first_visit: first_visit.get(&v.person).copied().unwrap_or(v.day),
            screened: b.screened,
            abnormal: b.abnormal_at(Some(age)),
        })
    });
    let referral_facts = referrals.iter().map(|r| ReferralFact {
        cabinet: &names[r.cabinet as usize],
        issued: r.issued,
        destination: r.destination,
        urgency: r.urgency,
        class: r.class,
        reason: r.reason,
        status: r.status,
        attended: r.attended,
    });
    Ok(Report::make(request, visit_facts, referral_facts, cases))
}

impl Store {
    /// The programme report of this store's records (see [`make_report`]).
    pub fn report(&self, request: &ReportRequest, cabinet: Option<&str>) -> Result<Report> {
        make_report(&*self.conn, request, cabinet)
    }
}
