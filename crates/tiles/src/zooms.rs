//! Guessing a tileset's zoom range from its data, when the user gives none.
//!
//! - **maxzoom**: the first zoom at which the median feature is [`MEDIAN_PX`] pixels (of a
//!   256-pixel tile) across — a parcel large enough to click and label, a commune large
//!   enough to read its shape. A feature's size is the side of a square of its area
//!   (polygons), its length (lines), or the mean spacing of the layer's points. Deeper zooms
//!   are drawn by overzooming, so nothing is lost by stopping there.
//! - **minzoom**: two zooms before the whole data fits in one tile: the commune nouvelle seen
//!   in its surroundings.

use crate::layer::TileLayer;
use crate::tile::HALF_WORLD;
use geo::{Area, Euclidean, Geometry, Length};

/// Pixels (of a 256-pixel tile) the median feature spans at the guessed maxzoom.
pub const MEDIAN_PX: f64 = 40.0;
/// The deepest guessed zoom (a pixel is then 0.6 m of Web Mercator, about 0.4 m in France).
pub const MAX_GUESS: u8 = 18;

/// The side of a 256-pixel tile's pixel at zoom `z`, Web Mercator metres.
fn pixel_m(z: u8) -> f64 {
    2.0 * HALF_WORLD / 256.0 / (1u64 << z) as f64
}

/// The size of one feature (metres), `None` for points (sized by their spacing).
fn size_m(g: &Geometry<f64>) -> Option<f64> {
    match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) | Geometry::GeometryCollection(_) => None,
        Geometry::Line(_) | Geometry::LineString(_) | Geometry::MultiLineString(_) => {
            Some(match g {
                Geometry::Line(l) => Euclidean.length(l),
                Geometry::LineString(l) => Euclidean.length(l),
                Geometry::MultiLineString(l) => Euclidean.length(l),
                _ => 0.0,
            })
        }
        _ => Some(g.unsigned_area().sqrt()),
    }
}

/// (minzoom, maxzoom) for these layers; `None` when they hold no feature.
pub fn guess_zooms(layers: &[TileLayer]) -> Option<(u8, u8)> {
    let mut sizes: Vec<f64> = Vec::new();
    let mut bounds = None;
    for layer in layers {
        let Some(b) = layer.bounds() else { continue };
        let mut points = 0usize;
        for f in &layer.features {
            match size_m(&f.geometry) {
                Some(s) if s > 0.0 && s.is_finite() => sizes.push(s),
                Some(_) => {}
                None => points += 1,
            }
        }
        if points > 0 {
            let spacing = (b.width().max(1.0) * b.height().max(1.0) / points as f64).sqrt();
            sizes.extend(std::iter::repeat_n(spacing, points));
        }
        bounds = Some(match bounds {
            None => b,
            Some(a) => crate::archive::union(a, b),
        });
    }
    let bounds: geo::Rect<f64> = bounds?;
    let maxzoom = if sizes.is_empty() {
        MAX_GUESS
    } else {
        let mid = sizes.len() / 2;
        let (_, median, _) = sizes.select_nth_unstable_by(mid, f64::total_cmp);
        let median = *median;
        (0..=MAX_GUESS)
            .find(|&z| median / pixel_m(z) >= MEDIAN_PX)
            .unwrap_or(MAX_GUESS)
    };
    let span = bounds.width().max(bounds.height()).max(1.0);
    let fit = (2.0 * HALF_WORLD / span).log2().floor().clamp(0.0, 24.0) as u8;
    let minzoom = fit.saturating_sub(2).min(maxzoom);
    Some((minzoom, maxzoom))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::tests::square_m;
    use tuilerie_model::Feature;

    fn squares(side: f64, n: usize, spacing: f64) -> Vec<Feature> {
        (0..n)
            .map(|i| {
                square_m(
                    261_000.0 + (i % 100) as f64 * spacing,
                    6_250_000.0 + (i / 100) as f64 * spacing,
                    side,
                )
            })
            .collect()
    }

    #[test]
    fn parcels_go_deep_and_communes_stop_early() {
        // Parcels: 36 m of Web Mercator (24 m on the ground in the Paris region).
        let parcels = TileLayer::with_all_fields("parcelles", squares(36.0, 2000, 40.0), 0, 0);
        assert_eq!(guess_zooms(&[parcels]), Some((11, 18)));
        // Communes: 5 km squares over 500 km.
        let communes =
            TileLayer::with_all_fields("communes", squares(5000.0, 10_000, 5000.0), 0, 0);
        let (min, max) = guess_zooms(&[communes]).unwrap();
        assert_eq!((min, max), (4, 11));
        assert_eq!(guess_zooms(&[]), None);
    }
}
