//! Cutting a zoom's shapes into tiles, tiles in parallel.
//!
//! Every shape the zoom's cut keeps is listed against the tiles its envelope (plus the buffer)
//! touches; the list is sorted by tile and each tile is built on its own thread: its shapes
//! shifted into the tile's pixel space, clipped, snapped, repaired and encoded
//! ([`crate::encode`]), then gzipped, ready for the archive.

use crate::budget::{Cut, Measure};
use crate::encode::{encode_geometry, encode_tile, LayerBuilder, TileError};
use crate::gzip::gzip;
use crate::layer::TileLayer;
use crate::shapes::Shape;
use crate::tile::TileId;
use crate::TileOptions;
use geo::{Geometry, MapCoords};
use geozero::mvt::Message;
use rayon::prelude::*;
use std::collections::HashSet;
use tuilerie_model::{Feature, Value};

/// A tile with at least this many shapes has their geometries encoded in parallel.
const PARALLEL_SHAPES: usize = 1024;

/// A finished tile.
#[derive(Debug)]
pub struct BuiltTile {
    pub tile: TileId,
    /// Gzipped MVT.
    pub gz: Vec<u8>,
    pub features: usize,
    /// (layer, features, uncompressed bytes), for layers with features.
    pub layers: Vec<(String, usize, usize)>,
    /// The shapes cut into this tile (indices into the zoom's shapes).
    pub members: Vec<u32>,
}

impl BuiltTile {
    pub fn measure(&self) -> Measure {
        Measure {
            bytes: self.gz.len(),
            features: self.features,
        }
    }
}

/// The numeric id of a feature for MVT, when its `id` is an unsigned integer: an integer, a
/// whole real (Shapefiles store integers as reals), or a text that is exactly the number's
/// digits (`"0071"` is a text id, not 71).
pub fn feature_id(f: &Feature) -> Option<u64> {
    match f.get("id") {
        Some(Value::Int(i)) => u64::try_from(*i).ok(),
        Some(Value::Real(r)) if r.fract() == 0.0 && *r >= 0.0 && *r < 2f64.powi(53) => {
            Some(*r as u64)
        }
        Some(Value::Text(t)) => t.parse::<u64>().ok().filter(|n| n.to_string() == *t),
        _ => None,
    }
}

/// The tiles of zoom `z` from the zoom's shapes, in (y, x) order; empty tiles are left out.
pub fn build_zoom(
    layers: &[TileLayer],
    shapes: &[Shape],
    z: u8,
    options: &TileOptions,
    cut: &Cut,
) -> Result<Vec<BuiltTile>, TileError> {
    build_zoom_in(layers, shapes, z, options, cut, None)
}

/// [`build_zoom`], only the tiles `(x, y)` of `only` when given (an incremental rebuild).
pub fn build_zoom_in(
    layers: &[TileLayer],
    shapes: &[Shape],
    z: u8,
    options: &TileOptions,
    cut: &Cut,
    only: Option<&HashSet<(u32, u32)>>,
) -> Result<Vec<BuiltTile>, TileError> {
    let extent = f64::from(options.extent);
    let margin = f64::from(options.buffer);
    let last = ((1u64 << z) - 1) as f64;
    let index = |v: f64| (v / extent).floor().clamp(0.0, last) as u32;
    let mut entries: Vec<(u32, u32, u32)> = Vec::new();
    for (si, s) in shapes.iter().enumerate() {
        if !cut.keeps(s) {
            continue;
        }
        let (x0, x1) = (
            index(s.bbox.min().x - margin),
            index(s.bbox.max().x + margin),
        );
        let (y0, y1) = (
            index(s.bbox.min().y - margin),
            index(s.bbox.max().y + margin),
        );
        for y in y0..=y1 {
            entries.extend(
                (x0..=x1)
                    .filter(|&x| only.is_none_or(|o| o.contains(&(x, y))))
                    .map(|x| (y, x, si as u32)),
            );
        }
    }
    entries.par_sort_unstable();
    let groups: Vec<&[(u32, u32, u32)]> =
        entries.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)).collect();
    let built: Vec<Result<Option<BuiltTile>, TileError>> = groups
        .par_iter()
        .map(|group| build_tile(layers, shapes, z, options, group))
        .collect();
    built.into_iter().filter_map(Result::transpose).collect()
}

