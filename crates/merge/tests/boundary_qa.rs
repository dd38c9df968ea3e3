//! Boundary QA on synthetic communes: gaps, straddles, overlaps clipped on request.

mod common;

use common::{manifest, rect, run, text};
use geo::{Area, Geometry, MultiPolygon};
use std::collections::BTreeMap;
use tuilerie_model::{Feature, Theme, Value};

fn parcel(commune: &str, n: usize, g: Geometry) -> Feature {
    common::feature(
        commune,
        n,
        g,
        &[("id", text(&format!("{commune}000AB{n:04}")))],
    )
}

/// Commune A is x < 100, commune B x ≥ 100 (both 0 ≤ y < 100).
fn outlines() -> BTreeMap<String, MultiPolygon<f64>> {
    let mp = |g: Geometry| match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        _ => unreachable!(),
    };
    BTreeMap::from([
        ("91027".to_string(), mp(rect(0.0, 0.0, 100.0, 100.0))),
        ("91326".to_string(), mp(rect(100.0, 0.0, 100.0, 100.0))),
    ])
}

/// Four rows of parcels each side; B's first column starts 0.3 m short of the boundary in
/// its top row (a gap), and overlaps A by 0.5 m in its bottom row.
fn parcels() -> Vec<Feature> {
    let mut v = Vec::new();
    for row in 0..4 {
        let y = row as f64 * 25.0;
        v.push(parcel("91027", row, rect(50.0, y, 50.0, 25.0)));
        let (x, w) = match row {
            3 => (100.3, 49.7),
            0 => (99.5, 50.5),
            _ => (100.0, 50.0),
        };
        v.push(parcel("91326", row, rect(x, y, w, 25.0)));
    }
    v
}

#[test]
fn gaps_and_overlaps_along_the_shared_boundary_are_reported_not_changed() {
    let m = manifest("");
    let o = outlines();
    let out = run(Theme::Parcelles, parcels(), &m, &o);
    assert_eq!(out.features.len(), 8, "nothing merged");
    let gaps: Vec<_> = out.qa.iter().filter(|q| q.kind == "gap").collect();
    assert_eq!(gaps.len(), 1, "{:?}", out.qa);
    assert!(
        (gaps[0].measure - 0.3 * 25.0).abs() < 0.05,
        "{}",
        gaps[0].measure
    );
    let overlaps: Vec<_> = out.qa.iter().filter(|q| q.kind == "overlap").collect();
    assert_eq!(overlaps.len(), 1);
    assert!((overlaps[0].measure - 0.5 * 25.0).abs() < 1e-6);
    // B's bottom parcel lies 1 % in A: under the 10 % straddle share.
    assert_eq!(out.stats.straddles, 0);
    // Ids follow the merger: B's parcels take préfixe 326 under the kept code.
    assert!(out
        .features
        .iter()
        .filter(|f| f.provenance.commune == "91326")
        .all(|f| {
            f.get("id")
                .and_then(Value::as_text)
                .is_some_and(|id| id.starts_with("91027326AB"))
        }));
}

#[test]
fn a_parcel_reaching_far_into_the_neighbour_straddles() {
    let m = manifest("");
    let o = outlines();
    let mut v = parcels();
    v.push(parcel("91027", 9, rect(70.0, 110.0, 0.0, 0.0))); // empty: ignored
    v.pop();
    v.push(parcel("91326", 9, rect(80.0, 0.0, 40.0, 10.0)));
    let out = run(Theme::Batiments, v, &m, &o);
    let s: Vec<_> = out.qa.iter().filter(|q| q.kind == "straddle").collect();
    assert_eq!(s.len(), 1, "{:?}", s);
    assert_eq!(
        (s[0].commune_a.as_str(), s[0].commune_b.as_str()),
        ("91326", "91027")
    );
    assert!((s[0].measure - 0.5).abs() < 1e-9);
}

#[test]
fn clip_overlaps_cuts_the_lower_ranked_parcel_and_logs_it() {
    let m = manifest("[themes.parcelles]\nclip_overlaps = true");
    let o = outlines();
    let out = run(Theme::Parcelles, parcels(), &m, &o);
    assert_eq!(out.stats.clipped, 1);
    let clipped = out
        .decisions
        .iter()
        .find(|d| d.decision == "clipped")
        .unwrap();
    assert!(
        clipped.other.starts_with("91326/"),
        "the kept commune wins: {clipped:?}"
    );
    let b0 = out
        .features
        .iter()
        .find(|f| f.provenance.commune == "91326" && f.provenance.source_id == "0")
        .unwrap();
    assert!(
        (b0.geometry.unsigned_area() - 50.0 * 25.0).abs() < 1e-6,
        "{}",
        b0.geometry.unsigned_area()
    );
    let a0 = out
        .features
        .iter()
        .find(|f| f.provenance.commune == "91027" && f.provenance.source_id == "0")
        .unwrap();
    assert!(
        (a0.geometry.unsigned_area() - 50.0 * 25.0).abs() < 1e-6,
        "the winner is untouched"
    );
}

#[test]
fn odd_geometries_go_through_every_step_without_panicking() {
    use geo::{Coord, GeometryCollection, LineString, MultiPolygon, Point, Polygon};
    let m = manifest("[themes.divers]\nwithin_delivery = true");
    let o = outlines();
    let c = |x: f64, y: f64| Coord {
        x: 650_000.0 + x,
        y: 6_840_000.0 + y,
    };
    let bow_tie = Polygon::new(
        LineString::from(vec![
            c(90.0, 0.0),
            c(110.0, 10.0),
            c(110.0, 0.0),
            c(90.0, 10.0),
            c(90.0, 0.0),
        ]),
        vec![],
    );
    let flat = Polygon::new(
        LineString::from(vec![c(99.0, 5.0), c(101.0, 5.0), c(99.0, 5.0)]),
        vec![],
    );
    let odd: Vec<Geometry> = vec![
        Geometry::MultiPolygon(MultiPolygon(vec![])),
        Geometry::Polygon(bow_tie.clone()),
        Geometry::Polygon(bow_tie),
        Geometry::Polygon(flat),
        Geometry::GeometryCollection(GeometryCollection(vec![
            rect(95.0, 0.0, 10.0, 10.0),
            Point::from(c(100.0, 5.0)).into(),
        ])),
        Geometry::LineString(LineString::from(vec![c(100.0, 5.0)])),
        Geometry::LineString(LineString::from(vec![
            c(95.0, 5.0),
            c(95.0, 5.0),
            c(105.0, 5.0),
            c(105.0, 5.0),
        ])),
        Geometry::Point(Point::from(c(100.0, 5.0))),
    ];
    for theme in [
        Theme::Parcelles,
        Theme::Voirie,
        Theme::Eclairage,
        Theme::Custom("divers".into()),
    ] {
        let features: Vec<Feature> = odd
            .iter()
            .enumerate()
            .map(|(i, g)| parcel(if i % 2 == 0 { "91027" } else { "91326" }, i, g.clone()))
            .collect();
        let out = run(theme.clone(), features, &m, &o);
        assert!(out.stats.reconciles(), "{theme}: {:?}", out.stats);
        assert_eq!(out.stats.input, odd.len());
    }
}
