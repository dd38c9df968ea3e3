//! The polygon matcher: overlap ratios, not Hausdorff (domain.md §4).
//!
//! Two copies of one parcel overlap almost entirely (IoU near 1); two neighbouring parcels
//! overlap by a sliver along their common edge, a tiny share of either. So a pair is scored by
//! its IoU |A∩B| / |A∪B| and its *smaller overlap* |A∩B| / min(|A|, |B|) (Hootenanny's rule:
//! below 0.20 a miss, 0.20–0.45 only for review, 0.45 and above a match).

use geo::{Area, BooleanOps, BoundingRect, Coord, Geometry, MapCoords, MultiPolygon, Polygon};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The polygonal part of a geometry as a multipolygon (`None` when it has none).
pub fn as_multipolygon(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
        Geometry::MultiPolygon(m) => Some(m.clone()),
        Geometry::Rect(r) => Some(MultiPolygon(vec![r.to_polygon()])),
        Geometry::Triangle(t) => Some(MultiPolygon(vec![t.to_polygon()])),
        Geometry::GeometryCollection(c) => {
            let parts: Vec<_> = c
                .iter()
                .filter_map(as_multipolygon)
                .flat_map(|m| m.0)
                .collect();
            (!parts.is_empty()).then_some(MultiPolygon(parts))
        }
        _ => None,
    }
}

/// How two polygons overlap.
#[derive(Debug, Clone)]
pub struct Overlap {
    pub intersection_area: f64,
    pub iou: f64,
    pub smaller_overlap: f64,
    /// A∩B, when not empty.
    pub intersection: Option<MultiPolygon<f64>>,
}

/// The polygonal parts of `g`, moved by `-origin`, without cloning `g` first.
fn local(g: &Geometry<f64>, origin: Coord<f64>) -> Option<MultiPolygon<f64>> {
    let shift = |p: &Polygon<f64>| p.map_coords(|c| c - origin);
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![shift(p)])),
        Geometry::MultiPolygon(m) => Some(MultiPolygon(m.0.iter().map(shift).collect())),
        other => as_multipolygon(other).map(|m| MultiPolygon(m.0.iter().map(shift).collect())),
    }
}

/// Score two polygonal geometries of areas `area_a` and `area_b`. `None` when the overlay
/// fails (geo's boolean operations can panic on degenerate input: the pair is then reported,
/// not the run aborted).
pub fn overlap(a: &Geometry<f64>, area_a: f64, b: &Geometry<f64>, area_b: f64) -> Option<Overlap> {
    let (ra, rb) = (a.bounding_rect()?, b.bounding_rect()?);
    let disjoint = ra.max().x <= rb.min().x
        || rb.max().x <= ra.min().x
        || ra.max().y <= rb.min().y
        || rb.max().y <= ra.min().y;
    if disjoint {
        return Some(Overlap {
            intersection_area: 0.0,
            iou: 0.0,
            smaller_overlap: 0.0,
            intersection: None,
        });
    }
    // Overlay in a local frame: parcels lie millions of metres from the origin in Lambert-93;
    // near the origin the overlay keeps more of the doubles' precision for the centimetres.
    let origin = ra.min();
    let (la, lb) = (local(a, origin)?, local(b, origin)?);
    let inter = catch_unwind(AssertUnwindSafe(|| la.intersection(&lb))).ok()?;
    let ia = inter.unsigned_area();
    if !ia.is_finite() {
        return None;
    }
    let union = area_a + area_b - ia;
    let smaller = area_a.min(area_b);
    Some(Overlap {
        intersection_area: ia,
        iou: if union > 0.0 {
            (ia / union).min(1.0)
        } else {
            0.0
        },
        smaller_overlap: if smaller > 0.0 {
            (ia / smaller).min(1.0)
        } else {
            0.0
        },
        intersection: (ia > 0.0).then(|| inter.map_coords(|c| c + origin)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn mp(p: geo::Polygon) -> Geometry {
        Geometry::Polygon(p)
    }

    #[test]
    fn duplicate_with_half_metre_shift_scores_high() {
        let a = mp(
            polygon![(x: 0.0, y: 0.0), (x: 20.0, y: 0.0), (x: 20.0, y: 30.0), (x: 0.0, y: 30.0)],
        );
        let b = mp(
            polygon![(x: 0.5, y: 0.0), (x: 20.5, y: 0.0), (x: 20.5, y: 30.0), (x: 0.5, y: 30.0)],
        );
        let o = overlap(&a, 600.0, &b, 600.0).unwrap();
        assert!((o.intersection_area - 585.0).abs() < 1e-6);
        assert!(o.iou > 0.95 && o.smaller_overlap > 0.97, "{o:?}");
    }

    #[test]
    fn neighbours_overlapping_by_a_sliver_score_low() {
        // Two adjacent 20 × 30 parcels whose common edge disagrees by 30 cm.
        let a = mp(
            polygon![(x: 0.0, y: 0.0), (x: 20.3, y: 0.0), (x: 20.3, y: 30.0), (x: 0.0, y: 30.0)],
        );
        let b = mp(
            polygon![(x: 20.0, y: 0.0), (x: 40.0, y: 0.0), (x: 40.0, y: 30.0), (x: 20.0, y: 30.0)],
        );
        let o = overlap(&a, a.unsigned_area(), &b, 600.0).unwrap();
        assert!((o.intersection_area - 9.0).abs() < 1e-6);
        assert!(o.smaller_overlap < 0.02 && o.iou < 0.01, "{o:?}");
        assert!(o.intersection.is_some());
    }

    #[test]
    fn touching_envelopes_are_disjoint_without_overlay() {
        let a = mp(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)]);
        let b = mp(polygon![(x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0)]);
        assert_eq!(overlap(&a, 0.5, &b, 0.5).unwrap().intersection_area, 0.0);
    }
}
