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
    /// Geometry problems repaired while reading (e.g. an unclosed ring closed).
    pub repairs: Vec<String>,
    /// Other remarks on the feature that changed nothing of its geometry (e.g. text
    /// re-decoded from ISO-8859-1).
    pub notes: Vec<String>,
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
    /// How many features the source says it holds, when it says so cheaply (FlatGeobuf
    /// header, most GDAL drivers): reading fewer is an error, not a silent loss.
    pub declared_count: Option<u64>,
    /// Why reading stopped before the end, when it did.
    pub read_error: Option<String>,
}

impl SourceLayer {
    /// An empty layer, to be filled by a reader.
    pub fn new(name: impl Into<String>, driver: impl Into<String>) -> Self {
        SourceLayer {
            name: name.into(),
            driver: driver.into(),
            crs: None,
            fields: Vec::new(),
            features: Vec::new(),
            warnings: Vec::new(),
            declared_count: None,
            read_error: None,
        }
    }

    /// `Some(reason)` when fewer features were read than the source holds.
    pub fn shortfall(&self) -> Option<String> {
        let read = self.features.len() as u64;
        match (&self.read_error, self.declared_count) {
            (Some(e), Some(n)) => Some(format!("read {read} of {n} features, then: {e}")),
            (Some(e), None) => Some(format!("read {read} features, then: {e}")),
            (None, Some(n)) if read < n => {
                Some(format!("read {read} of the {n} features the file declares"))
            }
            _ => None,
        }
    }
}
