//! The `kabinet` CLI, built inside this crate so its tests can run it as a process (Cargo
//! gives a test the paths of its own package's binaries only).
fn main() -> std::process::ExitCode {
    kabinet_cli::main_entry()
}
