//! `tuilerie validate`: every problem of a manifest, found without running the build.

use tuilerie_model::{Manifest, ManifestProblem};
use tuilerie_reproject::{check_metric, Reprojector};

/// The files' problems (missing, unreadable, layer, fields, CRS) and the CRSs' (unknown to
/// PROJ, working CRS not metric). Empty when the manifest can be built.
pub fn validate(manifest: &Manifest) -> Vec<ManifestProblem> {
    let mut problems = tuilerie_ingest::manifest_check::check_files(manifest);
    if let Err(e) = check_metric(&manifest.working_crs) {
        problems.push(ManifestProblem {
            location: "commune_nouvelle.working_crs".into(),
            message: e.to_string(),
        });
    }
    let reprojector = Reprojector::new(manifest.working_crs.clone());
    for (_, d) in manifest.deliveries() {
        if let Some(crs) = &d.crs {
            if let Err(e) = reprojector.describe(crs) {
                problems.push(ManifestProblem {
                    location: format!("{}.crs", d.location),
                    message: e.to_string(),
                });
            }
        }
    }
    problems
}
