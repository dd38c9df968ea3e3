//! Does a layer land where its commune is?
//!
//! A declared CRS can be wrong (a sheet labelled CC46 holding CC45 coordinates lands 1,000 km
//! away). After reprojection each layer's extent is compared with its commune's outline when the
//! manifest gives one, else with the area of use of its declared CRS.

use crate::{ReprojectError, Reprojector};
use geo::Rect;
use proj::Proj;
use tuilerie_model::CrsRef;

/// How far a layer's extent reaches beyond the area it should lie in.
#[derive(Debug, Clone, PartialEq)]
pub struct Overshoot {
    /// Metres (working CRS) for an outline check, degrees of longitude/latitude for an
    /// area-of-use check.
    pub distance: f64,
    pub unit: &'static str,
    /// What the extent was compared with.
    pub reference: String,
}

/// How far `extent` reaches beyond `area` (0 when it is inside): the largest of the four
/// overshoots of its sides.
///
/// ```
/// use geo::Rect;
/// use tuilerie_reproject::sanity::overshoot;
/// let area = Rect::new((0.0, 0.0), (100.0, 100.0));
/// assert_eq!(overshoot(&Rect::new((10.0, 10.0), (90.0, 90.0)), &area), 0.0);
/// assert_eq!(overshoot(&Rect::new((10.0, 10.0), (130.0, 90.0)), &area), 30.0);
/// ```
pub fn overshoot(extent: &Rect<f64>, area: &Rect<f64>) -> f64 {
    let (e0, e1, a0, a1) = (extent.min(), extent.max(), area.min(), area.max());
    [a0.x - e0.x, a0.y - e0.y, e1.x - a1.x, e1.y - a1.y]
        .into_iter()
        .fold(0.0, f64::max)
}

/// The smallest rectangle holding both.
///
/// ```
/// use geo::Rect;
/// use tuilerie_reproject::sanity::union;
/// let u = union(&Rect::new((0.0, 0.0), (1.0, 1.0)), &Rect::new((2.0, -1.0), (3.0, 0.5)));
/// assert_eq!(u, Rect::new((0.0, -1.0), (3.0, 1.0)));
/// ```
pub fn union(a: &Rect<f64>, b: &Rect<f64>) -> Rect<f64> {
    Rect::new(
        (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
        (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
    )
}

/// Compare a layer's extent with its commune's outline extent, both in the working CRS.
pub fn against_outline(extent: &Rect<f64>, outline: &Rect<f64>, commune: &str) -> Overshoot {
    Overshoot {
        distance: overshoot(extent, outline),
        unit: "m",
        reference: format!("the outline of commune {commune}"),
    }
}

/// Compare a layer's extent (given in `extent_crs`, e.g. the working CRS) with the area of use
/// of its declared CRS `crs`, in degrees. Returns `Ok(None)` when PROJ knows no area of use for
/// it (e.g. a custom WKT).
pub fn against_area_of_use(
    extent: &Rect<f64>,
    extent_crs: &CrsRef,
    crs: &CrsRef,
) -> Result<Option<Overshoot>, ReprojectError> {
    let Ok(obj) = Proj::new(&crs.proj_definition()) else {
        return Ok(None);
    };
    let (area, name) = match obj.area_of_use() {
        Ok((Some(a), name)) => (a, name),
        _ => return Ok(None),
    };
    let lonlat = Reprojector::new(CrsRef::Epsg(4326)).transform_bounds(extent_crs, *extent)?;
    // An area crossing the antimeridian has west > east; compare longitudes in 0..360 then.
    let aou = if area.west > area.east {
        Rect::new((area.west, area.south), (area.east + 360.0, area.north))
    } else {
        Rect::new((area.west, area.south), (area.east, area.north))
    };
    Ok(Some(Overshoot {
        distance: overshoot(&lonlat, &aou),
        unit: "°",
        reference: format!(
            "the area of use of {} ({})",
            crs.label(),
            name.unwrap_or_default()
        ),
    }))
}
