//! The Web Mercator tile grid (EPSG:3857, XYZ numbering: y = 0 at the north).

use geo::{coord, Coord, Rect};

/// Half the side of the Web Mercator square, metres.
pub const HALF_WORLD: f64 = 20_037_508.342_789_244;

/// The deepest zoom tuilerie makes (a tile is then 15 cm wide).
pub const MAX_ZOOM: u8 = 24;

/// One tile.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// The tile, if `x` and `y` are on the grid of zoom `z`.
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        let n = 1u64 << z.min(MAX_ZOOM);
        (z <= MAX_ZOOM && u64::from(x) < n && u64::from(y) < n).then_some(TileId { z, x, y })
    }

    /// The side of a tile of zoom `z`, metres.
    pub fn size_m(z: u8) -> f64 {
        2.0 * HALF_WORLD / f64::from(1u32 << z.min(MAX_ZOOM))
    }

    /// The tile's square in Web Mercator metres.
    pub fn bounds(&self) -> Rect<f64> {
        let s = Self::size_m(self.z);
        let minx = -HALF_WORLD + f64::from(self.x) * s;
        let maxy = HALF_WORLD - f64::from(self.y) * s;
        Rect::new(
            coord! { x: minx, y: maxy - s },
            coord! { x: minx + s, y: maxy },
        )
    }

    /// A Web Mercator point in this tile's pixel space: 0..`extent` across, y down.
    pub fn to_pixels(&self, c: Coord<f64>, extent: u32) -> Coord<f64> {
        let b = self.bounds();
        let k = f64::from(extent) / Self::size_m(self.z);
        coord! { x: (c.x - b.min().x) * k, y: (b.max().y - c.y) * k }
    }

    /// The row of this tile in MBTiles' TMS numbering (y = 0 at the south).
    pub fn tms_row(&self) -> u32 {
        ((1u64 << self.z) - 1 - u64::from(self.y)) as u32
    }

    /// The tiles of zoom `z` that a Web Mercator rectangle touches, row by row.
    pub fn covering(r: Rect<f64>, z: u8) -> impl Iterator<Item = TileId> {
        let s = Self::size_m(z);
        let last = (1u64 << z.min(MAX_ZOOM)) as f64 - 1.0;
        let col = |x: f64| ((x + HALF_WORLD) / s).floor().clamp(0.0, last) as u32;
        let row = |y: f64| ((HALF_WORLD - y) / s).floor().clamp(0.0, last) as u32;
        let (x0, x1) = (col(r.min().x), col(r.max().x));
        let (y0, y1) = (row(r.max().y), row(r.min().y));
        (y0..=y1).flat_map(move |y| (x0..=x1).map(move |x| TileId { z, x, y }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_bounds_pixels_and_tms_rows() {
        let world = TileId::new(0, 0, 0).unwrap();
        assert_eq!(
            world.bounds().min(),
            coord! { x: -HALF_WORLD, y: -HALF_WORLD }
        );
        let near =
            |a: Coord<f64>, b: Coord<f64>| (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9;
        assert!(near(
            world.to_pixels(coord! { x: 0.0, y: 0.0 }, 4096),
            coord! { x: 2048.0, y: 2048.0 }
        ));
        // North-west corner is (0, 0) in pixels, the south-east (4096, 4096): y grows southwards.
        assert!(near(
            world.to_pixels(coord! { x: -HALF_WORLD, y: HALF_WORLD }, 4096),
            coord! { x: 0.0, y: 0.0 }
        ));
        assert!(near(
            world.to_pixels(coord! { x: HALF_WORLD, y: -HALF_WORLD }, 4096),
            coord! { x: 4096.0, y: 4096.0 }
        ));
        assert!(TileId::new(1, 2, 0).is_none());
        let t = TileId::new(3, 5, 1).unwrap();
        assert_eq!(t.tms_row(), 6);
        // Paris (2.35° E, 48.85° N) is in tile 10/518/352.
        let paris = coord! { x: 261_600.0, y: 6_250_000.0 };
        let tiles: Vec<TileId> = TileId::covering(Rect::new(paris, paris), 10).collect();
        assert_eq!(
            tiles,
            vec![TileId {
                z: 10,
                x: 518,
                y: 352
            }]
        );
        let r = Rect::new(coord! { x: -1.0, y: -1.0 }, coord! { x: 1.0, y: 1.0 });
        assert_eq!(TileId::covering(r, 1).count(), 4);
    }
}
