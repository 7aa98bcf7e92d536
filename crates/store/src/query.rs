//! Reads through the projections: find a person by name (Cyrillic or any Latin spelling),
//! ЕГН, ЛНЧ or phone; the day's visits; open referrals by urgency; what changed since a
//! cursor.

use crate::records::{DocKind, class_at, heads_from_bytes, kind_at};
use crate::sql::{Row, Sql, SqlError, SqlErrorKind, SqlExt, ToSql};
use crate::{Result, Store};
use automerge::ChangeHash;
use chrono::{DateTime, NaiveDate, Utc};
use kabinet_core::{AccessClass, Phone, ReferralReason, ReferralStatus, Urgency, translit};
use serde::Serialize;
use std::collections::HashSet;
use std::ops::ControlFlow;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct PersonHit {
    pub id: Uuid,
    pub full_name: String,
    pub latin_name: String,
    pub sex: String,
    pub birth: String,
    pub birth_year: i32,
    pub egn: Option<String>,
    pub lnch: Option<String>,
    pub phone: Option<String>,
    pub neighbourhood: Option<String>,
    pub no_documents: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct VisitSummary {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub cabinet: String,
    pub specialist: String,
    pub at: DateTime<Utc>,
    /// Entered in error: kept in the history, out of the day's counts.
    pub voided: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralSummary {
    pub id: Uuid,
    pub code: String,
    pub person_id: Uuid,
    pub person_name: String,
    pub reason: ReferralReason,
    /// A destination slug (see `kabinet_core::Destination`).
    pub destination: String,
    pub urgency: Urgency,
    pub status: ReferralStatus,
    pub issued_at: String,
}

impl ReferralSummary {
    /// The class the referral is read under (its reason's and its destination's, see
    /// [`kabinet_core::referral_class`]).
    pub fn access_class(&self) -> kabinet_core::AccessClass {
        kabinet_core::Destination::parse(&self.destination)
            .ok()
            .and_then(|d| kabinet_core::referral_class(self.reason, d).ok())
            .unwrap_or(self.reason.access_class())
    }
}

/// A document changed since a cursor: what sync sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedDoc {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub access_class: AccessClass,
    pub parent_id: Option<Uuid>,
    pub change_seq: u64,
    pub heads: Vec<ChangeHash>,
}

/// A domain value the query table keeps as its text spelling; a spelling this build does not
/// know is an error, not a guess (the reason decides who may read a referral).
fn spelled<T, E>(
    r: &Row<'_>,
    idx: usize,
    parse: fn(&str) -> std::result::Result<T, E>,
) -> std::result::Result<T, SqlError> {
    let text: String = r.get(idx)?;
    parse(&text).map_err(|_| bad_text(idx, text))
}

#[derive(Debug, thiserror::Error)]
#[error("column {0}: unknown value {1:?} in a query table")]
struct UnknownValue(usize, String);

fn bad_text(idx: usize, text: String) -> SqlError {
    SqlError::new(SqlErrorKind::Conversion, UnknownValue(idx, text))
}

const PERSON_COLUMNS: &str = "p.person_id, p.full_name, p.latin_name, p.sex, p.birth_display, p.birth_year, p.egn, p.lnch, p.phone, p.neighbourhood, p.no_documents";

fn person_hit(r: &Row<'_>) -> std::result::Result<PersonHit, SqlError> {
    Ok(PersonHit {
        id: r.get(0)?,
        full_name: r.get(1)?,
        latin_name: r.get(2)?,
        sex: r.get(3)?,
        birth: r.get(4)?,
        birth_year: r.get(5)?,
        egn: r.get(6)?,
        lnch: r.get(7)?,
        phone: r.get(8)?,
        neighbourhood: r.get(9)?,
        no_documents: r.get(10)?,
    })
}

pub(crate) fn person_hit_by_id(conn: &dyn Sql, id: Uuid) -> Result<Option<PersonHit>> {
    Ok(conn.row(
        &format!("SELECT {PERSON_COLUMNS} FROM person_index p WHERE p.person_id = ?1"),
        &[&id],
        person_hit,
    )?)
}

/// A person (`?1`) and the records merged into theirs, as a subquery.
const PERSON_AND_MERGED: &str =
    "SELECT ?1 UNION ALL SELECT person_id FROM person_alias WHERE survivor_id = ?1";

/// The exclusive upper bound of all strings starting with `prefix` (prefix search as an index
/// range).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

impl Store {
    /// One search box: a name in Cyrillic or Latin (any common spelling, word prefixes, in any
    /// order, optionally with a birth year), an ЕГН or ЛНЧ (or its first digits), or a phone
    /// number in any notation. Best matches first.
    pub fn search_persons(&self, query: &str, limit: usize) -> Result<Vec<PersonHit>> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let compact: String = q
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '/' | '.'))
            .collect();
        let numeric = !compact.is_empty()
            && compact
                .trim_start_matches('+')
                .chars()
                .all(|c| c.is_ascii_digit());
        // Four digits that look like a birth year are a year filter; any other number is an
        // ЕГН, ЛНЧ or phone (possibly still being typed).
        let looks_like_year = compact.len() == 4
            && compact
                .parse::<i32>()
                .is_ok_and(|y| (1900..=2100).contains(&y));
        let hits = if numeric && !looks_like_year {
            self.search_by_number(&compact, limit)?
        } else {
            self.search_by_name(q, limit)?
        };
        self.as_survivors(hits)
    }

    /// Hits with each merged duplicate replaced by its survivor (found by the duplicate's
    /// name, ЕГН or phone too), each person once, in the order first met.
    fn as_survivors(&self, hits: Vec<PersonHit>) -> Result<Vec<PersonHit>> {
        let fetch = format!("SELECT {PERSON_COLUMNS} FROM person_index p WHERE p.person_id = ?1");
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(hits.len());
        for hit in hits {
            let to: Option<Uuid> = self.conn.row(
                "SELECT survivor_id FROM person_alias WHERE person_id = ?1",
                &[&hit.id],
                |r| r.get(0),
            )?;
            let hit = match to {
                Some(id) => match self.conn.row(&fetch, &[&id], person_hit)? {
                    Some(h) => h,
                    None => continue,
                },
                None => hit,
            };
            if seen.insert(hit.id) {
                out.push(hit);
            }
        }
        Ok(out)
    }

    fn search_by_number(&self, digits: &str, limit: usize) -> Result<Vec<PersonHit>> {
        let mut hits = Vec::new();
        let mut seen = HashSet::new();
        let mut push = |found: Vec<PersonHit>, hits: &mut Vec<PersonHit>| {
            for h in found {
                if seen.insert(h.id) {
                    hits.push(h);
                }
            }
        };
        if !digits.starts_with('+') && digits.len() <= 10 {
            for column in ["egn", "lnch"] {
                let sql = format!(
                    "SELECT {PERSON_COLUMNS} FROM person_index p WHERE p.{column} >= ?1 AND p.{column} < ?2 ORDER BY p.{column} LIMIT ?3"
                );
                let found =
                    self.conn
                        .rows(&sql, &[&digits, &prefix_end(digits), &limit], person_hit)?;
                push(found, &mut hits);
            }
        }
        // A phone number as typed so far: normalise what there is, then match as a prefix.
        let phone_prefix = Phone::parse(digits)
            .map(|p| p.as_str().to_string())
            .ok()
            .or_else(|| {
                if let Some(rest) = digits.strip_prefix('+') {
                    Some(format!("+{rest}"))
                } else if let Some(rest) = digits.strip_prefix("00") {
                    Some(format!("+{rest}"))
                } else {
                    digits.strip_prefix('0').map(|rest| format!("+359{rest}"))
                }
            });
        if let Some(prefix) = phone_prefix {
            let found = self.conn.rows(
                &format!(
                    "SELECT {PERSON_COLUMNS} FROM person_index p WHERE p.phone >= ?1 AND p.phone < ?2 ORDER BY p.phone LIMIT ?3"
                ),
                &[&prefix, &prefix_end(&prefix), &limit],
                person_hit,
            )?;
            push(found, &mut hits);
        }
        hits.truncate(limit);
        Ok(hits)
    }

    fn search_by_name(&self, query: &str, limit: usize) -> Result<Vec<PersonHit>> {
        let mut year = None;
        let mut tokens = Vec::new();
        for word in query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if word.len() == 4 && word.chars().all(|c| c.is_ascii_digit()) {
                year = word.parse::<i32>().ok();
            } else {
                tokens.extend(translit::search_tokens(word));
            }
        }
        tokens.sort();
        tokens.dedup();
        if tokens.is_empty() {
            return match year {
                Some(y) => Ok(self.conn.rows(
                    &format!(
                        "SELECT {PERSON_COLUMNS} FROM person_index p WHERE p.birth_year = ?1 ORDER BY p.full_name LIMIT ?2"
                    ),
                    &[&y, &limit],
                    person_hit,
                )?),
                None => Ok(Vec::new()),
            };
        }
        // Every query word must be the prefix of some name word. The rarest word drives: its
        // index range is walked in key order (so exact word matches come first) and stops as
        // soon as `limit` persons pass the other words and the year; nothing is sorted in bulk,
        // so a common name costs no more than a rare one.
        let driver = self.rarest(&tokens)?;
        let others: Vec<&String> = tokens.iter().filter(|t| **t != driver).collect();
        let mut seen = HashSet::new();
        let mut found: Vec<(bool, Vec<u8>)> = Vec::new();
        self.conn.each_row(
            "SELECT token, person_id FROM person_name_token WHERE token >= ?1 AND token < ?2 ORDER BY token, person_id",
            &[&driver, &prefix_end(&driver)],
            &mut |row| {
                let token: String = row.get(0)?;
                let person: Vec<u8> = row.get(1)?;
                if !seen.insert(person.clone()) {
                    return Ok(ControlFlow::Continue(()));
                }
                let mut ok = true;
                for t in &others {
                    let has = self
                        .conn
                        .row(
                            "SELECT 1 FROM person_name_token WHERE person_id = ?1 AND token >= ?2 AND token < ?3 LIMIT 1",
                            &[&person, t, &prefix_end(t)],
                            |_| Ok(()),
                        )?
                        .is_some();
                    if !has {
                        ok = false;
                        break;
                    }
                }
                if ok && let Some(y) = year {
                    ok = self.conn.row(
                        "SELECT birth_year FROM person_index WHERE person_id = ?1",
                        &[&person],
                        |r| r.get::<i32>(0),
                    )? == Some(y);
                }
                if ok {
                    found.push((token == driver, person));
                    if found.len() >= limit {
                        return Ok(ControlFlow::Break(()));
                    }
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        let fetch = format!("SELECT {PERSON_COLUMNS} FROM person_index p WHERE p.person_id = ?1");
        let mut hits = Vec::with_capacity(found.len());
        for (exact, id) in &found {
            if let Some(hit) = self.conn.row(&fetch, &[id], person_hit)? {
                hits.push((*exact, hit));
            }
        }
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.full_name.cmp(&b.1.full_name))
        });
        Ok(hits.into_iter().map(|(_, h)| h).collect())
    }

    /// The query word with the fewest name words starting with it (counted up to a cap).
    fn rarest(&self, tokens: &[String]) -> Result<String> {
        if tokens.len() == 1 {
            return Ok(tokens[0].clone());
        }
        let mut best = (i64::MAX, &tokens[0]);
        for t in tokens {
            let n: i64 = self.conn.one(
                "SELECT count(*) FROM (SELECT 1 FROM person_name_token WHERE token >= ?1 AND token < ?2 LIMIT 2000) AS hits",
                &[t, &prefix_end(t)],
                |r| r.get(0),
            )?;
            if n < best.0 {
                best = (n, t);
            }
        }
        Ok(best.1.clone())
    }

    fn visits_where(&self, condition: &str, args: &[&dyn ToSql]) -> Result<Vec<VisitSummary>> {
        // A visit of a merged duplicate is shown as its survivor's.
        let sql = format!(
            "SELECT v.visit_id, COALESCE(a.survivor_id, v.person_id), COALESCE(p.full_name, ''),
                    v.cabinet, v.specialist, v.at, v.voided
             FROM visit_index v
             LEFT JOIN person_alias a ON a.person_id = v.person_id
             LEFT JOIN person_index p ON p.person_id = COALESCE(a.survivor_id, v.person_id)
             WHERE {condition}"
        );
        let rows = self.conn.rows(&sql, args, |r| {
            Ok(VisitSummary {
                id: r.get(0)?,
                person_id: r.get(1)?,
                person_name: r.get(2)?,
                cabinet: r.get(3)?,
                specialist: r.get(4)?,
                at: DateTime::parse_from_rfc3339(&r.get::<String>(5)?)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_default(),
                voided: r.get(6)?,
            })
        })?;
        Ok(rows)
    }

    /// The visits of a day (in Pernik's time zone), optionally of one cabinet, in time order.
    pub fn visits_on(&self, day: NaiveDate, cabinet: Option<&str>) -> Result<Vec<VisitSummary>> {
        self.visits_where(
            "v.local_day = ?1 AND (CAST(?2 AS TEXT) IS NULL OR v.cabinet = ?2) ORDER BY v.at",
            &[&day.to_string(), &cabinet],
        )
    }

    /// A person's visits, with those of the records merged into theirs, newest first.
    pub fn visits_of_person(&self, person_id: Uuid) -> Result<Vec<VisitSummary>> {
        self.visits_where(
            &format!("v.person_id IN ({PERSON_AND_MERGED}) ORDER BY v.at DESC"),
            &[&person_id],
        )
    }

    fn referrals_where(
        &self,
        condition: &str,
        arg: &dyn ToSql,
        limit: usize,
    ) -> Result<Vec<ReferralSummary>> {
        let sql = format!(
            "SELECT r.referral_id, r.code, COALESCE(a.survivor_id, r.person_id), COALESCE(p.full_name, ''),
                    r.reason, r.destination, r.urgency, r.status, r.issued_at
             FROM referral_index r
             LEFT JOIN person_alias a ON a.person_id = r.person_id
             LEFT JOIN person_index p ON p.person_id = COALESCE(a.survivor_id, r.person_id)
             WHERE {condition} ORDER BY r.urgency DESC, r.issued_at LIMIT ?2"
        );
        let rows = self.conn.rows(&sql, &[arg, &limit], |r| {
            Ok(ReferralSummary {
                id: r.get(0)?,
                code: r.get(1)?,
                person_id: r.get(2)?,
                person_name: r.get(3)?,
                reason: spelled(r, 4, ReferralReason::parse)?,
                destination: r.get(5)?,
                urgency: {
                    let rank: i64 = r.get(6)?;
                    Urgency::from_rank(rank).ok_or_else(|| bad_text(6, rank.to_string()))?
                },
                status: spelled(r, 7, ReferralStatus::parse)?,
                issued_at: r.get(8)?,
            })
        })?;
        Ok(rows)
    }

    /// Referrals still waiting for the person to arrive, most urgent and oldest first.
    pub fn open_referrals(&self, limit: usize) -> Result<Vec<ReferralSummary>> {
        self.referrals_where(
            "r.is_open = 1 AND CAST(?1 AS TEXT) IS NULL",
            &None::<String>,
            limit,
        )
    }

    pub fn referrals_of_person(&self, person_id: Uuid) -> Result<Vec<ReferralSummary>> {
        self.referrals_where(
            &format!("r.person_id IN ({PERSON_AND_MERGED})"),
            &person_id,
            1000,
        )
    }

    pub fn referral_by_code(
        &self,
        code: &kabinet_core::ReferralCode,
    ) -> Result<Option<ReferralSummary>> {
        Ok(self
            .referrals_where("r.code = ?1", &code.to_string(), 1)?
            .into_iter()
            .next())
    }

    /// Documents changed after `cursor` (a local change sequence), oldest change first: what
    /// a sync must send. The last entry's `change_seq` is the next cursor.
    pub fn changes_since(&self, cursor: u64, limit: usize) -> Result<Vec<ChangedDoc>> {
        changes_since(&self.conn, cursor, limit)
    }

    /// The ids of every document of `kind`, in the order they came to this store: what an
    /// export walks.
    pub fn document_ids(&self, kind: DocKind) -> Result<Vec<Uuid>> {
        Ok(self.conn.rows(
            "SELECT doc_id FROM documents WHERE kind = ?1 ORDER BY change_seq",
            &[&(kind as i64)],
            |r| r.get(0),
        )?)
    }

    /// The persons something was written about at or after `since` (in this store): their
    /// own record, a visit, a result or a referral. A person merged into another stays
    /// themselves here.
    pub fn persons_touched_since(&self, since: DateTime<Utc>) -> Result<Vec<Uuid>> {
        // `updated_at` is RFC 3339 in UTC as chrono writes it; the same spelling of `since`
        // orders the same way as text.
        let since = since.to_rfc3339();
        Ok(self.conn.rows(
            "SELECT d.doc_id FROM documents d WHERE d.kind = ?1 AND d.updated_at >= ?2
             UNION
             SELECT v.person_id FROM documents d JOIN visit_index v
               ON v.visit_id = CASE WHEN d.kind = ?3 THEN d.parent_id ELSE d.doc_id END
             WHERE d.kind IN (?3, ?4) AND d.updated_at >= ?2
             UNION
             SELECT r.person_id FROM documents d JOIN referral_index r ON r.referral_id = d.doc_id
             WHERE d.kind = ?5 AND d.updated_at >= ?2
             ORDER BY 1",
            &[
                &(DocKind::Person as i64),
                &since,
                &(DocKind::Results as i64),
                &(DocKind::Visit as i64),
                &(DocKind::Referral as i64),
            ],
            |r| r.get(0),
        )?)
    }

    /// The visits recorded under exactly this person's id (not those of persons merged into
    /// them), oldest first.
    pub fn visit_ids_of(&self, person_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(self.conn.rows(
            "SELECT visit_id FROM visit_index WHERE person_id = ?1 ORDER BY at",
            &[&person_id],
            |r| r.get(0),
        )?)
    }

    /// The referrals issued for exactly this person's id, oldest first.
    pub fn referral_ids_of(&self, person_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(self.conn.rows(
            "SELECT referral_id FROM referral_index WHERE person_id = ?1 ORDER BY issued_at",
            &[&person_id],
            |r| r.get(0),
        )?)
    }

    /// How many documents of each kind the store holds.
    pub fn count(&self, kind: DocKind) -> Result<u64> {
        Ok(self.conn.one(
            "SELECT count(*) FROM documents WHERE kind = ?1",
            &[&(kind as i64)],
            |r| r.get::<i64>(0),
        )? as u64)
    }
}

/// Documents changed after `cursor`, oldest change first (see [`Store::changes_since`]).
pub(crate) fn changes_since(conn: &dyn Sql, cursor: u64, limit: usize) -> Result<Vec<ChangedDoc>> {
    let rows = conn.rows(
        "SELECT doc_id, kind, access_class, parent_id, change_seq, heads FROM documents
         WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
        &[&(cursor as i64), &limit],
        |r| {
            Ok(ChangedDoc {
                doc_id: r.get(0)?,
                kind: kind_at(r, 1)?,
                access_class: class_at(r, 2)?,
                parent_id: r.get(3)?,
                change_seq: r.get::<i64>(4)? as u64,
                heads: heads_from_bytes(&r.get::<Vec<u8>>(5)?),
            })
        },
    )?;
    Ok(rows)
}
