//! The tile service over a real socket (127.0.0.1): every route and status, ETag/304, gzip
//! negotiation, CORS, HEAD, odd paths — and archives replaced under load.
//!
//! The client is a few lines of HTTP/1.1 over `std::net::TcpStream`, independent of the
//! server's stack.

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::{get, request};

/// A server on 127.0.0.1:0 in its own runtime; stopped (gracefully) when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(archives: &[(&str, &Path)], config: tuilerie_server::Config) -> Server {
        let archives: Vec<(Option<String>, PathBuf)> = archives
            .iter()
            .map(|(n, p)| (Some(n.to_string()), p.to_path_buf()))
            .collect();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                tuilerie_server::serve(&archives, listener, config, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        // The catalog opens after the socket: wait until it answers.
        let t = Instant::now();
        loop {
            if matches!(request(addr, "GET", "/health", &[]), Ok(r) if r.status == 200) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The XYZ tile holding (lon, lat) at zoom z.
fn tile_at(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let y =
        ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn every_route_and_status_with_http_semantics() {
    let (out, _) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let pm = out.path().join("tiles.pmtiles");
    let mb = out.path().join("tiles.mbtiles");
    let server = Server::start(
        &[("essonne", pm.as_path()), ("essonne-mb", mb.as_path())],
        tuilerie_server::Config::default(),
    );
    let a = server.addr;

    assert_eq!(get(a, "/health").status, 200);
    let catalog = get(a, "/catalog").json();
    let ids: Vec<&str> = catalog["tilesets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["essonne", "essonne-mb"]);
    assert_eq!(
        catalog["tilesets"][0]["tilejson"],
        format!("http://{a}/essonne")
    );

    let tj = get(a, "/essonne").json();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(
        tj["tiles"][0],
        format!("http://{a}/essonne/{{z}}/{{x}}/{{y}}.mvt")
    );
    assert_eq!(
        (tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()),
        (Some(10), Some(18))
    );
    assert_eq!(tj["vector_layers"][0]["id"], "parcelles");
    assert!(tj["attribution"].as_str().unwrap().contains("DGFiP"));
    let b: Vec<f64> = serde_json::from_value(tj["bounds"].clone()).unwrap();
    assert!(
        b[0] > 2.3 && b[2] < 2.45 && b[1] > 48.6 && b[3] < 48.8,
        "{b:?}"
    );
    assert_eq!(tj["center"].as_array().unwrap().len(), 3);
    // The MBTiles says the same.
    let tj_mb = get(a, "/essonne-mb").json();
    assert_eq!(tj_mb["vector_layers"], tj["vector_layers"]);

    // A tile with data: gzip passed through when accepted, decompressed when not, same ETag.
    let (x, y) = tile_at(2.3744518, 48.7127189, 14);
    let path = format!("/essonne/14/{x}/{y}.mvt");
    let gz = request(a, "GET", &path, &[("Accept-Encoding", "gzip, deflate")]).unwrap();
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(
        gz.header("content-type"),
        Some("application/vnd.mapbox-vector-tile")
    );
    assert_eq!(gz.header("access-control-allow-origin"), Some("*"));
    assert_eq!(gz.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    let etag = gz.header("etag").unwrap().to_string();
    let plain = get(a, &path);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, gunzip(&gz.body));
    // Another representation, another tag.
    let plain_etag = plain.header("etag").unwrap().to_string();
    assert_ne!(plain_etag, etag);
    assert_eq!(get(a, &format!("/essonne/14/{x}/{y}.pbf")).body, plain.body);
    assert_eq!(get(a, &format!("/essonne/14/{x}/{y}")).body, plain.body);
    // The same tile from the MBTiles is the same bytes.
    assert_eq!(get(a, &format!("/essonne-mb/14/{x}/{y}")).body, plain.body);
    // gzip refused explicitly (whatever `*` says), or not named: decompressed; named in any
    // case or through `*`: passed through.
    for (ae, gzipped) in [
        ("gzip;q=0", false),
        ("gzip; q=0.000, *", false),
        ("br, deflate", false),
        ("GZIP", true),
        ("x-gzip;q=0.5", true),
        ("*", true),
        ("identity, *;q=0.1", true),
    ] {
        let r = request(a, "GET", &path, &[("Accept-Encoding", ae)]).unwrap();
        assert_eq!(r.header("content-encoding").is_some(), gzipped, "{ae}");
        assert_eq!(
            if gzipped { gunzip(&r.body) } else { r.body },
            plain.body,
            "{ae}"
        );
    }
    // ETag → 304 without a body, with the tag and Vary; weak form too; another tag → 200.
    let not_modified = request(
        a,
        "GET",
        &path,
        &[("If-None-Match", &etag), ("Accept-Encoding", "gzip")],
    )
    .unwrap();
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(not_modified.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        not_modified.header("access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(not_modified.header("content-length"), None);
    let weak = format!("W/{plain_etag}");
    assert_eq!(
        request(a, "GET", &path, &[("If-None-Match", &weak)])
            .unwrap()
            .status,
        304
    );
    // The gzip tag does not validate the plain representation.
    assert_eq!(
        request(a, "GET", &path, &[("If-None-Match", &etag)])
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        request(a, "GET", &path, &[("If-None-Match", "\"other\"")])
            .unwrap()
            .status,
        200
    );
    // HEAD: the headers of GET, no body.
    let head = request(a, "HEAD", &path, &[("Accept-Encoding", "gzip")]).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert_eq!(
        head.header("content-length"),
        Some(gz.body.len().to_string().as_str())
    );

    // 204: an empty tile inside the bounds and zooms (the fixture is a band along the old
    // boundaries: some zoom-18 tile of its bounds holds nothing).
    let (x0, y1) = tile_at(b[0], b[1], 18);
    let (x1, y0) = tile_at(b[2], b[3], 18);
    let empty = (x0..=x1)
        .step_by(7)
        .flat_map(|x| (y0..=y1).step_by(7).map(move |y| (x, y)))
        .map(|(x, y)| get(a, &format!("/essonne/18/{x}/{y}")))
        .find(|r| r.status == 204)
        .expect("an empty tile inside the bounds");
    assert!(empty.body.is_empty());
    assert_eq!(empty.header("content-length"), None);

    // 404: outside the zooms or the bounds, unknown tileset or route.
    let (px, py) = tile_at(2.3744518, 48.7127189, 19);
    for p in [
        format!("/essonne/19/{px}/{py}"),
        "/essonne/9/259/176".to_string(),
        "/essonne/14/0/0".to_string(),
        "/nope/14/1/1".to_string(),
        "/nope".to_string(),
        "/essonne/1/2/3/4/5".to_string(),
        "/../../etc/passwd".to_string(),
    ] {
        assert_eq!(get(a, &p).status, 404, "{p}");
    }
    // 400: malformed or off-grid addresses, never a panic.
    for p in [
        "/essonne/a/b/c",
        "/essonne/14/-1/3",
        "/essonne/99999999999999999999/1/1",
        "/essonne/14/16384/1",
        "/essonne/31/0/0",
        "/essonne/14/1/1.png",
        "/essonne/%00/1/1",
    ] {
        assert_eq!(get(a, p).status, 400, "{p}");
    }
    // Errors, health and metrics are never cached; tiles are, as configured.
    assert_eq!(
        get(a, "/essonne/14/0/0").header("cache-control"),
        Some("no-store")
    );
    assert_eq!(get(a, "/health").header("cache-control"), Some("no-store"));
    // Other methods; CORS preflight.
    assert_eq!(request(a, "POST", "/essonne", &[]).unwrap().status, 405);
    let pre = request(a, "OPTIONS", &path, &[("Origin", "http://example.org")]).unwrap();
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("content-length"), None);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));

    // Style and viewer.
    let style = get(a, "/essonne/style.json").json();
    assert_eq!(style["version"], 8);
    assert_eq!(
        style["sources"]["tuilerie"]["url"],
        format!("http://{a}/essonne")
    );
    let kinds: Vec<&str> = style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["background", "fill", "line"]);
    assert!(style.get("glyphs").is_none());
    let page = get(a, "/");
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("maplibre-gl.js") && html.contains("\"essonne\""));

    // Metrics count what happened.
    let m = String::from_utf8_lossy(&get(a, "/metrics").body).to_string();
    assert!(
        m.contains("tuilerie_requests_total{route=\"tile\",status=\"200\"}"),
        "{m}"
    );
    assert!(
        m.contains("tuilerie_requests_total{route=\"tile\",status=\"304\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("tuilerie_requests_total{route=\"tile-head\",status=\"200\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tuilerie_requests_total{route=\"tile\",status=\"400\"} 7"),
        "{m}"
    );
    assert!(
        m.contains("tuilerie_request_seconds_bucket{le=\"+Inf\"}"),
        "{m}"
    );
    assert!(m.contains("tuilerie_archive_reloads_total 0"), "{m}");
}

/// Write `src` over `dst` the way a rebuild does: beside it, then renamed over it.
fn publish(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("pmtiles.tmp");
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

#[test]
fn archives_replaced_under_load_serve_new_tiles_and_fail_no_request() {
    let (out, _) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let a_path = out.path().join("tiles.pmtiles");
    // Another version of the archive: Juvisy's parcels alone, zooms 14–16.
    let b_dir = tempfile::tempdir().unwrap();
    let b_path = b_dir.path().join("b.pmtiles");
    let juvisy = common::fixtures().join("essonne-fusion/91326-juvisy-sur-orge/PARCELLES.shp");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args([
            "tile",
            "-q",
            "-Z",
            "14",
            "-z",
            "16",
            "-l",
            "parcelles",
            "-o",
        ])
        .arg(&b_path)
        .arg(&juvisy)
        .status()
        .unwrap();
    assert!(st.success());
    let served = b_dir.path().join("served.pmtiles");
    std::fs::copy(&a_path, &served).unwrap();
    let config = tuilerie_server::Config {
        watch_every: Duration::from_millis(100),
        ..Default::default()
    };
    // The tiles both versions hold at zooms 14–16, and their tags in each.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (ta, tb) = rt.block_on(async {
        (
            tuilerie_server::tileset::Tileset::open(&a_path)
                .await
                .unwrap(),
            tuilerie_server::tileset::Tileset::open(&b_path)
                .await
                .unwrap(),
        )
    });
    let tag = |t: &tuilerie_server::tileset::Tileset, z, x, y| match t.lookup(z, x, y) {
        tuilerie_server::tileset::Lookup::Tile(s) => Some(s.etag.clone()),
        _ => None,
    };
    let mut shared = Vec::new();
    for z in 14..=16u8 {
        let (x0, y0) = tile_at(2.35, 48.72, z);
        let (x1, y1) = tile_at(2.40, 48.69, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                if let (Some(ea), Some(eb)) = (tag(&ta, z, x, y), tag(&tb, z, x, y)) {
                    shared.push((format!("/live/{z}/{x}/{y}"), ea, eb));
                }
            }
        }
    }
    assert!(shared.len() >= 4, "{}", shared.len());
    let (probe, probe_a, probe_b) = shared[0].clone();
    assert_ne!(
        probe_a, probe_b,
        "the two versions must differ where both have tiles"
    );
    let paths: Vec<String> = shared.iter().map(|s| s.0.clone()).collect();

    let server = Server::start(&[("live", served.as_path())], config);
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (stop, ok, failed, paths) =
                (stop.clone(), ok.clone(), failed.clone(), paths.clone());
            std::thread::spawn(move || {
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    // Every path is a tile of both versions: anything but 200 is a failure.
                    match request(
                        addr,
                        "GET",
                        &paths[i % paths.len()],
                        &[("Accept-Encoding", "gzip")],
                    ) {
                        Ok(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    i += 1;
                }
            })
        })
        .collect();
    let metric = |name: &str| {
        let m = String::from_utf8_lossy(&get(addr, "/metrics").body).to_string();
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let probe_tag = || {
        request(addr, "GET", &probe, &[("Accept-Encoding", "gzip")])
            .unwrap()
            .header("etag")
            .map(str::to_string)
    };
    assert_eq!(probe_tag(), Some(probe_a.clone()));
    for (round, (src, expected)) in [
        (&b_path, &probe_b),
        (&a_path, &probe_a),
        (&b_path, &probe_b),
    ]
    .into_iter()
    .enumerate()
    {
        std::thread::sleep(Duration::from_millis(300));
        publish(src, &served);
        let t = Instant::now();
        while metric("tuilerie_archive_reloads_total") < round as u64 + 1 {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "no reload after swap {round}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Once swapped, the new version is what every new request gets.
        assert_eq!(probe_tag().as_ref(), Some(expected), "after swap {round}");
    }
    // A broken file renamed over: the last good version stays served, the failure is
    // counted once (not retried every tick until the file changes again).
    let broken = b_dir.path().join("broken.pmtiles");
    std::fs::write(&broken, b"not a PMTiles archive").unwrap();
    publish(&broken, &served);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(metric("tuilerie_archive_reload_failures_total"), 1);
    assert_eq!(probe_tag(), Some(probe_b.clone()));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("{ok} tile requests answered during 3 swaps and a broken file, {failed} failed");
    assert!(ok > 200, "{ok}");
    assert_eq!(failed, 0);
    // The last good version is served: Juvisy's archive stops at zoom 16.
    let tj = get(addr, "/live").json();
    assert_eq!(
        (tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()),
        (Some(14), Some(16))
    );
}

/// The viewer page in headless Chromium (Debian's `chromium`, driven by npm's puppeteer-core),
/// MapLibre GL JS served from the local npm copy — so offline: no console error and no failed
/// request, the merged parcels drawn (MapLibre's rendered features), a click shows a parcel's
/// attributes, its `sources` and `commune_deleguee` among them.
#[test]
fn viewer_draws_the_merged_parcels_and_shows_a_clicked_parcel_in_chromium() {
    let tools = common::root().join("tests/tools");
    let maplibre = tools.join("node_modules/maplibre-gl/dist");
    assert!(
        maplibre.join("maplibre-gl.js").exists() && Path::new("/usr/bin/chromium").exists(),
        "run scripts/setup.sh: it installs chromium and the npm packages of tests/tools"
    );
    let (out, _) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let pm = out.path().join("tiles.pmtiles");
    let config = tuilerie_server::Config {
        maplibre: tuilerie_server::MapLibre::Dir(maplibre),
        ..Default::default()
    };
    let server = Server::start(&[("essonne", pm.as_path())], config);
    let run = std::process::Command::new("node")
        .arg(tools.join("viewer_check.mjs"))
        .arg(format!("http://{}/", server.addr))
        .arg("/usr/bin/chromium")
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(r["errors"], serde_json::json!([]), "{r}");
    assert!(r["rendered"].as_u64().unwrap() > 1000, "{r}");
    assert_eq!(
        r["layers"],
        serde_json::json!(["parcelles-fill", "parcelles-outline"])
    );
    let popup = r["popup"].as_str().unwrap();
    for field in ["sources", "commune_deleguee", "id_source"] {
        assert!(popup.contains(field), "{field} not in the popup: {popup}");
    }
    assert!(popup.contains("\"delivery\""), "{popup}");
}

/// `tuilerie serve` as a process: address from the environment, JSON logs with a line per
/// request, and a clean exit (0) on SIGTERM.
#[test]
fn serve_command_logs_json_and_stops_cleanly_on_sigterm() {
    let (out, _) = common::build(&common::fixtures().join("essonne-fusion.toml"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .arg("serve")
        .arg(format!(
            "essonne={}",
            out.path().join("tiles.pmtiles").display()
        ))
        .env("TUILERIE_BIND", addr.to_string())
        .env("TUILERIE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,access=debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !matches!(request(addr, "GET", "/health", &[]), Ok(r) if r.status == 200) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "tuilerie serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(addr, "/essonne").status, 200);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["route"] == "tilejson" && l["fields"]["status"] == 200),
        "{logs}"
    );
    assert!(logs.contains("shutting down"), "{logs}");
}
