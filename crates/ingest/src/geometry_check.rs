//! Geometry checks: reject what cannot be used, repair what can, say which and why.

use geo::{
    unary_union, Area, CoordsIter, Geometry, LineString, MakeValid, MultiLineString, MultiPoint,
    MultiPolygon, Polygon, Validation,
};
use tuilerie_model::schema::GeometryFamily;

/// The outcome for one geometry.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// Usable as is, or after the listed repairs.
    Kept {
        geometry: Geometry<f64>,
        repairs: Vec<String>,
    },
    /// Not usable. `geometry` gives the geometry back for the rejects layer, whenever the
    /// check still holds it.
    Rejected {
        reason: String,
        geometry: Option<Geometry<f64>>,
    },
}

/// Checks that do not need a metric CRS, run before reprojection: finite, non-empty coordinates.
pub fn precheck(g: &Geometry<f64>) -> Result<(), String> {
    let mut n = 0usize;
    for c in g.coords_iter() {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(format!("non-finite coordinate ({}, {})", c.x, c.y));
        }
        n += 1;
    }
    if n == 0 {
        return Err("empty geometry".into());
    }
    Ok(())
}

fn family_of(g: &Geometry<f64>) -> GeometryFamily {
    match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) => GeometryFamily::Point,
        Geometry::Line(_) | Geometry::LineString(_) | Geometry::MultiLineString(_) => {
            GeometryFamily::Line
        }
        Geometry::Polygon(_)
        | Geometry::MultiPolygon(_)
        | Geometry::Rect(_)
        | Geometry::Triangle(_) => GeometryFamily::Polygon,
        Geometry::GeometryCollection(_) => GeometryFamily::Any,
    }
}

fn kind_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// The one family of a collection's members (nested collections flattened), or why there is
/// none.
fn collection_family(g: &Geometry<f64>) -> Result<GeometryFamily, String> {
    let mut family = None;
    let mut stack = vec![g];
    while let Some(m) = stack.pop() {
        match m {
            Geometry::GeometryCollection(inner) => stack.extend(inner.0.iter()),
            other => match (family, family_of(other)) {
                (None, f) => family = Some(f),
                (Some(a), b) if a == b => {}
                _ => return Err("mixed geometry types in one collection".into()),
            },
        }
    }
    family.ok_or_else(|| "empty geometry collection".to_string())
}

/// Turn a collection whose members are all of `family` into the matching multi-geometry.
fn simplify_collection(g: Geometry<f64>, family: GeometryFamily) -> Geometry<f64> {
    let Geometry::GeometryCollection(gc) = g else {
        return g;
    };
    let mut members = Vec::new();
    let mut stack: Vec<Geometry<f64>> = gc.0;
    while let Some(m) = stack.pop() {
        match m {
            Geometry::GeometryCollection(inner) => stack.extend(inner.0),
            other => members.push(other),
        }
    }
    members.reverse();
    match family {
        GeometryFamily::Point => Geometry::MultiPoint(MultiPoint(
            members
                .into_iter()
                .flat_map(|m| MultiPoint::try_from(m).map(|mp| mp.0).unwrap_or_default())
                .collect(),
        )),
        GeometryFamily::Line => Geometry::MultiLineString(MultiLineString(
            members
                .into_iter()
                .flat_map(|m| match m {
                    Geometry::LineString(l) => vec![l],
                    Geometry::Line(l) => vec![LineString::from(vec![l.start, l.end])],
                    Geometry::MultiLineString(ml) => ml.0,
                    _ => vec![],
                })
                .collect(),
        )),
        _ => Geometry::MultiPolygon(MultiPolygon(
            members
                .into_iter()
                .flat_map(|m| match m {
                    Geometry::Polygon(p) => vec![p],
                    Geometry::MultiPolygon(mp) => mp.0,
                    Geometry::Rect(r) => vec![r.to_polygon()],
                    Geometry::Triangle(t) => vec![t.to_polygon()],
                    _ => vec![],
                })
                .collect(),
        )),
    }
}

