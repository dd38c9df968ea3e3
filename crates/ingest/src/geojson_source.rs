//! Native GeoJSON reader: plain or gzipped, a FeatureCollection, a single Feature or Geometry,
//! or a sequence of features one per line (RFC 8142 GeoJSONSeq, newline-delimited GeoJSON).
//! Honours the legacy (2008) `crs` member; without it, RFC 7946 says WGS84 lon/lat.

use crate::{FieldInfo, IngestError, SourceFeature, SourceLayer};
use flate2::read::GzDecoder;
use serde_json::{Map, Value as Json};
use std::io::Read;
use std::path::Path;
use tuilerie_model::{CrsRef, Value};

pub(crate) fn read(path: &Path) -> Result<SourceLayer, IngestError> {
    let raw = std::fs::read(path).map_err(|e| IngestError::unreadable(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| IngestError::unreadable(path, format!("gzip: {e}")))?;
        out
    } else {
        raw
    };
    let mut warnings = Vec::new();
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // GeoJSON must be UTF-8; some exporters write Latin-1. Decode it as such, say so.
            warnings.push(format!(
                "file is not UTF-8 (first bad byte at offset {}); decoded as ISO-8859-1",
                e.utf8_error().valid_up_to()
            ));
            e.into_bytes().iter().map(|&b| b as char).collect()
        }
    };
    let body = text.trim_start_matches(['\u{feff}', ' ', '\n', '\r', '\t']);
    let mut layer = SourceLayer::new(crate::format::stem(path), "GeoJSON");
    layer.warnings = warnings;
    if crate::format::is_sequence_name(path) || looks_like_sequence(body) {
        read_sequence(body, &mut layer);
    } else {
        let (rest, streamed) = parse_streaming(body, &mut layer)
            .map_err(|e| IngestError::unreadable(path, format!("invalid JSON: {e}")))?;
        read_document(rest, streamed, &mut layer)
            .map_err(|reason| IngestError::unreadable(path, reason))?;
    }
    let crs_unreadable = layer
        .warnings
        .iter()
        .any(|w| w.starts_with("unreadable legacy crs"));
    if layer.crs.is_none() && !crs_unreadable {
        layer.crs = Some(CrsRef::Epsg(4326));
    }
    collect_fields(&mut layer);
    Ok(layer)
}

/// Without a sequence extension: a sequence starts with the RS character, or its first line is
/// a whole Feature and more lines follow.
fn looks_like_sequence(body: &str) -> bool {
    if body.starts_with('\u{1e}') {
        return true;
    }
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    lines.next().is_some()
        && serde_json::from_str::<Json>(first.trim_start_matches('\u{1e}'))
            .is_ok_and(|v| v.get("type").and_then(Json::as_str) == Some("Feature"))
}

fn read_sequence(body: &str, layer: &mut SourceLayer) {
    let mut index = 0u64;
    for (lineno, line) in body.split(['\n', '\u{1e}']).enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let feature = match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(obj)) => feature_from_object(obj, index),
            Ok(_) => broken(index, format!("line {}: not a GeoJSON object", lineno + 1)),
            Err(e) => broken(index, format!("line {}: invalid JSON: {e}", lineno + 1)),
        };
        layer.features.push(feature);
        index += 1;
    }
}

fn broken(index: u64, reason: String) -> SourceFeature {
    SourceFeature {
        index,
        id: None,
        geometry: Err(reason),
        repairs: Vec::new(),
        notes: Vec::new(),
        attributes: Vec::new(),
    }
}

/// Parse a document, streaming the elements of its `features` array into the layer one at a
/// time (a whole FeatureCollection as a `serde_json::Value` takes about 30 times the file's
/// size in memory); every other top-level member is returned as JSON, with whether a
/// `features` array was seen.
fn parse_streaming(
    body: &str,
    layer: &mut SourceLayer,
) -> Result<(Map<String, Json>, bool), serde_json::Error> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    struct Top<'a>(&'a mut SourceLayer);
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = (Map<String, Json>, bool);
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a GeoJSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut rest = Map::new();
            let mut streamed = false;
            while let Some(key) = m.next_key::<String>()? {
                if key == "features" && !streamed {
                    m.next_value_seed(Features(&mut *self.0))?;
                    streamed = true;
                } else {
                    let v: Json = m.next_value()?;
                    rest.insert(key, v);
                }
            }
            Ok((rest, streamed))
        }
    }

    struct Features<'a>(&'a mut SourceLayer);
    impl<'de> DeserializeSeed<'de> for Features<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Features<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of features")
        }
        fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<(), S::Error> {
            let mut i = 0u64;
            while let Some(f) = s.next_element::<Json>()? {
                self.0.features.push(match f {
                    Json::Object(o) => feature_from_object(o, i),
                    _ => broken(i, "feature is not a JSON object".into()),
                });
                i += 1;
            }
            Ok(())
        }
    }

    let mut de = serde_json::Deserializer::from_str(body);
    let out = de.deserialize_map(Top(layer))?;
    de.end()?;
    Ok(out)
}

