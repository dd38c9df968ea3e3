//! Former communes' outlines: for the extent sanity check, and for the merge's boundary QA
//! and commune-déléguée assignment.

use geo::{BoundingRect, Geometry, MultiPolygon, Rect};
use std::collections::{BTreeMap, HashMap};
use tuilerie_model::{Manifest, Value};
use tuilerie_reproject::{sanity::union, Reprojector};

/// INSEE code → outline in the working CRS, for the communes of the merger only. A commune
/// drawn as several features (islands, enclaves) gets all of its polygons.
pub fn load(manifest: &Manifest) -> Result<BTreeMap<String, MultiPolygon<f64>>, String> {
    let Some(src) = &manifest.outlines else {
        return Ok(BTreeMap::new());
    };
    let path = manifest.resolve(&src.path);
    let layers = tuilerie_ingest::read_delivery(&path, None).map_err(|e| e.to_string())?;
    let reprojector = Reprojector::new(manifest.working_crs.clone());
    let mut out: BTreeMap<String, MultiPolygon<f64>> = BTreeMap::new();
    for layer in layers {
        let Some(crs) = layer.crs.clone() else {
            return Err(format!(
                "{}: layer {} declares no CRS",
                src.path, layer.name
            ));
        };
        for f in layer.features {
            let key = f
                .attributes
                .iter()
                .find(|(n, _)| n == &src.key)
                .and_then(|(_, v)| match v {
                    Value::Null => None,
                    v => v.as_text(),
                });
            let (Some(key), Ok(mut g)) = (key, f.geometry) else {
                continue;
            };
            // The file may hold a whole département or France: keep the merger's communes.
            if manifest.commune(&key).is_none() {
                continue;
            }
            reprojector
                .transform(&mut g, &crs)
                .map_err(|e| format!("{}: {e}", src.path))?;
            let polygons = match g {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(m) => m.0,
                _ => {
                    return Err(format!(
                        "{}: the outline of {key} is not a polygon",
                        src.path
                    ))
                }
            };
            out.entry(key)
                .or_insert_with(|| MultiPolygon(Vec::new()))
                .0
                .extend(polygons);
        }
    }
    Ok(out)
}

/// The extent of each outline.
pub fn extents(outlines: &BTreeMap<String, MultiPolygon<f64>>) -> HashMap<String, Rect<f64>> {
    outlines
        .iter()
        .filter_map(|(k, m)| {
            let r =
                m.0.iter()
                    .filter_map(|p| p.bounding_rect())
                    .reduce(|a, b| union(&a, &b))?;
            Some((k.clone(), r))
        })
        .collect()
}
