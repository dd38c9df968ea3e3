//! A PROJ transformation object, driven through `proj_trans_generic` in place.
//!
//! The `proj` crate copies every coordinate into PROJ's 4-D `PJ_COORD` and back on each call;
//! here PROJ reads and writes our coordinates where they are (a stride over a slice), which is
//! what raw PROJ does. One object per (source, target) per thread: it is neither `Send` nor
//! `Sync` (raw pointers), as PROJ requires.

use std::ffi::{CStr, CString};
use std::ptr::{addr_of_mut, null_mut};

pub(crate) struct Transformer {
    ctx: *mut proj_sys::PJ_CONTEXT,
    pj: *mut proj_sys::PJ,
}

impl Transformer {
    /// `proj_create_crs_to_crs` with input and output normalised to easting/northing,
    /// longitude/latitude order (as GIS files store coordinates).
    pub(crate) fn new(from: &str, to: &str) -> Result<Self, String> {
        // SAFETY: PROJ C API on the context `build` owns.
        Self::build(from, to, |ctx, f, t| unsafe {
            let op = proj_sys::proj_create_crs_to_crs(ctx, f.as_ptr(), t.as_ptr(), null_mut());
            if op.is_null() {
                Err(context_error(ctx))
            } else {
                Ok(op)
            }
        })
    }

    /// The most relevant operation from `from` to `to` that goes through a grid, and only
    /// that one: `proj_create_crs_to_crs` keeps a list of candidates and, for a point outside
    /// the grid operation's area (or when its grid is missing), silently falls back to a
    /// Helmert shift — metres off for NTF. With this object such a point fails instead.
    pub(crate) fn new_grid_only(from: &str, to: &str) -> Result<Self, String> {
        // SAFETY: PROJ C API on the context `build` owns; every object created here is
        // destroyed here except the chosen operation, handed to `build`.
        Self::build(from, to, |ctx, f, t| unsafe {
            let src = proj_sys::proj_create(ctx, f.as_ptr());
            let dst = proj_sys::proj_create(ctx, t.as_ptr());
            let factory = proj_sys::proj_create_operation_factory_context(ctx, std::ptr::null());
            let mut chosen: *mut proj_sys::PJ = null_mut();
            if !src.is_null() && !dst.is_null() && !factory.is_null() {
                proj_sys::proj_operation_factory_context_set_grid_availability_use(
                    ctx,
                    factory,
                    proj_sys::PROJ_GRID_AVAILABILITY_USE_PROJ_GRID_AVAILABILITY_DISCARD_OPERATION_IF_MISSING_GRID,
                );
                proj_sys::proj_operation_factory_context_set_spatial_criterion(
                    ctx,
                    factory,
                    proj_sys::PROJ_SPATIAL_CRITERION_PROJ_SPATIAL_CRITERION_PARTIAL_INTERSECTION,
                );
                let list = proj_sys::proj_create_operations(ctx, src, dst, factory);
                if !list.is_null() {
                    for i in 0..proj_sys::proj_list_get_count(list) {
                        let op = proj_sys::proj_list_get(ctx, list, i);
                        if op.is_null() {
                            continue;
                        }
                        if proj_sys::proj_coordoperation_get_grid_used_count(ctx, op) > 0 {
                            chosen = op;
                            break;
                        }
                        proj_sys::proj_destroy(op);
                    }
                    proj_sys::proj_list_destroy(list);
                }
            }
            for obj in [src, dst] {
                if !obj.is_null() {
                    proj_sys::proj_destroy(obj);
                }
            }
            if !factory.is_null() {
                proj_sys::proj_operation_factory_context_destroy(factory);
            }
            if chosen.is_null() {
                Err("PROJ has no transformation through an available grid".into())
            } else {
                Ok(chosen)
            }
        })
    }

