//! Slip rendering speed and size: one slip, and "today's slips" for 300 referrals in one PDF.
//! `cargo bench -p kabinet-slip --bench slip` prints a table for docs/benchmarks.md.

use chrono::Utc;
use kabinet_slip::{Paper, Place, Slip, render};
use std::time::Instant;

fn slip(i: usize) -> Slip {
    Slip {
        hub: Place {
            name: "Социално-здравен хъб — Перник".into(),
            address: "ул. „Кракра“ 1, 2300 Перник".into(),
            phone: "076 600 600".into(),
            hours: String::new(),
        },
        cabinet: "cabinet-1".into(),
        issued_at: Utc::now(),
        person_name: format!("Росица Асенова Юсеинова {i}"),
        person_latin: format!("Rositsa Asenova Yuseinova {i}"),
        birth: "24.06.1977".into(),
        egn_masked: Some("******5930".into()),
        reason: "Кръвна захар извън обичайните граници при скрининг — нужен е преглед при лекар."
            .into(),
        urgency: "приоритетно (до 7 дни)".into(),
        emergency: false,
        destination: Place {
            name: "Личен лекар".into(),
            address: "бул. „Освобождение“ 12, Перник".into(),
            phone: "076 111 222".into(),
            hours: "пон.–пет. 8:30–17:00".into(),
        },
        specialist: "Мария Петрова".into(),
        code: format!("07-{:05}-3", i % 100_000),
    }
}

fn main() {
    // Warm up (font parsing, allocator).
    render(&[slip(0)], Paper::A5).unwrap();
    let mut one = Vec::new();
    let mut size = 0;
    for i in 0..50 {
        let t = Instant::now();
        let pdf = render(&[slip(i)], Paper::A5).unwrap();
        one.push(t.elapsed().as_secs_f64() * 1000.0);
        size = size.max(pdf.len());
    }
    one.sort_by(f64::total_cmp);
    let batch: Vec<Slip> = (0..300).map(slip).collect();
    let t = Instant::now();
    let pdf = render(&batch, Paper::A5).unwrap();
    let batch_s = t.elapsed().as_secs_f64();
    println!("| measure | target | result |");
    println!("|---|---|---|");
    println!(
        "| render one slip (A5), p50 / max of 50 | ≤ 50 ms | {:.1} ms / {:.1} ms |",
        one[25], one[49]
    );
    println!(
        "| today's slips: 300 in one PDF | ≤ 5 s | {batch_s:.2} s ({} KB) |",
        pdf.len() / 1024
    );
    println!(
        "| one slip PDF | ≤ 100 KB | {:.1} KB |",
        size as f64 / 1024.0
    );
}
