//! The cabinet's app: a thin Tauri 2 shell over `kabinet-device` (setup, offline login, the
//! inactivity lock, the sync agent) and `kabinet-service` (the screens' calls). No logic
//! lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod shell;

fn main() {
    shell::run();
}
