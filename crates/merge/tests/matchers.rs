//! Each matcher through `merge_theme`, with the near misses that must not match, and the
//! output's independence from input order and thread count.

mod common;

use common::{feature, manifest, rect, text, X0, Y0};
use geo::{polygon, Geometry, LineString};
use std::collections::BTreeMap;
use tuilerie_merge::ThemeMerge;
use tuilerie_model::{Manifest, Theme, Value};

fn run(theme: Theme, features: Vec<tuilerie_model::Feature>, m: &Manifest) -> ThemeMerge {
    common::run(theme, features, m, &BTreeMap::new())
}

#[test]
fn key_match_confirmed_by_geometry_and_same_key_elsewhere_is_a_conflict() {
    let m = manifest("");
    let id = "91027000AB0001";
    let out = run(
        Theme::Parcelles,
        vec![
            feature("91027", 1, rect(X0, Y0, 20.0, 30.0), &[("id", text(id))]),
            // The same parcel, surveyed 40 cm off: a key match.
            feature(
                "91326",
                1,
                rect(X0 + 0.4, Y0, 20.0, 30.0),
                &[("id", text(id)), ("contenance", Value::Int(600))],
            ),
            // Same key 100 m away: the key alone does not merge.
            feature(
                "91326",
                2,
                rect(X0 + 100.0, Y0, 20.0, 30.0),
                &[("id", text("91027000AB0002"))],
            ),
            feature(
                "91027",
                2,
                rect(X0 + 100.5, Y0 + 40.0, 20.0, 30.0),
                &[("id", text("91027000AB0002"))],
            ),
        ],
        &m,
    );
    assert_eq!(out.stats.merged_away, 1);
    assert_eq!(out.features.len(), 3);
    let merged = out
        .features
        .iter()
        .find(|f| f.get("id") == Some(&text(id)))
        .unwrap();
    assert_eq!(
        merged.provenance.commune, "91027",
        "the kept commune has priority"
    );
    assert_eq!(
        merged.get("contenance"),
        Some(&Value::Int(600)),
        "missing attribute filled from the copy"
    );
    let d = &out.decisions[0];
    assert_eq!((d.matcher, d.decision), ("key", "merged"));
    assert!(d.score > 0.95, "IoU {}", d.score);
    // The 0002 pair's envelopes are 10 m apart: beyond the tolerance, not even a candidate.
    assert_eq!(out.stats.conflicts, 0);
}

#[test]
fn same_key_overlapping_badly_is_a_conflict_not_a_merge() {
    let m = manifest("");
    let id = "91027000AB0001";
    let out = run(
        Theme::Parcelles,
        vec![
            feature("91027", 1, rect(X0, Y0, 20.0, 30.0), &[("id", text(id))]),
            feature(
                "91326",
                1,
                rect(X0 + 15.0, Y0, 20.0, 30.0),
                &[("id", text(id))],
            ),
        ],
        &m,
    );
    assert_eq!(out.stats.merged_away, 0);
    assert_eq!(out.stats.conflicts, 1);
    assert_eq!(out.qa[0].kind, "conflict");
    assert!(out.qa[0].detail.contains("same key"));
}

#[test]
fn overlap_matcher_merges_a_duplicate_and_keeps_neighbours_overlapping_by_a_sliver() {
    let m = manifest("");
    let out = run(
        Theme::Batiments,
        vec![
            feature("91027", 1, rect(X0, Y0, 10.0, 10.0), &[]),
            // A copy 20 cm off: IoU 0.96.
            feature("91326", 1, rect(X0 + 0.2, Y0, 10.0, 10.0), &[]),
            // The neighbour, overlapping the first by 30 cm: different buildings.
            feature("91326", 2, rect(X0 + 9.7, Y0, 10.0, 10.0), &[]),
            // Half on the first: in the review band (smaller overlap 0.2–0.45), not merged.
            feature("91326", 3, rect(X0 - 6.0, Y0 + 4.0, 10.0, 10.0), &[]),
        ],
        &m,
    );
    assert_eq!(out.stats.merged_away, 1, "{:?}", out.decisions);
    assert_eq!(out.features.len(), 3);
    assert_eq!(out.stats.reviews, 1);
    let kinds: Vec<&str> = out.qa.iter().map(|q| q.kind).collect();
    assert!(
        kinds.contains(&"overlap") && kinds.contains(&"review"),
        "{kinds:?}"
    );
    let sliver = out.qa.iter().find(|q| q.kind == "overlap").unwrap();
    assert!(
        (sliver.measure - 3.0).abs() < 1e-6,
        "0.3 m × 10 m = {}",
        sliver.measure
    );
}

