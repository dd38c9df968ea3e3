//! Running a build from the command line: `tuilerie build`, and the builds of
//! `tuilerie serve MANIFEST` (scheduled or asked for through `/admin/rebuild`).

use crate::{load_manifest, EXIT_BUSY, EXIT_INPUT};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tuilerie_pipeline::{BuildError, BuildOptions, BuildReport};
use tuilerie_server::admin::{parse_schedule, Builds, Outcome, Schedule};

/// A build that ran, or was refused before it could (the exit code and the message).
pub enum Run {
    Done(Box<BuildReport>),
    Refused { code: u8, message: String },
}

/// Read the manifest at `path` (again: a nightly build picks up its edits) and build it.
/// `Err` is an internal failure.
pub fn build_manifest(path: &Path, out: &Path, options: &BuildOptions) -> anyhow::Result<Run> {
    let m = match load_manifest(path)? {
        Ok(m) => m,
        Err(e) => {
            return Ok(Run::Refused {
                code: EXIT_INPUT,
                message: format!("{}: {e}", path.display()),
            })
        }
    };
    match tuilerie_pipeline::build(&m, out, options) {
        Ok(r) => Ok(Run::Done(Box::new(r))),
        Err(e @ BuildError::Locked(_)) => Ok(Run::Refused {
            code: EXIT_BUSY,
            message: e.to_string(),
        }),
        Err(
            e @ (BuildError::Reproject(_)
            | BuildError::Outlines(_)
            | BuildError::Tiles(tuilerie_pipeline::tiles::TilingError::Input { .. })),
        ) => Ok(Run::Refused {
            code: EXIT_INPUT,
            message: e.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The service's builder: builds `manifest` into `out`, reports for `/admin/builds`.
fn service_builder(manifest: PathBuf, out: PathBuf) -> impl Fn() -> Outcome + Send + Sync {
    move || {
        let options = BuildOptions {
            quiet: true,
            ..Default::default()
        };
        match build_manifest(&manifest, &out, &options) {
            Ok(Run::Done(r)) => Outcome {
                status: r.status.clone(),
                error: (!r.errors.is_empty()).then(|| r.errors.join("; ")),
                report: serde_json::to_value(&r).ok(),
            },
            Ok(Run::Refused { code, message }) => Outcome {
                status: if code == EXIT_BUSY {
                    "busy"
                } else {
                    "input_errors"
                }
                .into(),
                error: Some(message),
                report: None,
            },
            Err(e) => Outcome {
                status: "failed".into(),
                error: Some(format!("{e:#}")),
                report: None,
            },
        }
    }
}

/// What `tuilerie serve MANIFEST` runs: the archive it serves under its id, its builds, and
/// their schedule.
pub struct ManifestService {
    pub id: String,
    pub archive: PathBuf,
    pub builds: Arc<Builds>,
    pub schedule: Option<Schedule>,
}

/// Set up `tuilerie serve MANIFEST`: check the schedule, build first when there is no archive
/// to serve yet, and wire the builds (admin routes on when `TUILERIE_ADMIN_TOKEN` is set).
/// `Err`: nothing to serve, or a bad schedule.
pub fn manifest_service(
    manifest: &Path,
    out: &Path,
    rebuild_at: Option<&str>,
) -> anyhow::Result<ManifestService> {
    let schedule = rebuild_at
        .map(parse_schedule)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (id, archive) = served_archive(manifest, out)?;
    let builder = service_builder(manifest.to_path_buf(), out.to_path_buf());
    if !archive.exists() {
        tracing::info!("no {} yet: building first", archive.display());
        let o = builder();
        anyhow::ensure!(
            archive.exists(),
            "the build made no archive to serve ({}: {})",
            o.status,
            o.error.unwrap_or_default()
        );
    }
    let token = std::env::var("TUILERIE_ADMIN_TOKEN").ok();
    if token.as_deref().is_none_or(str::is_empty) {
        tracing::info!("admin routes off (set TUILERIE_ADMIN_TOKEN to use them)");
    }
    Ok(ManifestService {
        id,
        archive,
        builds: Arc::new(Builds::new(Arc::new(builder), token)),
        schedule,
    })
}

/// The archive `tuilerie serve MANIFEST` serves: the build's PMTiles (else its first archive),
/// and its id (the manifest's file stem, made path-safe).
fn served_archive(manifest: &Path, out: &Path) -> anyhow::Result<(String, PathBuf)> {
    let m = match load_manifest(manifest)? {
        Ok(m) => m,
        Err(e) => anyhow::bail!("{}: {e}", manifest.display()),
    };
    let paths = tuilerie_pipeline::tiles::archive_paths(&m, out);
    let path = paths
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "pmtiles"))
        .or(paths.first())
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{}: no archive to serve", manifest.display()))?;
    let id: String = manifest
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok((id, path))
}