fn read_document(
    obj: Map<String, Json>,
    streamed_features: bool,
    layer: &mut SourceLayer,
) -> Result<(), String> {
    if let Some(crs) = obj.get("crs") {
        layer.crs = legacy_crs(crs);
        if layer.crs.is_none() {
            layer.warnings.push(format!(
                "unreadable legacy crs member {crs}: set crs = \"EPSG:…\" in the manifest"
            ));
        }
    }
    if let Some(n) = obj.get("name").and_then(Json::as_str) {
        if !n.is_empty() {
            layer.name = n.to_string();
        }
    }
    match obj.get("type").and_then(Json::as_str) {
        Some("FeatureCollection") if streamed_features => {}
        Some("FeatureCollection") => {
            return Err("FeatureCollection without a features array".into())
        }
        Some("Feature") => layer.features.push(feature_from_object(obj, 0)),
        Some(_) => {
            // A bare geometry.
            let mut wrapper = Map::new();
            wrapper.insert("geometry".into(), Json::Object(obj));
            layer.features.push(feature_from_object(wrapper, 0));
        }
        None => return Err("no \"type\" member: not GeoJSON".into()),
    }
    Ok(())
}

/// `{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}}` (GeoJSON 2008).
fn legacy_crs(crs: &Json) -> Option<CrsRef> {
    let name = crs.pointer("/properties/name").and_then(Json::as_str)?;
    Some(CrsRef::parse(name))
}

fn feature_from_object(mut obj: Map<String, Json>, index: u64) -> SourceFeature {
    let id = match obj.get("id") {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut attributes = Vec::new();
    if let Some(Json::Object(props)) = obj.remove("properties") {
        for (k, v) in props {
            attributes.push((k, json_value(v)));
        }
    }
    // Like GDAL: a feature's `id` member is also an attribute when no property is named so
    // (Etalab exports carry the parcel id only there).
    if let Some(i) = &id {
        if !attributes.iter().any(|(k, _)| k == "id") {
            attributes.insert(0, ("id".to_string(), Value::Text(i.clone())));
        }
    }
    let mut repairs = Vec::new();
    let geometry = match obj.remove("geometry") {
        None | Some(Json::Null) => Err("no geometry (null)".to_string()),
        Some(g) => parse_geometry(g, &mut repairs),
    };
    SourceFeature {
        index,
        id,
        geometry,
        repairs,
        notes: Vec::new(),
        attributes,
    }
}

fn json_value(v: Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        other => Value::Text(other.to_string()),
    }
}

/// Parse with the `geojson` crate, after closing rings that the source left open (the crate
/// would close them silently; we want to say so).
fn parse_geometry(mut g: Json, repairs: &mut Vec<String>) -> Result<geo::Geometry<f64>, String> {
    close_rings(&mut g, repairs);
    let gj = geojson::Geometry::from_json_value(g)
        .map_err(|e| format!("invalid GeoJSON geometry: {e}"))?;
    geo::Geometry::<f64>::try_from(gj).map_err(|e| format!("unsupported geometry: {e}"))
}

fn close_rings(g: &mut Json, repairs: &mut Vec<String>) {
    let kind = g
        .get("type")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let close = |rings: &mut Json, repairs: &mut Vec<String>| {
        if let Json::Array(rings) = rings {
            for (ri, ring) in rings.iter_mut().enumerate() {
                if let Json::Array(pts) = ring {
                    // Compare as numbers: `[1, 2]` and `[1.0, 2.0]` are the same point.
                    let xy = |p: Option<&Json>| -> Option<(f64, f64)> {
                        let a = p?.as_array()?;
                        Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
                    };
                    if pts.len() >= 2 && xy(pts.first()) != xy(pts.last()) {
                        let first = pts[0].clone();
                        pts.push(first);
                        repairs.push(format!("ring {ri} was not closed; closed it"));
                    }
                }
            }
        }
    };
    match kind.as_str() {
        "Polygon" => {
            if let Some(c) = g.get_mut("coordinates") {
                close(c, repairs);
            }
        }
        "MultiPolygon" => {
            if let Some(Json::Array(polys)) = g.get_mut("coordinates") {
                for p in polys {
                    close(p, repairs);
                }
            }
        }
        "GeometryCollection" => {
            if let Some(Json::Array(gs)) = g.get_mut("geometries") {
                for sub in gs {
                    close_rings(sub, repairs);
                }
            }
        }
        _ => {}
    }
}