#[test]
fn exact_matcher_ignores_ring_start_direction_and_centimetre_rounding() {
    let m = manifest("");
    let a: Geometry = polygon![(x: X0, y: Y0), (x: X0 + 10.0, y: Y0), (x: X0 + 10.0, y: Y0 + 10.0), (x: X0, y: Y0 + 10.0)].into();
    let b: Geometry = polygon![(x: X0 + 10.0, y: Y0 + 10.002), (x: X0 + 10.0, y: Y0), (x: X0 + 0.001, y: Y0), (x: X0, y: Y0 + 10.0)].into();
    let out = run(
        Theme::Batiments,
        vec![feature("91027", 1, a, &[]), feature("91326", 1, b, &[])],
        &m,
    );
    assert_eq!(out.decisions[0].matcher, "exact");
    assert_eq!(out.stats.merged_away, 1);
}

#[test]
fn points_match_by_distance_and_type_only() {
    let m = manifest("");
    let p = |x: f64, y: f64| Geometry::Point(geo::Point::new(X0 + x, Y0 + y));
    let out = run(
        Theme::Eclairage,
        vec![
            feature("91027", 1, p(0.0, 0.0), &[("type", text("lanterne"))]),
            feature("91326", 1, p(0.5, 0.3), &[("type", text("lanterne"))]),
            // Same place, another type.
            feature("91326", 2, p(0.1, 0.0), &[("type", text("projecteur"))]),
            // Same type, 1.5 m away (tolerance 1 m).
            feature("91326", 3, p(-1.5, 0.0), &[("type", text("lanterne"))]),
        ],
        &m,
    );
    assert_eq!(out.stats.merged_away, 1);
    assert_eq!(out.features.len(), 3);
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(out.decisions[0].matcher, "point");
}

#[test]
fn chained_matches_never_join_two_features_of_one_delivery() {
    let m = manifest("");
    let p = |x: f64, y: f64| Geometry::Point(geo::Point::new(X0 + x, Y0 + y));
    let lamp = [("type", text("lanterne"))];
    // Two lamps of commune A 1.6 m apart, one of B between them (tolerance 1 m): B matches
    // both, but A's two lamps are two lamps.
    let out = run(
        Theme::Eclairage,
        vec![
            feature("91027", 1, p(0.0, 0.0), &lamp),
            feature("91027", 2, p(1.6, 0.0), &lamp),
            feature("91326", 1, p(0.7, 0.1), &lamp),
        ],
        &m,
    );
    assert_eq!(out.features.len(), 2, "{:?}", out.decisions);
    assert_eq!(out.stats.merged_away, 1);
    assert_eq!(out.stats.reviews, 1);
    assert!(out
        .decisions
        .iter()
        .any(|d| d.decision == "review" && d.reason.contains("one delivery")));
    // Exactly the same place but another type: still two objects.
    let out = run(
        Theme::Eclairage,
        vec![
            feature("91027", 1, p(0.0, 0.0), &[("type", text("mât"))]),
            feature("91326", 1, p(0.0, 0.0), &lamp),
        ],
        &m,
    );
    assert_eq!(out.features.len(), 2);
}

#[test]
fn a_third_feature_never_joins_two_known_to_differ() {
    // A lantern (Athis), a mast (Paray) at the same place, and an untyped point (Juvisy)
    // matching both: the lantern and the mast stay two objects.
    let m = manifest("[[communes]]\ninsee = \"91479\"\nnom = \"C\"\n[[communes.deliveries]]\npath = \"c.geojson\"\ntheme = \"eclairage\"");
    let p = || Geometry::Point(geo::Point::new(X0, Y0));
    let out = run(
        Theme::Eclairage,
        vec![
            feature("91027", 1, p(), &[("type", text("lanterne"))]),
            feature("91326", 1, p(), &[]),
            feature("91479", 1, p(), &[("type", text("Mât "))]),
        ],
        &m,
    );
    assert_eq!(out.features.len(), 2, "{:#?}", out.decisions);
    assert_eq!(out.stats.merged_away, 1);
    // Types compare ignoring case and spaces: « Mât » and « mât » are one type.
    let out = run(
        Theme::Eclairage,
        vec![
            feature("91027", 1, p(), &[("type", text("mât"))]),
            feature("91479", 1, p(), &[("type", text("Mât "))]),
        ],
        &m,
    );
    assert_eq!(out.features.len(), 1);
}

