//! MBTiles 1.3: tiles gzipped in an SQLite file, TMS rows, metadata with `vector_layers`.

use crate::tile::TileId;
use flate2::write::GzEncoder;
use flate2::Compression;
use rusqlite::{params, Connection};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// The archive's description (MBTiles `metadata`, PMTiles JSON metadata).
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

/// Gzip a tile (what MBTiles and PMTiles readers expect of vector tiles).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 64),
        Compression::default(),
    );
    e.write_all(bytes)?;
    e.finish()
}

/// Writes an MBTiles file: to a temporary name, renamed into place when finished.
pub struct MbtilesWriter {
    path: PathBuf,
    tmp: PathBuf,
    conn: Connection,
}

impl MbtilesWriter {
    pub fn create(path: &Path) -> Result<Self, ArchiveError> {
        let tmp = path.with_extension("mbtiles.tmp");
        let err = |e: &dyn std::fmt::Display| ArchiveError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let _ = std::fs::remove_file(&tmp);
        let conn = Connection::open(&tmp).map_err(|e| err(&e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             BEGIN;",
        )
        .map_err(|e| err(&e))?;
        Ok(MbtilesWriter {
            path: path.to_path_buf(),
            tmp,
            conn,
        })
    }

    fn err(&self, e: &dyn std::fmt::Display) -> ArchiveError {
        ArchiveError::Write {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// Add one tile (uncompressed MVT bytes).
    pub fn add(&mut self, tile: TileId, mvt: &[u8]) -> Result<(), ArchiveError> {
        let data = gzip(mvt).map_err(|e| self.err(&e))?;
        self.conn
            .execute(
                "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                params![tile.z, tile.x, tile.tms_row(), data],
            )
            .map_err(|e| self.err(&e))?;
        Ok(())
    }

    /// Write the metadata, index the tiles, and move the file into place.
    pub fn finish(self, meta: &Metadata) -> Result<(), ArchiveError> {
        let [w, s, e, n] = meta.bounds;
        let rows = [
            ("name", meta.name.clone()),
            ("format", "pbf".to_string()),
            ("type", "overlay".to_string()),
            ("version", "1.3".to_string()),
            ("attribution", meta.attribution.clone()),
            ("minzoom", meta.minzoom.to_string()),
            ("maxzoom", meta.maxzoom.to_string()),
            ("bounds", format!("{w},{s},{e},{n}")),
            (
                "center",
                format!(
                    "{},{},{}",
                    (w + e) / 2.0,
                    (s + n) / 2.0,
                    meta.minzoom.max((meta.minzoom + meta.maxzoom) / 2)
                ),
            ),
            ("json", meta.json.to_string()),
        ];
        for (k, v) in rows {
            self.conn
                .execute("INSERT INTO metadata VALUES (?1, ?2)", params![k, v])
                .map_err(|e| self.err(&e))?;
        }
        self.conn
            .execute_batch(
                "COMMIT; CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
            )
            .map_err(|e| self.err(&e))?;
        let (tmp, path) = (self.tmp.clone(), self.path.clone());
        self.conn.close().map_err(|(_, e)| ArchiveError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::rename(&tmp, &path).map_err(|e| ArchiveError::Write {
            path,
            reason: e.to_string(),
        })
    }
}