/// Check a geometry (in a metric CRS) for a theme whose geometries are `family`.
///
/// ```
/// use geo::{wkt, Geometry};
/// use tuilerie_ingest::geometry_check::{check_geometry, Checked};
/// use tuilerie_model::schema::GeometryFamily;
/// // A bow-tie parcel is repaired into two triangles.
/// let bowtie: Geometry = wkt!(POLYGON((0. 0., 0. 10., 10. 0., 10. 10., 0. 0.))).into();
/// let Checked::Kept { repairs, .. } = check_geometry(bowtie, GeometryFamily::Polygon) else { panic!() };
/// assert!(repairs[0].contains("self-intersection"));
/// // A point delivered in a parcel layer is rejected.
/// let pt: Geometry = wkt!(POINT(1. 2.)).into();
/// assert!(matches!(check_geometry(pt, GeometryFamily::Polygon), Checked::Rejected { .. }));
/// ```
pub fn check_geometry(g: Geometry<f64>, family: GeometryFamily) -> Checked {
    let reject = |reason: String, g: Geometry<f64>| Checked::Rejected {
        reason,
        geometry: Some(g),
    };
    if let Err(e) = precheck(&g) {
        return reject(e, g);
    }
    let g = match g {
        Geometry::Line(l) => Geometry::LineString(LineString::from(vec![l.start, l.end])),
        Geometry::Rect(r) => Geometry::Polygon(r.to_polygon()),
        Geometry::Triangle(t) => Geometry::Polygon(t.to_polygon()),
        Geometry::GeometryCollection(_) => match collection_family(&g) {
            Ok(f) => simplify_collection(g, f),
            Err(e) => return reject(e, g),
        },
        g => g,
    };
    let got = family_of(&g);
    if family != GeometryFamily::Any && got != family {
        let reason = format!(
            "{} in a layer of {family} (mixed geometry types)",
            kind_name(&g)
        );
        return reject(reason, g);
    }
    match g {
        Geometry::Polygon(p) => repair_polygons(MultiPolygon(vec![p]), true),
        Geometry::MultiPolygon(mp) => repair_polygons(mp, false),
        Geometry::LineString(l) if distinct_points(&l) < 2 => reject(
            "degenerate line: fewer than 2 distinct points".into(),
            Geometry::LineString(l),
        ),
        Geometry::MultiLineString(ml) if ml.0.iter().all(|l| distinct_points(l) < 2) => reject(
            "degenerate lines: no part has 2 distinct points".into(),
            Geometry::MultiLineString(ml),
        ),
        Geometry::MultiLineString(ml) => {
            let before = ml.0.len();
            let parts: Vec<LineString<f64>> =
                ml.0.into_iter()
                    .filter(|l| distinct_points(l) >= 2)
                    .collect();
            let mut repairs = Vec::new();
            if parts.len() < before {
                repairs.push(format!(
                    "dropped {} degenerate part(s) of fewer than 2 distinct points",
                    before - parts.len()
                ));
            }
            Checked::Kept {
                geometry: Geometry::MultiLineString(MultiLineString(parts)),
                repairs,
            }
        }
        other => Checked::Kept {
            geometry: other,
            repairs: Vec::new(),
        },
    }
}

fn distinct_points(l: &LineString<f64>) -> usize {
    let mut n = 0;
    let mut last = None;
    for c in l.0.iter() {
        if last != Some(*c) {
            n += 1;
            last = Some(*c);
        }
    }
    n
}

fn repair_polygons(mp: MultiPolygon<f64>, single: bool) -> Checked {
    let errors: Vec<String> = match (single, mp.0.first()) {
        (true, Some(p)) => p
            .validation_errors()
            .iter()
            .map(|e| e.to_string())
            .collect(),
        _ => mp
            .validation_errors()
            .iter()
            .map(|e| e.to_string())
            .collect(),
    };
    if errors.is_empty() && mp.unsigned_area() == 0.0 {
        return Checked::Rejected {
            reason: "polygon of zero area (collinear or repeated points)".into(),
            geometry: Some(simplest(mp)),
        };
    }
    if errors.is_empty() {
        return Checked::Kept {
            geometry: simplest(mp),
            repairs: Vec::new(),
        };
    }
    let area_before = mp.unsigned_area();
    // MakeValid fills by the odd-even rule: parts of a multipolygon that overlap each other
    // would become holes. Repair each part on its own, then take their union.
    let fixed = if single {
        mp.make_valid()
    } else {
        mp.0.iter()
            .map(|p| p.make_valid())
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| {
                let polys: Vec<Polygon<f64>> = parts.into_iter().flat_map(|m| m.0).collect();
                unary_union(&polys)
            })
    };
    match fixed {
        Ok(fixed) if !fixed.0.is_empty() && fixed.unsigned_area() > 0.0 => {
            let area_after = fixed.unsigned_area();
            Checked::Kept {
                geometry: simplest(fixed),
                repairs: vec![format!(
                    "invalid polygon ({}), repaired with MakeValid (area as drawn {:.2} m², valid {:.2} m²)",
                    errors.join("; "),
                    area_before,
                    area_after
                )],
            }
        }
        Ok(_) => Checked::Rejected {
            reason: format!(
                "invalid polygon ({}) and MakeValid left nothing",
                errors.join("; ")
            ),
            geometry: Some(simplest(mp)),
        },
        Err(e) => Checked::Rejected {
            reason: format!(
                "invalid polygon ({}) that MakeValid could not repair: {e}",
                errors.join("; ")
            ),
            geometry: Some(simplest(mp)),
        },
    }
}

