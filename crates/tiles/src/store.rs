//! The tile store: every tile of the last build in a plain file beside the build's state, so
//! that an incremental rebuild carries over the tiles nothing touched, whichever archive
//! formats the manifest asks for. It is written as one more [`TileSink`], through a
//! temporary file renamed into place, like the archives.
//!
//! Format: the magic `TUILST01`, then one record a tile — zoom (u8), x, y, length (u32 little
//! endian) and the gzipped tile — and a trailer: `END!` and the tile count (u64). A file cut
//! short (a crash while it was written) has no trailer and is refused.

use crate::archive::{ArchiveError, Staged, TileSink};
use crate::tile::TileId;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"TUILST01";
const TRAILER: &[u8; 4] = b"END!";

/// Writes a tile store.
pub struct StoreSink {
    staged: Staged,
    out: BufWriter<std::fs::File>,
    count: u64,
}

impl StoreSink {
    pub fn create(path: &Path) -> Result<StoreSink, ArchiveError> {
        let staged = Staged::new(path);
        let file = std::fs::File::create(&staged.tmp).map_err(|e| staged.err(e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC).map_err(|e| staged.err(e))?;
        Ok(StoreSink {
            staged,
            out,
            count: 0,
        })
    }
}

impl TileSink for StoreSink {
    fn add(&mut self, tile: TileId, gz: &[u8]) -> Result<(), ArchiveError> {
        let len = u32::try_from(gz.len()).map_err(|_| self.staged.err("tile over 4 GiB"))?;
        let mut head = [0u8; 13];
        head[0] = tile.z;
        head[1..5].copy_from_slice(&tile.x.to_le_bytes());
        head[5..9].copy_from_slice(&tile.y.to_le_bytes());
        head[9..13].copy_from_slice(&len.to_le_bytes());
        self.out
            .write_all(&head)
            .and_then(|()| self.out.write_all(gz))
            .map_err(|e| self.staged.err(e))?;
        self.count += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ArchiveError> {
        let StoreSink {
            staged,
            mut out,
            count,
        } = *self;
        out.write_all(TRAILER)
            .and_then(|()| out.write_all(&count.to_le_bytes()))
            .and_then(|()| out.flush())
            .map_err(|e| staged.err(e))?;
        drop(out);
        staged.commit()
    }

    fn path(&self) -> &Path {
        &self.staged.path
    }
}

/// Every tile of a store, by tile.
pub fn read_store(path: &Path) -> Result<BTreeMap<TileId, Vec<u8>>, ArchiveError> {
    let bytes = std::fs::read(path).map_err(|e| ArchiveError::at(path, e))?;
    parse(&bytes).map_err(|why| ArchiveError::at(path, format!("not a whole tile store: {why}")))
}

fn parse(bytes: &[u8]) -> Result<BTreeMap<TileId, Vec<u8>>, String> {
    let mut rest = bytes.strip_prefix(MAGIC).ok_or("no magic")?;
    let mut tiles = BTreeMap::new();
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    loop {
        if let Some(trailer) = rest.strip_prefix(TRAILER) {
            let count: [u8; 8] = trailer.try_into().map_err(|_| "bad trailer")?;
            if u64::from_le_bytes(count) != tiles.len() as u64 {
                return Err(format!(
                    "{} tiles, the trailer says {}",
                    tiles.len(),
                    u64::from_le_bytes(count)
                ));
            }
            return Ok(tiles);
        }
        if rest.len() < 13 {
            return Err("cut short".into());
        }
        let len = u32_at(rest, 9) as usize;
        let tile = TileId::new(rest[0], u32_at(rest, 1), u32_at(rest, 5)).ok_or_else(|| {
            format!(
                "tile {}/{}/{} off the grid",
                rest[0],
                u32_at(rest, 1),
                u32_at(rest, 5)
            )
        })?;
        let data = rest.get(13..13 + len).ok_or("cut short")?;
        tiles.insert(tile, data.to_vec());
        rest = &rest[13 + len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_reads_back_and_a_cut_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiles.store");
        let mut sink: Box<dyn TileSink> = Box::new(StoreSink::create(&path).unwrap());
        sink.add(TileId { z: 3, x: 4, y: 2 }, b"abc").unwrap();
        sink.add(TileId { z: 0, x: 0, y: 0 }, b"").unwrap();
        sink.finish().unwrap();
        let tiles = read_store(&path).unwrap();
        assert_eq!(tiles.len(), 2);
        assert_eq!(tiles[&TileId { z: 3, x: 4, y: 2 }], b"abc");
        let bytes = std::fs::read(&path).unwrap();
        for cut in [bytes.len() - 1, bytes.len() - 12, 20, 3] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(read_store(&path).is_err(), "cut at {cut}");
        }
    }
}
