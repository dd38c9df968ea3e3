//! A whole tileset, zoom by zoom, into one or several archives at once.
//!
//! For each zoom: the zoom's shapes ([`crate::shapes`]), the tiles ([`crate::generate`]), and
//! while a tile is over budget the zoom's cut is tightened and the zoom rebuilt
//! ([`crate::budget`]); then the tiles go to every sink and are freed.
//!
//! Memory model: the input layers are held in memory (Web Mercator features, as the merge
//! produced them); on top of that, one zoom at a time, its shapes (a simplified copy of the
//! features drawn at that zoom — smaller than the input below the deepest zoom), one 12-byte
//! entry per (shape, tile) pair, and the zoom's gzipped tiles, which go to the archives before
//! the next zoom starts. The archives stream to disk (PMTiles keeps its directory entries,
//! 24 bytes a tile; MBTiles is SQLite). Peak ≈ input + deepest zoom's shapes + its tiles.

use crate::archive::{ArchiveError, Metadata, TileSink};
use crate::budget::{Budget, Cut, TileCut};
use crate::encode::TileError;
use crate::generate::{build_zoom, BuiltTile};
use crate::layer::TileLayer;
use crate::shapes::{feature_infos, zoom_shapes, Shape};
use crate::TileOptions;
use serde::Serialize;
use std::time::Instant;

/// Tightenings of a zoom's cut before giving up on a tile that will not fit.
const MAX_ATTEMPTS: usize = 12;

/// How one zoom went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ZoomReport {
    pub zoom: u8,
    pub tiles: usize,
    /// Features written, summed over tiles (a feature in two tiles counts twice).
    pub features: usize,
    /// Gzipped bytes of all tiles and of the largest.
    pub bytes: usize,
    pub max_tile_bytes: usize,
    pub max_tile_features: usize,
    /// Sub-pixel polygons accumulated, and the squares drawn for them.
    pub tiny: usize,
    pub squares: usize,
    /// Lines too short to draw.
    pub dropped_small: usize,
    /// Shapes the budget's cut left out.
    pub dropped_by_budget: usize,
    /// The zoom's cut, when the budget needed one.
    pub cut: Option<Cut>,
    pub ms: u128,
}

/// How the tileset went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TilingReport {
    pub minzoom: u8,
    pub maxzoom: u8,
    pub tiles: usize,
    pub bytes: usize,
    pub zooms: Vec<ZoomReport>,
    /// The tiles that were over budget before their zoom was cut, layer by layer.
    pub cuts: Vec<TileCut>,
    /// Tiles still over budget after the last cut (a single feature too big for the budget).
    pub over_budget: Vec<String>,
    /// Features MVT cannot hold (geometry collections).
    pub unsupported: usize,
    pub archives: Vec<String>,
}

