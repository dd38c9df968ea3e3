//! Candidate pairs from a bulk-loaded R-tree over envelopes expanded by the tolerance.

use geo::{BoundingRect, Geometry};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// An envelope with the index of its feature.
pub type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// The envelope of a geometry expanded by `margin` on every side; `None` for an empty one.
pub fn envelope(g: &Geometry<f64>, margin: f64) -> Option<AABB<[f64; 2]>> {
    let r = g.bounding_rect()?;
    Some(AABB::from_corners(
        [r.min().x - margin, r.min().y - margin],
        [r.max().x + margin, r.max().y + margin],
    ))
}

/// Every pair `(i, j)`, `i < j`, of geometries within about `tolerance` of each other (their
/// envelopes, each expanded by half of it, intersect) for which `allowed(i, j)` holds. Sorted,
/// so the result does not depend on the number of threads.
pub fn pairs(
    geometries: &[&Geometry<f64>],
    tolerance: f64,
    allowed: impl Fn(usize, usize) -> bool + Sync,
) -> Vec<(usize, usize)> {
    let envelopes: Vec<Option<AABB<[f64; 2]>>> = geometries
        .par_iter()
        .map(|g| envelope(g, tolerance / 2.0))
        .collect();
    let entries: Vec<Entry> = envelopes
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            e.map(|e| GeomWithData::new(Rectangle::from_corners(e.lower(), e.upper()), i))
        })
        .collect();
    let tree = RTree::bulk_load(entries);
    let mut out: Vec<(usize, usize)> = envelopes
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, e)| {
            let hits: Vec<(usize, usize)> = match e {
                Some(e) => tree
                    .locate_in_envelope_intersecting(e)
                    .map(|hit| hit.data)
                    .filter(|&j| j > i && allowed(i, j))
                    .map(|j| (i, j))
                    .collect(),
                None => Vec::new(),
            };
            hits
        })
        .collect();
    out.par_sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::point;

    #[test]
    fn pairs_within_tolerance_only_and_filtered() {
        let g: Vec<Geometry> = vec![
            point!(x: 0.0, y: 0.0).into(),
            point!(x: 0.8, y: 0.0).into(),
            point!(x: 5.0, y: 0.0).into(),
            point!(x: 0.5, y: 0.5).into(),
        ];
        let refs: Vec<&Geometry> = g.iter().collect();
        assert_eq!(pairs(&refs, 1.0, |_, _| true), vec![(0, 1), (0, 3), (1, 3)]);
        assert_eq!(pairs(&refs, 1.0, |i, _| i != 0), vec![(1, 3)]);
    }
}
