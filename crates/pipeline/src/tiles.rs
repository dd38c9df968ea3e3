//! The tiles step: features to Web Mercator, layers with their zooms and fields, archives.
//!
//! Two entries: [`tile_merged`] (the build: every merged theme a layer, as the manifest's
//! `[tiles]` says) and [`tile_files`] (`tuilerie tile`: any GeoJSON, FlatGeobuf or
//! GDAL-readable file, one layer per input, like tippecanoe).

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tuilerie_model::{CrsRef, Feature, Manifest, Provenance, Theme};
use tuilerie_reproject::Reprojector;
use tuilerie_tiles::store::StoreSink;
use tuilerie_tiles::{
    archive, zooms, Budget, Changed, FeatureKey, FieldRule, Geometries, Previous, TileId,
    TileLayer, TileOptions, TileSink, TilingReport,
};

/// Web Mercator, the tiles' CRS.
pub const MERCATOR: CrsRef = CrsRef::Epsg(3857);

/// Why tiling could not run.
#[derive(Debug, thiserror::Error)]
pub enum TilingError {
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
    #[error(transparent)]
    Tiles(#[from] tuilerie_tiles::TileError),
    #[error(transparent)]
    Archive(#[from] tuilerie_tiles::archive::ArchiveError),
    #[error("nothing to tile: no input feature has a geometry the tiles can hold")]
    Empty,
}

/// Features in Web Mercator, and those that could not be moved there with the reason.
pub type Reprojected = (Vec<Feature>, Vec<(Feature, String)>);

/// Each theme's features in Web Mercator, as the tiles step drew them.
pub type MercatorThemes = Vec<(Theme, Vec<Feature>)>;

/// Features reprojected to Web Mercator, in parallel; those that cannot be (outside
/// Mercator's ±85° or a failed transformation) are returned apart with the reason.
pub fn to_mercator(features: Vec<Feature>, from: &CrsRef) -> Reprojected {
    let r = Reprojector::new(MERCATOR);
    let results = features
        .into_par_iter()
        .map(|f| mercator_one(&r, f, from))
        .collect();
    split_failed(results)
}

/// [`to_mercator`] of a copy: the features stay as they are (the build writes them meanwhile).
pub fn to_mercator_copy(features: &[Feature], from: &CrsRef) -> Reprojected {
    let r = Reprojector::new(MERCATOR);
    let results = features
        .par_iter()
        .map(|f| mercator_one(&r, f.clone(), from))
        .collect();
    split_failed(results)
}

fn mercator_one(r: &Reprojector, mut f: Feature, from: &CrsRef) -> (Feature, Option<String>) {
    let failed = r
        .transform(&mut f.geometry, from)
        .err()
        .map(|e| e.to_string());
    (f, failed)
}

fn split_failed(results: Vec<(Feature, Option<String>)>) -> (Vec<Feature>, Vec<(Feature, String)>) {
    let mut kept = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for (f, error) in results {
        match error {
            None => kept.push(f),
            Some(e) => failed.push((f, e)),
        }
    }
    (kept, failed)
}

/// What `tuilerie tile` was asked.
#[derive(Debug, Clone)]
pub struct TileRequest {
    /// (file, layer inside it when it has several).
    pub inputs: Vec<(PathBuf, Option<String>)>,
    /// Layer names, one per input (default: the file's stem).
    pub names: Vec<String>,
    pub outputs: Vec<PathBuf>,
    pub minzoom: Option<u8>,
    pub maxzoom: Option<u8>,
    /// The CRS of inputs that do not say (default EPSG:4326, as GeoJSON's RFC 7946 says).
    pub crs: Option<CrsRef>,
    pub name: Option<String>,
    pub attribution: String,
    pub budget: Budget,
}

/// Counts of one input: read = tiled + rejected.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputCount {
    pub path: String,
    pub layer: String,
    pub read: usize,
    pub tiled: usize,
    pub rejected: usize,
    /// The first rejections, with their feature and reason.
    pub reasons: Vec<String>,
}

/// `tuilerie tile`'s result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TileFilesReport {
    pub inputs: Vec<InputCount>,
    pub tiling: TilingReport,
}