/// Tile `layers` at every zoom of `meta.minzoom..=meta.maxzoom` into `sinks`.
pub fn write_tileset(
    layers: &[TileLayer],
    meta: &Metadata,
    options: &TileOptions,
    sinks: Vec<Box<dyn TileSink>>,
    mut on_zoom: impl FnMut(&ZoomReport),
) -> Result<TilingReport, TileError> {
    if meta.minzoom > meta.maxzoom || meta.maxzoom > crate::tile::MAX_ZOOM {
        return Err(TileError::Zooms {
            min: meta.minzoom,
            max: meta.maxzoom,
        });
    }
    let mut sinks = sinks;
    let mut report = TilingReport {
        minzoom: meta.minzoom,
        maxzoom: meta.maxzoom,
        archives: sinks
            .iter()
            .map(|s| s.path().display().to_string())
            .collect(),
        ..Default::default()
    };
    let infos = feature_infos(layers);
    report.unsupported = infos.iter().flatten().filter(|i| i.is_none()).count();
    for z in meta.minzoom..=meta.maxzoom {
        let start = Instant::now();
        let shaped = zoom_shapes(layers, &infos, z, options);
        let (mut tiles, cut, cuts, over) =
            tiles_within_budget(layers, &shaped.shapes, z, options, &options.budget)?;
        // Hilbert order, zoom after zoom: PMTiles then stores the tiles clustered (a viewer's
        // neighbouring tiles are neighbours in the file); MBTiles takes any order.
        tiles.sort_by_key(|t| hilbert(t.tile));
        let mut zr = ZoomReport {
            zoom: z,
            tiles: tiles.len(),
            tiny: shaped.tiny,
            squares: shaped.squares,
            dropped_small: shaped.dropped_small,
            dropped_by_budget: shaped.shapes.iter().filter(|s| !cut.keeps(s)).count(),
            cut: (!cut.is_none()).then_some(cut),
            ..Default::default()
        };
        for t in &tiles {
            zr.features += t.features;
            zr.bytes += t.gz.len();
            zr.max_tile_bytes = zr.max_tile_bytes.max(t.gz.len());
            zr.max_tile_features = zr.max_tile_features.max(t.features);
            for sink in sinks.iter_mut() {
                sink.add(t.tile, &t.gz)?;
            }
        }
        zr.ms = start.elapsed().as_millis();
        report.tiles += zr.tiles;
        report.bytes += zr.bytes;
        report.cuts.extend(cuts);
        report.over_budget.extend(over);
        on_zoom(&zr);
        report.zooms.push(zr);
    }
    for sink in sinks {
        sink.finish()?;
    }
    Ok(report)
}

/// A tile's position on PMTiles' Hilbert curve (zooms in order).
fn hilbert(t: crate::TileId) -> u64 {
    pmtiles::TileCoord::new(t.z, t.x, t.y)
        .map(|c| pmtiles::TileId::from(c).value())
        .unwrap_or(u64::MAX)
}

type ZoomTiles = (Vec<BuiltTile>, Cut, Vec<TileCut>, Vec<String>);

/// A zoom's tiles, its cut tightened until every tile fits the budget (or no tightening
/// helps); with the breakdown of the tiles that had to be cut.
fn tiles_within_budget(
    layers: &[TileLayer],
    shapes: &[Shape],
    z: u8,
    options: &TileOptions,
    budget: &Budget,
) -> Result<ZoomTiles, TileError> {
    let mut cut = Cut::default();
    let mut first_over: Vec<TileCut> = Vec::new();
    let mut attempt = 0;
    loop {
        let tiles = build_zoom(layers, shapes, z, options, &cut)?;
        let over: Vec<&BuiltTile> = tiles.iter().filter(|t| !budget.fits(t.measure())).collect();
        if attempt == 0 {
            first_over = over
                .iter()
                .map(|t| TileCut {
                    tile: TileCut::name(t.tile),
                    bytes: t.gz.len(),
                    features: t.features,
                    layers: t.layers.clone(),
                    bytes_after: 0,
                    features_after: 0,
                })
                .collect();
        }
        let next = budget.tighten(
            cut,
            &over
                .iter()
                .map(|t| {
                    let members = t.members.iter().map(|&i| &shapes[i as usize]).collect();
                    (t.measure(), members)
                })
                .collect::<Vec<_>>(),
        );
        if over.is_empty() || attempt == MAX_ATTEMPTS || next == cut {
            let still: Vec<String> = over.iter().map(|t| TileCut::name(t.tile)).collect();
            for c in &mut first_over {
                if let Some(t) = tiles.iter().find(|t| TileCut::name(t.tile) == c.tile) {
                    c.bytes_after = t.gz.len();
                    c.features_after = t.features;
                }
            }
            if !first_over.is_empty() {
                tracing::warn!(
                    "zoom {z}: {} tile(s) over budget ({} bytes, {} features); zoom cut to {cut:?}",
                    first_over.len(),
                    budget.max_bytes,
                    budget.max_features
                );
            }
            return Ok((tiles, cut, first_over, still));
        }
        cut = next;
        attempt += 1;
    }
}

impl From<ArchiveError> for TileError {
    fn from(e: ArchiveError) -> Self {
        TileError::Archive(e)
    }
}
