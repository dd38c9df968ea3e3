//! IGN's NTF → RGF93 grid: make sure it is really used.
//!
//! PROJ silently falls back to the 3-parameter Helmert shift (0.7–3.7 m off) when the grid file
//! is missing, and uses a definition's own `TOWGS84` Helmert when a source CRS carries one.
//! So, once per build and per distinct NTF source CRS, before any of its coordinates is touched:
//! 1. the source must be a registered CRS (an EPSG or IGNF code): an anonymous NTF definition
//!    is refused, because PROJ would use whatever shift it carries;
//! 2. an explicit `hgridshift` pipeline on the grid must open (it fails, unlike the
//!    CRS-to-CRS route, when the file is absent);
//! 3. the very transformation the build will use (source → working CRS) must reproduce one
//!    of IGN's published reference points (notice NT111) within 1 cm; Helmert misses it by
//!    metres.

use crate::{ReprojectError, Reprojector};
use proj::Proj;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use tuilerie_model::CrsRef;

/// The names PROJ knows the grid by: Debian's proj-data ships the NTv2 original, PROJ-data
/// the GeoTIFF conversion.
pub const GRID_NAMES: [&str; 2] = ["ntf_r93.gsb", "fr_ign_ntf_r93.tif"];

/// IGN NT111 point 1: NTF Lambert II étendu (EPSG:27572) → Lambert-93 with the NTv2 grid.
const REFERENCE: ((f64, f64), (f64, f64)) =
    ((565767.906, 2669005.730), (619119.4605, 7102502.9796));

/// What the check found.
#[derive(Debug, Clone)]
pub struct GridCheck {
    /// The grid name that opened.
    pub grid: String,
    /// Distance between our transform of IGN's reference point and IGN's value, metres of
    /// the working CRS.
    pub reference_error_m: f64,
}

thread_local! {
    static IS_NTF: RefCell<HashMap<CrsRef, bool>> = RefCell::new(HashMap::new());
}

/// Whether a CRS is based on NTF, asking PROJ: the Clarke 1880 (IGN) ellipsoid, with the NTF
/// datum — or an unnamed datum (a PROJ string), which is then treated as NTF so that it is
/// checked, since Carthage, Merchich and Voirol share the ellipsoid but not the grid. Catches
/// what a code list misses (IGNF codes, WKT from a `.prj`, compound CRSs).
pub fn is_ntf(crs: &CrsRef) -> bool {
    if crs.is_ntf() {
        return true;
    }
    if let Some(known) = IS_NTF.with(|c| c.borrow().get(crs).copied()) {
        return known;
    }
    let answer = match ellipsoid_and_datum(&crs.proj_definition()) {
        Some((ellipsoid, datum)) if ellipsoid.starts_with("Clarke 1880 (IGN)") => match datum {
            None => true,
            Some(d) => d.contains("Triangulation Francaise") || d.eq_ignore_ascii_case("unknown"),
        },
        _ => false,
    };
    IS_NTF.with(|c| c.borrow_mut().insert(crs.clone(), answer));
    answer
}

/// The names of a CRS's ellipsoid and horizontal datum, as PROJ knows them.
fn ellipsoid_and_datum(definition: &str) -> Option<(String, Option<String>)> {
    let def = CString::new(definition).ok()?;
    // SAFETY: PROJ C API; every object created here is destroyed here, names copied first.
    unsafe {
        let ctx = proj_sys::proj_context_create();
        if ctx.is_null() {
            return None;
        }
        let name_of = |obj: *mut proj_sys::PJ| -> Option<String> {
            if obj.is_null() {
                return None;
            }
            let n = proj_sys::proj_get_name(obj);
            let out = (!n.is_null()).then(|| CStr::from_ptr(n).to_string_lossy().into_owned());
            proj_sys::proj_destroy(obj);
            out
        };
        let crs = proj_sys::proj_create(ctx, def.as_ptr());
        let mut out = None;
        if !crs.is_null() {
            let ellipsoid = name_of(proj_sys::proj_get_ellipsoid(ctx, crs));
            let datum = name_of(proj_sys::proj_crs_get_horizontal_datum(ctx, crs));
            out = ellipsoid.map(|e| (e, datum));
            proj_sys::proj_destroy(crs);
        }
        proj_sys::proj_context_destroy(ctx);
        out
    }
}

/// `AUTHORITY:CODE`, which PROJ resolves from its database.
fn is_registered(crs: &CrsRef) -> bool {
    match crs {
        CrsRef::Epsg(_) => true,
        CrsRef::Definition(d) => d.split_once(':').is_some_and(|(a, c)| {
            !a.is_empty()
                && a.chars().all(|ch| ch.is_ascii_alphabetic())
                && !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_alphanumeric())
        }),
    }
}

