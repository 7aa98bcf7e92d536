//! The hub's own tables, beside the store's, as versioned migrations. The store counts its
//! schema in `PRAGMA user_version` (rusqlite_migration), so the hub counts its own in the
//! store's `meta` table (`hub.schema_version`), applied the same way: in order, once each, in
//! one transaction. Never edit a released migration; append a new one.

use crate::storage::HubError;
use kabinet_store::sql::{Dialect, SqlExt};
use kabinet_store::{Origin, Store};

/// Where the hub's schema version is kept.
const VERSION_KEY: &str = kabinet_store::meta::HUB_SCHEMA_VERSION;

/// The hub's migrations, oldest first; the schema version is how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: devices, users, sessions, enrollment codes, refusals, audit intake and the relay log.
    r#"
CREATE TABLE hub_device (
    device_id    TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    cabinet      TEXT NOT NULL,
    issuer       INTEGER NOT NULL UNIQUE,
    token_hash   BLOB NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    last_sync_at TEXT,
    -- The roles of the device's users: what it may receive and send (kabinet_core::access).
    roles        TEXT NOT NULL DEFAULT 'nurse,doctor'
) STRICT;
-- Every user: hub staff at the web UI and, through their credential, on devices.
CREATE TABLE hub_user (
    name          TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    -- Users added before devices had logins have none until their next reset.
    credential    TEXT,
    secret_key    BLOB,
    generation    INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    next_try_at   TEXT
) STRICT;
CREATE TABLE hub_session (
    token_hash BLOB PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES hub_user(name),
    expires_at TEXT NOT NULL
) STRICT;
CREATE TABLE hub_enrollment (
    code_hash  BLOB PRIMARY KEY,
    cabinet    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    roles      TEXT NOT NULL DEFAULT 'nurse,doctor'
) STRICT;
-- Requests refused by the access matrix: who asked for what.
CREATE TABLE hub_refusal (
    at        TEXT NOT NULL,
    device_id TEXT NOT NULL,
    doc_id    BLOB,
    class     TEXT NOT NULL,
    action    TEXT NOT NULL
) STRICT;
-- The devices' audit logs as they arrive, each device's chain continued link by link.
CREATE TABLE hub_audit (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    user        TEXT NOT NULL,
    device      TEXT NOT NULL,
    action      TEXT NOT NULL,
    record      TEXT NOT NULL,
    class       TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
CREATE INDEX hub_audit_by_time ON hub_audit(at);
-- Every change new to the hub, in arrival order: what devices pull. `changes` is empty when
-- the row brought a whole new document: the pull then sends the document as stored, so a
-- new document's bytes are written once, not twice.
CREATE TABLE hub_relay (
    hub_seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id        BLOB NOT NULL,
    kind          INTEGER NOT NULL,
    access_class  INTEGER NOT NULL,
    parent_id     BLOB,
    origin_device TEXT NOT NULL,
    changes       BLOB NOT NULL,
    heads         BLOB NOT NULL
) STRICT;
"#,
    // 2: web sign-in tries per typed name, known or not, so a lock or a wait answers alike
    // for names nobody has (the counts move here from hub_user).
    r#"
CREATE TABLE hub_sign_in (
    name        TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL,
    next_try_at TEXT
) STRICT;
INSERT INTO hub_sign_in (name, failures, next_try_at)
    SELECT name, failed_logins, next_try_at FROM hub_user WHERE failed_logins > 0;
ALTER TABLE hub_user DROP COLUMN failed_logins;
ALTER TABLE hub_user DROP COLUMN next_try_at;
"#,
    // 3: the audit view shows each line's login beside its display name.
    r#"
CREATE INDEX hub_user_by_display_name ON hub_user(display_name);
"#,
    // 4: users belong to cabinets, and a device receives only its cabinet's users. Each user
    // has a web password, a device PIN, or both, never the same secret.
    r#"
CREATE TABLE hub_user_cabinet (
    user_name TEXT NOT NULL REFERENCES hub_user(name),
    cabinet   TEXT NOT NULL,
    PRIMARY KEY (user_name, cabinet)
) STRICT;
CREATE INDEX hub_user_cabinet_by_cabinet ON hub_user_cabinet(cabinet);
-- Users keep the devices they reached before cabinets: the cabinets of the devices (not
-- revoked) of their role. An admin narrows them from there.
INSERT INTO hub_user_cabinet (user_name, cabinet)
    SELECT DISTINCT u.name, d.cabinet FROM hub_user u JOIN hub_device d
        ON instr(',' || d.roles || ',', ',' || u.role || ',') > 0
     WHERE u.credential IS NOT NULL AND d.revoked_at IS NULL;
-- Until now one secret was both the web password and the device PIN. A user whose wrapped key
-- went to any device (a revoked one too: it may be the stolen one) keeps it as their device
-- PIN and loses web sign-in until an admin gives them a web password of its own; the others
-- keep their web password and lose the credential no device holds.
UPDATE hub_user SET password_hash = ''
 WHERE credential IS NOT NULL AND EXISTS (
     SELECT 1 FROM hub_device d WHERE instr(',' || d.roles || ',', ',' || hub_user.role || ',') > 0);
UPDATE hub_user SET credential = NULL, secret_key = NULL
 WHERE password_hash != '';
"#,
    // 5: a document's last relay row found by its id, not by reading the log from its end: a
    // hub-side edit looks it up to relay only what is new, and on a national hub each such
    // lookup read millions of rows (kabinet-bench-national's load ran at 41 visits/s).
    r#"
CREATE INDEX hub_relay_by_document ON hub_relay(doc_id, hub_seq);
"#,
];

