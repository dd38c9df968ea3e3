//! The served tilesets, each swappable at once when its file is replaced.
//!
//! A rebuild writes a new archive beside the served one and renames it over it. The watcher
//! sees the file change (inode, size, modification time), opens the new archive in full, and
//! swaps it in atomically: requests that already hold the old tileset finish with it, new ones
//! get the new one, none fails. A file that cannot be opened (yet) leaves the old one served.

use crate::metrics::Metrics;
use crate::tileset::{OpenError, Tileset};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What identifies a version of a file.
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        inode: m.ino(),
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// One served archive.
pub struct Entry {
    pub id: String,
    pub path: PathBuf,
    current: ArcSwap<Tileset>,
    /// The version served, and a version that failed to open (not retried until it changes).
    stamp: std::sync::Mutex<(Option<Stamp>, Option<Stamp>)>,
}

/// Routes a tileset id would shadow.
const RESERVED: [&str; 6] = [
    "admin",
    "catalog",
    "health",
    "metrics",
    "maplibre",
    "favicon.ico",
];

/// Whether `id` can be a path segment as it is: letters, digits, `-`, `_`, not a route.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !RESERVED.contains(&id)
}

/// Open in a blocking thread: opening reads and hashes every tile, work that must not hold
/// a runtime thread answering requests.
async fn open_blocking(path: &Path) -> Result<Tileset, OpenError> {
    let p = path.to_path_buf();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(Tileset::open(&p)))
        .await
        .map_err(|e| OpenError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
}

impl Entry {
    /// The tileset as it is now.
    pub fn get(&self) -> Arc<Tileset> {
        self.current.load_full()
    }
}

/// Every served archive.
pub struct Catalog {
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// Open every archive, each `(id, path)` (id: the file's stem when `None`); ids must be
    /// distinct.
    pub async fn open(archives: &[(Option<String>, PathBuf)]) -> Result<Catalog, OpenError> {
        let mut entries: Vec<Entry> = Vec::new();
        for (id, p) in archives {
            let before = stamp(p);
            let mut t = open_blocking(p).await?;
            if let Some(id) = id {
                t.id = id.clone();
            }
            if !valid_id(&t.id) {
                return Err(OpenError {
                    path: p.clone(),
                    reason: format!(
                        "{:?} cannot be served as a path: name it, NAME=PATH, with letters, \
                         digits, - and _ (not {})",
                        t.id,
                        RESERVED.join(", ")
                    ),
                });
            }
            if entries.iter().any(|e| e.id == t.id) {
                return Err(OpenError {
                    path: p.clone(),
                    reason: format!(
                        "another archive is already served as {:?}: name them, NAME=PATH",
                        t.id
                    ),
                });
            }
            tracing::info!(
                "serving {} as /{}: zooms {}–{}, {} tiles, {} KiB",
                p.display(),
                t.id,
                t.minzoom,
                t.maxzoom,
                t.tile_count,
                t.bytes >> 10
            );
            entries.push(Entry {
                id: t.id.clone(),
                path: p.clone(),
                current: ArcSwap::from_pointee(t),
                stamp: std::sync::Mutex::new((before, None)),
            });
        }
        Ok(Catalog { entries })
    }

    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Reload the archives whose file changed; returns how many were swapped.
    pub async fn reload_changed(&self, metrics: &Metrics) -> usize {
        let mut swapped = 0;
        for e in &self.entries {
            let now = stamp(&e.path);
            let changed = match e.stamp.lock() {
                Ok(s) => s.0 != now && s.1 != now,
                Err(_) => false,
            };
            if !changed || now.is_none() {
                continue;
            }
            match open_blocking(&e.path).await {
                // Reopened only if the file did not change again while being read.
                Ok(mut t) if stamp(&e.path) == now => {
                    t.id = e.id.clone();
                    tracing::info!(
                        "reloaded {}: {} tiles, zooms {}–{}",
                        e.path.display(),
                        t.tile_count,
                        t.minzoom,
                        t.maxzoom
                    );
                    e.current.store(Arc::new(t));
                    if let Ok(mut s) = e.stamp.lock() {
                        *s = (now, None);
                    }
                    metrics.reloaded();
                    swapped += 1;
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!("{err}: still serving the previous version");
                    if let Ok(mut s) = e.stamp.lock() {
                        s.1 = now;
                    }
                    metrics.reload_failed();
                }
            }
        }
        swapped
    }

    /// Watch the files every `period` until the process ends.
    pub fn watch(self: &Arc<Self>, metrics: Arc<Metrics>, period: Duration) {
        let catalog = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                catalog.reload_changed(&metrics).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_path_segments_that_no_route_shadows() {
        for ok in ["essonne", "lille-2024", "tiles_v2"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in [
            "", "my tiles", "carte-é", "metrics", "catalog", "health", "a/b", "<x>",
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
