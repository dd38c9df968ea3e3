//! Boundary QA beyond the pairs the matchers saw: features straddling an old boundary, and
//! gaps left between the former communes' parcels.
//!
//! Both need the outlines, and both are only as precise as the outlines: generalised outlines
//! (the bundled 2018 ones have 30–130 vertices a commune) put boundary parcels a few metres on
//! the wrong side. The cadastre's own commune polygons (EDIGEO `COMMUNE_id`) are the precise
//! choice.

use crate::decision::{locator, QaItem};
use geo::{
    Area, BooleanOps, BoundingRect, Buffer, Euclidean, Geometry, Length, MultiLineString,
    MultiPolygon, Polygon, Rect,
};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::{RTree, AABB};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tuilerie_model::{Feature, ThemeRules};

fn lines_of(g: &Geometry<f64>) -> Option<MultiLineString<f64>> {
    match g {
        Geometry::LineString(l) => Some(MultiLineString(vec![l.clone()])),
        Geometry::MultiLineString(m) => Some(m.clone()),
        _ => None,
    }
}

fn overlaps(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The share of `g` (area, or length for lines) inside `outline`.
fn share_inside(g: &Geometry<f64>, outline: &MultiPolygon<f64>) -> Option<f64> {
    catch_unwind(AssertUnwindSafe(|| {
        if let Some(mp) = crate::polygon::as_multipolygon(g) {
            let total = mp.unsigned_area();
            (total > 0.0).then(|| outline.intersection(&mp).unsigned_area() / total)
        } else if let Some(ml) = lines_of(g) {
            let total = Euclidean.length(&ml);
            (total > 0.0).then(|| Euclidean.length(&outline.clip(&ml, false)) / total)
        } else {
            None
        }
    }))
    .ok()
    .flatten()
}

/// Features (with their communes déléguées, `codes`) lying for `rules.straddle_share` or more
/// inside *another* former commune's outline. Only features whose envelope meets an outline's
/// edge are overlaid (an R-tree over the edges), so the cost follows the boundaries' length.
pub fn straddles(
    theme: &str,
    features: &[Feature],
    codes: &[String],
    outlines: &BTreeMap<String, MultiPolygon<f64>>,
    rules: &ThemeRules,
) -> Vec<QaItem> {
    if outlines.len() < 2 {
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
        })
        .collect();
    let tree = RTree::bulk_load(edges);
    let boxes: Vec<(&String, &MultiPolygon<f64>, Rect<f64>)> = outlines
        .iter()
        .filter_map(|(k, o)| Some((k, o, o.bounding_rect()?)))
        .collect();
    features
        .par_iter()
        .zip(codes)
        .flat_map_iter(|(f, code)| {
            let mut found = Vec::new();
            let Some(r) = f.geometry.bounding_rect() else {
                return found;
            };
            let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            if tree.locate_in_envelope_intersecting(&env).next().is_none() {
                return found;
            }
            for (other, outline, bbox) in &boxes {
                if *other == code || !overlaps(&r, bbox) {
                    continue;
                }
                let Some(share) = share_inside(&f.geometry, outline) else {
                    continue;
                };
                if share >= rules.straddle_share {
                    found.push(QaItem {
                        theme: theme.to_string(),
                        kind: "straddle",
                        a: locator(&f.provenance),
                        b: String::new(),
                        commune_a: code.clone(),
                        commune_b: (*other).clone(),
                        measure: share,
                        detail: format!(
                            "{:.0} % lies inside the outline of {other}",
                            share * 100.0
                        ),
                        geometry: Some(f.geometry.clone()),
                    });
                }
            }
            found
        })
        .collect()
}

/// Thin uncovered pieces along each shared boundary: in a band of `gap_band_m` on both sides
/// of it, the area no feature covers; its parts thinner than `gap_max_width_m` (streets are
/// wider), of at least `min_gap_area_m2`, bordering features of both communes, are gaps.
pub fn gaps(
    theme: &str,
    features: &[Feature],
    codes: &[String],
    outlines: &BTreeMap<String, MultiPolygon<f64>>,
    rules: &ThemeRules,
    warnings: &mut Vec<String>,
) -> Vec<QaItem> {
    if rules.gap_band_m <= 0.0 || outlines.len() < 2 {
        return Vec::new();
    }
    // A buffer that fails (geo can panic on degenerate rings) leaves that commune out, said.
    let buffered: Vec<(&String, Option<MultiPolygon<f64>>)> = outlines
        .par_iter()
        .map(|(k, o)| {
            (
                k,
                catch_unwind(AssertUnwindSafe(|| o.buffer(rules.gap_band_m))).ok(),
            )
        })
        .collect();
    let mut bands: BTreeMap<&String, MultiPolygon<f64>> = BTreeMap::new();
    for (k, band) in buffered {
        match band {
            Some(b) => {
                bands.insert(k, b);
            }
            None => warnings.push(format!(
                "theme {theme}: the outline of {k} could not be buffered; no gap search along its boundaries"
            )),
        }
    }
    let codes_list: Vec<&String> = outlines.keys().collect();
    let mut pairs = Vec::new();
    for (i, a) in codes_list.iter().enumerate() {
        for b in &codes_list[i + 1..] {
            pairs.push((*a, *b));
        }
    }
    let found: Vec<Option<Vec<QaItem>>> = pairs
        .par_iter()
        .map(|(a, b)| {
            catch_unwind(AssertUnwindSafe(|| {
                gaps_between(theme, a, b, &bands, features, codes, rules)
            }))
            .ok()
        })
        .collect();
    let mut out = Vec::new();
    for ((a, b), f) in pairs.iter().zip(found) {
        match f {
            Some(items) => out.extend(items),
            None => warnings.push(format!(
                "theme {theme}: the gap search between {a} and {b} failed (geometry library); none reported there"
            )),
        }
    }
    out
}

