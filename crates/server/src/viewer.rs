//! The viewer page: the first tileset on a MapLibre map, a layer list, and a click-to-inspect
//! popup with every attribute of the feature under the pointer (`sources`,
//! `commune_deleguee`…). MapLibre GL JS comes from the configured URL, or from a local copy
//! (`node_modules/maplibre-gl/dist`) served under `/maplibre/` so the page works offline.

use crate::State;
use warp::http::StatusCode;
use warp::reply::Response as Reply;

const PAGE: &str = include_str!("../assets/viewer.html");

/// The page, for the first tileset of the catalog.
pub fn page(state: &State) -> Reply {
    let Some(first) = state.catalog.entries.first() else {
        return super::routes::plain(StatusCode::NOT_FOUND, "no tileset is served\n");
    };
    let maplibre = match &state.config.maplibre {
        crate::MapLibre::Url(u) => u.trim_end_matches('/').to_string(),
        crate::MapLibre::Dir(_) => "/maplibre".to_string(),
    };
    let html = PAGE.replace("{{MAPLIBRE}}", &maplibre).replace(
        "{{TILESET}}",
        &serde_json::Value::from(first.id.clone()).to_string(),
    );
    super::routes::respond(StatusCode::OK, "text/html; charset=utf-8", html)
}

/// A file of the local MapLibre copy (`maplibre-gl.js`, `maplibre-gl.css`, their maps).
pub fn asset(state: &State, name: &str) -> Option<Reply> {
    let crate::MapLibre::Dir(dir) = &state.config.maplibre else {
        return None;
    };
    let kind = match name {
        "maplibre-gl.js" => "application/javascript",
        "maplibre-gl.css" => "text/css",
        "maplibre-gl.js.map" | "maplibre-gl.css.map" => "application/json",
        _ => return None,
    };
    let bytes = std::fs::read(dir.join(name)).ok()?;
    Some(super::routes::respond(StatusCode::OK, kind, bytes))
}
