//! Bad input gets a clear error or warning naming the file, layer and feature; nothing is lost
//! (read = kept + rejected); nothing panics.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use tuilerie_model::Manifest;
use tuilerie_pipeline::{build, BuildOptions, BuildReport};

const HEAD: &str = r#"
[commune_nouvelle]
insee = "91027"
nom = "Test"
"#;

fn fixture(rel: &str) -> String {
    common::fixtures()
        .join("essonne-fusion")
        .join(rel)
        .display()
        .to_string()
}

/// Copy some of the Juvisy fixture Shapefile's files into `dir` as `name.ext`.
fn copy_juvisy(dir: &Path, name: &str, exts: &[&str]) {
    for ext in exts {
        std::fs::copy(
            fixture(&format!("91326-juvisy-sur-orge/PARCELLES.{ext}")),
            dir.join(format!("{name}.{ext}")),
        )
        .unwrap();
    }
}

fn run(dir: &Path, body: &str) -> (BuildReport, PathBuf) {
    let text = format!("{HEAD}\n{body}");
    let m = Manifest::parse(&text, dir).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let report = build(
        &m,
        &out,
        &BuildOptions {
            quiet: true,
            ..Default::default()
        },
    )
    .unwrap();
    (report, out)
}

/// A former commune (Juvisy, 91326) delivering `path` as parcels, with `extra` manifest lines.
fn delivery(path: &str, extra: &str) -> String {
    delivery_of("91326", "parcelles", path, extra)
}

fn delivery_of(insee: &str, theme: &str, path: &str, extra: &str) -> String {
    format!(
        "[[communes]]\ninsee = \"{insee}\"\nnom = \"Commune {insee}\"\n[[communes.deliveries]]\npath = \"{path}\"\ntheme = \"{theme}\"\n{extra}\n"
    )
}

