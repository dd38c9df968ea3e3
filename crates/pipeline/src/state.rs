//! What a build leaves for the next one, in `OUT/.tuilerie/`, so that a nightly rebuild only
//! does what changed:
//!
//! - `state.json`: the fingerprints the caches are valid for (tuilerie's binary, the parsed
//!   manifest and its outlines), each delivery's files (stat stamps) and content hash, each
//!   theme's merge key, the tileset's zooms and cuts, and stamps of every output written;
//! - `deliveries/<key>.bin`: a delivery's ingest result ([`crate::ingest::DeliveryOutput`]);
//! - `themes/<key>.bin`: a theme's merge result, and `mercator/<key>.bin` its features'
//!   digests and the features in Web Mercator ([`ThemeTiles`]: the next build compares its
//!   merge with them and reprojects only what changed);
//! - `tiles-<n>.store`: every tile of the last tileset ([`tuilerie_tiles::store`]), and
//!   `tiles-<n>.store.geometries`: its encoded geometries ([`tuilerie_tiles::Geometries`]).
//!
//! Keys are content hashes: a delivery's key covers its bytes, the manifest and tuilerie
//! itself; a theme's covers the keys of its deliveries. Cache files are written under a
//! temporary name and renamed, and `state.json` last, so a build killed at any point leaves
//! the previous state whole; files no state refers to are removed after it is written.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tuilerie_model::{Delivery, Manifest};
use tuilerie_tiles::TilingReport;

/// The state folder inside a build's output folder.
pub const STATE_DIR: &str = ".tuilerie";
const STATE_FILE: &str = "state.json";
/// Bumped when the state or a cache changes shape.
const FORMAT: u32 = 4;

/// A build's state (see the module's doc).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub tool: String,
    pub manifest: String,
    /// When the build that wrote it finished (RFC 3339).
    pub finished: String,
    /// In manifest order.
    pub deliveries: Vec<DeliveryState>,
    pub themes: BTreeMap<String, ThemeState>,
    pub tiles: Option<TilesState>,
    /// Every file the build wrote, as it left them.
    pub outputs: Vec<Stamp>,
    /// The status of that build (`ok`, `ok_with_warnings`, `input_errors`).
    pub status: String,
}

/// A file as `stat` sees it: enough to tell it was not touched without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
    /// ctime too: a copy that restores the mtime (`cp -p`, `rsync -t`) still changes it.
    pub ctime_ns: i128,
    pub inode: u64,
}

impl Stamp {
    /// The file's stamp, under its canonical path (`out/x` and `./out/x` are one file).
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            size: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            inode: m.ino(),
        })
    }

    /// The file is still as stamped.
    pub fn holds(&self) -> bool {
        Stamp::of(&self.path).as_ref() == Some(self)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryState {
    /// As written in the manifest.
    pub path: String,
    pub files: Vec<Stamp>,
    /// SHA-256 of its files' names and bytes.
    pub hash: String,
    /// The key of its cached ingest result.
    pub key: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThemeState {
    pub key: String,
    pub features: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TilesState {
    /// The tile store's file name in the state folder.
    pub store: String,
    pub report: TilingReport,
    /// Each layer's fields, in the order written.
    pub fields: crate::tiles::LayerFields,
}

impl State {
    pub fn new(tool: String, manifest: String) -> State {
        State {
            format: FORMAT,
            tool,
            manifest,
            ..Default::default()
        }
    }

    /// The state in `out`: `Ok(None)` when there is none, `Err(why)` when it cannot be used.
    pub fn load(out: &Path) -> Result<Option<State>, String> {
        let path = out.join(STATE_DIR).join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let state: State =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if state.format != FORMAT {
            return Err(format!("{}: state format {}", path.display(), state.format));
        }
        Ok(Some(state))
    }

    /// Write `state.json` (temporary file, flushed, renamed: all or nothing).
    pub fn save(&self, out: &Path) -> std::io::Result<()> {
        let dir = out.join(STATE_DIR);
        std::fs::create_dir_all(&dir)?;
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let path = dir.join(STATE_FILE);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    }

    /// Remove the cache files this state does not refer to (earlier builds', or those of a
    /// build killed before it wrote its state).
    pub fn remove_unused(&self, out: &Path) {
        let dir = out.join(STATE_DIR);
        let mut used: Vec<PathBuf> = vec![dir.join(STATE_FILE)];
        used.extend(
            self.deliveries
                .iter()
                .map(|d| cache_path(out, DELIVERIES, &d.key)),
        );
        for t in self.themes.values() {
            used.push(cache_path(out, THEMES, &t.key));
            used.push(cache_path(out, MERCATOR, &t.key));
        }
        used.extend(self.tiles.iter().map(|t| dir.join(&t.store)));
        used.extend(self.tiles.iter().map(|t| geometries_path(out, &t.store)));
        for sub in [
            dir.clone(),
            dir.join(DELIVERIES),
            dir.join(THEMES),
            dir.join(MERCATOR),
        ] {
            let Ok(entries) = std::fs::read_dir(&sub) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_file() && !used.contains(&p) {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
    }
}

pub const DELIVERIES: &str = "deliveries";
pub const THEMES: &str = "themes";
/// A theme as the tiles step drew it ([`ThemeTiles`]), by its merge key.
pub const MERCATOR: &str = "mercator";

/// A theme as the tiles step drew it: the digests of its merged features (what the next
/// build compares its merge with) and the same features in Web Mercator (what it takes over
/// instead of reprojecting) with their fids in `merged.gpkg`, all in merge order.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ThemeTiles {
    pub digests: Vec<crate::changes::Digest>,
    pub features: Vec<tuilerie_model::Feature>,
    /// Each feature's fid in `merged.gpkg` ([`crate::fids`]).
    pub fids: Vec<i64>,
}

/// Where the cache `key` of kind `kind` (`deliveries`, `themes`) lives.
pub fn cache_path(out: &Path, kind: &str, key: &str) -> PathBuf {
    out.join(STATE_DIR).join(kind).join(format!("{key}.bin"))
}

/// bincode, refusing trailing bytes (a file zero-filled by a crash is not a valid cache).
fn codec() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
}

/// Write a cache file (temporary name, flushed to disk, renamed: `state.json`, written after,
/// may refer to it even after a power cut).
pub fn write_cache<T: Serialize>(
    out: &Path,
    kind: &str,
    key: &str,
    value: &T,
) -> std::io::Result<()> {
    write_file(&cache_path(out, kind, key), value)
}

/// Write `value` (bincode) to `path`: flushed to disk, then renamed into place, so that a
/// killed build leaves the old file or the new one whole.
pub fn write_file<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("bin.tmp");
    let f = std::fs::File::create(&tmp)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    bincode::Options::serialize_into(codec(), &mut w, value).map_err(std::io::Error::other)?;
    w.flush()?;
    w.get_ref().sync_all()?;
    drop(w);
    std::fs::rename(&tmp, path)
}

/// Read a cache file; `None` when missing or unreadable (the work is then done again).
pub fn read_cache<T: DeserializeOwned>(out: &Path, kind: &str, key: &str) -> Option<T> {
    read_file(&cache_path(out, kind, key))
}

/// Read a file [`write_file`] wrote; `None` when missing or unreadable.
pub fn read_file<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match bincode::Options::deserialize(codec(), &bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(
                "{} unreadable ({e}): its work is done again",
                path.display()
            );
            None
        }
    }
}

