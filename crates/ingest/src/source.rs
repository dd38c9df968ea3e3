//! What a reader returns: a layer as the source has it.

use geo::Geometry;
use tuilerie_model::{CrsRef, Value};

/// A field as declared by the source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldInfo {
    pub name: String,
    /// The source's own type name (`String`, `Integer64`, `Date`…).
    pub kind: String,
}

/// One feature as read, before mapping and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFeature {
    /// 0-based position in the layer.
    pub index: u64,
    /// The source's own id (GeoJSON `id`, OGR FID), when it has one.
    pub id: Option<String>,
    /// `Err` carries why the geometry could not be read at all.
    pub geometry: Result<Geometry<f64>, String>,
    /// Problems seen while reading that were repaired on the way (e.g. an unclosed ring).
    pub repairs: Vec<String>,
    pub attributes: Vec<(String, Value)>,
}

impl SourceFeature {
    /// The id to record in provenance: the source id, else the index.
    pub fn source_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| self.index.to_string())
    }
}

/// A layer as read.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLayer {
    pub name: String,
    /// The driver that read it (`GeoJSON`, `FlatGeobuf`, or GDAL's driver name).
    pub driver: String,
    pub crs: Option<CrsRef>,
    pub fields: Vec<FieldInfo>,
    pub features: Vec<SourceFeature>,
    /// Layer-level problems that were worked around (e.g. text re-decoded from Latin-1).
    pub warnings: Vec<String>,
}
