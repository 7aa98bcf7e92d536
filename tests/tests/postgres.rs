//! The PostgreSQL harness the hub's PostgreSQL tests build on (issue #20): a real server from
//! Debian's postgresql-15, started by the test in a temporary folder (as the `postgres` user
//! when root), on a Unix socket only, with fsync on, and stopped when the test is done.

use kabinet_store::Origin;
use kabinet_tests::calls::sync;
use kabinet_tests::hub::{HubProcess, enrolled_device};
use kabinet_tests::postgres::PgServer;
use std::path::Path;

const HUB_BIN: &str = env!("CARGO_BIN_EXE_kabinet-hub-under-test");

#[test]
fn a_test_starts_its_own_postgresql_and_stops_it() {
    assert!(
        PgServer::available(),
        "PostgreSQL 15 is missing: scripts/setup.sh installs postgresql-15"
    );
    let server = PgServer::start();
    assert_eq!(server.psql("kabinet", "SHOW fsync").trim(), "on");
    assert_eq!(server.psql("kabinet", "SHOW listen_addresses").trim(), "");
    server.psql(
        "kabinet",
        "CREATE TABLE t (id bigserial PRIMARY KEY, name text NOT NULL); INSERT INTO t (name) VALUES ('Росица'), ('Асен')",
    );
    assert_eq!(
        server
            .psql("kabinet", "SELECT string_agg(name, ',' ORDER BY id) FROM t")
            .trim(),
        "Росица,Асен"
    );
    assert!(
        server
            .url()
            .starts_with("postgres://kabinet@/kabinet?host=")
    );
    // Running: its process is alive. Stopped: gone, or a zombie nobody reaped yet (the
    // server is daemonized, so its parent is whatever adopts orphans here).
    let pid = server.pid();
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .find(|l| l.starts_with("State:"))
                .is_some_and(|l| !l.contains('Z'))
        })
    };
    assert!(running());
    drop(server);
    assert!(!running(), "the server stopped with the test");
}

/// A hub started with `--database` keeps everything on the server: no file in its data
/// folder holds a document, and the server's tables hold the synced ones and their relay.
#[test]
fn a_hub_on_postgresql_keeps_its_documents_on_the_server() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hub =
        HubProcess::start_on_postgres(Path::new(HUB_BIN), &dir.path().join("hub"), &server.url());
    // A nurse of the cabinet: her device key pair is kept at the hub, sealed under the hub key.
    hub.add_nurse();
    let mut van = enrolled_device(dir.path(), "van", &hub, "cabinet-1");
    let mut office = enrolled_device(dir.path(), "office", &hub, "cabinet-1");
    let person = kabinet_core::testing::man_without_documents("Асен", "Асенов", 1990);
    van.write(Origin::Local, |w| w.put_person(&person)).unwrap();
    sync(&mut van);
    sync(&mut office);
    assert_eq!(office.person(person.id).unwrap(), person);
    assert!(
        !dir.path().join("hub").join("hub.db").exists(),
        "no SQLite file beside a hub on PostgreSQL"
    );
    let count = |sql: &str| -> i64 { server.psql("kabinet", sql).trim().parse().unwrap() };
    assert_eq!(count("SELECT count(*) FROM documents WHERE kind = 1"), 1);
    assert_eq!(count("SELECT count(*) FROM person_index"), 1);
    assert_eq!(count("SELECT count(*) FROM hub_device"), 2);
    assert!(count("SELECT count(*) FROM hub_relay") >= 1);
    let sealed = "SELECT count(*) FROM hub_user WHERE substring(secret_key from 1 for 4) = 'KSK1'::bytea AND length(secret_key) = 76";
    assert_eq!(count(sealed), 1, "the secret key is stored sealed");
    // A new PIN wraps the same key pair again: the sealed key opens with the hub key.
    hub.admin_with_password(&["users", "reset", "mpetrova", "--pin"], "new van pin 2027");
    assert_eq!(count(sealed), 1);
}

