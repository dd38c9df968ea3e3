//! The tiles stage: Mapbox Vector Tiles (MVT 2.1) from the merged layers, into PMTiles and
//! MBTiles archives.
//!
//! A tileset is written zoom by zoom ([`tileset::write_tileset`]): each layer's features are
//! scaled to the zoom's pixel grid and simplified there, tiny polygons accumulated into
//! squares that keep their area ([`shapes`]); the shapes are cut into tiles in parallel,
//! clipped to the tile plus a buffer, snapped to the integer grid, repaired on the integers
//! and encoded ([`generate`], [`encode`]); a tile over budget tightens its zoom's single
//! size threshold ([`budget`]); finished tiles go to every archive at once ([`archive`]:
//! [`pmtiles_archive`], [`mbtiles`], chosen by extension). [`zooms`] guesses the zoom range,
//! [`layer`] describes the layers (`vector_layers`).

pub mod archive;
pub mod budget;
pub mod clip;
pub mod encode;
pub mod generate;
pub mod gzip;
pub mod layer;
pub mod mbtiles;
pub mod pmtiles_archive;
pub mod shapes;
pub mod store;
pub mod tile;
pub mod tileset;
pub mod zooms;

pub use archive::{Metadata, TileSink};
pub use budget::Budget;
pub use encode::{encode_tile, LayerBuilder, TileError};
pub use generate::{FeatureKey, Geometries};
pub use layer::{FieldRule, TileLayer};
pub use tile::TileId;
pub use tileset::{write_tileset, write_tileset_from, Changed, Previous, TilingReport, ZoomReport};

/// How tiles are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileOptions {
    /// Units across a tile (MVT's `extent`).
    pub extent: u32,
    /// Units beyond the tile that features are kept to, so that lines and outlines do not stop
    /// short at tile edges (planetiler's 64/4096).
    pub buffer: u32,
    /// Douglas–Peucker tolerance below a layer's deepest zoom, in pixels of a 256-pixel tile
    /// (planetiler's 0.1).
    pub simplify_px: f64,
    /// The same at a layer's deepest zoom (1/16: one unit of a 4096 tile).
    pub simplify_max_px: f64,
    /// Side (units) of the square a polygon must reach not to be tiny; tiny polygons below a
    /// layer's deepest zoom are accumulated into squares of this side.
    pub tiny_side: u32,
    pub budget: Budget,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions {
            extent: 4096,
            buffer: 64,
            simplify_px: 0.1,
            simplify_max_px: 1.0 / 16.0,
            tiny_side: 2,
            budget: Budget::default(),
        }
    }
}

/// The metadata of a tileset of `layers` shown at `minzoom..=maxzoom`: bounds from the data,
/// `vector_layers` with each layer's fields, types and zooms.
pub fn metadata(
    name: &str,
    attribution: &str,
    layers: &[TileLayer],
    minzoom: u8,
    maxzoom: u8,
) -> Metadata {
    let bounds = layers
        .iter()
        .filter_map(TileLayer::bounds)
        .reduce(archive::union)
        .map(archive::bounds_degrees)
        .unwrap_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78]);
    Metadata {
        name: name.to_string(),
        attribution: attribution.to_string(),
        minzoom,
        maxzoom,
        bounds,
        json: serde_json::json!({
            "vector_layers": layers.iter().map(TileLayer::vector_layer).collect::<Vec<_>>()
        }),
    }
}
