//! The merge stage's acceptance on real data, checked with GDAL (`ogrinfo`'s reader,
//! `ogr2ogr` clipping) rather than with our own reader: the bundled fixture always, the
//! ../shared scenarios when present.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// `(id, sources, commune_deleguee, id_source)` of every merged parcel, read by GDAL.
fn merged_parcels(fgb: &Path) -> Vec<(String, serde_json::Value, String, String)> {
    use gdal::vector::LayerAccess;
    let ds = gdal::Dataset::open(fgb).unwrap();
    let mut layer = ds.layer(0).unwrap();
    let idx = |n: &str| {
        layer
            .defn()
            .field_index(n)
            .unwrap_or_else(|_| panic!("no field {n}"))
    };
    let (id, src, del, ids) = (
        idx("id"),
        idx("sources"),
        idx("commune_deleguee"),
        idx("id_source"),
    );
    layer
        .features()
        .map(|f| {
            let s = |i| f.field_as_string(i).unwrap().unwrap_or_default();
            (
                s(id),
                serde_json::from_str(&s(src)).unwrap(),
                s(del),
                s(ids),
            )
        })
        .collect()
}

/// QA rows of merged.gpkg: (kind, commune_a, commune_b) → (count, summed measure).
fn qa_summary(gpkg: &Path) -> BTreeMap<(String, String, String), (usize, f64)> {
    use gdal::vector::LayerAccess;
    let ds = gdal::Dataset::open(gpkg).unwrap();
    let mut layer = ds.layer_by_name("qa").unwrap();
    let idx = |n: &str| layer.defn().field_index(n).unwrap();
    let (kind, a, b, measure) = (
        idx("kind"),
        idx("commune_a"),
        idx("commune_b"),
        idx("measure"),
    );
    let mut out: BTreeMap<(String, String, String), (usize, f64)> = BTreeMap::new();
    for f in layer.features() {
        let s = |i| f.field_as_string(i).unwrap().unwrap_or_default();
        let e = out.entry((s(kind), s(a), s(b))).or_default();
        e.0 += 1;
        e.1 += f.field_as_double(measure).unwrap().unwrap_or(0.0);
    }
    out
}

/// The essonne acceptance, on the fixture or on the full scenario: Juvisy's copies of
/// Athis-Mons parcels merged into one feature each, the real overlaps kept and in QA, the ids
/// renumbered with the new préfixes.
fn check_essonne(out: &Path, juvisy_shp: &Path, expected_output: usize) {
    let parcels = merged_parcels(&out.join("parcelles.fgb"));
    assert_eq!(parcels.len(), expected_output);
    // The Athis-Mons parcels Juvisy repeats, read from Juvisy's Shapefile by GDAL.
    let repeated: Vec<String> = common::gdal_strings(juvisy_shp, "IDU")
        .into_iter()
        .filter(|id| id.starts_with("91027"))
        .collect();
    assert_eq!(
        repeated.len(),
        45,
        "SOURCES.md: Juvisy repeats 45 Athis-Mons parcels"
    );
    let by_id: HashMap<&str, Vec<&serde_json::Value>> =
        parcels.iter().fold(HashMap::new(), |mut m, (id, s, _, _)| {
            m.entry(id.as_str()).or_default().push(s);
            m
        });
    for id in &repeated {
        let copies = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} is missing"));
        assert_eq!(copies.len(), 1, "{id} appears {} times", copies.len());
        let communes: Vec<&str> = copies[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["commune"].as_str().unwrap())
            .collect();
        assert_eq!(
            communes,
            vec!["91027", "91326"],
            "{id}: both copies listed in sources"
        );
    }
    // Every id once: the merged copies are gone, and the préfixes keep sections apart.
    assert_eq!(
        by_id.len(),
        parcels.len(),
        "parcel ids are unique after the merge"
    );
    // Ids renumbered: kept commune 91027, préfixe = the absorbed commune's last 3 digits.
    for (id, _, deleguee, id_source) in &parcels {
        let prefix = if deleguee == "91027" {
            "000".to_string()
        } else {
            deleguee[2..].to_string()
        };
        assert!(
            id.starts_with(&format!("91027{prefix}")),
            "{id} in {deleguee}"
        );
        if deleguee != "91027" {
            assert_eq!(
                &id_source[..5],
                deleguee,
                "{id}: id_source keeps the delivered id"
            );
            assert_eq!(
                id_source[8..],
                id[8..],
                "{id}: section and numéro unchanged"
            );
        }
    }
    // The real overlaps between Athis-Mons and Juvisy parcels are in QA (domain.md: 31 pairs,
    // 117 m²), and both parcels of each pair are still there.
    let qa = qa_summary(&out.join("merged.gpkg"));
    let (n, area) = qa[&(
        "overlap".to_string(),
        "91027".to_string(),
        "91326".to_string(),
    )];
    assert_eq!(n, 31, "{qa:?}");
    assert!((area - 117.0).abs() < 1.0, "overlap area {area}");
    // Thin gaps between the two communes' parcels are found, and only thin ones (streets,
    // which the cadastre does not cover, are not gaps).
    let (gaps, gap_area) = qa[&("gap".to_string(), "91027".to_string(), "91326".to_string())];
    assert!(
        gaps >= 1 && gap_area / (gaps as f64) < 100.0,
        "{gaps} gaps, {gap_area} m²"
    );
}

