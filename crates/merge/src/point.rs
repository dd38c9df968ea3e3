//! The point matcher: within the tolerance, and of the same type when the theme has one.

use geo::{Distance, Euclidean, Geometry, Point};
use tuilerie_model::Value;

/// The point of a point geometry (a one-point multipoint counts).
pub fn as_point(g: &Geometry<f64>) -> Option<Point<f64>> {
    match g {
        Geometry::Point(p) => Some(*p),
        Geometry::MultiPoint(m) if m.0.len() == 1 => Some(m.0[0]),
        _ => None,
    }
}

/// Whether two type values allow the same object: equal ignoring case and surrounding
/// spaces (`Eaux usées`, `eaux usées `), or one of them missing (a missing type does not veto).
pub fn same_type(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(Value::as_text), b.and_then(Value::as_text)) {
        (Some(x), Some(y)) => x.trim().to_lowercase() == y.trim().to_lowercase(),
        _ => true,
    }
}

/// `Some(score)` (1 at the same place, 0 at the tolerance) when two points match: distance
/// within `tolerance`, and types equal when both are given (a missing type does not veto).
pub fn score(
    a: Point<f64>,
    type_a: Option<&Value>,
    b: Point<f64>,
    type_b: Option<&Value>,
    tolerance: f64,
) -> Option<(f64, f64)> {
    let d = Euclidean.distance(a, b);
    let types_agree = same_type(type_a, type_b);
    (d <= tolerance && types_agree).then(|| (1.0 - d / tolerance.max(f64::MIN_POSITIVE), d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::point;

    #[test]
    fn near_points_of_one_type_match_and_near_misses_do_not() {
        let lamp = Value::Text("lanterne".into());
        let mast = Value::Text("mât".into());
        let a = point!(x: 0.0, y: 0.0);
        let s = score(a, Some(&lamp), point!(x: 0.3, y: 0.4), Some(&lamp), 1.0).unwrap();
        assert!((s.0 - 0.5).abs() < 1e-9 && (s.1 - 0.5).abs() < 1e-9);
        // Same place, other type: not the same object.
        assert!(score(a, Some(&lamp), point!(x: 0.1, y: 0.0), Some(&mast), 1.0).is_none());
        // Same type, 1.2 m away with a 1 m tolerance: a neighbour, not a copy.
        assert!(score(a, Some(&lamp), point!(x: 1.2, y: 0.0), Some(&lamp), 1.0).is_none());
    }
}
