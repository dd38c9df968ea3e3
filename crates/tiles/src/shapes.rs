//! A zoom's shapes: every feature scaled to the zoom's pixel grid, simplified there *before*
//! it is cut into tiles (so two neighbouring tiles draw the same simplified outline), features
//! too small to draw dropped, and the area of sub-pixel polygons accumulated into small
//! squares so that dense parcel areas keep their weight at low zooms (tippecanoe's
//! "tiny polygon reduction").
//!
//! Coordinates are "zoom pixels": the whole world is `extent · 2^z` units wide, y down, so a
//! tile's pixel space is the zoom's grid shifted by `(x · extent, y · extent)`.

use crate::layer::TileLayer;
use crate::tile::HALF_WORLD;
use crate::TileOptions;
use geo::{
    Area, BoundingRect, Centroid, Coord, Euclidean, Geometry, Length, LineString, MapCoords,
    Polygon, Rect, Simplify,
};
use rayon::prelude::*;

/// What a shape is, for drawing and for the budget's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Point,
    Line,
    Polygon,
}

/// What is known of a feature before any zoom: its envelope, size and centre (Web Mercator
/// metres). Computed once; each zoom only scales it.
#[derive(Debug, Clone, Copy)]
pub struct FeatureInfo {
    pub bbox: Rect<f64>,
    pub family: Family,
    /// Area (m²) of a polygon, length (m) of a line, 0 for points.
    pub size: f64,
    pub anchor: Coord<f64>,
    /// A hash of where the feature is and how big (anchor, envelope, size): what its rank
    /// is drawn from.
    pub key: u64,
}

/// The info of every feature of every layer; `None` for what MVT cannot hold (geometry
/// collections, empty geometries).
pub fn feature_infos(layers: &[TileLayer]) -> Vec<Vec<Option<FeatureInfo>>> {
    layers
        .iter()
        .map(|l| l.features.par_iter().map(|f| info(&f.geometry)).collect())
        .collect()
}

