//! The shared workload of the benches (the store's and the service's): `visits` lines of
//! `../shared/bench/gen_workload.py` from one seed (one cabinet), cached between runs under
//! `$KABINET_WORKLOAD_DIR` (default: the temp dir's `kabinet-bench`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder the workload files (and the service bench's 100k store) are kept in.
pub fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("KABINET_WORKLOAD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kabinet-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn workload(visits: usize, seed: u64) -> PathBuf {
    let path = bench_dir().join(format!("visits-{visits}-seed{seed}.jsonl"));
    if !path.exists() {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen_workload.py");
        let out = Command::new("python3")
            .arg(&script)
            .args(["--visits", &visits.to_string(), "--seed", &seed.to_string()])
            .args(["--cabinet", &format!("cabinet-{}", seed % 100)])
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&path, out.stdout).unwrap();
    }
    path
}
