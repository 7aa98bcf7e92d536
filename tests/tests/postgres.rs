//! The PostgreSQL harness the hub's PostgreSQL tests build on (issue #20): a real server from
//! Debian's postgresql-15, started by the test in a temporary folder (as the `postgres` user
//! when root), on a Unix socket only, with fsync on, and stopped when the test is done.

use kabinet_tests::postgres::PgServer;

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
