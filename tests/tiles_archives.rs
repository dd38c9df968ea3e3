//! The tiles stage, checked by independent decoders: the `pmtiles`, `mapbox-vector-tile` and
//! `shapely` Python packages (tests/tools/mvt_check.py) and GDAL's MVT driver — on the bundled
//! fixture always, on the full essonne and lille scenarios when ../shared is there.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Run tests/tools/mvt_check.py and parse its JSON.
fn mvt_check(args: &[&str]) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(common::root().join("tests/tools/mvt_check.py"))
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "mvt_check {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("mvt_check prints JSON")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// One number from a GDAL SQL query (SQLite dialect) on a file.
fn gdal_number(path: &Path, sql: &str) -> f64 {
    let out = Command::new("ogrinfo")
        .args(["-q", "-dialect", "SQLite", "-sql", sql])
        .arg(path)
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("v (Real) = "))
        .or_else(|| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("v (Integer) = "))
        })
        .unwrap_or_else(|| panic!("{sql}: {text} {}", String::from_utf8_lossy(&out.stderr)))
        .parse()
        .unwrap()
}

/// Every tile of the build's archives decodes, with valid, well-turned polygons, the layers and
/// fields the metadata lists, the same bytes in the MBTiles and the PMTiles; at the deepest zoom
/// every merged feature (by `key`) is there. Returns the check's JSON.
fn check_build_archives(out: &Path, layer: &str, key: &str) -> serde_json::Value {
    let pm = out.join("tiles.pmtiles");
    let mb = out.join("tiles.mbtiles");
    let c = mvt_check(&["check", path_str(&pm), path_str(&mb)]);
    assert_eq!(c["problem_count"], 0, "{}", c["problems"]);
    assert_eq!(c["layers"], serde_json::json!([layer]));
    assert_eq!(c["min_zoom"], c["mbtiles_minzoom"]);
    assert_eq!(c["max_zoom"], c["mbtiles_maxzoom"]);
    // GDAL's MVT driver decodes every tile of the MBTiles: zoom by zoom, the features it
    // finds are those the Python decoder found in the PMTiles.
    for (z, n) in c["features"].as_object().unwrap() {
        let info = Command::new("ogrinfo")
            .args(["-ro", "-so", "-oo", &format!("ZOOM_LEVEL={z}")])
            .arg(&mb)
            .arg(layer)
            .output()
            .expect("ogrinfo (gdal-bin)");
        let text = String::from_utf8_lossy(&info.stdout);
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("Feature Count: "))
            .unwrap_or_else(|| {
                panic!("zoom {z}: {text} {}", String::from_utf8_lossy(&info.stderr))
            });
        assert_eq!(count, n.to_string(), "zoom {z}: GDAL vs mapbox-vector-tile");
        assert!(
            info.stderr.is_empty(),
            "zoom {z}: {}",
            String::from_utf8_lossy(&info.stderr)
        );
    }
    let maxzoom = c["max_zoom"].to_string();
    let drawn: BTreeSet<&str> = c["ids"][layer][&maxzoom]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let merged: BTreeSet<String> = common::gdal_strings(&out.join(format!("{layer}.fgb")), key)
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let missing: Vec<&String> = merged
        .iter()
        .filter(|id| !drawn.contains(id.as_str()))
        .collect();
    assert!(missing.is_empty(), "missing at zoom {maxzoom}: {missing:?}");
    assert_eq!(drawn.len(), merged.len());
    c
}

/// At every zoom the drawn area of the parcels is within 10 % of their true Web Mercator area
/// (GDAL's own reprojection and area).
fn check_parcel_area(out: &Path) -> Vec<(String, f64)> {
    let truth = gdal_number(
        &out.join("parcelles.fgb"),
        "SELECT SUM(ST_Area(ST_Transform(geometry, 3857))) AS v FROM parcelles",
    );
    let drawn = mvt_check(&["area", path_str(&out.join("tiles.pmtiles")), "parcelles"]);
    let ratios: Vec<(String, f64)> = drawn
        .as_object()
        .unwrap()
        .iter()
        .map(|(z, a)| (z.clone(), a.as_f64().unwrap() / truth))
        .collect();
    for (z, r) in &ratios {
        assert!((r - 1.0).abs() < 0.10, "zoom {z}: drawn / true area {r:.3}");
    }
    eprintln!("drawn / true area per zoom: {ratios:?}");
    ratios
}

