//! The HTTP routes, as one dispatcher over the path: every odd path gets a precise answer
//! (400 for a malformed tile address, 404 for what does not exist, 405 for other methods)
//! instead of falling through a chain of filters.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the viewer page |
//! | `GET /health`, `GET /metrics` | `ok`; Prometheus text |
//! | `GET /catalog` | the tilesets and their TileJSON URLs |
//! | `GET /{tileset}` | TileJSON 3.0.0 |
//! | `GET /{tileset}/style.json` | a MapLibre style of its layers |
//! | `GET /{tileset}/{z}/{x}/{y}[.mvt|.pbf]` | 200 tile, 204 empty inside coverage, 404 outside zooms or bounds, 400 malformed |
//!
//! `HEAD` is answered as `GET` without a body; `OPTIONS` is the CORS preflight.

use crate::tileset::Lookup;
use crate::State;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::reply::Response as Reply;
use warp::Filter;

/// The service's filter: every request goes to [`handle`].
pub fn routes(
    state: Arc<State>,
) -> impl Filter<Extract = (Reply,), Error = std::convert::Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::any().map(move || state.clone()))
        .then(
            |method: Method, path: warp::path::FullPath, headers: HeaderMap, state: Arc<State>| async move {
                let started = Instant::now();
                let (route, mut reply) = handle(&method, path.as_str(), &headers, &state);
                state.decorate(&mut reply);
                // HEAD sends no body: no bytes, no tile served.
                let head = method == Method::HEAD;
                let body = reply
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .filter(|_| !head)
                    .unwrap_or(0);
                let elapsed = started.elapsed();
                let counted = if head && route == "tile" { "tile-head" } else { route };
                state
                    .metrics
                    .request(counted, reply.status().as_u16(), elapsed, body);
                tracing::debug!(
                    target: "access",
                    method = %method,
                    path = path.as_str(),
                    route,
                    status = reply.status().as_u16(),
                    bytes = body,
                    micros = elapsed.as_micros() as u64,
                );
                if method == Method::HEAD {
                    *reply.body_mut() = warp::hyper::body::Bytes::new().into();
                }
                reply
            },
        )
}

/// A response with a body and its type.
pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let body: Bytes = body.into();
    let mut r = Response::new(body.clone().into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    r
}

/// An answer without a body (204, 304): no `Content-Length` either.
fn bodiless(status: StatusCode) -> Reply {
    let mut r = Response::new(Bytes::new().into());
    *r.status_mut() = status;
    r
}

/// Never cached: health, metrics, errors.
pub fn no_store(mut r: Reply) -> Reply {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A plain-text answer.
pub fn plain(status: StatusCode, message: impl Into<String>) -> Reply {
    respond(status, "text/plain; charset=utf-8", message.into())
}

use plain as text;

fn json(value: &serde_json::Value) -> Reply {
    respond(StatusCode::OK, "application/json", value.to_string())
}

/// (route name for the metrics, response).
pub fn handle(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    state: &State,
) -> (&'static str, Reply) {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if let ["admin", rest @ ..] = parts.as_slice() {
        return ("admin", no_store(admin(method, rest, headers, state)));
    }
    if method == Method::OPTIONS {
        let mut r = bodiless(StatusCode::NO_CONTENT);
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("If-None-Match, Accept-Encoding"),
        );
        return ("preflight", r);
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET, HEAD or OPTIONS only\n",
        );
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return ("other", r);
    }
    match parts.as_slice() {
        [] => ("viewer", crate::viewer::page(state)),
        ["health"] => ("health", no_store(text(StatusCode::OK, "ok\n"))),
        // Browsers ask for it: no icon, and no error in their console.
        ["favicon.ico"] => (
            "viewer",
            respond(StatusCode::NO_CONTENT, "image/x-icon", ""),
        ),
        ["metrics"] => (
            "metrics",
            no_store(respond(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                state.metrics.render(),
            )),
        ),
        ["catalog"] => ("catalog", json(&catalog(headers, state))),
        ["maplibre", name] => match crate::viewer::asset(state, name) {
            Some(r) => ("viewer", r),
            None => ("other", text(StatusCode::NOT_FOUND, "not found\n")),
        },
        [id] => match state.catalog.find(id) {
            Some(e) => ("tilejson", json(&tilejson(&e.get(), headers, state))),
            None => (
                "other",
                text(StatusCode::NOT_FOUND, format!("no tileset {id:?}\n")),
            ),
        },
        [id, "style.json"] => match state.catalog.find(id) {
            Some(e) => (
                "style",
                json(&crate::style::style(
                    &e.get(),
                    &base_url(headers, state),
                    state.config.glyphs.as_deref(),
                )),
            ),
            None => (
                "other",
                text(StatusCode::NOT_FOUND, format!("no tileset {id:?}\n")),
            ),
        },
        [id, z, x, y] => ("tile", tile(id, z, x, y, headers, state)),
        _ => ("other", text(StatusCode::NOT_FOUND, "not found\n")),
    }
}

