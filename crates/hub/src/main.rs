fn main() -> anyhow::Result<()> {
    kabinet_hub::bound_memory_arenas();
    kabinet_hub::cli::main_entry()
}