#[test]
fn fixture_archives_decode_whole_valid_and_faithful() {
    let (out, report) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let tiles = report.tiles.as_ref().expect("the build tiles");
    // Zooms guessed from the parcels: the commune nouvelle in its surroundings down to a
    // parcel 40 pixels wide.
    assert_eq!((tiles.minzoom, tiles.maxzoom), (10, 18));
    let c = check_build_archives(out.path(), "parcelles", "id");
    // Fields per zoom, from the manifest: only the former commune below zoom 15, all from 15.
    let fields = &c["fields"]["parcelles"];
    assert_eq!(fields["14"], serde_json::json!(["commune_deleguee"]));
    for f in ["id", "section", "sources", "commune_deleguee", "id_source"] {
        assert!(
            fields["15"].as_array().unwrap().iter().any(|v| v == f),
            "{f} at 15"
        );
    }
    let ratios = check_parcel_area(out.path());
    assert_eq!(ratios.len(), 9);
    // The tiles report reconciles with the archives.
    let per_zoom: usize = tiles.zooms.iter().map(|z| z.tiles).sum();
    assert_eq!(per_zoom, tiles.tiles);
    assert_eq!(c["tiles"].as_u64().unwrap() as usize, tiles.tiles);

    // GDAL's MVT driver reads the MBTiles too: every parcel id at zoom 18.
    let listing = Command::new("ogrinfo")
        .args([
            "-q",
            "-oo",
            "ZOOM_LEVEL=18",
            "-sql",
            "SELECT DISTINCT id FROM parcelles",
        ])
        .arg(out.path().join("tiles.mbtiles"))
        .output()
        .expect("ogrinfo (gdal-bin)");
    assert!(listing.status.success());
    let text = String::from_utf8_lossy(&listing.stdout);
    let gdal_ids: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id (String) = "))
        .collect();
    assert_eq!(gdal_ids.len(), 2792);
}

#[test]
fn essonne_and_lille_archives_decode_whole_and_valid() {
    if common::shared_data("essonne_and_lille_archives_decode_whole_and_valid").is_none() {
        return;
    }
    let (out, _) = common::build(&common::root().join("examples/essonne-fusion.toml"));
    let c = check_build_archives(out.path(), "parcelles", "id");
    assert_eq!(
        c["ids"]["parcelles"][c["max_zoom"].to_string()]
            .as_array()
            .unwrap()
            .len(),
        17_641
    );
    check_parcel_area(out.path());

    let (out, report) = common::build(&common::root().join("examples/lille-voirie.toml"));
    check_build_archives(out.path(), "voirie", "id");
    // Lines: the drawn length at the deepest zoom is the merged network's length.
    let truth = gdal_number(
        &out.path().join("voirie.fgb"),
        "SELECT SUM(ST_Length(ST_Transform(geometry, 3857))) AS v FROM voirie",
    );
    let drawn = mvt_check(&[
        "length",
        path_str(&out.path().join("tiles.pmtiles")),
        "voirie",
    ]);
    let maxzoom = report.tiles.as_ref().unwrap().maxzoom.to_string();
    let at_max = drawn[&maxzoom].as_f64().unwrap();
    assert!(
        (at_max / truth - 1.0).abs() < 0.005,
        "drawn {at_max} m vs {truth} m"
    );
}

/// `tuilerie tile` with its report as JSON.
fn tile_cli(args: &[&str]) -> (std::process::Output, Option<serde_json::Value>) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .arg("tile")
        .args(args)
        .arg("--report")
        .arg(report.path())
        .output()
        .unwrap();
    let json = std::fs::read(report.path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    (out, json)
}

