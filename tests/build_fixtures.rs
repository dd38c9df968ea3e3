//! `tuilerie build` on the bundled fixtures: counts, output readable by GDAL, provenance, and
//! coordinates that agree with `ogr2ogr -t_srs EPSG:2154` within 1 cm.

mod common;

use std::collections::HashMap;
use tuilerie_pipeline::{build, IngestOptions};

#[test]
fn fixtures_build_reads_everything_and_agrees_with_ogr2ogr() {
    let manifest_path = common::fixtures().join("essonne-fusion.toml");
    let manifest = common::load_manifest(&manifest_path);
    let out = tempfile::tempdir().unwrap();
    let report = build(&manifest, out.path(), &IngestOptions { quiet: true }, false).unwrap();

    // Every delivery read whole, nothing rejected, counts reconcile.
    let counts: Vec<(String, usize, usize, usize)> = report
        .deliveries
        .iter()
        .map(|d| (d.commune.clone(), d.read, d.kept, d.rejected))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("91027".into(), 1064, 1064, 0),
            ("91326".into(), 567, 567, 0),
            ("91479".into(), 1086, 1086, 0),
            ("91432".into(), 120, 120, 0),
        ]
    );
    assert!(report.reconciles());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
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
    let fx = common::fixtures().join("essonne-fusion");
    let cases = [
        (
            "91027",
            format!(
                "/vsigzip/{}",
                fx.join("91027-athis-mons/cadastre-91027-parcelles.json.gz")
                    .display()
            ),
            "id",
        ),
        (
            "91326",
            fx.join("91326-juvisy-sur-orge/PARCELLES.shp")
                .display()
                .to_string(),
            "IDU",
        ),
        (
            "91479",
            fx.join("91479-paray-vieille-poste/cadastre.gpkg")
                .display()
                .to_string(),
            "id_parcelle",
        ),
        (
            "91432",
            fx.join("91432-morangis/parcelles.fgb")
                .display()
                .to_string(),
            "idu",
        ),
    ];
    for (commune, src, key) in cases {
        let reference = common::ogr2ogr_to_l93(&src, tmp.path(), commune, &[]);
        let theirs: HashMap<String, geo::Geometry<f64>> =
            common::gdal_features(&reference, key, None)
                .into_iter()
                .collect();
        let mine = common::gdal_features(&fgb, "id", Some(&format!("src_commune = '{commune}'")));
        assert_eq!(mine.len(), theirs.len(), "{commune}");
        let mut worst = 0.0f64;
        for (id, g) in &mine {
            let t = theirs
                .get(id)
                .unwrap_or_else(|| panic!("{commune}: ogr2ogr has no parcel {id}"));
            let d = common::max_vertex_distance(g, t)
                .unwrap_or_else(|| panic!("{commune} {id}: vertex counts differ"));
            worst = worst.max(d);
        }
        assert!(
            worst < 0.01,
            "{commune}: worst vertex differs from ogr2ogr by {worst} m"
        );
        eprintln!(
            "{commune}: {} parcels, worst vertex difference with ogr2ogr {worst:.2e} m",
            mine.len()
        );
    }
}
