//! Reads of the case projections: the case list with its filters, a person's cases, and the
//! open tasks of a worker or a role, overdue first.

use crate::{Result, Store};
use chrono::NaiveDate;
use kabinet_core::case::CaseStatus;
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

/// A case as the case list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct CaseSummary {
    pub id: Uuid,
    /// The person (a merged duplicate's case is listed under its survivor).
    pub person_id: Uuid,
    pub person_name: String,
    pub status: CaseStatus,
    pub lead: String,
    pub household: Option<String>,
    pub opened_at: String,
}

/// An open task as the worklists find it (the case's document holds the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRef {
    pub case_id: Uuid,
    pub task_id: Uuid,
    pub due: Option<NaiveDate>,
}

impl Store {
    /// Cases, newest first, optionally of one status and one lead worker.
    pub fn cases(
        &self,
        status: Option<CaseStatus>,
        lead: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CaseSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.case_id, COALESCE(a.survivor_id, c.person_id), COALESCE(p.full_name, ''),
                    c.status, c.lead, c.household, c.opened_at
             FROM case_index c
             LEFT JOIN person_alias a ON a.person_id = c.person_id
             LEFT JOIN person_index p ON p.person_id = COALESCE(a.survivor_id, c.person_id)
             WHERE (?1 IS NULL OR c.status = ?1) AND (?2 IS NULL OR c.lead = ?2)
             ORDER BY c.opened_at DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(
                params![status.map(|s| s.as_str()), lead, limit as i64],
                |r| {
                    let status: String = r.get(3)?;
                    Ok(CaseSummary {
                        id: r.get(0)?,
                        person_id: r.get(1)?,
                        person_name: r.get(2)?,
                        status: CaseStatus::parse(&status).unwrap_or(CaseStatus::Open),
                        lead: r.get(4)?,
                        household: r.get(5)?,
                        opened_at: r.get(6)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The cases of a person and of the records merged into theirs.
    pub fn cases_of_person(&self, person_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT case_id FROM case_index WHERE person_id IN
                   (SELECT ?1 UNION ALL SELECT person_id FROM person_alias WHERE survivor_id = ?1)
                 ORDER BY opened_at DESC",
            )?
            .query_map([person_id.as_bytes().as_slice()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Open tasks of open cases assigned to `user` or to one of `roles` (empty: every open
    /// task, the team's list), the earliest due first and those without a date last.
    pub fn open_tasks(
        &self,
        user: Option<&str>,
        roles: &[&str],
        limit: usize,
    ) -> Result<Vec<TaskRef>> {
        let roles_text = roles.join(",");
        let mut stmt = self.conn.prepare_cached(
            "SELECT case_id, task_id, due FROM case_task
             WHERE is_open = 1 AND (
                (?1 IS NULL AND ?2 = '')
                OR assignee_user = ?1
                OR (assignee_role IS NOT NULL AND instr(',' || ?2 || ',', ',' || assignee_role || ',') > 0))
             ORDER BY due IS NULL, due, priority DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![user, roles_text, limit as i64], |r| {
                let due: Option<String> = r.get(2)?;
                Ok(TaskRef {
                    case_id: r.get(0)?,
                    task_id: r.get(1)?,
                    due: due.and_then(|d| d.parse().ok()),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
