//! A feature and where it came from.

use crate::Value;
use geo::Geometry;
use serde::{Deserialize, Serialize};

/// Where a feature came from: enough to find it again in the delivery it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Provenance {
    /// INSEE code of the former commune that delivered it.
    pub commune: String,
    /// The delivery's path as written in the manifest.
    pub delivery: String,
    /// Layer name inside the delivery (for an EDIGEO delivery: `SHEET/LAYER`).
    pub layer: String,
    /// The source feature id when the format has one, else its 0-based index in the layer.
    pub source_id: String,
}

/// Names of the provenance columns written on every output feature, in this order.
pub const PROVENANCE_FIELDS: [&str; 4] = ["src_commune", "src_delivery", "src_layer", "src_id"];

impl Provenance {
    pub fn values(&self) -> [&str; 4] {
        [&self.commune, &self.delivery, &self.layer, &self.source_id]
    }

    /// `delivery[layer]#id`, the form used in error messages.
    pub fn locator(&self) -> String {
        format!(
            "{} [{}] feature {}",
            self.delivery, self.layer, self.source_id
        )
    }
}

/// One feature of the unified model: a geometry in the working CRS, attributes named after the
/// theme's schema (then the unmapped source fields), and its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub geometry: Geometry<f64>,
    pub attributes: Vec<(String, Value)>,
    pub provenance: Provenance,
}

impl Feature {
    pub fn get(&self, name: &str) -> Option<&Value> {
        get(&self.attributes, name)
    }

    pub fn set(&mut self, name: &str, value: Value) {
        set(&mut self.attributes, name, value)
    }
}

/// The value of attribute `name`, if present.
pub fn get<'a>(attributes: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Set attribute `name`, replacing its value or appending it.
pub fn set(attributes: &mut Vec<(String, Value)>, name: &str, value: Value) {
    match attributes.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = value,
        None => attributes.push((name.to_string(), value)),
    }
}
