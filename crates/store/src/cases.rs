//! Reads of the case projections: the case list with its filters, a person's cases, and the
//! open tasks of a worker or a role, overdue first.

use crate::sql::{Sql, SqlExt};
use crate::{Result, Store};
use chrono::NaiveDate;
use kabinet_core::Role;
use kabinet_core::case::{Assignee, CaseStatus, Priority, TaskStatus};
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

/// An open task as the worklists show it, from the projection (no case document loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub case_id: Uuid,
    pub task_id: Uuid,
    /// The case's person (a merged duplicate's survivor).
    pub person_id: Uuid,
    pub person_name: String,
    pub title: String,
    pub assignee: Assignee,
    pub due: Option<NaiveDate>,
    pub priority: Priority,
    pub status: TaskStatus,
    pub outcome: String,
}

impl Store {
    /// Cases, newest first, optionally of one status and one lead worker.
    pub fn cases(
        &self,
        status: Option<CaseStatus>,
        lead: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CaseSummary>> {
        let rows = self.conn.rows(
            "SELECT c.case_id, COALESCE(a.survivor_id, c.person_id), COALESCE(p.full_name, ''),
                    c.status, c.lead, c.household, c.opened_at
             FROM case_index c
             LEFT JOIN person_alias a ON a.person_id = c.person_id
             LEFT JOIN person_index p ON p.person_id = COALESCE(a.survivor_id, c.person_id)
             WHERE (CAST(?1 AS TEXT) IS NULL OR c.status = ?1) AND (CAST(?2 AS TEXT) IS NULL OR c.lead = ?2)
             ORDER BY c.opened_at DESC LIMIT ?3",
            &[&status.map(|s| s.as_str()), &lead, &limit],
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
        )?;
        Ok(rows)
    }

    /// The cases of a person and of the records merged into theirs.
    pub fn cases_of_person(&self, person_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(self.conn.rows(
            "SELECT case_id FROM case_index WHERE person_id IN
                   (SELECT ?1 UNION ALL SELECT person_id FROM person_alias WHERE survivor_id = ?1)
                 ORDER BY opened_at DESC",
            &[&person_id],
            |r| r.get(0),
        )?)
    }

    /// Open tasks of open cases assigned to `user` or to one of `roles` (empty: every open
    /// task, the team's list), the earliest due first and those without a date last.
    pub fn open_tasks(
        &self,
        user: Option<&str>,
        roles: &[&str],
        limit: usize,
    ) -> Result<Vec<TaskRow>> {
        let roles_text = roles.join(",");
        // A role is one of the comma-separated `roles`; the two databases name the function
        // that finds one text in another differently.
        let sql = format!(
            "SELECT t.case_id, t.task_id, COALESCE(a.survivor_id, t.person_id), COALESCE(p.full_name, ''),
                    t.title, t.assignee_user, t.assignee_role, t.due, t.priority, t.status, t.outcome
             FROM case_task t
             LEFT JOIN person_alias a ON a.person_id = t.person_id
             LEFT JOIN person_index p ON p.person_id = COALESCE(a.survivor_id, t.person_id)
             WHERE t.is_open = 1 AND (
                (CAST(?1 AS TEXT) IS NULL AND ?2 = '')
                OR t.assignee_user = ?1
                OR (t.assignee_role IS NOT NULL AND {position}(',' || ?2 || ',', ',' || t.assignee_role || ',') > 0))
             ORDER BY t.due IS NULL, t.due, t.priority_rank DESC LIMIT ?3",
            position = crate::sql::position_function(self.conn.dialect())
        );
        let rows = self.conn.rows(&sql, &[&user, &roles_text, &limit], |r| {
            let user: Option<String> = r.get(5)?;
            let role: Option<String> = r.get(6)?;
            let due: Option<String> = r.get(7)?;
            let priority: String = r.get(8)?;
            let status: String = r.get(9)?;
            Ok(TaskRow {
                case_id: r.get(0)?,
                task_id: r.get(1)?,
                person_id: r.get(2)?,
                person_name: r.get(3)?,
                title: r.get(4)?,
                assignee: match (user, role.as_deref().and_then(Role::parse)) {
                    (Some(u), _) => Assignee::User(u),
                    (None, Some(role)) => Assignee::Role(role),
                    (None, None) => Assignee::User(String::new()),
                },
                due: due.and_then(|d| d.parse().ok()),
                priority: Priority::parse(&priority).unwrap_or(Priority::Normal),
                status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Todo),
                outcome: r.get(10)?,
            })
        })?;
        Ok(rows)
    }
}
