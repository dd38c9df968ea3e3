//! Everything GDAL reads: Shapefile (plain or zipped), GeoPackage, EDIGEO sheets, DXF, OSM,
//! MapInfo… Text comes out as UTF-8 when the source declares its encoding (`.cpg`, DBF code
//! page); bytes that are still not UTF-8 are decoded as ISO-8859-1 and reported.

use crate::{FieldInfo, IngestError, SourceFeature, SourceLayer};
use gdal::vector::{Feature, FieldValue, Layer, LayerAccess};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::ffi::CStr;
use std::path::Path;
use tuilerie_model::{CrsRef, Value};

/// Open a vector dataset read-only.
pub(crate) fn open(path: &Path) -> Result<Dataset, IngestError> {
    // EDIGEO: no label layers (they duplicate the objects' text as points). A process-wide
    // GDAL setting: set once.
    static CONFIG: std::sync::Once = std::sync::Once::new();
    CONFIG.call_once(|| {
        let _ = gdal::config::set_config_option("OGR_EDIGEO_CREATE_LABEL_LAYERS", "NO");
    });
    Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    )
    .map_err(|e| IngestError::unreadable(path, e))
}

/// Pick the requested layer, or the only one.
pub(crate) fn pick_layer<'a>(
    ds: &'a Dataset,
    path: &Path,
    layer: Option<&str>,
) -> Result<Layer<'a>, IngestError> {
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    match layer {
        Some(name) => ds
            .layer_by_name(name)
            .map_err(|_| IngestError::NoSuchLayer {
                path: path.to_path_buf(),
                layer: name.to_string(),
                available: names.join(", "),
            }),
        None if names.len() == 1 => ds.layer(0).map_err(|e| IngestError::unreadable(path, e)),
        None if names.is_empty() => Err(IngestError::unreadable(path, "no vector layer")),
        None => Err(IngestError::AmbiguousLayer {
            path: path.to_path_buf(),
            available: names.join(", "),
        }),
    }
}

/// The layer's CRS: its EPSG code when GDAL knows or can identify one, else its WKT.
pub(crate) fn layer_crs<L: LayerAccess>(layer: &L) -> Option<CrsRef> {
    let mut srs = layer.spatial_ref()?;
    let epsg = |s: &gdal::spatial_ref::SpatialRef| match (s.auth_name(), s.auth_code()) {
        (Some(a), Ok(c)) if a.eq_ignore_ascii_case("EPSG") && c > 0 => Some(c as u32),
        _ => None,
    };
    if let Some(c) = epsg(&srs) {
        return Some(CrsRef::Epsg(c));
    }
    if srs.auto_identify_epsg().is_ok() {
        if let Some(c) = epsg(&srs) {
            return Some(CrsRef::Epsg(c));
        }
    }
    if let Some(c) = best_match(&srs) {
        return Some(c);
    }
    srs.to_wkt().ok().map(CrsRef::Definition)
}

/// The registered CRS that PROJ rates equivalent (confidence ≥ 90 %) to `srs`, e.g. EDIGEO's
/// `RGF93 Lambert 93` is IGNF:LAMB93, i.e. EPSG:2154. Using the code lets the pipeline skip a
/// no-op transformation and makes reports readable.
fn best_match(srs: &gdal::spatial_ref::SpatialRef) -> Option<CrsRef> {
    // SAFETY: OSRFindMatches returns an owned array of `n` SRS handles and `n` confidences,
    // both freed here; authority strings are copied before the array is freed.
    unsafe {
        let mut n: std::os::raw::c_int = 0;
        let mut conf: *mut std::os::raw::c_int = std::ptr::null_mut();
        let arr =
            gdal_sys::OSRFindMatches(srs.to_c_hsrs(), std::ptr::null_mut(), &mut n, &mut conf);
        let mut out: Option<CrsRef> = None;
        if !arr.is_null() && n > 0 && !conf.is_null() && *conf >= 90 {
            // Among the matches rated as high as the best, prefer an EPSG code: PROJ transforms
            // EPSG's NTF CRSs through IGN's grid, IGNF's with their own Helmert.
            let top = *conf;
            for i in 0..n as usize {
                if *conf.add(i) < top {
                    break;
                }
                let m = *arr.add(i);
                let auth = gdal_sys::OSRGetAuthorityName(m, std::ptr::null());
                let code = gdal_sys::OSRGetAuthorityCode(m, std::ptr::null());
                if auth.is_null() || code.is_null() {
                    continue;
                }
                let (a, c) = (
                    CStr::from_ptr(auth).to_string_lossy(),
                    CStr::from_ptr(code).to_string_lossy(),
                );
                let candidate = CrsRef::parse(&format!("{a}:{c}"));
                let is_epsg = candidate.epsg().is_some();
                if out.is_none() || is_epsg {
                    out = Some(candidate);
                }
                if is_epsg {
                    break;
                }
            }
        }
        if !arr.is_null() {
            gdal_sys::OSRFreeSRSArray(arr);
        }
        if !conf.is_null() {
            gdal_sys::VSIFree(conf as *mut std::ffi::c_void);
        }
        out
    }
}

