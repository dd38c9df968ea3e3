//! `tuilerie validate`: every problem of a manifest, found without running the build.

use tuilerie_model::{Manifest, ManifestProblem};
use tuilerie_reproject::{check_metric, ntf, ReprojectError, Reprojector};

/// The files' problems (missing, unreadable, layer, fields, no CRS) and the CRSs' the build
/// would meet: unknown to PROJ, a working CRS that is not metric, NTF that would not go
/// through IGN's grid. Empty when the manifest can be built.
pub fn validate(manifest: &Manifest) -> Vec<ManifestProblem> {
    let (mut problems, crss) = tuilerie_ingest::manifest_check::check_files_and_crs(manifest);
    if let Err(e) = check_metric(&manifest.working_crs) {
        problems.push(ManifestProblem {
            location: "commune_nouvelle.working_crs".into(),
            message: e.to_string(),
        });
        return problems;
    }
    let reprojector = Reprojector::new(manifest.working_crs.clone());
    for (location, crs) in crss {
        let checked = reprojector
            .describe(&crs)
            .and_then(|_| ntf::check_if_ntf(&crs, &reprojector));
        if let Err(e) = checked {
            let message = e.to_string();
            let grid_missing = matches!(e, ReprojectError::NtfGridMissing { .. });
            problems.push(ManifestProblem { location, message });
            if grid_missing {
                // The same for every NTF layer: say it once.
                break;
            }
        }
    }
    problems
}
