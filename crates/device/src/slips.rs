//! Printed slips as files, for no longer than printing needs them.
//!
//! A slip names the person and what they are referred for (an HIV confirmatory test), so a
//! PDF of it is as sensitive as the store, which is encrypted; the PDF cannot be. The desktop's
//! viewer needs a file, so the file lives in a private folder (0700, files 0600), on the
//! session's tmpfs (`$XDG_RUNTIME_DIR`, never written to disk) when the desktop has one, and it
//! goes: a short while after the viewer has opened it (a viewer keeps what it opened), when the
//! device locks, when the app quits, and, for a crash's leftovers, when the app starts.

use crate::lock;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a slip's file stays after it was handed to the viewer: time enough to open it.
pub const SLIP_FILE_LIFETIME: Duration = Duration::from_secs(120);

pub(crate) struct SlipFolder {
    dir: PathBuf,
    /// Files written by this process and when; older ones go at the next sweep.
    written: Mutex<Vec<(PathBuf, Instant)>>,
}

impl SlipFolder {
    /// The folder for a device's slips: under the session's runtime directory if there is one,
    /// else beside the store. One folder per data directory, so two devices on one machine
    /// (tests, a demo beside the real one) do not clear each other's.
    pub(crate) fn for_data_dir(data_dir: &Path) -> SlipFolder {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_dir());
        let dir = match runtime {
            Some(run) => {
                let tag = path_tag(data_dir);
                run.join("kabinet").join(format!("slips-{tag}"))
            }
            None => data_dir.join("slips"),
        };
        let folder = SlipFolder {
            dir,
            written: Mutex::new(Vec::new()),
        };
        // Whatever a crash or a power cut left behind.
        folder.clear();
        folder
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a slip PDF readable by this user only, and answers its path.
    pub(crate) fn write(&self, name: &str, pdf: &[u8], now: Instant) -> std::io::Result<PathBuf> {
        self.sweep(now);
        create_private_dir(&self.dir)?;
        let path = self.dir.join(name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(pdf)?;
        file.sync_all()?;
        lock(&self.written).push((path.clone(), now));
        Ok(path)
    }

    /// Removes the files older than [`SLIP_FILE_LIFETIME`].
    pub(crate) fn sweep(&self, now: Instant) {
        lock(&self.written).retain(|(path, at)| {
            let keep = now.saturating_duration_since(*at) < SLIP_FILE_LIFETIME;
            if !keep {
                let _ = fs::remove_file(path);
            }
            keep
        });
    }

    /// Removes every slip file (on lock, on quit, at start).
    pub(crate) fn clear(&self) {
        lock(&self.written).clear();
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // An existing folder made by an older build (0755) is made private too.
    #[cfg(unix)]
    fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

/// A short, stable tag for a path (FNV-1a): names a folder, protects nothing.
fn path_tag(path: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
