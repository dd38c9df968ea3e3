//! A layer to tile: its features in Web Mercator, its zooms and which fields go into the tiles
//! at which zoom; and the `vector_layers` description map clients read from the metadata.

use geo::{BoundingRect, Geometry, Rect};
use serde_json::{json, Map, Value as Json};
use tuilerie_model::{Feature, Value};

/// A field written to the tiles from zoom `minzoom` on.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    pub name: String,
    pub minzoom: u8,
}

/// One layer of the tileset.
#[derive(Debug, Clone)]
pub struct TileLayer {
    pub name: String,
    /// Features in Web Mercator metres (EPSG:3857).
    pub features: Vec<Feature>,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Fields in the order they are written.
    pub fields: Vec<FieldRule>,
    /// Each feature's identity across builds (a digest of its content), when known: a tile
    /// with many shapes then keeps each feature's encoded geometry for the next build
    /// ([`crate::generate::TileGeometries`]). Empty: unknown.
    pub keys: Vec<crate::generate::FeatureKey>,
}

impl TileLayer {
    /// A layer shown at every zoom of `minzoom..=maxzoom` with every field it has, each from
    /// `minzoom` on (what `tuilerie tile` does without further options, like tippecanoe).
    pub fn with_all_fields(
        name: impl Into<String>,
        features: Vec<Feature>,
        minzoom: u8,
        maxzoom: u8,
    ) -> TileLayer {
        let fields = field_names(&features)
            .into_iter()
            .map(|name| FieldRule { name, minzoom })
            .collect();
        TileLayer {
            name: name.into(),
            features,
            minzoom,
            maxzoom,
            fields,
            keys: Vec::new(),
        }
    }

    /// Whether the layer is drawn at zoom `z`.
    pub fn shows(&self, z: u8) -> bool {
        (self.minzoom..=self.maxzoom).contains(&z)
    }

    /// The envelope of all features, Web Mercator metres.
    pub fn bounds(&self) -> Option<Rect<f64>> {
        self.features
            .iter()
            .filter_map(|f| f.geometry.bounding_rect())
            .reduce(crate::archive::union)
    }

    /// The `vector_layers` entry: id, fields with their MVT types, zooms, geometry kind.
    pub fn vector_layer(&self) -> Json {
        // The fields some tile holds: written from a zoom the layer reaches, with a value.
        let mut fields = Map::new();
        for rule in self.fields.iter().filter(|r| r.minzoom <= self.maxzoom) {
            if let Some(t) = field_type(&self.features, &rule.name) {
                fields.insert(rule.name.clone(), t.into());
            }
        }
        let mut entry = json!({
            "id": self.name,
            "fields": fields,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
        });
        if let Some(kind) = geometry_kind(&self.features) {
            entry["geometry_type"] = kind.into();
        }
        entry
    }
}

/// Every attribute name used by the features, in first-seen order.
pub fn field_names(features: &[Feature]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in features {
        for (name, _) in &f.attributes {
            if !seen.contains(name.as_str()) {
                seen.insert(name.clone());
                out.push(name.clone());
            }
        }
    }
    out
}

/// The MVT type of a field as TileJSON names it: `Number`, `Boolean` or `String` (dates are
/// written as ISO text); a field whose values disagree is `String`; `None` when no feature has
/// a value for it (MVT has no nulls: the field is in no tile).
fn field_type(features: &[Feature], name: &str) -> Option<&'static str> {
    let mut kind = None;
    for v in features.iter().filter_map(|f| f.get(name)) {
        let k = match v {
            Value::Null => continue,
            Value::Int(_) | Value::Real(_) => "Number",
            Value::Bool(_) => "Boolean",
            _ => "String",
        };
        match kind {
            None => kind = Some(k),
            Some(prev) if prev != k => return Some("String"),
            _ => {}
        }
    }
    kind
}

/// `polygon`, `line` or `point` when every feature is of that kind.
fn geometry_kind(features: &[Feature]) -> Option<&'static str> {
    let kind = |g: &Geometry<f64>| match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) => Some("point"),
        Geometry::Line(_) | Geometry::LineString(_) | Geometry::MultiLineString(_) => Some("line"),
        Geometry::Polygon(_)
        | Geometry::MultiPolygon(_)
        | Geometry::Rect(_)
        | Geometry::Triangle(_) => Some("polygon"),
        Geometry::GeometryCollection(_) => None,
    };
    let mut kinds = features.iter().map(|f| kind(&f.geometry));
    let first = kinds.next()??;
    kinds.all(|k| k == Some(first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuilerie_model::Provenance;

    fn feature(g: Geometry<f64>, attrs: Vec<(&str, Value)>) -> Feature {
        Feature {
            geometry: g,
            attributes: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn vector_layer_lists_fields_with_types_and_zooms() {
        let p = |x: f64| Geometry::Point(geo::Point::new(x, 0.0));
        let layer = TileLayer::with_all_fields(
            "eclairage",
            vec![
                feature(
                    p(0.0),
                    vec![("id", Value::Int(1)), ("type", Value::Text("LED".into()))],
                ),
                feature(
                    p(1.0),
                    vec![
                        ("id", Value::Null),
                        ("hauteur", Value::Real(6.5)),
                        ("mixed", Value::Int(2)),
                    ],
                ),
                feature(
                    p(2.0),
                    vec![
                        ("mixed", Value::Text("x".into())),
                        ("ok", Value::Bool(true)),
                    ],
                ),
            ],
            12,
            18,
        );
        let v = layer.vector_layer();
        assert_eq!(v["id"], "eclairage");
        assert_eq!(v["minzoom"], 12);
        assert_eq!(v["geometry_type"], "point");
        let fields = v["fields"].as_object().unwrap();
        let mut names: Vec<&String> = fields.keys().collect();
        names.sort();
        assert_eq!(names, ["hauteur", "id", "mixed", "ok", "type"]);
        assert_eq!(fields["id"], "Number");
        assert_eq!(fields["hauteur"], "Number");
        assert_eq!(fields["mixed"], "String");
        assert_eq!(fields["ok"], "Boolean");
        assert_eq!(fields["type"], "String");
        // Not listed: a field no feature has a value for, a field from beyond the layer's
        // deepest zoom — no tile holds them.
        let mut layer = layer;
        layer.fields[1].minzoom = 19; // "type"
        layer.fields.push(FieldRule {
            name: "absent".into(),
            minzoom: 12,
        });
        let v = layer.vector_layer();
        let mut names: Vec<&String> = v["fields"].as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["hauteur", "id", "mixed", "ok"]);
        assert_eq!(
            layer.bounds().unwrap(),
            Rect::new(
                geo::coord! { x: 0.0, y: 0.0 },
                geo::coord! { x: 2.0, y: 0.0 }
            )
        );
    }
}
