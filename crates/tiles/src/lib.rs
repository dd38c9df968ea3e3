//! The tiles stage: Mapbox Vector Tiles (MVT 2.1) from the merged layers.
//!
//! Work in progress (issue 4). What is here: [`tile`] (Web Mercator tile grid, a tile's pixel
//! space), [`encode`] (clip to the tile plus a buffer, snap to the integer grid, repair
//! validity on integers with `i_overlay`, orient rings as MVT 2.1 wants, encode layers and
//! tiles), [`generate`] (a zoom's tiles, in parallel) and [`mbtiles`] (the MBTiles writer).
//! Still to come: simplification, sub-pixel area accumulation and tile budgets, PMTiles, the
//! `tuilerie tile` command and the build's tiles step.

pub mod archive;
pub mod encode;
pub mod generate;
pub mod mbtiles;
pub mod pmtiles_archive;
pub mod tile;

pub use encode::{encode_tile, LayerBuilder, TileError};
pub use tile::TileId;
