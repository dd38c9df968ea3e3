//! MBTiles 1.3: tiles gzipped in an SQLite file, TMS rows, metadata with `vector_layers`.

use crate::archive::{ArchiveError, Metadata, Staged, TileSink};
use crate::tile::TileId;
use rusqlite::{params, Connection};
use std::path::Path;

/// Writes an MBTiles file: to a temporary name, renamed into place when finished.
pub struct MbtilesWriter {
    staged: Staged,
    conn: Connection,
    meta: Metadata,
}

impl MbtilesWriter {
    pub fn create(path: &Path, meta: &Metadata) -> Result<Self, ArchiveError> {
        let staged = Staged::new(path);
        let conn = Connection::open(&staged.tmp).map_err(|e| staged.err(e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             BEGIN;",
        )
        .map_err(|e| staged.err(e))?;
        Ok(MbtilesWriter {
            staged,
            conn,
            meta: meta.clone(),
        })
    }
}

impl TileSink for MbtilesWriter {
    fn add(&mut self, tile: TileId, gz: &[u8]) -> Result<(), ArchiveError> {
        self.conn
            .prepare_cached("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut st| st.execute(params![tile.z, tile.x, tile.tms_row(), gz]))
            .map_err(|e| self.staged.err(e))?;
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.staged.path
    }

    /// Write the metadata, index the tiles, and move the file into place.
    fn finish(self: Box<Self>) -> Result<(), ArchiveError> {
        let meta = &self.meta;
        let [w, s, e, n] = meta.bounds;
        let (lon, lat, z) = meta.center();
        let rows = [
            ("name", meta.name.clone()),
            ("format", "pbf".to_string()),
            ("type", "overlay".to_string()),
            ("version", "1.3".to_string()),
            ("attribution", meta.attribution.clone()),
            ("minzoom", meta.minzoom.to_string()),
            ("maxzoom", meta.maxzoom.to_string()),
            ("bounds", format!("{w},{s},{e},{n}")),
            ("center", format!("{lon},{lat},{z}")),
            ("json", meta.json.to_string()),
        ];
        for (k, v) in rows {
            self.conn
                .execute("INSERT INTO metadata VALUES (?1, ?2)", params![k, v])
                .map_err(|e| self.staged.err(e))?;
        }
        self.conn
            .execute_batch(
                "COMMIT; CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
            )
            .map_err(|e| self.staged.err(e))?;
        let MbtilesWriter { staged, conn, .. } = *self;
        conn.close().map_err(|(_, e)| staged.err(e))?;
        staged.commit()
    }
}