/// [`check_grid`] when `source` is NTF; `Ok(None)` for any other CRS.
pub fn check_if_ntf(
    source: &CrsRef,
    reprojector: &Reprojector,
) -> Result<Option<GridCheck>, ReprojectError> {
    if is_ntf(source) {
        check_grid(source, reprojector).map(Some)
    } else {
        Ok(None)
    }
}

/// Check that NTF data in `source` goes to `reprojector`'s working CRS through IGN's grid.
pub fn check_grid(source: &CrsRef, reprojector: &Reprojector) -> Result<GridCheck, ReprojectError> {
    let missing = |detail: String| ReprojectError::NtfGridMissing {
        crs: source.label(),
        detail,
    };
    if !is_registered(source) {
        return Err(ReprojectError::NtfUnidentified {
            crs: source.label(),
        });
    }
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
        return Err(missing(format!(
            "PROJ cannot open it ({})",
            failures.join("; ")
        )));
    };
    // IGN's point, expressed in the source CRS (NTF → NTF: a change of projection, no datum
    // shift) and, expected, in the working CRS (RGF93-based: no datum shift either).
    let ((x, y), (ex, ey)) = REFERENCE;
    let mut pt = [(x, y)];
    Reprojector::new(source.clone()).transform_coords(&CrsRef::Epsg(27572), &mut pt)?;
    let mut expected = [(ex, ey)];
    reprojector.transform_coords(&CrsRef::Epsg(2154), &mut expected)?;
    // The transformation the build uses.
    let not_used = |detail: String| ReprojectError::NtfGridNotUsed {
        crs: source.label(),
        to: reprojector.target().label(),
        detail,
        grid: grid.to_string(),
    };
    reprojector
        .transform_coords(source, &mut pt)
        .map_err(|e| not_used(e.to_string()))?;
    let err = ((pt[0].0 - expected[0].0).powi(2) + (pt[0].1 - expected[0].1).powi(2)).sqrt();
    // NaN (a failed transform) must fail the check too.
    if err.is_nan() || err > 0.01 {
        return Err(not_used(format!(
            "it misses IGN's reference point by {err:.3} m"
        )));
    }
    Ok(GridCheck {
        grid: grid.to_string(),
        reference_error_m: err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_ellipsoid_other_datum_is_not_ntf() {
        // Carthage (Tunisia), Merchich (Morocco): Clarke 1880 (IGN), not NTF.
        assert!(!is_ntf(&CrsRef::Epsg(22391)));
        assert!(!is_ntf(&CrsRef::Epsg(26191)));
        assert!(is_ntf(&CrsRef::Epsg(7412)), "compound NTF + NGF-IGN69");
    }

    #[test]
    fn ntf_is_recognised_by_its_ellipsoid() {
        assert!(is_ntf(&CrsRef::Definition("IGNF:LAMB1".into())));
        assert!(is_ntf(&CrsRef::Definition(
            "+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=0 +k_0=0.99987742 +x_0=600000 +y_0=2200000 \
             +ellps=clrk80ign +pm=paris +towgs84=-168,-60,320 +units=m +no_defs +type=crs"
                .into()
        )));
        assert!(!is_ntf(&CrsRef::Epsg(2154)));
        assert!(!is_ntf(&CrsRef::Epsg(3949)));
    }

    #[test]
    fn every_registered_ntf_source_is_checked_through_its_own_route() {
        let l93 = Reprojector::new(CrsRef::Epsg(2154));
        for src in [
            CrsRef::Epsg(27572),
            CrsRef::Epsg(27562),
            CrsRef::Epsg(27561),
            CrsRef::parse("IGNF:LAMB1"),
        ] {
            let c = check_grid(&src, &l93).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert!(c.reference_error_m < 1e-3, "{src}: {c:?}");
        }
        // Through the hub to another metric working CRS (CC49).
        let cc49 = Reprojector::new(CrsRef::Epsg(3949));
        assert!(
            check_grid(&CrsRef::Epsg(27572), &cc49)
                .unwrap()
                .reference_error_m
                < 1e-3
        );
    }

    #[test]
    fn a_route_that_skips_the_grid_is_caught() {
        // IGNF's own Lambert II étendu: PROJ transforms it with the IGNF Helmert, 2 m off.
        let e = check_grid(
            &CrsRef::Definition("IGNF:LAMBE".into()),
            &Reprojector::new(CrsRef::Epsg(2154)),
        )
        .unwrap_err();
        assert!(matches!(e, ReprojectError::NtfGridNotUsed { .. }), "{e}");
        assert!(e.to_string().contains("EPSG code"), "{e}");
    }

    #[test]
    fn an_anonymous_ntf_definition_is_refused() {
        let def = CrsRef::Definition("+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=0 +k_0=0.99987742 +x_0=600000 +y_0=2200000 +ellps=clrk80ign +pm=paris +towgs84=-168,-60,320 +units=m +no_defs +type=crs".into());
        let e = check_grid(&def, &Reprojector::new(CrsRef::Epsg(2154)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("EPSG:2757"), "{e}");
    }
}