/// Write a manifest into `dir`; returns its path.
fn write_manifest(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("m.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `tuilerie build -q MANIFEST --out OUT [extra…]`: (exit code, stdout, stderr).
fn cli_build(manifest: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "build",
        "-q",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    tuilerie(&args)
}

fn tuilerie(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn feature(id: &str, geometry: &str) -> String {
    format!(
        r#"{{"type":"Feature","id":"{id}","properties":{{"id":"91326000AB00{:02}"}},"geometry":{geometry}}}"#,
        id.len()
    )
}

#[test]
fn corrupt_geometries_are_repaired_or_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let sq =
        "[[2.3800,48.7100],[2.3810,48.7100],[2.3810,48.7110],[2.3800,48.7110],[2.3800,48.7100]]";
    let lines = [
        feature("p-ok", &format!(r#"{{"type":"Polygon","coordinates":[{sq}]}}"#)),
        feature("p-open", r#"{"type":"Polygon","coordinates":[[[2.3800,48.7100],[2.3810,48.7100],[2.3810,48.7110],[2.3800,48.7110]]]}"#),
        feature("p-bowtie", r#"{"type":"Polygon","coordinates":[[[2.3800,48.7100],[2.3810,48.7110],[2.3810,48.7100],[2.3800,48.7110],[2.3800,48.7100]]]}"#),
        feature("p-empty", r#"{"type":"Polygon","coordinates":[]}"#),
        feature("p-null", "null"),
        feature("p-point", r#"{"type":"Point","coordinates":[2.3805,48.7105]}"#),
        feature("p-flat", r#"{"type":"Polygon","coordinates":[[[2.3800,48.7100],[2.3810,48.7110],[2.3800,48.7100],[2.3810,48.7110],[2.3800,48.7100]]]}"#),
        r#"{"type":"Feature","id":"p-huge","properties":{},"geometry":{"type":"Point","coordinates":[1e400,2]}}"#.to_string(),
    ];
    std::fs::write(dir.path().join("bad.geojsonl"), lines.join("\n")).unwrap();
    let (report, out) = run(dir.path(), &delivery("bad.geojsonl", ""));
    let d = &report.deliveries[0];
    assert_eq!(
        (d.read, d.kept, d.repaired, d.rejected),
        (8, 3, 2, 5),
        "{:#?}",
        d.warnings
    );
    assert!(report.reconciles());
    let said = |needle: &str, what: &str| {
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("bad.geojsonl [bad] feature")
                    && w.contains(needle)
                    && w.contains(what)),
            "no warning for {needle} ({what}) in {:#?}",
            d.warnings
        )
    };
    said("p-open", "not closed");
    said("p-bowtie", "self-intersection");
    said("p-empty", "rejected: empty geometry");
    said("p-null", "rejected: no geometry");
    said("p-point", "rejected: Point in a layer of polygons");
    said("p-flat", "and MakeValid left nothing");
    said("feature 7", "rejected: line 8: invalid JSON");

    // The rejects layer holds them, with their reasons, readable by GDAL.
    let reasons = common::gdal_strings(&out.join("rejects.gpkg"), "reason");
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    // The kept ones are in the theme layer.
    assert_eq!(
        common::gdal_features(&out.join("parcelles.fgb"), "src_id", None).len(),
        3
    );
}

#[test]
fn nan_coordinates_in_a_shapefile_are_rejected() {
    use gdal::vector::{Geometry, LayerAccess, LayerOptions};
    let _ = <gdal::vector::Layer as LayerAccess>::name;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.shp");
    {
        let driver = gdal::DriverManager::get_driver_by_name("ESRI Shapefile").unwrap();
        let mut ds = driver.create_vector_only(&path).unwrap();
        let srs = gdal::spatial_ref::SpatialRef::from_epsg(2154).unwrap();
        let mut layer = ds
            .create_layer(LayerOptions {
                name: "nan",
                srs: Some(&srs),
                ty: gdal_sys::OGRwkbGeometryType::wkbPolygon,
                options: None,
            })
            .unwrap();
        for wkt in [
            "POLYGON ((652600 6843000,652610 6843000,652610 6843010,652600 6843000))",
            "POLYGON ((652600 6843000,652611.25 6843000,652610 6843010,652600 6843000))",
        ] {
            layer
                .create_feature(Geometry::from_wkt(wkt).unwrap())
                .unwrap();
        }
    }
    // GDAL refuses to write NaN; patch it into the second polygon's marker coordinate.
    let mut shp = std::fs::read(&path).unwrap();
    let marker = 652611.25f64.to_le_bytes();
    // The last occurrence is the vertex (the first ones are the file's and the record's bbox).
    let at = shp
        .windows(8)
        .rposition(|w| w == marker)
        .expect("marker coordinate");
    shp[at..at + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    std::fs::write(&path, shp).unwrap();
    let (report, _) = run(dir.path(), &delivery("nan.shp", ""));
    let d = &report.deliveries[0];
    assert_eq!((d.read, d.kept, d.rejected), (2, 1, 1));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("nan.shp [nan] feature 1: rejected: non-finite coordinate")),
        "{:#?}",
        d.warnings
    );
}

#[test]
fn validate_names_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A Shapefile without its .prj: no CRS.
    copy_juvisy(dir.path(), "noprj", &["shp", "shx", "dbf", "cpg"]);
    let manifest = format!(
        "{HEAD}\n[[communes]]\ninsee = \"91326\"\nnom = \"J\"\n\
         [[communes.deliveries]]\npath = \"missing.shp\"\ntheme = \"parcelles\"\n\
         [[communes.deliveries]]\npath = \"noprj.shp\"\ntheme = \"parcelles\"\n\
         [[communes.deliveries]]\npath = \"{}\"\ntheme = \"parcelles\"\nmapping = {{ IDPAR = \"id\" }}\n\
         [[communes.deliveries]]\npath = \"noprj.shp\"\ntheme = \"parcels\"\n\
         [[communes.deliveries]]\npath = \"noprj.shp\"\ntheme = \"parcelles\"\ncrs = \"EPSG:999999\"\n",
        fixture("91326-juvisy-sur-orge/PARCELLES.shp")
    );
    let mpath = write_manifest(dir.path(), &manifest);
    let (code, _, err) = tuilerie(&["validate", mpath.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("5 problem(s)"), "{err}");
    assert!(err.contains("did you mean \"parcelles\""), "{err}");
    assert!(err.contains("unknown CRS EPSG:999999"), "{err}");
    assert!(err.contains("missing.shp: file not found"), "{err}");
    assert!(
        err.contains("noprj.shp).crs: layer noprj declares no CRS"),
        "{err}"
    );
    assert!(
        err.contains("mapping from field \"IDPAR\", which the layer does not have"),
        "{err}"
    );
}

#[test]
fn a_failed_delivery_stops_the_layers_but_not_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let body = delivery(&fixture("91326-juvisy-sur-orge/PARCELLES.shp"), "")
        + &delivery_of("91479", "parcelles", "gone.geojson", "");
    let mpath = write_manifest(dir.path(), &format!("{HEAD}\n{body}"));
    let out = dir.path().join("out");
    let (code, stdout, _) = cli_build(&mpath, &out, &[]);
    assert_eq!(code, 2);
    assert!(stdout.contains("gone.geojson: file not found"), "{stdout}");
    assert!(out.join("report.json").exists() && out.join("rejects.gpkg").exists());
    assert!(
        !out.join("parcelles.fgb").exists(),
        "a partial layer must not pass for a complete one"
    );
    // --keep-going writes what could be read.
    let (code, _, _) = cli_build(&mpath, &out, &["--keep-going"]);
    assert_eq!(code, 2);
    assert_eq!(
        common::gdal_features(&out.join("parcelles.fgb"), "id", None).len(),
        567
    );
    assert!(out.join("merged.gpkg").exists() && out.join("decisions.csv").exists());
    // A later failing build removes those layers rather than leave them to pass for its own.
    let (code, _, _) = cli_build(&mpath, &out, &[]);
    assert_eq!(code, 2);
    for stale in ["parcelles.fgb", "merged.gpkg", "decisions.csv"] {
        assert!(!out.join(stale).exists(), "stale {stale} left behind");
    }
    // The failed delivery is read again each build (its failure is not cached: it may come
    // from the machine), the good one is not.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let changes = &report["changes"];
    assert_eq!(
        changes["deliveries_read"],
        serde_json::json!(["gone.geojson"]),
        "{changes}"
    );
    assert_eq!(changes["deliveries_unchanged"], 1, "{changes}");
}

#[test]
fn a_truncated_file_is_an_error_not_a_silent_gap() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("91432-morangis/parcelles.fgb")).unwrap();
    std::fs::write(dir.path().join("cut.fgb"), &bytes[..bytes.len() * 3 / 4]).unwrap();
    let (report, out) = run(
        dir.path(),
        &delivery("cut.fgb", "mapping = { idu = \"id\" }"),
    );
    let d = &report.deliveries[0];
    assert!(d.read < 120, "{}", d.read);
    let e = report.errors.join("\n");
    assert!(
        e.contains("cut.fgb") && e.contains(&format!("read {} of 120 features", d.read)),
        "{e}"
    );
    assert!(
        !report.reconciles(),
        "the shortfall shows in the reconciliation"
    );
    assert!(!out.join("parcelles.fgb").exists());
}

#[test]
fn missing_outlines_are_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let body = delivery(&fixture("91326-juvisy-sur-orge/PARCELLES.shp"), "");
    let mpath = write_manifest(
        dir.path(),
        &format!("{HEAD}\n[outlines]\npath = \"nowhere.geojson\"\n{body}"),
    );
    let (code, _, err) = cli_build(&mpath, &dir.path().join("o"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nowhere.geojson: file not found"), "{err}");
}

#[test]
fn a_wrong_declared_crs_is_caught_by_the_outline_check() {
    let dir = tempfile::tempdir().unwrap();
    let outlines = format!(
        "[outlines]\npath = \"{}\"\nkey = \"insee\"\n",
        fixture("communes-2018.geojson")
    );
    let shp = fixture("91326-juvisy-sur-orge/PARCELLES.shp");
    let (report, _) = run(
        dir.path(),
        &format!("{outlines}{}", delivery(&shp, "crs = \"EPSG:3946\"")),
    );
    let e = report.errors.join("\n");
    assert!(
        e.contains("[PARCELLES] layer extends")
            && e.contains("beyond the outline of commune 91326"),
        "{e}"
    );
    assert!(
        e.contains("the declared CRS (EPSG:3946) is likely wrong"),
        "{e}"
    );
    let km: f64 = e
        .split("extends ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        km > 100_000.0,
        "CC46 read as Lambert-93 lands hundreds of km away ({km} m)"
    );

    // Without outlines, the CRS's area of use catches it too.
    let (report, _) = run(dir.path(), &delivery(&shp, "crs = \"EPSG:3946\""));
    assert!(
        report
            .errors
            .join("\n")
            .contains("beyond the area of use of EPSG:3946"),
        "{:?}",
        report.errors
    );

    // accept_outside turns the error into a warning.
    let (report, _) = run(
        dir.path(),
        &format!(
            "{outlines}{}",
            delivery(&shp, "crs = \"EPSG:3946\"\naccept_outside = true")
        ),
    );
    assert!(report.errors.is_empty());
    assert!(report.deliveries[0]
        .warnings
        .iter()
        .any(|w| w.contains("accepted: accept_outside = true")));
}

#[test]
fn an_unknown_crs_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = run(
        dir.path(),
        &delivery(
            &fixture("91326-juvisy-sur-orge/PARCELLES.shp"),
            "crs = \"EPSG:999999\"",
        ),
    );
    let d = &report.deliveries[0];
    assert_eq!(
        (d.read, d.kept, d.rejected),
        (567, 0, 567),
        "nothing lost: all rejected with the reason"
    );
    assert!(
        report.errors.join("\n").contains("EPSG:999999"),
        "{:?}",
        report.errors
    );
}

#[test]
fn non_utf8_text_is_decoded_as_latin1_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("latin.shp");
    let st = Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile", "-lco", "ENCODING=ISO-8859-1", "-dialect", "SQLite", "-sql"])
        .arg("SELECT IDU, SECTION, NUMERO, 'Allée des Châtaigniers' AS nom, geometry FROM PARCELLES LIMIT 3")
        .arg(&shp)
        .arg(fixture("91326-juvisy-sur-orge/PARCELLES.shp"))
        .status()
        .unwrap();
    assert!(st.success());
    // Drop the encoding declarations: no .cpg, no DBF language driver id.
    let _ = std::fs::remove_file(dir.path().join("latin.cpg"));
    let dbf = dir.path().join("latin.dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    bytes[29] = 0;
    // And a Latin-1 field name: `nom` → `nóm` (0xF3) in the DBF field descriptors.
    let at = bytes
        .windows(4)
        .position(|w| w == b"nom\0")
        .expect("field nom");
    bytes[at + 1] = 0xF3;
    std::fs::write(&dbf, bytes).unwrap();
    let (report, out) = run(
        dir.path(),
        &delivery("latin.shp", "mapping = { IDU = \"id\" }"),
    );
    let d = &report.deliveries[0];
    assert_eq!(d.kept, 3);
    assert!(
        d.warnings.iter().any(|w| w.contains(
            "latin.shp [latin] feature 0: field nóm: text is not UTF-8; decoded as ISO-8859-1"
        )),
        "{:#?}",
        d.warnings
    );
    assert!(
        d.warnings.iter().any(|w| w
            .contains("latin.shp [latin]: field name \"nóm\" is not UTF-8; decoded as ISO-8859-1")),
        "{:#?}",
        d.warnings
    );
    let nom = common::gdal_strings(&out.join("parcelles.fgb"), "nóm");
    assert!(nom.iter().all(|n| n == "Allée des Châtaigniers"), "{nom:?}");
}

#[test]
fn an_ntf_layer_that_would_skip_the_grid_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Morangis declared with a PROJ string carrying its own Helmert shift: PROJ would apply it.
    let helmert = "+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=0 +k_0=0.99987742 +x_0=600000 \
                   +y_0=2200000 +ellps=clrk80ign +pm=paris +towgs84=-168,-60,320 +units=m +no_defs +type=crs";
    let body = delivery(&fixture("91326-juvisy-sur-orge/PARCELLES.shp"), "")
        + &delivery_of(
            "91432",
            "parcelles",
            &fixture("91432-morangis/parcelles.fgb"),
            &format!("crs = \"{helmert}\""),
        );
    let (report, out) = run(dir.path(), &body);
    let e = report.errors.join("\n");
    assert!(
        e.contains("parcelles.fgb") && e.contains("anonymous definition"),
        "{e}"
    );
    assert!(
        e.contains("EPSG:27572"),
        "the message says what to declare: {e}"
    );
    // The other delivery is processed and reported; everything is accounted for.
    assert_eq!(report.deliveries[0].kept, 567);
    assert_eq!(report.deliveries[1].rejected, 120);
    assert!(out.join("report.json").exists());
}

#[test]
fn a_working_crs_in_degrees_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = delivery(&fixture("91326-juvisy-sur-orge/PARCELLES.shp"), "");
    let head = HEAD.replace(
        "nom = \"Test\"",
        "nom = \"Test\"\nworking_crs = \"EPSG:4326\"",
    );
    let mpath = write_manifest(dir.path(), &format!("{head}\n{body}"));
    let (code, _, err) = tuilerie(&["validate", mpath.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("working_crs: the working CRS must be metric"),
        "{err}"
    );
    let (code, _, err) = cli_build(&mpath, &dir.path().join("o"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be metric"), "{err}");
}

#[test]
fn open_rings_read_through_gdal_are_closed_and_reported() {
    // A CSV of WKT (read by GDAL): OGR keeps rings as written, even inside a collection.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("open.csv"),
        "WKT,id\n\
         \"POLYGON ((652600 6843000,652610 6843000,652610 6843010,652600 6843010))\",a\n\
         \"GEOMETRYCOLLECTION (POLYGON ((652700 6843000,652710 6843000,652710 6843010,652700 6843010)))\",b\n",
    )
    .unwrap();
    let body = delivery_of("91326", "batiments", "open.csv", "crs = \"EPSG:2154\"");
    let (report, _) = run(dir.path(), &body);
    let d = &report.deliveries[0];
    assert_eq!((d.read, d.kept, d.repaired), (2, 2, 2), "{:#?}", d.warnings);
    for f in ["feature 1", "feature 2"] {
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains(&format!("open.csv [open] {f}: 1 ring(s) were not closed"))),
            "{:#?}",
            d.warnings
        );
    }
}

#[test]
fn a_truncated_shapefile_rejects_the_unreadable_shapes_with_gdals_reason() {
    let dir = tempfile::tempdir().unwrap();
    copy_juvisy(dir.path(), "cut", &["shx", "dbf", "prj", "cpg"]);
    let shp = std::fs::read(fixture("91326-juvisy-sur-orge/PARCELLES.shp")).unwrap();
    std::fs::write(dir.path().join("cut.shp"), &shp[..100_000]).unwrap();
    let (report, _) = run(
        dir.path(),
        &delivery("cut.shp", "mapping = { IDU = \"id\" }"),
    );
    let d = &report.deliveries[0];
    assert_eq!(d.read, 567, "every record of the index is accounted for");
    assert!(
        d.rejected > 0 && d.kept + d.rejected == 567,
        "{} kept, {} rejected",
        d.kept,
        d.rejected
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("cut.shp [cut] feature")
                && w.contains("rejected: no geometry (null) (GDAL: ")),
        "{:#?}",
        &d.warnings[..3.min(d.warnings.len())]
    );
}