/// Where the encoded geometries of the tileset of tile store `store` are kept.
pub fn geometries_path(out: &Path, store: &str) -> PathBuf {
    out.join(STATE_DIR).join(format!("{store}.geometries"))
}

/// Hex SHA-256 of some parts (each length-prefixed, so that parts cannot run into each other).
pub fn key_of<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// tuilerie itself and what it reads with: its version and binary (a rebuilt binary may draw
/// differently), GDAL's version, PROJ's database and grids folder (an upgrade may move
/// coordinates).
pub fn tool_fingerprint() -> String {
    let stamp = |p: &Path| {
        Stamp::of(p)
            .map(|s| format!("{} {} {}", s.path.display(), s.size, s.mtime_ns))
            .unwrap_or_default()
    };
    let exe = std::env::current_exe()
        .map(|p| stamp(&p))
        .unwrap_or_default();
    let gdal = gdal::version::version_info("RELEASE_NAME");
    let proj_dirs: Vec<PathBuf> = std::env::var_os("PROJ_DATA")
        .or_else(|| std::env::var_os("PROJ_LIB"))
        .map(|d| std::env::split_paths(&d).collect())
        .unwrap_or_else(|| vec![PathBuf::from("/usr/share/proj")]);
    let proj: String = proj_dirs
        .iter()
        .map(|d| format!("{}|{}", stamp(&d.join("proj.db")), stamp(d)))
        .collect();
    key_of([
        env!("CARGO_PKG_VERSION").as_bytes(),
        exe.as_bytes(),
        gdal.as_bytes(),
        proj.as_bytes(),
    ])
}

/// Everything of the manifest a build depends on: the parsed manifest (every setting, whatever
/// its layout or comments in the file) and the content of its outlines file (with its
/// sidecars).
pub fn manifest_fingerprint(manifest: &Manifest) -> String {
    let parsed = format!("{manifest:?}");
    let outlines = manifest
        .outlines
        .as_ref()
        .map(|o| content_hash(&manifest.resolve(&o.path), &[]))
        .unwrap_or_default();
    key_of([parsed.as_bytes(), outlines.as_bytes()])
}

