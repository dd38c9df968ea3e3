//! Cached PROJ transformers.

use crate::ReprojectError;
use geo::{CoordsIter, Geometry, MapCoordsInPlace};
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
    steps: Vec<Proj>,
    description: String,
}

type CacheKey = (CrsRef, CrsRef);

thread_local! {
    /// One transformer per (source, target) per thread: `Proj` is neither `Send` nor `Sync`.
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
            let p = Proj::new_known_crs(&a.proj_definition(), &b.proj_definition(), None).map_err(
                |e| ReprojectError::Create {
                    from: a.label(),
                    to: b.label(),
                    reason: e.to_string(),
                },
            )?;
            descriptions.push(
                p.proj_info()
                    .description
                    .unwrap_or_else(|| format!("{a} → {b}")),
            );
            steps.push(p);
        }
        let chain = Rc::new(Chain {
            steps,
            description: descriptions.join(" ; "),
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
            steps: chain.description.split(" ; ").map(str::to_string).collect(),
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
            p.convert_array(coords)
                .map_err(|e| ReprojectError::Transform {
                    from: from.label(),
                    to: self.target.label(),
                    reason: e.to_string(),
                })?;
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

    /// Transform a geometry in place. All its coordinates go to PROJ in one call.
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
        // A Rect's corners are not its stored min/max once projected, nor a Triangle's
        // orientation guaranteed: make them polygons first.
        match geometry {
            Geometry::Rect(r) => *geometry = Geometry::Polygon(r.to_polygon()),
            Geometry::Triangle(t) => *geometry = Geometry::Polygon(t.to_polygon()),
            _ => {}
        }
        let mut coords: Vec<(f64, f64)> = geometry.coords_iter().map(|c| (c.x, c.y)).collect();
        self.transform_coords(from, &mut coords)?;
        // map_coords_in_place visits coordinates in coords_iter order; it wants a `Copy`
        // closure, so the cursor lives in a Cell.
        let cursor = std::cell::Cell::new(0usize);
        let (cursor, coords) = (&cursor, &coords);
        geometry.map_coords_in_place(|c| {
            let i = cursor.get();
            cursor.set(i + 1);
            coords.get(i).map_or(c, |&(x, y)| geo::Coord { x, y })
        });
        Ok(())
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