/// Fields in order of first appearance, typed by the JSON types seen.
fn collect_fields(layer: &mut SourceLayer) {
    let mut fields: Vec<FieldInfo> = Vec::new();
    for f in &layer.features {
        for (k, v) in &f.attributes {
            let kind = match v {
                Value::Null => None,
                Value::Bool(_) => Some("Boolean"),
                Value::Int(_) => Some("Integer"),
                Value::Real(_) => Some("Real"),
                _ => Some("String"),
            };
            match fields.iter_mut().find(|fi| &fi.name == k) {
                Some(fi) => {
                    if let Some(kind) = kind {
                        if fi.kind == "Null" {
                            fi.kind = kind.into();
                        } else if fi.kind != kind {
                            fi.kind = if (fi.kind == "Integer" && kind == "Real")
                                || (fi.kind == "Real" && kind == "Integer")
                            {
                                "Real".into()
                            } else {
                                "String".into()
                            };
                        }
                    }
                }
                None => fields.push(FieldInfo {
                    name: k.clone(),
                    kind: kind.unwrap_or("Null").into(),
                }),
            }
        }
    }
    layer.fields = fields;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(content: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(content)
            .unwrap();
        (dir, p)
    }

    #[test]
    fn legacy_crs_member_is_honoured() {
        let (_d, p) = write(
            br#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},
               "features":[{"type":"Feature","properties":{"a":1},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#,
            "x.geojson",
        );
        let l = read(&p).unwrap();
        assert_eq!(l.crs, Some(CrsRef::Epsg(3857)));
        assert_eq!(l.features.len(), 1);
    }

    #[test]
    fn sequence_isolates_a_broken_line() {
        let (_d, p) = write(
            b"{\"type\":\"Feature\",\"id\":\"a\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[3,4]}}\n",
            "x.geojsonl",
        );
        let l = read(&p).unwrap();
        assert_eq!(l.features.len(), 3);
        assert!(l.features[0].geometry.is_ok());
        assert!(l.features[1]
            .geometry
            .as_ref()
            .unwrap_err()
            .contains("line 2"));
        assert!(l.features[2].geometry.is_ok());
        assert_eq!(l.features[0].source_id(), "a");
    }

    #[test]
    fn closed_ring_with_mixed_number_forms_is_not_repaired() {
        let (_d, p) = write(
            br#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0.0,0.0]]]}}"#,
            "x.json",
        );
        let l = read(&p).unwrap();
        assert!(
            l.features[0].repairs.is_empty(),
            "{:?}",
            l.features[0].repairs
        );
    }

    #[test]
    fn unreadable_legacy_crs_is_not_guessed() {
        let (_d, p) = write(
            br#"{"type":"FeatureCollection","crs":{"type":"link","properties":{"href":"x"}},"features":[]}"#,
            "x.geojson",
        );
        let l = read(&p).unwrap();
        assert_eq!(l.crs, None);
        assert!(l.warnings[0].contains("unreadable legacy crs"));
    }

    #[test]
    fn a_broken_first_line_of_a_sequence_file_is_rejected_alone() {
        let (_d, p) = write(
            b"{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[3,4]}}\n",
            "x.geojsonl",
        );
        let l = read(&p).unwrap();
        assert_eq!(l.features.len(), 2);
        assert!(l.features[0].geometry.is_err() && l.features[1].geometry.is_ok());
    }

    #[test]
    fn unclosed_ring_is_closed_and_reported() {
        let (_d, p) = write(
            br#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}"#,
            "x.json",
        );
        let l = read(&p).unwrap();
        assert_eq!(
            l.features[0].repairs,
            vec!["ring 0 was not closed; closed it".to_string()]
        );
    }

    #[test]
    fn latin1_is_decoded_with_a_warning() {
        let (_d, p) = write(
            b"{\"type\":\"Feature\",\"properties\":{\"nom\":\"All\xe9e\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}",
            "x.json",
        );
        let l = read(&p).unwrap();
        assert_eq!(l.features[0].attributes[0].1, Value::Text("Allée".into()));
        assert!(l.warnings[0].contains("ISO-8859-1"));
    }
}
