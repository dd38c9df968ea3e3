//! From a geometry in a tile's pixel space to an MVT 2.1 feature: clip to the tile plus a
//! buffer, snap to the integer grid, repair validity on the integers, orient rings, encode.
//!
//! Polygons are clipped in floating point (geo's boolean operations), snapped, then rebuilt by
//! `i_overlay` on the integers with the non-zero fill rule and OGC output: snapping can fold a
//! thin ring onto itself, and only a repair *after* snapping guarantees valid integer
//! polygons. `i_overlay` writes exterior rings counter-clockwise in its (x, y) frame, that is
//! with a positive shoelace area on the raw tile coordinates — exactly what MVT 2.1 asks for
//! exterior rings in y-down tile space — and holes the other way, each right after its
//! exterior. The command stream itself (MoveTo/LineTo/ClosePath, zig-zag deltas, one cursor
//! for all parts) is written by geozero.

use crate::clip;
use geo::{
    coord, BoundingRect, Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon, Rect,
};
use geozero::mvt::{tile, Message, TagsBuilder, TileValue};
use geozero::ToMvt;
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{ContourDirection, IntOverlayOptions};
use i_overlay::core::simplify::Simplify;
use i_overlay::i_float::int::point::IntPoint;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tuilerie_model::Value;

/// Why a feature could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("MVT encoding: {0}")]
    Encode(String),
    #[error(transparent)]
    Archive(crate::archive::ArchiveError),
    #[error("zooms {min}–{max}: zooms go from 0 to {limit}, the lowest first", limit = crate::tile::MAX_ZOOM)]
    Zooms { min: u8, max: u8 },
}

/// The square a tile's features are clipped to: the tile (0..`extent`) plus `buffer` pixels.
fn clip_square(extent: u32, buffer: u32) -> Rect<f64> {
    let (lo, hi) = (-f64::from(buffer), f64::from(extent) + f64::from(buffer));
    Rect::new(coord! { x: lo, y: lo }, coord! { x: hi, y: hi })
}

fn snap(c: Coord<f64>) -> IntPoint {
    IntPoint::new(c.x.round() as i32, c.y.round() as i32)
}

fn to_coord(p: &IntPoint) -> Coord<f64> {
    coord! { x: f64::from(p.x), y: f64::from(p.y) }
}

/// A ring's points on the grid, without the closing repeat.
fn snapped_ring(ring: &[Coord<f64>]) -> Vec<IntPoint> {
    let mut out: Vec<IntPoint> = ring.iter().map(|c| snap(*c)).collect();
    out.dedup();
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// A ring's signed area (shoelace), whatever its closing.
fn signed_area(ring: &[Coord<f64>]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let mut sum = 0.0;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        sum += a.x * b.y - b.x * a.y;
    }
    sum / 2.0
}

/// Polygons clipped, snapped and made valid on the integer grid; `None` when nothing is left.
///
/// Each exterior ring is first turned positive and each hole negative (sources come in
/// either orientation), so that the non-zero rebuild keeps holes open whatever the input.
fn prepare_polygons(mp: &MultiPolygon<f64>, square: Rect<f64>) -> Option<MultiPolygon<f64>> {
    let whole = mp
        .bounding_rect()
        .is_some_and(|b| clip::contains(&square, &b));
    let mut rings: Vec<Vec<IntPoint>> = Vec::new();
    for p in mp {
        let parts =
            std::iter::once((p.exterior(), 1.0)).chain(p.interiors().iter().map(|r| (r, -1.0)));
        for (ring, sign) in parts {
            let mut pts: Vec<Coord<f64>> = if whole {
                ring.0.clone()
            } else {
                clip::clip_ring(&ring.0, &square)
            };
            if signed_area(&pts) * sign < 0.0 {
                pts.reverse();
            }
            let snapped = snapped_ring(&pts);
            if snapped.len() >= 3 {
                rings.push(snapped);
            }
        }
    }
    if rings.is_empty() {
        return None;
    }
    let options = IntOverlayOptions {
        output_direction: ContourDirection::CounterClockwise,
        ogc: true,
        ..Default::default()
    };
    // Non-zero: a hole is a ring turning the other way, as the clipped polygons' rings do.
    let shapes = catch_unwind(AssertUnwindSafe(|| {
        rings.simplify(FillRule::NonZero, options)
    }))
    .ok()?;
    let polygons: Vec<Polygon<f64>> = shapes
        .into_iter()
        .filter_map(|shape| {
            // i_overlay turns exteriors counter-clockwise and holes the other way, except a
            // hole touching its exterior at a vertex, seen coming out counter-clockwise too:
            // each ring's turn is set here, from its area, whatever the engine did.
            let mut contours = shape.into_iter().enumerate().map(|(i, c)| {
                let mut ring: Vec<Coord<f64>> = c.iter().map(to_coord).collect();
                let area = signed_area(&ring);
                if (i == 0 && area < 0.0) || (i > 0 && area > 0.0) {
                    ring.reverse();
                }
                if let Some(&first) = ring.first() {
                    ring.push(first);
                }
                LineString::from(ring)
            });
            let exterior = contours.next()?;
            Some(Polygon::new(exterior, contours.collect()))
        })
        .collect();
    (!polygons.is_empty()).then_some(MultiPolygon(polygons))
}

