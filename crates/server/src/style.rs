//! A MapLibre style generated from a tileset's layers: fill for polygons, line for lines,
//! circle for points, a colour per theme, polygons outlined; with a glyph server
//! (`Config::glyphs`), parcels are labelled with their number from zoom 17. Without one there
//! are no labels, so the style works offline (MapLibre draws text only from glyph files).

use crate::tileset::Tileset;
use serde_json::{json, Value};

/// The colour of a theme (a stable hash colour for custom ones).
fn colour(layer: &str) -> String {
    match layer {
        "parcelles" => "#c0873f".into(),
        "batiments" => "#8c6d62".into(),
        "sections" => "#7b5ea7".into(),
        "communes" => "#444444".into(),
        "voirie" => "#e8542f".into(),
        "eau_potable" => "#1f78b4".into(),
        "assainissement" => "#6a3d9a".into(),
        "eclairage" => "#e6b800".into(),
        "telecom" => "#33a02c".into(),
        other => {
            let h = other
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            format!("hsl({}, 55%, 45%)", h % 360)
        }
    }
}

/// The style JSON of `t`, its source at `base`; labels when `glyphs` (a URL template with
/// `{fontstack}` and `{range}`) is given.
pub fn style(t: &Tileset, base: &str, glyphs: Option<&str>) -> Value {
    let mut layers = vec![json!({
        "id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}
    })];
    for l in t.vector_layers.as_array().into_iter().flatten() {
        let Some(id) = l.get("id").and_then(Value::as_str) else {
            continue;
        };
        let c = colour(id);
        let kind = l.get("geometry_type").and_then(Value::as_str).unwrap_or("");
        let src = |suffix: &str, ty: &str, paint: Value| {
            json!({"id": format!("{id}-{suffix}"), "type": ty, "source": "tuilerie",
                   "source-layer": id, "paint": paint})
        };
        match kind {
            "line" => layers.push(src("line", "line", json!({"line-color": c, "line-width": 2}))),
            "point" => layers.push(src(
                "circle",
                "circle",
                json!({"circle-color": c, "circle-radius": 4, "circle-stroke-color": "#fff", "circle-stroke-width": 1}),
            )),
            _ => {
                layers.push(src("fill", "fill", json!({"fill-color": c, "fill-opacity": 0.35})));
                layers.push(src("outline", "line", json!({"line-color": c, "line-width": 0.8})));
                if id == "parcelles" && glyphs.is_some() {
                    layers.push(json!({
                        "id": "parcelles-label", "type": "symbol", "source": "tuilerie",
                        "source-layer": "parcelles", "minzoom": 17,
                        "layout": {"text-field": ["get", "numero"], "text-size": 11,
                                   "text-font": ["Open Sans Regular"]},
                        "paint": {"text-color": "#5a3b12", "text-halo-color": "#ffffff",
                                  "text-halo-width": 1}
                    }));
                }
            }
        }
    }
    let mut style = json!({
        "version": 8,
        "name": format!("tuilerie {}", t.name),
        "center": [t.center[0], t.center[1]],
        "zoom": t.center[2],
        "sources": {"tuilerie": {"type": "vector", "url": format!("{base}/{}", t.id),
                                 "attribution": t.attribution}},
        "layers": layers,
    });
    if let Some(g) = glyphs {
        style["glyphs"] = g.into();
    }
    style
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parcels_get_labels_only_with_a_glyph_server() {
        let mut t = crate::tileset::Tileset::empty_for_tests("essonne");
        t.vector_layers = json!([{"id": "parcelles", "geometry_type": "polygon"},
                                 {"id": "voirie", "geometry_type": "line"},
                                 {"id": "eclairage", "geometry_type": "point"}]);
        let ids = |s: &Value| -> Vec<String> {
            s["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_string())
                .collect()
        };
        let offline = style(&t, "http://h", None);
        assert_eq!(
            ids(&offline),
            [
                "background",
                "parcelles-fill",
                "parcelles-outline",
                "voirie-line",
                "eclairage-circle"
            ]
        );
        assert!(offline.get("glyphs").is_none());
        let online = style(&t, "http://h", Some("https://g/{fontstack}/{range}.pbf"));
        assert!(ids(&online).contains(&"parcelles-label".to_string()));
        assert_eq!(online["glyphs"], "https://g/{fontstack}/{range}.pbf");
        assert_eq!(online["sources"]["tuilerie"]["url"], "http://h/essonne");
    }
}
