//! What an offline login costs on this machine: argon2id at the credentials' cost, unwrapping
//! the user's key and opening the sealed store key — and what the same cost means for someone
//! guessing against a stolen keyring file (guesses per core per second).
//! `cargo bench -p kabinet-keys --bench login` prints a table for docs/benchmarks.md.

use kabinet_keys::{DeviceUser, Keyring, UserCredential};
use std::time::Instant;

fn main() {
    let dir = std::env::temp_dir().join(format!("kabinet-login-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cabinet.keys.json");
    let t = Instant::now();
    let (credential, _) = UserCredential::create("bench-pin-2026").unwrap();
    let create_ms = t.elapsed().as_secs_f64() * 1000.0;
    let user = DeviceUser {
        name: "bench".into(),
        display_name: "Бенчмарк".into(),
        role: "nurse".into(),
        disabled: false,
        generation: 0,
        credential: credential.clone(),
    };
    let mut ring = Keyring::load(&path).unwrap();
    ring.apply_roster(&[user], b"raw:0000").unwrap();
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut ring = Keyring::load(&path).unwrap();
        ring.unlock("bench", "bench-pin-2026", chrono::Utc::now())
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    std::fs::remove_dir_all(&dir).ok();
    let p50 = times[5];
    println!("| measure | target | result |");
    println!("|---|---|---|");
    println!(
        "| offline login: load keyring, argon2id ({} MiB, t={}), unwrap, open sealed key; p50 / max of 10 | ≤ 600 ms (cold start ≤ 1.5 s) | {p50:.0} ms / {:.0} ms |",
        credential.kdf.m_kib / 1024,
        credential.kdf.t,
        times[9]
    );
    println!("| making a credential at the hub (users add / reset) | — | {create_ms:.0} ms |");
    println!(
        "| guesses against a stolen keyring, per core | — | {:.1} per second |",
        1000.0 / p50
    );
}
