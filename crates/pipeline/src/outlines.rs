//! Former communes' outlines, for the extent sanity check.

use geo::Geometry;
use std::collections::HashMap;
use tuilerie_model::{CrsRef, Manifest, Value};
use tuilerie_reproject::Reprojector;

/// INSEE code → outline in the working CRS.
pub fn load(manifest: &Manifest) -> Result<HashMap<String, Geometry<f64>>, String> {
    let Some(src) = &manifest.outlines else {
        return Ok(HashMap::new());
    };
    let path = manifest.resolve(&src.path);
    let layers = tuilerie_ingest::read_delivery(&path, None).map_err(|e| e.to_string())?;
    let reprojector = Reprojector::new(manifest.working_crs.clone());
    let mut out = HashMap::new();
    for layer in layers {
        let crs = layer.crs.clone().unwrap_or(CrsRef::Epsg(4326));
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
            reprojector
                .transform(&mut g, &crs)
                .map_err(|e| format!("{}: {e}", src.path))?;
            out.insert(key, g);
        }
    }
    Ok(out)
}
