//! `tuilerie build`: run the stages over a manifest and write their output.
//!
//! The pipeline is ingest → reproject → merge: every delivery is read, mapped onto its theme,
//! checked, repaired or rejected, and reprojected into the working CRS ([`ingest`]); each
//! theme is then deduplicated, edge-matched and checked along the old boundaries ([`merge`]).
//! The build writes one FlatGeobuf per merged theme, `merged.gpkg` (every theme, `qa`,
//! `decisions`, `rejects`: the file a GIS expert opens in QGIS), `decisions.csv`,
//! `rejects.gpkg`, the vector tiles of every merged theme ([`tiles`]: `tiles.pmtiles` and
//! `tiles.mbtiles` by default) and `report.json`. A build held back by delivery errors keeps
//! the archives of the last complete build: they are what is being served.

mod carry;
pub mod changes;
mod fids;
pub mod gpkg;
pub mod ingest;
pub mod lock;
pub mod merge;
pub mod outlines;
pub mod progress;
pub mod report;
pub mod state;
pub mod tiles;
pub mod validate;
pub mod write;

pub use ingest::{ingest_manifest, DeliveryOutput, IngestOptions, Ingested, Reject};
pub use report::{BuildReport, DeliveryReport, LayerReport};
pub use validate::validate;

use changes::Changes;
use state::{Stamp, State};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tuilerie_merge::ThemeMerge;
use tuilerie_model::{Feature, Manifest, Theme};

/// The GeoPackage holding every merged theme, the QA, the decisions and the rejects.
pub const MERGED_GPKG: &str = "merged.gpkg";
/// The decisions log.
pub const DECISIONS_CSV: &str = "decisions.csv";

/// What the merged outputs hold: each theme's FlatGeobuf, `decisions.csv`, `merged.gpkg`.
fn merged_outputs(out: &Path, merged: &merge::Merged) -> Vec<report::OutputReport> {
    let mut outputs: Vec<report::OutputReport> = merged
        .themes
        .iter()
        .map(|(theme, features)| report::OutputReport {
            theme: theme.name().to_string(),
            path: out
                .join(format!("{}.fgb", theme.name()))
                .display()
                .to_string(),
            features: features.len(),
        })
        .collect();
    outputs.push(report::OutputReport {
        theme: "decisions".into(),
        path: out.join(DECISIONS_CSV).display().to_string(),
        features: merged.decisions.len(),
    });
    outputs.push(report::OutputReport {
        theme: "qa".into(),
        path: out.join(MERGED_GPKG).display().to_string(),
        features: merged.qa.len(),
    });
    outputs
}

use carry::ThemeFids;

/// Write each theme's FlatGeobuf, `decisions.csv` and `merged.gpkg`.
fn write_merged(
    out: &Path,
    manifest: &Manifest,
    merged: &merge::Merged,
    rejects: &[Reject],
    fids: &ThemeFids,
    in_place: bool,
) -> Result<bool, BuildError> {
    // The FlatGeobuf layers and the CSV on a thread of their own while GDAL writes the
    // GeoPackage: the longest of the outputs, which a rebuild otherwise waits for.
    std::thread::scope(|scope| {
        let side = scope.spawn(|| {
            for (theme, features) in &merged.themes {
                let path = out.join(format!("{}.fgb", theme.name()));
                write::write_theme(&path, theme, features, &manifest.working_crs)?;
            }
            merge::write_decisions_csv(&out.join(DECISIONS_CSV), &merged.decisions)
        });
        let gpkg = write_merged_gpkg(out, manifest, merged, rejects, fids, in_place);
        let side = side.join().unwrap_or_else(|_| {
            Err(BuildError::Write {
                path: out.to_path_buf(),
                reason: "internal error while writing the FlatGeobuf layers".into(),
            })
        });
        side.and(gpkg)
    })
}

