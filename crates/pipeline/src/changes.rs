//! What changed between two builds: deliveries read again, themes merged again, features
//! added and removed, tiles rebuilt and carried over — the "since the last build" part of
//! the run report, and the features whose envelopes tell the tiles step what to redo.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use tuilerie_model::Feature;

/// The report's account of what changed since the last build.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Changes {
    /// When the last build finished (none for a first build).
    pub since: Option<String>,
    /// Why everything was done again, when it was (`--full`, first build, manifest changed…).
    pub full: Option<String>,
    /// Deliveries read (new or changed content), and those taken from the last build.
    pub deliveries_read: Vec<String>,
    pub deliveries_unchanged: usize,
    /// Themes merged again, and those taken from the last build.
    pub themes_merged: Vec<String>,
    pub themes_unchanged: Vec<String>,
    /// Per theme merged again: merged features that appeared and that disappeared (a moved
    /// or edited feature counts in both).
    pub features: BTreeMap<String, FeatureChanges>,
    /// Whether the output files were written again (not when nothing changed).
    pub outputs_written: bool,
    /// Whether `merged.gpkg` was updated in place (its rows gone deleted, its rows come
    /// inserted, each parcel keeping its fid) rather than written whole.
    pub gpkg_updated_in_place: bool,
    /// Tiles built by this run and carried over from the last tileset; zooms rebuilt whole.
    pub tiles_regenerated: usize,
    pub tiles_carried: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeatureChanges {
    pub added: usize,
    pub removed: usize,
    /// Unchanged features changed their relative order: the tiles of the theme are all
    /// rebuilt (a tile lists its features in that order).
    pub reordered: bool,
}

impl Changes {
    /// One paragraph for the terminal.
    pub fn summary(&self) -> String {
        let mut s = match (&self.full, &self.since) {
            (Some(why), _) => format!("full build ({why})"),
            (None, Some(since)) => format!("since the last build ({since})"),
            (None, None) => "since the last build".to_string(),
        };
        if self.full.is_none() {
            if self.deliveries_read.is_empty() && self.themes_merged.is_empty() {
                s.push_str(if self.outputs_written {
                    ": no delivery changed; outputs written again (they had been touched)"
                } else {
                    ": nothing changed, nothing written but the report"
                });
            } else {
                s.push_str(&format!(
                    ": {} delivery(ies) changed ({}), {} unchanged; merged again: {}",
                    self.deliveries_read.len(),
                    self.deliveries_read.join(", "),
                    self.deliveries_unchanged,
                    if self.themes_merged.is_empty() {
                        "none".to_string()
                    } else {
                        self.themes_merged.join(", ")
                    }
                ));
                for (theme, f) in &self.features {
                    s.push_str(&format!(
                        "; {theme}: +{} −{} features{}",
                        f.added,
                        f.removed,
                        if f.reordered { " (reordered)" } else { "" }
                    ));
                }
                if self.gpkg_updated_in_place {
                    s.push_str("; merged.gpkg updated in place");
                }
            }
        }
        s.push_str(&format!(
            "; tiles: {} built, {} carried over",
            self.tiles_regenerated, self.tiles_carried
        ));
        s
    }
}

/// A merged feature's identity for comparison: SHA-256 (first 16 bytes) of its geometry,
/// attributes and provenance.
pub type Digest = [u8; 16];

/// The digest of every feature, in order (in parallel).
pub fn digests(features: &[Feature]) -> Vec<Digest> {
    features
        .par_iter()
        .map(|f| {
            let bytes = bincode::serialize(f).unwrap_or_default();
            let mut out = [0u8; 16];
            out.copy_from_slice(&Sha256::digest(&bytes)[..16]);
            out
        })
        .collect()
}

/// The features of `old` not in `new` (indices into `old`) and of `new` not in `old` (into
/// `new`), compared by digest; and whether the features in both kept their relative order.
/// Features that occur twice (identical) are counted as changed wherever they are.
pub fn diff(old_d: &[Digest], new_d: &[Digest]) -> (Vec<usize>, Vec<usize>, bool) {
    let count = |ds: &[Digest]| {
        let mut m: HashMap<Digest, usize> = HashMap::with_capacity(ds.len());
        for d in ds {
            *m.entry(*d).or_default() += 1;
        }
        m
    };
    let (old_n, new_n) = (count(old_d), count(new_d));
    // In both, once in each: the features that did not change.
    let same: HashSet<Digest> = old_n
        .iter()
        .filter(|(d, &n)| n == 1 && new_n.get(*d) == Some(&1))
        .map(|(d, _)| *d)
        .collect();
    let removed: Vec<usize> = (0..old_d.len())
        .filter(|&i| !same.contains(&old_d[i]))
        .collect();
    let added: Vec<usize> = (0..new_d.len())
        .filter(|&i| !same.contains(&new_d[i]))
        .collect();
    let kept_old = old_d.iter().filter(|d| same.contains(*d));
    let kept_new = new_d.iter().filter(|d| same.contains(*d));
    let ordered = kept_old.eq(kept_new);
    (removed, added, ordered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuilerie_model::Value;

    fn f(x: f64, id: &str) -> Feature {
        Feature {
            geometry: geo::Point::new(x, 0.0).into(),
            attributes: vec![("id".into(), Value::Text(id.into()))],
            provenance: Default::default(),
        }
    }

    #[test]
    fn moved_edited_added_and_removed_features_are_found() {
        let old = vec![f(0.0, "a"), f(1.0, "b"), f(2.0, "c"), f(3.0, "d")];
        // b moved, c gone, d renamed, e new.
        let new = vec![f(0.0, "a"), f(1.5, "b"), f(3.0, "dd"), f(4.0, "e")];
        let (removed, added, ordered) = diff(&digests(&old), &digests(&new));
        assert_eq!(removed, vec![1, 2, 3]);
        assert_eq!(added, vec![1, 2, 3]);
        assert!(ordered);
        let swapped = vec![f(1.0, "b"), f(0.0, "a"), f(2.0, "c"), f(3.0, "d")];
        let (removed, added, ordered) = diff(&digests(&old), &digests(&swapped));
        assert!(removed.is_empty() && added.is_empty() && !ordered);
        let twice = vec![
            f(0.0, "a"),
            f(0.0, "a"),
            f(1.0, "b"),
            f(2.0, "c"),
            f(3.0, "d"),
        ];
        let (removed, added, ordered) = diff(&digests(&old), &digests(&twice));
        assert_eq!((removed, added, ordered), (vec![0], vec![0, 1], true));
    }
}
