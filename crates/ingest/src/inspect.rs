//! What `tuilerie inspect FILE` shows: per layer, what a GIS expert checks first.

use crate::{edigeo, gdal_source, Format, IngestError};
use gdal::vector::LayerAccess;
use serde::Serialize;
use std::path::Path;

/// One layer's summary.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub driver: String,
    pub geometry_type: String,
    /// `EPSG:xxxx`, or the CRS name when it has no code, or `none`.
    pub crs: String,
    /// The CRS as the pipeline refers to it.
    #[serde(skip)]
    pub crs_ref: Option<tuilerie_model::CrsRef>,
    pub feature_count: u64,
    /// [minx, miny, maxx, maxy] in the layer's CRS.
    pub extent: Option<[f64; 4]>,
    pub fields: Vec<crate::FieldInfo>,
}

/// Summarise every layer of a file (every layer of every sheet for EDIGEO).
pub fn inspect(path: &Path) -> Result<Vec<LayerSummary>, IngestError> {
    if !path.exists() {
        return Err(IngestError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let format = Format::detect(path);
    if format == Format::Edigeo {
        let mut out = Vec::new();
        for sheet in edigeo::sheets(path)? {
            let ex = edigeo::extract(&sheet)?;
            for mut l in summarise(&ex.thf)? {
                l.name = format!("{}/{}", edigeo::sheet_name(&sheet), l.name);
                out.push(l);
            }
        }
        return Ok(out);
    }
    summarise(&format.gdal_path(path))
}

fn summarise(path: &Path) -> Result<Vec<LayerSummary>, IngestError> {
    let ds = gdal_source::open(path)?;
    let driver = ds.driver().short_name();
    let mut out = Vec::new();
    for mut layer in ds.layers() {
        let crs_ref = gdal_source::layer_crs(&layer);
        let crs = crs_ref
            .as_ref()
            .map(|c| c.label())
            .unwrap_or_else(|| "none".into());
        let extent = layer
            .get_extent()
            .ok()
            .map(|e| [e.MinX, e.MinY, e.MaxX, e.MaxY]);
        // Drivers that cannot count cheaply (OSM) say -1: count by reading.
        let feature_count = match layer.try_feature_count() {
            Some(n) => n,
            None => layer.features().count() as u64,
        };
        out.push(LayerSummary {
            name: layer.name(),
            driver: driver.clone(),
            geometry_type: gdal::vector::geometry_type_to_name(layer.defn().geometry_type()),
            crs,
            crs_ref,
            feature_count,
            extent,
            fields: gdal_source::field_infos(&layer).0,
        });
    }
    Ok(out)
}
