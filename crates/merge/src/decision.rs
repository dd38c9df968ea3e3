//! What the merge tells the GIS expert: one [`Decision`] per match, one [`QaItem`] per
//! conflict, and per-theme counts that reconcile.

use crate::interned::Word;
use geo::{Coord, Geometry};
use serde::{Deserialize, Serialize};
use tuilerie_model::Provenance;

/// `commune/delivery [layer] #id`: how a feature is named in the log and in QA.
pub fn locator(p: &Provenance) -> String {
    format!(
        "{}/{} [{}] #{}",
        p.commune, p.delivery, p.layer, p.source_id
    )
}

/// One row of the decisions log: two features, the matcher that paired them, its score and
/// what was done about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub theme: String,
    /// `key`, `exact`, `overlap`, `subline`, `point`, `edge-snap`.
    #[serde(deserialize_with = "crate::interned::word")]
    pub matcher: Word,
    /// The matcher's score in [0, 1] (IoU, covered share, 1 − distance/tolerance…).
    pub score: f64,
    /// `merged`, `partial` (a line's matched part was dropped, the rest kept), `snapped`,
    /// `review` (kept both: the evidence is not strong enough), `conflict` (kept both: the
    /// evidence disagrees).
    #[serde(deserialize_with = "crate::interned::word")]
    pub decision: Word,
    pub reason: String,
    /// The feature that survives (or that the other was matched against).
    pub kept: String,
    /// The feature merged into it, or kept alongside it.
    pub other: String,
    /// For a merge: the feature that survives the whole cluster (with chained matches, it
    /// can be neither of the pair). Empty otherwise.
    pub survivor: String,
    pub iou: Option<f64>,
    pub smaller_overlap: Option<f64>,
    pub distance_m: Option<f64>,
    /// Where it happened, to find it on a map.
    pub x: f64,
    pub y: f64,
}

/// One finding of the boundary QA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaItem {
    pub theme: String,
    /// `overlap`, `conflict`, `review`, `straddle`, `gap`, `foreign`.
    #[serde(deserialize_with = "crate::interned::word")]
    pub kind: Word,
    pub a: String,
    pub b: String,
    pub commune_a: String,
    pub commune_b: String,
    /// Area (m²) of an overlap, share outside for a straddle.
    pub measure: f64,
    pub detail: String,
    pub geometry: Option<Geometry<f64>>,
}

/// Per-theme counts: `input = output + merged_away` (rejects are counted by the ingest stage).
/// A line whose unmatched rest falls in several runs stays one (multi-line) feature, so a
/// merge never makes more features than it was given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThemeStats {
    pub input: usize,
    pub output: usize,
    pub merged_away: usize,
    pub matches: usize,
    pub reviews: usize,
    pub conflicts: usize,
    pub overlaps: usize,
    pub straddles: usize,
    /// Thin uncovered pieces between two communes' features (needs outlines).
    pub gaps: usize,
    /// Overlaps cut out of the lower-ranked feature (`clip_overlaps`).
    pub clipped: usize,
    /// Features of communes outside the merger (kept, reported).
    pub foreign: usize,
    pub snapped_ends: usize,
    /// Connected components of a line network before and after the merge.
    pub components_before: Option<usize>,
    pub components_after: Option<usize>,
    /// Total length (m) of a line network before and after.
    pub length_before_m: Option<f64>,
    pub length_after_m: Option<f64>,
    /// Wall time of each step, milliseconds.
    #[serde(deserialize_with = "crate::interned::word_keys")]
    pub timings_ms: std::collections::BTreeMap<Word, u64>,
}

impl ThemeStats {
    /// Record the time since `since` under `step`, and restart the clock.
    pub(crate) fn lap(&mut self, step: &'static str, since: &mut std::time::Instant) {
        *self.timings_ms.entry(step).or_default() += since.elapsed().as_millis() as u64;
        *since = std::time::Instant::now();
    }
}

impl ThemeStats {
    pub fn reconciles(&self) -> bool {
        self.input == self.output + self.merged_away
    }
}

/// A representative coordinate of a geometry (first vertex), for the log's x/y.
pub fn anchor(g: &Geometry<f64>) -> Coord<f64> {
    use geo::CoordsIter;
    g.coords_iter().next().unwrap_or(Coord { x: 0.0, y: 0.0 })
}
