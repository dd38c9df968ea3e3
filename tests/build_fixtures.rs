//! `tuilerie build` on the bundled fixtures: counts, output readable by GDAL, provenance, and
//! coordinates that agree with `ogr2ogr -t_srs EPSG:2154` within 1 cm.

mod common;

#[test]
fn fixtures_build_reads_everything_and_agrees_with_ogr2ogr() {
    let (out, report) = common::build_unmerged(&common::fixtures().join("essonne-fusion.toml"));

    // Every delivery read whole, nothing rejected, counts reconcile.
    common::assert_all_kept(
        &report,
        &[
            ("91027", 1064),
            ("91326", 567),
            ("91479", 1086),
            ("91432", 120),
        ],
    );
    let grid = report
        .ntf_grid
        .as_ref()
        .expect("Morangis is NTF: the grid was checked");
    assert!(grid.reference_error_m < 0.001, "{grid:?}");

    // The report is JSON a machine can read.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["themes"]["parcelles"]["kept"], 2837);

    // GDAL reads the FlatGeobuf: count, CRS, provenance columns, complete parcel ids.
    let fgb = out.path().join("parcelles.fgb");
    let ds = gdal::Dataset::open(&fgb).unwrap();
    let layer = ds.layer(0).unwrap();
    use gdal::vector::LayerAccess;
    assert_eq!(layer.feature_count(), 2837);
    assert_eq!(layer.spatial_ref().unwrap().auth_code().unwrap(), 2154);
    let ours = common::gdal_features(&fgb, "id", None);
    assert!(
        ours.iter().all(|(id, _)| id.len() == 14),
        "every parcel id is complete"
    );
    for field in ["src_commune", "src_delivery", "src_layer", "src_id"] {
        assert!(layer.defn().field_index(field).is_ok(), "missing {field}");
    }

    // Coordinates agree with ogr2ogr within 1 cm, vertex by vertex, for every parcel.
    let tmp = tempfile::tempdir().unwrap();
    for (commune, src, key) in common::essonne_sources(&common::fixtures().join("essonne-fusion")) {
        let (n, worst) =
            common::compare_with_ogr2ogr(&fgb, "id", commune, &src, Some(key), tmp.path());
        assert!(
            n > 0 && worst < 0.01,
            "{commune}: worst vertex differs from ogr2ogr by {worst} m"
        );
    }
}
