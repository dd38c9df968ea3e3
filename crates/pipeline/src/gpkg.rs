//! The GeoPackage a GIS expert opens in QGIS: several layers in one file, through GDAL.

use crate::write::{layer_geometry_type, Table};
use crate::BuildError;
use flatgeobuf::ColumnType;
use flatgeobuf::GeometryType;
use gdal::vector::{FieldDefn, LayerAccess, LayerOptions, ToGdal};
use gdal_sys::OGRFieldType;
use geo::{Geometry, MultiLineString, MultiPoint, MultiPolygon};
use std::borrow::Cow;
use std::path::Path;
use tuilerie_model::{CrsRef, Value};

fn field_type<'a>(t: ColumnType, mut values: impl Iterator<Item = &'a Value>) -> u32 {
    match t {
        ColumnType::Long | ColumnType::Int | ColumnType::Bool => OGRFieldType::OFTInteger64,
        ColumnType::Double | ColumnType::Float => OGRFieldType::OFTReal,
        // A column of plain dates is a date column; with times in it, a date-time one.
        ColumnType::DateTime if values.all(|v| matches!(v, Value::Date(_))) => {
            OGRFieldType::OFTDate
        }
        ColumnType::DateTime => OGRFieldType::OFTDateTime,
        _ => OGRFieldType::OFTString,
    }
}

/// The OGR type of a layer whose geometries are all of `t` (multi when singles and multis mix).
fn ogr_type(t: GeometryType) -> u32 {
    use gdal_sys::OGRwkbGeometryType::*;
    match t {
        GeometryType::Point => wkbPoint,
        GeometryType::MultiPoint => wkbMultiPoint,
        GeometryType::LineString => wkbLineString,
        GeometryType::MultiLineString => wkbMultiLineString,
        GeometryType::Polygon => wkbPolygon,
        GeometryType::MultiPolygon => wkbMultiPolygon,
        _ => wkbUnknown,
    }
}

/// A single geometry as the multi type of its layer, so that QGIS sees one type per layer.
fn promoted(g: &Geometry<f64>, layer: GeometryType) -> Cow<'_, Geometry<f64>> {
    match (g, layer) {
        (Geometry::Point(p), GeometryType::MultiPoint) => Cow::Owned(MultiPoint(vec![*p]).into()),
        (Geometry::LineString(l), GeometryType::MultiLineString) => {
            Cow::Owned(MultiLineString(vec![l.clone()]).into())
        }
        (Geometry::Polygon(p), GeometryType::MultiPolygon) => {
            Cow::Owned(MultiPolygon(vec![p.clone()]).into())
        }
        _ => Cow::Borrowed(g),
    }
}

/// A layer of a GeoPackage: its name, its rows, and each row's fid (1, 2, 3… when `None`).
pub(crate) struct GpkgLayer<'a> {
    pub name: String,
    pub table: Table<'a>,
    pub fids: Option<&'a [i64]>,
}

impl<'a> GpkgLayer<'a> {
    /// A layer whose rows are numbered 1, 2, 3….
    pub(crate) fn numbered(name: impl Into<String>, table: Table<'a>) -> Self {
        GpkgLayer {
            name: name.into(),
            table,
            fids: None,
        }
    }

    fn fid(&self, row: usize) -> i64 {
        self.fids
            .and_then(|f| f.get(row).copied())
            .unwrap_or(row as i64 + 1)
    }

    /// Its fields (name, OGR type) and its geometry type, as written.
    fn schema(&self) -> (Vec<(String, u32)>, GeometryType) {
        let t = &self.table;
        let fields = t
            .names
            .iter()
            .zip(&t.types)
            .enumerate()
            .map(|(i, (n, ty))| {
                let values = t
                    .rows
                    .iter()
                    .filter_map(|(_, v)| v[i])
                    .filter(|v| !v.is_null());
                (n.clone(), field_type(*ty, values))
            })
            .collect();
        let gtype = layer_geometry_type(t.rows.iter().filter_map(|(g, _)| *g));
        (fields, gtype)
    }
}

/// How a layer's rows changed since the file was written: the fids of the rows gone, and the
/// rows come (indices into its table, each with its fid).
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerChange {
    pub gone: Vec<i64>,
    pub come: Vec<usize>,
}

