//! What the archive writers share: the [`TileSink`] trait, the registry that picks a writer
//! by the file's extension, their error, the tileset's metadata, and writing to a temporary
//! file that is renamed into place only once complete (a reader never sees half an archive).

use crate::tile::TileId;
use std::fmt::Display;
use std::path::{Path, PathBuf};

/// Where finished tiles go: an archive being written.
pub trait TileSink: Send {
    /// Add one tile (gzipped MVT bytes); tiles may come in any order.
    fn add(&mut self, tile: TileId, gz: &[u8]) -> Result<(), ArchiveError>;
    /// Finish the archive and move it into place.
    fn finish(self: Box<Self>) -> Result<(), ArchiveError>;
    /// The archive's final path.
    fn path(&self) -> &Path;
}

/// The archive formats, by extension.
pub const FORMATS: [&str; 2] = ["pmtiles", "mbtiles"];

/// A writer for `path`, chosen by its extension (`.pmtiles` or `.mbtiles`).
pub fn create(path: &Path, meta: &Metadata) -> Result<Box<dyn TileSink>, ArchiveError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("pmtiles") => Ok(Box::new(crate::pmtiles_archive::PmtilesWriter::create(
            path, meta,
        )?)),
        Some("mbtiles") => Ok(Box::new(crate::mbtiles::MbtilesWriter::create(path, meta)?)),
        _ => Err(ArchiveError::at(
            path,
            format!(
                "unknown archive format: use one of .{}",
                FORMATS.join(", .")
            ),
        )),
    }
}

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
#[derive(Debug, Clone, PartialEq)]
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

/// The envelope of two rectangles.
pub fn union(a: geo::Rect<f64>, b: geo::Rect<f64>) -> geo::Rect<f64> {
    geo::Rect::new(
        geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
        geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
    )
}

/// Web Mercator metres to degrees (west, south, east, north), for the metadata's bounds.
pub fn bounds_degrees(r: geo::Rect<f64>) -> [f64; 4] {
    use crate::tile::HALF_WORLD;
    let lon = |x: f64| (x / HALF_WORLD * 180.0).clamp(-180.0, 180.0);
    let lat = |y: f64| {
        (2.0 * (y / HALF_WORLD * std::f64::consts::PI).exp().atan() - std::f64::consts::FRAC_PI_2)
            .to_degrees()
            .clamp(-85.051_128_78, 85.051_128_78)
    };
    [
        lon(r.min().x),
        lat(r.min().y),
        lon(r.max().x),
        lat(r.max().y),
    ]
}

impl Metadata {
    /// Where a viewer opens: the middle of the bounds, at the middle zoom.
    pub fn center(&self) -> (f64, f64, u8) {
        let [w, s, e, n] = self.bounds;
        let z = ((u16::from(self.minzoom) + u16::from(self.maxzoom)) / 2) as u8;
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

    /// Move the finished file into place: flushed to disk first, then renamed over the old
    /// one (atomic: a reader sees the old archive or the new one, whole), then the folder
    /// flushed so the rename itself survives a crash.
    pub fn commit(self) -> Result<(), ArchiveError> {
        std::fs::File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| self.err(e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.err(e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}
