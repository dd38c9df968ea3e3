//! The tiles stage so far (issue 4, in progress): the merged fixture parcels cut into vector
//! tiles, written to MBTiles and PMTiles, and read back by independent decoders — GDAL's MVT
//! driver for the MBTiles, the `pmtiles` and `mapbox-vector-tile` Python packages for the
//! PMTiles (installed by scripts/setup.sh).

mod common;

use std::path::Path;
use tuilerie_model::{CrsRef, Feature, Provenance};
use tuilerie_tiles::archive::Metadata;
use tuilerie_tiles::generate::{tiles_for_zoom, LayerInput, TileOptions};
use tuilerie_tiles::mbtiles::MbtilesWriter;
use tuilerie_tiles::pmtiles_archive::PmtilesWriter;

/// Reads a PMTiles archive with the `pmtiles` package and decodes every tile with
/// `mapbox-vector-tile`; prints "tiles minzoom maxzoom layers features metadata-ok".
const READ_PMTILES: &str = r#"
import gzip, sys
import mapbox_vector_tile
from pmtiles.reader import Reader, MmapSource, all_tiles
with open(sys.argv[1], "rb") as f:
    r = Reader(MmapSource(f))
    h, meta = r.header(), r.metadata()
    n, feats, layers = 0, 0, set()
    for (z, x, y), data in all_tiles(r.get_bytes):
        t = mapbox_vector_tile.decode(gzip.decompress(data))
        for name, layer in t.items():
            layers.add(name)
            for feat in layer["features"]:
                assert "id" in feat["properties"], feat
                feats += 1
        n += 1
    ok = [l["id"] for l in meta["vector_layers"]] == ["parcelles"]
    print(n, h["min_zoom"], h["max_zoom"], ",".join(sorted(layers)), feats, ok)
"#;

fn read_pmtiles(path: &Path) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg("-")
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(READ_PMTILES.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn merged_parcels_tile_into_archives_that_independent_decoders_read_whole() {
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
    let meta = Metadata {
        name: "essonne".into(),
        attribution: "DGFiP / Etalab".into(),
        minzoom: 14,
        maxzoom: 16,
        bounds: [2.33, 48.68, 2.40, 48.72],
        json: serde_json::json!({"vector_layers": [{"id": "parcelles", "fields": {"id": "String", "commune_deleguee": "String"}, "minzoom": 14, "maxzoom": 16}]}),
    };
    let mb_path = out.path().join("parcelles.mbtiles");
    let pm_path = out.path().join("parcelles.pmtiles");
    let mut mb = MbtilesWriter::create(&mb_path).unwrap();
    let mut pm = PmtilesWriter::create(&pm_path, &meta).unwrap();
    let (mut tiles, mut tiles_at_16) = (0, 0);
    for z in 14..=16u8 {
        for (tile, bytes) in tiles_for_zoom(&input, z, TileOptions::default()).unwrap() {
            mb.add(tile, &bytes).unwrap();
            pm.add(tile, &bytes).unwrap();
            tiles += 1;
            tiles_at_16 += usize::from(z == 16);
        }
    }
    mb.finish(&meta).unwrap();
    pm.finish().unwrap();
    assert!(tiles_at_16 > 10);

    // GDAL decodes every tile of zoom 16 of the MBTiles: every merged parcel id is there.
    let listing = std::process::Command::new("ogrinfo")
        .args([
            "-q",
            "-oo",
            "ZOOM_LEVEL=16",
            "-sql",
            "SELECT DISTINCT id FROM parcelles",
        ])
        .arg(&mb_path)
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
    assert_eq!(ids.len(), ours.len());

    // The PMTiles holds the same tiles, read and decoded by the Python packages.
    let summary = read_pmtiles(&pm_path);
    let fields: Vec<&str> = summary.split(' ').collect();
    assert_eq!(fields[0].parse::<usize>().unwrap(), tiles, "{summary}");
    assert_eq!(&fields[1..4], &["14", "16", "parcelles"], "{summary}");
    assert!(fields[4].parse::<usize>().unwrap() > 3 * 2792, "{summary}");
    assert_eq!(fields[5], "True", "{summary}");
}