    /// Create a context, let `operation` make the operation in it, normalise the axis order.
    fn build(
        from: &str,
        to: &str,
        operation: impl FnOnce(
            *mut proj_sys::PJ_CONTEXT,
            &CStr,
            &CStr,
        ) -> Result<*mut proj_sys::PJ, String>,
    ) -> Result<Self, String> {
        let nul = |_| "CRS definition holds a NUL byte".to_string();
        let (f, t) = (
            CString::new(from).map_err(nul)?,
            CString::new(to).map_err(nul)?,
        );
        // SAFETY: PROJ C API; on failure everything created is destroyed before returning.
        unsafe {
            let ctx = proj_sys::proj_context_create();
            if ctx.is_null() {
                return Err("PROJ could not create a context".into());
            }
            let raw = match operation(ctx, &f, &t) {
                Ok(op) => op,
                Err(e) => {
                    proj_sys::proj_context_destroy(ctx);
                    return Err(e);
                }
            };
            let pj = proj_sys::proj_normalize_for_visualization(ctx, raw);
            proj_sys::proj_destroy(raw);
            if pj.is_null() {
                let msg = context_error(ctx);
                proj_sys::proj_context_destroy(ctx);
                return Err(msg);
            }
            Ok(Transformer { ctx, pj })
        }
    }

    /// PROJ's description of the operation (`unavailable until proj_trans is called` when PROJ
    /// chooses among several candidates point by point).
    pub(crate) fn description(&self) -> Option<String> {
        // SAFETY: the info strings belong to `pj`, copied at once.
        unsafe {
            let info = proj_sys::proj_pj_info(self.pj);
            (!info.description.is_null()).then(|| {
                CStr::from_ptr(info.description)
                    .to_string_lossy()
                    .into_owned()
            })
        }
    }

    /// Transform coordinate pairs in place.
    pub(crate) fn pairs(&self, coords: &mut [(f64, f64)]) -> Result<(), String> {
        if coords.is_empty() {
            return Ok(());
        }
        // From the slice, not from its first element: the pointer must cover every element.
        let first: *mut (f64, f64) = coords.as_mut_ptr();
        // SAFETY: x and y of element i lie at the same offsets from element i's address for
        // every element of the slice; the stride is the element size.
        unsafe {
            self.run(
                addr_of_mut!((*first).0),
                addr_of_mut!((*first).1),
                std::mem::size_of::<(f64, f64)>(),
                coords.len(),
            )
        }
    }

    /// Transform `geo` coordinates in place.
    pub(crate) fn coords(&self, coords: &mut [geo::Coord<f64>]) -> Result<(), String> {
        if coords.is_empty() {
            return Ok(());
        }
        let first: *mut geo::Coord<f64> = coords.as_mut_ptr();
        // SAFETY: as in `pairs`.
        unsafe {
            self.run(
                addr_of_mut!((*first).x),
                addr_of_mut!((*first).y),
                std::mem::size_of::<geo::Coord<f64>>(),
                coords.len(),
            )
        }
    }

    /// # Safety
    /// `x` and `y` must point at `n` doubles each, `stride` bytes apart, valid for writes.
    unsafe fn run(&self, x: *mut f64, y: *mut f64, stride: usize, n: usize) -> Result<(), String> {
        proj_sys::proj_errno_reset(self.pj);
        proj_sys::proj_trans_generic(
            self.pj,
            proj_sys::PJ_DIRECTION_PJ_FWD,
            x,
            stride,
            n,
            y,
            stride,
            n,
            null_mut(),
            0,
            0,
            null_mut(),
            0,
            0,
        );
        let errno = proj_sys::proj_errno(self.pj);
        if errno != 0 {
            let msg = proj_sys::proj_context_errno_string(self.ctx, errno);
            let msg = if msg.is_null() {
                format!("PROJ error {errno}")
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            proj_sys::proj_errno_reset(self.pj);
            return Err(msg);
        }
        Ok(())
    }
}

fn context_error(ctx: *mut proj_sys::PJ_CONTEXT) -> String {
    // SAFETY: reading the context's last error.
    unsafe {
        let errno = proj_sys::proj_context_errno(ctx);
        let msg = proj_sys::proj_context_errno_string(ctx, errno);
        if msg.is_null() {
            format!("PROJ error {errno}")
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        }
    }
}

impl Drop for Transformer {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once.
        unsafe {
            proj_sys::proj_destroy(self.pj);
            proj_sys::proj_context_destroy(self.ctx);
        }
    }
}