/// Tile files into archives.
pub fn tile_files(
    req: &TileRequest,
    on_zoom: impl FnMut(&tuilerie_tiles::ZoomReport),
) -> Result<TileFilesReport, TilingError> {
    for out in &req.outputs {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !ext.is_some_and(|e| archive::FORMATS.contains(&e.as_str())) {
            return Err(TilingError::Input {
                path: out.clone(),
                reason: format!(
                    "unknown archive format: use one of .{}",
                    archive::FORMATS.join(", .")
                ),
            });
        }
    }
    for z in [req.minzoom, req.maxzoom].into_iter().flatten() {
        if z > tuilerie_tiles::tile::MAX_ZOOM {
            return Err(TilingError::Input {
                path: req.outputs.first().cloned().unwrap_or_default(),
                reason: format!(
                    "zoom {z} is beyond {}, the deepest tuilerie makes",
                    tuilerie_tiles::tile::MAX_ZOOM
                ),
            });
        }
    }
    // Layer names first: MVT wants them unique in a tile, and a clash is known before reading.
    let names: Vec<String> = req
        .inputs
        .iter()
        .enumerate()
        .map(|(i, (path, _))| {
            req.names
                .get(i)
                .cloned()
                .unwrap_or_else(|| tuilerie_ingest::format::stem(path))
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = names[..i].iter().position(|n| n == name) {
            return Err(TilingError::Input {
                path: req.inputs[i].0.clone(),
                reason: format!(
                    "its layer would be named {name:?} like that of {}: give each input its \
                     own name with -l",
                    req.inputs[first].0.display()
                ),
            });
        }
    }
    check_memory(req.inputs.iter().map(|(p, _)| p.as_path()))?;
    let mut layers = Vec::new();
    let mut counts = Vec::new();
    for (i, (path, layer)) in req.inputs.iter().enumerate() {
        let input_err = |reason: String| TilingError::Input {
            path: path.clone(),
            reason,
        };
        let read = tuilerie_ingest::read_delivery(path, layer.as_deref())
            .map_err(|e| input_err(e.to_string()))?;
        let name = names[i].clone();
        let mut count = InputCount {
            path: path.display().to_string(),
            layer: name.clone(),
            read: 0,
            tiled: 0,
            rejected: 0,
            reasons: Vec::new(),
        };
        let reject = |count: &mut InputCount, what: String| {
            count.rejected += 1;
            if count.reasons.len() < 20 {
                count.reasons.push(what);
            }
        };
        let mut features = Vec::new();
        for source in read {
            if let Some(why) = source.shortfall() {
                return Err(input_err(format!("layer {}: {why}", source.name)));
            }
            let crs = source
                .crs
                .clone()
                .or_else(|| req.crs.clone())
                .unwrap_or(CrsRef::Epsg(4326));
            let mut ok = Vec::new();
            for f in source.features {
                count.read += 1;
                let id = f.source_id();
                match f.geometry {
                    Ok(g) if !drawable(&g) => reject(
                        &mut count,
                        format!(
                            "layer {} feature {id}: empty geometry or geometry collection \
                             (a vector tile holds points, lines and polygons)",
                            source.name
                        ),
                    ),
                    Ok(g) => ok.push(Feature {
                        geometry: g,
                        attributes: f.attributes,
                        provenance: Provenance {
                            layer: source.name.clone(),
                            source_id: id,
                            ..Default::default()
                        },
                    }),
                    Err(e) => reject(
                        &mut count,
                        format!("layer {} feature {id}: {e}", source.name),
                    ),
                }
            }
            let (kept, failed) = to_mercator(ok, &crs);
            for (f, e) in failed {
                reject(
                    &mut count,
                    format!(
                        "layer {} feature {}: {e}",
                        f.provenance.layer, f.provenance.source_id
                    ),
                );
            }
            features.extend(kept);
        }
        count.tiled = features.len();
        counts.push(count);
        layers.push(TileLayer::with_all_fields(name, features, 0, 0));
    }
    let guessed = zooms::guess_zooms(&layers).ok_or(TilingError::Empty)?;
    let (minzoom, maxzoom) = zoom_range(req.minzoom, req.maxzoom, guessed);
    for l in &mut layers {
        l.minzoom = minzoom;
        l.maxzoom = maxzoom;
        for f in &mut l.fields {
            f.minzoom = minzoom;
        }
    }
    let name = req.name.clone().unwrap_or_else(|| {
        layers
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join("+")
    });
    let options = TileOptions {
        budget: req.budget,
        ..Default::default()
    };
    let tiling = write_archives(
        &layers,
        &name,
        &req.attribution,
        &req.outputs,
        None,
        &options,
        None,
        None,
        on_zoom,
    )?;
    Ok(TileFilesReport {
        inputs: counts,
        tiling,
    })
}

/// Whether MVT can draw `g`: not empty, not a collection.
fn drawable(g: &geo::Geometry<f64>) -> bool {
    use geo::BoundingRect;
    !matches!(g, geo::Geometry::GeometryCollection(_)) && g.bounding_rect().is_some()
}

/// The zooms asked for, the guess filling what was not; a minzoom above the maxzoom asked
/// for comes down to it.
fn zoom_range(min: Option<u8>, max: Option<u8>, guessed: (u8, u8)) -> (u8, u8) {
    let max = max.unwrap_or(guessed.1.max(min.unwrap_or(0)));
    let min = min.unwrap_or(guessed.0).min(max);
    (min, max)
}

/// Write the tileset of `layers` into every archive of `outputs` at once (and into the tile
/// `store` of the build, which the report does not list as an archive), carrying over from
/// `previous` what no change reaches.
#[allow(clippy::too_many_arguments)]
fn write_archives(
    layers: &[TileLayer],
    name: &str,
    attribution: &str,
    outputs: &[PathBuf],
    store: Option<&Path>,
    options: &TileOptions,
    previous: Option<&Previous>,
    geometries: Option<&mut Geometries>,
    on_zoom: impl FnMut(&tuilerie_tiles::ZoomReport),
) -> Result<TilingReport, TilingError> {
    let minzoom = layers.iter().map(|l| l.minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|l| l.maxzoom).max().unwrap_or(0);
    let meta = tuilerie_tiles::metadata(name, attribution, layers, minzoom, maxzoom);
    let sinks = outputs
        .iter()
        .map(|p| archive::create(p, &meta))
        .chain(store.map(|p| Ok(Box::new(StoreSink::create(p)?) as Box<dyn TileSink>)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = tuilerie_tiles::write_tileset_from(
        layers, &meta, options, sinks, previous, geometries, on_zoom,
    )?;
    if let Some(store) = store {
        report.archives.retain(|a| Path::new(a) != store);
    }
    Ok(report)
}

/// Refuse, with the figures, input that cannot fit in memory (the tiler holds its input in
/// memory: see `tuilerie_tiles::tileset`), instead of being killed half-way.
fn check_memory<'a>(paths: impl Iterator<Item = &'a Path>) -> Result<(), TilingError> {
    check_memory_within(paths, available_memory().unwrap_or(u64::MAX))
}

fn check_memory_within<'a>(
    paths: impl Iterator<Item = &'a Path>,
    available: u64,
) -> Result<(), TilingError> {
    // Measured: a GeoJSON file takes about 3 times its size once read and reprojected,
    // binary formats (FlatGeobuf, Shapefile, GeoPackage) about 6 times; gzipped input more.
    let mut need = 0u64;
    let mut biggest = (0u64, PathBuf::new());
    for p in paths {
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let factor = match p.extension().and_then(|e| e.to_str()) {
            Some("json" | "geojson" | "geojsonl" | "geojsons") => 3,
            Some("gz" | "zip" | "bz2") => 30,
            _ => 6,
        };
        need += size * factor;
        if size * factor >= biggest.0 {
            biggest = (size * factor, p.to_path_buf());
        }
    }
    if need > available {
        return Err(TilingError::Input {
            path: biggest.1,
            reason: format!(
                "tiling this input needs about {} MiB of memory and {} MiB are available: \
                 tile it in parts (by département, say) and join the archives, or use a \
                 larger machine",
                need >> 20,
                available >> 20
            ),
        });
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The default archives of a build.
pub const DEFAULT_ARCHIVES: [&str; 2] = ["tiles.pmtiles", "tiles.mbtiles"];

/// What the build knows of the last tileset, for an incremental tiles step.
pub struct Carry {
    /// Every tile of the last tileset (its tile store).
    pub tiles: BTreeMap<TileId, Vec<u8>>,
    /// Its zooms, and the zooms it had to cut to the budget.
    pub zooms: (u8, u8),
    pub cut_zooms: Vec<u8>,
    /// Per theme merged again: what changed since the last tileset. A theme absent here did
    /// not change.
    pub changes: BTreeMap<Theme, ThemeChange>,
    /// Per theme: its features in Web Mercator as the last tileset had them (in the order of
    /// the last merge): only the changed ones are reprojected, and the gone ones say where
    /// they were. Every theme has one.
    pub mercator: BTreeMap<Theme, Vec<Feature>>,
    /// Each layer's fields (name, from which zoom) in the last tileset.
    pub fields: LayerFields,
    /// The last tileset's encoded geometries of its tiles with many shapes.
    pub geometries: Geometries,
}

/// Each layer's fields in the order written: (layer, [(field, minzoom)]).
pub type LayerFields = Vec<(String, Vec<(String, u8)>)>;

/// The fields of `layers`, to compare with a later tileset's.
pub fn layer_fields(layers: &[TileLayer]) -> LayerFields {
    layers
        .iter()
        .map(|l| {
            let f = l
                .fields
                .iter()
                .map(|r| (r.name.clone(), r.minzoom))
                .collect();
            (l.name.clone(), f)
        })
        .collect()
}

/// How a theme's merged features changed since the last build.
pub struct ThemeChange {
    /// Indices of the last merge's features that are gone, and of the new ones among the
    /// theme's features now (both ascending; the others are the same, in the same order).
    pub removed: Vec<usize>,
    pub added: Vec<usize>,
}

/// The theme's features in Web Mercator from the last build's copy: the unchanged ones taken
/// over, the new ones reprojected. `None` when the copy does not fit the change.
fn mercator_from_last(
    last: Vec<Feature>,
    change: &ThemeChange,
    features: &[Feature],
    from: &CrsRef,
) -> Option<Reprojected> {
    if last.len() + change.added.len() != features.len() + change.removed.len() {
        return None;
    }
    let new: Vec<Feature> = change.added.iter().map(|&i| features[i].clone()).collect();
    // A few features: on this thread, whose transformation the build made ready (a rayon
    // thread would have PROJ choose it again).
    let (fresh, failed) = if new.len() < 1000 {
        let r = Reprojector::new(MERCATOR);
        split_failed(new.into_iter().map(|f| mercator_one(&r, f, from)).collect())
    } else {
        to_mercator(new, from)
    };
    if !failed.is_empty() {
        return Some((Vec::new(), failed));
    }
    let removed: std::collections::HashSet<usize> = change.removed.iter().copied().collect();
    let mut kept = last
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, f)| f);
    let mut fresh = fresh.into_iter();
    let mut added = change.added.iter().peekable();
    let mut out = Vec::with_capacity(features.len());
    for i in 0..features.len() {
        if added.next_if(|&&a| a == i).is_some() {
            out.push(fresh.next()?);
        } else {
            out.push(kept.next()?);
        }
    }
    Some((out, Vec::new()))
}

/// The build's tiles step: every merged theme (in the working CRS) a layer, zooms and fields
/// from `[tiles]`, archives in `out` (and the tile store `store`, for the next build). With
/// `carry`, only the tiles the changed features reach are built; the others are copied.
///
/// Returns the report, each theme's features in Web Mercator (the build keeps them for the
/// next one) and the layers' fields.
pub fn tile_merged(
    manifest: &Manifest,
    themes: &BTreeMap<Theme, Vec<Feature>>,
    out: &Path,
    mut carry: Option<Carry>,
    keys: &BTreeMap<Theme, Vec<FeatureKey>>,
    store: Option<&Path>,
    on_zoom: impl FnMut(&tuilerie_tiles::ZoomReport),
) -> Result<(TilingReport, MercatorThemes, LayerFields, Geometries), TilingError> {
    let started = std::time::Instant::now();
    let settings = &manifest.tiles;
    let mut layers: Vec<TileLayer> = Vec::new();
    // Where the changed features were and are, in Web Mercator.
    let mut changed: Vec<Changed> = Vec::new();
    // A changed theme whose last copy does not fit its change: where its gone features were
    // is unknown, so nothing is carried over.
    let mut lost = false;
    let from = &manifest.working_crs;
    for (theme, features) in themes {
        let last = carry.as_mut().and_then(|c| c.mercator.remove(theme));
        let change = carry.as_ref().and_then(|c| c.changes.get(theme));
        let reused = match (change, last) {
            // Unchanged: the last copy as it is.
            (None, Some(last)) if last.len() == features.len() => Some((last, Vec::new())),
            (Some(c), Some(last)) => {
                changed.extend(
                    c.removed
                        .iter()
                        .filter_map(|&i| last.get(i))
                        .filter_map(|f| Changed::of(&f.geometry)),
                );
                mercator_from_last(last, c, features, from)
            }
            _ => None,
        };
        tracing::debug!(
            "tiles: {theme}: {}",
            if reused.is_some() {
                "Web Mercator copy of the last build taken over"
            } else {
                "reprojected to Web Mercator"
            }
        );
        let (kept, failed) = match reused {
            Some(r) => r,
            None => {
                lost |= change.is_some();
                to_mercator_copy(features, from)
            }
        };
        if let Some(c) = change {
            changed.extend(
                c.added
                    .iter()
                    .filter_map(|&i| kept.get(i))
                    .filter_map(|f| Changed::of(&f.geometry)),
            );
        }
        if let Some((f, e)) = failed.first() {
            return Err(TilingError::Input {
                path: out.join(format!("{}.fgb", theme.name())),
                reason: format!(
                    "{} feature(s) cannot go to Web Mercator, first {} of {}: {e}",
                    failed.len(),
                    f.provenance.source_id,
                    f.provenance.commune
                ),
            });
        }
        let mut layer = TileLayer::with_all_fields(theme.name(), kept, 0, 0);
        layer.keys = keys
            .get(theme)
            .filter(|k| k.len() == layer.features.len())
            .cloned()
            .unwrap_or_default();
        layers.push(layer);
    }
    tracing::debug!(
        "tiles: layers in Web Mercator in {} ms",
        started.elapsed().as_millis()
    );
    let guessed = zooms::guess_zooms(&layers).ok_or(TilingError::Empty)?;
    let (minzoom, maxzoom) = zoom_range(settings.minzoom, settings.maxzoom, guessed);
    for layer in &mut layers {
        let own = settings
            .layers
            .get(&layer.name)
            .cloned()
            .unwrap_or_default();
        layer.minzoom = own.minzoom.unwrap_or(minzoom);
        layer.maxzoom = own.maxzoom.unwrap_or(maxzoom).max(layer.minzoom);
        // Default: the theme's schema order, then the other fields by name — an order that
        // does not depend on which feature comes first, so that a rebuild that carries tiles
        // over writes their keys in the order a full build would.
        let names = own.fields.clone().unwrap_or_else(|| {
            let theme = themes.keys().find(|t| t.name() == layer.name);
            stable_field_order(layer.fields.iter().map(|f| f.name.clone()), theme)
        });
        layer.fields = names
            .into_iter()
            .map(|name| FieldRule {
                minzoom: own
                    .field_minzoom
                    .get(&name)
                    .copied()
                    .or(own.all_fields_from)
                    .unwrap_or(layer.minzoom),
                name,
            })
            .collect();
    }
    let outputs = archive_paths(manifest, out);
    let attribution = settings.attribution.clone().unwrap_or_else(|| {
        format!(
            "{} ({}): données des communes fondatrices, cadastre DGFiP",
            manifest.nom, manifest.insee
        )
    });
    let options = TileOptions {
        budget: Budget {
            max_bytes: settings
                .max_tile_bytes
                .unwrap_or(Budget::default().max_bytes),
            max_features: settings
                .max_tile_features
                .unwrap_or(Budget::default().max_features),
        },
        ..Default::default()
    };
    // The last tileset is reused only for the same zooms (the guess follows the data) and the
    // same fields (a tile lists its keys in the layer's field order).
    let fields = layer_fields(&layers);
    let previous = carry
        .filter(|c| !lost && c.zooms == (minzoom, maxzoom) && c.fields == fields)
        .map(|c| Previous {
            tiles: c.tiles,
            cut_zooms: c.cut_zooms,
            changed,
            geometries: c.geometries,
        });
    let mut geometries = Geometries::new();
    let report = write_archives(
        &layers,
        &manifest.nom,
        &attribution,
        &outputs,
        store,
        &options,
        previous.as_ref(),
        Some(&mut geometries),
        on_zoom,
    )?;
    let mercator = themes
        .keys()
        .cloned()
        .zip(layers.into_iter().map(|l| l.features))
        .collect();
    Ok((report, mercator, fields, geometries))
}

/// Field names in the theme's schema order, then the others by name.
fn stable_field_order(names: impl Iterator<Item = String>, theme: Option<&Theme>) -> Vec<String> {
    let rank = |n: &str| {
        theme
            .and_then(|t| t.schema().iter().position(|f| f.name == n))
            .unwrap_or(usize::MAX)
    };
    let mut names: Vec<String> = names.collect();
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    names
}

/// The archives a build writes in `out` (`[tiles] archives`, else the default ones).
pub fn archive_paths(manifest: &Manifest, out: &Path) -> Vec<PathBuf> {
    match &manifest.tiles.archives {
        Some(a) => a.iter().map(|p| out.join(p)).collect(),
        None => DEFAULT_ARCHIVES.iter().map(|p| out.join(p)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_too_big_for_memory_is_refused_with_figures() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.geojson");
        std::fs::write(&p, vec![b' '; 1 << 20]).unwrap();
        let paths = [p.as_path()];
        assert!(check_memory_within(paths.iter().copied(), 4 << 20).is_ok());
        let e = check_memory_within(paths.iter().copied(), 2 << 20).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("big.geojson") && text.contains("needs about 3 MiB"),
            "{text}"
        );
        // With several inputs, the error names the one that weighs most, not the last.
        let small = dir.path().join("small.geojson");
        std::fs::write(&small, b"{}").unwrap();
        let both = [p.as_path(), small.as_path()];
        let e = check_memory_within(both.iter().copied(), 2 << 20).unwrap_err();
        assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
        assert!(available_memory().is_some_and(|m| m > 0));
    }

    #[test]
    fn default_fields_follow_the_schema_then_the_alphabet_whatever_comes_first() {
        let names = [
            "sources",
            "numero",
            "zz",
            "id",
            "commune_deleguee",
            "section",
        ];
        let order =
            stable_field_order(names.iter().map(|n| n.to_string()), Some(&Theme::Parcelles));
        let reversed = stable_field_order(
            names.iter().rev().map(|n| n.to_string()),
            Some(&Theme::Parcelles),
        );
        assert_eq!(order, reversed);
        let schema: Vec<&str> = Theme::Parcelles.schema().iter().map(|f| f.name).collect();
        let pos = |n: &str| order.iter().position(|o| o == n).unwrap();
        assert!(pos("id") < pos("section") && pos("section") < pos("numero"));
        assert!(schema.contains(&"id"));
        assert_eq!(order.last().map(String::as_str), Some("zz"));
    }

    #[test]
    fn zoom_range_fills_from_the_guess() {
        assert_eq!(zoom_range(None, None, (9, 18)), (9, 18));
        assert_eq!(zoom_range(Some(12), None, (9, 18)), (12, 18));
        assert_eq!(zoom_range(None, Some(6), (9, 18)), (6, 6));
        assert_eq!(zoom_range(Some(20), None, (9, 18)), (20, 20));
        assert_eq!(zoom_range(Some(3), Some(5), (9, 18)), (3, 5));
    }
}
