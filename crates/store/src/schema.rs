//! Versioned schema migrations (rusqlite_migration, tracked in `PRAGMA user_version`).
//! Never edit a released migration; append a new one.

use rusqlite_migration::{M, Migrations};

/// The documents are the truth (`documents`, `document_chunks`); the `*_index` and
/// `person_name_token` tables are projections that [`crate::Store::rebuild_projections`]
/// can recreate from them at any time.
const MIGRATIONS_SLICE: &[M<'_>] = &[
    M::up(
        r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    -- One row per Automerge document: a compacted snapshot plus the heads after all chunks.
    -- change_seq is the local change sequence: bumped on every write, so "what changed since
    -- cursor N" is an index range scan (what sync sends).
    CREATE TABLE documents (
        doc_id       BLOB PRIMARY KEY,
        kind         INTEGER NOT NULL,
        access_class INTEGER NOT NULL,
        parent_id    BLOB,
        snapshot     BLOB NOT NULL,
        heads        BLOB NOT NULL,
        change_seq   INTEGER NOT NULL,
        origin       INTEGER NOT NULL,
        updated_at   TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX documents_by_change_seq ON documents(change_seq);
    CREATE INDEX documents_by_parent ON documents(parent_id) WHERE parent_id IS NOT NULL;

    -- Incremental saves (Automerge changes) since the snapshot; folded into it from time to time.
    CREATE TABLE document_chunks (
        doc_id   BLOB NOT NULL,
        chunk_no INTEGER NOT NULL,
        bytes    BLOB NOT NULL,
        PRIMARY KEY (doc_id, chunk_no)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE person_index (
        person_id     BLOB PRIMARY KEY,
        full_name     TEXT NOT NULL,
        latin_name    TEXT NOT NULL,
        sex           TEXT NOT NULL,
        birth_year    INTEGER NOT NULL,
        birth_display TEXT NOT NULL,
        egn           TEXT,
        lnch          TEXT,
        phone         TEXT,
        neighbourhood TEXT,
        no_documents  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX person_by_egn ON person_index(egn) WHERE egn IS NOT NULL;
    CREATE INDEX person_by_lnch ON person_index(lnch) WHERE lnch IS NOT NULL;
    CREATE INDEX person_by_phone ON person_index(phone) WHERE phone IS NOT NULL;

    -- Name words as search keys (Latin, spelling variants folded): prefix search by range.
    CREATE TABLE person_name_token (
        token     TEXT NOT NULL,
        person_id BLOB NOT NULL,
        PRIMARY KEY (token, person_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX person_name_token_by_person ON person_name_token(person_id, token);

    CREATE TABLE visit_index (
        visit_id   BLOB PRIMARY KEY,
        person_id  BLOB NOT NULL,
        cabinet    TEXT NOT NULL,
        specialist TEXT NOT NULL,
        at         TEXT NOT NULL,
        local_day  TEXT NOT NULL
    ) STRICT;
    CREATE INDEX visit_by_day ON visit_index(local_day, cabinet);
    CREATE INDEX visit_by_person ON visit_index(person_id, at);

    CREATE TABLE referral_index (
        referral_id  BLOB PRIMARY KEY,
        code         TEXT NOT NULL,
        person_id    BLOB NOT NULL,
        visit_id     BLOB NOT NULL,
        reason       TEXT NOT NULL,
        destination  TEXT NOT NULL,
        urgency      INTEGER NOT NULL,
        status       TEXT NOT NULL,
        is_open      INTEGER NOT NULL,
        issued_at    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX referral_by_code ON referral_index(code);
    CREATE INDEX referral_by_person ON referral_index(person_id);
    CREATE INDEX referral_open_by_urgency ON referral_index(urgency DESC, issued_at) WHERE is_open = 1;
    "#,
    ),
    // Sync (#3): per document, the heads the hub is known to hold, and the local change
    // sequence at which this device had nothing the hub lacks.
    M::up(
        r#"
    CREATE TABLE sync_state (
        doc_id      BLOB PRIMARY KEY,
        peer_heads  BLOB NOT NULL,
        in_sync_seq INTEGER
    ) STRICT, WITHOUT ROWID;
    "#,
    ),
    // The audit log: append-only, hash-chained (kabinet_core::audit). Not a projection: it is
    // a record of its own and is never rebuilt.
    M::up(
        r#"
    CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        user      TEXT NOT NULL,
        device    TEXT NOT NULL,
        action    TEXT NOT NULL,
        record    TEXT NOT NULL,
        class     TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash      BLOB NOT NULL
    ) STRICT;
    "#,
    ),
    // A document a device first received from the hub is in sync with it the moment it lands:
    // saying so on its own row costs nothing, where a sync_state row per received document was
    // a second B-tree insert (17 % of applying a fresh device's first pull). `in_sync_seq` = S:
    // at change S the hub held exactly this document's heads. sync_state, when it has a row,
    // is newer and wins; a local edit of an in-sync document moves the fact there first.
    M::up("ALTER TABLE documents ADD COLUMN in_sync_seq INTEGER;"),
    // The referral index spells a reason as `ReferralReason::as_str` does everywhere else
    // (`screening:hiv`); it used to keep the bare kind (`hiv`) for screenings.
    M::up(
        "UPDATE referral_index SET reason = 'screening:' || reason
         WHERE reason NOT IN ('social', 'legal', 'psychological', 'education')
           AND reason NOT LIKE 'screening:%';",
    ),
    // A referral is read under the stricter of its reason's and its destination's class
    // (`kabinet_core::referral_class`): a "social" referral to the HIV lab, the lung hospital
    // or infectious diseases, written before the rule as general, moves to that class. The
    // codes are `AccessClass::code` (general 0, hiv 1, hepatitis 2, tuberculosis 3) and
    // `DocKind::Referral` (4); the hub runs the same migration, so pushes and its copy agree.
    M::up(
        "UPDATE documents SET access_class = CASE (
             SELECT destination FROM referral_index WHERE referral_id = documents.doc_id)
             WHEN 'hiv-confirmatory' THEN 1
             WHEN 'infectious-diseases' THEN 2
             WHEN 'lung-hospital' THEN 3
         END
         WHERE kind = 4 AND access_class = 0
           AND doc_id IN (SELECT referral_id FROM referral_index
                          WHERE destination IN ('hiv-confirmatory', 'infectious-diseases', 'lung-hospital'));",
    ),
    // Drafts belong to their writer now (`draft.<login>/<key>`): the older, shared ones
    // (`draft.<key>`, which may hold a typed HIV result) are never loaded again, so they go.
    M::up("DELETE FROM meta WHERE key LIKE 'draft.%' AND instr(key, '/') = 0;"),
    // Fields with concurrent values (the same field changed on two devices apart), kept as
    // documents change so the hub can list what needs a person's review without loading every
    // document. A projection: `rebuild_projections` derives it again from the documents.
    // And a visit entered in error stays in the history but leaves the day's counts.
    M::up(
        "CREATE TABLE field_conflict (
            doc_id BLOB NOT NULL,
            path TEXT NOT NULL,
            PRIMARY KEY (doc_id, path)
        ) STRICT, WITHOUT ROWID;
        ALTER TABLE visit_index ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;",
    ),
    // Merged persons (issue #17): each duplicate's pointer as its document holds it
    // (`person_merge`), every duplicate's survivor with chains followed and cycles broken
    // (`person_alias`, what the views join), and pairs judged "not the same person"
    // (`person_not_same`, one row per direction). All three are projections of the persons'
    // documents; no store before this version holds a merge, so they start empty.
    M::up(
        "CREATE TABLE person_merge (
            person_id BLOB PRIMARY KEY,
            merged_into BLOB NOT NULL,
            at TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX person_merge_by_survivor ON person_merge(merged_into);
        CREATE TABLE person_alias (
            person_id BLOB PRIMARY KEY,
            survivor_id BLOB NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX person_alias_by_survivor ON person_alias(survivor_id);
        CREATE TABLE person_not_same (
            person_id BLOB NOT NULL,
            other_id BLOB NOT NULL,
            PRIMARY KEY (person_id, other_id)
        ) STRICT, WITHOUT ROWID;",
    ),
    // Cases of the hub's team (issue #18): a row per case for the case list's filters, and a
    // row per task with what the worklists show, so that "my tasks" and "team tasks" (overdue
    // first) are one indexed read, no case document loaded. Projections of the cases'
    // documents; notes have none (a case's notes are its child documents, read by class).
    M::up(
        "CREATE TABLE case_index (
            case_id BLOB PRIMARY KEY,
            person_id BLOB NOT NULL,
            status TEXT NOT NULL,
            lead TEXT NOT NULL,
            household TEXT,
            opened_at TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX case_by_person ON case_index(person_id);
        CREATE INDEX case_by_status ON case_index(status, opened_at);
        CREATE TABLE case_task (
            case_id BLOB NOT NULL,
            task_id BLOB NOT NULL,
            person_id BLOB NOT NULL,
            title TEXT NOT NULL,
            assignee_user TEXT,
            assignee_role TEXT,
            due TEXT,
            priority TEXT NOT NULL,
            priority_rank INTEGER NOT NULL,
            status TEXT NOT NULL,
            outcome TEXT NOT NULL,
            is_open INTEGER NOT NULL,
            PRIMARY KEY (case_id, task_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX case_task_by_user ON case_task(assignee_user, due) WHERE is_open = 1;
        CREATE INDEX case_task_by_role ON case_task(assignee_role, due) WHERE is_open = 1;",
    ),
    // Programme reports (issue #19): per document, the screening kinds it holds and those a
    // rule finds abnormal for an adult and for a child (`ScreeningBits`), so a year's report
    // reads bits and never a document; a referral's first attendance; a person's data
    // consent; a case's closure. All projections: a store migrated to this version is
    // filled by `Store::catch_up_projections` when it opens.
    M::up(
        "CREATE TABLE report_screening (
            doc_id BLOB PRIMARY KEY,
            visit_id BLOB NOT NULL,
            screened INTEGER NOT NULL,
            abnormal_adult INTEGER NOT NULL,
            abnormal_child INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        ALTER TABLE referral_index ADD COLUMN attended_at TEXT;
        ALTER TABLE person_index ADD COLUMN data_consent INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE case_index ADD COLUMN closed_at TEXT;
        ALTER TABLE case_index ADD COLUMN closure_reason TEXT;",
    ),
    // 14: a visit's screening bits by the visit, for a hub that keeps the report's facts and
    // reads again only the visits whose documents changed.
    M::up("CREATE INDEX report_screening_by_visit ON report_screening(visit_id);"),
    // 15: when this store first held each visit (at the hub: when the visit reached it, in
    // Unix seconds), for the share of visits synced within 48 hours. Not a projection: a
    // fact about this store that no document holds, so never rebuilt; a visit held before
    // this version has none ("not known").
    M::up(
        "CREATE TABLE visit_arrival (
            visit_id BLOB PRIMARY KEY,
            arrived_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;",
    ),
];

pub(crate) const MIGRATIONS: Migrations<'_> = Migrations::from_slice(MIGRATIONS_SLICE);

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS_SLICE.len();

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::MIGRATIONS.validate().unwrap();
    }
}
