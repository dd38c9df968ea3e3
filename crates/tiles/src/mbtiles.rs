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
    added: usize,
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
            added: 0,
        })
    }
}

impl TileSink for MbtilesWriter {
    fn add(&mut self, tile: TileId, gz: &[u8]) -> Result<(), ArchiveError> {
        self.conn
            .prepare_cached("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut st| st.execute(params![tile.z, tile.x, tile.tms_row(), gz]))
            .map_err(|e| self.staged.err(e))?;
        self.added += 1;
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
        let MbtilesWriter {
            staged,
            conn,
            added,
            ..
        } = *self;
        conn.close().map_err(|(_, e)| staged.err(e))?;
        check(&staged.tmp, added).map_err(|e| staged.err(format!("check failed: {e}")))?;
        staged.commit()
    }
}

/// Open the written file afresh: every tile added is there, and the metadata a reader needs.
fn check(path: &Path, added: usize) -> Result<(), String> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    let tiles: i64 = conn
        .query_row("SELECT COUNT(*) FROM tiles", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if tiles as usize != added {
        return Err(format!("{tiles} tiles in the file, {added} written"));
    }
    for key in ["name", "format", "minzoom", "maxzoom", "bounds", "json"] {
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM metadata WHERE name = ?1",
                [key],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        if n != 1 {
            return Err(format!("metadata {key:?} appears {n} times"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_mbtiles_is_checked_before_it_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mbtiles");
        let meta = Metadata {
            name: "t".into(),
            attribution: String::new(),
            minzoom: 3,
            maxzoom: 3,
            bounds: [2.0, 48.0, 3.0, 49.0],
            json: serde_json::json!({"vector_layers": []}),
        };
        let mut w: Box<dyn TileSink> = Box::new(MbtilesWriter::create(&path, &meta).unwrap());
        w.add(TileId { z: 3, x: 4, y: 2 }, b"gz").unwrap();
        w.finish().unwrap();
        assert!(check(&path, 1).is_ok());
        assert!(check(&path, 2).unwrap_err().contains("1 tiles"));
        let conn = Connection::open(&path).unwrap();
        conn.execute("DELETE FROM metadata WHERE name = 'json'", [])
            .unwrap();
        drop(conn);
        assert!(check(&path, 1).unwrap_err().contains("json"));
    }
}