/// The tile answer.
fn tile(id: &str, z: &str, x: &str, y: &str, headers: &HeaderMap, state: &State) -> Reply {
    let Some(entry) = state.catalog.find(id) else {
        return text(StatusCode::NOT_FOUND, format!("no tileset {id:?}\n"));
    };
    let y = y
        .strip_suffix(".mvt")
        .or_else(|| y.strip_suffix(".pbf"))
        .unwrap_or(y);
    let parsed = (z.parse::<u8>(), x.parse::<u32>(), y.parse::<u32>());
    let (Ok(z), Ok(x), Ok(y)) = parsed else {
        return text(
            StatusCode::BAD_REQUEST,
            "tile address: /{tileset}/{z}/{x}/{y} with whole numbers\n",
        );
    };
    if z > 30 || x >= 1u32 << z || y >= 1u32 << z {
        return text(
            StatusCode::BAD_REQUEST,
            format!("tile {z}/{x}/{y} is off the grid: x and y go from 0 to 2^z - 1, z to 30\n"),
        );
    }
    let tileset = entry.get();
    let stored = match tileset.lookup(z, x, y) {
        Lookup::Outside => {
            return text(
                StatusCode::NOT_FOUND,
                format!(
                    "tile {z}/{x}/{y} is outside {}: zooms {}–{}, bounds {:?}\n",
                    tileset.id, tileset.minzoom, tileset.maxzoom, tileset.bounds
                ),
            )
        }
        Lookup::Empty => return bodiless(StatusCode::NO_CONTENT),
        Lookup::Tile(t) => t,
    };
    let gzip = stored.gzip && accepts_gzip(headers);
    // Two representations of a gzipped tile, two tags.
    let etag = if stored.gzip && !gzip {
        stored.plain_etag()
    } else {
        stored.etag.clone()
    };
    let tag = HeaderValue::from_str(&etag).ok();
    if none_match(headers, &etag) {
        let mut r = bodiless(StatusCode::NOT_MODIFIED);
        let h = r.headers_mut();
        if let Some(tag) = tag {
            h.insert(header::ETAG, tag);
        }
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        return r;
    }
    let mut r = if stored.gzip && !gzip {
        use std::io::Read;
        let mut out = Vec::new();
        match flate2::read::GzDecoder::new(&stored.data[..]).read_to_end(&mut out) {
            Ok(_) => respond(StatusCode::OK, "application/vnd.mapbox-vector-tile", out),
            Err(e) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("tile {z}/{x}/{y}: stored gzip is unreadable: {e}\n"),
                )
            }
        }
    } else {
        let mut r = respond(
            StatusCode::OK,
            "application/vnd.mapbox-vector-tile",
            stored.data.clone(),
        );
        if stored.gzip {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = r.headers_mut();
    if let Some(tag) = tag {
        h.insert(header::ETAG, tag);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    r
}

/// `/admin/…`: `POST /admin/rebuild` starts a build (202, or 409 while one runs),
/// `GET /admin/builds` lists the builds with their reports. 404 without an admin token,
/// 401 without the right bearer token.
fn admin(method: &Method, rest: &[&str], headers: &HeaderMap, state: &State) -> Reply {
    use crate::admin::Refused;
    let Some(builds) = state.config.builds.as_ref().filter(|b| b.admin_enabled()) else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    if !builds.authorized(headers) {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "Authorization: Bearer <TUILERIE_ADMIN_TOKEN> required\n",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tuilerie admin\""),
        );
        return r;
    }
    let not_allowed = |allow: &'static str| {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, format!("{allow} only\n"));
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        r
    };
    match (rest, method) {
        (["rebuild"], &Method::POST) => match builds.start("admin") {
            Ok(id) => respond(
                StatusCode::ACCEPTED,
                "application/json",
                serde_json::json!({"id": id, "status": "running", "builds": "/admin/builds"})
                    .to_string(),
            ),
            Err(Refused::Running(id)) => respond(
                StatusCode::CONFLICT,
                "application/json",
                serde_json::json!({"error": "a build is running", "id": id}).to_string(),
            ),
        },
        (["rebuild"], _) => not_allowed("POST"),
        (["builds"], &Method::GET | &Method::HEAD) => {
            json(&serde_json::json!({ "builds": builds.list() }))
        }
        (["builds"], _) => not_allowed("GET, HEAD"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison: `W/"x"` matches `"x"`; `*`).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// Whether the client takes gzip (RFC 9110 §12.5.3): an explicit `gzip`/`x-gzip` entry
/// decides by its q-value; otherwise `*` with q > 0 does; names are case-insensitive.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = None;
    for entry in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = Some(q > 0.0),
            _ => {}
        }
    }
    star.unwrap_or(false)
}

/// `http://host` of the request (or the configured public URL): what TileJSON points at.
pub fn base_url(headers: &HeaderMap, state: &State) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn catalog(headers: &HeaderMap, state: &State) -> serde_json::Value {
    let base = base_url(headers, state);
    let sets: Vec<serde_json::Value> = state
        .catalog
        .entries
        .iter()
        .map(|e| {
            let t = e.get();
            serde_json::json!({
                "id": t.id,
                "name": t.name,
                "tilejson": format!("{base}/{}", t.id),
                "style": format!("{base}/{}/style.json", t.id),
                "minzoom": t.minzoom,
                "maxzoom": t.maxzoom,
                "tiles": t.tile_count,
            })
        })
        .collect();
    serde_json::json!({ "tilesets": sets })
}

/// TileJSON 3.0.0 of a tileset.
pub fn tilejson(
    t: &crate::tileset::Tileset,
    headers: &HeaderMap,
    state: &State,
) -> serde_json::Value {
    let base = base_url(headers, state);
    serde_json::json!({
        "tilejson": "3.0.0",
        "name": t.name,
        "attribution": t.attribution,
        "tiles": [format!("{base}/{}/{{z}}/{{x}}/{{y}}.mvt", t.id)],
        "vector_layers": t.vector_layers,
        "minzoom": t.minzoom,
        "maxzoom": t.maxzoom,
        "bounds": t.bounds,
        "center": t.center,
        "scheme": "xyz",
    })
}
