//! The store's tables on PostgreSQL, versioned: `kabinet_migrations` holds each component's
//! version, migrations are applied in order, one write transaction each (under the
//! database's write lock, so two hub processes starting at once do not both migrate). Never edit a released migration;
//! append one.
//!
//! The tables are the SQLite store's (`kabinet_store`'s `schema.rs`) as they stand at its
//! version 12 (and each later SQLite migration as one here), so that the same statements read and write both: ids and hashes are `bytea`,
//! numbers `bigint`, texts `text COLLATE "C"` (byte order, as SQLite's BINARY: prefix ranges
//! and sorts give the same answers whatever the server's locale).

use crate::PgConnection;
use kabinet_store::sql::{Sql, SqlError, SqlExt, Tx};

/// The component whose version this module keeps.
const COMPONENT: &str = "store";

const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE meta (
        key   text COLLATE "C" PRIMARY KEY,
        value text COLLATE "C" NOT NULL
    );

    CREATE TABLE documents (
        doc_id       bytea PRIMARY KEY,
        kind         bigint NOT NULL,
        access_class bigint NOT NULL,
        parent_id    bytea,
        snapshot     bytea NOT NULL,
        heads        bytea NOT NULL,
        change_seq   bigint NOT NULL,
        origin       bigint NOT NULL,
        updated_at   text COLLATE "C" NOT NULL,
        in_sync_seq  bigint
    );
    CREATE UNIQUE INDEX documents_by_change_seq ON documents(change_seq);
    CREATE INDEX documents_by_parent ON documents(parent_id) WHERE parent_id IS NOT NULL;

    CREATE TABLE document_chunks (
        doc_id   bytea NOT NULL,
        chunk_no bigint NOT NULL,
        bytes    bytea NOT NULL,
        PRIMARY KEY (doc_id, chunk_no)
    );

    CREATE TABLE person_index (
        person_id     bytea PRIMARY KEY,
        full_name     text COLLATE "C" NOT NULL,
        latin_name    text COLLATE "C" NOT NULL,
        sex           text COLLATE "C" NOT NULL,
        birth_year    bigint NOT NULL,
        birth_display text COLLATE "C" NOT NULL,
        egn           text COLLATE "C",
        lnch          text COLLATE "C",
        phone         text COLLATE "C",
        neighbourhood text COLLATE "C",
        no_documents  bigint NOT NULL
    );
    CREATE INDEX person_by_egn ON person_index(egn) WHERE egn IS NOT NULL;
    CREATE INDEX person_by_lnch ON person_index(lnch) WHERE lnch IS NOT NULL;
    CREATE INDEX person_by_phone ON person_index(phone) WHERE phone IS NOT NULL;

    CREATE TABLE person_name_token (
        token     text COLLATE "C" NOT NULL,
        person_id bytea NOT NULL,
        PRIMARY KEY (token, person_id)
    );
    CREATE INDEX person_name_token_by_person ON person_name_token(person_id, token);

    CREATE TABLE visit_index (
        visit_id   bytea PRIMARY KEY,
        person_id  bytea NOT NULL,
        cabinet    text COLLATE "C" NOT NULL,
        specialist text COLLATE "C" NOT NULL,
        at         text COLLATE "C" NOT NULL,
        local_day  text COLLATE "C" NOT NULL,
        voided     bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX visit_by_day ON visit_index(local_day, cabinet);
    CREATE INDEX visit_by_person ON visit_index(person_id, at);

    CREATE TABLE referral_index (
        referral_id  bytea PRIMARY KEY,
        code         text COLLATE "C" NOT NULL,
        person_id    bytea NOT NULL,
        visit_id     bytea NOT NULL,
        reason       text COLLATE "C" NOT NULL,
        destination  text COLLATE "C" NOT NULL,
        urgency      bigint NOT NULL,
        status       text COLLATE "C" NOT NULL,
        is_open      bigint NOT NULL,
        issued_at    text COLLATE "C" NOT NULL
    );
    CREATE INDEX referral_by_code ON referral_index(code);
    CREATE INDEX referral_by_person ON referral_index(person_id);
    CREATE INDEX referral_open_by_urgency ON referral_index(urgency DESC, issued_at) WHERE is_open = 1;

    CREATE TABLE sync_state (
        doc_id      bytea PRIMARY KEY,
        peer_heads  bytea NOT NULL,
        in_sync_seq bigint
    );

    CREATE TABLE audit_log (
        seq       bigint PRIMARY KEY,
        at        text COLLATE "C" NOT NULL,
        "user"    text COLLATE "C" NOT NULL,
        device    text COLLATE "C" NOT NULL,
        action    text COLLATE "C" NOT NULL,
        record    text COLLATE "C" NOT NULL,
        class     text COLLATE "C" NOT NULL,
        prev_hash bytea NOT NULL,
        hash      bytea NOT NULL
    );

    CREATE TABLE field_conflict (
        doc_id bytea NOT NULL,
        path   text COLLATE "C" NOT NULL,
        PRIMARY KEY (doc_id, path)
    );

    CREATE TABLE person_merge (
        person_id   bytea PRIMARY KEY,
        merged_into bytea NOT NULL,
        at          text COLLATE "C" NOT NULL
    );
    CREATE INDEX person_merge_by_survivor ON person_merge(merged_into);
    CREATE TABLE person_alias (
        person_id   bytea PRIMARY KEY,
        survivor_id bytea NOT NULL
    );
    CREATE INDEX person_alias_by_survivor ON person_alias(survivor_id);
    CREATE TABLE person_not_same (
        person_id bytea NOT NULL,
        other_id  bytea NOT NULL,
        PRIMARY KEY (person_id, other_id)
    );

    CREATE TABLE case_index (
        case_id   bytea PRIMARY KEY,
        person_id bytea NOT NULL,
        status    text COLLATE "C" NOT NULL,
        lead      text COLLATE "C" NOT NULL,
        household text COLLATE "C",
        opened_at text COLLATE "C" NOT NULL
    );
    CREATE INDEX case_by_person ON case_index(person_id);
    CREATE INDEX case_by_status ON case_index(status, opened_at);
    CREATE TABLE case_task (
        case_id       bytea NOT NULL,
        task_id       bytea NOT NULL,
        person_id     bytea NOT NULL,
        title         text COLLATE "C" NOT NULL,
        assignee_user text COLLATE "C",
        assignee_role text COLLATE "C",
        due           text COLLATE "C",
        priority      text COLLATE "C" NOT NULL,
        priority_rank bigint NOT NULL,
        status        text COLLATE "C" NOT NULL,
        outcome       text COLLATE "C" NOT NULL,
        is_open       bigint NOT NULL,
        PRIMARY KEY (case_id, task_id)
    );
    CREATE INDEX case_task_by_user ON case_task(assignee_user, due) WHERE is_open = 1;
    CREATE INDEX case_task_by_role ON case_task(assignee_role, due) WHERE is_open = 1;
"#,
    // 2 (SQLite's 13): programme reports (issue #19).
    r#"
    CREATE TABLE report_screening (
        doc_id         bytea PRIMARY KEY,
        visit_id       bytea NOT NULL,
        screened       bigint NOT NULL,
        abnormal_adult bigint NOT NULL,
        abnormal_child bigint NOT NULL
    );
    ALTER TABLE referral_index ADD COLUMN attended_at text COLLATE "C";
    ALTER TABLE person_index ADD COLUMN data_consent bigint NOT NULL DEFAULT 0;
    ALTER TABLE case_index ADD COLUMN closed_at text COLLATE "C";
    ALTER TABLE case_index ADD COLUMN closure_reason text COLLATE "C";
"#,
    // 3 (SQLite's 14): a visit's screening bits by the visit (the hub's kept report facts).
    r#"
    CREATE INDEX report_screening_by_visit ON report_screening(visit_id);
"#,
    // 4 (SQLite's 15): when the hub first held each visit (Unix seconds).
    r#"
    CREATE TABLE visit_arrival (
        visit_id   bytea PRIMARY KEY,
        arrived_at bigint NOT NULL
    );
"#,
];

