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
use crate::generate::{build_zoom, build_zoom_in, BuiltTile, Geometries};
use crate::layer::TileLayer;
use crate::shapes::{feature_infos, to_zoom_pixels, units_per_metre, zoom_shapes, Shape};
use crate::tile::TileId;
use crate::TileOptions;
use geo::Rect;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

/// Tightenings of a zoom's cut before giving up on a tile that will not fit.
const MAX_ATTEMPTS: usize = 12;

/// How one zoom went.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Tiles built by this run, and tiles carried over from the previous tileset (an
    /// incremental build; `features` then counts the built ones only).
    pub regenerated: usize,
    pub carried: usize,
    pub ms: u128,
}

/// How the tileset went.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Tiles built, and tiles carried over from the previous tileset.
    pub regenerated: usize,
    pub carried: usize,
}

/// What an earlier tileset of the same layers and zooms leaves for an incremental one.
#[derive(Debug, Default)]
pub struct Previous {
    /// Every tile of the earlier tileset.
    pub tiles: BTreeMap<TileId, Vec<u8>>,
    /// Zooms the earlier tileset had to cut to fit the budget: rebuilt whole (a zoom's cut
    /// depends on every tile of it).
    pub cut_zooms: Vec<u8>,
    /// Every feature that changed: where it was, where it is.
    pub changed: Vec<Changed>,
    /// The earlier tileset's encoded geometries of its tiles with many shapes.
    pub geometries: Geometries,
}

/// A feature of an incremental rebuild that came, went or changed (one for its old version,
/// one for its new).
#[derive(Debug, Clone, Copy)]
pub struct Changed {
    /// Web Mercator envelope.
    pub bbox: Rect<f64>,
    /// Area (Web Mercator m²) of a polygon; `None` for lines and points. A polygon tiny at a
    /// zoom is folded into its tile's accumulation squares, which it can move anywhere in
    /// that tile: its neighbours, which draw those squares in their buffer, are rebuilt too.
    pub polygon_area: Option<f64>,
}

impl Changed {
    /// The change of `geometry` (Web Mercator); `None` for an empty one.
    pub fn of(geometry: &geo::Geometry<f64>) -> Option<Changed> {
        use geo::{Area, BoundingRect};
        let polygon_area = matches!(
            geometry,
            geo::Geometry::Polygon(_)
                | geo::Geometry::MultiPolygon(_)
                | geo::Geometry::Rect(_)
                | geo::Geometry::Triangle(_)
                | geo::Geometry::GeometryCollection(_)
        )
        .then(|| geometry.unsigned_area());
        Some(Changed {
            bbox: geometry.bounding_rect()?,
            polygon_area,
        })
    }

    /// Whether it may be folded into accumulation squares at the zoom of `units_per_metre`
    /// (erring on the side of yes).
    fn may_be_tiny(&self, units_per_metre: f64, options: &TileOptions) -> bool {
        let tiny_area = f64::from(options.tiny_side).powi(2);
        self.polygon_area
            .is_some_and(|a| a * units_per_metre * units_per_metre < tiny_area * 1.001)
    }
}

/// Tile `layers` at every zoom of `meta.minzoom..=meta.maxzoom` into `sinks`.
pub fn write_tileset(
    layers: &[TileLayer],
    meta: &Metadata,
    options: &TileOptions,
    sinks: Vec<Box<dyn TileSink>>,
    on_zoom: impl FnMut(&ZoomReport),
) -> Result<TilingReport, TileError> {
    write_tileset_from(layers, meta, options, sinks, None, None, on_zoom)
}