#[test]
fn budget_cuts_each_zoom_by_one_threshold_and_tile_edges_agree() {
    let (built, _) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let fgb = built.path().join("parcelles.fgb");
    let dir = tempfile::tempdir().unwrap();
    let free = dir.path().join("free.pmtiles");
    let tight = dir.path().join("tight.pmtiles");
    let zooms = ["-Z", "13", "-z", "15"];
    let (o, _) = tile_cli(&[&[path_str(&fgb), "-o", path_str(&free)][..], &zooms].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (o, report) = tile_cli(
        &[
            &[
                path_str(&fgb),
                "-o",
                path_str(&tight),
                "--max-tile-bytes",
                "40000",
            ][..],
            &zooms,
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = report.unwrap();
    let cuts = report["tiling"]["cuts"].as_array().unwrap();
    assert!(!cuts.is_empty(), "the budget must bite at zoom 13");
    // The breakdown names each layer's share of the tile.
    assert_eq!(cuts[0]["layers"][0][0], "parcelles");
    assert!(cuts[0]["bytes"].as_u64().unwrap() > 40_000);
    assert!(cuts[0]["bytes_after"].as_u64().unwrap() <= 40_000);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("over budget"), "{stdout}");

    let sizes = |p: &Path| mvt_check(&["sizes", path_str(p)]);
    let (free, tight) = (sizes(&free), sizes(&tight));
    for t in tight.as_array().unwrap() {
        assert!(t["bytes"].as_u64().unwrap() <= 40_000, "{}", t["tile"]);
    }
    // One threshold per zoom: a parcel drawn in several tiles without a budget is, with it,
    // drawn in all of them or in none — never cut off at a tile edge.
    let tiles_of = |v: &serde_json::Value| {
        let mut m: std::collections::BTreeMap<(String, String), BTreeSet<String>> =
            Default::default();
        for t in v.as_array().unwrap() {
            let name = t["tile"].as_str().unwrap().to_string();
            let z = name.split('/').next().unwrap().to_string();
            for id in t["ids"].as_array().unwrap() {
                m.entry((z.clone(), id.as_str().unwrap().to_string()))
                    .or_default()
                    .insert(name.clone());
            }
        }
        m
    };
    let (before, after) = (tiles_of(&free), tiles_of(&tight));
    let mut dropped = 0;
    for (key, tiles) in &before {
        match after.get(key) {
            None => dropped += 1,
            Some(kept) => assert_eq!(kept, tiles, "{key:?} drawn in only some of its tiles"),
        }
    }
    assert!(dropped > 0);
    let z13_dropped = report["tiling"]["zooms"][0]["dropped_by_budget"]
        .as_u64()
        .unwrap();
    assert!(z13_dropped > 0);
}

#[test]
fn tile_command_reads_any_format_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    // GeoJSON (gzipped), Shapefile and GeoPackage deliveries of the fixture, as they come.
    let f = common::fixtures().join("essonne-fusion");
    let inputs = [
        (
            f.join("91027-athis-mons/cadastre-91027-parcelles.json.gz"),
            1064,
        ),
        (f.join("91326-juvisy-sur-orge/PARCELLES.shp"), 567),
        (f.join("91479-paray-vieille-poste/cadastre.gpkg"), 1086),
    ];
    for (i, (input, n)) in inputs.iter().enumerate() {
        let ext = if i % 2 == 0 { "pmtiles" } else { "mbtiles" };
        let archive = dir.path().join(format!("{i}.{ext}"));
        let (o, report) = tile_cli(&[path_str(input), "-o", path_str(&archive), "-q"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = report.unwrap();
        assert_eq!(r["inputs"][0]["read"], *n);
        assert_eq!(r["inputs"][0]["tiled"], *n);
        assert!(archive.exists());
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains(&format!("{n} read = {n} tiled + 0 rejected")),
            "{stdout}"
        );
    }
    // Several archives at once are the same tiles.
    let (pm, mb) = (dir.path().join("a.pmtiles"), dir.path().join("a.mbtiles"));
    let (o, _) = tile_cli(&[
        path_str(&inputs[1].0),
        "-o",
        path_str(&pm),
        "-o",
        path_str(&mb),
        "-l",
        "juvisy",
    ]);
    assert!(o.status.success());
    let c = mvt_check(&["check", path_str(&pm), path_str(&mb)]);
    assert_eq!(c["problem_count"], 0, "{}", c["problems"]);
    assert_eq!(c["layers"], serde_json::json!(["juvisy"]));

    // Unknown archive format, missing input, no feature: exit 2 and a message naming the file.
    let (o, _) = tile_cli(&[
        path_str(&inputs[1].0),
        "-o",
        path_str(&dir.path().join("x.zip")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("x.zip") && err.contains(".pmtiles"), "{err}");
    // Two inputs named alike would make two layers of one name in a tile; zoom 30 is beyond
    // the grid.
    let (o, _) = tile_cli(&[
        path_str(&inputs[1].0),
        path_str(&inputs[1].0),
        "-o",
        path_str(&pm),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("-l"));
    let (o, _) = tile_cli(&[path_str(&inputs[1].0), "-o", path_str(&pm), "-z", "30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("zoom 30"));
    let (o, _) = tile_cli(&["/nonexistent/parcels.geojson", "-o", path_str(&pm)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/parcels.geojson"));
    let empty = dir.path().join("empty.geojson");
    std::fs::write(&empty, r#"{"type":"FeatureCollection","features":[]}"#).unwrap();
    let (o, _) = tile_cli(&[path_str(&empty), "-o", path_str(&pm)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to tile"));
    // A feature whose geometry cannot be read, or that no tile can hold (a collection), is
    // counted as rejected, with its reason.
    let bad = dir.path().join("bad.geojson");
    std::fs::write(
        &bad,
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"id":1},"geometry":{"type":"Point","coordinates":[2.35,48.85]}},
            {"type":"Feature","properties":{"id":2},"geometry":{"type":"Point","coordinates":["x"]}},
            {"type":"Feature","properties":{"id":3},"geometry":{"type":"GeometryCollection","geometries":[]}}]}"#,
    )
    .unwrap();
    let (o, r) = tile_cli(&[path_str(&bad), "-o", path_str(&pm), "-z", "12"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = r.unwrap();
    assert_eq!(
        (
            r["inputs"][0]["read"].as_u64(),
            r["inputs"][0]["rejected"].as_u64()
        ),
        (Some(3), Some(2))
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("rejected: "), "{stdout}");
    assert!(
        stdout.contains("feature 2: empty geometry or geometry collection"),
        "{stdout}"
    );
}
