//! How the merge stage deduplicates a theme: matcher thresholds and the resolution order.
//!
//! Every theme has defaults (see [`ThemeRules::defaults`], taken from `domain.md` §4); a
//! manifest overrides any of them in a `[themes.<name>]` table, and declares the survivor
//! order in `[merge]`:
//!
//! ```toml
//! [merge]
//! priority = ["91027", "91326"]   # communes whose copy wins, first first (default: the kept
//!                                 # INSEE code first, then the others by code)
//! resolve = ["priority", "updated", "attributes", "vertices"]
//! renumber = true                 # parcel ids take the commune nouvelle's code and préfixes
//!
//! [themes.voirie]
//! tolerance_m = 2.0               # lines within 2 m and 30° are the same road
//! [themes.parcelles]
//! clip_overlaps = true            # cut overlaps out of the lower-ranked parcel (logged)
//! [themes.sections]
//! key = "IDU"                     # EDIGEO repeats the section in every sheet
//! within_delivery = true
//! ```

use crate::Theme;
use serde::{Deserialize, Serialize};

/// One criterion of the survivor order. The first criterion that tells two copies apart wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    /// The commune listed first in `[merge] priority`.
    Priority,
    /// The latest value of the theme's update-date field.
    Updated,
    /// More non-null attributes.
    Attributes,
    /// More vertices (a more detailed geometry).
    Vertices,
}

/// The default survivor order: source priority, latest update, richer attributes, more detail.
pub const DEFAULT_RESOLVE: [Criterion; 4] = [
    Criterion::Priority,
    Criterion::Updated,
    Criterion::Attributes,
    Criterion::Vertices,
];

/// Manifest-wide merge settings (`[merge]`).
#[derive(Debug, Clone, PartialEq)]
pub struct MergeSettings {
    /// Commune INSEE codes in priority order; communes not listed come after, by code.
    pub priority: Vec<String>,
    pub resolve: Vec<Criterion>,
    /// Rewrite parcel and section ids for the commune nouvelle (the original goes to `id_source`).
    pub renumber: bool,
}

impl Default for MergeSettings {
    fn default() -> Self {
        MergeSettings {
            priority: Vec::new(),
            resolve: DEFAULT_RESOLVE.to_vec(),
            renumber: true,
        }
    }
}

/// The thresholds of one theme. Distances are metres in the working CRS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeRules {
    /// Deduplicate this theme at all.
    pub dedup: bool,
    /// Field whose equal values mean "the same object" once the geometry confirms it.
    pub key: Option<String>,
    /// Field holding the last update date (resolution by `updated`).
    pub updated_field: Option<String>,
    /// Field that must agree for two points to match.
    pub type_field: Option<String>,
    /// Search distance: envelopes are expanded by it; lines and points match within it.
    pub tolerance_m: f64,
    /// Grid the exact matcher snaps vertices to.
    pub grid_m: f64,
    /// Polygons without a key match when IoU ≥ this and the smaller overlap ≥ `min_overlap`.
    pub min_iou: f64,
    /// Smaller overlap |A∩B| / min(|A|,|B|) for a polygon match (Hootenanny: 0.45).
    pub min_overlap: f64,
    /// Below `min_overlap` but at or above this, a pair is logged for review, not merged.
    pub review_overlap: f64,
    /// IoU confirming a key match; equal keys with a lower IoU are a conflict.
    pub key_min_iou: f64,
    /// Lines: greatest angle between matched pieces, degrees.
    pub max_angle_deg: f64,
    /// Lines: sampling step along a line when matching sub-lines.
    pub sample_m: f64,
    /// Networks: line ends closer than this across an old boundary are snapped together.
    pub snap_m: f64,
    /// Allow matches between features of the same delivery (EDIGEO sheets repeat objects).
    pub within_delivery: bool,
    /// QA: overlaps smaller than this (m²) are not reported (numerical noise).
    pub min_overlap_area_m2: f64,
    /// QA: a feature lying this share (area or length) inside another former commune's
    /// outline straddles the old boundary.
    pub straddle_share: f64,
    /// QA gaps: half-width of the band searched along each shared boundary (0: no search).
    /// Wide, because outlines are often generalised (the bundled ones are off by tens of metres).
    pub gap_band_m: f64,
    /// QA gaps: uncovered parts thinner than this are gaps; wider ones are streets and
    /// squares, which the cadastre does not cover.
    pub gap_max_width_m: f64,
    /// QA gaps: smaller pieces are numerical noise.
    pub min_gap_area_m2: f64,
    /// Cut each overlap between different communes' features out of the copy that ranks lower
    /// in the survivor order (logged as `clipped`). Off by default: QA reports, never changes.
    pub clip_overlaps: bool,
}

