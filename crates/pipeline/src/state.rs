//! What a build leaves for the next one, in `OUT/.tuilerie/`, so that a nightly rebuild only
//! does what changed:
//!
//! - `state.json`: the fingerprints the caches are valid for (tuilerie's binary, the parsed
//!   manifest and its outlines), each delivery's files (stat stamps) and content hash, each
//!   theme's merge key, the tileset's zooms and cuts, and stamps of every output written;
//! - `deliveries/<key>.bin`: a delivery's ingest result ([`crate::ingest::DeliveryOutput`]);
//! - `themes/<key>.bin`: a theme's merge result, and `mercator/<key>.bin` its features in
//!   Web Mercator (the next build reprojects only what changed);
//! - `tiles-<n>.store`: every tile of the last tileset ([`tuilerie_tiles::store`]).
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
const FORMAT: u32 = 1;

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
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            path: path.to_path_buf(),
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
/// A theme's merged features in Web Mercator, by its merge key.
pub const MERCATOR: &str = "mercator";

/// Where the cache `key` of kind `kind` (`deliveries`, `themes`) lives.
pub fn cache_path(out: &Path, kind: &str, key: &str) -> PathBuf {
    out.join(STATE_DIR).join(kind).join(format!("{key}.bin"))
}

/// Write a cache file (temporary name, renamed).
pub fn write_cache<T: Serialize>(
    out: &Path,
    kind: &str,
    key: &str,
    value: &T,
) -> std::io::Result<()> {
    let path = cache_path(out, kind, key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("bin.tmp");
    let f = std::fs::File::create(&tmp)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    bincode::serialize_into(&mut w, value).map_err(std::io::Error::other)?;
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, &path)
}

/// Read a cache file; `None` when missing or unreadable (the work is then done again).
pub fn read_cache<T: DeserializeOwned>(out: &Path, kind: &str, key: &str) -> Option<T> {
    let bytes = std::fs::read(cache_path(out, kind, key)).ok()?;
    match bincode::deserialize(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("cache {kind}/{key} unreadable ({e}): its work is done again");
            None
        }
    }
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

/// tuilerie itself: its version and its binary (a rebuilt binary may draw differently).
pub fn tool_fingerprint() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| Stamp::of(&p))
        .map(|s| format!("{} {} {}", s.path.display(), s.size, s.mtime_ns))
        .unwrap_or_default();
    key_of([env!("CARGO_PKG_VERSION").as_bytes(), exe.as_bytes()])
}

/// Everything of the manifest a build depends on: the parsed manifest (every setting, whatever
/// its layout or comments in the file) and the bytes of its outlines file.
pub fn manifest_fingerprint(manifest: &Manifest) -> String {
    let parsed = format!("{manifest:?}");
    let outlines = manifest
        .outlines
        .as_ref()
        .and_then(|o| std::fs::read(manifest.resolve(&o.path)).ok())
        .unwrap_or_default();
    key_of([parsed.as_bytes(), &outlines])
}

/// The files a delivery is made of: the file, with its sidecars (a Shapefile's `.dbf`, `.shx`,
/// `.prj`, `.cpg`…: the files of the same stem beside it), or every file of a folder.
pub fn delivery_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if path.is_dir() {
        collect_files(path, &mut files);
    } else {
        files.push(path.to_path_buf());
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase());
        let is_shp = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("shp"));
        if let (true, Some(stem), Some(dir)) = (is_shp, stem, path.parent()) {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                let same =
                    p.file_stem().map(|s| s.to_string_lossy().to_lowercase()) == Some(stem.clone());
                if same && p != path && p.is_file() {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
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
        _ => {
            let mut h = Sha256::new();
            for f in &files {
                h.update(
                    f.path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                match std::fs::File::open(&f.path) {
                    Ok(mut file) => {
                        let _ = std::io::copy(&mut file, &mut h);
                    }
                    // Unreadable: no hash that could match a cache; ingest will say why.
                    Err(e) => h.update(format!("unreadable: {e}")),
                }
            }
            if files.is_empty() {
                h.update(format!("missing: {}", path.display()));
            }
            hex(&h.finalize())
        }
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