/// Two hub processes on one database (item 2): each serves its own vans, both at once; every
/// van ends with every record, and no change is relayed twice.
#[test]
fn two_hub_processes_on_one_database_lose_and_duplicate_nothing() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(HUB_BIN);
    let first = HubProcess::start_on_postgres(bin, &dir.path().join("hub-1"), &server.url());
    let second = HubProcess::start_on_postgres(bin, &dir.path().join("hub-2"), &server.url());
    let mut vans = [
        enrolled_device(dir.path(), "van-1", &first, "cabinet-1"),
        enrolled_device(dir.path(), "van-2", &second, "cabinet-1"),
        enrolled_device(dir.path(), "van-3", &first, "cabinet-2"),
        enrolled_device(dir.path(), "van-4", &second, "cabinet-2"),
    ];
    // Each van registers people between syncs, all four syncing at the same time.
    for round in 0..3 {
        std::thread::scope(|scope| {
            for (n, van) in vans.iter_mut().enumerate() {
                scope.spawn(move || {
                    for i in 0..5 {
                        // A new person (a new id) each time; the names may repeat.
                        let given = ["Асен", "Борис", "Васил", "Георги"][n];
                        let family = ["Иванов", "Петров", "Колев"][round];
                        let person =
                            kabinet_core::testing::man_without_documents(given, family, 1980 + i);
                        van.write(Origin::Local, |w| w.put_person(&person)).unwrap();
                    }
                    sync(van);
                });
            }
        });
    }
    for van in vans.iter_mut() {
        sync(van);
    }
    for van in &vans {
        assert_eq!(
            van.count(kabinet_store::DocKind::Person).unwrap(),
            60,
            "every van holds every person, whichever hub it syncs with"
        );
    }
    let count = |sql: &str| -> i64 { server.psql("kabinet", sql).trim().parse().unwrap() };
    assert_eq!(count("SELECT count(*) FROM documents WHERE kind = 1"), 60);
    assert_eq!(
        count(
            "SELECT count(*) FROM (SELECT doc_id FROM hub_relay GROUP BY doc_id HAVING count(*) > 1) twice"
        ),
        0,
        "each new person relayed once"
    );
    assert_eq!(
        count("SELECT count(DISTINCT issuer) FROM hub_device"),
        4,
        "every device its own referral issuer"
    );
}