fn info(g: &Geometry<f64>) -> Option<FeatureInfo> {
    let (family, size) = match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) => (Family::Point, 0.0),
        Geometry::Line(l) => (Family::Line, Euclidean.length(l)),
        Geometry::LineString(l) => (Family::Line, Euclidean.length(l)),
        Geometry::MultiLineString(l) => (Family::Line, Euclidean.length(l)),
        Geometry::Polygon(_)
        | Geometry::MultiPolygon(_)
        | Geometry::Rect(_)
        | Geometry::Triangle(_) => (Family::Polygon, g.unsigned_area()),
        Geometry::GeometryCollection(_) => return None,
    };
    let bbox = g.bounding_rect()?;
    let anchor = g.centroid().map_or(bbox.center(), |c| c.0);
    let key = [
        anchor.x,
        anchor.y,
        bbox.min().x,
        bbox.min().y,
        bbox.max().x,
        bbox.max().y,
        size,
    ]
    .iter()
    .fold(0u64, |h, v| {
        (h ^ v.to_bits())
            .rotate_left(23)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    Some(FeatureInfo {
        bbox,
        family,
        size,
        anchor,
        key,
    })
}

/// Where a shape's geometry comes from.
#[derive(Debug, Clone)]
pub enum ShapeKind {
    /// The feature itself, scaled and simplified when its tiles are built (each tile redoes
    /// the same computation on the same input, so neighbours agree, and nothing is held).
    Feature,
    /// The feature scaled and simplified once, for a feature spread over many tiles.
    Cached(Geometry<f64>),
    /// A square of accumulated tiny polygons, top-left corner in zoom pixels.
    Square(Coord<f64>),
}

/// A feature (or the square standing for accumulated tiny polygons) ready to be cut into
/// the tiles of one zoom.
#[derive(Debug, Clone)]
pub struct Shape {
    pub layer: u32,
    /// Index of the feature in its layer (whose attributes and id the shape carries).
    pub feature: u32,
    /// In zoom pixels.
    pub bbox: Rect<f64>,
    pub family: Family,
    /// What the budget cuts by: a polygon's area (square units), a line's length (units), a
    /// point's rank in [0, 1) (a hash of its place in the layer: thinning points by rank
    /// drops them evenly, as density would).
    pub size: f64,
    pub kind: ShapeKind,
}

/// A zoom's shapes and what was done to get them.
#[derive(Debug, Default)]
pub struct ZoomShapes {
    pub shapes: Vec<Shape>,
    /// Polygons smaller than the tiny area folded into accumulation squares.
    pub tiny: usize,
    /// Squares drawn for them.
    pub squares: usize,
    /// Lines shorter than a unit, not drawn at this zoom.
    pub dropped_small: usize,
}

/// A shape spread over more tiles than this is simplified once and held for the zoom.
const CACHE_TILES: f64 = 16.0;

/// Units per Web Mercator metre at zoom `z`.
pub fn units_per_metre(z: u8, extent: u32) -> f64 {
    f64::from(extent) * (1u64 << z) as f64 / (2.0 * HALF_WORLD)
}

/// A Web Mercator point in zoom pixels.
pub fn to_zoom_pixels(c: Coord<f64>, k: f64) -> Coord<f64> {
    geo::coord! { x: (c.x + HALF_WORLD) * k, y: (HALF_WORLD - c.y) * k }
}

/// splitmix64 of a layer and a feature's [`FeatureInfo::key`]: a well-spread, stable rank in
/// [0, 1). It depends on the feature, not on its place in the list, so that a feature keeps
/// its rank when others come or go (an incremental rebuild draws what a full one draws).
fn rank(layer: u32, key: u64) -> f64 {
    let mut z = (key ^ u64::from(layer).rotate_left(32)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The Douglas–Peucker tolerance (units) of a layer at zoom `z`.
fn tolerance(layer: &TileLayer, z: u8, options: &TileOptions) -> f64 {
    let px = f64::from(options.extent) / 256.0;
    px * if z >= layer.maxzoom {
        options.simplify_max_px
    } else {
        options.simplify_px
    }
}

/// A feature's geometry in zoom pixels, simplified as the zoom wants (validity is restored
/// after snapping, in the encoder).
pub fn feature_geometry(layer: &TileLayer, fi: u32, z: u8, options: &TileOptions) -> Geometry<f64> {
    let k = units_per_metre(z, options.extent);
    let g = layer.features[fi as usize]
        .geometry
        .map_coords(|c| to_zoom_pixels(c, k));
    let t = tolerance(layer, z, options);
    if t <= 0.0 {
        return g;
    }
    match g {
        Geometry::LineString(l) => Geometry::LineString(l.simplify(t)),
        Geometry::MultiLineString(m) => Geometry::MultiLineString(m.simplify(t)),
        Geometry::Polygon(p) => Geometry::Polygon(p.simplify(t)),
        Geometry::MultiPolygon(m) => Geometry::MultiPolygon(m.simplify(t)),
        other => other,
    }
}

impl Shape {
    /// The shape's geometry in zoom pixels.
    pub fn geometry(&self, layers: &[TileLayer], z: u8, options: &TileOptions) -> Geometry<f64> {
        match &self.kind {
            ShapeKind::Feature => {
                feature_geometry(&layers[self.layer as usize], self.feature, z, options)
            }
            ShapeKind::Cached(g) => g.clone(),
            ShapeKind::Square(at) => Geometry::Polygon(square(*at, f64::from(options.tiny_side))),
        }
    }
}

/// The axis-aligned square of side `side` from corner `at`.
pub fn square(at: Coord<f64>, side: f64) -> Polygon<f64> {
    let (x, y) = (at.x, at.y);
    Polygon::new(
        LineString::from(vec![
            (x, y),
            (x + side, y),
            (x + side, y + side),
            (x, y + side),
            (x, y),
        ]),
        vec![],
    )
}

/// The shapes of every layer shown at zoom `z`, in layer then feature order.
pub fn zoom_shapes(
    layers: &[TileLayer],
    infos: &[Vec<Option<FeatureInfo>>],
    z: u8,
    options: &TileOptions,
) -> ZoomShapes {
    let mut out = ZoomShapes::default();
    let k = units_per_metre(z, options.extent);
    let extent = f64::from(options.extent);
    let tiny_area = f64::from(options.tiny_side).powi(2);
    let mut tiny: Vec<Tiny> = Vec::new();
    // Shapes over many tiles, simplified once for all of them.
    let mut spread: Vec<usize> = Vec::new();
    for (li, (layer, infos)) in layers.iter().zip(infos).enumerate() {
        if !layer.shows(z) {
            continue;
        }
        let li = li as u32;
        let at_max = z >= layer.maxzoom;
        for (fi, info) in infos.iter().enumerate() {
            let Some(info) = info else { continue };
            let fi = fi as u32;
            // Sizes alike (identical parcels, accumulation squares) are told apart by a hair of
            // the point rank, so that a budget cut thins them evenly rather than all or none.
            let tie = 1.0 + 1e-9 * rank(li, info.key);
            let size = match info.family {
                Family::Point => rank(li, info.key),
                Family::Line => info.size * k * tie,
                Family::Polygon => info.size * k * k * tie,
            };
            match info.family {
                Family::Line if !at_max && size < 1.0 => {
                    out.dropped_small += 1;
                    continue;
                }
                Family::Polygon if !at_max && size < tiny_area => {
                    tiny.push((li, fi, to_zoom_pixels(info.anchor, k), size, info.key));
                    continue;
                }
                _ => {}
            }
            let (a, b) = (
                to_zoom_pixels(info.bbox.min(), k),
                to_zoom_pixels(info.bbox.max(), k),
            );
            let bbox = Rect::new(a, b);
            out.shapes.push(Shape {
                layer: li,
                feature: fi,
                bbox,
                family: info.family,
                size,
                kind: ShapeKind::Feature,
            });
            if (bbox.width() / extent + 1.0) * (bbox.height() / extent + 1.0) > CACHE_TILES {
                spread.push(out.shapes.len() - 1);
            }
        }
    }
    let cached: Vec<Geometry<f64>> = spread
        .par_iter()
        .map(|&i| {
            let s = &out.shapes[i];
            feature_geometry(&layers[s.layer as usize], s.feature, z, options)
        })
        .collect();
    for (i, g) in spread.into_iter().zip(cached) {
        out.shapes[i].kind = ShapeKind::Cached(g);
    }
    out.tiny = tiny.len();
    let squares = accumulate(tiny, options);
    out.squares = squares.len();
    out.shapes.extend(squares);
    out
}

/// A tiny polygon: layer, feature, anchor (zoom pixels), area (square units), rank key.
type Tiny = (u32, u32, Coord<f64>, f64, u64);

/// Tiny polygons, tile by tile (the tile holding each one's centre) in row order, add their
/// area up; each time a square's worth is reached, a square is drawn where the polygon that
/// completed it lies, carrying that polygon's attributes. A tile's remainder is drawn when it
/// is at least half a square, so the drawn area is the true area rounded to the nearest square.
fn accumulate(mut tiny: Vec<Tiny>, options: &TileOptions) -> Vec<Shape> {
    let extent = f64::from(options.extent);
    let side = f64::from(options.tiny_side);
    let square_area = side * side;
    let cell = |c: &Coord<f64>| ((c.y / extent).floor() as i64, (c.x / extent).floor() as i64);
    tiny.sort_by(|a, b| {
        (a.0, cell(&a.2))
            .cmp(&(b.0, cell(&b.2)))
            .then(a.2.y.total_cmp(&b.2.y))
            .then(a.2.x.total_cmp(&b.2.x))
            .then(a.1.cmp(&b.1))
    });
    let square = |layer: u32, feature: u32, key: u64, at: Coord<f64>| {
        let (x, y) = (at.x.floor(), at.y.floor());
        Shape {
            layer,
            feature,
            bbox: Rect::new(
                geo::coord! { x: x, y: y },
                geo::coord! { x: x + side, y: y + side },
            ),
            family: Family::Polygon,
            size: square_area * (1.0 + 1e-9 * rank(layer, key)),
            kind: ShapeKind::Square(geo::coord! { x: x, y: y }),
        }
    };
    let mut out = Vec::new();
    let mut acc = 0.0;
    for (i, &(layer, feature, anchor, area, key)) in tiny.iter().enumerate() {
        acc += area;
        let last_of_group = tiny
            .get(i + 1)
            .is_none_or(|next| (next.0, cell(&next.2)) != (layer, cell(&anchor)));
        while acc >= square_area || (last_of_group && acc >= square_area / 2.0) {
            out.push(square(layer, feature, key, anchor));
            acc -= square_area;
        }
        if last_of_group {
            acc = 0.0;
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tuilerie_model::{Feature, Provenance};

    /// A square feature (Web Mercator metres), for the tests of this crate.
    pub(crate) fn square_m(x: f64, y: f64, side: f64) -> Feature {
        Feature {
            geometry: Geometry::Polygon(square(geo::coord! { x: x, y: y }, side)),
            attributes: vec![],
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn tiny_polygons_keep_their_total_area_as_squares() {
        // 1 000 parcels of 20 m × 20 m near Paris, 30 m apart: at zoom 8 a unit is 38 m, each
        // parcel 0.28 square units — all tiny — but their total area must still be drawn.
        let features: Vec<Feature> = (0..1000)
            .map(|i| {
                square_m(
                    261_000.0 + f64::from(i % 40) * 30.0,
                    6_250_000.0 + f64::from(i / 40) * 30.0,
                    20.0,
                )
            })
            .collect();
        let layer = TileLayer::with_all_fields("parcelles", features, 8, 16);
        let options = TileOptions::default();
        let layers = std::slice::from_ref(&layer);
        let infos = feature_infos(layers);
        let z8 = zoom_shapes(layers, &infos, 8, &options);
        assert_eq!(z8.tiny, 1000);
        let k = units_per_metre(8, options.extent);
        let true_area = 1000.0 * 400.0 * k * k;
        let drawn: f64 = z8
            .shapes
            .iter()
            .map(|s| s.geometry(layers, 8, &options).unsigned_area())
            .sum();
        assert_eq!(z8.squares, z8.shapes.len());
        assert!(
            (drawn - true_area).abs() <= 2.0 + true_area * 0.01,
            "drawn {drawn} vs {true_area}"
        );
        // The remainder of a tile is rounded to the nearest square: 0.9 + 0.9 squares → 2.
        let two = vec![
            (0, 0, geo::coord! { x: 10.0, y: 10.0 }, 3.6, 1),
            (0, 1, geo::coord! { x: 12.0, y: 10.0 }, 3.6, 2),
        ];
        assert_eq!(accumulate(two, &options).len(), 2);
        // At the layer's deepest zoom nothing is tiny: every parcel is its own shape.
        let z16 = zoom_shapes(layers, &infos, 16, &options);
        assert_eq!((z16.tiny, z16.shapes.len()), (0, 1000));
        // Outside the layer's zooms, nothing.
        assert!(zoom_shapes(layers, &infos, 17, &options).shapes.is_empty());
    }

    #[test]
    fn simplification_happens_in_zoom_pixels_before_cutting() {
        // A 2 km wavy line: 1 m zig-zags vanish at zoom 10 (a unit is 9.6 m) but not at 18.
        let pts: Vec<(f64, f64)> = (0..=2000)
            .map(|i| (261_000.0 + f64::from(i), 6_250_000.0 + f64::from(i % 2)))
            .collect();
        let f = Feature {
            geometry: Geometry::LineString(LineString::from(pts)),
            attributes: vec![],
            provenance: Provenance::default(),
        };
        let layer = TileLayer::with_all_fields("voirie", vec![f], 10, 18);
        let options = TileOptions::default();
        let layers = std::slice::from_ref(&layer);
        let infos = feature_infos(layers);
        let count = |z| {
            let shapes = zoom_shapes(layers, &infos, z, &options).shapes;
            match shapes[0].geometry(layers, z, &options) {
                Geometry::LineString(l) => l.0.len(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(count(10), 2);
        assert_eq!(count(18), 2001);
        assert!(rank(0, 1) != rank(0, 2) && rank(0, 1) != rank(1, 1));
        assert!((0.0..1.0).contains(&rank(3, 4)));
    }
}
