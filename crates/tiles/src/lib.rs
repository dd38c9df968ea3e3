//! The tiles stage: Mapbox Vector Tiles (MVT 2.1) from the merged layers.
//!
//! Work in progress (issue 4). What is here: [`tile`] (Web Mercator tile grid, a tile's pixel
//! space) and [`encode`] (clip to the tile plus a buffer, snap to the integer grid, repair
//! validity on integers with `i_overlay`, orient rings as MVT 2.1 wants, encode layers and
//! tiles). Still to come: the per-zoom pipeline (simplification, sub-pixel area accumulation,
//! tile budgets), archives (PMTiles, MBTiles) and the `tuilerie tile` command.

pub mod encode;
pub mod tile;

pub use encode::{encode_tile, LayerBuilder, TileError};
pub use tile::TileId;
