//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod http;

use gdal::vector::LayerAccess;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// `../shared/data`, or `None` (after saying the test is skipped) when it is absent.
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let p = root().join("../shared/data");
    if p.is_dir() {
        Some(p.canonicalize().unwrap_or(p))
    } else {
        eprintln!("SKIP {test}: ../shared/data is absent");
        None
    }
}

pub fn load_manifest(path: &Path) -> tuilerie_model::Manifest {
    let text = std::fs::read_to_string(path).unwrap();
    tuilerie_model::Manifest::parse(&text, path.parent().unwrap()).unwrap()
}

/// Every feature of a vector file as GDAL reads it: (attribute value of `key`, geometry).
pub fn gdal_features(
    path: &Path,
    key: &str,
    filter: Option<&str>,
) -> Vec<(String, geo::Geometry<f64>)> {
    let ds = gdal::Dataset::open(path)
        .unwrap_or_else(|e| panic!("GDAL cannot open {}: {e}", path.display()));
    let mut layer = ds.layer(0).unwrap();
    if let Some(f) = filter {
        layer.set_attribute_filter(f).unwrap();
    }
    let idx = layer
        .defn()
        .field_index(key)
        .unwrap_or_else(|_| panic!("{} has no field {key}", path.display()));
    layer
        .features()
        .map(|f| {
            let k = f.field_as_string(idx).unwrap().unwrap_or_default();
            let g = f.geometry().unwrap().to_geo().unwrap();
            (k, g)
        })
        .collect()
}

/// Largest vertex-to-vertex distance between two geometries with the same structure, or
/// `None` when their vertex counts differ.
pub fn max_vertex_distance(a: &geo::Geometry<f64>, b: &geo::Geometry<f64>) -> Option<f64> {
    use geo::CoordsIter;
    let (ca, cb): (Vec<_>, Vec<_>) = (a.coords_iter().collect(), b.coords_iter().collect());
    if ca.len() != cb.len() {
        return None;
    }
    Some(
        ca.iter()
            .zip(&cb)
            .map(|(p, q)| ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt())
            .fold(0.0, f64::max),
    )
}

/// Run `ogr2ogr -t_srs EPSG:2154` on `src` into a GeoJSON in `dir`; returns its path.
pub fn ogr2ogr_to_l93(src: &str, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.geojson"));
    let status = std::process::Command::new("ogr2ogr")
        .args([
            "-f",
            "GeoJSON",
            "-t_srs",
            "EPSG:2154",
            "-lco",
            "COORDINATE_PRECISION=6",
        ])
        .arg(&out)
        .arg(src)
        .args(extra)
        .status()
        .expect("ogr2ogr (gdal-bin) is installed by scripts/setup.sh");
    assert!(status.success(), "ogr2ogr failed on {src}");
    out
}

/// Every feature of a vector file keyed by its FID, as GDAL reads it.
pub fn gdal_features_by_fid(path: &Path) -> std::collections::HashMap<String, geo::Geometry<f64>> {
    let ds = gdal::Dataset::open(path).unwrap();
    let mut layer = ds.layer(0).unwrap();
    layer
        .features()
        .map(|f| {
            (
                f.fid().unwrap_or(0).to_string(),
                f.geometry().unwrap().to_geo().unwrap(),
            )
        })
        .collect()
}

/// Build a parsed manifest into a temporary folder, on `threads` worker threads (the default
/// pool when `None`).
pub fn build_parsed(
    m: &tuilerie_model::Manifest,
    threads: Option<usize>,
) -> (tempfile::TempDir, tuilerie_pipeline::BuildReport) {
    let out = tempfile::tempdir().unwrap();
    let run = || {
        tuilerie_pipeline::build(
            m,
            out.path(),
            &tuilerie_pipeline::BuildOptions {
                quiet: true,
                ..Default::default()
            },
        )
    };
    let report = match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(run),
        None => run(),
    }
    .unwrap_or_else(|e| panic!("build {}: {e}", m.base_dir.display()));
    (out, report)
}

/// Build a manifest into a temporary folder; returns the folder and the report.
pub fn build(manifest: &Path) -> (tempfile::TempDir, tuilerie_pipeline::BuildReport) {
    build_parsed(&load_manifest(manifest), None)
}

/// Build a manifest with the merge switched off (no deduplication, ids as delivered): one
/// output feature per source feature, to compare with the sources one to one.
pub fn build_unmerged(manifest: &Path) -> (tempfile::TempDir, tuilerie_pipeline::BuildReport) {
    let mut m = load_manifest(manifest);
    m.merge.renumber = false;
    for theme in m.themes() {
        m.theme_rules.insert(
            theme.name().to_string(),
            tuilerie_model::merge_rules::ThemeRulesOverride {
                dedup: Some(false),
                ..Default::default()
            },
        );
    }
    build_parsed(&m, None)
}

/// The values of one text field over every feature of a vector file, as GDAL reads them.
pub fn gdal_strings(path: &Path, field: &str) -> Vec<String> {
    let ds = gdal::Dataset::open(path).unwrap();
    let mut layer = ds.layer(0).unwrap();
    let idx = layer.defn().field_index(field).unwrap();
    layer
        .features()
        .map(|f| f.field_as_string(idx).unwrap().unwrap_or_default())
        .collect()
}

