//! Nightly rebuilds on a copy of the fixtures: a build with nothing changed writes nothing; one
//! commune's delivery changed (features removed, added, moved, attributes edited) rebuilds
//! only the tiles of its area, the running service serves them without a restart, and the
//! result equals a full rebuild, byte for byte; builds killed (SIGKILL) at every stage leave
//! the served archive whole and the next build recovers.
//!
//! Tiles are compared by `tests/tools/mvt_check.py diff` (the `pmtiles` Python package), not
//! by tuilerie's own reader.

mod common;

use common::http::request;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Athis-Mons delivery, relative to the manifest's folder.
const ATHIS: &str = "essonne-fusion/91027-athis-mons/cadastre-91027-parcelles.json.gz";

/// A writable copy of the fixture manifest and its deliveries.
fn copy_fixtures(dir: &Path) -> PathBuf {
    let src = common::fixtures();
    let status = Command::new("cp")
        .arg("-r")
        .arg(src.join("essonne-fusion"))
        .arg(src.join("essonne-fusion.toml"))
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(dir)
        .status()
        .unwrap();
    dir.join("essonne-fusion.toml")
}

/// `tuilerie build -q MANIFEST --out OUT [extra]`: exit code and report.json. Run from OUT's
/// parent with a relative `--out`, as an operator would.
fn build(manifest: &Path, out: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .current_dir(out.parent().unwrap())
        .args(["build", "-q", "--out"])
        .arg(out.file_name().unwrap())
        .args(extra)
        .arg(manifest)
        .output()
        .unwrap();
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "build failed ({code}): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = std::fs::read(out.join("report.json")).unwrap();
    (code, serde_json::from_slice(&report).unwrap())
}