/// The layer's fields. Names are decoded like values: UTF-8, else ISO-8859-1 with a warning
/// (the gdal crate would replace the bytes it cannot decode).
pub(crate) fn field_infos<L: LayerAccess>(layer: &L) -> (Vec<FieldInfo>, Vec<String>) {
    let mut warnings = Vec::new();
    let kinds: Vec<String> = layer
        .defn()
        .fields()
        .map(|f| gdal::vector::field_type_to_name(f.field_type()))
        .collect();
    let fields = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            // SAFETY: i < field count; the name is owned by the layer definition.
            let raw = unsafe {
                let defn = gdal_sys::OGR_L_GetLayerDefn(layer.c_layer());
                let fd = gdal_sys::OGR_FD_GetFieldDefn(defn, i as i32);
                let p = if fd.is_null() {
                    std::ptr::null()
                } else {
                    gdal_sys::OGR_Fld_GetNameRef(fd)
                };
                if p.is_null() {
                    Vec::new()
                } else {
                    CStr::from_ptr(p).to_bytes().to_vec()
                }
            };
            let (name, latin1) = decode(&raw);
            if latin1 {
                warnings.push(format!(
                    "field name {name:?} is not UTF-8; decoded as ISO-8859-1"
                ));
            }
            FieldInfo { name, kind }
        })
        .collect();
    (fields, warnings)
}

/// UTF-8 when valid, else ISO-8859-1 (every byte is a character): `(text, was_latin1)`.
fn decode(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (bytes.iter().map(|&b| b as char).collect(), true),
    }
}

pub(crate) fn read(
    path: &Path,
    gdal_path: &Path,
    layer: Option<&str>,
) -> Result<SourceLayer, IngestError> {
    let ds = open(gdal_path)?;
    let driver = ds.driver().short_name();
    let mut lyr = pick_layer(&ds, path, layer)?;
    read_layer(&mut lyr, driver)
}

pub(crate) fn read_layer(lyr: &mut Layer<'_>, driver: String) -> Result<SourceLayer, IngestError> {
    let mut out = SourceLayer::new(lyr.name(), driver);
    out.crs = layer_crs(lyr);
    (out.fields, out.warnings) = field_infos(lyr);
    // GDAL's counts are not exact for every driver (Shapefile and MapInfo count deleted
    // records, GeoPackage trusts a cached figure), so a difference is a warning; reading that
    // stops on an error is caught through GDAL's messages below.
    let reported = lyr.try_feature_count();
    // GDAL reports a problem with one feature (a corrupt shape, an unreadable geometry) as a
    // message while still returning the feature: collect the messages, and attach those raised
    // while fetching and reading a feature to it. What is left after the loop came from the
    // call that ended it: reading stopped on an error.
    // Text fields are read as raw bytes (to decode them ourselves), the others typed by GDAL.
    let text: Vec<bool> = lyr
        .defn()
        .fields()
        .map(|f| f.field_type() == gdal_sys::OGRFieldType::OFTString)
        .collect();
    let messages = GdalMessages::capture();
    for (index, feature) in lyr.features().enumerate() {
        let mut f = read_feature(&feature, index as u64, &out.fields, &text);
        let (failures, warnings) = messages.take();
        f.notes
            .extend(failures.into_iter().map(|m| format!("GDAL: {m}")));
        f.notes
            .extend(warnings.into_iter().map(|m| format!("GDAL warning: {m}")));
        out.features.push(f);
    }
    let (failures, warnings) = messages.take();
    if !failures.is_empty() {
        out.read_error = Some(format!("GDAL: {}", failures.join("; ")));
    }
    out.warnings
        .extend(warnings.into_iter().map(|m| format!("GDAL warning: {m}")));
    drop(messages);
    if let Some(n) = reported {
        if n != out.features.len() as u64 {
            out.warnings.push(format!(
                "GDAL reports {n} features, {} were read (deleted records are skipped)",
                out.features.len()
            ));
        }
    }
    Ok(out)
}