/// [`write_tileset`], carrying over from `previous` every tile no change can reach.
///
/// At each zoom the tiles a changed envelope reaches (with the buffer), and their neighbours,
/// are rebuilt from the current layers; the others are copied. The result is what a full
/// build makes, tile for tile: a tile's content depends only on the features that reach it
/// and on the accumulation squares of its neighbours (hence the ring of neighbours), and a
/// zoom that had a budget cut, or whose rebuilt tiles exceed the budget, is rebuilt whole.
pub fn write_tileset_from(
    layers: &[TileLayer],
    meta: &Metadata,
    options: &TileOptions,
    sinks: Vec<Box<dyn TileSink>>,
    previous: Option<&Previous>,
    mut geometries: Option<&mut Geometries>,
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
    let started = Instant::now();
    let infos = feature_infos(layers);
    tracing::debug!("feature infos in {} ms", started.elapsed().as_millis());
    report.unsupported = infos.iter().flatten().filter(|i| i.is_none()).count();
    for z in meta.minzoom..=meta.maxzoom {
        let start = Instant::now();
        let mut zr = ZoomReport {
            zoom: z,
            ..Default::default()
        };
        let mut built: Vec<BuiltTile> = Vec::new();
        let mut carried: Vec<(TileId, &[u8])> = Vec::new();
        let mut whole = true;
        // The zoom's shapes, once: an incremental zoom that must be rebuilt whole reuses them.
        let mut shaped: Option<crate::shapes::ZoomShapes> = None;
        if let Some(p) = previous.filter(|p| !p.cut_zooms.contains(&z)) {
            let before = p.tiles.range(
                TileId { z, x: 0, y: 0 }..=TileId {
                    z,
                    x: u32::MAX,
                    y: u32::MAX,
                },
            );
            let dirty = dirty_tiles(&p.changed, z, options, 4 * before.clone().count() + 1024);
            if let Some(dirty) = dirty {
                carried = before
                    .filter(|(t, _)| !dirty.contains(&(t.x, t.y)))
                    .map(|(t, gz)| (*t, gz.as_slice()))
                    .collect();
                whole = false;
                if !dirty.is_empty() {
                    let zs = shaped.insert(zoom_shapes(layers, &infos, z, options));
                    let fresh = build_zoom_in(
                        layers,
                        &zs.shapes,
                        z,
                        options,
                        &Cut::default(),
                        Some(&dirty),
                        Some(&p.geometries),
                    )?;
                    // A rebuilt tile over budget changes the zoom's cut: rebuild it whole.
                    whole = !fresh.iter().all(|t| options.budget.fits(t.measure()));
                    if !whole {
                        (zr.tiny, zr.squares, zr.dropped_small) =
                            (zs.tiny, zs.squares, zs.dropped_small);
                        built = fresh;
                    }
                }
            }
        }
        if whole {
            carried.clear();
            let shaped = shaped
                .take()
                .unwrap_or_else(|| zoom_shapes(layers, &infos, z, options));
            let (tiles, cut, cuts, over) =
                tiles_within_budget(layers, &shaped.shapes, z, options, &options.budget)?;
            (zr.tiny, zr.squares, zr.dropped_small) =
                (shaped.tiny, shaped.squares, shaped.dropped_small);
            zr.dropped_by_budget = shaped.shapes.iter().filter(|s| !cut.keeps(s)).count();
            zr.cut = (!cut.is_none()).then_some(cut);
            report.cuts.extend(cuts);
            report.over_budget.extend(over);
            built = tiles;
        }
        zr.regenerated = built.len();
        zr.carried = carried.len();
        if let Some(g) = geometries.as_deref_mut() {
            for t in &mut built {
                if let Some(tg) = t.geometries.take() {
                    g.insert(t.tile, tg);
                }
            }
            for (tile, _) in &carried {
                if let Some(tg) = previous.and_then(|p| p.geometries.get(tile)) {
                    g.insert(*tile, tg.clone());
                }
            }
        }
        for t in &built {
            zr.features += t.features;
            zr.max_tile_features = zr.max_tile_features.max(t.features);
        }
        let mut all: Vec<(TileId, &[u8])> = carried;
        all.extend(built.iter().map(|t| (t.tile, t.gz.as_slice())));
        // Hilbert order, zoom after zoom: PMTiles then stores the tiles clustered (a viewer's
        // neighbouring tiles are neighbours in the file); MBTiles takes any order.
        all.sort_by_key(|t| hilbert(t.0));
        zr.tiles = all.len();
        for (tile, gz) in &all {
            zr.bytes += gz.len();
            zr.max_tile_bytes = zr.max_tile_bytes.max(gz.len());
            for sink in sinks.iter_mut() {
                sink.add(*tile, gz)?;
            }
        }
        zr.ms = start.elapsed().as_millis();
        report.tiles += zr.tiles;
        report.bytes += zr.bytes;
        report.regenerated += zr.regenerated;
        report.carried += zr.carried;
        on_zoom(&zr);
        report.zooms.push(zr);
    }
    let finishing = Instant::now();
    for sink in sinks {
        sink.finish()?;
    }
    tracing::debug!(
        "archives finished and checked in {} ms",
        finishing.elapsed().as_millis()
    );
    Ok(report)
}

