//! `tuilerie build`: run the stages over a manifest and write their output.
//!
//! For now the pipeline is ingest → reproject: every delivery is read, mapped onto its theme,
//! checked, repaired or rejected, and reprojected into the working CRS; then one FlatGeobuf
//! per theme, a `rejects` layer and a report are written. Later stages (merge, tiles) plug in
//! after [`ingest::ingest_manifest`].

pub mod ingest;
pub mod outlines;
pub mod progress;
pub mod report;
pub mod validate;
pub mod write;

pub use ingest::{ingest_manifest, IngestOptions, Ingested, Reject};
pub use report::{BuildReport, DeliveryReport, LayerReport};
pub use validate::validate;

use std::path::{Path, PathBuf};
use std::time::Instant;
use tuilerie_model::Manifest;

/// Why a build could not run at all (problems with single deliveries are in the report).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Reproject(#[from] tuilerie_reproject::ReprojectError),
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("outlines: {0}")]
    Outlines(String),
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
    let ingested = ingest_manifest(manifest, options)?;
    std::fs::create_dir_all(out).map_err(|e| BuildError::Write {
        path: out.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut report = ingested.report.clone();
    let write_started = Instant::now();
    if !report.errors.is_empty() && !keep_going {
        // Held back: remove what an earlier build left, so that no stale layer passes for
        // this build's.
        for theme in ingested.themes.keys() {
            let stale = out.join(format!("{}.fgb", theme.name()));
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| BuildError::Write {
                    path: stale.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
    } else {
        for (theme, features) in &ingested.themes {
            let path = out.join(format!("{}.fgb", theme.name()));
            write::write_theme(&path, theme, features, &manifest.working_crs)?;
            report.outputs.push(report::OutputReport {
                theme: theme.name().to_string(),
                path: path.display().to_string(),
                features: features.len(),
            });
        }
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