/// The migrations after [`POSTGRES_STARTS_AT`] on PostgreSQL, one per SQLite migration from
/// there, so a version number means one layout on both.
const POSTGRES_MIGRATIONS: [&str; HUB_SCHEMA_VERSION - POSTGRES_STARTS_AT] = [
    // 5: hub_relay_by_document, which PostgreSQL's first layout has made already.
    "SELECT 1",
];

/// The hub schema version this build writes.
pub const HUB_SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The hub's tables on PostgreSQL as they stand at version [`POSTGRES_STARTS_AT`] on SQLite:
/// no hub on PostgreSQL is older, so its first migration is the layout the four above leave.
/// A version number means the same layout on both; a later migration is appended for each.
/// Ids and hashes `bytea`, numbers `bigint`, texts `text COLLATE "C"` (as the store's); the
/// relay log's sequence is the database's (`bigserial`), so processes sharing the server
/// never hand out one number twice.
const POSTGRES_INITIAL: &str = r#"
CREATE TABLE hub_device (
    device_id    text COLLATE "C" PRIMARY KEY,
    name         text COLLATE "C" NOT NULL,
    cabinet      text COLLATE "C" NOT NULL,
    issuer       bigint NOT NULL UNIQUE,
    token_hash   bytea NOT NULL UNIQUE,
    enrolled_at  text COLLATE "C" NOT NULL,
    revoked_at   text COLLATE "C",
    last_sync_at text COLLATE "C",
    roles        text COLLATE "C" NOT NULL DEFAULT 'nurse,doctor'
);
CREATE TABLE hub_user (
    name          text COLLATE "C" PRIMARY KEY,
    display_name  text COLLATE "C" NOT NULL,
    role          text COLLATE "C" NOT NULL,
    password_hash text COLLATE "C" NOT NULL,
    created_at    text COLLATE "C" NOT NULL,
    disabled_at   text COLLATE "C",
    credential    text COLLATE "C",
    secret_key    bytea,
    generation    bigint NOT NULL DEFAULT 0
);
CREATE INDEX hub_user_by_display_name ON hub_user(display_name);
CREATE TABLE hub_session (
    token_hash bytea PRIMARY KEY,
    user_name  text COLLATE "C" NOT NULL REFERENCES hub_user(name),
    expires_at text COLLATE "C" NOT NULL
);
CREATE TABLE hub_enrollment (
    code_hash  bytea PRIMARY KEY,
    cabinet    text COLLATE "C" NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    roles      text COLLATE "C" NOT NULL DEFAULT 'nurse,doctor'
);
CREATE TABLE hub_refusal (
    at        text COLLATE "C" NOT NULL,
    device_id text COLLATE "C" NOT NULL,
    doc_id    bytea,
    class     text COLLATE "C" NOT NULL,
    action    text COLLATE "C" NOT NULL
);
CREATE TABLE hub_audit (
    device_id   text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    at          text COLLATE "C" NOT NULL,
    "user"      text COLLATE "C" NOT NULL,
    device      text COLLATE "C" NOT NULL,
    action      text COLLATE "C" NOT NULL,
    record      text COLLATE "C" NOT NULL,
    class       text COLLATE "C" NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    received_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX hub_audit_by_time ON hub_audit(at);
CREATE TABLE hub_relay (
    hub_seq       bigserial PRIMARY KEY,
    doc_id        bytea NOT NULL,
    kind          bigint NOT NULL,
    access_class  bigint NOT NULL,
    parent_id     bytea,
    origin_device text COLLATE "C" NOT NULL,
    changes       bytea NOT NULL,
    heads         bytea NOT NULL
);
CREATE INDEX hub_relay_by_document ON hub_relay(doc_id, hub_seq);
CREATE TABLE hub_sign_in (
    name        text COLLATE "C" PRIMARY KEY,
    failures    bigint NOT NULL,
    next_try_at text COLLATE "C"
);
CREATE TABLE hub_user_cabinet (
    user_name text COLLATE "C" NOT NULL REFERENCES hub_user(name),
    cabinet   text COLLATE "C" NOT NULL,
    PRIMARY KEY (user_name, cabinet)
);
CREATE INDEX hub_user_cabinet_by_cabinet ON hub_user_cabinet(cabinet);
"#;

/// The hub schema version [`POSTGRES_INITIAL`] stands for.
const POSTGRES_STARTS_AT: usize = 4;

/// Brings the hub's tables in `store` to [`HUB_SCHEMA_VERSION`].
pub(super) fn migrate(store: &mut Store) -> Result<(), HubError> {
    let found = version(store)?;
    if found > HUB_SCHEMA_VERSION {
        return Err(HubError::NewerSchema {
            found,
            known: HUB_SCHEMA_VERSION,
        });
    }
    if found == HUB_SCHEMA_VERSION {
        return Ok(());
    }
    if store.dialect() == Dialect::Postgres {
        store.write(Origin::Local, |w| {
            // Hub processes starting together on one server: a write holds the database's
            // write lock, so one migrates and the others, waiting for it, read its version
            // again here and find the tables made.
            let found: usize = w
                .sql()
                .row(
                    "SELECT value FROM meta WHERE key = ?1",
                    &[&VERSION_KEY],
                    |r| r.get::<String>(0),
                )?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if found < POSTGRES_STARTS_AT {
                w.sql().batch(POSTGRES_INITIAL)?;
                w.set_meta(VERSION_KEY, &POSTGRES_STARTS_AT.to_string())?;
            }
            for (i, sql) in POSTGRES_MIGRATIONS.iter().enumerate() {
                let version = POSTGRES_STARTS_AT + i + 1;
                if found < version {
                    w.sql().batch(sql)?;
                    w.set_meta(VERSION_KEY, &version.to_string())?;
                }
            }
            Ok(())
        })?;
        return Ok(());
    }
    store.write(Origin::Local, |w| {
        let mut from = found;
        if from == 0 && has_table(w.extension_sql(), "hub_device")? {
            adopt_unversioned(w.extension_sql())?;
            from = 1;
            w.set_meta(VERSION_KEY, "1")?;
        }
        for (done, sql) in MIGRATIONS.iter().enumerate().skip(from) {
            w.extension_sql().execute_batch(sql)?;
            w.set_meta(VERSION_KEY, &(done + 1).to_string())?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The hub schema version of `store` (0: no hub tables yet, or a hub from before versions).
pub(super) fn version(store: &Store) -> Result<usize, HubError> {
    Ok(store
        .meta(VERSION_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

fn has_table(sql: &rusqlite::Connection, table: &str) -> rusqlite::Result<bool> {
    sql.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table])
}

/// Hubs from before schema versions created their tables at every open (`IF NOT EXISTS`) and
/// added columns as they appeared. Such a hub holds migration 1's tables, perhaps not all of
/// them (if last opened by an older build) nor the columns added last; creating the missing
/// ones makes it exactly migration 1's layout, without touching a row.
fn adopt_unversioned(sql: &rusqlite::Connection) -> rusqlite::Result<()> {
    sql.execute_batch(
        &MIGRATIONS[0]
            .replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
            .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS "),
    )?;
    for (table, column, ddl) in [
        // Before roles: their devices were cabinets.
        (
            "hub_device",
            "roles",
            "roles TEXT NOT NULL DEFAULT 'nurse,doctor'",
        ),
        (
            "hub_enrollment",
            "roles",
            "roles TEXT NOT NULL DEFAULT 'nurse,doctor'",
        ),
        // Before users reached devices: a credential at their next reset.
        ("hub_user", "credential", "credential TEXT"),
        ("hub_user", "secret_key", "secret_key BLOB"),
        (
            "hub_user",
            "generation",
            "generation INTEGER NOT NULL DEFAULT 0",
        ),
        (
            "hub_user",
            "failed_logins",
            "failed_logins INTEGER NOT NULL DEFAULT 0",
        ),
        ("hub_user", "next_try_at", "next_try_at TEXT"),
    ] {
        let has = sql
            .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
            .exists([table, column])?;
        if !has {
            sql.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {ddl}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubStorage;
    use crate::stored::StoreHub;
    use kabinet_store::{DeviceSettings, StoreKey};

    const KEY: StoreKey = StoreKey::Raw([9; 32]);

    /// The hub's tables as hubs before schema versions made them: created `IF NOT EXISTS` at
    /// every open, the roles and credential columns added later by `ALTER`s (here missing,
    /// as in a hub last opened before those existed).
    const OLD_LAYOUT: &str = "
        CREATE TABLE hub_device (
            device_id TEXT PRIMARY KEY, name TEXT NOT NULL, cabinet TEXT NOT NULL,
            issuer INTEGER NOT NULL UNIQUE, token_hash BLOB NOT NULL UNIQUE,
            enrolled_at TEXT NOT NULL, revoked_at TEXT, last_sync_at TEXT
        ) STRICT;
        CREATE TABLE hub_user (
            name TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL,
            password_hash TEXT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT
        ) STRICT;
        CREATE TABLE hub_session (
            token_hash BLOB PRIMARY KEY, user_name TEXT NOT NULL REFERENCES hub_user(name),
            expires_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE hub_enrollment (
            code_hash BLOB PRIMARY KEY, cabinet TEXT NOT NULL, expires_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE hub_relay (
            hub_seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id BLOB NOT NULL,
            kind INTEGER NOT NULL, access_class INTEGER NOT NULL, parent_id BLOB,
            origin_device TEXT NOT NULL, changes BLOB NOT NULL, heads BLOB NOT NULL
        ) STRICT;
        INSERT INTO hub_device (device_id, name, cabinet, issuer, token_hash, enrolled_at)
            VALUES ('d1', 'tablet', 'cabinet-1', 1, x'01', '2025-01-01T00:00:00+00:00');
        INSERT INTO hub_user (name, display_name, role, password_hash, created_at)
            VALUES ('mpetrova', 'Мария Петрова', 'nurse', 'hash', '2025-01-01T00:00:00+00:00');
    ";

    /// Each hub table's columns (name, type, not null, default), to compare layouts.
    fn columns(path: &std::path::Path) -> Vec<(String, String, String, bool, Option<String>)> {
        let sql = kabinet_store::open_raw(path, &KEY).unwrap();
        sql.prepare(
            "SELECT m.name, c.name, c.type, c.\"notnull\", c.dflt_value
             FROM sqlite_master m, pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name LIKE 'hub\\_%' ESCAPE '\\'
             ORDER BY m.name, c.name",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn migrations_number_the_hub_schema_in_the_store_meta() {
        let dir = tempfile::tempdir().unwrap();
        drop(StoreHub::open(dir.path(), &KEY).unwrap());
        let store = Store::open(&dir.path().join("hub.db"), &KEY).unwrap();
        assert_eq!(version(&store).unwrap(), HUB_SCHEMA_VERSION);
        // The store's own schema is untouched by the hub's.
        assert_eq!(
            kabinet_store::open_raw(&dir.path().join("hub.db"), &KEY)
                .unwrap()
                .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
                .unwrap() as usize,
            kabinet_store::SCHEMA_VERSION
        );
        // Opening again runs nothing.
        drop(store);
        drop(StoreHub::open(dir.path(), &KEY).unwrap());
    }

    #[test]
    fn a_hub_from_before_schema_versions_opens_with_its_rows_and_the_new_layout() {
        let old = tempfile::tempdir().unwrap();
        let path = old.path().join("hub.db");
        let settings = DeviceSettings {
            cabinet: "hub".into(),
            issuer: crate::stored::HUB_ISSUER,
        };
        drop(Store::create(&path, &KEY, &settings).unwrap());
        kabinet_store::open_raw(&path, &KEY)
            .unwrap()
            .execute_batch(OLD_LAYOUT)
            .unwrap();

        let hub = StoreHub::open(old.path(), &KEY).unwrap();
        let devices = hub.devices().unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].cabinet, "cabinet-1");
        assert_eq!(
            devices[0].roles,
            kabinet_core::access::roles_from_text("nurse,doctor")
        );
        let users = hub.users().unwrap();
        assert_eq!(users[0].user.name, "mpetrova");
        assert!(!users[0].on_devices, "no credential until the next reset");
        drop(hub);

        let fresh = tempfile::tempdir().unwrap();
        drop(StoreHub::open(fresh.path(), &KEY).unwrap());
        assert_eq!(columns(&path), columns(&fresh.path().join("hub.db")));
        let store = Store::open(&path, &KEY).unwrap();
        assert_eq!(version(&store).unwrap(), HUB_SCHEMA_VERSION);
    }

    #[test]
    fn a_hub_from_before_cabinets_keeps_its_devices_users_and_splits_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let settings = DeviceSettings {
            cabinet: "hub".into(),
            issuer: crate::stored::HUB_ISSUER,
        };
        let mut store = Store::create(&path, &KEY, &settings).unwrap();
        store
            .write(Origin::Local, |w| {
                for sql in &MIGRATIONS[..3] {
                    w.extension_sql().execute_batch(sql)?;
                }
                w.set_meta(VERSION_KEY, "3")
            })
            .unwrap();
        kabinet_store::open_raw(&path, &KEY)
            .unwrap()
            .execute_batch(
                "INSERT INTO hub_device (device_id, name, cabinet, issuer, token_hash, enrolled_at, roles)
                     VALUES ('d1', 'tablet', 'Перник-1', 1, x'01', '2025-01-01T00:00:00+00:00', 'nurse,doctor');
                 INSERT INTO hub_device (device_id, name, cabinet, issuer, token_hash, enrolled_at, revoked_at, roles)
                     VALUES ('d2', 'lost', 'Радомир-1', 2, x'02', '2025-01-01T00:00:00+00:00',
                             '2025-02-01T00:00:00+00:00', 'education_mediator');
                 INSERT INTO hub_user (name, display_name, role, password_hash, created_at, credential, secret_key)
                     VALUES ('nurse1', 'Сестра', 'nurse', 'h1', '2025-01-01', '{}', x'00'),
                            ('admin1', 'Админ', 'hub_admin', 'h2', '2025-01-01', '{}', x'00'),
                            ('med1', 'Медиатор', 'education_mediator', 'h3', '2025-01-01', '{}', x'00');",
            )
            .unwrap();
        drop(store);

        let hub = StoreHub::open(dir.path(), &KEY).unwrap();
        let users: Vec<(String, Vec<String>, bool, bool)> = hub
            .users()
            .unwrap()
            .into_iter()
            .map(|u| (u.user.name, u.cabinets, u.web_sign_in, u.on_devices))
            .collect();
        assert_eq!(
            users,
            [
                // Never on a device: the web password stays, the unused credential goes.
                ("admin1".into(), vec![], true, false),
                // On a revoked (maybe stolen) tablet: no web sign-in with that secret.
                ("med1".into(), vec![], false, true),
                // On its cabinet's tablet: stays there, with no web sign-in by the same secret.
                ("nurse1".into(), vec!["Перник-1".to_string()], false, true),
            ]
        );
    }

    #[test]
    fn a_hub_schema_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(StoreHub::open(dir.path(), &KEY).unwrap());
        let mut store = Store::open(&dir.path().join("hub.db"), &KEY).unwrap();
        store
            .write(Origin::Local, |w| w.set_meta(VERSION_KEY, "99"))
            .unwrap();
        drop(store);
        assert!(matches!(
            StoreHub::open(dir.path(), &KEY),
            Err(HubError::NewerSchema { found: 99, .. })
        ));
    }
}
