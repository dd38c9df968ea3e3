//! PMTiles v3: one file, Hilbert-ordered tile ids, identical tiles stored once, gzipped tiles.
//! Written with the `pmtiles` crate's streaming writer, to a temporary name renamed into place.

use crate::mbtiles::{ArchiveError, Metadata};
use crate::tile::TileId;
use pmtiles::{Compression, PmTilesStreamWriter, PmTilesWriter, TileCoord, TileType};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Writes a PMTiles archive; tiles may come in any order (the directory is sorted at the end).
pub struct PmtilesWriter {
    path: PathBuf,
    tmp: PathBuf,
    inner: PmTilesStreamWriter<BufWriter<File>>,
}

impl PmtilesWriter {
    /// Start an archive; its header and metadata come from `meta`.
    pub fn create(path: &Path, meta: &Metadata) -> Result<Self, ArchiveError> {
        let err = |e: &dyn std::fmt::Display| ArchiveError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let tmp = path.with_extension("pmtiles.tmp");
        let file = File::create(&tmp).map_err(|e| err(&e))?;
        let [w, s, e, n] = meta.bounds;
        let centre_zoom = meta.minzoom.max((meta.minzoom + meta.maxzoom) / 2);
        let mut json = meta.json.clone();
        if let Some(o) = json.as_object_mut() {
            o.insert("name".into(), meta.name.clone().into());
            o.insert("attribution".into(), meta.attribution.clone().into());
        }
        let inner = PmTilesWriter::new(TileType::Mvt)
            .tile_compression(Compression::Gzip)
            .min_zoom(meta.minzoom)
            .max_zoom(meta.maxzoom)
            .bounds(w, s, e, n)
            .center((w + e) / 2.0, (s + n) / 2.0)
            .center_zoom(centre_zoom)
            .metadata(json.to_string())
            .create(BufWriter::new(file))
            .map_err(|e| err(&e))?;
        Ok(PmtilesWriter {
            path: path.to_path_buf(),
            tmp,
            inner,
        })
    }

    fn err(&self, e: &dyn std::fmt::Display) -> ArchiveError {
        ArchiveError::Write {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// Add one tile (uncompressed MVT bytes; the writer gzips it).
    pub fn add(&mut self, tile: TileId, mvt: &[u8]) -> Result<(), ArchiveError> {
        let coord = TileCoord::new(tile.z, tile.x, tile.y).map_err(|e| self.err(&e))?;
        self.inner.add_tile(coord, mvt).map_err(|e| self.err(&e))
    }

    /// Write the directories and move the file into place.
    pub fn finish(self) -> Result<(), ArchiveError> {
        let (path, tmp) = (self.path.clone(), self.tmp.clone());
        self.inner.finalize().map_err(|e| ArchiveError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::rename(&tmp, &path).map_err(|e| ArchiveError::Write {
            path,
            reason: e.to_string(),
        })
    }
}
