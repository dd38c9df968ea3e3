//! tuilerie's HTTP tile service (tokio + warp), a thin layer over the served archives.
//!
//! [`catalog`] holds the tilesets ([`tileset`]: an archive's tiles in memory, ETags computed
//! once at load) and swaps one in atomically when a rebuild renames a new archive over it;
//! [`routes`] answers TileJSON, tiles, style ([`style`]), the viewer ([`viewer`]), health and
//! [`metrics`]. [`serve`] runs it until a shutdown signal, finishing the requests in flight.

pub mod admin;
pub mod catalog;
pub mod metrics;
pub mod routes;
pub mod style;
pub mod tileset;
pub mod viewer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use warp::http::{header, HeaderValue};

/// Where the viewer loads MapLibre GL JS from.
#[derive(Debug, Clone)]
pub enum MapLibre {
    /// A folder holding `maplibre-gl.js` and `maplibre-gl.css` (npm's `dist/`), served under
    /// `/maplibre/`: the page then works offline.
    Dir(PathBuf),
    /// A URL prefix (a CDN).
    Url(String),
}

/// How the service behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// `Cache-Control` of every answer (tiles included).
    pub cache_control: String,
    /// `Access-Control-Allow-Origin`; `None` sends no CORS header.
    pub cors: Option<String>,
    /// The URL clients reach the service at, for TileJSON and the style (default:
    /// `http://` + the request's `Host`; set it behind a TLS proxy).
    pub public_url: Option<String>,
    pub maplibre: MapLibre,
    /// Glyphs for the style's labels (`https://…/{fontstack}/{range}.pbf`); none: no labels.
    pub glyphs: Option<String>,
    /// How often the archives are checked for a replacement.
    pub watch_every: Duration,
    /// The service's own builds (`tuilerie serve MANIFEST`): admin routes and history.
    pub builds: Option<Arc<admin::Builds>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cache_control: "public, max-age=60".into(),
            cors: Some("*".into()),
            public_url: None,
            maplibre: MapLibre::Url("https://unpkg.com/maplibre-gl@4.7.1/dist".into()),
            glyphs: None,
            watch_every: Duration::from_millis(500),
            builds: None,
        }
    }
}

/// What every request sees.
pub struct State {
    pub catalog: Arc<catalog::Catalog>,
    pub metrics: Arc<metrics::Metrics>,
    pub config: Config,
}

impl State {
    /// Headers every answer carries: cache control and CORS.
    fn decorate(&self, r: &mut warp::reply::Response) {
        // Errors are never cached: coverage changes with the next build.
        let error = r.status().is_client_error() || r.status().is_server_error();
        let h = r.headers_mut();
        if error {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        } else if let Ok(v) = HeaderValue::from_str(&self.config.cache_control) {
            h.entry(header::CACHE_CONTROL).or_insert(v);
        }
        if let Some(origin) = self.config.cors.as_deref() {
            if let Ok(v) = HeaderValue::from_str(origin) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                h.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("ETag, Content-Encoding"),
                );
            }
        }
    }
}

/// An archive to serve: `NAME=PATH`, or a path (served under its file's stem).
pub fn parse_archive(arg: &str) -> (Option<String>, PathBuf) {
    match arg.split_once('=') {
        Some((name, path))
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            (Some(name.to_string()), PathBuf::from(path))
        }
        _ => (None, PathBuf::from(arg)),
    }
}

/// Serve `archives` on `listener` until `shutdown` resolves; requests in flight finish.
pub async fn serve(
    archives: &[(Option<String>, PathBuf)],
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tileset::OpenError> {
    let catalog = Arc::new(catalog::Catalog::open(archives).await?);
    let metrics = Arc::new(metrics::Metrics::default());
    catalog.watch(metrics.clone(), config.watch_every);
    let state = Arc::new(State {
        catalog,
        metrics,
        config,
    });
    warp::serve(routes::routes(state))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
