//! Cached PROJ transformers.

use crate::pj::Transformer;
use crate::ReprojectError;
use geo::{Coord, Geometry, LineString, Polygon};
use proj::Proj;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use tuilerie_model::CrsRef;

/// The hub NTF data goes through: PROJ uses IGN's grid for NTF → RGF93 / Lambert-93, but picks
/// the Helmert shift for a direct NTF → WGS84 or NTF → Web Mercator (measured with PROJ 9.1).
const NTF_HUB: CrsRef = CrsRef::Epsg(2154);

/// A transformation from one CRS to another, possibly in two steps.
struct Chain {
    steps: Vec<Transformer>,
    /// PROJ's description of each step.
    descriptions: Vec<String>,
}

type CacheKey = (CrsRef, CrsRef);

thread_local! {
    /// One transformer per (source, target) per thread: PROJ objects are neither `Send` nor `Sync`.
    static CACHE: RefCell<HashMap<CacheKey, Rc<Chain>>> = RefCell::new(HashMap::new());
}

/// What PROJ will do for a (source, target) pair, for reports.
#[derive(Debug, Clone)]
pub struct TransformInfo {
    pub from: String,
    pub to: String,
    /// PROJ's description of each step (e.g. `Inverse of Lambert zone II + NTF to RGF93 v1 (1) + Lambert-93`).
    pub steps: Vec<String>,
}

/// Transforms geometries into the working CRS.
#[derive(Debug, Clone)]
pub struct Reprojector {
    target: CrsRef,
}

impl Reprojector {
    pub fn new(target: CrsRef) -> Self {
        Reprojector { target }
    }

    pub fn target(&self) -> &CrsRef {
        &self.target
    }

    fn chain(&self, from: &CrsRef) -> Result<Rc<Chain>, ReprojectError> {
        let key = (from.clone(), self.target.clone());
        if let Some(c) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
            return Ok(c);
        }
        let hops: Vec<(&CrsRef, &CrsRef)> = if crate::ntf::is_ntf(from)
            && self.target != NTF_HUB
            && !crate::ntf::is_ntf(&self.target)
        {
            vec![(from, &NTF_HUB), (&NTF_HUB, &self.target)]
        } else {
            vec![(from, &self.target)]
        };
        if Proj::new(&from.proj_definition()).is_err() {
            return Err(ReprojectError::UnknownCrs {
                crs: from.label(),
                reason: "PROJ does not know it".into(),
            });
        }
        let mut steps = Vec::new();
        let mut descriptions = Vec::new();
        for (a, b) in hops {
            // Out of NTF: the grid operation only, so that nothing falls back to Helmert.
            let make = if crate::ntf::is_ntf(a) && !crate::ntf::is_ntf(b) {
                Transformer::new_grid_only
            } else {
                Transformer::new
            };
            let p = make(&a.proj_definition(), &b.proj_definition()).map_err(|reason| {
                ReprojectError::Create {
                    from: a.label(),
                    to: b.label(),
                    reason,
                }
            })?;
            descriptions.push(p.description().unwrap_or_else(|| format!("{a} → {b}")));
            steps.push(p);
        }
        let chain = Rc::new(Chain {
            steps,
            descriptions,
        });
        CACHE.with(|c| c.borrow_mut().insert(key, chain.clone()));
        Ok(chain)
    }

    /// Describe the transformation PROJ builds for `from` → target (creating it if needed).
    pub fn describe(&self, from: &CrsRef) -> Result<TransformInfo, ReprojectError> {
        let chain = self.chain(from)?;
        Ok(TransformInfo {
            from: from.label(),
            to: self.target.label(),
            steps: chain.descriptions.clone(),
        })
    }

    /// Transform coordinate pairs in place.
    pub fn transform_coords(
        &self,
        from: &CrsRef,
        coords: &mut [(f64, f64)],
    ) -> Result<(), ReprojectError> {
        if from == &self.target || coords.is_empty() {
            return Ok(());
        }
        let chain = self.chain(from)?;
        for p in &chain.steps {
            p.pairs(coords)
                .map_err(|reason| self.failed(from, reason))?;
        }
        if let Some(&(x, y)) = coords
            .iter()
            .find(|(x, y)| !x.is_finite() || !y.is_finite())
        {
            return Err(ReprojectError::NotFinite {
                from: from.label(),
                x,
                y,
            });
        }
        Ok(())
    }

    fn failed(&self, from: &CrsRef, reason: String) -> ReprojectError {
        ReprojectError::Transform {
            from: from.label(),
            to: self.target.label(),
            reason,
        }
    }

    /// Transform a geometry in place: PROJ works on each coordinate sequence where it lies,
    /// with no copy.
    ///
    /// ```
    /// use tuilerie_model::CrsRef;
    /// use tuilerie_reproject::Reprojector;
    /// let r = Reprojector::new(CrsRef::Epsg(2154));
    /// let mut g: geo::Geometry = geo::Point::new(2.3522, 48.8566).into(); // Paris, lon/lat
    /// r.transform(&mut g, &CrsRef::Epsg(4326)).unwrap();
    /// let geo::Geometry::Point(p) = g else { unreachable!() };
    /// assert!((p.x() - 652469.0227).abs() < 1e-3 && (p.y() - 6862035.2594).abs() < 1e-3);
    /// ```
    pub fn transform(
        &self,
        geometry: &mut Geometry<f64>,
        from: &CrsRef,
    ) -> Result<(), ReprojectError> {
        if from == &self.target {
            return Ok(());
        }
        let chain = self.chain(from)?;
        let mut run = |coords: &mut [Coord<f64>]| -> Result<(), ReprojectError> {
            for p in &chain.steps {
                p.coords(coords)
                    .map_err(|reason| self.failed(from, reason))?;
            }
            match coords.iter().find(|c| !c.x.is_finite() || !c.y.is_finite()) {
                Some(c) => Err(ReprojectError::NotFinite {
                    from: from.label(),
                    x: c.x,
                    y: c.y,
                }),
                None => Ok(()),
            }
        };
        for_each_sequence(geometry, &mut run)
    }

    /// Transform a bounding box (densified edges, so curved images are covered).
    pub fn transform_bounds(
        &self,
        from: &CrsRef,
        rect: geo::Rect<f64>,
    ) -> Result<geo::Rect<f64>, ReprojectError> {
        if from == &self.target {
            return Ok(rect);
        }
        let (min, max) = (rect.min(), rect.max());
        let n = 8;
        let mut pts = Vec::with_capacity(4 * n);
        for i in 0..n {
            let t = i as f64 / n as f64;
            let x = min.x + t * (max.x - min.x);
            let y = min.y + t * (max.y - min.y);
            pts.extend([(x, min.y), (x, max.y), (min.x, y), (max.x, y)]);
        }
        pts.push((max.x, max.y));
        self.transform_coords(from, &mut pts)?;
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (x, y) in pts {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        Ok(geo::Rect::new((x0, y0), (x1, y1)))
    }
}