fn gpkg_error(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> BuildError + '_ {
    move |e| BuildError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// One row into `layer`, with its fid.
fn add_row(
    layer: &gdal::vector::Layer<'_>,
    name: &str,
    names: &[String],
    (geom, values): &(Option<&Geometry<f64>>, Vec<Option<&Value>>),
    gtype: GeometryType,
    fid: i64,
    err: &dyn Fn(&dyn std::fmt::Display) -> BuildError,
) -> Result<(), BuildError> {
    let mut f = gdal::vector::Feature::new(layer.defn()).map_err(|e| err(&e))?;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        let r = match v {
            Value::Null => continue,
            Value::Bool(b) => f.set_field_integer64(i, i64::from(*b)),
            Value::Int(n) => f.set_field_integer64(i, *n),
            Value::Real(x) => f.set_field_double(i, *x),
            Value::Date(d) => f.set_field_string(i, &d.format("%Y-%m-%d").to_string()),
            Value::DateTime(d) => f.set_field_string(i, &d.format("%Y-%m-%dT%H:%M:%S").to_string()),
            Value::Text(t) => f.set_field_string(i, t),
        };
        r.map_err(|e| err(&format!("layer {name}, field {}: {e}", names[i])))?;
    }
    if let Some(g) = geom {
        // A geometry GDAL cannot take (NaN…) is dropped; rejects say why.
        if let Ok(gg) = promoted(g, gtype).to_gdal() {
            let _ = f.set_geometry(gg);
        }
    }
    // SAFETY: the feature handle is valid for `f`'s lifetime; OGR_F_SetFID only sets its id.
    unsafe {
        gdal_sys::OGR_F_SetFID(f.c_feature(), fid);
    }
    f.create(layer)
        .map_err(|e| err(&format!("layer {name}, fid {fid}: {e}")))
}

