//! What the manifest's `[tiles]` table asks of the tiles stage.
//!
//! ```toml
//! [tiles]
//! maxzoom = 18                      # guessed from the data when left out
//! attribution = "DGFiP / Etalab"
//!
//! [tiles.layers.parcelles]
//! minzoom = 12
//! fields = ["id", "section", "commune_deleguee", "sources"]   # default: every field
//! all_fields_from = 15                       # fields are written from zoom 15 on…
//! field_minzoom = { commune_deleguee = 12 }  # …except these, from their own zoom
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The deepest zoom the tiles stage accepts (a tile is then 2.4 m wide).
pub const MAX_TILE_ZOOM: u8 = 24;

/// `[tiles]`: the archive's zooms, attribution, budget and per-layer choices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileSettings {
    /// Lowest zoom (default: guessed from the extent of the data).
    pub minzoom: Option<u8>,
    /// Highest zoom (default: guessed from the size of the features).
    pub maxzoom: Option<u8>,
    /// Shown by map clients (default: the sources of the French cadastre).
    pub attribution: Option<String>,
    /// Archives to write, in the output folder; the extension picks the format
    /// (default `["tiles.pmtiles", "tiles.mbtiles"]`).
    pub archives: Option<Vec<String>>,
    /// Most bytes of one gzipped tile (default 500 000).
    pub max_tile_bytes: Option<usize>,
    /// Most features in one tile (default 200 000).
    pub max_tile_features: Option<usize>,
    /// Per layer (theme name): zooms and fields.
    #[serde(default)]
    pub layers: BTreeMap<String, LayerTileSettings>,
}

/// `[tiles.layers.<theme>]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerTileSettings {
    pub minzoom: Option<u8>,
    pub maxzoom: Option<u8>,
    /// The fields written to the tiles, in this order (default: every field of the layer).
    pub fields: Option<Vec<String>>,
    /// The zoom from which the fields not named in `field_minzoom` are written (default: the
    /// layer's minzoom): labels and ids only where they can be read keep low zooms small.
    pub all_fields_from: Option<u8>,
    /// The zoom from which each named field is written.
    #[serde(default)]
    pub field_minzoom: BTreeMap<String, u8>,
}

impl TileSettings {
    /// Problems with these settings, as (field path under `tiles`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        zoom_problems("", self.minzoom, self.maxzoom, &mut out);
        if let Some(archives) = &self.archives {
            if archives.is_empty() {
                out.push(("archives".into(), "no archive is listed".into()));
            }
            for (i, a) in archives.iter().enumerate() {
                let ext = std::path::Path::new(a)
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase);
                if !matches!(ext.as_deref(), Some("pmtiles" | "mbtiles")) {
                    out.push((
                        format!("archives[{i}]"),
                        format!("{a:?}: the extension must be .pmtiles or .mbtiles"),
                    ));
                }
            }
        }
        for (name, value) in [
            ("max_tile_bytes", self.max_tile_bytes),
            ("max_tile_features", self.max_tile_features),
        ] {
            if value == Some(0) {
                out.push((name.into(), "must be more than 0".into()));
            }
        }
        for (layer, l) in &self.layers {
            let at = format!("layers.{layer}.");
            zoom_problems(&at, l.minzoom, l.maxzoom, &mut out);
            if let Some(z) = l.all_fields_from.filter(|z| *z > MAX_TILE_ZOOM) {
                out.push((
                    format!("{at}all_fields_from"),
                    format!("zoom {z} is beyond {MAX_TILE_ZOOM}"),
                ));
            }
            for (field, z) in &l.field_minzoom {
                if *z > MAX_TILE_ZOOM {
                    out.push((
                        format!("{at}field_minzoom.{field}"),
                        format!("zoom {z} is beyond {MAX_TILE_ZOOM}"),
                    ));
                }
                if let Some(fields) = &l.fields {
                    if !fields.contains(field) {
                        out.push((
                            format!("{at}field_minzoom.{field}"),
                            format!("{field:?} is not in this layer's `fields`"),
                        ));
                    }
                }
            }
        }
        out
    }
}

fn zoom_problems(at: &str, min: Option<u8>, max: Option<u8>, out: &mut Vec<(String, String)>) {
    for (name, z) in [("minzoom", min), ("maxzoom", max)] {
        if let Some(z) = z.filter(|z| *z > MAX_TILE_ZOOM) {
            out.push((
                format!("{at}{name}"),
                format!("zoom {z} is beyond {MAX_TILE_ZOOM}"),
            ));
        }
    }
    if let (Some(a), Some(b)) = (min, max) {
        if a > b {
            out.push((
                format!("{at}minzoom"),
                format!("minzoom {a} is above maxzoom {b}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_their_problems_are_located() {
        let s: TileSettings = toml::from_str(
            "maxzoom = 18\narchives = [\"a.pmtiles\", \"b.zip\"]\n[layers.parcelles]\nminzoom = 19\nmaxzoom = 17\nfields = [\"id\"]\nfield_minzoom = { id = 15, section = 15 }",
        )
        .unwrap();
        let p = s.problems();
        let at: Vec<&str> = p.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            at,
            [
                "archives[1]",
                "layers.parcelles.minzoom",
                "layers.parcelles.field_minzoom.section"
            ],
            "{p:?}"
        );
        assert!(toml::from_str::<TileSettings>("max_zoom = 3").is_err());
        assert!(TileSettings::default().problems().is_empty());
    }
}
