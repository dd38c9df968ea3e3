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
    meta: Metadata,
    added: usize,
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
        Ok(PmtilesWriter {
            staged,
            inner,
            meta: meta.clone(),
            added: 0,
        })
    }
}

impl TileSink for PmtilesWriter {
    fn add(&mut self, tile: TileId, gz: &[u8]) -> Result<(), ArchiveError> {
        let coord = TileCoord::new(tile.z, tile.x, tile.y).map_err(|e| self.staged.err(e))?;
        self.inner
            .add_tile(coord, gz)
            .map_err(|e| self.staged.err(e))?;
        self.added += 1;
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.staged.path
    }

    /// Write the directories, check the archive reads back, and move it into place.
    fn finish(self: Box<Self>) -> Result<(), ArchiveError> {
        let PmtilesWriter {
            staged,
            inner,
            meta,
            added,
        } = *self;
        inner.finalize().map_err(|e| staged.err(e))?;
        check(&staged.tmp, &meta, added).map_err(|e| staged.err(format!("check failed: {e}")))?;
        staged.commit()
    }
}

/// Read the written archive back with the `pmtiles` reader: its zooms and metadata are those
/// written, and it holds every tile added. A build never publishes an archive that does not.
/// (A runtime of its own: call from a plain thread, or from `spawn_blocking` in a service.)
fn check(path: &Path, meta: &Metadata, added: usize) -> Result<(), String> {
    use futures_util::TryStreamExt;
    use pmtiles::{AsyncPmTilesReader, MmapBackend};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let backend = MmapBackend::try_from(path)
            .await
            .map_err(|e| e.to_string())?;
        let reader = std::sync::Arc::new(
            AsyncPmTilesReader::try_from_source(backend)
                .await
                .map_err(|e| e.to_string())?,
        );
        let h = reader.get_header();
        if (h.min_zoom, h.max_zoom) != (meta.minzoom, meta.maxzoom) {
            return Err(format!(
                "zooms {}–{} in the header, {}–{} written",
                h.min_zoom, h.max_zoom, meta.minzoom, meta.maxzoom
            ));
        }
        let json: serde_json::Value =
            serde_json::from_str(&reader.get_metadata().await.map_err(|e| e.to_string())?)
                .map_err(|e| format!("metadata: {e}"))?;
        if json.get("vector_layers") != meta.json.get("vector_layers") {
            return Err("vector_layers differ from those written".into());
        }
        let mut tiles = 0usize;
        let mut entries = reader.clone().entries();
        while let Some(e) = entries.try_next().await.map_err(|e| e.to_string())? {
            tiles += e.iter_coords().count();
        }
        if tiles != added {
            return Err(format!("{tiles} tiles in the directory, {added} written"));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        Metadata {
            name: "t".into(),
            attribution: String::new(),
            minzoom: 3,
            maxzoom: 4,
            bounds: [2.0, 48.0, 3.0, 49.0],
            json: serde_json::json!({"vector_layers": [{"id": "l", "fields": {}}]}),
        }
    }

    #[test]
    fn a_written_archive_is_checked_before_it_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pmtiles");
        let mut w: Box<dyn TileSink> = Box::new(PmtilesWriter::create(&path, &meta()).unwrap());
        let gz = crate::gzip::gzip(b"not really a tile").unwrap();
        w.add(TileId { z: 3, x: 4, y: 2 }, &gz).unwrap();
        w.add(TileId { z: 4, x: 8, y: 5 }, &gz).unwrap();
        w.finish().unwrap();
        assert!(check(&path, &meta(), 2).is_ok());
        // What a check refuses: a tile missing, other zooms, other layers, not an archive.
        assert!(check(&path, &meta(), 3).unwrap_err().contains("2 tiles"));
        let mut other = meta();
        other.maxzoom = 5;
        assert!(check(&path, &other, 2).unwrap_err().contains("zooms"));
        other = meta();
        other.json = serde_json::json!({"vector_layers": []});
        assert!(check(&path, &other, 2).is_err());
        std::fs::write(&path, b"junk").unwrap();
        assert!(check(&path, &meta(), 2).is_err());
    }
}
