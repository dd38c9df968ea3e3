//! Former communes' outlines, for the extent sanity check.

use geo::{BoundingRect, Rect};
use std::collections::HashMap;
use tuilerie_model::{Manifest, Value};
use tuilerie_reproject::{sanity::union, Reprojector};

/// INSEE code → extent of its outline in the working CRS. A commune drawn as several features
/// (islands, enclaves) gets the extent of them all.
pub fn load(manifest: &Manifest) -> Result<HashMap<String, Rect<f64>>, String> {
    let Some(src) = &manifest.outlines else {
        return Ok(HashMap::new());
    };
    let path = manifest.resolve(&src.path);
    let layers = tuilerie_ingest::read_delivery(&path, None).map_err(|e| e.to_string())?;
    let reprojector = Reprojector::new(manifest.working_crs.clone());
    let mut out: HashMap<String, Rect<f64>> = HashMap::new();
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
            reprojector
                .transform(&mut g, &crs)
                .map_err(|e| format!("{}: {e}", src.path))?;
            let Some(r) = g.bounding_rect() else { continue };
            out.entry(key)
                .and_modify(|e| *e = union(e, &r))
                .or_insert(r);
        }
    }
    Ok(out)
}
