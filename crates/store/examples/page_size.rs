//! What one commit of a sync-sized batch costs at each SQLCipher page size (why
//! `kabinet_store::PAGE_SIZE` is 16 KiB):
//!
//!   cargo run --release -p kabinet-store --example page_size
//!
//! 17,000 rows of a random 16-byte id and 400 bytes (about one pull batch of documents)
//! inserted in one transaction into a WAL database in a temporary folder; the insert and
//! the commit are timed apart, best of three.

use std::time::{Duration, Instant};

const ROWS: u64 = 17_000;
const SAVES: u64 = 300;
const KEY: &str = "x'5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B5B'";

/// (insert, commit, one durable one-row save, pages) for one fresh database.
fn one(
    dir: &std::path::Path,
    key: Option<&str>,
    page_size: u32,
) -> (Duration, Duration, Duration, i64) {
    let path = dir.join(format!("page-size-{page_size}-{}.db", key.is_some()));
    let conn = rusqlite::Connection::open(&path).expect("open");
    match key {
        Some(k) => {
            conn.pragma_update(None, "key", k).expect("key");
            conn.pragma_update(None, "cipher_page_size", page_size)
                .expect("cipher_page_size");
        }
        None => conn
            .pragma_update(None, "page_size", page_size)
            .expect("page_size"),
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("sync");
    conn.pragma_update(None, "cache_size", -65_536)
        .expect("cache");
    conn.execute_batch("CREATE TABLE doc (id BLOB PRIMARY KEY, bytes BLOB NOT NULL)")
        .expect("table");
    let tx = conn.unchecked_transaction().expect("begin");
    let start = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for i in 0..ROWS {
        let mut id = [0u8; 16];
        for b in &mut id {
            // xorshift: random ids, like UUIDs, land all over the B-tree.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        tx.execute(
            "INSERT INTO doc VALUES (?1, ?2)",
            rusqlite::params![&id[..], vec![(i % 251) as u8; 400]],
        )
        .expect("insert");
    }
    let insert = start.elapsed();
    tx.commit().expect("commit");
    let commit = start.elapsed() - insert;
    // Then saves one at a time, as a nurse makes them: one row, one durable commit each.
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    let start = Instant::now();
    for i in 0..SAVES {
        let id = (i + 1_000_000).to_be_bytes();
        conn.execute(
            "INSERT INTO doc VALUES (?1, ?2)",
            rusqlite::params![&id[..], vec![7u8; 400]],
        )
        .expect("save");
    }
    let save = start.elapsed() / SAVES as u32;
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("pages");
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    (insert, commit, save, pages)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("kabinet-page-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!(
        "{ROWS} rows of 400 B in one transaction, then {SAVES} one-row durable commits; best of 3"
    );
    println!("| page size | encrypted | pages | insert ms | commit ms | one save ms |");
    println!("|---|---|---|---|---|---|");
    for key in [None, Some(KEY)] {
        for page_size in [4096, 8192, 16_384, 65_536] {
            let runs: Vec<_> = (0..3).map(|_| one(&dir, key, page_size)).collect();
            let best = |f: fn(&(Duration, Duration, Duration, i64)) -> Duration| {
                runs.iter().map(f).min().unwrap_or_default().as_secs_f64() * 1000.0
            };
            println!(
                "| {page_size} | {} | {} | {:.1} | {:.1} | {:.2} |",
                if key.is_some() { "yes" } else { "no" },
                runs[0].3,
                best(|r| r.0),
                best(|r| r.1),
                best(|r| r.2),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