fn gaps_between(
    theme: &str,
    a: &str,
    b: &str,
    bands: &BTreeMap<&String, MultiPolygon<f64>>,
    features: &[Feature],
    codes: &[String],
    rules: &ThemeRules,
) -> Vec<QaItem> {
    let (Some(ba), Some(bb)) = (bands.get(&a.to_string()), bands.get(&b.to_string())) else {
        return Vec::new();
    };
    let zone = ba.intersection(bb);
    let Some(zone_box) = zone.bounding_rect() else {
        return Vec::new();
    };
    // The features of both communes in the zone, with their envelopes.
    let near: Vec<(&Polygon<f64>, &str, Rect<f64>)> = features
        .iter()
        .zip(codes)
        .filter(|(_, c)| c.as_str() == a || c.as_str() == b)
        .filter_map(|(f, c)| match &f.geometry {
            Geometry::Polygon(p) => Some(vec![(p, c.as_str())]),
            Geometry::MultiPolygon(m) => Some(m.0.iter().map(|p| (p, c.as_str())).collect()),
            _ => None,
        })
        .flatten()
        .filter_map(|(p, c)| Some((p, c, p.bounding_rect()?)))
        .filter(|(_, _, r)| overlaps(r, &zone_box))
        .collect();
    if near.is_empty() {
        return Vec::new();
    }
    let covered = geo::unary_union(near.iter().map(|(p, _, _)| *p));
    let uncovered = zone.difference(&covered);
    // The thin parts of what is uncovered: a piece minus its morphological opening (eroded,
    // then dilated, by half the greatest gap width). A sliver between two communes' parcels is
    // often joined to a street, which is wide: the opening keeps the street, and the sliver
    // comes out on its own.
    let half = rules.gap_max_width_m / 2.0;
    let mut out = Vec::new();
    for piece in uncovered.0 {
        if piece.unsigned_area() < rules.min_gap_area_m2 {
            continue;
        }
        let opened = piece.buffer(-half).buffer(half);
        let thin = MultiPolygon(vec![piece]).difference(&opened);
        for sliver in thin.0 {
            let area = sliver.unsigned_area();
            if area < rules.min_gap_area_m2 {
                continue;
            }
            let Some(r) = sliver.bounding_rect() else {
                continue;
            };
            let grown = Rect::new(
                geo::coord! { x: r.min().x - 0.5, y: r.min().y - 0.5 },
                geo::coord! { x: r.max().x + 0.5, y: r.max().y + 0.5 },
            );
            let borders = |code: &str| {
                near.iter()
                    .any(|(_, c, pr)| *c == code && overlaps(pr, &grown))
            };
            if !(borders(a) && borders(b)) {
                continue;
            }
            let perimeter: f64 = std::iter::once(sliver.exterior())
                .chain(sliver.interiors())
                .map(|r| Euclidean.length(r))
                .sum();
            let width = if perimeter > 0.0 {
                2.0 * area / perimeter
            } else {
                0.0
            };
            out.push(QaItem {
                theme: theme.to_string(),
                kind: "gap",
                a: String::new(),
                b: String::new(),
                commune_a: a.to_string(),
                commune_b: b.to_string(),
                measure: area,
                detail: format!("{area:.2} m² covered by no feature between {a} and {b} (mean width {width:.2} m)"),
                geometry: Some(Geometry::Polygon(sliver)),
            });
        }
    }
    out.sort_by(|x, y| {
        let k = |q: &QaItem| {
            q.geometry
                .as_ref()
                .and_then(|g| g.bounding_rect())
                .map(|r| (r.min().x, r.min().y))
        };
        k(x).partial_cmp(&k(y)).unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}
