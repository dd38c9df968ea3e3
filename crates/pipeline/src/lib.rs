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

pub mod gpkg;
pub mod ingest;
pub mod lock;
pub mod merge;
pub mod outlines;
pub mod progress;
pub mod report;
pub mod tiles;
pub mod validate;
pub mod write;

pub use ingest::{ingest_manifest, IngestOptions, Ingested, Reject};
pub use report::{BuildReport, DeliveryReport, LayerReport};
pub use validate::validate;

use std::path::{Path, PathBuf};
use std::time::Instant;
use tuilerie_model::Manifest;

/// The GeoPackage holding every merged theme, the QA, the decisions and the rejects.
pub const MERGED_GPKG: &str = "merged.gpkg";
/// The decisions log.
pub const DECISIONS_CSV: &str = "decisions.csv";

/// Write `merged.gpkg` and `decisions.csv`.
fn write_merged(
    out: &Path,
    manifest: &Manifest,
    merged: &merge::Merged,
    rejects: &[Reject],
    report: &mut BuildReport,
) -> Result<(), BuildError> {
    let csv_path = out.join(DECISIONS_CSV);
    merge::write_decisions_csv(&csv_path, &merged.decisions)?;
    report.outputs.push(report::OutputReport {
        theme: "decisions".into(),
        path: csv_path.display().to_string(),
        features: merged.decisions.len(),
    });
    let prov: Vec<Vec<[tuilerie_model::Value; 4]>> = merged
        .themes
        .values()
        .map(|f| write::provenance_values(f))
        .collect();
    let mut layers: Vec<(String, write::Table<'_>)> = merged
        .themes
        .iter()
        .zip(&prov)
        .map(|((theme, features), p)| {
            (
                theme.name().to_string(),
                write::theme_table(theme, features, p),
            )
        })
        .collect();
    let qa_values = merge::qa_values(&merged.qa);
    layers.push(("qa".into(), merge::qa_table(&merged.qa, &qa_values)));
    let (dv, dp) = merge::decisions_rows(&merged.decisions);
    layers.push(("decisions".into(), merge::decisions_table(&dv, &dp)));
    let rv = write::rejects_values(rejects);
    layers.push(("rejects".into(), write::rejects_table(rejects, &rv)));
    let path = out.join(MERGED_GPKG);
    gpkg::write_gpkg(&path, layers, &manifest.working_crs)?;
    report.outputs.push(report::OutputReport {
        theme: "qa".into(),
        path: path.display().to_string(),
        features: merged.qa.len(),
    });
    Ok(())
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

/// Run ingest on a manifest and write the layers, the rejects and the report into `out`.
///
/// When a delivery fails (unreadable, misplaced, unmapped), the theme layers are not written
/// unless `keep_going` is set — a partial layer must never pass for a complete one — but the
/// rejects and the report always are.
pub fn build(
    manifest: &Manifest,
    out: &Path,
    options: &IngestOptions,
    keep_going: bool,
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
    let mut ingested = ingest_manifest(manifest, options)?;
    let mut report = ingested.report.clone();
    let write_started = Instant::now();
    if !report.errors.is_empty() && !keep_going {
        // Held back: remove what an earlier build left, so that no stale layer passes for
        // this build's.
        let mut stale_files: Vec<PathBuf> = ingested
            .themes
            .keys()
            .map(|t| out.join(format!("{}.fgb", t.name())))
            .collect();
        stale_files.push(out.join(MERGED_GPKG));
        stale_files.push(out.join(DECISIONS_CSV));
        for stale in stale_files {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| BuildError::Write {
                    path: stale.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
    } else {
        let merge_started = Instant::now();
        let themes = std::mem::take(&mut ingested.themes);
        let mut merged = merge::merge_all(manifest, themes, &ingested.outlines, options.quiet)?;
        report
            .timings_ms
            .insert("merge".into(), merge_started.elapsed().as_millis() as u64);
        for (name, stats) in &merged.stats {
            report.themes.entry(name.clone()).or_default().merge = Some(stats.clone());
        }
        report.merge_warnings = merged.warnings.clone();
        for (theme, features) in &merged.themes {
            let path = out.join(format!("{}.fgb", theme.name()));
            write::write_theme(&path, theme, features, &manifest.working_crs)?;
            report.outputs.push(report::OutputReport {
                theme: theme.name().to_string(),
                path: path.display().to_string(),
                features: features.len(),
            });
        }
        write_merged(out, manifest, &merged, &ingested.rejects, &mut report)?;
        let tiles_started = Instant::now();
        // The merged features go to the tiles last: reprojected in place, not copied.
        let themes = std::mem::take(&mut merged.themes);
        let tiling = match tiles::tile_merged(manifest, themes, out, |z| {
            if !options.quiet {
                tracing::info!(
                    "tiles: zoom {:>2}: {} tiles, {} KiB, largest {} KiB, {} ms",
                    z.zoom,
                    z.tiles,
                    z.bytes >> 10,
                    z.max_tile_bytes >> 10,
                    z.ms
                );
            }
        }) {
            Ok(t) => Some(t),
            // No feature at all: nothing to draw, no archive (the report says why).
            Err(tiles::TilingError::Empty) => None,
            Err(e) => return Err(e.into()),
        };
        report
            .timings_ms
            .insert("tiles".into(), tiles_started.elapsed().as_millis() as u64);
        if let Some(t) = &tiling {
            for path in &t.archives {
                report.outputs.push(report::OutputReport {
                    theme: "tiles".into(),
                    path: path.clone(),
                    features: t.tiles,
                });
            }
        }
        report.tiles = tiling;
    }
    let rejects_path = out.join("rejects.gpkg");
    write::write_rejects(&rejects_path, &ingested.rejects, &manifest.working_crs)?;
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
    let json = serde_json::to_string_pretty(&report).map_err(|e| BuildError::Write {
        path: out.join("report.json"),
        reason: e.to_string(),
    })?;
    let report_path = out.join("report.json");
    std::fs::write(&report_path, json).map_err(|e| BuildError::Write {
        path: report_path,
        reason: e.to_string(),
    })?;
    Ok(report)
}
