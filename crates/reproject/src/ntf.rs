//! IGN's NTF → RGF93 grid: make sure it is really used.
//!
//! PROJ silently falls back to the 3-parameter Helmert shift (0.7–3.7 m off) when the grid file
//! is missing. Two checks, run once per build when any input is NTF:
//! 1. an explicit `hgridshift` pipeline on the grid must open (it fails, unlike the
//!    CRS-to-CRS route, when the file is absent);
//! 2. the transformer the build will actually use must reproduce one of IGN's published
//!    reference points (notice NT111) within 1 cm; Helmert misses it by metres.

use crate::{ReprojectError, Reprojector};
use proj::Proj;
use tuilerie_model::CrsRef;

/// The names PROJ knows the grid by: Debian's proj-data ships the NTv2 original, PROJ-data
/// the GeoTIFF conversion.
pub const GRID_NAMES: [&str; 2] = ["ntf_r93.gsb", "fr_ign_ntf_r93.tif"];

/// IGN NT111 point 1: NTF Lambert II étendu → Lambert-93 with the NTv2 grid.
const REFERENCE: ((f64, f64), (f64, f64)) =
    ((565767.906, 2669005.730), (619119.4605, 7102502.9796));

/// What the check found.
#[derive(Debug, Clone)]
pub struct GridCheck {
    /// The grid name that opened.
    pub grid: String,
    /// Distance between our transform of IGN's reference point and IGN's value, metres.
    pub reference_error_m: f64,
}

/// Check the grid before reading NTF data for `crs`.
pub fn check_grid(crs: &CrsRef) -> Result<GridCheck, ReprojectError> {
    let mut opened = None;
    let mut failures = Vec::new();
    for name in GRID_NAMES {
        match Proj::new(&format!("+proj=hgridshift +grids={name}")) {
            Ok(_) => {
                opened = Some(name);
                break;
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    let Some(grid) = opened else {
        return Err(ReprojectError::NtfGridMissing {
            crs: crs.label(),
            detail: format!("PROJ cannot open it ({})", failures.join("; ")),
        });
    };
    let reprojector = Reprojector::new(CrsRef::Epsg(2154));
    let ((x, y), (ex, ey)) = REFERENCE;
    let mut pt = [(x, y)];
    reprojector.transform_coords(&CrsRef::Epsg(27572), &mut pt)?;
    let err = ((pt[0].0 - ex).powi(2) + (pt[0].1 - ey).powi(2)).sqrt();
    if err > 0.01 {
        return Err(ReprojectError::NtfGridMissing {
            crs: crs.label(),
            detail: format!(
                "PROJ's NTF→Lambert-93 transformation misses IGN's reference point by {err:.3} m \
                 (the grid opened as {grid}, but PROJ did not use it)"
            ),
        });
    }
    Ok(GridCheck {
        grid: grid.to_string(),
        reference_error_m: err,
    })
}
