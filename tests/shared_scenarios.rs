//! The acceptance scenarios of ../shared/data: every delivery read whole, nothing rejected, and
//! coordinates that agree with `ogr2ogr -t_srs EPSG:2154` within 1 cm. Skipped, saying so,
//! when ../shared is absent.

mod common;

use std::collections::HashMap;

#[test]
fn essonne_fusion_reads_all_four_deliveries() {
    let Some(shared) = common::shared_data("essonne_fusion_reads_all_four_deliveries") else {
        return;
    };
    let (out, report) =
        common::build_unmerged(&common::root().join("examples/essonne-fusion.toml"));
    common::assert_all_kept(
        &report,
        &[
            ("91027", 6759),
            ("91326", 2904),
            ("91479", 2857),
            ("91432", 5166),
        ],
    );

    let fgb = out.path().join("parcelles.fgb");
    let tmp = tempfile::tempdir().unwrap();
    for (commune, src, key) in common::essonne_sources(&shared.join("scenarios/essonne-fusion")) {
        let (_, worst) =
            common::compare_with_ogr2ogr(&fgb, "id", commune, &src, Some(key), tmp.path());
        assert!(
            worst < 0.01,
            "{commune}: worst vertex differs from ogr2ogr by {worst} m"
        );
    }
}

#[test]
fn lille_voirie_reads_all_three_deliveries() {
    let Some(shared) = common::shared_data("lille_voirie_reads_all_three_deliveries") else {
        return;
    };
    let (out, report) = common::build_unmerged(&common::root().join("examples/lille-voirie.toml"));
    common::assert_all_kept(&report, &[("59350", 1395), ("59328", 78), ("59527", 73)]);

    let fgb = out.path().join("voirie.fgb");
    let sc = shared.join("scenarios/lille-voirie");
    let tmp = tempfile::tempdir().unwrap();
    for (commune, src) in [
        ("59350", sc.join("59350-lille/voirie.geojson")),
        ("59328", sc.join("59328-lambersart/TRONCON_VOIE.shp")),
        (
            "59527",
            sc.join("59527-saint-andre-lez-lille/voirie.geojson"),
        ),
    ] {
        let src = src.display().to_string();
        let (_, worst) =
            common::compare_with_ogr2ogr(&fgb, "src_id", commune, &src, None, tmp.path());
        assert!(
            worst < 0.01,
            "{commune}: worst vertex differs from ogr2ogr by {worst} m"
        );
    }
}

#[test]
fn luxiol_reads_all_eight_edigeo_sheets() {
    let Some(_) = common::shared_data("luxiol_reads_all_eight_edigeo_sheets") else {
        return;
    };
    let (out, report) = common::build_unmerged(&common::root().join("examples/luxiol-edigeo.toml"));
    let by_theme: HashMap<&str, (usize, usize, usize)> = report
        .deliveries
        .iter()
        .map(|d| (d.theme.as_str(), (d.layers.len(), d.read, d.rejected)))
        .collect();
    // SOURCES.md: PARCELLE 14/142/68/78/22/61/80/46 = 511 over the 8 sheets.
    assert_eq!(by_theme["parcelles"], (8, 511, 0));
    let parcel_layers: Vec<usize> = report.deliveries[0].layers.iter().map(|l| l.read).collect();
    assert_eq!(parcel_layers, vec![14, 142, 68, 78, 22, 61, 80, 46]);
    // Every sheet repeats the commune and its section objects (the merge stage dedups them).
    assert_eq!(by_theme["communes"], (8, 8, 0));
    assert_eq!(by_theme["sections"], (8, 8, 0));
    assert_eq!(by_theme["batiments"], (8, 252, 0));
    assert!(
        report.reconciles() && report.errors.is_empty(),
        "{:?}",
        report.errors
    );
    // EDIGEO sheets are Lambert-93 already: ids complete, coordinates untouched.
    let parcels = common::gdal_features(&out.path().join("parcelles.fgb"), "id", None);
    assert_eq!(parcels.len(), 511);
    assert!(parcels
        .iter()
        .all(|(id, _)| id.starts_with("25354") && id.len() == 14));
    assert_eq!(report.deliveries[0].layers[0].crs, "EPSG:2154");
    assert_eq!(
        report.deliveries[0].layers[0].extent.map(|e| e[0]),
        Some(950_797.97)
    );
}
