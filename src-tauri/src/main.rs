//! The cabinet's app: a thin Tauri 2 shell. It opens the encrypted store with the key the
//! nurse types at unlock, runs the sync agent beside it, and passes the screens' calls to
//! `kabinet-service`. No domain logic lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod shell;

fn main() {
    shell::run();
}