/// `merged.gpkg`: every theme (each feature with its fid), the QA findings, the decisions
/// and the rejects; with `in_place`, the last one updated (its themes' rows gone and come, the
/// other layers replaced) when it can be, else written whole. Returns whether it was updated.
fn write_merged_gpkg(
    out: &Path,
    manifest: &Manifest,
    merged: &merge::Merged,
    rejects: &[Reject],
    fids: &ThemeFids,
    in_place: bool,
) -> Result<bool, BuildError> {
    let prov: Vec<Vec<[tuilerie_model::Value; 4]>> = merged
        .themes
        .values()
        .map(|f| write::provenance_values(f))
        .collect();
    let qa_values = merge::qa_values(&merged.qa);
    let (dv, dp) = merge::decisions_rows(&merged.decisions);
    let rv = write::rejects_values(rejects);
    let layers = |with_changes: bool| {
        let mut layers: Vec<(gpkg::GpkgLayer<'_>, Option<gpkg::LayerChange>)> = merged
            .themes
            .iter()
            .zip(&prov)
            .map(|((theme, features), p)| {
                let assigned = fids.get(theme);
                let layer = gpkg::GpkgLayer {
                    name: theme.name().to_string(),
                    table: write::theme_table(theme, features, p),
                    fids: assigned.map(|(f, _)| f.as_slice()),
                };
                let change = assigned.filter(|_| with_changes).map(|(_, c)| c.clone());
                (layer, change)
            })
            .collect();
        layers.push((
            gpkg::GpkgLayer::numbered("qa", merge::qa_table(&merged.qa, &qa_values)),
            None,
        ));
        layers.push((
            gpkg::GpkgLayer::numbered("decisions", merge::decisions_table(&dv, &dp)),
            None,
        ));
        layers.push((
            gpkg::GpkgLayer::numbered("rejects", write::rejects_table(rejects, &rv)),
            None,
        ));
        layers
    };
    let path = out.join(MERGED_GPKG);
    if in_place {
        match gpkg::update_gpkg(&path, layers(true)) {
            Ok(true) => return Ok(true),
            Ok(false) => tracing::debug!(
                "{}: layers or fields changed, written whole",
                path.display()
            ),
            Err(e) => tracing::warn!("{e}: written whole instead of updated"),
        }
    }
    let whole = layers(false).into_iter().map(|(l, _)| l).collect();
    gpkg::write_gpkg(&path, whole, &manifest.working_crs).map(|()| false)
}

/// Why a build could not run at all (problems with single deliveries are in the report).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Reproject(#[from] tuilerie_reproject::ReprojectError),
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("outlines: {0}")]
    Outlines(String),
    #[error("tiles: {0}")]
    Tiles(#[from] tiles::TilingError),
    #[error(transparent)]
    Locked(#[from] lock::LockError),
    /// A bug, not bad input: the merge of a theme panicked (nothing was written for it).
    #[error("internal error while merging theme {theme}: {reason}")]
    Merge { theme: String, reason: String },
}

/// For the crash tests: with `TUILERIE_PAUSE_AT=<point>` in the environment, a build stops at
/// that point (`ingested`, `merged`, `written`: outputs and archives, `state`) for a minute, having said so
/// on stderr, so that a test can kill it exactly there. Nothing happens otherwise.
fn pause_point(point: &str) {
    if std::env::var("TUILERIE_PAUSE_AT").is_ok_and(|p| p == point) {
        eprintln!("paused at {point}");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// How a build runs.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// No progress bar (tests, `--quiet`).
    pub quiet: bool,
    /// Write the theme layers even when a delivery failed.
    pub keep_going: bool,
    /// Ignore the last build's state: read, merge and tile everything again.
    pub full: bool,
}

/// Run a build of `manifest` into `out`: ingest → merge → outputs → tiles, incrementally.
///
/// The last build's state (`out/.tuilerie`, see [`state`]) says what can be taken over: an
/// unchanged delivery is not read again, a theme none of whose deliveries changed is not
/// merged again, and only the tiles the changed features reach (where they were and where
/// they are) are built again; the rest of the tileset is carried over. When nothing changed
/// nothing is written but the report. The result is the same as a full build's
/// (`options.full`), file for file.
///
/// When a delivery fails (unreadable, misplaced, unmapped), the theme layers are not written
/// unless `keep_going` is set — a partial layer must never pass for a complete one — but the
/// rejects and the report always are, and the archives of the last complete build stay.
pub fn build(
    manifest: &Manifest,
    out: &Path,
    options: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    // One build at a time in `out`; held until this function returns.
    let what = format!(
        "{} {} (manifest in {})",
        manifest.insee,
        manifest.nom,
        manifest.base_dir.display()
    );
    let _lock = lock::BuildLock::acquire(out, &what)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| BuildError::Write {
            path: path.clone(),
            reason: e.to_string(),
        }
    };

    // 0. What the last build left, and whether it applies.
    let tool = state::tool_fingerprint();
    let fingerprint = state::manifest_fingerprint(manifest);
    let mut changes = Changes::default();
    let prev: Option<State> = if options.full {
        changes.full = Some("--full".into());
        None
    } else {
        match State::load(out) {
            Ok(None) => {
                changes.full = Some("first build in this folder".into());
                None
            }
            Err(e) => {
                changes.full = Some(format!("the last build's state is unreadable: {e}"));
                None
            }
            Ok(Some(s)) if s.tool != tool => {
                changes.full = Some("tuilerie itself changed since the last build".into());
                None
            }
            Ok(Some(s)) if s.manifest != fingerprint => {
                changes.full = Some("the manifest (or its outlines) changed".into());
                None
            }
            Ok(Some(s)) => {
                changes.since = Some(s.finished.clone());
                Some(s)
            }
        }
    };
    let mut next = State::new(tool.clone(), fingerprint.clone());
    // A full build still gives the features the fids they had in merged.gpkg: fids are the
    // features' identity, not a cache.
    let ids_from: Option<State> = match &prev {
        None => State::load(out).ok().flatten(),
        Some(_) => None,
    };

    // 1. Ingest: deliveries whose content changed are read, the others come from the cache.
    let state_started = Instant::now();
    let mut cached = Vec::new();
    for (i, (_, d)) in manifest.deliveries().enumerate() {
        let before = prev.as_ref().and_then(|s| s.deliveries.get(i));
        let mut ds = state::fingerprint_delivery(manifest, d, before);
        ds.key = state::key_of([
            tool.as_bytes(),
            fingerprint.as_bytes(),
            i.to_string().as_bytes(),
            ds.hash.as_bytes(),
        ]);
        let hit = before
            .filter(|b| b.key == ds.key)
            .and_then(|_| state::read_cache::<DeliveryOutput>(out, state::DELIVERIES, &ds.key));
        match hit {
            Some(_) => changes.deliveries_unchanged += 1,
            None => changes.deliveries_read.push(d.path.clone()),
        }
        cached.push(hit);
        next.deliveries.push(ds);
    }
    let hashing_ms = state_started.elapsed().as_millis() as u64;
    // Something changed: the last drawing will be needed once merged; read it meanwhile.
    let prefetch = prev
        .as_ref()
        .filter(|_| !changes.deliveries_read.is_empty())
        .map(|s| carry::LastDrawing::prefetch(out, s.tiles.as_ref(), &s.themes));
    let keys: Vec<String> = next.deliveries.iter().map(|d| d.key.clone()).collect();
    let ingest_options = IngestOptions {
        quiet: options.quiet,
    };
    let mut failed: Vec<usize> = Vec::new();
    let mut ingested = ingest::ingest_manifest_with(manifest, &ingest_options, cached, |i, o| {
        // A delivery that failed is read again next time: its failure may come from the
        // machine (a missing grid, a driver), not from its bytes.
        if !o.report.errors.is_empty() {
            failed.push(i);
            return Ok(());
        }
        let path = state::cache_path(out, state::DELIVERIES, &keys[i]);
        state::write_cache(out, state::DELIVERIES, &keys[i], o).map_err(io(&path))
    })?;
    for i in failed {
        next.deliveries[i].key.clear();
    }
    pause_point("ingested");
    let mut report = ingested.report.clone();
    report.timings_ms.insert("state".into(), hashing_ms);
    let write_started = Instant::now();
    let archives = tiles::archive_paths(manifest, out);
    let rejects_path = out.join("rejects.gpkg");
    // The last tileset can be carried over only if its archives are as that build left them.
    let prev_tiles = prev.as_ref().and_then(|s| {
        let intact = archives.iter().all(|a| {
            // Stamps hold canonical paths: `out/x` and `/srv/out/x` are one archive.
            let a = std::fs::canonicalize(a).unwrap_or_else(|_| a.clone());
            s.outputs.iter().any(|o| o.path == a && o.holds())
        });
        s.tiles.clone().filter(|_| intact)
    });
    if !report.errors.is_empty() && !options.keep_going {
        // Held back: remove what an earlier build left, so that no stale layer passes for
        // this build's. The archives stay: they are what is served.
        let mut stale_files: Vec<PathBuf> = ingested
            .themes
            .keys()
            .map(|t| out.join(format!("{}.fgb", t.name())))
            .collect();
        stale_files.push(out.join(MERGED_GPKG));
        stale_files.push(out.join(DECISIONS_CSV));
        for stale in stale_files {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(io(&stale))?;
            }
        }
        next.tiles = prev_tiles;
        // The last merges stay usable: a theme whose deliveries come back as they were is not
        // merged again.
        next.themes = prev.as_ref().map(|s| s.themes.clone()).unwrap_or_default();
        next.outputs = archives.iter().filter_map(|a| Stamp::of(a)).collect();
    } else {
        // 2. Merge: a theme is merged again only when one of its deliveries changed.
        let merge_started = Instant::now();
        let progress = progress::Progress::new("merge", options.quiet);
        let themes = std::mem::take(&mut ingested.themes);
        let mut merged = merge::Merged::default();
        for (theme, features) in themes {
            let mut parts: Vec<&[u8]> = vec![
                tool.as_bytes(),
                fingerprint.as_bytes(),
                theme.name().as_bytes(),
            ];
            for ((_, d), ds) in manifest.deliveries().zip(&next.deliveries) {
                if d.theme == theme {
                    parts.push(ds.key.as_bytes());
                }
            }
            let key = state::key_of(parts);
            let last = prev.as_ref().and_then(|s| s.themes.get(theme.name()));
            let hit = last
                .filter(|t| t.key == key)
                .and_then(|_| state::read_cache::<ThemeMerge>(out, state::THEMES, &key));
            let m = match hit {
                Some(m) => {
                    changes.themes_unchanged.push(theme.name().to_string());
                    m
                }
                None => {
                    progress.message(&format!("merge {theme}: {} features", features.len()), true);
                    let m = merge::merge_one(manifest, &theme, features, &ingested.outlines)?;
                    state::write_cache(out, state::THEMES, &key, &m)
                        .map_err(io(&state::cache_path(out, state::THEMES, &key)))?;
                    changes.themes_merged.push(theme.name().to_string());
                    m
                }
            };
            next.themes.insert(
                theme.name().to_string(),
                state::ThemeState {
                    key,
                    features: m.features.len(),
                },
            );
            merged.add(theme, m);
        }
        progress.finish();
        pause_point("merged");
        report
            .timings_ms
            .insert("merge".into(), merge_started.elapsed().as_millis() as u64);
        for (name, stats) in &merged.stats {
            report.themes.entry(name.clone()).or_default().merge = Some(stats.clone());
        }
        report.merge_warnings = merged.warnings.clone();
        if report.status == "ok" && (!merged.qa.is_empty() || !merged.warnings.is_empty()) {
            report.status = "ok_with_warnings".into();
        }

        // 3. The outputs (unless nothing changed and they are as the last build left them),
        //    written on a thread of their own while the tiles are cut: GDAL writes on one
        //    core, the tiles use the others. (The tiles step works on a Web Mercator copy of
        //    the merged features meanwhile.)
        let mut unchanged = prev.as_ref().is_some_and(|s| {
            changes.deliveries_read.is_empty()
                && changes.themes_merged.is_empty()
                && !s.outputs.is_empty()
                && s.outputs.iter().all(Stamp::holds)
        });
        report.outputs.extend(merged_outputs(out, &merged));
        let carried_as_is = unchanged && prev_tiles.is_some();
        // What the last build drew (read meanwhile), the digests of the themes merged again
        // and every merged feature's fid in merged.gpkg.
        let (last, fresh) = if carried_as_is {
            (None, BTreeMap::new())
        } else {
            let last_themes = prev.as_ref().or(ids_from.as_ref()).map(|s| &s.themes);
            let fresh = fresh_digests(
                manifest,
                out,
                &merged.themes,
                &next,
                last_themes,
                prev_tiles.is_some(),
            );
            let drawing = prefetch
                .and_then(carry::Prefetch::wait)
                .or_else(|| {
                    let s = prev.as_ref()?;
                    Some(carry::LastDrawing::read(out, s.tiles.as_ref(), &s.themes))
                })
                .or_else(|| {
                    let s = ids_from.as_ref()?;
                    Some(carry::LastDrawing::read(out, None, &s.themes))
                });
            let last = carry::Last::new(drawing, &merged.themes, &fresh);
            // A theme numbered afresh has its drawing (digests, fids) written again below,
            // or the next build would take its fids from a drawing that no longer says them.
            let mut fresh = fresh;
            for theme in &last.renumbered {
                if let Some(features) = merged.themes.get(theme) {
                    fresh.insert(theme.clone(), changes::digests(features));
                }
            }
            (Some(last), fresh)
        };
        // Fids numbered afresh: merged.gpkg must say them, whatever else changed.
        if last.as_ref().is_some_and(|l| !l.renumbered.is_empty()) {
            unchanged = false;
        }
        changes.outputs_written = !unchanged;
        // The last merged.gpkg is updated in place when every theme's fids are known and the
        // file is as that build left it.
        let gpkg_path = std::fs::canonicalize(out.join(MERGED_GPKG)).ok();
        let in_place = last.as_ref().is_some_and(|l| l.all_known)
            && prev.as_ref().is_some_and(|s| {
                s.outputs
                    .iter()
                    .any(|o| Some(&o.path) == gpkg_path.as_ref() && o.holds())
            });
        let (fids, drawing) = match last {
            Some(l) => (l.fids, l.drawing),
            None => (BTreeMap::new(), None),
        };
        // 4. Tiles: only those the changed features reach, when the last tileset is usable.
        let tiles_started = Instant::now();
        let (written, tiling) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let t = Instant::now();
                let mut updated = false;
                if !unchanged {
                    updated =
                        write_merged(out, manifest, &merged, &ingested.rejects, &fids, in_place)?;
                    write::write_rejects(&rejects_path, &ingested.rejects, &manifest.working_crs)?;
                }
                Ok::<(u64, bool), BuildError>((t.elapsed().as_millis() as u64, updated))
            });
            let tiling = match prev_tiles.clone().filter(|_| unchanged) {
                Some(t) => {
                    let mut r = t.report.clone();
                    (r.regenerated, r.carried) = (0, r.tiles);
                    next.tiles = Some(t);
                    Ok(Some(r))
                }
                None => tile_step(
                    manifest,
                    out,
                    &merged.themes,
                    prev_tiles.as_ref(),
                    prev.as_ref().map(|s| &s.themes),
                    fresh,
                    drawing,
                    &fids,
                    &mut changes,
                    &mut next,
                    options.quiet,
                ),
            };
            let written = writer.join().unwrap_or_else(|_| {
                Err(BuildError::Write {
                    path: out.join(MERGED_GPKG),
                    reason: "internal error while writing the outputs".into(),
                })
            });
            (written, tiling)
        });
        let (outputs_ms, updated) = written?;
        report.timings_ms.insert("outputs".into(), outputs_ms);
        changes.gpkg_updated_in_place = updated;
        let tiling = tiling?;
        pause_point("written");
        report
            .timings_ms
            .insert("tiles".into(), tiles_started.elapsed().as_millis() as u64);
        if let Some(t) = &tiling {
            changes.tiles_regenerated = t.regenerated;
            changes.tiles_carried = t.carried;
            for path in &t.archives {
                report.outputs.push(report::OutputReport {
                    theme: "tiles".into(),
                    path: path.clone(),
                    features: t.tiles,
                });
            }
        }
        report.tiles = tiling;
        // Freeing the merged features takes tens of milliseconds the build need not wait for.
        std::thread::spawn(move || drop(merged));
    }
    // Written with the outputs when they are; here when the build is held back (the file
    // then says why). Not when nothing changed (it is as the last build left it).
    if !changes.outputs_written && !report.errors.is_empty() {
        write::write_rejects(&rejects_path, &ingested.rejects, &manifest.working_crs)?;
    }
    report.outputs.push(report::OutputReport {
        theme: "rejects".into(),
        path: rejects_path.display().to_string(),
        features: ingested.rejects.len(),
    });
    report
        .timings_ms
        .insert("write".into(), write_started.elapsed().as_millis() as u64);
    report
        .timings_ms
        .insert("total".into(), started.elapsed().as_millis() as u64);
    report.changes = Some(changes);

    // 5. The state for the next build, then the report.
    if next.outputs.is_empty() {
        next.outputs = report
            .outputs
            .iter()
            .filter_map(|o| Stamp::of(Path::new(&o.path)))
            .collect();
    }
    next.status = report.status.clone();
    next.finished = chrono::Local::now().to_rfc3339();
    next.save(out)
        .map_err(io(&out.join(state::STATE_DIR).join("state.json")))?;
    pause_point("state");
    next.remove_unused(out);
    let json = serde_json::to_string_pretty(&report).map_err(|e| BuildError::Write {
        path: out.join("report.json"),
        reason: e.to_string(),
    })?;
    let report_path = out.join("report.json");
    std::fs::write(&report_path, json).map_err(io(&report_path))?;
    Ok(report)
}

