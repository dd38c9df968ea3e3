//! IGN's 92 reference points (notice NT111: NTF Lambert II étendu → Lambert-93).
//!
//! The file pairs each point twice: odd ids are IGN's values with the NTv2 grid
//! (`ntf_r93.gsb`, what PROJ uses), declared tolerance 0.1 mm; even ids are the same point with
//! IGN's other official method (the GR3DF97A geocentric grid), rounded to the millimetre.

use std::path::PathBuf;
use tuilerie_model::CrsRef;
use tuilerie_reproject::{ntf, Reprojector};

struct Point {
    id: u32,
    src: (f64, f64),
    expected: (f64, f64),
    tolerance: f64,
}

fn points() -> Vec<Point> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/crs/ign-nt111-ntf-lambert2e-to-lambert93-testpoints.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("id;") && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(';').collect();
            let f = |i: usize| c[i].trim().parse::<f64>().unwrap();
            Point {
                id: c[0].parse().unwrap(),
                src: (f(2), f(3)),
                expected: (f(5), f(6)),
                tolerance: f(7),
            }
        })
        .collect()
}

#[test]
fn ign_92_points_within_a_millimetre() {
    let pts = points();
    assert_eq!(pts.len(), 92);
    ntf::check_grid(&CrsRef::Epsg(27572), &Reprojector::new(CrsRef::Epsg(2154)))
        .expect("IGN's grid is installed (scripts/setup.sh)");
    let r = Reprojector::new(CrsRef::Epsg(2154));
    let mut coords: Vec<(f64, f64)> = pts.iter().map(|p| p.src).collect();
    r.transform_coords(&CrsRef::Epsg(27572), &mut coords)
        .unwrap();

    let mut worst_ntv2: f64 = 0.0;
    let mut worst_all: f64 = 0.0;
    let mut over_1mm = Vec::new();
    for (p, (x, y)) in pts.iter().zip(&coords) {
        let (dx, dy) = ((x - p.expected.0).abs(), (y - p.expected.1).abs());
        let d = (dx * dx + dy * dy).sqrt();
        worst_all = worst_all.max(d);
        if p.id % 2 == 1 {
            // NTv2 rows: the same method as ours; within IGN's declared 0.1 mm per axis
            // (plus the 0.05 mm of the values' 4-decimal rounding).
            assert!(
                dx <= p.tolerance + 5e-5 && dy <= p.tolerance + 5e-5,
                "point {}: off by ({dx:.5}, {dy:.5}) m",
                p.id
            );
            worst_ntv2 = worst_ntv2.max(d);
        }
        if d > 0.001 {
            over_1mm.push((p.id, d));
        }
    }
    eprintln!(
        "NTv2 rows: worst {:.3} mm; all 92 rows: worst {:.3} mm; over 1 mm: {over_1mm:?}",
        worst_ntv2 * 1e3,
        worst_all * 1e3
    );
    assert!(worst_ntv2 < 0.001);
    // One GR3DF97A row (82) is 1.3 mm from our NTv2 result: the two official methods differ by
    // that much there, and its value is rounded to the mm. Every other row is within 1 mm.
    assert!(
        over_1mm.iter().all(|(id, d)| *id == 82 && *d < 0.0015),
        "{over_1mm:?}"
    );
}

#[test]
fn the_grid_is_actually_used() {
    // Helmert instead of the grid would miss IGN's point by metres: the check proves the grid.
    let check =
        ntf::check_grid(&CrsRef::Epsg(27572), &Reprojector::new(CrsRef::Epsg(2154))).unwrap();
    assert!(check.reference_error_m < 1e-3, "{check:?}");
}
