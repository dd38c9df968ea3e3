//! One build at a time per output folder: a lock file (`.tuilerie-build.lock`) held with the
//! operating system's file lock, so that a build killed in any way (even `kill -9`) releases it
//! with its process — no stale lock to clear by hand. The file says who holds it: a second
//! build names the holder instead of waiting or trampling its output.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in the output folder.
pub const LOCK_FILE: &str = ".tuilerie-build.lock";

/// A held build lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
    pub path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another build is writing {folder}: {holder}")]
    Held { folder: PathBuf, holder: String },
    #[error("cannot lock {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

impl BuildLock {
    /// Take the lock of `out` (created if needed) for a build of `manifest`.
    pub fn acquire(out: &Path, manifest: &str) -> Result<BuildLock, LockError> {
        let path = out.join(LOCK_FILE);
        let io = |e: std::io::Error| LockError::Io {
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(out).map_err(io)?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {
                let holder = format!(
                    "pid {} building {manifest} since {}",
                    std::process::id(),
                    chrono::Local::now().format("%Y-%m-%d %H:%M:%S %z")
                );
                file.set_len(0).map_err(io)?;
                file.rewind().map_err(io)?;
                file.write_all(holder.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(BuildLock { _file: file, path })
            }
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Err(LockError::Held {
                    folder: out.to_path_buf(),
                    holder: if holder.trim().is_empty() {
                        "a build that has not said who it is yet".into()
                    } else {
                        holder.trim().to_string()
                    },
                })
            }
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_build_is_told_who_holds_the_lock_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = BuildLock::acquire(&out, "essonne.toml").unwrap();
        let e = BuildLock::acquire(&out, "essonne.toml").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())) && text.contains("essonne.toml"),
            "{text}"
        );
        drop(first);
        assert!(BuildLock::acquire(&out, "essonne.toml").is_ok());
    }
}