/// The files a delivery is made of: every file of a folder; for a file, the file and every
/// file of the same stem beside it (a Shapefile's `.dbf`, `.shx`, `.prj`, `.cpg`, a MapInfo
/// table's `.dat`, `.map`, `.id`, a GeoPackage's `-wal`, GML's `.gfs`…); for an EDIGEO
/// `.thf`, its whole folder (the exchange is several files).
pub fn delivery_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let is_thf = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("thf"));
    let parent = path.parent().map(|d| {
        if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        }
    });
    if path.is_dir() {
        collect_files(path, &mut files);
    } else if let (true, Some(dir)) = (is_thf, parent) {
        collect_files(dir, &mut files);
    } else {
        files.push(path.to_path_buf());
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase());
        if let (Some(name), Some(stem), Some(dir)) = (name, stem, parent) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                let other = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                let same_stem =
                    p.file_stem().map(|s| s.to_string_lossy().to_lowercase()) == Some(stem.clone());
                // `x.gpkg-wal`, `x.gpkg-shm`, `x.gml.gfs`: named after the whole file name.
                let companion = other.starts_with(&format!("{name}-"))
                    || other.starts_with(&format!("{name}."));
                if (same_stem || companion) && p != path && p.is_file() {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// SHA-256 of a delivery's files: each file's path relative to the delivery's folder and its
/// bytes, length-prefixed. `stamps`: the files, when already listed.
fn content_hash(path: &Path, stamps: &[Stamp]) -> String {
    let files: Vec<PathBuf> = if stamps.is_empty() {
        delivery_files(path)
    } else {
        stamps.iter().map(|s| s.path.clone()).collect()
    };
    let base = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    for f in &files {
        let rel = f.strip_prefix(&base).unwrap_or(f);
        part(rel.to_string_lossy().as_bytes());
        match std::fs::read(f) {
            Ok(bytes) => part(&bytes),
            // Unreadable: a hash no cache can match; ingest will say why.
            Err(e) => part(format!("unreadable: {e}").as_bytes()),
        }
    }
    if files.is_empty() {
        part(format!("missing: {}", path.display()).as_bytes());
    }
    hex(&h.finalize())
}

/// A delivery's files and content hash; the hash is taken over from `previous` without
/// reading a byte when every file is as stamped then.
pub fn fingerprint_delivery(
    manifest: &Manifest,
    delivery: &Delivery,
    previous: Option<&DeliveryState>,
) -> DeliveryState {
    let path = manifest.resolve(&delivery.path);
    let files: Vec<Stamp> = delivery_files(&path)
        .iter()
        .filter_map(|p| Stamp::of(p))
        .collect();
    let hash = match previous {
        Some(p) if p.path == delivery.path && p.files == files && !files.is_empty() => {
            p.hash.clone()
        }
        _ => content_hash(&path, &files),
    };
    DeliveryState {
        path: delivery.path.clone(),
        files,
        hash,
        key: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_its_file_with_every_companion() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "x.tab",
            "x.DAT",
            "x.map",
            "x.id",
            "y.tab",
            "c.gpkg",
            "c.gpkg-wal",
            "g.gml",
            "g.gml.gfs",
            "xx.dat",
        ] {
            std::fs::write(d.join(f), f).unwrap();
        }
        let names = |p: &str| -> Vec<String> {
            delivery_files(&d.join(p))
                .iter()
                .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("x.tab"), ["x.DAT", "x.id", "x.map", "x.tab"]);
        assert_eq!(names("c.gpkg"), ["c.gpkg", "c.gpkg-wal"]);
        assert_eq!(names("g.gml"), ["g.gml", "g.gml.gfs"]);
        // An edited companion changes the content hash; the same bytes give the same one.
        let before = content_hash(&d.join("x.tab"), &[]);
        assert_eq!(before, content_hash(&d.join("x.tab"), &[]));
        std::fs::write(d.join("x.DAT"), "edited").unwrap();
        assert_ne!(before, content_hash(&d.join("x.tab"), &[]));
    }
    use tuilerie_model::{Feature, Provenance, Value};

    #[test]
    fn a_cache_reads_back_every_kind_of_value_and_a_cut_one_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let f = Feature {
            geometry: geo::Point::new(652_000.5, 6_861_000.25).into(),
            attributes: vec![
                ("n".into(), Value::Null),
                ("b".into(), Value::Bool(true)),
                ("i".into(), Value::Int(-7)),
                ("r".into(), Value::Real(0.1)),
                ("t".into(), Value::Text("Allée des Châtaigniers".into())),
                ("d".into(), Value::Date(date)),
                (
                    "dt".into(),
                    Value::DateTime(date.and_hms_opt(23, 59, 1).unwrap()),
                ),
            ],
            provenance: Provenance {
                commune: "91027".into(),
                delivery: "a.json".into(),
                layer: "l".into(),
                source_id: "3".into(),
            },
        };
        write_cache(dir.path(), DELIVERIES, "k", &vec![f.clone()]).unwrap();
        let back: Vec<Feature> = read_cache(dir.path(), DELIVERIES, "k").unwrap();
        assert_eq!(back, vec![f]);
        let path = cache_path(dir.path(), DELIVERIES, "k");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read_cache::<Vec<Feature>>(dir.path(), DELIVERIES, "k").is_none());
    }
}
