//! The facts a programme report is made of (issue #19), read from the query tables only: no
//! document is loaded, so a year of a national hub is a few table scans. What the facts mean
//! (reached, new, abnormal, completed…) is `kabinet_core::indicators`'; this module only hands
//! them over.

use crate::sql::{Sql, SqlError, SqlExt, ValueRef};
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

/// A visit as the report needs it: who (as recorded, before merges), where, when, and its
/// screenings' bits from its own document and its results documents.
#[derive(Clone, Copy)]
struct VisitRow {
    person: u128,
    cabinet: u32,
    day: NaiveDate,
    voided: bool,
    bits: ScreeningBits,
    /// When it was recorded (Unix seconds, the recording device's clock).
    recorded_at: i64,
    /// Whether this store first held it within 48 hours of that; `None`: not known.
    arrived_in_time: Option<bool>,
}

/// A visit that reaches the hub within this long of being recorded is "synced in time".
const IN_TIME_SECONDS: i64 = 48 * 3600;

/// Every fact a report is made of, read once from the query tables and then kept current
/// from the store's change feed (`documents.change_seq`): a hub that keeps them makes a
/// year's report of a million visits without reading the tables again. Each fact is a copy
/// of a query-table row; the rows stay the truth.
#[derive(Default)]
pub struct ReportFacts {
    /// The last change seen: every document changed after it is read again at `refresh`.
    cursor: i64,
    names: Names,
    persons: HashMap<u128, PersonRow>,
    /// A merged duplicate's survivor.
    survivor: HashMap<u128, u128>,
    visits: HashMap<u128, VisitRow>,
    referrals: HashMap<u128, ReferralRow>,
}

/// Above this many changed documents a refresh reads everything again (one scan of each
/// table is then cheaper than as many lookups).
const REFRESH_LIMIT: usize = 50_000;

const PERSONS: &str = "SELECT person_id, sex, birth_year, neighbourhood, no_documents, data_consent FROM person_index";
const VISITS: &str = "SELECT visit_id, person_id, cabinet, local_day, voided, at FROM visit_index";
const REFERRALS: &str =
    "SELECT r.referral_id, r.reason, r.destination, r.urgency, r.status, r.issued_at,
        r.attended_at, v.cabinet
     FROM referral_index r LEFT JOIN visit_index v ON v.visit_id = r.visit_id";

impl VisitRow {
    fn arrived(&mut self, arrived_at: i64) {
        // A device's clock ahead of the hub's makes the wait negative: still in time.
        self.arrived_in_time = Some(arrived_at - self.recorded_at <= IN_TIME_SECONDS);
    }
}

