//! Reprojection with PROJ into one metric working CRS.
//!
//! * [`Reprojector`] transforms geometries with one long-lived PROJ transformer per
//!   (source, target) pair **per thread** (PROJ objects are neither `Send` nor `Sync`, and
//!   creating one costs 10–17 ms), so it can be used from rayon workers freely.
//! * NTF (legacy Lambert zones) is routed through RGF93 with IGN's grid, by the grid operation
//!   only (never PROJ's candidate list, which falls back silently to a Helmert shift metres off);
//!   [`ntf::check_grid`] checks, per source CRS, that the route really reproduces IGN's
//!   reference point, and refuses otherwise.
//! * [`sanity`] checks that a layer lands where its commune is, to catch a wrong declared CRS.

pub mod ntf;
mod pj;
pub mod sanity;
mod transformer;

pub use transformer::{Reprojector, TransformInfo};

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
    #[error(
        "input in {crs} is in NTF, but PROJ's transformation from {crs} to {to} does not go through \
         IGN's grid ({grid}): {detail}. This happens when the CRS is not the EPSG one (IGNF's own \
         definitions, a definition carrying a Helmert shift). Declare the layer's CRS by its EPSG \
         code in the manifest (e.g. crs = \"EPSG:27572\" for Lambert II étendu)"
    )]
    NtfGridNotUsed {
        crs: String,
        to: String,
        detail: String,
        grid: String,
    },
    #[error(
        "NTF input declared as an anonymous definition ({crs}): tuilerie cannot make sure IGN's grid is \
         used for it (PROJ would apply whatever shift the definition carries). Declare its code in the \
         manifest, e.g. crs = \"EPSG:27572\" for Lambert II étendu"
    )]
    NtfUnidentified { crs: String },
    #[error("the working CRS must be metric; {crs} has axes in {unit:?} (choose e.g. EPSG:2154, or EPSG:5490 in the Antilles)")]
    NotMetric { crs: String, unit: String },
    #[error("unknown CRS {crs}: {reason}")]
    UnknownCrs { crs: String, reason: String },
}

/// Check that PROJ knows `crs` and that its axes are in metres, as the working CRS must be
/// (areas, distances and matching tolerances are computed in it).
///
/// ```
/// use tuilerie_model::CrsRef;
/// use tuilerie_reproject::check_metric;
/// assert!(check_metric(&CrsRef::Epsg(2154)).is_ok());
/// assert!(check_metric(&CrsRef::parse("EPSG:2154+5720")).is_ok(), "compound: Lambert-93 + NGF-IGN69");
/// assert!(check_metric(&CrsRef::Epsg(4326)).is_err());
/// ```
pub fn check_metric(crs: &tuilerie_model::CrsRef) -> Result<(), ReprojectError> {
    use std::ffi::{CStr, CString};
    let unknown = |reason: &str| ReprojectError::UnknownCrs {
        crs: crs.label(),
        reason: reason.to_string(),
    };
    let def = CString::new(crs.proj_definition()).map_err(|_| unknown("not a valid string"))?;
    // SAFETY: PROJ C API; every object created here is destroyed here.
    unsafe {
        let ctx = proj_sys::proj_context_create();
        if ctx.is_null() {
            return Err(unknown("PROJ could not create a context"));
        }
        let mut obj = proj_sys::proj_create(ctx, def.as_ptr());
        // A bound CRS (a definition carrying +towgs84) or a compound one (with heights): its
        // horizontal part is what has axes in metres or degrees.
        while !obj.is_null() {
            let inner = match proj_sys::proj_get_type(obj) {
                proj_sys::PJ_TYPE_PJ_TYPE_BOUND_CRS => proj_sys::proj_get_source_crs(ctx, obj),
                proj_sys::PJ_TYPE_PJ_TYPE_COMPOUND_CRS => {
                    proj_sys::proj_crs_get_sub_crs(ctx, obj, 0)
                }
                _ => break,
            };
            proj_sys::proj_destroy(obj);
            obj = inner;
        }
        let mut result = Err(unknown("PROJ does not know it"));
        if !obj.is_null() {
            let cs = proj_sys::proj_crs_get_coordinate_system(ctx, obj);
            if cs.is_null() {
                result = Err(unknown("not a coordinate reference system"));
            } else {
                let mut unit: *const std::os::raw::c_char = std::ptr::null();
                let ok = proj_sys::proj_cs_get_axis_info(
                    ctx,
                    cs,
                    0,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    &mut unit,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                );
                let unit = if ok != 0 && !unit.is_null() {
                    CStr::from_ptr(unit).to_string_lossy().into_owned()
                } else {
                    String::new()
                };
                result = if unit == "metre" {
                    Ok(())
                } else {
                    Err(ReprojectError::NotMetric {
                        crs: crs.label(),
                        unit,
                    })
                };
                proj_sys::proj_destroy(cs);
            }
            proj_sys::proj_destroy(obj);
        }
        proj_sys::proj_context_destroy(ctx);
        result
    }
}