/// The four deliveries of an essonne-fusion folder (the fixture or ../shared's scenario):
/// (commune, path GDAL opens, its parcel id field).
pub fn essonne_sources(dir: &Path) -> Vec<(&'static str, String, &'static str)> {
    let p = |rel: &str| dir.join(rel).display().to_string();
    vec![
        (
            "91027",
            format!(
                "/vsigzip/{}",
                p("91027-athis-mons/cadastre-91027-parcelles.json.gz")
            ),
            "id",
        ),
        ("91326", p("91326-juvisy-sur-orge/PARCELLES.shp"), "IDU"),
        (
            "91479",
            p("91479-paray-vieille-poste/cadastre.gpkg"),
            "id_parcelle",
        ),
        ("91432", p("91432-morangis/parcelles.fgb"), "idu"),
    ]
}

/// Compare our output layer `ours` (features of `commune`, keyed by `our_key`) with
/// `ogr2ogr -t_srs EPSG:2154` of `src` (keyed by `their_key`, or by FID when `None`): the same
/// features, vertex by vertex. Returns (features, worst vertex distance in metres).
pub fn compare_with_ogr2ogr(
    ours: &Path,
    our_key: &str,
    commune: &str,
    src: &str,
    their_key: Option<&str>,
    tmp: &Path,
) -> (usize, f64) {
    let theirs: std::collections::HashMap<String, geo::Geometry<f64>> = match their_key {
        Some(k) => gdal_features(&ogr2ogr_to_l93(src, tmp, commune, &[]), k, None)
            .into_iter()
            .collect(),
        None => gdal_features_by_fid(&ogr2ogr_to_l93(src, tmp, commune, &["-preserve_fid"])),
    };
    let mine = gdal_features(ours, our_key, Some(&format!("src_commune = '{commune}'")));
    assert_eq!(
        mine.len(),
        theirs.len(),
        "{commune}: feature counts differ from ogr2ogr's"
    );
    let worst = mine
        .iter()
        .map(|(id, g)| {
            let t = theirs
                .get(id)
                .unwrap_or_else(|| panic!("{commune}: ogr2ogr has no feature {id}"));
            max_vertex_distance(g, t)
                .unwrap_or_else(|| panic!("{commune} {id}: vertex counts differ"))
        })
        .fold(0.0, f64::max);
    eprintln!(
        "{commune}: {} features, worst vertex difference with ogr2ogr {worst:.2e} m",
        mine.len()
    );
    (mine.len(), worst)
}

/// Every delivery read whole and kept whole: (commune, features) in manifest order, nothing
/// rejected, counts reconciled, no error.
pub fn assert_all_kept(report: &tuilerie_pipeline::BuildReport, expected: &[(&str, usize)]) {
    let got: Vec<(String, usize, usize, usize)> = report
        .deliveries
        .iter()
        .map(|d| (d.commune.clone(), d.read, d.kept, d.rejected))
        .collect();
    let want: Vec<(String, usize, usize, usize)> = expected
        .iter()
        .map(|(c, n)| (c.to_string(), *n, *n, 0))
        .collect();
    assert_eq!(got, want, "(commune, read, kept, rejected)");
    assert!(report.reconciles(), "counts do not reconcile");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// Build a manifest with `threads` worker threads, after reversing the order of its
/// communes and of their deliveries when `shuffle` is set. Returns the output folder.
pub fn build_with(manifest: &Path, threads: usize, shuffle: bool) -> tempfile::TempDir {
    let mut m = load_manifest(manifest);
    if shuffle {
        m.communes.reverse();
        for c in &mut m.communes {
            c.deliveries.reverse();
        }
    }
    build_parsed(&m, Some(threads)).0
}

/// Total length (m) of the line features of a vector file, as GDAL reads them.
pub fn gdal_total_length(path: &Path) -> f64 {
    use geo::{Euclidean, Length};
    let ds = gdal::Dataset::open(path)
        .unwrap_or_else(|e| panic!("GDAL cannot open {}: {e}", path.display()));
    let mut layer = ds.layer(0).unwrap();
    layer
        .features()
        .filter_map(|f| f.geometry().map(|g| g.to_geo().unwrap()))
        .map(|g| match g {
            geo::Geometry::LineString(l) => Euclidean.length(&l),
            geo::Geometry::MultiLineString(m) => Euclidean.length(&m),
            _ => 0.0,
        })
        .sum()
}

/// `ogr2ogr` of `src` into Lambert-93, clipped to the outlines of `outlines` (a GeoJSON in
/// WGS84) selected by `where_` (all of them when `None`).
pub fn ogr2ogr_clip(
    src: &Path,
    outlines: &Path,
    where_: Option<&str>,
    dir: &Path,
    name: &str,
) -> PathBuf {
    let l93 = dir.join("outlines-l93.gpkg");
    if !l93.exists() {
        let st = std::process::Command::new("ogr2ogr")
            .args(["-t_srs", "EPSG:2154", "-nln", "outlines"])
            .arg(&l93)
            .arg(outlines)
            .status()
            .expect("ogr2ogr (gdal-bin) is installed by scripts/setup.sh");
        assert!(st.success());
    }
    let out = dir.join(format!("{name}.gpkg"));
    let mut cmd = std::process::Command::new("ogr2ogr");
    cmd.args(["-t_srs", "EPSG:2154", "-nlt", "MULTILINESTRING", "-clipdst"])
        .arg(&l93)
        .args(["-clipdstlayer", "outlines"]);
    if let Some(w) = where_ {
        cmd.args(["-clipdstwhere", w]);
    }
    let st = cmd.arg(&out).arg(src).status().expect("ogr2ogr");
    assert!(st.success(), "ogr2ogr clip of {}", src.display());
    out
}