/// Item 4: a hub moved from its SQLite file to PostgreSQL with `kabinet-hub migrate --to`:
/// the copy is checked (heads, audit chain), the vans sync on with their tokens and cursors,
/// staff sign in with their passwords, and a van enrolled after the move receives everything.
#[test]
fn a_sqlite_hub_moved_to_postgresql_goes_on_serving_its_devices() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(HUB_BIN);
    let mut hub = HubProcess::start_on_sqlite(bin, &dir.path().join("hub"));
    hub.add_user(
        "akostova",
        "Анна Костова",
        "hub_admin",
        "admin staple battery",
    );
    hub.add_nurse();
    let mut van = enrolled_device(dir.path(), "van", &hub, "cabinet-1");
    let first = kabinet_core::testing::man_without_documents("Асен", "Асенов", 1990);
    van.write(Origin::Local, |w| w.put_person(&first)).unwrap();
    sync(&mut van);
    let (held, relayed) = hub
        .storage()
        .read(|s| Ok((s.verify_audit()?, s.count(kabinet_store::DocKind::Person)?)))
        .unwrap();
    assert_eq!(relayed, 1);

    hub.kill();
    let out = hub.admin(&["migrate", "--to", &server.url()]);
    assert!(out.contains("checked: "), "{out}");
    assert!(out.contains("hub_relay: 1 rows"), "{out}");
    assert!(
        out.contains(&format!("{held} audit entries verified")),
        "{out}"
    );
    // Into a database that already holds a hub: refused, nothing mixed.
    let again = hub.admin_output(&["migrate", "--to", &server.url()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a hub"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    hub.restart_on_postgres(&server.url());
    // The van syncs on: no re-enrollment, its cursor still means what it meant.
    let second = kabinet_core::testing::man_without_documents("Борис", "Борисов", 1985);
    van.write(Origin::Local, |w| w.put_person(&second)).unwrap();
    sync(&mut van);
    let mut office = enrolled_device(dir.path(), "office", &hub, "cabinet-1");
    sync(&mut office);
    assert_eq!(office.person(first.id).unwrap(), first);
    assert_eq!(office.person(second.id).unwrap(), second);
    assert!(
        !hub.staff_session("akostova", "admin staple battery")
            .is_empty()
    );
    let count = |sql: &str| -> i64 { server.psql("kabinet", sql).trim().parse().unwrap() };
    assert_eq!(count("SELECT count(*) FROM documents WHERE kind = 1"), 2);
    assert_eq!(count("SELECT count(*) FROM hub_device"), 2);
    assert_eq!(
        count(
            "SELECT count(*) FROM hub_user WHERE substring(secret_key from 1 for 4) = 'KSK1'::bytea"
        ),
        1,
        "the nurse's secret key, plain in the encrypted file, is sealed on the server"
    );
    hub.admin_with_password(&["users", "reset", "mpetrova", "--pin"], "new van pin 2027");
}

/// The database server restarted under a running hub (an operator's restart, a crash and
/// recovery): the hub connects again by itself; at most one sync fails meanwhile, and nothing
/// acknowledged before is lost.
#[test]
fn a_hub_connects_again_after_its_database_server_restarts() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hub =
        HubProcess::start_on_postgres(Path::new(HUB_BIN), &dir.path().join("hub"), &server.url());
    let mut van = enrolled_device(dir.path(), "van", &hub, "cabinet-1");
    let mut office = enrolled_device(dir.path(), "office", &hub, "cabinet-1");
    let before = kabinet_core::testing::man_without_documents("Асен", "Асенов", 1990);
    van.write(Origin::Local, |w| w.put_person(&before)).unwrap();
    sync(&mut van);

    server.restart();
    let after = kabinet_core::testing::man_without_documents("Борис", "Борисов", 1985);
    van.write(Origin::Local, |w| w.put_person(&after)).unwrap();
    let failed = (0..3)
        .take_while(|_| kabinet_sync::sync(&mut van, |_| {}).is_err())
        .count();
    assert!(failed <= 1, "{failed} syncs failed after the restart");
    sync(&mut office);
    assert_eq!(office.person(before.id).unwrap(), before);
    assert_eq!(office.person(after.id).unwrap(), after);
}

/// A hub whose key is a passphrase (the sealing key is then derived with a salt kept in the
/// database) moved to PostgreSQL: the salt its keys were sealed with survives the move, so a
/// new PIN can still wrap the nurse's key pair afterwards.
#[test]
fn keys_sealed_by_a_move_open_again_under_a_passphrase() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let hub = |args: &[&str], database: Option<&str>, secret: &str| {
        let mut command = std::process::Command::new(HUB_BIN);
        command
            .args(args)
            .env("KABINET_HUB_DATA", dir.path().join("hub"))
            .env("KABINET_HUB_KEY", "a hub passphrase, not raw")
            .env("KABINET_HUB_USER_PASSWORD", secret)
            .env("KABINET_HUB_LOG", "warn");
        if let Some(url) = database {
            command.env("KABINET_HUB_DATABASE", url);
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    hub(
        &[
            "users",
            "add",
            "mpetrova",
            "--display-name",
            "Мария Петрова",
            "--role",
            "nurse",
            "--cabinet",
            "cabinet-1",
        ],
        None,
        "van pin 2026",
    );
    hub(&["migrate", "--to", &server.url()], None, "");
    hub(
        &["users", "reset", "mpetrova", "--pin"],
        Some(&server.url()),
        "new van pin 2027",
    );
}
