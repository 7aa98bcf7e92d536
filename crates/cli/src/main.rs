fn main() -> std::process::ExitCode {
    kabinet_cli::main_entry()
}
