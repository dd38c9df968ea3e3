//! Cutting layers into tiles, zoom by zoom, tiles in parallel.
//!
//! For a zoom, every feature is listed against the tiles its envelope (plus the buffer)
//! touches; the list is sorted by tile and each tile is then built on its own thread from its
//! features, transformed into the tile's pixel space and encoded ([`crate::encode`]). Memory:
//! the features of the layers (held by the caller) plus, per zoom, one 16-byte entry per
//! (feature, tile) pair and the encoded tiles of that zoom.
//!
//! Not yet here (issue 4): pixel-space simplification, dropping and accumulating sub-pixel
//! features at low zooms, tile budgets.

use crate::encode::{encode_tile, LayerBuilder, TileError};
use crate::tile::TileId;
use geo::{BoundingRect, Geometry, MapCoords, Rect};
use rayon::prelude::*;
use tuilerie_model::{Feature, Value};

/// A layer to tile: its features in Web Mercator (EPSG:3857) and the fields to keep.
pub struct LayerInput<'a> {
    pub name: &'a str,
    pub features: &'a [Feature],
    /// Attributes written to the tiles, in this order (others are left out).
    pub fields: Vec<String>,
}

/// How tiles are cut.
#[derive(Debug, Clone, Copy)]
pub struct TileOptions {
    pub extent: u32,
    /// Pixels (of `extent`) beyond the tile that features are kept to, so that lines and
    /// outlines do not stop short at tile edges.
    pub buffer: u32,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions {
            extent: 4096,
            buffer: 64,
        }
    }
}

/// A tile and its uncompressed MVT bytes.
pub type EncodedTile = (TileId, Vec<u8>);

/// The numeric id of a feature for MVT, when its `id` is an unsigned integer.
fn feature_id(f: &Feature) -> Option<u64> {
    match f.get("id") {
        Some(Value::Int(i)) => u64::try_from(*i).ok(),
        Some(Value::Text(t)) => t.parse::<u64>().ok(),
        _ => None,
    }
}

/// The tiles of zoom `z`, each as (tile, uncompressed MVT bytes), in (y, x) order; empty
/// tiles are left out.
pub fn tiles_for_zoom(
    layers: &[LayerInput<'_>],
    z: u8,
    options: TileOptions,
) -> Result<Vec<EncodedTile>, TileError> {
    let margin = TileId::size_m(z) * f64::from(options.buffer) / f64::from(options.extent);
    let mut entries: Vec<(TileId, u32, u32)> = Vec::new();
    for (li, layer) in layers.iter().enumerate() {
        for (fi, f) in layer.features.iter().enumerate() {
            let Some(r) = f.geometry.bounding_rect() else {
                continue;
            };
            let grown = Rect::new(
                geo::coord! { x: r.min().x - margin, y: r.min().y - margin },
                geo::coord! { x: r.max().x + margin, y: r.max().y + margin },
            );
            entries.extend(TileId::covering(grown, z).map(|t| (t, li as u32, fi as u32)));
        }
    }
    entries.par_sort_unstable_by_key(|&(t, l, f)| (t.y, t.x, l, f));
    let mut groups: Vec<&[(TileId, u32, u32)]> = entries.chunk_by(|a, b| a.0 == b.0).collect();
    groups.retain(|g| !g.is_empty());
    let built: Vec<Result<Option<EncodedTile>, TileError>> = groups
        .par_iter()
        .map(|group| {
            let tile = group[0].0;
            let mut builders: Vec<LayerBuilder> = layers
                .iter()
                .map(|l| LayerBuilder::new(l.name, options.extent, options.buffer))
                .collect();
            for &(_, li, fi) in group.iter() {
                let layer = &layers[li as usize];
                let f = &layer.features[fi as usize];
                let pixels: Geometry<f64> =
                    f.geometry.map_coords(|c| tile.to_pixels(c, options.extent));
                let props: Vec<(&str, &Value)> = layer
                    .fields
                    .iter()
                    .filter_map(|name| f.get(name).map(|v| (name.as_str(), v)))
                    .collect();
                builders[li as usize].add(&pixels, feature_id(f), &props)?;
            }
            if builders.iter().all(|b| b.is_empty()) {
                return Ok(None);
            }
            Ok(Some((
                tile,
                encode_tile(builders.into_iter().map(LayerBuilder::finish).collect()),
            )))
        })
        .collect();
    built.into_iter().filter_map(Result::transpose).collect()
}