/// The digests of the themes whose drawing is not the last build's (merged again, the cache
/// lost, or a drawing left under the new key by a build that did not finish — its fids may
/// not be merged.gpkg's): computed once, to compare with the last build and for the next
/// one. A theme is taken as drawn only when its key is the last state's and its drawing is
/// there. With `warm`, the Web Mercator transformation is made ready meanwhile on this
/// thread, which reprojects the changed features (PROJ objects stay on the thread that made them, and PROJ
/// takes tens of milliseconds to choose one).
fn fresh_digests(
    manifest: &Manifest,
    out: &Path,
    themes: &BTreeMap<Theme, Vec<Feature>>,
    next: &State,
    last_themes: Option<&BTreeMap<String, state::ThemeState>>,
    warm: bool,
) -> BTreeMap<Theme, Vec<changes::Digest>> {
    let drawn = |t: &Theme| {
        let (Some(key), Some(last)) = (
            next.themes.get(t.name()).map(|s| &s.key),
            last_themes.and_then(|l| l.get(t.name())).map(|s| &s.key),
        ) else {
            return false;
        };
        key == last && state::cache_path(out, state::MERCATOR, key).exists()
    };
    let fresh_themes: Vec<(&Theme, &Vec<Feature>)> =
        themes.iter().filter(|(t, _)| !drawn(t)).collect();
    std::thread::scope(|scope| {
        let digests = scope.spawn(|| {
            fresh_themes
                .iter()
                .map(|(t, f)| ((*t).clone(), changes::digests(f)))
                .collect()
        });
        if warm && !fresh_themes.is_empty() {
            let _ = tuilerie_reproject::Reprojector::new(tiles::MERCATOR)
                .describe(&manifest.working_crs);
        }
        digests.join().unwrap_or_default()
    })
}