impl ReportFacts {
    /// Reads every fact from the query tables.
    pub fn load(conn: &dyn Sql) -> Result<ReportFacts> {
        let mut facts = ReportFacts {
            // Taken first: a change committed while the tables are read is read again at the
            // next refresh (the store's writes are one at a time, numbered in commit order).
            cursor: last_change(conn)?,
            ..ReportFacts::default()
        };
        conn.each_row(PERSONS, &[], &mut |r| {
            facts.person_row(r)?;
            Ok(ControlFlow::Continue(()))
        })?;
        facts.read_aliases(conn)?;
        facts.visits.reserve(
            conn.one("SELECT count(*) FROM visit_index", &[], |r| r.get::<i64>(0))?
                .max(0) as usize,
        );
        conn.each_row(VISITS, &[], &mut |r| {
            facts.visit_row(r)?;
            Ok(ControlFlow::Continue(()))
        })?;
        conn.each_row(
            "SELECT visit_id, screened, abnormal_adult, abnormal_child FROM report_screening",
            &[],
            &mut |r| {
                if let Some(v) = facts.visits.get_mut(&id(r.value(0)?, 0)?) {
                    v.bits.screened |= r.get::<u8>(1)?;
                    v.bits.abnormal_adult |= r.get::<u8>(2)?;
                    v.bits.abnormal_child |= r.get::<u8>(3)?;
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        conn.each_row(
            "SELECT visit_id, arrived_at FROM visit_arrival",
            &[],
            &mut |r| {
                if let Some(v) = facts.visits.get_mut(&id(r.value(0)?, 0)?) {
                    v.arrived(r.get(1)?);
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        conn.each_row(REFERRALS, &[], &mut |r| {
            facts.referral_row(r)?;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(facts)
    }

    /// Reads again what changed since the last load or refresh; the number of documents
    /// that changed.
    pub fn refresh(&mut self, conn: &dyn Sql) -> Result<usize> {
        let head = last_change(conn)?;
        if head == self.cursor {
            return Ok(0);
        }
        let mut changed: Vec<(u128, i64, Option<u128>)> = Vec::new();
        let mut too_many = false;
        conn.each_row(
            "SELECT doc_id, kind, parent_id FROM documents WHERE change_seq > ?1 AND change_seq <= ?2",
            &[&self.cursor, &head],
            &mut |r| {
                if changed.len() >= REFRESH_LIMIT {
                    too_many = true;
                    return Ok(ControlFlow::Break(()));
                }
                let parent = match r.value(2)? {
                    ValueRef::Null => None,
                    v => Some(id(v, 2)?),
                };
                changed.push((id(r.value(0)?, 0)?, r.get(1)?, parent));
                Ok(ControlFlow::Continue(()))
            },
        )?;
        if too_many {
            *self = ReportFacts::load(conn)?;
            return Ok(REFRESH_LIMIT);
        }
        let mut persons_changed = false;
        let mut visits_to_read = rustc_hash::FxHashSet::default();
        for (doc, kind, parent) in &changed {
            match crate::DocKind::from_code(*kind) {
                Some(crate::DocKind::Person) => {
                    persons_changed = true;
                    let bytes = uuid::Uuid::from_u128(*doc);
                    conn.each_row(
                        &format!("{PERSONS} WHERE person_id = ?1"),
                        &[&bytes],
                        &mut |r| {
                            self.person_row(r)?;
                            Ok(ControlFlow::Continue(()))
                        },
                    )?;
                }
                Some(crate::DocKind::Visit) => {
                    visits_to_read.insert(*doc);
                }
                Some(crate::DocKind::Results) => {
                    visits_to_read.extend(*parent);
                }
                Some(crate::DocKind::Referral) => {
                    let bytes = uuid::Uuid::from_u128(*doc);
                    conn.each_row(
                        &format!("{REFERRALS} WHERE r.referral_id = ?1"),
                        &[&bytes],
                        &mut |r| {
                            self.referral_row(r)?;
                            Ok(ControlFlow::Continue(()))
                        },
                    )?;
                }
                _ => {}
            }
        }
        for visit in visits_to_read {
            let bytes = uuid::Uuid::from_u128(visit);
            conn.each_row(
                &format!("{VISITS} WHERE visit_id = ?1"),
                &[&bytes],
                &mut |r| {
                    self.visit_row(r)?;
                    Ok(ControlFlow::Continue(()))
                },
            )?;
            if let Some(v) = self.visits.get_mut(&visit) {
                let mut bits = ScreeningBits::default();
                conn.each_row(
                    "SELECT screened, abnormal_adult, abnormal_child FROM report_screening WHERE visit_id = ?1",
                    &[&bytes],
                    &mut |r| {
                        bits.screened |= r.get::<u8>(0)?;
                        bits.abnormal_adult |= r.get::<u8>(1)?;
                        bits.abnormal_child |= r.get::<u8>(2)?;
                        Ok(ControlFlow::Continue(()))
                    },
                )?;
                v.bits = bits;
                conn.each_row(
                    "SELECT arrived_at FROM visit_arrival WHERE visit_id = ?1",
                    &[&bytes],
                    &mut |r| {
                        v.arrived(r.get(0)?);
                        Ok(ControlFlow::Continue(()))
                    },
                )?;
            }
        }
        // Merges and unmerges change person documents; the alias table is small.
        if persons_changed {
            self.read_aliases(conn)?;
        }
        self.cursor = head;
        Ok(changed.len())
    }

    fn person_row(&mut self, r: &crate::sql::Row<'_>) -> std::result::Result<(), SqlError> {
        let neighbourhood = match r.value(3)? {
            ValueRef::Null => None,
            v => Some(self.names.id(text(v, 3)?)),
        };
        self.persons.insert(
            id(r.value(0)?, 0)?,
            PersonRow {
                sex: Sex::parse(text(r.value(1)?, 1)?).unwrap_or(Sex::F),
                birth_year: r.get(2)?,
                neighbourhood,
                no_documents: r.get(4)?,
                data_consent: r.get(5)?,
            },
        );
        Ok(())
    }

    fn visit_row(&mut self, r: &crate::sql::Row<'_>) -> std::result::Result<(), SqlError> {
        let visit = id(r.value(0)?, 0)?;
        let at = text(r.value(5)?, 5)?;
        let recorded_at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| SqlError::conversion(5, "time", at.to_string()))?
            .timestamp();
        let kept = self.visits.get(&visit);
        let row = VisitRow {
            person: id(r.value(1)?, 1)?,
            cabinet: self.names.id(text(r.value(2)?, 2)?),
            day: day(text(r.value(3)?, 3)?, 3)?,
            voided: r.get(4)?,
            bits: kept.map(|v| v.bits).unwrap_or_default(),
            recorded_at,
            arrived_in_time: kept.and_then(|v| v.arrived_in_time),
        };
        self.visits.insert(visit, row);
        Ok(())
    }

    fn referral_row(&mut self, r: &crate::sql::Row<'_>) -> std::result::Result<(), SqlError> {
        let referral = id(r.value(0)?, 0)?;
        let (Ok(reason), Ok(destination)) = (
            ReferralReason::parse(text(r.value(1)?, 1)?),
            Destination::parse(text(r.value(2)?, 2)?),
        ) else {
            return Ok(()); // a spelling of a newer build
        };
        let class = referral_class(reason, destination).unwrap_or(AccessClass::Clinical);
        let cabinet = match r.value(7)? {
            ValueRef::Null => "",
            v => text(v, 7)?,
        };
        let row = ReferralRow {
            cabinet: self.names.id(cabinet),
            issued: local_day(text(r.value(5)?, 5)?, 5)?,
            destination,
            urgency: Urgency::from_rank(r.get(3)?).unwrap_or(Urgency::Routine),
            class,
            reason: match reason {
                ReferralReason::Screening(kind) => Some(kind),
                _ => None,
            },
            status: ReferralStatus::parse(text(r.value(4)?, 4)?).unwrap_or(ReferralStatus::Issued),
            attended: match r.value(6)? {
                ValueRef::Null => None,
                v => Some(local_day(text(v, 6)?, 6)?),
            },
        };
        self.referrals.insert(referral, row);
        Ok(())
    }

    fn read_aliases(&mut self, conn: &dyn Sql) -> Result<()> {
        self.survivor.clear();
        conn.each_row(
            "SELECT person_id, survivor_id FROM person_alias",
            &[],
            &mut |r| {
                self.survivor
                    .insert(id(r.value(0)?, 0)?, id(r.value(1)?, 1)?);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(())
    }

    /// The report of `request` (one cabinet's visits and referrals when `cabinet` is given;
    /// the team's cases, read from `conn`, are the hub's and left out then). A cabinet's
    /// report hides what the whole programme's hides of that cabinet: otherwise asking for
    /// one cabinet would undo the programme report's suppression.
    pub fn report(
        &self,
        conn: &dyn Sql,
        request: &ReportRequest,
        cabinet: Option<&str>,
    ) -> Result<Report> {
        // Who is new is the same in both reports: read once.
        let first_visit = self.first_visits(request.to);
        let Some(cabinet) = cabinet else {
            return self.counted(conn, request, None, &first_visit);
        };
        let mut one = self.counted(conn, request, Some(cabinet), &first_visit)?;
        let whole = self.counted(conn, request, None, &first_visit)?;
        one.hide_what_the_programme_hides(&whole, cabinet);
        Ok(one)
    }

    fn resolve(&self, person: u128) -> u128 {
        self.survivor.get(&person).copied().unwrap_or(person)
    }

    /// Each person's first visit anywhere, up to `to`: who is new.
    fn first_visits(&self, to: NaiveDate) -> HashMap<u128, NaiveDate> {
        let mut first_visit: HashMap<u128, NaiveDate> =
            HashMap::with_capacity_and_hasher(self.persons.len(), Default::default());
        for v in self.visits.values() {
            if !v.voided && v.day <= to {
                first_visit
                    .entry(self.resolve(v.person))
                    .and_modify(|d| *d = (*d).min(v.day))
                    .or_insert(v.day);
            }
        }
        first_visit
    }

    fn counted(
        &self,
        conn: &dyn Sql,
        request: &ReportRequest,
        cabinet: Option<&str>,
        first_visit: &HashMap<u128, NaiveDate>,
    ) -> Result<Report> {
        // One cabinet's totals are a breakdown below the whole programme.
        let one_cabinet = ReportRequest {
            below_programme: request.below_programme || cabinet.is_some(),
            ..request.clone()
        };
        let request = &one_cabinet;
        let names = &self.names.names;
        let cabinet_id: Option<Option<u32>> = cabinet.map(|c| self.names.ids.get(c).copied());
        let resolve = |p: u128| self.resolve(p);
        let of_cabinet = |c: u32| cabinet_id.is_none_or(|want| want == Some(c));
        // The visits counted on every core at once, each person's in one part.
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) as u64;
        let part = |which: u64| {
            self.visits.values().filter_map(move |v| {
                if v.voided || v.day < request.from || v.day > request.to || !of_cabinet(v.cabinet)
                {
                    return None;
                }
                let person = resolve(v.person);
                // Fibonacci hashing of the id: an even spread whatever the ids look like.
                if ((person as u64 ^ (person >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    >> 32)
                    % parts
                    != which
                {
                    return None;
                }
                let p = self.persons.get(&person)?;
                let age = v.day.year() - p.birth_year;
                Some(VisitFact {
                    person,
                    cabinet: &names[v.cabinet as usize],
                    day: v.day,
                    voided: v.voided,
                    sex: p.sex,
                    birth_year: Some(p.birth_year),
                    neighbourhood: p.neighbourhood.map(|n| names[n as usize].as_str()),
                    no_documents: p.no_documents,
                    data_consent: p.data_consent,
                    first_visit: first_visit.get(&person).copied().unwrap_or(v.day),
                    screened: v.bits.screened,
                    abnormal: v.bits.abnormal_at(Some(age)),
                    // Only the hub's arrivals say when a visit was synced.
                    synced_within_48h: v.arrived_in_time.filter(|_| request.at_hub),
                })
            })
        };
        let referral_facts = self
            .referrals
            .values()
            .filter(|r| r.issued >= request.from && r.issued <= request.to && of_cabinet(r.cabinet))
            .map(|r| ReferralFact {
                cabinet: &names[r.cabinet as usize],
                issued: r.issued,
                destination: r.destination,
                urgency: r.urgency,
                class: r.class,
                reason: r.reason,
                status: r.status,
                attended: r.attended,
            });
        let cases = if cabinet.is_none() {
            cases(conn, request)?
        } else {
            Vec::new()
        };
        let parts = (0..parts).map(part).collect();
        Ok(Report::make_in_parts(request, parts, referral_facts, cases))
    }
}

fn last_change(conn: &dyn Sql) -> Result<i64> {
    Ok(conn.one(
        "SELECT COALESCE(MAX(change_seq), 0) FROM documents",
        &[],
        |r| r.get(0),
    )?)
}

/// The team's cases: opened, closed, and their overdue tasks on the report's day.
fn cases(conn: &dyn Sql, request: &ReportRequest) -> Result<Vec<CaseFact>> {
    let as_of = request.as_of.to_string();
    let mut cases = Vec::new();
    conn.each_row(
        "SELECT c.opened_at, c.closed_at,
                (SELECT count(*) FROM case_task t
                 WHERE t.case_id = c.case_id AND t.is_open = 1 AND t.due < ?1),
                c.closure_reason
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
                closure_reason: match r.value(3)? {
                    ValueRef::Null => None,
                    v => kabinet_core::case::ClosureReason::parse(text(v, 3)?),
                },
            });
            Ok(ControlFlow::Continue(()))
        },
    )?;
    Ok(cases)
}

/// Reads the facts from `conn` (a device's store or the hub's, either backend) and makes the
/// report of `request`; `cabinet` keeps one cabinet's visits and referrals.
pub fn make_report(
    conn: &dyn Sql,
    request: &ReportRequest,
    cabinet: Option<&str>,
) -> Result<Report> {
    ReportFacts::load(conn)?.report(conn, request, cabinet)
}

impl Store {
    /// The programme report of this store's records (see [`make_report`]). A store told to
    /// keep its report's facts ([`Store::keep_report_facts`]) reads only what changed since
    /// its last report.
    pub fn report(&self, request: &ReportRequest, cabinet: Option<&str>) -> Result<Report> {
        let mut kept = self.report_facts.lock().unwrap_or_else(|e| e.into_inner());
        match kept.as_mut() {
            Some(Some(facts)) => {
                facts.refresh(&*self.conn)?;
                facts.report(&*self.conn, request, cabinet)
            }
            Some(slot @ None) => {
                let facts = ReportFacts::load(&*self.conn)?;
                let report = facts.report(&*self.conn, request, cabinet);
                *slot = Some(facts);
                report
            }
            None => make_report(&*self.conn, request, cabinet),
        }
    }

    /// Keeps the report's facts in memory from the next report on (a hub: a year of a
    /// national programme is then made without reading the tables again; about 200 MB per
    /// million visits). `warm` reads them now.
    pub fn keep_report_facts(&self, warm: bool) -> Result<()> {
        let mut kept = self.report_facts.lock().unwrap_or_else(|e| e.into_inner());
        if kept.is_none() {
            *kept = Some(None);
        }
        if warm && matches!(*kept, Some(None)) {
            *kept = Some(Some(ReportFacts::load(&*self.conn)?));
        }
        Ok(())
    }
}