#[test]
fn fixture_merge_dedups_juvisy_repeats_keeps_overlaps_and_renumbers() {
    let (out, report) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    assert!(
        report.reconciles(),
        "read = output + merged away + rejected"
    );
    let m = report.themes["parcelles"].merge.as_ref().unwrap();
    assert_eq!((m.input, m.merged_away, m.output), (2837, 45, 2792));
    check_essonne(
        out.path(),
        &common::fixtures().join("essonne-fusion/91326-juvisy-sur-orge/PARCELLES.shp"),
        2792,
    );
    // The decisions log opens as CSV: one row per merge, with its matcher and reason.
    let mut rd = csv::Reader::from_path(out.path().join("decisions.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.iter().filter(|r| &r[3] == "merged").count(), 45);
    assert!(rows
        .iter()
        .all(|r| !r[4].is_empty() && !r[5].is_empty() && !r[6].is_empty()));
}

#[test]
fn essonne_fusion_merge() {
    let Some(shared) = common::shared_data("essonne_fusion_merge") else {
        return;
    };
    let (out, report) = common::build(&common::root().join("examples/essonne-fusion.toml"));
    assert!(report.reconciles());
    let m = report.themes["parcelles"].merge.as_ref().unwrap();
    assert_eq!((m.input, m.merged_away, m.output), (17686, 45, 17641));
    check_essonne(
        out.path(),
        &shared.join("scenarios/essonne-fusion/91326-juvisy-sur-orge/PARCELLES.shp"),
        17641,
    );
}

#[test]
fn lille_voirie_network_length_and_connectivity() {
    let Some(shared) = common::shared_data("lille_voirie_network_length_and_connectivity") else {
        return;
    };
    let (out, report) = common::build(&common::root().join("examples/lille-voirie.toml"));
    assert!(report.reconciles());
    let m = report.themes["voirie"].merge.as_ref().unwrap();
    // The source network inside the three communes: each delivery clipped by ogr2ogr to its
    // own commune (each reaches 25 m beyond it), summed.
    let sc = shared.join("scenarios/lille-voirie");
    let outlines = sc.join("communes-2018.geojson");
    let tmp = tempfile::tempdir().unwrap();
    let mut source = 0.0;
    for (code, rel) in [
        ("59350", "59350-lille/voirie.geojson"),
        ("59328", "59328-lambersart/TRONCON_VOIE.shp"),
        ("59527", "59527-saint-andre-lez-lille/voirie.geojson"),
    ] {
        let clipped = common::ogr2ogr_clip(
            &sc.join(rel),
            &outlines,
            Some(&format!("insee = '{code}'")),
            tmp.path(),
            code,
        );
        source += common::gdal_total_length(&clipped);
    }
    // The merged network clipped by ogr2ogr to the three communes together.
    let merged = common::ogr2ogr_clip(
        &out.path().join("voirie.fgb"),
        &outlines,
        None,
        tmp.path(),
        "merged",
    );
    let merged = common::gdal_total_length(&merged);
    let gap = (merged - source) / source;
    eprintln!(
        "network inside the communes: source {source:.1} m, merged {merged:.1} m ({:+.3} %)",
        gap * 100.0
    );
    assert!(
        gap.abs() < 0.01,
        "merged length {merged} vs source {source}"
    );
    // Roads delivered twice were merged, Lambersart's offset survey included.
    assert!(m.merged_away > 0);
    let mut rd = csv::Reader::from_path(out.path().join("decisions.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    let lambersart = rows
        .iter()
        .filter(|r| &r[1] == "subline" && r[6].starts_with("59328/"))
        .count();
    assert!(lambersart > 0, "Lambersart's offset roads matched");
    // At least as connected as the deliveries were.
    let (before, after) = (m.components_before.unwrap(), m.components_after.unwrap());
    eprintln!(
        "components {before} → {after}, {} ends snapped",
        m.snapped_ends
    );
    assert!(after <= before, "components {before} → {after}");
}

#[test]
fn luxiol_edigeo_repeated_objects_end_up_once() {
    let Some(_) = common::shared_data("luxiol_edigeo_repeated_objects_end_up_once") else {
        return;
    };
    let (out, report) = common::build(&common::root().join("examples/luxiol-edigeo.toml"));
    assert!(report.reconciles());
    // The commune object, repeated by the 8 sheets: once, with its 8 sources.
    let communes = common::gdal_strings(&out.path().join("communes.fgb"), "IDU");
    assert_eq!(communes, vec!["354"]);
    let sources = common::gdal_strings(&out.path().join("communes.fgb"), "sources");
    let sources: serde_json::Value = serde_json::from_str(&sources[0]).unwrap();
    assert_eq!(sources.as_array().unwrap().len(), 8);
    // One section per sheet here: each once, none merged with another.
    let mut sections = common::gdal_strings(&out.path().join("sections.fgb"), "IDU");
    sections.sort();
    sections.dedup();
    assert_eq!(sections.len(), 8);
    assert_eq!(report.themes["sections"].merge.as_ref().unwrap().output, 8);
    assert_eq!(
        report.themes["parcelles"].merge.as_ref().unwrap().output,
        511
    );
}

/// The same bytes whatever the number of threads and the order of the deliveries.
fn assert_deterministic(manifest: &Path, files: &[&str]) {
    let a = common::build_with(manifest, 1, false);
    let b = common::build_with(manifest, 2, true);
    let c = common::build_with(manifest, 4, false);
    for f in files {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert!(
            x == std::fs::read(b.path().join(f)).unwrap(),
            "{f}: 1 thread vs 2 threads + shuffled deliveries"
        );
        assert!(
            x == std::fs::read(c.path().join(f)).unwrap(),
            "{f}: 1 thread vs 4 threads"
        );
    }
    // merged.gpkg holds GDAL's write time, so compare what it holds, as ogrinfo lists it.
    let listing = |dir: &Path| {
        let out = std::process::Command::new("ogrinfo")
            .args(["-al", "-q"])
            .arg(dir.join("merged.gpkg"))
            .output()
            .expect("ogrinfo (gdal-bin)");
        assert!(out.status.success());
        out.stdout
    };
    let x = listing(a.path());
    assert!(x.len() > 1000);
    assert!(
        x == listing(b.path()),
        "merged.gpkg: 1 thread vs 2 threads + shuffled deliveries"
    );
}

#[test]
fn merge_output_is_deterministic_on_the_fixture() {
    assert_deterministic(
        &common::fixtures().join("essonne-fusion.toml"),
        &["parcelles.fgb", "decisions.csv"],
    );
}

#[test]
fn merge_output_is_deterministic_on_lille_networks() {
    if common::shared_data("merge_output_is_deterministic_on_lille_networks").is_none() {
        return;
    }
    assert_deterministic(
        &common::root().join("examples/lille-voirie.toml"),
        &["voirie.fgb", "decisions.csv"],
    );
}
