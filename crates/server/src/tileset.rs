//! One served archive: its tiles, read once when it is opened, and what TileJSON says of it.
//!
//! Tiles are held in memory, each distinct tile once (PMTiles already stores identical tiles
//! once; MBTiles is deduplicated by content), with its ETag computed at load — a request is a
//! hash lookup and a reference count, no I/O and no hashing. The price is memory: an archive
//! is served from RAM (the merged essonne archive: 6.8 MiB; France's communes z0–12: about
//! 40 MiB).

use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why an archive could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct OpenError {
    pub path: PathBuf,
    pub reason: String,
}

fn open_err(path: &Path, reason: impl std::fmt::Display) -> OpenError {
    OpenError {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A stored tile: its bytes as stored (gzipped MVT) and its ETag.
#[derive(Debug)]
pub struct StoredTile {
    pub data: Bytes,
    pub gzip: bool,
    /// Quoted, as HTTP wants it: the tag of the stored bytes.
    pub etag: String,
}

impl StoredTile {
    /// The tag of the decompressed form of a gzipped tile: another representation, another
    /// tag, so that a cache never answers one with the other.
    pub fn plain_etag(&self) -> String {
        format!("{}-identity\"", self.etag.trim_end_matches('"'))
    }
}

/// What a request for a tile finds.
#[derive(Debug)]
pub enum Lookup {
    Tile(Arc<StoredTile>),
    /// Inside the archive's zooms and bounds, but nothing there: an empty tile.
    Empty,
    /// Outside the zooms or the bounds: the client should overzoom a parent.
    Outside,
}

/// An opened archive.
#[derive(Debug)]
pub struct Tileset {
    pub id: String,
    pub path: PathBuf,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// west, south, east, north (degrees).
    pub bounds: [f64; 4],
    pub center: [f64; 3],
    pub name: String,
    pub attribution: String,
    /// The archive's `vector_layers`.
    pub vector_layers: serde_json::Value,
    tiles: HashMap<(u8, u32, u32), Arc<StoredTile>>,
    pub tile_count: usize,
    pub bytes: usize,
}

/// The ETag of some stored bytes: a 64-bit hash, quoted.
fn etag(data: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// Tiles deduplicated by content as they are added.
#[derive(Default)]
struct Store {
    tiles: HashMap<(u8, u32, u32), Arc<StoredTile>>,
    distinct: HashMap<String, Arc<StoredTile>>,
    bytes: usize,
}

impl Store {
    fn add(&mut self, zxy: (u8, u32, u32), data: Bytes, gzip: bool) {
        let tag = etag(&data);
        let bytes = &mut self.bytes;
        let tile = self
            .distinct
            .entry(tag.clone())
            .or_insert_with(|| {
                *bytes += data.len();
                Arc::new(StoredTile {
                    data,
                    gzip,
                    etag: tag,
                })
            })
            .clone();
        self.tiles.insert(zxy, tile);
    }
}

impl Tileset {
    /// Open an archive by its extension (`.pmtiles`, `.mbtiles`); its id is the file's stem.
    pub async fn open(path: &Path) -> Result<Tileset, OpenError> {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| open_err(path, "no file name"))?
            .to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("pmtiles") => open_pmtiles(path, id).await,
            Some("mbtiles") => {
                let p = path.to_path_buf();
                tokio::task::spawn_blocking(move || open_mbtiles(&p, id))
                    .await
                    .map_err(|e| open_err(path, e))?
            }
            _ => Err(open_err(path, "not a .pmtiles or .mbtiles archive")),
        }
    }

    /// A tileset with no tile, for tests of what is built from its description.
    #[doc(hidden)]
    pub fn empty_for_tests(id: &str) -> Tileset {
        assemble(
            id.to_string(),
            Path::new(id),
            Described {
                minzoom: 0,
                maxzoom: 0,
                bounds: [-180.0, -85.0, 180.0, 85.0],
                center: [0.0, 0.0, 0.0],
                name: id.to_string(),
                attribution: String::new(),
                vector_layers: None,
            },
            Store::default(),
        )
    }

    /// The tile at z/x/y (XYZ numbering).
    pub fn lookup(&self, z: u8, x: u32, y: u32) -> Lookup {
        if z < self.minzoom || z > self.maxzoom {
            return Lookup::Outside;
        }
        match self.tiles.get(&(z, x, y)) {
            Some(t) => Lookup::Tile(t.clone()),
            None if self.covers(z, x, y) => Lookup::Empty,
            None => Lookup::Outside,
        }
    }

    /// Whether tile z/x/y overlaps the bounds (touching an edge is not enough).
    fn covers(&self, z: u8, x: u32, y: u32) -> bool {
        let n = 2f64.powi(i32::from(z));
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| {
            (std::f64::consts::PI * (1.0 - 2.0 * y / n))
                .sinh()
                .atan()
                .to_degrees()
        };
        let (w, e) = (lon(f64::from(x)), lon(f64::from(x) + 1.0));
        let (n_, s) = (lat(f64::from(y)), lat(f64::from(y) + 1.0));
        let [bw, bs, be, bn] = self.bounds;
        // Bounds crossing the antimeridian (west > east) are two ranges of longitude.
        let across = if bw <= be {
            e > bw && w < be
        } else {
            e > bw || w < be
        };
        across && n_ > bs && s < bn
    }
}

async fn open_pmtiles(path: &Path, id: String) -> Result<Tileset, OpenError> {
    use futures_util::TryStreamExt;
    use pmtiles_read::{AsyncPmTilesReader, Compression, HashMapCache, MmapBackend};
    let backend = MmapBackend::try_from(path)
        .await
        .map_err(|e| open_err(path, e))?;
    let reader = AsyncPmTilesReader::try_from_cached_source(backend, HashMapCache::default())
        .await
        .map_err(|e| open_err(path, e))?;
    let reader = Arc::new(reader);
    let h = reader.get_header();
    let gzip = h.tile_compression == Compression::Gzip;
    let (minzoom, maxzoom) = (h.min_zoom, h.max_zoom);
    let bounds = [
        h.min_longitude,
        h.min_latitude,
        h.max_longitude,
        h.max_latitude,
    ];
    let center = [
        h.center_longitude,
        h.center_latitude,
        f64::from(h.center_zoom),
    ];
    let meta: serde_json::Value = match reader.get_metadata().await {
        Ok(text) if !text.trim().is_empty() => {
            serde_json::from_str(&text).map_err(|e| open_err(path, format!("metadata: {e}")))?
        }
        _ => serde_json::json!({}),
    };
    let mut store = Store::default();
    let mut entries = reader.clone().entries();
    while let Some(entry) = entries.try_next().await.map_err(|e| open_err(path, e))? {
        for id in entry.iter_coords() {
            let coord = pmtiles_read::TileCoord::from(id);
            if let Some(data) = reader.get_tile(id).await.map_err(|e| open_err(path, e))? {
                // Copied out of the file's mapping: a file rewritten in place (not renamed
                // over) must not pull the pages from under the server.
                let data = Bytes::copy_from_slice(&data);
                store.add((coord.z(), coord.x(), coord.y()), data, gzip);
            }
        }
    }
    Ok(assemble(
        id,
        path,
        Described {
            minzoom,
            maxzoom,
            bounds,
            center,
            name: text_of(&meta, "name"),
            attribution: text_of(&meta, "attribution"),
            vector_layers: meta.get("vector_layers").cloned(),
        },
        store,
    ))
}

/// What an archive says of itself.
struct Described {
    minzoom: u8,
    maxzoom: u8,
    bounds: [f64; 4],
    center: [f64; 3],
    name: String,
    attribution: String,
    vector_layers: Option<serde_json::Value>,
}

fn assemble(id: String, path: &Path, d: Described, store: Store) -> Tileset {
    Tileset {
        id,
        path: path.to_path_buf(),
        minzoom: d.minzoom,
        maxzoom: d.maxzoom,
        bounds: d.bounds,
        center: d.center,
        name: d.name,
        attribution: d.attribution,
        vector_layers: d.vector_layers.unwrap_or(serde_json::json!([])),
        tile_count: store.tiles.len(),
        bytes: store.bytes,
        tiles: store.tiles,
    }
}

fn text_of(meta: &serde_json::Value, key: &str) -> String {
    meta.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn open_mbtiles(path: &Path, id: String) -> Result<Tileset, OpenError> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| open_err(path, e))?;
    let mut meta: HashMap<String, String> = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT name, value FROM metadata")
            .map_err(|e| open_err(path, e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| open_err(path, e))?;
        for r in rows {
            let (k, v) = r.map_err(|e| open_err(path, e))?;
            meta.insert(k, v);
        }
    }
    let mut store = Store::default();
    let mut st = conn
        .prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
        .map_err(|e| open_err(path, e))?;
    let mut rows = st.query([]).map_err(|e| open_err(path, e))?;
    while let Some(r) = rows.next().map_err(|e| open_err(path, e))? {
        let (z, x, row): (u8, u32, u32) = (
            r.get(0).map_err(|e| open_err(path, e))?,
            r.get(1).map_err(|e| open_err(path, e))?,
            r.get(2).map_err(|e| open_err(path, e))?,
        );
        let data: Vec<u8> = r.get(3).map_err(|e| open_err(path, e))?;
        if z > 30 || u64::from(row) >= 1u64 << z {
            return Err(open_err(
                path,
                format!("tile {z}/{x}/row {row} is off the grid"),
            ));
        }
        let y = (1u32 << z) - 1 - row;
        let gzip = data.starts_with(&[0x1f, 0x8b]);
        store.add((z, x, y), Bytes::from(data), gzip);
    }
    let num = |k: &str| meta.get(k).and_then(|v| v.parse::<f64>().ok());
    let list = |k: &str| -> Option<Vec<f64>> {
        meta.get(k)
            .map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect())
    };
    let bounds = match list("bounds") {
        Some(b) if b.len() == 4 => [b[0], b[1], b[2], b[3]],
        _ => [-180.0, -85.051_128_78, 180.0, 85.051_128_78],
    };
    let minzoom = num("minzoom").unwrap_or(0.0) as u8;
    let maxzoom = num("maxzoom").unwrap_or(14.0) as u8;
    let center = match list("center") {
        Some(c) if c.len() == 3 => [c[0], c[1], c[2]],
        _ => [
            (bounds[0] + bounds[2]) / 2.0,
            (bounds[1] + bounds[3]) / 2.0,
            f64::from(minzoom),
        ],
    };
    let json: serde_json::Value = meta
        .get("json")
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(serde_json::json!({}));
    Ok(assemble(
        id,
        path,
        Described {
            minzoom,
            maxzoom,
            bounds,
            center,
            name: meta.get("name").cloned().unwrap_or_default(),
            attribution: meta.get("attribution").cloned().unwrap_or_default(),
            vector_layers: json.get("vector_layers").cloned(),
        },
        store,
    ))
}
