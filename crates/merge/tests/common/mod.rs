//! Helpers shared by the merge crate's tests: a two-commune manifest and synthetic features.
#![allow(dead_code)]

use geo::{polygon, Geometry};
use std::collections::BTreeMap;
use std::path::Path;
use tuilerie_merge::{merge_theme, MergeContext, ThemeMerge};
use tuilerie_model::{Feature, Manifest, Provenance, Theme, Value};

/// A Lambert-93 origin, so that the tests see real coordinate magnitudes.
pub const X0: f64 = 650_000.0;
pub const Y0: f64 = 6_840_000.0;

/// Communes 91027 (the kept code) and 91326, plus `extra` TOML.
pub fn manifest(extra: &str) -> Manifest {
    let text = format!(
        r#"
        [commune_nouvelle]
        insee = "91027"
        nom = "Nouvelle"
        [[communes]]
        insee = "91027"
        nom = "A"
        [[communes.deliveries]]
        path = "a.geojson"
        theme = "parcelles"
        [[communes]]
        insee = "91326"
        nom = "B"
        [[communes.deliveries]]
        path = "b.geojson"
        theme = "parcelles"
        {extra}
    "#
    );
    Manifest::parse(&text, Path::new(".")).unwrap()
}

/// Feature `n` delivered by `commune` (one delivery per commune).
pub fn feature(commune: &str, n: usize, geometry: Geometry, attrs: &[(&str, Value)]) -> Feature {
    Feature {
        geometry,
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        provenance: Provenance {
            commune: commune.into(),
            delivery: format!("{commune}.geojson"),
            layer: "l".into(),
            source_id: n.to_string(),
        },
    }
}

/// A `w` × `h` rectangle at (`x`, `y`) from the origin.
pub fn rect(x: f64, y: f64, w: f64, h: f64) -> Geometry {
    polygon![(x: X0 + x, y: Y0 + y), (x: X0 + x + w, y: Y0 + y), (x: X0 + x + w, y: Y0 + y + h), (x: X0 + x, y: Y0 + y + h)].into()
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Merge a theme with the given outlines.
pub fn run(
    theme: Theme,
    features: Vec<Feature>,
    m: &Manifest,
    outlines: &BTreeMap<String, geo::MultiPolygon<f64>>,
) -> ThemeMerge {
    merge_theme(
        &theme,
        features,
        &MergeContext {
            manifest: m,
            outlines,
        },
    )
}
