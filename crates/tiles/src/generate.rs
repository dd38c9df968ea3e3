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
use crate::shapes::ShapeKind;
use crate::tile::TileId;
use crate::TileOptions;
use geo::{Geometry, MapCoords};
use geozero::mvt::Message;
use rayon::prelude::*;
use std::collections::HashSet;
use tuilerie_model::{Feature, Value};

/// A tile with at least this many shapes has their geometries encoded in parallel.
const PARALLEL_SHAPES: usize = 1024;

/// A feature's identity across builds (a digest of its content).
pub type FeatureKey = [u8; 16];

/// The encoded geometries (MVT commands and type, as [`encode_geometry`] made them: no id,
/// no tags) of the features of one tile with many shapes, by (layer, feature key). A tile's
/// geometry of a feature depends only on the feature, the zoom, the tile and the options: a
/// later build of the same layers, zooms and options rebuilding that tile takes them for its
/// unchanged features instead of encoding them again (the low zooms' few tiles hold every
/// feature). Flat, so that it is read and written at the speed of the disk.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TileGeometries {
    /// (layer, key, type, start, length in `data`), sorted by (layer, key). Type
    /// [`NOTHING`]: nothing of the feature is in the tile.
    index: Vec<(u32, FeatureKey, i32, u32, u32)>,
    data: Vec<u32>,
}

/// The type of a feature nothing of which is in the tile.
const NOTHING: i32 = -1;
/// The type of a feature without one.
const UNTYPED: i32 = -2;

impl TileGeometries {
    fn push(&mut self, (layer, key): (u32, FeatureKey), f: Option<&geozero::mvt::tile::Feature>) {
        let start = self.data.len() as u32;
        let kind = match f {
            Some(f) => {
                self.data.extend_from_slice(&f.geometry);
                f.r#type.unwrap_or(UNTYPED)
            }
            None => NOTHING,
        };
        let len = self.data.len() as u32 - start;
        self.index.push((layer, key, kind, start, len));
    }

    fn finish(mut self) -> Option<Self> {
        self.index.sort_unstable_by_key(|e| (e.0, e.1));
        self.index.dedup_by_key(|e| (e.0, e.1));
        (!self.index.is_empty()).then_some(self)
    }

    /// The feature's geometry: `Some(None)` when nothing of it is in the tile, `None` when
    /// unknown.
    fn get(&self, (layer, key): &(u32, FeatureKey)) -> Option<Option<geozero::mvt::tile::Feature>> {
        let i = self
            .index
            .binary_search_by(|e| (e.0, &e.1).cmp(&(*layer, key)))
            .ok()?;
        let (_, _, kind, start, len) = self.index[i];
        if kind == NOTHING {
            return Some(None);
        }
        let geometry = self
            .data
            .get(start as usize..(start + len) as usize)?
            .to_vec();
        Some(Some(geozero::mvt::tile::Feature {
            r#type: (kind != UNTYPED).then_some(kind),
            geometry,
            ..Default::default()
        }))
    }
}

/// [`TileGeometries`] by tile.
pub type Geometries = std::collections::BTreeMap<TileId, TileGeometries>;

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
    /// Its features' encoded geometries, for a tile with many shapes of keyed layers.
    pub geometries: Option<TileGeometries>,
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
    build_zoom_in(layers, shapes, z, options, cut, None, None)
}

/// [`build_zoom`], only the tiles `(x, y)` of `only` when given (an incremental rebuild),
/// taking the geometries of `reuse` (an earlier build's) for features unchanged since.
pub fn build_zoom_in(
    layers: &[TileLayer],
    shapes: &[Shape],
    z: u8,
    options: &TileOptions,
    cut: &Cut,
    only: Option<&HashSet<(u32, u32)>>,
    reuse: Option<&Geometries>,
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
        .map(|group| {
            let tile = TileId {
                z,
                x: group[0].1,
                y: group[0].0,
            };
            build_tile(
                layers,
                shapes,
                z,
                options,
                group,
                reuse.and_then(|r| r.get(&tile)),
            )
        })
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
    reuse: Option<&TileGeometries>,
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
    // ids and tags, in order. A tile with many shapes keeps its features' geometries by key,
    // and takes those of `reuse` for the features it has.
    let big = group.len() >= PARALLEL_SHAPES;
    let key_of = |s: &Shape| -> Option<(u32, FeatureKey)> {
        if !big || matches!(s.kind, ShapeKind::Square(_)) {
            return None;
        }
        let k = layers[s.layer as usize].keys.get(s.feature as usize)?;
        Some((s.layer, *k))
    };
    type Out = (
        Option<(u32, FeatureKey)>,
        Option<geozero::mvt::tile::Feature>,
    );
    let encode = |&(_, _, si): &(u32, u32, u32)| -> Result<Out, TileError> {
        let s = &shapes[si as usize];
        let key = key_of(s);
        if let Some(hit) = key.and_then(|k| reuse?.get(&k)) {
            return Ok((key, hit));
        }
        let local: Geometry<f64> = s
            .geometry(layers, z, options)
            .map_coords(|c| geo::coord! { x: c.x - dx, y: c.y - dy });
        Ok((
            key,
            encode_geometry(&local, options.extent, options.buffer)?,
        ))
    };
    let encoded: Vec<Result<Out, TileError>> = if big {
        group.par_iter().with_min_len(256).map(encode).collect()
    } else {
        group.iter().map(encode).collect()
    };
    let mut geometries = TileGeometries::default();
    let mut members = Vec::with_capacity(group.len());
    for (&(_, _, si), out) in group.iter().zip(encoded) {
        let (key, feature) = out?;
        if let Some(k) = key {
            geometries.push(k, feature.as_ref());
        }
        let Some(feature) = feature else {
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
        geometries: geometries.finish(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_keeps_its_features_geometries_by_layer_and_key() {
        let square = geozero::mvt::tile::Feature {
            r#type: Some(3),
            geometry: vec![9, 0, 0, 26, 2, 0, 0, 2, 3, 0, 15],
            ..Default::default()
        };
        let mut g = TileGeometries::default();
        g.push((1, [7; 16]), Some(&square));
        g.push((0, [9; 16]), None);
        g.push((1, [7; 16]), Some(&square));
        let g = g.finish().expect("two features");
        assert_eq!(g.index.len(), 2, "the same feature twice is kept once");
        let back = g.get(&(1, [7; 16])).expect("known").expect("in the tile");
        assert_eq!(
            (back.r#type, back.geometry),
            (square.r#type, square.geometry)
        );
        assert!(g.get(&(0, [9; 16])).expect("known").is_none());
        assert!(
            g.get(&(0, [7; 16])).is_none(),
            "another layer's feature is unknown"
        );
        assert!(TileGeometries::default().finish().is_none());
    }

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