/// Lines clipped and snapped, repeated points dropped; `None` when nothing is left.
fn prepare_lines(ml: &MultiLineString<f64>, square: Rect<f64>) -> Option<MultiLineString<f64>> {
    let whole = ml
        .bounding_rect()
        .is_some_and(|b| clip::contains(&square, &b));
    let clipped: Vec<Vec<Coord<f64>>> = if whole {
        ml.0.iter().map(|l| l.0.clone()).collect()
    } else {
        ml.0.iter()
            .flat_map(|l| clip::clip_line(&l.0, &square))
            .collect()
    };
    let parts: Vec<LineString<f64>> = clipped
        .iter()
        .filter_map(|l| {
            let mut pts: Vec<IntPoint> = l.iter().map(|c| snap(*c)).collect();
            pts.dedup();
            (pts.len() >= 2).then(|| LineString::from(pts.iter().map(to_coord).collect::<Vec<_>>()))
        })
        .collect();
    (!parts.is_empty()).then_some(MultiLineString(parts))
}

/// A geometry in a tile's pixel space (y down) made ready for MVT: clipped to the tile plus
/// `buffer` pixels, snapped to the integer grid, polygons repaired and oriented, degenerate
/// parts dropped. `None` when nothing is left in the tile.
pub fn prepare(g: &Geometry<f64>, extent: u32, buffer: u32) -> Option<Geometry<f64>> {
    let square = clip_square(extent, buffer);
    let inside = |c: &Coord<f64>| {
        c.x >= square.min().x
            && c.x <= square.max().x
            && c.y >= square.min().y
            && c.y <= square.max().y
    };
    match g {
        Geometry::Point(p) => inside(&p.0).then(|| Geometry::Point(Point(to_coord(&snap(p.0))))),
        Geometry::MultiPoint(m) => {
            let mut pts: Vec<IntPoint> = m
                .iter()
                .filter(|p| inside(&p.0))
                .map(|p| snap(p.0))
                .collect();
            pts.sort_by_key(|p| (p.x, p.y));
            pts.dedup();
            (!pts.is_empty()).then(|| {
                Geometry::MultiPoint(MultiPoint(pts.iter().map(|p| Point(to_coord(p))).collect()))
            })
        }
        Geometry::LineString(l) => {
            prepare_lines(&MultiLineString(vec![l.clone()]), square).map(single_line)
        }
        Geometry::MultiLineString(m) => prepare_lines(m, square).map(single_line),
        Geometry::Polygon(p) => {
            prepare_polygons(&MultiPolygon(vec![p.clone()]), square).map(single_polygon)
        }
        Geometry::MultiPolygon(m) => prepare_polygons(m, square).map(single_polygon),
        Geometry::Rect(r) => {
            prepare_polygons(&MultiPolygon(vec![r.to_polygon()]), square).map(single_polygon)
        }
        Geometry::Triangle(t) => {
            prepare_polygons(&MultiPolygon(vec![t.to_polygon()]), square).map(single_polygon)
        }
        Geometry::Line(l) => prepare_lines(
            &MultiLineString(vec![LineString::from(vec![l.start, l.end])]),
            square,
        )
        .map(single_line),
        // MVT has no collections: a layer's features are points, lines or polygons.
        Geometry::GeometryCollection(_) => None,
    }
}