/// Write `layers` into a new GeoPackage at `path` (replaced atomically).
pub(crate) fn write_gpkg(
    path: &Path,
    layers: Vec<GpkgLayer<'_>>,
    crs: &CrsRef,
) -> Result<(), BuildError> {
    let err = gpkg_error(path);
    let tmp = path.with_extension("tmp.gpkg");
    let _ = std::fs::remove_file(&tmp);
    {
        let driver = gdal::DriverManager::get_driver_by_name("GPKG").map_err(|e| err(&e))?;
        let mut ds = driver.create_vector_only(&tmp).map_err(|e| err(&e))?;
        let srs = gdal::spatial_ref::SpatialRef::from_definition(&crs.proj_definition())
            .map_err(|e| err(&e))?;
        let mut txn = ds.start_transaction().map_err(|e| err(&e))?;
        for l in &layers {
            let (fields, gtype) = l.schema();
            // The fid column is `fid`, unless the features have a field of that name (sources
            // often carry their own fid): GDAL would then take it for the fid.
            let fid_column = if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case("fid")) {
                "FID=gpkg_fid"
            } else {
                "FID=fid"
            };
            let layer = txn
                .create_layer(LayerOptions {
                    name: &l.name,
                    srs: Some(&srs),
                    ty: ogr_type(gtype),
                    options: Some(&[fid_column]),
                })
                .map_err(|e| err(&e))?;
            for (n, ft) in &fields {
                FieldDefn::new(n, *ft)
                    .and_then(|f| f.add_to_layer(&layer))
                    .map_err(|e| err(&format!("layer {}, field {n}: {e}", l.name)))?;
            }
            for (i, row) in l.table.rows.iter().enumerate() {
                add_row(&layer, &l.name, &l.table.names, row, gtype, l.fid(i), &err)?;
            }
        }
        txn.commit().map_err(|e| err(&e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(&e))?;
    Ok(())
}

/// Update the GeoPackage at `path` (written by [`write_gpkg`] with the same layers) in place
/// of writing it again: for a layer with a [`LayerChange`], the rows gone are deleted and the
/// rows come inserted with their fids (GDAL's triggers keep the spatial index and the counts);
/// a layer without one has all its rows replaced. The work is done on a copy, renamed over
/// the file at the end. `Ok(false)` (nothing done) when the file does not have these layers,
/// in this order, with these fields and geometry types: it must then be written whole.
pub(crate) fn update_gpkg(
    path: &Path,
    layers: Vec<(GpkgLayer<'_>, Option<LayerChange>)>,
) -> Result<bool, BuildError> {
    let err = gpkg_error(path);
    let tmp = path.with_extension("tmp.gpkg");
    let _ = std::fs::remove_file(&tmp);
    std::fs::copy(path, &tmp).map_err(|e| err(&e))?;
    let done = update_copy(&tmp, &layers, &err).and_then(|done| {
        if done {
            set_extents(&tmp, &layers).map_err(|e| err(&e))?;
        }
        Ok(done)
    });
    match done {
        Ok(true) => std::fs::rename(&tmp, path).map_err(|e| err(&e))?,
        _ => {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    done
}

fn update_copy(
    tmp: &Path,
    layers: &[(GpkgLayer<'_>, Option<LayerChange>)],
    err: &dyn Fn(&dyn std::fmt::Display) -> BuildError,
) -> Result<bool, BuildError> {
    let options = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE | gdal::GdalOpenFlags::GDAL_OF_VECTOR,
        allowed_drivers: Some(&["GPKG"]),
        ..Default::default()
    };
    let Ok(mut ds) = gdal::Dataset::open_ex(tmp, options) else {
        return Ok(false);
    };
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    if names.iter().ne(layers.iter().map(|(l, _)| &l.name)) {
        return Ok(false);
    }
    let schemas: Vec<_> = layers.iter().map(|(l, _)| l.schema()).collect();
    for ((l, _), (fields, gtype)) in layers.iter().zip(&schemas) {
        let Ok(layer) = ds.layer_by_name(&l.name) else {
            return Ok(false);
        };
        let defn = layer.defn();
        let have: Vec<(String, u32)> = defn.fields().map(|f| (f.name(), f.field_type())).collect();
        if &have != fields
            || defn
                .geom_fields()
                .next()
                .map(|g| g.field_type())
                .unwrap_or(0)
                != ogr_type(*gtype)
        {
            return Ok(false);
        }
    }
    let txn = ds.start_transaction().map_err(|e| err(&e))?;
    for ((l, change), (_, gtype)) in layers.iter().zip(&schemas) {
        let mut layer = txn.layer_by_name(&l.name).map_err(|e| err(&e))?;
        let gone: Vec<i64> = match change {
            Some(c) => c.gone.clone(),
            None => layer
                .features()
                .filter_map(|f| f.fid())
                .map(|f| f as i64)
                .collect(),
        };
        for fid in gone {
            // SAFETY: the layer handle is valid while `txn` holds the dataset.
            let e = unsafe { gdal_sys::OGR_L_DeleteFeature(layer.c_layer(), fid) };
            if e != gdal_sys::OGRErr::OGRERR_NONE {
                return Err(err(&format!(
                    "layer {}: cannot delete fid {fid} (OGR error {e})",
                    l.name
                )));
            }
        }
        let come: Vec<usize> = match change {
            Some(c) => c.come.clone(),
            None => (0..l.table.rows.len()).collect(),
        };
        for i in come {
            add_row(
                &layer,
                &l.name,
                &l.table.names,
                &l.table.rows[i],
                *gtype,
                l.fid(i),
                err,
            )?;
        }
    }
    txn.commit().map_err(|e| err(&e))?;
    Ok(true)
}

/// Each layer's extent in `gpkg_contents`, the envelope of its rows (a whole write's, within
/// a unit in the last place: GDAL's own rounding): GDAL only grows the extent it keeps when
/// rows come, and its `RECOMPUTE EXTENT` reads the spatial index's single-precision boxes.
/// Set once GDAL has closed the file.
fn set_extents(
    path: &Path,
    layers: &[(GpkgLayer<'_>, Option<LayerChange>)],
) -> rusqlite::Result<()> {
    use geo::BoundingRect;
    let db = rusqlite::Connection::open(path)?;
    let mut update = db.prepare(
        "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4 \
         WHERE table_name = ?5",
    )?;
    for (l, _) in layers {
        let extent = l
            .table
            .rows
            .iter()
            .filter_map(|(g, _)| g.and_then(|g| g.bounding_rect()))
            .reduce(tuilerie_tiles::archive::union);
        let (min, max) = match extent {
            Some(r) => (Some(r.min()), Some(r.max())),
            None => (None, None),
        };
        update.execute(rusqlite::params![
            min.map(|c| c.x),
            min.map(|c| c.y),
            max.map(|c| c.x),
            max.map(|c| c.y),
            l.name
        ])?;
    }
    Ok(())
}
