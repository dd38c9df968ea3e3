//! The tiles stage so far (issue 4, in progress): the merged fixture parcels cut into vector
//! tiles in an MBTiles file, read back by GDAL's MVT driver (an independent decoder).

mod common;

use tuilerie_model::{CrsRef, Feature, Provenance};
use tuilerie_tiles::generate::{tiles_for_zoom, LayerInput, TileOptions};
use tuilerie_tiles::mbtiles::{MbtilesWriter, Metadata};

#[test]
fn merged_parcels_tile_into_an_mbtiles_gdal_reads_whole_at_max_zoom() {
    let (out, _) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let layers = tuilerie_ingest::read_delivery(&out.path().join("parcelles.fgb"), None).unwrap();
    let to_3857 = tuilerie_reproject::Reprojector::new(CrsRef::Epsg(3857));
    let parcels: Vec<Feature> = layers
        .into_iter()
        .flat_map(|l| l.features)
        .map(|f| {
            let mut g = f.geometry.unwrap();
            to_3857.transform(&mut g, &CrsRef::Epsg(2154)).unwrap();
            Feature {
                geometry: g,
                attributes: f.attributes,
                provenance: Provenance::default(),
            }
        })
        .collect();
    assert_eq!(parcels.len(), 2792);
    let input = [LayerInput {
        name: "parcelles",
        features: &parcels,
        fields: vec!["id".into(), "commune_deleguee".into()],
    }];
    let path = out.path().join("parcelles.mbtiles");
    let mut w = MbtilesWriter::create(&path).unwrap();
    let mut tiles_at_16 = 0;
    for z in 14..=16u8 {
        for (tile, bytes) in tiles_for_zoom(&input, z, TileOptions::default()).unwrap() {
            w.add(tile, &bytes).unwrap();
            tiles_at_16 += usize::from(z == 16);
        }
    }
    let json = serde_json::json!({"vector_layers": [{"id": "parcelles", "fields": {"id": "String", "commune_deleguee": "String"}, "minzoom": 14, "maxzoom": 16}]});
    w.finish(&Metadata {
        name: "essonne".into(),
        attribution: "DGFiP / Etalab".into(),
        minzoom: 14,
        maxzoom: 16,
        bounds: [2.33, 48.68, 2.40, 48.72],
        json,
    })
    .unwrap();
    assert!(tiles_at_16 > 10);
    // GDAL decodes every tile of zoom 16: every merged parcel id is there.
    let listing = std::process::Command::new("ogrinfo")
        .args([
            "-q",
            "-oo",
            "ZOOM_LEVEL=16",
            "-sql",
            "SELECT DISTINCT id FROM parcelles",
        ])
        .arg(&path)
        .output()
        .expect("ogrinfo (gdal-bin)");
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let text = String::from_utf8_lossy(&listing.stdout);
    let ids: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id (String) = "))
        .collect();
    let ours: std::collections::BTreeSet<String> =
        common::gdal_strings(&out.path().join("parcelles.fgb"), "id")
            .into_iter()
            .collect();
    let missing: Vec<&String> = ours
        .iter()
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in the zoom-16 tiles: {missing:?}");
    assert_eq!(
        ids.len(),
        ours.len(),
        "GDAL finds every parcel in the zoom-16 tiles"
    );
    assert!(ours.iter().all(|id| ids.contains(id.as_str())));
}