fn single_line(m: MultiLineString<f64>) -> Geometry<f64> {
    match <[LineString<f64>; 1]>::try_from(m.0) {
        Ok([one]) => Geometry::LineString(one),
        Err(many) => Geometry::MultiLineString(MultiLineString(many)),
    }
}

fn single_polygon(m: MultiPolygon<f64>) -> Geometry<f64> {
    match <[Polygon<f64>; 1]>::try_from(m.0) {
        Ok([one]) => Geometry::Polygon(one),
        Err(many) => Geometry::MultiPolygon(MultiPolygon(many)),
    }
}

/// A polygon or line too small for the grid snaps to nothing: it is drawn as one unit (a
/// square, a segment) at its centre, in the one tile that holds the centre, so that no feature
/// vanishes from the tiles. Only for shapes less than a unit thick — a large polygon whose
/// hole or notch covers a tile must leave that tile empty.
fn one_pixel(g: &Geometry<f64>, extent: u32) -> Option<Geometry<f64>> {
    use geo::{Area, BoundingRect, Centroid};
    let b = g.bounding_rect()?;
    let (thin, short) = (
        b.width().min(b.height()) < 1.0,
        b.width().max(b.height()) < 1.0,
    );
    let linear = match g {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) if thin || g.unsigned_area() < 1.0 => {
            false
        }
        Geometry::LineString(_) | Geometry::MultiLineString(_) if short => true,
        _ => return None,
    };
    let c = g.centroid()?;
    let e = f64::from(extent);
    if !(c.x() >= 0.0 && c.x() < e && c.y() >= 0.0 && c.y() < e) {
        return None;
    }
    let (x, y) = (c.x().floor(), c.y().floor());
    Some(if linear {
        Geometry::LineString(LineString::from(vec![(x, y), (x + 1.0, y)]))
    } else {
        // Exterior ring with a positive shoelace area in tile space.
        Geometry::Polygon(Polygon::new(
            LineString::from(vec![
                (x, y),
                (x + 1.0, y),
                (x + 1.0, y + 1.0),
                (x, y + 1.0),
                (x, y),
            ]),
            vec![],
        ))
    })
}

/// An attribute as an MVT value; `None` for a null (MVT has no nulls: the key is left out).
pub fn tile_value(v: &Value) -> Option<TileValue> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => TileValue::Bool(*b),
        Value::Int(i) => TileValue::Int(*i),
        Value::Real(r) => TileValue::Double(*r),
        Value::Text(t) => TileValue::Str(t.clone()),
        other => TileValue::Str(other.as_text().unwrap_or_default()),
    })
}

/// The MVT geometry of a feature whose geometry is in a tile's pixel space (no id, no tags
/// yet); `None` when nothing of it is in the tile. A pure function of its input, so that a
/// tile's features can be encoded on several threads ([`LayerBuilder::push`] then adds them
/// in order).
pub fn encode_geometry(
    geometry: &Geometry<f64>,
    extent: u32,
    buffer: u32,
) -> Result<Option<tile::Feature>, TileError> {
    let Some(g) = prepare(geometry, extent, buffer).or_else(|| one_pixel(geometry, extent)) else {
        return Ok(None);
    };
    g.to_mvt_unscaled()
        .map(Some)
        .map_err(|e| TileError::Encode(e.to_string()))
}

/// One layer of a tile, feature by feature.
pub struct LayerBuilder {
    name: String,
    extent: u32,
    buffer: u32,
    features: Vec<tile::Feature>,
    tags: TagsBuilder,
}

impl LayerBuilder {
    /// A layer of tiles `extent` pixels wide, features clipped `buffer` pixels beyond them.
    pub fn new(name: &str, extent: u32, buffer: u32) -> Self {
        LayerBuilder {
            name: name.to_string(),
            extent,
            buffer,
            features: Vec::new(),
            tags: TagsBuilder::new(),
        }
    }

