//! The `kabinet-hub` server, built inside this crate so its tests can run it as a process.
fn main() -> anyhow::Result<()> {
    kabinet_hub::cli::main_entry()
}
