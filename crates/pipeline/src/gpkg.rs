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

/// Write `layers` (name, table) into a new GeoPackage at `path` (replaced atomically).
pub(crate) fn write_gpkg(
    path: &Path,
    layers: Vec<(String, Table<'_>)>,
    crs: &CrsRef,
) -> Result<(), BuildError> {
    let err = |e: &dyn std::fmt::Display| BuildError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let tmp = path.with_extension("tmp.gpkg");
    let _ = std::fs::remove_file(&tmp);
    {
        let driver = gdal::DriverManager::get_driver_by_name("GPKG").map_err(|e| err(&e))?;
        let mut ds = driver.create_vector_only(&tmp).map_err(|e| err(&e))?;
        let srs = gdal::spatial_ref::SpatialRef::from_definition(&crs.proj_definition())
            .map_err(|e| err(&e))?;
        let mut txn = ds.start_transaction().map_err(|e| err(&e))?;
        for (name, table) in &layers {
            let gtype = layer_geometry_type(table.rows.iter().filter_map(|(g, _)| *g));
            let layer = txn
                .create_layer(LayerOptions {
                    name,
                    srs: Some(&srs),
                    ty: ogr_type(gtype),
                    options: None,
                })
                .map_err(|e| err(&e))?;
            for (i, (n, t)) in table.names.iter().zip(&table.types).enumerate() {
                let ft = field_type(
                    *t,
                    table
                        .rows
                        .iter()
                        .filter_map(|(_, v)| v[i])
                        .filter(|v| !v.is_null()),
                );
                FieldDefn::new(n, ft)
                    .and_then(|f| f.add_to_layer(&layer))
                    .map_err(|e| err(&format!("layer {name}, field {n}: {e}")))?;
            }
            for (geom, values) in &table.rows {
                let mut f = gdal::vector::Feature::new(layer.defn()).map_err(|e| err(&e))?;
                for (i, v) in values.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let r = match v {
                        Value::Null => continue,
                        Value::Bool(b) => f.set_field_integer64(i, i64::from(*b)),
                        Value::Int(n) => f.set_field_integer64(i, *n),
                        Value::Real(x) => f.set_field_double(i, *x),
                        Value::Date(d) => f.set_field_string(i, &d.format("%Y-%m-%d").to_string()),
                        Value::DateTime(d) => {
                            f.set_field_string(i, &d.format("%Y-%m-%dT%H:%M:%S").to_string())
                        }
                        Value::Text(t) => f.set_field_string(i, t),
                    };
                    r.map_err(|e| err(&format!("layer {name}, field {}: {e}", table.names[i])))?;
                }
                if let Some(g) = geom {
                    // A geometry GDAL cannot take (NaN…) is dropped; rejects say why.
                    if let Ok(gg) = promoted(g, gtype).to_gdal() {
                        let _ = f.set_geometry(gg);
                    }
                }
                f.create(&layer).map_err(|e| err(&e))?;
            }
        }
        txn.commit().map_err(|e| err(&e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(&e))?;
    Ok(())
}
