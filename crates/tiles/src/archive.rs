//! What the archive writers share: their error, the tileset's metadata, and writing to a
//! temporary file that is renamed into place only once complete (a reader never sees half an
//! archive).

use std::fmt::Display;
use std::path::{Path, PathBuf};

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

impl ArchiveError {
    /// An error about the archive at `path`.
    pub fn at(path: &Path, reason: impl Display) -> ArchiveError {
        ArchiveError::Write {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// The archive's description (MBTiles `metadata`, PMTiles header and JSON metadata).
#[derive(Debug, Clone)]
pub struct Metadata {
    pub name: String,
    pub attribution: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// west, south, east, north in degrees.
    pub bounds: [f64; 4],
    /// `{"vector_layers": [...]}`.
    pub json: serde_json::Value,
}

impl Metadata {
    /// Where a viewer opens: the middle of the bounds, at the middle zoom.
    pub fn center(&self) -> (f64, f64, u8) {
        let [w, s, e, n] = self.bounds;
        let z = self.minzoom.max((self.minzoom + self.maxzoom) / 2);
        ((w + e) / 2.0, (s + n) / 2.0, z)
    }
}

/// An archive being written under a temporary name next to its final path.
#[derive(Debug)]
pub struct Staged {
    pub path: PathBuf,
    pub tmp: PathBuf,
}

impl Staged {
    /// Stage `path` (its temporary name: `<path>.tmp`, removed first if a failed run left it).
    pub fn new(path: &Path) -> Staged {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        Staged {
            path: path.to_path_buf(),
            tmp,
        }
    }

    /// An error about this archive.
    pub fn err(&self, reason: impl Display) -> ArchiveError {
        ArchiveError::at(&self.path, reason)
    }

    /// Move the finished file into place.
    pub fn commit(self) -> Result<(), ArchiveError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.err(e))
    }
}
