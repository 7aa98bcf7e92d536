//! A child process for the crash-durability test: saves records in a loop and prints each
//! record's id on stdout only after its save returned. The test kills it with SIGKILL at a
//! random moment and then checks that every printed id is in the database.
//!
//! Usage: kabinet-crash-writer DB_PATH HEX_KEY START_INDEX

use anyhow::{Context, Result};
use kabinet_store::{Origin, Store, StoreKey};
use std::io::Write;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().context("DB_PATH")?;
    let key = StoreKey::from_text(&format!("raw:{}", args.next().context("HEX_KEY")?))?;
    let start: u64 = args.next().context("START_INDEX")?.parse()?;
    let mut store = Store::open(std::path::Path::new(&path), &key)?;
    let mut out = std::io::stdout().lock();
    for i in start.. {
        let (person, visit, referral) = kabinet_tests::crash_record(i);
        // One transaction per save, as the app does: a person with a visit and a referral.
        store.write(Origin::Local, |w| {
            w.put_person(&person)?;
            w.put_visit(&visit)?;
            w.put_referral(&referral)
        })?;
        writeln!(out, "{i} {} {} {}", person.id, visit.id, referral.id)?;
        out.flush()?;
        // Every few records, edit an earlier one too (incremental chunk writes).
        if i % 3 == 0 && i > start {
            let (mut earlier, _, _) = kabinet_tests::crash_record(i - 1);
            earlier.address = Some(format!("ул. {i}"));
            store.write(Origin::Local, |w| w.put_person(&earlier))?;
            writeln!(out, "edit {} {}", i - 1, earlier.id)?;
            out.flush()?;
        }
    }
    Ok(())
}