thread_local! {
    /// GDAL messages of this thread while a [`GdalMessages`] is active: (failures, warnings).
    static GDAL_MESSAGES: std::cell::RefCell<(Vec<String>, Vec<String>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Collects GDAL's error and warning messages on this thread (GDAL's handler stack is per
/// thread) instead of letting GDAL print them, until dropped.
struct GdalMessages;

unsafe extern "C" fn collect_gdal_message(
    level: gdal_sys::CPLErr::Type,
    _code: gdal_sys::CPLErrorNum,
    msg: *const std::ffi::c_char,
) {
    let text = if msg.is_null() {
        String::new()
    } else {
        // SAFETY: GDAL passes a NUL-terminated message valid for the call.
        unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .trim_end()
            .to_string()
    };
    GDAL_MESSAGES.with(|m| {
        let mut m = m.borrow_mut();
        match level {
            gdal_sys::CPLErr::CE_Failure | gdal_sys::CPLErr::CE_Fatal => m.0.push(text),
            gdal_sys::CPLErr::CE_Warning => m.1.push(text),
            _ => {}
        }
    });
}

impl GdalMessages {
    fn capture() -> Self {
        GDAL_MESSAGES.with(|m| *m.borrow_mut() = (Vec::new(), Vec::new()));
        // SAFETY: pushes a handler on this thread's GDAL handler stack; popped in Drop.
        unsafe { gdal_sys::CPLPushErrorHandler(Some(collect_gdal_message)) };
        GdalMessages
    }

    /// The messages since the last call: (failures, warnings).
    fn take(&self) -> (Vec<String>, Vec<String>) {
        GDAL_MESSAGES.with(|m| std::mem::take(&mut *m.borrow_mut()))
    }
}

impl Drop for GdalMessages {
    fn drop(&mut self) {
        // SAFETY: pops the handler pushed in `capture`, on the same thread.
        unsafe { gdal_sys::CPLPopErrorHandler() };
    }
}

fn read_feature(
    feature: &Feature<'_>,
    index: u64,
    fields: &[FieldInfo],
    text: &[bool],
) -> SourceFeature {
    let mut repairs = Vec::new();
    let mut notes = Vec::new();
    let mut attributes = Vec::with_capacity(fields.len());
    for (i, fi) in fields.iter().enumerate() {
        if text.get(i) == Some(&true) {
            // SAFETY: i is a field index of this feature's layer.
            let set =
                unsafe { gdal_sys::OGR_F_IsFieldSetAndNotNull(feature.c_feature(), i as i32) };
            let v = if set == 0 {
                Value::Null
            } else {
                let (s, latin1) = raw_string(feature, i);
                if latin1 {
                    notes.push(format!(
                        "field {}: text is not UTF-8; decoded as ISO-8859-1",
                        fi.name
                    ));
                }
                Value::Text(s)
            };
            attributes.push((fi.name.clone(), v));
            continue;
        }
        let v = match feature.field(i) {
            Ok(None) => Value::Null,
            Ok(Some(v)) => field_value(v),
            // Unhandled types (binary…): keep GDAL's text rendering.
            Err(_) => Value::Text(raw_string(feature, i).0),
        };
        attributes.push((fi.name.clone(), v));
    }
    let geometry = match feature.geometry() {
        None => Err("no geometry (null)".to_string()),
        // The gdal crate returns a geometry object even when the feature has none (null handle).
        // SAFETY: geometry() has just set the handle (possibly to null).
        Some(g) if unsafe { g.c_geometry() }.is_null() => Err("no geometry (null)".to_string()),
        Some(g) if g.is_empty() => Err("empty geometry".to_string()),
        Some(g) => to_geo(g, &mut repairs),
    };
    SourceFeature {
        index,
        id: feature.fid().map(|f| f.to_string()),
        geometry,
        repairs,
        notes,
        attributes,
    }
}

/// The field's bytes as GDAL holds them: UTF-8 when valid, else decoded as ISO-8859-1.
fn raw_string(feature: &Feature<'_>, idx: usize) -> (String, bool) {
    // SAFETY: the pointer is owned by the feature and valid until the next call on it.
    let ptr = unsafe { gdal_sys::OGR_F_GetFieldAsString(feature.c_feature(), idx as i32) };
    if ptr.is_null() {
        return (String::new(), false);
    }
    decode(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

fn field_value(v: FieldValue) -> Value {
    match v {
        FieldValue::IntegerValue(i) => Value::Int(i64::from(i)),
        FieldValue::Integer64Value(i) => Value::Int(i),
        FieldValue::RealValue(r) => Value::Real(r),
        FieldValue::StringValue(s) => Value::Text(s),
        FieldValue::DateValue(d) => Value::Date(d),
        FieldValue::DateTimeValue(d) => Value::DateTime(d.naive_local()),
        FieldValue::IntegerListValue(l) => Value::Text(format!("{l:?}")),
        FieldValue::Integer64ListValue(l) => Value::Text(format!("{l:?}")),
        FieldValue::RealListValue(l) => Value::Text(format!("{l:?}")),
        FieldValue::StringListValue(l) => Value::Text(l.join(";")),
    }
}

/// GDAL geometry → geo, in 2D, with curves linearised and open rings reported.
fn to_geo(
    g: &gdal::vector::Geometry,
    repairs: &mut Vec<String>,
) -> Result<geo::Geometry<f64>, String> {
    let mut g = g.clone();
    g.flatten_to_2d();
    // SAFETY: plain OGR calls on a geometry we own; the linear copy is destroyed after use.
    unsafe {
        let h = g.c_geometry();
        if gdal_sys::OGR_GT_IsNonLinear(gdal_sys::OGR_G_GetGeometryType(h)) != 0 {
            let lin = gdal_sys::OGR_G_GetLinearGeometry(h, 0.0, std::ptr::null_mut());
            if lin.is_null() {
                return Err("curved geometry that GDAL cannot linearise".into());
            }
            let size = gdal_sys::OGR_G_WkbSize(lin);
            let mut wkb = vec![0u8; size.max(0) as usize];
            let rc = gdal_sys::OGR_G_ExportToIsoWkb(
                lin,
                gdal_sys::OGRwkbByteOrder::wkbNDR,
                wkb.as_mut_ptr(),
            );
            gdal_sys::OGR_G_DestroyGeometry(lin);
            if rc != gdal_sys::OGRErr::OGRERR_NONE {
                return Err("curved geometry that GDAL cannot linearise".into());
            }
            g = gdal::vector::Geometry::from_wkb(&wkb).map_err(|e| e.to_string())?;
            repairs.push("curved geometry linearised".into());
        }
    }
    close_open_rings(&mut g, repairs);
    // gdal's converter panics on a few malformed nestings; never let input crash the run.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.to_geo()))
        .map_err(|_| "malformed geometry nesting".to_string())?
        .map_err(|e| format!("unsupported geometry: {e}"))
}

/// GDAL keeps rings as read; geo would close them silently. Close them here and say so.
fn close_open_rings(g: &mut gdal::vector::Geometry, repairs: &mut Vec<String>) {
    // SAFETY: the handle is owned by `g` for the duration of the call.
    let open = unsafe { count_open_rings(g.c_geometry()) };
    if open > 0 {
        // SAFETY: closes every ring of the geometry (and of its parts) in place.
        unsafe { gdal_sys::OGR_G_CloseRings(g.c_geometry()) };
        repairs.push(format!("{open} ring(s) were not closed; closed them"));
    }
}

/// Open rings of a polygon, or of every polygon inside a multi-polygon or a collection.
///
/// # Safety
/// `h` must be a valid OGR geometry handle.
unsafe fn count_open_rings(h: gdal_sys::OGRGeometryH) -> usize {
    use gdal_sys::OGRwkbGeometryType as T;
    let ty = gdal::vector::geometry_type_flatten(gdal_sys::OGR_G_GetGeometryType(h));
    let parts = gdal_sys::OGR_G_GetGeometryCount(h);
    match ty {
        T::wkbPolygon => (0..parts)
            .filter(|&r| {
                let ring = gdal_sys::OGR_G_GetGeometryRef(h, r);
                let n = gdal_sys::OGR_G_GetPointCount(ring);
                n >= 2
                    && (gdal_sys::OGR_G_GetX(ring, 0), gdal_sys::OGR_G_GetY(ring, 0))
                        != (
                            gdal_sys::OGR_G_GetX(ring, n - 1),
                            gdal_sys::OGR_G_GetY(ring, n - 1),
                        )
            })
            .count(),
        T::wkbMultiPolygon | T::wkbGeometryCollection => (0..parts)
            .map(|i| count_open_rings(gdal_sys::OGR_G_GetGeometryRef(h, i)))
            .sum(),
        _ => 0,
    }
}