/// What is done to one coordinate sequence.
type SequenceFn<'a> = dyn FnMut(&mut [Coord<f64>]) -> Result<(), ReprojectError> + 'a;

/// Call `f` on every coordinate sequence of a geometry, in place. A Rect or a Triangle is
/// first made a polygon: its projected corners are not a rectangle's min/max any more.
fn for_each_sequence(g: &mut Geometry<f64>, f: &mut SequenceFn<'_>) -> Result<(), ReprojectError> {
    match g {
        Geometry::Point(p) => f(std::slice::from_mut(&mut p.0)),
        Geometry::Line(l) => {
            f(std::slice::from_mut(&mut l.start))?;
            f(std::slice::from_mut(&mut l.end))
        }
        Geometry::LineString(l) => f(&mut l.0),
        Geometry::Polygon(p) => polygon(p, f),
        Geometry::MultiPoint(mp) => {
            let mut coords: Vec<Coord<f64>> = mp.0.iter().map(|p| p.0).collect();
            f(&mut coords)?;
            for (p, c) in mp.0.iter_mut().zip(coords) {
                p.0 = c;
            }
            Ok(())
        }
        Geometry::MultiLineString(ml) => ml.0.iter_mut().try_for_each(|l| f(&mut l.0)),
        Geometry::MultiPolygon(mp) => mp.0.iter_mut().try_for_each(|p| polygon(p, f)),
        Geometry::GeometryCollection(gc) => {
            gc.0.iter_mut().try_for_each(|g| for_each_sequence(g, f))
        }
        Geometry::Rect(r) => {
            *g = Geometry::Polygon(r.to_polygon());
            for_each_sequence(g, f)
        }
        Geometry::Triangle(t) => {
            *g = Geometry::Polygon(t.to_polygon());
            for_each_sequence(g, f)
        }
    }
}

fn polygon(p: &mut Polygon<f64>, f: &mut SequenceFn<'_>) -> Result<(), ReprojectError> {
    let mut result = Ok(());
    p.exterior_mut(|ring: &mut LineString<f64>| result = f(&mut ring.0));
    result?;
    let mut result = Ok(());
    p.interiors_mut(|rings| {
        result = rings.iter_mut().try_for_each(|ring| f(&mut ring.0));
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_mercator_to_lambert93_matches_proj() {
        // A point of Lille's OSM delivery (EPSG:3857); expected value from `cs2cs EPSG:3857 EPSG:2154`.
        let r = Reprojector::new(CrsRef::Epsg(2154));
        let mut c = [(341117.29, 6556400.2)];
        r.transform_coords(&CrsRef::Epsg(3857), &mut c).unwrap();
        assert!((c[0].0 - 704557.6665).abs() < 1e-3, "{:?}", c);
        assert!((c[0].1 - 7059414.0945).abs() < 1e-3, "{:?}", c);
    }

    #[test]
    fn unknown_crs_is_an_error_not_a_panic() {
        let r = Reprojector::new(CrsRef::Epsg(2154));
        let mut g: Geometry = geo::Point::new(1.0, 1.0).into();
        let e = r.transform(&mut g, &CrsRef::Epsg(999_999)).unwrap_err();
        assert!(e.to_string().contains("EPSG:999999"), "{e}");
    }

    #[test]
    fn cached_per_thread_and_usable_from_rayon() {
        use rayon::prelude::*;
        let r = Reprojector::new(CrsRef::Epsg(2154));
        let out: Vec<(f64, f64)> = (0..1000)
            .into_par_iter()
            .map(|i| {
                let mut c = [(2.0 + i as f64 * 1e-4, 48.0)];
                r.transform_coords(&CrsRef::Epsg(4326), &mut c).unwrap();
                c[0]
            })
            .collect();
        assert!(out.windows(2).all(|w| w[1].0 > w[0].0));
    }
}
