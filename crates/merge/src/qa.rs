//! Boundary QA beyond the pairs the matchers saw: features straddling an old boundary.
//!
//! A feature straddles when a real share of it (area for polygons, length for lines) lies
//! outside the outline of the commune it belongs to. Only features whose envelope meets an
//! outline's boundary are overlaid (an R-tree over the outlines' edges), so the cost follows
//! the length of the boundaries, not the size of the layer.

use crate::decision::{locator, QaItem};
use geo::{Area, BooleanOps, BoundingRect, Geometry, MultiLineString, MultiPolygon};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::{RTree, AABB};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tuilerie_model::Feature;

/// Share outside its outline from which a feature is reported.
pub const STRADDLE_SHARE: f64 = 0.10;

fn lines_of(g: &Geometry<f64>) -> Option<MultiLineString<f64>> {
    match g {
        Geometry::LineString(l) => Some(MultiLineString(vec![l.clone()])),
        Geometry::MultiLineString(m) => Some(m.clone()),
        _ => None,
    }
}

/// Features (with their communes déléguées, `codes`) lying partly outside that commune's outline.
pub fn straddles(
    theme: &str,
    features: &[Feature],
    codes: &[String],
    outlines: &BTreeMap<String, MultiPolygon<f64>>,
) -> Vec<QaItem> {
    if outlines.is_empty() {
        return Vec::new();
    }
    let edges: Vec<GeomWithData<RLine<[f64; 2]>, ()>> = outlines
        .values()
        .flat_map(|mp| mp.0.iter())
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|ring| {
            ring.0
                .windows(2)
                .map(|w| GeomWithData::new(RLine::new([w[0].x, w[0].y], [w[1].x, w[1].y]), ()))
                .collect::<Vec<_>>()
        })
        .collect();
    let tree = RTree::bulk_load(edges);
    features
        .par_iter()
        .zip(codes)
        .filter_map(|(f, code)| {
            let outline = outlines.get(code)?;
            let r = f.geometry.bounding_rect()?;
            let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            tree.locate_in_envelope_intersecting(&env).next()?;
            let share_out = catch_unwind(AssertUnwindSafe(|| {
                if let Some(mp) = crate::polygon::as_multipolygon(&f.geometry) {
                    let total = mp.unsigned_area();
                    (total > 0.0).then(|| 1.0 - outline.intersection(&mp).unsigned_area() / total)
                } else if let Some(ml) = lines_of(&f.geometry) {
                    let total: f64 = crate::line::total_length(&f.geometry);
                    let inside: f64 = outline
                        .clip(&ml, false)
                        .0
                        .into_iter()
                        .map(|l| crate::line::total_length(&l.into()))
                        .sum();
                    (total > 0.0).then(|| 1.0 - inside / total)
                } else {
                    None
                }
            }))
            .ok()
            .flatten()?;
            (share_out >= STRADDLE_SHARE).then(|| QaItem {
                theme: theme.to_string(),
                kind: "straddle",
                a: locator(&f.provenance),
                b: String::new(),
                commune_a: code.clone(),
                commune_b: String::new(),
                measure: share_out,
                detail: format!(
                    "{:.0} % lies outside the outline of {code}",
                    share_out * 100.0
                ),
                geometry: Some(f.geometry.clone()),
            })
        })
        .collect()
}
