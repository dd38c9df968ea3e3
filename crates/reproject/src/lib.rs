//! Reprojection with PROJ into one metric working CRS.
//!
//! * [`Reprojector`] transforms geometries with one long-lived PROJ transformer per
//!   (source, target) pair **per thread** (PROJ objects are neither `Send` nor `Sync`, and
//!   creating one costs 10–17 ms), so it can be used from rayon workers freely.
//! * NTF (legacy Lambert zones) is routed through RGF93 with IGN's grid: [`ntf::check_grid`]
//!   refuses to run when the grid is missing, because PROJ would otherwise fall back silently to
//!   a Helmert shift that is metres off.
//! * [`sanity`] checks that a layer lands where its commune is, to catch a wrong declared CRS.

pub mod ntf;
pub mod sanity;
mod transformer;

pub use transformer::{Reprojector, TransformInfo};

use tuilerie_model::CrsRef;

/// Why a geometry or CRS could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ReprojectError {
    #[error("PROJ cannot build a transformation from {from} to {to}: {reason}")]
    Create {
        from: String,
        to: String,
        reason: String,
    },
    #[error("PROJ failed to transform coordinates from {from} to {to}: {reason}")]
    Transform {
        from: String,
        to: String,
        reason: String,
    },
    #[error("coordinate ({x}, {y}) is not finite after transforming from {from}")]
    NotFinite { from: String, x: f64, y: f64 },
    #[error(
        "input in {crs} is in NTF, which needs IGN's NTF→RGF93 grid (ntf_r93.gsb / fr_ign_ntf_r93.tif), \
         but {detail}. Install Debian's proj-data package (or put the grid in PROJ_DATA) and retry; \
         tuilerie refuses to fall back to the metre-level Helmert shift"
    )]
    NtfGridMissing { crs: String, detail: String },
    #[error("unknown CRS {crs}: {reason}")]
    UnknownCrs { crs: String, reason: String },
}

/// True when `a` and `b` denote the same CRS as far as we can tell without PROJ.
pub(crate) fn same_crs(a: &CrsRef, b: &CrsRef) -> bool {
    a == b
}
