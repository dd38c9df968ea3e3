//! PMTiles v3: one file, Hilbert-ordered tile ids (the tileset writer hands tiles over in that
//! order, so the archive is clustered), identical tiles stored once, gzipped tiles.
//! Written with the `pmtiles` crate's streaming writer, to a temporary name renamed into place.

use crate::archive::{ArchiveError, Metadata, Staged, TileSink};
use crate::tile::TileId;
use pmtiles::{Compression, PmTilesStreamWriter, PmTilesWriter, TileCoord, TileType};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Writes a PMTiles archive; tiles may come in any order (the directory is sorted at the end).
pub struct PmtilesWriter {
    staged: Staged,
    inner: PmTilesStreamWriter<BufWriter<File>>,
}

impl PmtilesWriter {
    /// Start an archive; its header and metadata come from `meta`.
    pub fn create(path: &Path, meta: &Metadata) -> Result<Self, ArchiveError> {
        let staged = Staged::new(path);
        let file = File::create(&staged.tmp).map_err(|e| staged.err(e))?;
        let [w, s, e, n] = meta.bounds;
        let (lon, lat, z) = meta.center();
        let mut json = meta.json.clone();
        if let Some(o) = json.as_object_mut() {
            o.insert("name".into(), meta.name.clone().into());
            o.insert("attribution".into(), meta.attribution.clone().into());
        }
        let inner = PmTilesWriter::new(TileType::Mvt)
            .precompressed(Compression::Gzip)
            .min_zoom(meta.minzoom)
            .max_zoom(meta.maxzoom)
            .bounds(w, s, e, n)
            .center(lon, lat)
            .center_zoom(z)
            .metadata(json.to_string())
            .create(BufWriter::new(file))
            .map_err(|e| staged.err(e))?;
        Ok(PmtilesWriter { staged, inner })
    }
}

impl TileSink for PmtilesWriter {
    fn add(&mut self, tile: TileId, gz: &[u8]) -> Result<(), ArchiveError> {
        let coord = TileCoord::new(tile.z, tile.x, tile.y).map_err(|e| self.staged.err(e))?;
        self.inner
            .add_tile(coord, gz)
            .map_err(|e| self.staged.err(e))
    }

    fn path(&self) -> &Path {
        &self.staged.path
    }

    /// Write the directories and move the file into place.
    fn finish(self: Box<Self>) -> Result<(), ArchiveError> {
        let PmtilesWriter { staged, inner } = *self;
        inner.finalize().map_err(|e| staged.err(e))?;
        staged.commit()
    }
}