/// The store schema version this build writes on PostgreSQL.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Why the schema could not be brought to this build's version.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database was written by a newer Kabinet (store schema {found}); this build knows up to {known}. Update Kabinet."
    )]
    Newer { found: i64, known: i64 },
    #[error("schema migration failed: {0}")]
    Sql(#[from] SqlError),
}

/// Brings the store's tables to [`SCHEMA_VERSION`]; a database already there is left as it is.
pub fn migrate(db: &PgConnection) -> Result<(), SchemaError> {
    db.batch(
        r#"CREATE TABLE IF NOT EXISTS kabinet_migrations (
               component text COLLATE "C" PRIMARY KEY,
               version   bigint NOT NULL
           )"#,
    )?;
    loop {
        // A write transaction holds the database's write lock: processes starting together
        // migrate one after the other, and each finds what the one before did. Dropped
        // without its commit, it is rolled back.
        let tx = Tx::begin(db)?;
        let version: i64 = tx
            .row(
                "SELECT version FROM kabinet_migrations WHERE component = ?1",
                &[&COMPONENT],
                |r| r.get(0),
            )?
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(SchemaError::Newer {
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        let Some(next) = MIGRATIONS.get(version as usize) else {
            return Ok(());
        };
        tx.batch(next)?;
        tx.exec(
            "INSERT INTO kabinet_migrations (component, version) VALUES (?1, ?2)
             ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            &[&COMPONENT, &(version + 1)],
        )?;
        tx.commit()?;
    }
}
