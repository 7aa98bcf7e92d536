//! Reads of the merge projections: who a merged record's survivor is, which records were
//! merged into a person's, and what the duplicate finder compares.

use crate::sql::SqlExt;
use crate::{Result, Store};
use chrono::NaiveDate;
use kabinet_core::Sex;
use kabinet_core::duplicates::{Candidate, pair};
use std::collections::HashSet;
use uuid::Uuid;

impl Store {
    /// The person a merged record now is, or `None` when `person_id` was not merged.
    pub fn survivor_of(&self, person_id: Uuid) -> Result<Option<Uuid>> {
        Ok(self.conn.row(
            "SELECT survivor_id FROM person_alias WHERE person_id = ?1",
            &[&person_id],
            |r| r.get(0),
        )?)
    }

    /// The records merged into `survivor`'s (directly or through a chain).
    pub fn merged_into(&self, survivor: Uuid) -> Result<Vec<Uuid>> {
        Ok(self.conn.rows(
            "SELECT person_id FROM person_alias WHERE survivor_id = ?1 ORDER BY person_id",
            &[&survivor],
            |r| r.get(0),
        )?)
    }

    /// Every person not merged into another, as the duplicate finder compares them.
    pub fn duplicate_candidates(&self) -> Result<Vec<Candidate>> {
        let rows = self.conn.rows(
            "SELECT p.person_id, p.full_name, p.sex, p.birth_year, p.birth_display, p.egn, p.lnch,
                    p.phone, p.neighbourhood
             FROM person_index p
             WHERE NOT EXISTS (SELECT 1 FROM person_alias a WHERE a.person_id = p.person_id)",
            &[],
            |r| {
                let sex: String = r.get(2)?;
                let display: String = r.get(4)?;
                Ok(Candidate::new(
                    r.get(0)?,
                    &r.get::<String>(1)?,
                    Sex::parse(&sex).unwrap_or(Sex::F),
                    r.get(3)?,
                    // "24.06.1977" when exact, "~1977" when estimated.
                    NaiveDate::parse_from_str(&display, "%d.%m.%Y").ok(),
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )?;
        Ok(rows)
    }

    /// Pairs judged "not the same person" (by either record), each as [`pair`] orders it.
    pub fn dismissed_pairs(&self) -> Result<HashSet<(Uuid, Uuid)>> {
        let rows = self.conn.rows(
            "SELECT person_id, other_id FROM person_not_same",
            &[],
            |r| Ok(pair(r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.into_iter().collect())
    }
}

impl Store {
    /// The person `person_id` now stands for: its survivor when it was merged, else itself.
    pub fn current_person(&self, person_id: Uuid) -> Result<kabinet_core::Person> {
        self.person(self.survivor_of(person_id)?.unwrap_or(person_id))
    }

    /// A person's row of the search index (as a search hit), if the store holds them.
    pub fn person_hit(&self, person_id: Uuid) -> Result<Option<crate::PersonHit>> {
        crate::query::person_hit_by_id(&self.conn, person_id)
    }
}
