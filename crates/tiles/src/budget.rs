//! The per-tile budget: a tile over `max_bytes` (gzipped) or `max_features` makes the whole
//! zoom drop its smallest shapes — polygons below an area, lines below a length, points below
//! a rank — with *one* threshold per zoom, so that a feature drawn in one tile is drawn in its
//! neighbours too and tile edges agree.

use crate::shapes::{Family, Shape};
use crate::TileId;
use serde::{Deserialize, Serialize};

/// Limits of one tile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Gzipped bytes.
    pub max_bytes: usize,
    pub max_features: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_bytes: 500_000,
            max_features: 200_000,
        }
    }
}

/// The thresholds of one zoom: shapes below them are not drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cut {
    /// Square units of the zoom's pixel grid.
    pub min_area: f64,
    /// Units.
    pub min_length: f64,
    pub min_point_rank: f64,
}

impl Cut {
    /// Whether `s` is drawn under this cut.
    pub fn keeps(&self, s: &Shape) -> bool {
        s.size >= self.threshold(s.family)
    }

    fn threshold(&self, f: Family) -> f64 {
        match f {
            Family::Polygon => self.min_area,
            Family::Line => self.min_length,
            Family::Point => self.min_point_rank,
        }
    }

    fn raise(&mut self, f: Family, to: f64) {
        let t = match f {
            Family::Polygon => &mut self.min_area,
            Family::Line => &mut self.min_length,
            Family::Point => &mut self.min_point_rank,
        };
        *t = t.max(to);
    }

    pub fn is_none(&self) -> bool {
        *self == Cut::default()
    }
}

/// How a tile over budget was made of, layer by layer: what a GIS expert needs to decide which
/// layer to thin or to start at a deeper zoom.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TileCut {
    pub tile: String,
    /// Gzipped bytes and features before the cut.
    pub bytes: usize,
    pub features: usize,
    /// (layer, features, uncompressed bytes) before the cut.
    pub layers: Vec<(String, usize, usize)>,
    /// After the zoom's final cut.
    pub bytes_after: usize,
    pub features_after: usize,
}

impl TileCut {
    pub fn name(tile: TileId) -> String {
        format!("{}/{}/{}", tile.z, tile.x, tile.y)
    }
}

/// A tile's measure against the budget.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    pub bytes: usize,
    pub features: usize,
}

impl Budget {
    pub fn fits(&self, m: Measure) -> bool {
        m.bytes <= self.max_bytes && m.features <= self.max_features
    }

    /// The zoom's cut tightened so that each tile over budget would keep only the share of its
    /// shapes that fits (with a 10 % margin: bytes do not shrink exactly with features). Each
    /// family loses the same share of its smallest shapes in that tile; the zoom's threshold is
    /// the highest any tile needs. Always strictly tighter for a tile with shapes to drop.
    pub fn tighten(&self, cut: Cut, over: &[(Measure, Vec<&Shape>)]) -> Cut {
        let mut next = cut;
        for (m, members) in over {
            let share = 0.9
                * (self.max_bytes as f64 / m.bytes.max(1) as f64)
                    .min(self.max_features as f64 / m.features.max(1) as f64);
            for family in [Family::Polygon, Family::Line, Family::Point] {
                let mut sizes: Vec<f64> = members
                    .iter()
                    .filter(|s| s.family == family && cut.keeps(s))
                    .map(|s| s.size)
                    .collect();
                // One shape of a kind is not what makes a tile too big: it stays (and a tile
                // holding a single huge feature stays over budget, reported as such).
                if sizes.len() < 2 {
                    continue;
                }
                sizes.sort_by(f64::total_cmp);
                let drop = (((1.0 - share) * sizes.len() as f64).ceil() as usize)
                    .clamp(1, sizes.len() - 1);
                // The smallest size kept; ties above the line are dropped with it, so the
                // threshold always moves past at least one shape.
                let mut t = sizes[drop];
                if t <= sizes[drop - 1] {
                    t = sizes[drop..]
                        .iter()
                        .copied()
                        .find(|s| *s > sizes[drop - 1])
                        .unwrap_or(f64::INFINITY);
                }
                next.raise(family, t);
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Rect;

    fn shape(family: Family, size: f64) -> Shape {
        Shape {
            layer: 0,
            feature: 0,
            bbox: Rect::new(
                geo::coord! { x: 0.0, y: 0.0 },
                geo::coord! { x: 0.0, y: 0.0 },
            ),
            family,
            size,
            kind: crate::shapes::ShapeKind::Feature,
        }
    }

    #[test]
    fn tightening_drops_the_smallest_share_of_each_family() {
        let budget = Budget {
            max_bytes: 1000,
            max_features: 50,
        };
        assert!(budget.fits(Measure {
            bytes: 1000,
            features: 50
        }));
        assert!(!budget.fits(Measure {
            bytes: 1001,
            features: 1
        }));
        let polys: Vec<Shape> = (1..=100)
            .map(|i| shape(Family::Polygon, f64::from(i)))
            .collect();
        let lines: Vec<Shape> = (1..=10)
            .map(|i| shape(Family::Line, f64::from(i)))
            .collect();
        let members: Vec<&Shape> = polys.iter().chain(&lines).collect();
        // 110 features for a budget of 50: keep 0.9 · 50/110 = 41 %, drop the smallest 59 %.
        let m = Measure {
            bytes: 10,
            features: 110,
        };
        let cut = budget.tighten(Cut::default(), &[(m, members.clone())]);
        assert_eq!(cut.min_area, 61.0);
        assert_eq!(cut.min_length, 7.0);
        assert_eq!(cut.min_point_rank, 0.0);
        let kept = members.iter().filter(|s| cut.keeps(s)).count();
        assert!(kept <= 50, "{kept}");
        // Tightening again moves on from the current cut, never back.
        let again = budget.tighten(cut, &[(m, members)]);
        assert!(again.min_area > cut.min_area && again.min_length > cut.min_length);
    }

    #[test]
    fn ties_never_stall_the_cut() {
        let budget = Budget {
            max_bytes: usize::MAX,
            max_features: 2,
        };
        let same: Vec<Shape> = (0..10).map(|_| shape(Family::Polygon, 4.0)).collect();
        let members: Vec<&Shape> = same.iter().collect();
        let m = Measure {
            bytes: 1,
            features: 10,
        };
        let cut = budget.tighten(Cut::default(), &[(m, members.clone())]);
        assert!(members.iter().all(|s| !cut.keeps(s)), "{cut:?}");
        // A single shape of a kind is left alone: no cut can help, and nothing panics.
        let one = [shape(Family::Line, 9.0)];
        let alone: Vec<&Shape> = one.iter().collect();
        assert_eq!(
            budget.tighten(Cut::default(), &[(m, alone)]),
            Cut::default()
        );
    }
}
