fn main() -> anyhow::Result<()> {
    kabinet_hub::cli::main_entry()
}