/// Change Athis-Mons's delivery: 4 parcels removed, 3 moved by about 6 m, 3 with another
/// `contenance`, 2 new ones (copies 30 m east, numbered 9900 and 9901). Returns the lon/lat
/// envelope of every feature concerned, where it was and where it is.
/// Athis-Mons's delivery, as GeoJSON.
fn read_athis(manifest_dir: &Path) -> serde_json::Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(manifest_dir.join(ATHIS)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Athis-Mons delivers `doc`.
fn write_athis(manifest_dir: &Path, doc: &serde_json::Value) {
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(manifest_dir.join(ATHIS)).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(serde_json::to_string(doc).unwrap().as_bytes())
        .unwrap();
    gz.finish().unwrap();
}

fn change_athis(manifest_dir: &Path) -> [f64; 4] {
    let mut doc = read_athis(manifest_dir);
    let features = doc["features"].as_array_mut().unwrap();
    let mut env = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    fn visit(c: &mut serde_json::Value, f: &mut dyn FnMut(&mut Vec<serde_json::Value>)) {
        let arr = c.as_array_mut().unwrap();
        if arr[0].is_number() {
            f(arr);
        } else {
            for x in arr {
                visit(x, f);
            }
        }
    }
    let mut grow = |g: &mut serde_json::Value| {
        visit(&mut g["coordinates"], &mut |p| {
            let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            env = [env[0].min(x), env[1].min(y), env[2].max(x), env[3].max(y)];
        })
    };
    let shift = |g: &mut serde_json::Value, dx: f64, dy: f64| {
        visit(&mut g["coordinates"], &mut |p| {
            p[0] = (p[0].as_f64().unwrap() + dx).into();
            p[1] = (p[1].as_f64().unwrap() + dy).into();
        })
    };
    for f in &mut features[10..14] {
        grow(&mut f["geometry"]);
    }
    features.drain(10..14);
    for f in &mut features[20..23] {
        grow(&mut f["geometry"]);
        shift(&mut f["geometry"], 0.00007, 0.00004);
        grow(&mut f["geometry"]);
    }
    for f in &mut features[30..33] {
        grow(&mut f["geometry"]);
        let c = f["properties"]["contenance"].as_i64().unwrap_or(0);
        f["properties"]["contenance"] = (c + 1).into();
    }
    let mut added = Vec::new();
    for (i, f) in features[40..42].iter().enumerate() {
        let mut g = f.clone();
        shift(&mut g["geometry"], 0.0004, 0.0);
        grow(&mut g["geometry"]);
        g["properties"]["numero"] = format!("99{i:02}").into();
        added.push(g);
    }
    features.extend(added);
    write_athis(manifest_dir, &doc);
    env
}

/// The lon/lat square of tile z/x/y.
fn tile_lonlat(z: u32, x: u32, y: u32) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| {
        (std::f64::consts::PI * (1.0 - 2.0 * y / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    [
        lon(f64::from(x)),
        lat(f64::from(y + 1)),
        lon(f64::from(x + 1)),
        lat(f64::from(y)),
    ]
}

/// `mvt_check.py diff BEFORE AFTER`.
fn tile_diff(before: &Path, after: &Path) -> serde_json::Value {
    let o = Command::new("python3")
        .arg(common::root().join("tests/tools/mvt_check.py"))
        .arg("diff")
        .args([before, after])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `merged.gpkg`'s rows as `tests/tools/gpkg_rows.py` reads them (Python's sqlite3).
fn gpkg_rows(path: &Path) -> serde_json::Value {
    let o = Command::new("python3")
        .arg(common::root().join("tests/tools/gpkg_rows.py"))
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A layer's rows: fid → digest of the other columns.
fn rows_of(g: &serde_json::Value, layer: &str) -> BTreeMap<i64, String> {
    g[layer]["rows"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(fid, d)| (fid.parse().unwrap(), d.as_str().unwrap().to_string()))
        .collect()
}

/// `inc` (a merged.gpkg updated in place) has `full`'s layers, each with the same rows
/// (fids aside), and a spatial index holding every row with a geometry and nothing else.
fn same_rows(inc: &serde_json::Value, full: &serde_json::Value) {
    assert_eq!(inc["layers"], full["layers"]);
    for layer in inc["layers"].as_array().unwrap() {
        let layer = layer.as_str().unwrap();
        let sorted = |g: &serde_json::Value| {
            let mut v: Vec<String> = rows_of(g, layer).into_values().collect();
            v.sort();
            v
        };
        assert!(
            sorted(inc) == sorted(full),
            "merged.gpkg, {layer}: rows differ"
        );
        assert_eq!(inc[layer]["rtree"], inc[layer]["with_geometry"], "{layer}");
    }
}

/// `out`'s merged.gpkg has the rows a `--full` build of `manifest` in `elsewhere` writes.
fn same_rows_as_a_full_build(manifest: &Path, out: &Path, elsewhere: &Path) {
    build(manifest, elsewhere, &["--full"]);
    same_rows(
        &gpkg_rows(&out.join("merged.gpkg")),
        &gpkg_rows(&elsewhere.join("merged.gpkg")),
    );
}

/// The incremental `merged.gpkg` (`inc`, updated in place) holds the rows of the full build's
/// (`full`), with the same spatial index and extents; each parcel unchanged since `before`
/// kept its fid, and new ones took fids above the others.
fn check_gpkg(before: &serde_json::Value, inc: &serde_json::Value, full: &serde_json::Value) {
    same_rows(inc, full);
    for layer in inc["layers"].as_array().unwrap() {
        let layer = layer.as_str().unwrap();
        let extent = |g: &serde_json::Value| -> Vec<Option<f64>> {
            g[layer]["extent"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64())
                .collect()
        };
        for (x, y) in extent(inc).into_iter().zip(extent(full)) {
            assert!(
                x.zip(y).map_or(x == y, |(x, y)| (x - y).abs() < 1e-6),
                "{layer}: extent {:?} vs {:?}",
                inc[layer]["extent"],
                full[layer]["extent"]
            );
        }
    }
    let (old, new) = (rows_of(before, "parcelles"), rows_of(inc, "parcelles"));
    let old_fid: BTreeMap<&String, i64> = old.iter().map(|(f, d)| (d, *f)).collect();
    let top = old.keys().max().copied().unwrap_or(0);
    let (mut kept, mut came) = (0, 0);
    for (fid, d) in &new {
        match old_fid.get(d) {
            Some(f) => {
                assert_eq!(f, fid, "an unchanged parcel changed fid");
                kept += 1;
            }
            None => {
                assert!(*fid > top, "new parcel with fid {fid}, not above {top}");
                came += 1;
            }
        }
    }
    // Removed 4 + moved 3 + edited 3 gone; added 2 + moved 3 + edited 3 come.
    assert_eq!((old.len() - kept, came), (10, 8));
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A child process killed when dropped: a failing test must not leave a server running
/// (it would hold the test harness's output open).
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tuilerie serve essonne=ARCHIVE`, up and answering.
fn serve(archive: &Path, addr: SocketAddr) -> Service {
    let child = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .arg("serve")
        .arg(format!("essonne={}", archive.display()))
        .env("TUILERIE_BIND", addr.to_string())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !matches!(request(addr, "GET", "/health", &[]), Ok(r) if r.status == 200) {
        assert!(t.elapsed() < Duration::from_secs(30), "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Service(child)
}

/// A report's per-theme counts (without the merge's timings).
fn counts(report: &serde_json::Value) -> serde_json::Value {
    let mut t = report["themes"].clone();
    for theme in t.as_object_mut().unwrap().values_mut() {
        if let Some(m) = theme["merge"].as_object_mut() {
            m.remove("timings_ms");
        }
    }
    t
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn one_changed_delivery_rebuilds_its_area_only_is_served_live_and_equals_a_full_build() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_fixtures(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let (code, first) = build(&manifest, &a, &[]);
    // 1: built, with QA warnings (the fixture has findings along the old boundaries).
    assert_eq!(code, 1);
    assert_eq!(first["status"], "ok_with_warnings");
    assert_eq!(first["changes"]["full"], "first build in this folder");
    let before = dir.path().join("before.pmtiles");
    std::fs::copy(a.join("tiles.pmtiles"), &before).unwrap();
    let gpkg_before = gpkg_rows(&a.join("merged.gpkg"));
    let addr = free_addr();
    let server = serve(&a.join("tiles.pmtiles"), addr);

    // Nothing changed: nothing read, merged, tiled or written but the report.
    let stamp = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (
            m.modified().unwrap(),
            std::os::unix::fs::MetadataExt::ino(&m),
        )
    };
    let archive_before = stamp(&a.join("tiles.pmtiles"));
    let (code, same) = build(&manifest, &a, &[]);
    assert_eq!(code, 1);
    let c = &same["changes"];
    assert!(c["full"].is_null(), "{c}");
    assert_eq!(c["deliveries_read"], serde_json::json!([]));
    assert_eq!(c["deliveries_unchanged"], 4);
    assert_eq!(c["themes_merged"], serde_json::json!([]));
    assert_eq!(c["outputs_written"], false);
    assert_eq!(c["tiles_regenerated"], 0);
    assert_eq!(stamp(&a.join("tiles.pmtiles")), archive_before);
    assert_eq!(
        same["themes"], first["themes"],
        "same counts from the caches"
    );

    // A tile that will change and one that will not, as served now.
    let changed_env = change_athis(dir.path());
    let (code, inc) = build(&manifest, &a, &[]);
    assert_eq!(code, 1);
    let c = &inc["changes"];
    assert!(c["full"].is_null(), "{c}");
    assert_eq!(c["deliveries_read"], serde_json::json!([ATHIS]));
    assert_eq!(c["deliveries_unchanged"], 3);
    assert_eq!(c["themes_merged"], serde_json::json!(["parcelles"]));
    // Removed 4 + moved 3 + edited 3 gone; added 2 + moved 3 + edited 3 come.
    assert_eq!(c["features"]["parcelles"]["removed"], 10, "{c}");
    assert_eq!(c["features"]["parcelles"]["added"], 8, "{c}");
    assert_eq!(c["gpkg_updated_in_place"], true, "{c}");
    let (built, carried) = (
        c["tiles_regenerated"].as_u64().unwrap(),
        c["tiles_carried"].as_u64().unwrap(),
    );
    let total = inc["tiles"]["tiles"].as_u64().unwrap();
    assert!(built > 0 && carried > 0 && built + carried == total, "{c}");
    assert!(built * 4 < total, "{built} of {total} tiles rebuilt");

    // Only tiles of the changed area differ (GDAL-free, tuilerie-free reading: pmtiles).
    let d = tile_diff(&before, &a.join("tiles.pmtiles"));
    let differing: Vec<String> = ["changed", "appeared", "disappeared"]
        .iter()
        .flat_map(|k| d[*k].as_array().unwrap().iter())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(!differing.is_empty());
    for t in &differing {
        let zxy: Vec<u32> = t.split('/').map(|p| p.parse().unwrap()).collect();
        let s = tile_lonlat(zxy[0], zxy[1], zxy[2]);
        // Reach: the changed features plus a tile around (buffer and neighbours' squares).
        let (w, h) = (s[2] - s[0], s[3] - s[1]);
        let near = s[0] <= changed_env[2] + w
            && s[2] >= changed_env[0] - w
            && s[1] <= changed_env[3] + h
            && s[3] >= changed_env[1] - h;
        assert!(near, "tile {t} changed, far from the changed features");
    }
    assert!(
        (differing.len() as u64) <= built,
        "{} differ, {built} rebuilt",
        differing.len()
    );

    // The running service serves the new tiles without a restart; others keep their tag.
    let deepest = differing
        .iter()
        .filter(|t| d["changed"].as_array().unwrap().iter().any(|c| c == *t))
        .max_by_key(|t| t.split('/').next().unwrap().parse::<u32>().unwrap())
        .unwrap()
        .clone();
    let want = d["sha256_after"][&deepest].as_str().unwrap().to_string();
    let gz = [("Accept-Encoding", "gzip")];
    let t = Instant::now();
    loop {
        let r = request(addr, "GET", &format!("/essonne/{deepest}"), &gz).unwrap();
        if r.status == 200 && sha256_hex(&r.body) == want {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "tile {deepest} not reloaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);

    // A full build of the same inputs, elsewhere: the same files, byte for byte.
    let (_, full) = build(&manifest, &b, &["--full"]);
    assert_eq!(full["changes"]["full"], "--full");
    assert_eq!(full["changes"]["tiles_carried"], 0);
    for f in ["tiles.pmtiles", "parcelles.fgb", "decisions.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f}: the incremental build differs from the full one"
        );
    }
    // merged.gpkg, updated in place: the full build's rows, parcels keeping their fids.
    check_gpkg(
        &gpkg_before,
        &gpkg_rows(&a.join("merged.gpkg")),
        &gpkg_rows(&b.join("merged.gpkg")),
    );
    let d = tile_diff(&b.join("tiles.pmtiles"), &a.join("tiles.pmtiles"));
    assert_eq!(d["changed"], serde_json::json!([]));
    assert_eq!(d["tiles_before"], d["tiles_after"]);
    assert_eq!(counts(&full), counts(&inc));
    // And the MBTiles holds the same tiles as the PMTiles (mvt_check's own comparison).
    let o = Command::new("python3")
        .arg(common::root().join("tests/tools/mvt_check.py"))
        .arg("check")
        .arg(a.join("tiles.pmtiles"))
        .arg(a.join("tiles.mbtiles"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let check: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(check["problems"], serde_json::json!([]), "{check}");

    // A full build in the same folder keeps the fids: the same rows, the same fids.
    let rows_before_full = gpkg_rows(&a.join("merged.gpkg"));
    let (_, again) = build(&manifest, &a, &["--full"]);
    assert_eq!(again["changes"]["full"], "--full");
    let rows_after_full = gpkg_rows(&a.join("merged.gpkg"));
    assert!(
        rows_of(&rows_after_full, "parcelles") == rows_of(&rows_before_full, "parcelles"),
        "--full renumbered the parcels"
    );
}

/// Start a build of the changed delivery that pauses at `point` (or runs `after` ms), kill it
/// with SIGKILL, and return when it is dead.
fn killed_build(manifest: &Path, out: &Path, point: Option<&str>, after: Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tuilerie"));
    cmd.args(["build", "-q", "--out"])
        .arg(out)
        .arg(manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(p) = point {
        cmd.env("TUILERIE_PAUSE_AT", p);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(p) = point {
        // Wait for "paused at …" (the point was reached), then kill.
        let mut err = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains(&format!("paused at {p}")) {
            let n = err.read(&mut buf).unwrap();
            assert!(
                n > 0,
                "the build ended before {p}: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    } else {
        std::thread::sleep(after);
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn builds_killed_at_any_point_leave_the_served_archive_whole_and_the_next_build_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_fixtures(dir.path());
    let delivery = dir.path().join(ATHIS);
    let v1_delivery = std::fs::read(&delivery).unwrap();
    change_athis(dir.path());
    let v2_delivery = std::fs::read(&delivery).unwrap();
    // The references: full builds of each version.
    let reference = |data: &[u8], name: &str| {
        std::fs::write(&delivery, data).unwrap();
        let out = dir.path().join(name);
        build(&manifest, &out, &["--full"]);
        out
    };
    let v1 = reference(&v1_delivery, "v1");
    let v2 = reference(&v2_delivery, "v2");
    let v1_tiles = std::fs::read(v1.join("tiles.pmtiles")).unwrap();
    let v2_tiles = std::fs::read(v2.join("tiles.pmtiles")).unwrap();
    assert_ne!(v1_tiles, v2_tiles);

    let out = dir.path().join("served");
    let points: Vec<(Option<&str>, u64)> = vec![
        (Some("ingested"), 0),
        (Some("merged"), 0),
        (Some("written"), 0),
        (Some("state"), 0),
        (None, 10),
        (None, 50),
        (None, 100),
        (None, 150),
        (None, 200),
        (None, 300),
    ];
    for (point, ms) in points {
        let what = point.map_or(format!("after {ms} ms"), |p| format!("at {p}"));
        // The folder as a good build of v1 leaves it (incremental from the last round)…
        std::fs::write(&delivery, &v1_delivery).unwrap();
        build(&manifest, &out, &[]);
        assert!(
            std::fs::read(out.join("tiles.pmtiles")).unwrap() == v1_tiles,
            "before the kill {what}: the incremental build of v1 differs from the full one"
        );
        // …then v2 delivered and its build killed.
        std::fs::write(&delivery, &v2_delivery).unwrap();
        killed_build(&manifest, &out, point, Duration::from_millis(ms));
        let served = std::fs::read(out.join("tiles.pmtiles")).unwrap();
        assert!(
            served == v1_tiles || served == v2_tiles,
            "killed {what}: the served archive is neither the old one nor the new one"
        );
        // Before the tiles step the old archive is served, after it the new one.
        match point {
            Some("ingested" | "merged") => assert!(served == v1_tiles, "{what}"),
            Some(_) => assert!(served == v2_tiles, "{what}"),
            None => {}
        }
        let (code, report) = build(&manifest, &out, &[]);
        assert_eq!(code, 1, "killed {what}");
        assert!(
            std::fs::read(out.join("tiles.pmtiles")).unwrap() == v2_tiles,
            "killed {what}: the next build did not recover ({})",
            report["changes"]
        );
        for f in ["parcelles.fgb", "decisions.csv"] {
            assert!(
                std::fs::read(out.join(f)).unwrap() == std::fs::read(v2.join(f)).unwrap(),
                "killed {what}: {f} differs after recovery"
            );
        }
        let v2_report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(v2.join("report.json")).unwrap()).unwrap();
        assert_eq!(counts(&report), counts(&v2_report), "killed {what}");
        // And the build after that has nothing to do.
        let (_, again) = build(&manifest, &out, &[]);
        assert_eq!(again["changes"]["outputs_written"], false, "killed {what}");
    }
}

/// `tuilerie serve MANIFEST` with `env`, up and answering (it builds first: no archive yet).
fn serve_manifest(
    manifest: &Path,
    out: &Path,
    addr: SocketAddr,
    env: &[(&str, &str)],
    extra: &[&str],
) -> Service {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tuilerie"));
    cmd.arg("serve")
        .arg(manifest)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("TUILERIE_BIND", addr.to_string())
        .env_remove("TUILERIE_ADMIN_TOKEN")
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let t = Instant::now();
    while !matches!(request(addr, "GET", "/health", &[]), Ok(r) if r.status == 200) {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("serve exited ({st}): {err}");
        }
        assert!(t.elapsed() < Duration::from_secs(60), "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Service(child)
}

/// After a build that could not read the last state (fids numbered afresh), the next
/// in-place update of merged.gpkg still gives a full build's rows: the fids it takes from the
/// last build are those that build wrote.
#[test]
fn fids_numbered_afresh_after_a_lost_state_stay_consistent_with_merged_gpkg() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_fixtures(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let original = std::fs::read(dir.path().join(ATHIS)).unwrap();
    build(&manifest, &a, &[]);
    change_athis(dir.path());
    let (_, inc) = build(&manifest, &a, &[]);
    assert_eq!(inc["changes"]["gpkg_updated_in_place"], true);
    // New parcels took fids above the others: a numbering from 1 would differ.
    std::fs::write(a.join(".tuilerie/state.json"), "{not json").unwrap();
    let (_, lost) = build(&manifest, &a, &[]);
    assert!(
        lost["changes"]["full"]
            .as_str()
            .unwrap()
            .contains("unreadable"),
        "{}",
        lost["changes"]
    );
    std::fs::write(dir.path().join(ATHIS), original).unwrap();
    let (_, back) = build(&manifest, &a, &[]);
    assert_eq!(back["changes"]["gpkg_updated_in_place"], true);
    same_rows_as_a_full_build(&manifest, &a, &b);
}

/// A build that wrote its theme's drawing under the new key, then died before its state and
/// merged.gpkg were in place: the next build must not take that drawing's fids for the ones
/// merged.gpkg has.
#[test]
fn a_drawing_left_by_a_build_that_died_is_not_taken_for_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_fixtures(dir.path());
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let copy = |from: &Path, to: &Path| {
        let ok = Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(ok.success());
    };
    build(&manifest, &a, &[]);
    // One parcel's area edited: as many parcels as before.
    let mut doc = read_athis(dir.path());
    let f = &mut doc["features"][50]["properties"];
    f["contenance"] = (f["contenance"].as_i64().unwrap_or(0) + 7).into();
    write_athis(dir.path(), &doc);
    // That build, run on a copy, leaves its drawings in `a` as if it had died there after
    // writing them, before merged.gpkg and the state were in place.
    copy(&a, &c);
    build(&manifest, &c, &[]);
    for d in std::fs::read_dir(c.join(".tuilerie/mercator")).unwrap() {
        let d = d.unwrap().path();
        let to = a.join(".tuilerie/mercator").join(d.file_name().unwrap());
        if !to.exists() {
            copy(&d, &to);
        }
    }
    let (_, again) = build(&manifest, &a, &[]);
    assert_eq!(
        again["changes"]["themes_merged"],
        serde_json::json!(["parcelles"])
    );
    // (Taking the left drawing for the last one keeps a stale parcel.)
    same_rows_as_a_full_build(&manifest, &a, &b);
}

#[test]
fn the_service_rebuilds_its_manifest_on_request_and_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_fixtures(dir.path());
    let out = dir.path().join("out");
    let addr = free_addr();
    let token = "nightly-7f3a";
    let server = serve_manifest(
        &manifest,
        &out,
        addr,
        &[("TUILERIE_ADMIN_TOKEN", token)],
        &[],
    );
    // Built before serving (there was no archive), served under the manifest's stem.
    assert!(out.join("tiles.pmtiles").exists());
    assert_eq!(
        request(addr, "GET", "/essonne-fusion", &[]).unwrap().status,
        200
    );
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    for (headers, want) in [
        (vec![], 401),
        (vec![("Authorization", "Bearer nightly-7f3")], 401),
        (vec![("Authorization", "nightly-7f3a")], 401),
    ] {
        let r = request(addr, "POST", "/admin/rebuild", &headers).unwrap();
        assert_eq!(r.status, want);
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        request(addr, "GET", "/admin/rebuild", &auth)
            .unwrap()
            .status,
        405
    );
    assert_eq!(
        request(addr, "POST", "/admin/builds", &auth)
            .unwrap()
            .status,
        405
    );
    let listed = request(addr, "GET", "/admin/builds", &auth).unwrap();
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["builds"], serde_json::json!([]));

    // A changed delivery, a rebuild asked for: its report listed, the new tiles served.
    let before = dir.path().join("before.pmtiles");
    std::fs::copy(out.join("tiles.pmtiles"), &before).unwrap();
    change_athis(dir.path());
    let r = request(addr, "POST", "/admin/rebuild", &auth).unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_u64().unwrap();
    let t = Instant::now();
    let build = loop {
        let list = request(addr, "GET", "/admin/builds", &auth).unwrap().json();
        let b = list["builds"][0].clone();
        assert_eq!(b["id"], id);
        if b["status"] != "running" {
            break b;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "build {id} never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(build["status"], "ok_with_warnings", "{build}");
    assert_eq!(build["trigger"], "admin");
    assert_eq!(
        build["report"]["changes"]["deliveries_read"],
        serde_json::json!([ATHIS])
    );
    let d = tile_diff(&before, &out.join("tiles.pmtiles"));
    let changed = d["changed"][0].as_str().unwrap().to_string();
    let want = d["sha256_after"][&changed].as_str().unwrap().to_string();
    let t = Instant::now();
    while sha256_hex(
        &request(
            addr,
            "GET",
            &format!("/essonne-fusion/{changed}"),
            &[("Accept-Encoding", "gzip")],
        )
        .unwrap()
        .body,
    ) != want
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{changed} not reloaded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);

    // No token: no admin routes. A schedule (every 2 s here, seconds first) rebuilds alone.
    let addr = free_addr();
    let mut server = serve_manifest(
        &manifest,
        &out,
        addr,
        &[],
        &["--rebuild-at", "*/2 * * * * *"],
    );
    assert_eq!(
        request(addr, "POST", "/admin/rebuild", &[]).unwrap().status,
        404
    );
    assert_eq!(
        request(addr, "GET", "/admin/builds", &auth).unwrap().status,
        404
    );
    let state = out.join(".tuilerie/state.json");
    let stamp = std::fs::metadata(&state).unwrap().modified().unwrap();
    let t = Instant::now();
    while std::fs::metadata(&state).unwrap().modified().unwrap() == stamp {
        assert!(t.elapsed() < Duration::from_secs(20), "no scheduled build");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut logs = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("started (schedule)"), "{logs}");
    assert!(logs.contains("admin routes off"), "{logs}");

    // A schedule that is not cron: refused before anything is built.
    let elsewhere = dir.path().join("elsewhere");
    let o = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .arg("serve")
        .arg(&manifest)
        .arg("--out")
        .arg(&elsewhere)
        .args(["--rebuild-at", "every night"])
        .env("TUILERIE_BIND", free_addr().to_string())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--rebuild-at \"every night\""), "{err}");
    assert!(!elsewhere.exists(), "nothing built for a bad schedule");
}