/// One tile from its entries (all of the same tile).
fn build_tile(
    layers: &[TileLayer],
    shapes: &[Shape],
    z: u8,
    options: &TileOptions,
    group: &[(u32, u32, u32)],
) -> Result<Option<BuiltTile>, TileError> {
    let (y, x) = (group[0].0, group[0].1);
    let tile = TileId { z, x, y };
    let (dx, dy) = (
        f64::from(x) * f64::from(options.extent),
        f64::from(y) * f64::from(options.extent),
    );
    let mut builders: Vec<LayerBuilder> = layers
        .iter()
        .map(|l| LayerBuilder::new(&l.name, options.extent, options.buffer))
        .collect();
    // The geometries first (clip, snap, repair, encode: most of the work, and a pure function
    // of each shape), on several threads in a tile with many shapes — the low zooms' few tiles
    // hold every feature, and would otherwise keep one core busy while the other waits; then
    // ids and tags, in order.
    let encode = |&(_, _, si): &(u32, u32, u32)| {
        let local: Geometry<f64> = shapes[si as usize]
            .geometry(layers, z, options)
            .map_coords(|c| geo::coord! { x: c.x - dx, y: c.y - dy });
        encode_geometry(&local, options.extent, options.buffer)
    };
    let encoded: Vec<Result<Option<geozero::mvt::tile::Feature>, TileError>> =
        if group.len() >= PARALLEL_SHAPES {
            group.par_iter().with_min_len(256).map(encode).collect()
        } else {
            group.iter().map(encode).collect()
        };
    let mut members = Vec::with_capacity(group.len());
    for (&(_, _, si), feature) in group.iter().zip(encoded) {
        let Some(feature) = feature? else {
            continue;
        };
        let s = &shapes[si as usize];
        let layer = &layers[s.layer as usize];
        let f = &layer.features[s.feature as usize];
        let props: Vec<(&str, &Value)> = layer
            .fields
            .iter()
            .filter(|rule| rule.minzoom <= z)
            .filter_map(|rule| f.get(&rule.name).map(|v| (rule.name.as_str(), v)))
            .collect();
        builders[s.layer as usize].push(feature, feature_id(f), &props);
        members.push(si);
    }
    if members.is_empty() {
        return Ok(None);
    }
    let finished: Vec<geozero::mvt::tile::Layer> =
        builders.into_iter().map(LayerBuilder::finish).collect();
    let summary: Vec<(String, usize, usize)> = finished
        .iter()
        .filter(|l| !l.features.is_empty())
        .map(|l| (l.name.clone(), l.features.len(), l.encoded_len()))
        .collect();
    let bytes = encode_tile(finished);
    let gz = gzip(&bytes).map_err(|e| TileError::Encode(format!("gzip: {e}")))?;
    Ok(Some(BuiltTile {
        tile,
        gz,
        features: members.len(),
        layers: summary,
        members,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_become_feature_ids_and_others_do_not() {
        let with = |v: Value| Feature {
            geometry: geo::Point::new(0.0, 0.0).into(),
            attributes: vec![("id".into(), v)],
            provenance: Default::default(),
        };
        assert_eq!(feature_id(&with(Value::Int(42))), Some(42));
        assert_eq!(feature_id(&with(Value::Int(-1))), None);
        assert_eq!(feature_id(&with(Value::Real(123.0))), Some(123));
        assert_eq!(feature_id(&with(Value::Real(1.5))), None);
        assert_eq!(feature_id(&with(Value::Text("7".into()))), Some(7));
        assert_eq!(feature_id(&with(Value::Text("007".into()))), None);
        assert_eq!(feature_id(&with(Value::Text("+7".into()))), None);
        assert_eq!(
            feature_id(&with(Value::Text("91027000AB0012".into()))),
            None
        );
    }
}
