//! The exact matcher: same geometry after normalisation.
//!
//! Exporters round differently (7 decimals of a degree ≈ 1 cm) and start rings at different
//! vertices in different directions, so coordinates are snapped to a grid, rings are oriented
//! (exterior counter-clockwise, holes clockwise) and rotated to start at their smallest vertex,
//! and consecutive repeated vertices are dropped before comparing.

use geo::{Geometry, LineString, Polygon};

/// The normalised vertex sequence of a geometry, as grid cells; parts are separated by a
/// marker and sorted, so that a multi-geometry's part order does not matter.
pub fn geometry_key(g: &Geometry<f64>, grid: f64) -> Vec<(i64, i64)> {
    let mut parts: Vec<Vec<(i64, i64)>> = Vec::new();
    collect(g, grid, &mut parts);
    parts.sort();
    let mut key = Vec::new();
    for p in parts {
        key.extend(p);
        key.push((i64::MIN, i64::MIN));
    }
    key
}

fn snap(c: geo::Coord<f64>, grid: f64) -> (i64, i64) {
    ((c.x / grid).round() as i64, (c.y / grid).round() as i64)
}

fn snapped_line(ls: &LineString<f64>, grid: f64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ls.0.len());
    for c in &ls.0 {
        let s = snap(*c, grid);
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

/// A closed ring, oriented and rotated to start at its smallest cell.
fn ring(ls: &LineString<f64>, grid: f64, ccw: bool) -> Vec<(i64, i64)> {
    let mut r = snapped_line(ls, grid);
    if r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    // Shoelace on the snapped cells: the sign tells the orientation.
    let twice_area: i128 = (0..r.len())
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % r.len()]);
            a.0 as i128 * b.1 as i128 - b.0 as i128 * a.1 as i128
        })
        .sum();
    if (twice_area > 0) != ccw {
        r.reverse();
    }
    if let Some(start) = (0..r.len()).min_by_key(|&i| r[i]) {
        r.rotate_left(start);
    }
    r
}

fn polygon(p: &Polygon<f64>, grid: f64) -> Vec<(i64, i64)> {
    let mut out = ring(p.exterior(), grid, true);
    let mut holes: Vec<Vec<(i64, i64)>> =
        p.interiors().iter().map(|h| ring(h, grid, false)).collect();
    holes.sort();
    for h in holes {
        out.push((i64::MAX, i64::MAX));
        out.extend(h);
    }
    out
}

fn collect(g: &Geometry<f64>, grid: f64, parts: &mut Vec<Vec<(i64, i64)>>) {
    match g {
        Geometry::Point(p) => parts.push(vec![snap(p.0, grid)]),
        Geometry::MultiPoint(m) => parts.extend(m.iter().map(|p| vec![snap(p.0, grid)])),
        Geometry::LineString(l) => parts.push(line(l, grid)),
        Geometry::MultiLineString(m) => parts.extend(m.iter().map(|l| line(l, grid))),
        Geometry::Polygon(p) => parts.push(polygon(p, grid)),
        Geometry::MultiPolygon(m) => parts.extend(m.iter().map(|p| polygon(p, grid))),
        Geometry::GeometryCollection(c) => c.iter().for_each(|g| collect(g, grid, parts)),
        Geometry::Line(l) => parts.push(line(&LineString::from(vec![l.start, l.end]), grid)),
        Geometry::Rect(r) => parts.push(polygon(&r.to_polygon(), grid)),
        Geometry::Triangle(t) => parts.push(polygon(&t.to_polygon(), grid)),
    }
}

/// A line is the same line in either direction: keep the smaller of the two sequences.
fn line(l: &LineString<f64>, grid: f64) -> Vec<(i64, i64)> {
    let fwd = snapped_line(l, grid);
    let mut rev = fwd.clone();
    rev.reverse();
    fwd.min(rev)
}

/// A 64-bit digest of [`geometry_key`], to compare many features cheaply; equal digests are
/// confirmed on the full keys.
pub fn geometry_digest(g: &Geometry<f64>, grid: f64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    geometry_key(g, grid).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn same_polygon_other_start_direction_and_rounding() {
        let a: Geometry =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)]
                .into();
        // Clockwise, starting elsewhere, with 3 mm of rounding noise.
        let b: Geometry = polygon![(x: 10.003, y: 10.0), (x: 10.0, y: 0.002), (x: 0.0, y: 0.0), (x: 0.0, y: 9.998)].into();
        assert_eq!(geometry_key(&a, 0.01), geometry_key(&b, 0.01));
        assert_eq!(geometry_digest(&a, 0.01), geometry_digest(&b, 0.01));
    }

    #[test]
    fn near_miss_two_centimetres_off_is_not_exact() {
        let a: Geometry =
            polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)]
                .into();
        let b: Geometry =
            polygon![(x: 0.0, y: 0.0), (x: 10.02, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)]
                .into();
        assert_ne!(geometry_key(&a, 0.01), geometry_key(&b, 0.01));
    }
}