/// A multipolygon of one part is that polygon.
fn simplest(mut mp: MultiPolygon<f64>) -> Geometry<f64> {
    if mp.0.len() == 1 {
        if let Some(p) = mp.0.pop() {
            return Geometry::Polygon(p);
        }
    }
    Geometry::MultiPolygon(mp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{wkt, Geometry};

    #[test]
    fn nan_and_empty_are_rejected() {
        let g: Geometry = geo::Point::new(f64::NAN, 1.0).into();
        assert!(
            matches!(check_geometry(g, GeometryFamily::Point), Checked::Rejected { reason, .. } if reason.contains("non-finite"))
        );
        let g: Geometry = Geometry::MultiPolygon(MultiPolygon(vec![]));
        assert!(
            matches!(check_geometry(g, GeometryFamily::Polygon), Checked::Rejected { reason, .. } if reason.contains("empty"))
        );
    }

    #[test]
    fn valid_parcel_is_untouched() {
        let p: Geometry = wkt!(POLYGON((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.))).into();
        assert_eq!(
            check_geometry(p.clone(), GeometryFamily::Polygon),
            Checked::Kept {
                geometry: p,
                repairs: vec![]
            }
        );
    }

    #[test]
    fn zero_area_polygon_is_rejected() {
        let p: Geometry = wkt!(POLYGON((0. 0., 10. 0., 20. 0., 0. 0.))).into();
        assert!(matches!(
            check_geometry(p, GeometryFamily::Polygon),
            Checked::Rejected { .. }
        ));
    }

    #[test]
    fn overlapping_parts_are_united_not_carved() {
        // Two 10×10 squares overlapping by half: the union is 150 m²; odd-even would give 100.
        let mp: Geometry = wkt!(MULTIPOLYGON(((0. 0., 10. 0., 10. 10., 0. 10., 0. 0.)), ((5. 0., 15. 0., 15. 10., 5. 10., 5. 0.)))).into();
        let Checked::Kept { geometry, repairs } = check_geometry(mp, GeometryFamily::Polygon)
        else {
            panic!("kept")
        };
        assert!(
            (geometry.unsigned_area() - 150.0).abs() < 1e-9,
            "{geometry:?}"
        );
        assert_eq!(repairs.len(), 1);
    }

    #[test]
    fn a_rejected_geometry_is_given_back_for_the_rejects_layer() {
        let g = Geometry::GeometryCollection(
            wkt!(GEOMETRYCOLLECTION(POINT(1. 1.), LINESTRING(0. 0., 1. 1.))),
        );
        let Checked::Rejected { geometry, .. } = check_geometry(g.clone(), GeometryFamily::Any)
        else {
            panic!("rejected")
        };
        assert_eq!(geometry, Some(g));
        let pt: Geometry = wkt!(POINT(1. 2.)).into();
        let Checked::Rejected { geometry, .. } =
            check_geometry(pt.clone(), GeometryFamily::Polygon)
        else {
            panic!("rejected")
        };
        assert_eq!(geometry, Some(pt));
    }

    #[test]
    fn degenerate_line_is_rejected() {
        let l: Geometry = wkt!(LINESTRING(1. 1., 1. 1.)).into();
        assert!(matches!(
            check_geometry(l, GeometryFamily::Line),
            Checked::Rejected { .. }
        ));
    }

    #[test]
    fn mixed_collection_is_rejected() {
        let g = Geometry::GeometryCollection(
            wkt!(GEOMETRYCOLLECTION(POINT(1. 1.), LINESTRING(0. 0., 1. 1.))),
        );
        assert!(
            matches!(check_geometry(g, GeometryFamily::Any), Checked::Rejected { reason, .. } if reason.contains("mixed"))
        );
    }
}
