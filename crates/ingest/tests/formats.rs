//! Every delivery format, read by our readers and counted against GDAL's `ogrinfo` (an
//! independent reading of the same file). Files in other formats are made from the fixtures with
//! `ogr2ogr`; the real-world DXF and OSM PBF come from ../shared/data when it is present.

use std::path::{Path, PathBuf};
use std::process::Command;
use tuilerie_ingest::{read_delivery, Format};
use tuilerie_model::CrsRef;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn shared(test: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP {test}: ../shared/data is absent");
        None
    }
}

/// `ogrinfo -so` feature count of one layer.
fn ogrinfo_count(path: &str, layer: Option<&str>) -> usize {
    let mut cmd = Command::new("ogrinfo");
    cmd.args(["-ro", "-so", "-al"]).arg(path);
    if let Some(l) = layer {
        cmd.arg(l);
    }
    let out = cmd
        .output()
        .expect("ogrinfo (gdal-bin) is installed by scripts/setup.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut count = None;
    let mut current = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Layer name: ") {
            current = Some(n.to_string());
        }
        if let Some(c) = line.strip_prefix("Feature Count: ") {
            if layer.is_none() || current.as_deref() == layer {
                count = c.trim().parse().ok();
            }
        }
    }
    count.unwrap_or_else(|| panic!("ogrinfo gave no count for {path}:\n{text}"))
}

fn ogr2ogr(args: &[&str]) {
    let st = Command::new("ogr2ogr")
        .args(args)
        .status()
        .expect("ogr2ogr is installed by scripts/setup.sh");
    assert!(st.success(), "ogr2ogr {args:?}");
}

fn read_one(path: &Path, layer: Option<&str>) -> tuilerie_ingest::SourceLayer {
    let mut layers = read_delivery(path, layer).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(layers.len(), 1);
    layers.remove(0)
}

fn all_geometries_ok(l: &tuilerie_ingest::SourceLayer) {
    for f in &l.features {
        assert!(
            f.geometry.is_ok(),
            "{} feature {}: {:?}",
            l.name,
            f.index,
            f.geometry
        );
    }
}

#[test]
fn geojson_gzipped_without_crs_is_wgs84() {
    let p = fixtures().join("essonne-fusion/91027-athis-mons/cadastre-91027-parcelles.json.gz");
    assert_eq!(Format::detect(&p), Format::GeoJson);
    let l = read_one(&p, None);
    assert_eq!(
        l.features.len(),
        ogrinfo_count(&format!("/vsigzip/{}", p.display()), None)
    );
    assert_eq!(l.crs, Some(CrsRef::Epsg(4326)));
    assert_eq!(l.features[0].source_id(), "910270000A0251");
    all_geometries_ok(&l);
}

#[test]
fn geojson_with_legacy_crs_and_geojsonseq() {
    let dir = tempfile::tempdir().unwrap();
    let gpkg = fixtures().join("essonne-fusion/91479-paray-vieille-poste/cadastre.gpkg");
    let legacy = dir.path().join("paray.geojson");
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-lco",
        "RFC7946=NO",
        legacy.to_str().unwrap(),
        gpkg.to_str().unwrap(),
    ]);
    let l = read_one(&legacy, None);
    assert_eq!(l.crs, Some(CrsRef::Epsg(3949)), "the crs member names CC49");
    assert_eq!(
        l.features.len(),
        ogrinfo_count(legacy.to_str().unwrap(), None)
    );
    all_geometries_ok(&l);

    let seq = dir.path().join("paray.geojsonl");
    ogr2ogr(&[
        "-f",
        "GeoJSONSeq",
        "-t_srs",
        "EPSG:4326",
        seq.to_str().unwrap(),
        gpkg.to_str().unwrap(),
    ]);
    let l = read_one(&seq, None);
    assert_eq!(l.features.len(), 1086);
    assert_eq!(l.crs, Some(CrsRef::Epsg(4326)));
    all_geometries_ok(&l);
}

#[test]
fn flatgeobuf_natively_with_its_crs() {
    let p = fixtures().join("essonne-fusion/91432-morangis/parcelles.fgb");
    let l = read_one(&p, None);
    assert_eq!(l.driver, "FlatGeobuf");
    assert_eq!(l.crs, Some(CrsRef::Epsg(27572)));
    assert_eq!(l.features.len(), ogrinfo_count(p.to_str().unwrap(), None));
    let names: Vec<&str> = l.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["idu", "sec", "num", "contenance"]);
    all_geometries_ok(&l);
}

#[test]
fn shapefile_with_esri_prj_and_latin1_cpg() {
    let p = fixtures().join("essonne-fusion/91326-juvisy-sur-orge/PARCELLES.shp");
    let l = read_one(&p, None);
    assert_eq!(
        l.crs,
        Some(CrsRef::Epsg(2154)),
        "ESRI WKT identified as Lambert-93"
    );
    assert_eq!(l.features.len(), ogrinfo_count(p.to_str().unwrap(), None));
    all_geometries_ok(&l);
}

#[test]
fn zipped_shapefile() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("PARCELLES.shp.zip");
    let shp = fixtures().join("essonne-fusion/91326-juvisy-sur-orge/PARCELLES.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        zip.to_str().unwrap(),
        shp.to_str().unwrap(),
    ]);
    assert_eq!(Format::detect(&zip), Format::ShapefileZip);
    let l = read_one(&zip, None);
    assert_eq!(l.features.len(), 567);
    assert_eq!(l.crs, Some(CrsRef::Epsg(2154)));
}