impl ThemeRules {
    /// The defaults of a theme (domain.md §4).
    pub fn defaults(theme: &Theme) -> ThemeRules {
        let base = ThemeRules {
            dedup: true,
            key: None,
            updated_field: Some("updated".into()),
            type_field: None,
            tolerance_m: 1.0,
            grid_m: 0.01,
            min_iou: 0.8,
            min_overlap: 0.45,
            review_overlap: 0.20,
            key_min_iou: 0.5,
            max_angle_deg: 30.0,
            sample_m: 1.0,
            snap_m: 1.0,
            within_delivery: false,
            min_overlap_area_m2: 0.01,
            straddle_share: 0.10,
            gap_band_m: 0.0,
            gap_max_width_m: 2.0,
            min_gap_area_m2: 1.0,
            clip_overlaps: false,
        };
        match theme {
            // Parcels tile the land (but for the public domain): gaps between them are errors.
            Theme::Parcelles => ThemeRules {
                key: Some("id".into()),
                gap_band_m: 50.0,
                ..base
            },
            Theme::Batiments => base,
            Theme::Voirie | Theme::Telecom => ThemeRules {
                tolerance_m: 2.0,
                snap_m: 2.0,
                ..base
            },
            // Pipes: each network's own numbering, so no key; wastewater and rainwater pipes
            // laid side by side are different pipes.
            Theme::EauPotable => ThemeRules {
                updated_field: Some("datemaj".into()),
                tolerance_m: 2.0,
                snap_m: 2.0,
                ..base
            },
            Theme::Assainissement => ThemeRules {
                updated_field: Some("datemaj".into()),
                type_field: Some("typreseau".into()),
                tolerance_m: 2.0,
                snap_m: 2.0,
                ..base
            },
            Theme::Eclairage => ThemeRules {
                type_field: Some("type".into()),
                ..base
            },
            Theme::Custom(_) => base,
        }
    }
}

/// A `[themes.<name>]` table: every field optional, overriding the defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeRulesOverride {
    pub dedup: Option<bool>,
    pub key: Option<String>,
    pub updated_field: Option<String>,
    pub type_field: Option<String>,
    pub tolerance_m: Option<f64>,
    pub grid_m: Option<f64>,
    pub min_iou: Option<f64>,
    pub min_overlap: Option<f64>,
    pub review_overlap: Option<f64>,
    pub key_min_iou: Option<f64>,
    pub max_angle_deg: Option<f64>,
    pub sample_m: Option<f64>,
    pub snap_m: Option<f64>,
    pub within_delivery: Option<bool>,
    pub min_overlap_area_m2: Option<f64>,
    pub straddle_share: Option<f64>,
    pub gap_band_m: Option<f64>,
    pub gap_max_width_m: Option<f64>,
    pub min_gap_area_m2: Option<f64>,
    pub clip_overlaps: Option<bool>,
}

impl ThemeRulesOverride {
    /// The defaults with this table's values on top.
    pub fn apply(&self, mut r: ThemeRules) -> ThemeRules {
        macro_rules! over {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { r.$f = v.clone().into(); } )* };
        }
        over!(
            dedup,
            key,
            updated_field,
            type_field,
            tolerance_m,
            grid_m,
            min_iou,
            min_overlap,
            review_overlap,
            key_min_iou,
            max_angle_deg,
            sample_m,
            snap_m,
            within_delivery,
            min_overlap_area_m2,
            straddle_share,
            gap_band_m,
            gap_max_width_m,
            min_gap_area_m2,
            clip_overlaps
        );
        r
    }

    /// Values that make no sense, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let positive = [
            ("tolerance_m", self.tolerance_m),
            ("grid_m", self.grid_m),
            ("sample_m", self.sample_m),
        ];
        for (name, v) in positive {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    p.push((
                        name,
                        format!("must be a positive number of metres, not {v}"),
                    ));
                }
            }
        }
        let ratios = [
            ("min_iou", self.min_iou),
            ("min_overlap", self.min_overlap),
            ("review_overlap", self.review_overlap),
            ("key_min_iou", self.key_min_iou),
            ("straddle_share", self.straddle_share),
        ];
        for (name, v) in ratios {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    p.push((name, format!("is a ratio between 0 and 1, not {v}")));
                }
            }
        }
        for (name, v) in [
            ("snap_m", self.snap_m),
            ("min_overlap_area_m2", self.min_overlap_area_m2),
            ("gap_band_m", self.gap_band_m),
            ("gap_max_width_m", self.gap_max_width_m),
            ("min_gap_area_m2", self.min_gap_area_m2),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    p.push((name, format!("must be zero or more, not {v}")));
                }
            }
        }
        // A sampling step under a centimetre only multiplies the work (and memory) by millions.
        if let Some(v) = self.sample_m {
            if v.is_finite() && v > 0.0 && v < 0.01 {
                p.push(("sample_m", format!("must be at least 0.01 m, not {v}")));
            }
        }
        if let (Some(r), Some(m)) = (self.review_overlap, self.min_overlap) {
            if r > m {
                p.push((
                    "review_overlap",
                    format!("{r} is above min_overlap {m}: the review band is empty"),
                ));
            }
        }
        if let Some(a) = self.max_angle_deg {
            if !(0.0..=180.0).contains(&a) {
                p.push(("max_angle_deg", format!("is an angle in 0–180°, not {a}")));
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_on_the_theme_defaults() {
        let o: ThemeRulesOverride = toml::from_str("tolerance_m = 3.5\nkey = \"IDU\"").unwrap();
        let r = o.apply(ThemeRules::defaults(&Theme::Voirie));
        assert_eq!(r.tolerance_m, 3.5);
        assert_eq!(r.key.as_deref(), Some("IDU"));
        assert_eq!(r.max_angle_deg, 30.0);
        let bad: ThemeRulesOverride = toml::from_str("min_iou = 1.5\ngrid_m = 0").unwrap();
        assert_eq!(bad.problems().len(), 2);
    }
}