#[test]
fn parcel_ids_are_read_before_and_after_the_merger_and_outside_it() {
    let m = manifest("");
    let out = run(
        Theme::Parcelles,
        vec![
            // One parcel of Juvisy, delivered before the merger by Athis-Mons and after it by
            // Juvisy (already renumbered): one key, merged.
            feature(
                "91027",
                1,
                rect(0.0, 0.0, 20.0, 30.0),
                &[("id", text("91326000AB0012"))],
            ),
            feature(
                "91326",
                1,
                rect(0.3, 0.0, 20.0, 30.0),
                &[("id", text("91027326AB0012"))],
            ),
            // A parcel of Viry-Châtillon (outside the merger) in Juvisy's survey margin.
            feature(
                "91326",
                2,
                rect(100.0, 0.0, 20.0, 30.0),
                &[("id", text("91687000AB0012"))],
            ),
        ],
        &m,
    );
    assert_eq!(out.stats.merged_away, 1, "{:#?}", out.decisions);
    assert_eq!(out.decisions[0].matcher, "key");
    let id = |f: &tuilerie_model::Feature| f.get("id").and_then(Value::as_text).unwrap_or_default();
    let juvisy = out
        .features
        .iter()
        .find(|f| id(f).ends_with("AB0012") && id(f).contains("326"))
        .unwrap();
    assert_eq!(id(juvisy), "91027326AB0012");
    assert_eq!(juvisy.get("commune_deleguee"), Some(&text("91326")));
    let viry = out
        .features
        .iter()
        .find(|f| id(f).starts_with("91687"))
        .unwrap();
    assert_eq!(id(viry), "91687000AB0012", "not renumbered");
    assert_eq!(viry.get("commune_deleguee"), Some(&text("91687")));
    assert_eq!(out.stats.foreign, 1);
    assert!(out
        .qa
        .iter()
        .any(|q| q.kind == "foreign" && q.commune_a == "91687"));
    assert!(out
        .warnings
        .iter()
        .any(|w| w.contains("outside the merger")));
}

#[test]
fn roads_cut_at_different_places_come_out_as_one_line_listing_both_sources() {
    let m = manifest("");
    let line = |pts: &[(f64, f64)]| {
        Geometry::LineString(LineString::from(
            pts.iter()
                .map(|(x, y)| (X0 + x, Y0 + y))
                .collect::<Vec<_>>(),
        ))
    };
    let out = run(
        Theme::Voirie,
        vec![
            feature(
                "91027",
                1,
                line(&[(0.0, 0.0), (120.0, 0.0)]),
                &[("nom", text("Rue Robespierre"))],
            ),
            feature(
                "91326",
                1,
                line(&[(95.0, 0.7), (150.0, 0.5), (230.0, 0.6)]),
                &[
                    ("nom", text("Rue Robespierre")),
                    ("classe", text("residential")),
                ],
            ),
            // A parallel street 4 m away: a near miss.
            feature("91326", 2, line(&[(0.0, 4.0), (120.0, 4.0)]), &[]),
        ],
        &m,
    );
    assert_eq!(out.features.len(), 2);
    let road = out
        .features
        .iter()
        .find(|f| f.get("nom").is_some())
        .unwrap();
    let Geometry::LineString(l) = &road.geometry else {
        panic!("one continuous line")
    };
    let len = geo::Length::length(&geo::Euclidean, l);
    assert!((len - 230.0).abs() < 0.5, "length {len}");
    assert_eq!(
        road.get("classe"),
        Some(&text("residential")),
        "attributes merged"
    );
    let sources: serde_json::Value =
        serde_json::from_str(&road.get("sources").unwrap().as_text().unwrap()).unwrap();
    assert_eq!(sources.as_array().unwrap().len(), 2);
    assert!(out.stats.reconciles());
}

#[test]
fn output_does_not_depend_on_input_order_or_threads() {
    let m = manifest("");
    let mut features = Vec::new();
    for i in 0..60 {
        let (x, y) = (X0 + (i % 10) as f64 * 12.0, Y0 + (i / 10) as f64 * 12.0);
        let id = format!("91027000AB{i:04}");
        features.push(feature(
            "91027",
            i,
            rect(x, y, 12.1, 12.1),
            &[("id", text(&id))],
        ));
        if i % 3 == 0 {
            features.push(feature(
                "91326",
                i,
                rect(x + 0.05, y, 12.1, 12.1),
                &[("id", text(&id))],
            ));
        }
    }
    let summary = |o: &ThemeMerge| {
        (
            o.features
                .iter()
                .map(|f| format!("{:?}", f))
                .collect::<Vec<_>>(),
            o.decisions
                .iter()
                .map(|d| format!("{d:?}"))
                .collect::<Vec<_>>(),
            o.qa.iter().map(|q| format!("{q:?}")).collect::<Vec<_>>(),
        )
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let a = one.install(|| run(Theme::Parcelles, features.clone(), &m));
    let mut reversed = features.clone();
    reversed.reverse();
    let b = run(Theme::Parcelles, reversed, &m);
    assert_eq!(a.stats.merged_away, 20);
    assert!(a.stats.overlaps > 0);
    assert_eq!(summary(&a), summary(&b));
}