/// The tiles step of a build: every tile, or only those the changed features reach when the
/// last tileset (`last`) can be carried over; records the new tileset in `next`, and each
/// theme as drawn ([`state::ThemeTiles`]) for the next build.
#[allow(clippy::too_many_arguments)]
fn tile_step(
    manifest: &Manifest,
    out: &Path,
    themes: &BTreeMap<Theme, Vec<Feature>>,
    last: Option<&state::TilesState>,
    last_themes: Option<&BTreeMap<String, state::ThemeState>>,
    mut fresh: BTreeMap<Theme, Vec<changes::Digest>>,
    drawing: Option<carry::LastDrawing>,
    fids: &ThemeFids,
    changes: &mut Changes,
    next: &mut State,
    quiet: bool,
) -> Result<Option<tuilerie_tiles::TilingReport>, BuildError> {
    let started = Instant::now();
    let key_of = |t: &Theme| next.themes.get(t.name()).map(|s| s.key.clone());
    // Each feature's key for the tiles (its digest): the fresh digests of the themes merged
    // again, the last drawing's of the others (every theme is one or the other).
    let mut drawing = drawing;
    let keys: BTreeMap<Theme, Vec<changes::Digest>> = themes
        .keys()
        .filter_map(|t| {
            let k = fresh
                .get(t)
                .cloned()
                .or_else(|| drawing.as_mut()?.take_digests(t.name()))?;
            Some((t.clone(), k))
        })
        .collect();
    let carry = last.zip(last_themes).zip(drawing).and_then(|((t, lt), d)| {
        carry::carry_over(t, d, themes, &fresh, lt, &next.themes, changes)
    });
    tracing::debug!(
        "tiles: carry-over ready in {} ms",
        started.elapsed().as_millis()
    );
    let store = format!(
        "tiles-{}.store",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.9f")
    );
    let dir = out.join(state::STATE_DIR);
    let io = |path: &Path, e: std::io::Error| BuildError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let on_zoom = |z: &tuilerie_tiles::ZoomReport| {
        if !quiet {
            tracing::info!(
                "tiles: zoom {:>2}: {} tiles ({} built, {} carried over), {} KiB, largest {} KiB, {} ms",
                z.zoom,
                z.tiles,
                z.regenerated,
                z.carried,
                z.bytes >> 10,
                z.max_tile_bytes >> 10,
                z.ms
            );
        }
    };
    let store_path = dir.join(&store);
    match tiles::tile_merged(
        manifest,
        themes,
        out,
        carry,
        &keys,
        Some(&store_path),
        on_zoom,
    ) {
        Ok((t, mercator, fields, geometries)) => {
            let path = state::geometries_path(out, &store);
            state::write_file(&path, &geometries).map_err(|e| io(&path, e))?;
            for (theme, features) in mercator {
                let (Some(key), Some(digests)) = (key_of(&theme), fresh.remove(&theme)) else {
                    continue;
                };
                let fids = fids.get(&theme).map(|(f, _)| f.clone()).unwrap_or_default();
                let drawn = state::ThemeTiles {
                    digests,
                    features,
                    fids,
                };
                state::write_cache(out, state::MERCATOR, &key, &drawn)
                    .map_err(|e| io(&state::cache_path(out, state::MERCATOR, &key), e))?;
            }
            next.tiles = Some(state::TilesState {
                store,
                report: t.clone(),
                fields,
            });
            Ok(Some(t))
        }
        // No feature at all: nothing to draw, no archive (the report says why).
        Err(tiles::TilingError::Empty) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
