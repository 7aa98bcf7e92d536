// Only Kabinet's own commands are exposed; capabilities/default.json allows exactly these.
const COMMANDS: &[&str] = &[
    "app_status",
    "setup_device",
    "login",
    "touch",
    "lock",
    "api",
    "sync_view",
    "sync_now",
    "enroll",
    "print_slips",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
