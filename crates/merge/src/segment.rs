//! Small plane-geometry helpers shared by the line matcher, edge-matching and components.

use geo::Coord;

/// Euclidean distance.
pub fn dist(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// The point of segment `a`–`b` nearest to `p`.
pub fn project(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return a;
    }
    let t = (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0);
    Coord {
        x: a.x + t * dx,
        y: a.y + t * dy,
    }
}

/// A vertex's cell on a 1 cm grid: two lines sharing a cell share a vertex.
pub fn vertex_key(c: Coord<f64>) -> (i64, i64) {
    ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64)
}

/// Insert `p` as a vertex into the part of `parts` it lies nearest to, unless a vertex is
/// already there (within 1 mm).
pub fn insert_vertex(parts: &mut [Vec<Coord<f64>>], p: Coord<f64>) {
    let mut best: Option<(usize, usize, f64)> = None;
    for (pi, part) in parts.iter().enumerate() {
        for k in 0..part.len().saturating_sub(1) {
            let d = dist(project(p, part[k], part[k + 1]), p);
            if best.is_none_or(|b| d < b.2) {
                best = Some((pi, k, d));
            }
        }
    }
    if let Some((pi, k, _)) = best {
        let part = &mut parts[pi];
        if dist(part[k], p) < 1e-3 || dist(part[k + 1], p) < 1e-3 {
            return;
        }
        part.insert(k + 1, p);
    }
}