/// The tiles `(x, y)` of zoom `z` a change can alter: those its envelopes reach, buffer
/// included, and for a polygon tiny at this zoom the neighbours of those too (a tiny polygon
/// that changes moves the accumulation squares of its whole tile, which the neighbours draw
/// in their buffer). `None` when there would be more than `limit`: the zoom is then rebuilt
/// whole.
fn dirty_tiles(
    changed: &[Changed],
    z: u8,
    options: &TileOptions,
    limit: usize,
) -> Option<HashSet<(u32, u32)>> {
    let k = units_per_metre(z, options.extent);
    let extent = f64::from(options.extent);
    let margin = f64::from(options.buffer);
    let last = ((1u64 << z) - 1) as u32;
    let index = |v: f64| (v / extent).floor().clamp(0.0, f64::from(last)) as u32;
    let mut dirty = HashSet::new();
    for c in changed {
        let ring = u32::from(c.may_be_tiny(k, options));
        let px = Rect::new(
            to_zoom_pixels(c.bbox.min(), k),
            to_zoom_pixels(c.bbox.max(), k),
        );
        let (x0, x1) = (
            index(px.min().x - margin).saturating_sub(ring),
            (index(px.max().x + margin) + ring).min(last),
        );
        let (y0, y1) = (
            index(px.min().y - margin).saturating_sub(ring),
            (index(px.max().y + margin) + ring).min(last),
        );
        let n = (u64::from(x1 - x0) + 1) * (u64::from(y1 - y0) + 1);
        if n + dirty.len() as u64 > limit as u64 {
            return None;
        }
        for y in y0..=y1 {
            dirty.extend((x0..=x1).map(|x| (x, y)));
        }
    }
    Some(dirty)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tile::HALF_WORLD;
    use geo::{coord, Geometry, LineString};

    /// A square of `side` metres (Web Mercator) around the centre of tile (x, y) of zoom `z`.
    fn square_in_tile(z: u8, x: u32, y: u32, side: f64) -> Geometry<f64> {
        let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
        let cx = -HALF_WORLD + (f64::from(x) + 0.5) * size;
        let cy = HALF_WORLD - (f64::from(y) + 0.5) * size;
        let h = side / 2.0;
        Rect::new(
            coord! { x: cx - h, y: cy - h },
            coord! { x: cx + h, y: cy + h },
        )
        .to_polygon()
        .into()
    }

    fn dirty(g: &Geometry<f64>, z: u8) -> HashSet<(u32, u32)> {
        let changed = [Changed::of(g).expect("a geometry")];
        dirty_tiles(&changed, z, &TileOptions::default(), 1000).expect("under the limit")
    }

    #[test]
    fn a_changed_parcel_dirties_its_tile_and_a_tiny_one_its_neighbours_too() {
        let (z, x, y) = (13, 4150, 2818);
        // 50 m × 50 m: drawn as itself at z13, inside one tile even with the buffer.
        assert_eq!(
            dirty(&square_in_tile(z, x, y, 50.0), z),
            HashSet::from([(x, y)])
        );
        // 1 m²: folded into its tile's accumulation squares, which the neighbours draw.
        let tiny = dirty(&square_in_tile(z, x, y, 1.0), z);
        assert_eq!(tiny.len(), 9);
        assert!(tiny.contains(&(x - 1, y - 1)) && tiny.contains(&(x + 1, y + 1)));
        // A line is never accumulated: no neighbours, however short.
        let Geometry::Polygon(p) = square_in_tile(z, x, y, 1.0) else {
            unreachable!()
        };
        let line: Geometry<f64> = LineString::from(p.exterior().0[..2].to_vec()).into();
        assert_eq!(dirty(&line, z), HashSet::from([(x, y)]));
    }

    #[test]
    fn a_change_reaching_too_many_tiles_rebuilds_the_zoom() {
        let big = square_in_tile(13, 4150, 2818, 200_000.0);
        let changed = [Changed::of(&big).expect("a geometry")];
        assert!(dirty_tiles(&changed, 13, &TileOptions::default(), 100).is_none());
    }
}