#[test]
fn geopackage_layer_by_name_and_ambiguity() {
    let p = fixtures().join("essonne-fusion/91479-paray-vieille-poste/cadastre.gpkg");
    let l = read_one(&p, Some("parcelle"));
    assert_eq!(l.crs, Some(CrsRef::Epsg(3949)));
    assert_eq!(l.features.len(), ogrinfo_count(p.to_str().unwrap(), None));
    let e = read_delivery(&p, Some("parcelles"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("layer \"parcelles\" not found") && e.contains("parcelle"),
        "{e}"
    );
}

#[test]
fn edigeo_sheet_archive() {
    let p = fixtures().join("edigeo/edigeo-25354000AB01.tar.bz2");
    assert_eq!(Format::detect(&p), Format::Edigeo);
    let l = read_one(&p, Some("PARCELLE_id"));
    assert_eq!(l.name, "edigeo-25354000AB01/PARCELLE_id");
    assert_eq!(l.features.len(), 14);
    assert_eq!(
        l.crs,
        Some(CrsRef::Epsg(2154)),
        "RELSA06:LAMB93 identified as EPSG:2154"
    );
    all_geometries_ok(&l);
    // The sheet's text is ISO-8859-1 (THF/VEC `TEXT 06:8859-1`): it arrives as UTF-8.
    let roads = read_one(&p, Some("ZONCOMMUNI_id"));
    let texts: Vec<String> = roads
        .features
        .iter()
        .flat_map(|f| f.attributes.iter())
        .filter_map(|(_, v)| v.as_text())
        .collect();
    assert!(texts.iter().any(|t| t == "nº 6"), "{texts:?}");
    assert!(
        roads.features.iter().all(|f| f.repairs.is_empty()),
        "no re-decoding needed"
    );
    // No layer: an error that says what a sheet holds.
    assert!(read_delivery(&p, None)
        .unwrap_err()
        .to_string()
        .contains("PARCELLE_id"));
}

#[test]
fn mapinfo_and_dxf_made_by_ogr2ogr() {
    let dir = tempfile::tempdir().unwrap();
    let gpkg = fixtures().join("essonne-fusion/91479-paray-vieille-poste/cadastre.gpkg");
    let tab = dir.path().join("parcelles.tab");
    ogr2ogr(&[
        "-f",
        "MapInfo File",
        tab.to_str().unwrap(),
        gpkg.to_str().unwrap(),
    ]);
    let l = read_one(&tab, None);
    assert_eq!(l.features.len(), 1086);
    assert!(l.crs.is_some());
    all_geometries_ok(&l);

    let dxf = dir.path().join("parcelles.dxf");
    ogr2ogr(&["-f", "DXF", dxf.to_str().unwrap(), gpkg.to_str().unwrap()]);
    let l = read_one(&dxf, None);
    assert_eq!(l.features.len(), ogrinfo_count(dxf.to_str().unwrap(), None));
    assert_eq!(
        l.crs, None,
        "DXF carries no CRS: the manifest must give one"
    );
    all_geometries_ok(&l);
}

#[test]
fn real_pci_dxf_and_osm_pbf() {
    let Some(shared) = shared("real_pci_dxf_and_osm_pbf") else {
        return;
    };
    let dxf = shared.join("cadastre/pci-dxf-72187/1870000A02.DXF");
    let l = read_one(&dxf, None);
    assert_eq!(l.features.len(), 152);
    let pbf = shared.join("networks/osm-saint-barthelemy/saint_barthelemy.osm.pbf");
    assert_eq!(Format::detect(&pbf), Format::Osm);
    let l = read_one(&pbf, Some("lines"));
    assert_eq!(l.features.len(), 530);
    assert_eq!(l.crs, Some(CrsRef::Epsg(4326)));
    all_geometries_ok(&l);
}

#[test]
fn garbage_in_any_format_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for name in [
        "x.geojson",
        "x.json.gz",
        "x.fgb",
        "x.shp",
        "x.zip",
        "x.gpkg",
        "x.tar.bz2",
        "x.dxf",
        "x.osm.pbf",
        "x.tab",
        "x.bin",
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &junk).unwrap();
        match read_delivery(&p, None) {
            Err(e) => assert!(
                e.to_string().contains(name),
                "{name}: error does not name the file: {e}"
            ),
            Ok(layers) => assert!(
                layers.iter().all(|l| l.features.is_empty()),
                "{name}: junk gave features"
            ),
        }
    }
    // Truncated real files: an error, or (FlatGeobuf) a layer that says it stopped short.
    let bytes = std::fs::read(
        fixtures().join("essonne-fusion/91027-athis-mons/cadastre-91027-parcelles.json.gz"),
    )
    .unwrap();
    let p = dir.path().join("cut.json");
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
    std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    let e = read_delivery(&p, None).unwrap_err().to_string();
    assert!(e.contains("cut.json") && e.contains("invalid JSON"), "{e}");
    let bytes =
        std::fs::read(fixtures().join("essonne-fusion/91432-morangis/parcelles.fgb")).unwrap();
    let p = dir.path().join("cut.fgb");
    std::fs::write(&p, &bytes[..bytes.len() * 3 / 4]).unwrap();
    match read_delivery(&p, None) {
        Err(e) => assert!(e.to_string().contains("cut.fgb"), "{e}"),
        Ok(layers) => assert!(
            layers[0].shortfall().is_some(),
            "a cut FlatGeobuf must not read as whole"
        ),
    }
}