    /// Add a feature whose geometry is in the tile's pixel space. Returns whether anything of
    /// it is in the tile.
    pub fn add(
        &mut self,
        geometry: &Geometry<f64>,
        id: Option<u64>,
        properties: &[(&str, &Value)],
    ) -> Result<bool, TileError> {
        match encode_geometry(geometry, self.extent, self.buffer)? {
            Some(feature) => {
                self.push(feature, id, properties);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Add a feature whose geometry [`encode_geometry`] made (with this layer's extent and
    /// buffer): its id and tags are set here, in the order features come, since the tags are
    /// numbered by first use.
    pub fn push(
        &mut self,
        mut feature: tile::Feature,
        id: Option<u64>,
        properties: &[(&str, &Value)],
    ) {
        feature.id = id;
        for (key, value) in properties {
            if let Some(v) = tile_value(value) {
                let (k, v) = self.tags.insert_ref(key, v);
                feature.tags.push(k);
                feature.tags.push(v);
            }
        }
        self.features.push(feature);
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The finished layer.
    pub fn finish(self) -> tile::Layer {
        let (keys, values) = self.tags.into_tags();
        tile::Layer {
            version: 2,
            name: self.name,
            features: self.features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(self.extent),
        }
    }
}

/// A tile's bytes (uncompressed protobuf) from its non-empty layers.
pub fn encode_tile(layers: Vec<tile::Layer>) -> Vec<u8> {
    geozero::mvt::Tile {
        layers: layers
            .into_iter()
            .filter(|l| !l.features.is_empty())
            .collect(),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Area, Validation};

    /// Decoded commands, (id, count) each, and absolute positions, one list per MoveTo.
    type Decoded = (Vec<(u32, u32)>, Vec<Vec<(i64, i64)>>);

    /// A minimal, independent decoder of MVT geometry commands.
    fn decode(geometry: &[u32]) -> Decoded {
        let (mut cmds, mut parts) = (Vec::new(), Vec::<Vec<(i64, i64)>>::new());
        let (mut x, mut y, mut i) = (0i64, 0i64, 0);
        let unzig = |n: u32| ((n >> 1) as i64) ^ -((n & 1) as i64);
        while i < geometry.len() {
            let (id, count) = (geometry[i] & 7, geometry[i] >> 3);
            cmds.push((id, count));
            i += 1;
            if id == 7 {
                continue;
            }
            for _ in 0..count {
                x += unzig(geometry[i]);
                y += unzig(geometry[i + 1]);
                i += 2;
                if id == 1 {
                    parts.push(Vec::new());
                }
                parts.last_mut().expect("MoveTo first").push((x, y));
            }
        }
        (cmds, parts)
    }

    fn shoelace(ring: &[(i64, i64)]) -> i64 {
        (0..ring.len())
            .map(|k| {
                let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum()
    }

    fn encoded(g: Geometry<f64>) -> tile::Feature {
        let mut l = LayerBuilder::new("t", 4096, 64);
        assert!(l.add(&g, Some(7), &[]).unwrap());
        l.finish().features.remove(0)
    }

    #[test]
    fn a_square_is_moveto_lineto_closepath_with_zigzag_deltas_and_positive_area() {
        // Drawn clockwise on screen in y-down terms (negative shoelace): must be turned round.
        let sq: Geometry = polygon![(x: 10.2, y: 10.0), (x: 10.0, y: 20.0), (x: 20.0, y: 20.0), (x: 20.0, y: 10.0)].into();
        let f = encoded(sq);
        assert_eq!(f.r#type, Some(tile::GeomType::Polygon as i32));
        assert_eq!(f.id, Some(7));
        let (cmds, parts) = decode(&f.geometry);
        assert_eq!(cmds, vec![(1, 1), (2, 3), (7, 1)]);
        assert_eq!(parts.len(), 1);
        assert!(
            shoelace(&parts[0]) > 0,
            "exterior ring positive in tile space: {parts:?}"
        );
        assert_eq!(shoelace(&parts[0]), 2 * 100);
        let mut corners = parts[0].clone();
        corners.sort();
        assert_eq!(corners, vec![(10, 10), (10, 20), (20, 10), (20, 20)]);
        // Zig-zag: the deltas around a square are +10 and −10, written 20 and 19.
        let params: Vec<u32> = f.geometry[4..10].to_vec();
        assert!(params.iter().all(|p| [0, 19, 20].contains(p)), "{params:?}");
        assert!(params.contains(&19) && params.contains(&20));
    }

    #[test]
    fn holes_follow_their_exterior_and_turn_the_other_way() {
        let p = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (100.0, 0.0),
                (100.0, 100.0),
                (0.0, 100.0),
                (0.0, 0.0),
            ]),
            vec![LineString::from(vec![
                (20.0, 20.0),
                (20.0, 80.0),
                (80.0, 80.0),
                (80.0, 20.0),
                (20.0, 20.0),
            ])],
        );
        let (cmds, parts) = decode(&encoded(p.into()).geometry);
        assert_eq!(cmds.iter().filter(|c| c.0 == 1).count(), 2);
        assert!(
            shoelace(&parts[0]) > 0 && shoelace(&parts[1]) < 0,
            "{parts:?}"
        );
        assert_eq!(
            shoelace(&parts[0]) + shoelace(&parts[1]),
            2 * (10_000 - 3_600)
        );
    }

    #[test]
    fn a_hole_touching_its_exterior_still_turns_negative() {
        // Parcel 91027479AC0926 (a courtyard building) at zoom 10, simplified: three holes,
        // one touching the exterior's edge at (2906, 3650). The overlay engine gave that one
        // back turning like an exterior; decoders then read it as a second polygon.
        let ring = |pts: &[(f64, f64)]| LineString::from(pts.to_vec());
        let p = Polygon::new(
            ring(&[
                (2888.0, 3647.0),
                (2884.0, 3647.0),
                (2881.0, 3660.0),
                (2903.0, 3662.0),
                (2885.0, 3659.0),
                (2906.0, 3659.0),
                (2906.0, 3649.0),
                (2888.0, 3647.0),
            ]),
            vec![
                ring(&[
                    (2903.0, 3658.0),
                    (2904.0, 3650.0),
                    (2906.0, 3650.0),
                    (2905.0, 3658.0),
                    (2903.0, 3658.0),
                ]),
                ring(&[
                    (2891.0, 3657.0),
                    (2886.0, 3656.0),
                    (2887.0, 3651.0),
                    (2885.0, 3648.0),
                    (2903.0, 3650.0),
                    (2902.0, 3658.0),
                    (2891.0, 3657.0),
                ]),
                ring(&[
                    (2884.0, 3660.0),
                    (2882.0, 3659.0),
                    (2884.0, 3651.0),
                    (2886.0, 3652.0),
                    (2884.0, 3660.0),
                ]),
            ],
        );
        let (cmds, parts) = decode(&encoded(p.into()).geometry);
        assert_eq!(cmds.iter().filter(|c| c.0 == 1).count(), 4, "{parts:?}");
        assert!(shoelace(&parts[0]) > 0, "{parts:?}");
        assert!(parts[1..].iter().all(|r| shoelace(r) < 0), "{parts:?}");
    }

    #[test]
    fn a_bow_tie_comes_out_valid_and_multi_parts_share_one_cursor() {
        let bow: Geometry = polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 100.0), (x: 100.0, y: 0.0), (x: 0.0, y: 100.0)].into();
        let g = prepare(&bow, 4096, 64).unwrap();
        assert!(g.is_valid(), "{g:?}");
        assert!((g.unsigned_area() - 5_000.0).abs() < 1.0);
        let (_, parts) = decode(&encoded(bow).geometry);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|r| shoelace(r) > 0));
        // Positions decoded with one cursor across parts land on the triangles' vertices.
        assert!(parts
            .iter()
            .flatten()
            .all(|&(x, y)| (0..=100).contains(&x) && (0..=100).contains(&y)));
    }

    #[test]
    fn clipping_to_the_buffer_and_empty_results() {
        // A polygon reaching far outside the tile is clipped at the buffer (64 px).
        let big: Geometry = polygon![(x: -1000.0, y: -1000.0), (x: 5000.0, y: -1000.0), (x: 5000.0, y: 5000.0), (x: -1000.0, y: 5000.0)].into();
        let (_, parts) = decode(&encoded(big).geometry);
        let xs: Vec<i64> = parts[0].iter().map(|p| p.0).collect();
        assert_eq!(
            (*xs.iter().min().unwrap(), *xs.iter().max().unwrap()),
            (-64, 4160)
        );
        // Outside the tile and its buffer: nothing.
        let away: Geometry =
            polygon![(x: 5000.0, y: 0.0), (x: 5100.0, y: 0.0), (x: 5100.0, y: 100.0)].into();
        assert!(prepare(&away, 4096, 64).is_none());
        // A sliver thinner than half a pixel snaps to nothing: it is drawn as one pixel at its
        // centre, in the tile holding the centre only.
        let sliver: Geometry =
            polygon![(x: 10.0, y: 10.0), (x: 200.0, y: 10.2), (x: 10.0, y: 10.3)].into();
        assert!(prepare(&sliver, 4096, 64).is_none());
        let (_, parts) = decode(&encoded(sliver).geometry);
        assert_eq!(parts.len(), 1);
        assert_eq!(shoelace(&parts[0]), 2);
        let beyond: Geometry =
            polygon![(x: -20.0, y: 10.0), (x: -10.0, y: 10.2), (x: -20.0, y: 10.3)].into();
        let mut l = LayerBuilder::new("t", 4096, 64);
        assert!(
            !l.add(&beyond, None, &[]).unwrap(),
            "its centre is in the neighbouring tile"
        );
        // A ring-shaped polygon whose hole covers the whole tile (and its centre): nothing is
        // drawn there, no stray pixel.
        let ring = Polygon::new(
            LineString::from(vec![
                (-9000.0, -9000.0),
                (13000.0, -9000.0),
                (13000.0, 13000.0),
                (-9000.0, 13000.0),
                (-9000.0, -9000.0),
            ]),
            vec![LineString::from(vec![
                (-5000.0, -5000.0),
                (-5000.0, 9000.0),
                (9000.0, 9000.0),
                (9000.0, -5000.0),
                (-5000.0, -5000.0),
            ])],
        );
        let mut l = LayerBuilder::new("t", 4096, 64);
        assert!(!l.add(&ring.into(), None, &[]).unwrap());
        // A line shorter than a unit is drawn as one unit where it is.
        let short: Geometry = LineString::from(vec![(7.2, 7.2), (7.4, 7.3)]).into();
        let (_, parts) = decode(&encoded(short).geometry);
        assert_eq!(parts, vec![vec![(7, 7), (8, 7)]]);
        // A line crossing the tile is cut at the buffer; repeated points after snapping go.
        let line: Geometry = LineString::from(vec![
            (-500.0, 10.0),
            (100.0, 10.0),
            (100.2, 10.1),
            (4500.0, 10.0),
        ])
        .into();
        let f = encoded(line);
        let (cmds, parts) = decode(&f.geometry);
        assert_eq!(parts[0].first(), Some(&(-64, 10)));
        assert_eq!(parts[0].last(), Some(&(4160, 10)));
        assert!(!cmds.iter().any(|c| c.0 == 2 && c.1 == 0));
        assert!(
            parts[0].windows(2).all(|w| w[0] != w[1]),
            "no zero-length LineTo: {parts:?}"
        );
        let flat: Geometry = LineString::from(vec![(10.0, 10.0), (10.2, 10.1)]).into();
        assert!(prepare(&flat, 4096, 64).is_none());
    }

    #[test]
    fn properties_go_to_the_layer_tables_and_nulls_are_left_out() {
        let mut l = LayerBuilder::new("parcelles", 4096, 64);
        let (id, null, area) = (
            Value::Text("91027000AB0001".into()),
            Value::Null,
            Value::Int(600),
        );
        let p: Geometry = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0)].into();
        l.add(
            &p,
            None,
            &[("id", &id), ("contenance", &area), ("updated", &null)],
        )
        .unwrap();
        l.add(&p, None, &[("id", &id)]).unwrap();
        let layer = l.finish();
        assert_eq!(layer.keys, vec!["id", "contenance"]);
        assert_eq!(
            layer.values.len(),
            2,
            "the repeated id value is stored once"
        );
        assert_eq!(layer.features[0].tags, vec![0, 0, 1, 1]);
        assert_eq!(layer.features[1].tags, vec![0, 0]);
        let bytes = encode_tile(vec![layer, LayerBuilder::new("empty", 4096, 64).finish()]);
        let back = geozero::mvt::Tile::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.layers.len(), 1, "empty layers are not written");
        assert_eq!(back.layers[0].version, 2);
        assert_eq!(back.layers[0].extent, Some(4096));
    }
}
