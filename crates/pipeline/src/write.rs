//! Writers: one FlatGeobuf per theme (working CRS, packed Hilbert R-tree index), and the rejects.

use crate::{BuildError, Reject};
use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geo::Geometry;
use geozero::ColumnValue;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use tuilerie_model::{CrsRef, Feature, FieldKind, Theme, Value, PROVENANCE_FIELDS};

/// The column type that holds every value seen for a field.
fn column_type(kind: Option<FieldKind>, values: &mut dyn Iterator<Item = &Value>) -> ColumnType {
    if let Some(k) = kind {
        return match k {
            FieldKind::Text => ColumnType::String,
            FieldKind::Int => ColumnType::Long,
            FieldKind::Real => ColumnType::Double,
            FieldKind::Bool => ColumnType::Bool,
            FieldKind::Date => ColumnType::DateTime,
        };
    }
    let mut t: Option<ColumnType> = None;
    for v in values {
        let vt = match v {
            Value::Null => continue,
            Value::Bool(_) => ColumnType::Bool,
            Value::Int(_) => ColumnType::Long,
            Value::Real(_) => ColumnType::Double,
            Value::Text(_) => ColumnType::String,
            Value::Date(_) | Value::DateTime(_) => ColumnType::DateTime,
        };
        t = Some(match (t, vt) {
            (None, vt) => vt,
            (Some(a), b) if a == b => a,
            (Some(ColumnType::Long), ColumnType::Double)
            | (Some(ColumnType::Double), ColumnType::Long) => ColumnType::Double,
            _ => ColumnType::String,
        });
    }
    t.unwrap_or(ColumnType::String)
}

fn column_value<'a>(v: &'a Value, ty: ColumnType, buf: &'a mut String) -> Option<ColumnValue<'a>> {
    Some(match (v, ty) {
        (Value::Null, _) => return None,
        (Value::Bool(b), ColumnType::Bool) => ColumnValue::Bool(*b),
        (Value::Int(i), ColumnType::Long) => ColumnValue::Long(*i),
        (Value::Int(i), ColumnType::Double) => ColumnValue::Double(*i as f64),
        (Value::Real(r), ColumnType::Double) => ColumnValue::Double(*r),
        (Value::Date(d), ColumnType::DateTime) => {
            *buf = d.format("%Y-%m-%d").to_string();
            ColumnValue::DateTime(buf)
        }
        (Value::DateTime(d), ColumnType::DateTime) => {
            *buf = d.format("%Y-%m-%dT%H:%M:%S").to_string();
            ColumnValue::DateTime(buf)
        }
        (Value::Text(s), _) => ColumnValue::String(s),
        (other, _) => {
            *buf = other.to_string();
            ColumnValue::String(buf)
        }
    })
}

/// The layer's geometry type: the single type when all agree, the multi type when singles and
/// multis of one family mix (promoted on write), `Unknown` for mixed families.
fn layer_geometry_type<'a>(geoms: impl Iterator<Item = &'a Geometry<f64>>) -> GeometryType {
    let mut t: Option<GeometryType> = None;
    for g in geoms {
        let gt = match g {
            Geometry::Point(_) => GeometryType::Point,
            Geometry::MultiPoint(_) => GeometryType::MultiPoint,
            Geometry::LineString(_) | Geometry::Line(_) => GeometryType::LineString,
            Geometry::MultiLineString(_) => GeometryType::MultiLineString,
            Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => {
                GeometryType::Polygon
            }
            Geometry::MultiPolygon(_) => GeometryType::MultiPolygon,
            Geometry::GeometryCollection(_) => GeometryType::GeometryCollection,
        };
        t = Some(match (t, gt) {
            (None, gt) => gt,
            (Some(a), b) if a == b => a,
            (Some(GeometryType::Point), GeometryType::MultiPoint)
            | (Some(GeometryType::MultiPoint), GeometryType::Point) => GeometryType::MultiPoint,
            (Some(GeometryType::LineString), GeometryType::MultiLineString)
            | (Some(GeometryType::MultiLineString), GeometryType::LineString) => {
                GeometryType::MultiLineString
            }
            (Some(GeometryType::Polygon), GeometryType::MultiPolygon)
            | (Some(GeometryType::MultiPolygon), GeometryType::Polygon) => {
                GeometryType::MultiPolygon
            }
            _ => GeometryType::Unknown,
        });
    }
    t.unwrap_or(GeometryType::Unknown)
}

fn options(crs: &CrsRef) -> FgbWriterOptions<'_> {
    FgbWriterOptions {
        write_index: true,
        // The type is computed from all features (layer_geometry_type), not guessed from the first.
        detect_type: false,
        promote_to_multi: true,
        crs: match crs {
            CrsRef::Epsg(c) => FgbCrs {
                org: Some("EPSG"),
                code: *c as i32,
                ..Default::default()
            },
            // A WKT goes in as such; any other definition (IGNF:…, PROJ string) as a code string.
            CrsRef::Definition(d)
                if d.trim_start().starts_with(['P', 'G', 'C', 'B']) && d.contains('[') =>
            {
                FgbCrs {
                    wkt: Some(d),
                    ..Default::default()
                }
            }
            CrsRef::Definition(d) => FgbCrs {
                code_string: Some(d),
                ..Default::default()
            },
        },
        ..Default::default()
    }
}

/// Lets the FlatGeobuf writer read a geometry without cloning it.
struct GeomRef<'a>(&'a Geometry<f64>);

impl geozero::GeozeroGeometry for GeomRef<'_> {
    fn process_geom<P: geozero::GeomProcessor>(
        &self,
        processor: &mut P,
    ) -> geozero::error::Result<()> {
        geozero::geo_types::process_geom(self.0, processor)
    }
}

struct Table<'a> {
    names: Vec<String>,
    types: Vec<ColumnType>,
    rows: Vec<(&'a Geometry<f64>, Vec<Option<&'a Value>>)>,
}

fn write_table(
    path: &Path,
    layer_name: &str,
    table: Table<'_>,
    crs: &CrsRef,
) -> Result<(), BuildError> {
    let err = |e: &dyn std::fmt::Display| BuildError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let gtype = layer_geometry_type(table.rows.iter().map(|(g, _)| *g));
    let mut fgb =
        FgbWriter::create_with_options(layer_name, gtype, options(crs)).map_err(|e| err(&e))?;
    for (n, t) in table.names.iter().zip(&table.types) {
        fgb.add_column(n, *t, |_, c| c.nullable = true);
    }
    for (geom, values) in &table.rows {
        // The writer's callback cannot fail: keep the first property error to report it.
        let mut failed = None;
        fgb.add_feature_geom(GeomRef(geom), |fw| {
            use geozero::PropertyProcessor;
            for (i, v) in values.iter().enumerate() {
                let mut buf = String::new();
                if let Some(cv) = v.and_then(|v| column_value(v, table.types[i], &mut buf)) {
                    if let Err(e) = fw.property(i, &table.names[i], &cv) {
                        failed.get_or_insert(format!("field {}: {e}", table.names[i]));
                    }
                }
            }
        })
        .map_err(|e| err(&e))?;
        if let Some(e) = failed {
            return Err(err(&e));
        }
    }
    let tmp = path.with_extension("fgb.tmp");
    let file = File::create(&tmp).map_err(|e| err(&e))?;
    fgb.write(BufWriter::new(file)).map_err(|e| err(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(&e))?;
    Ok(())
}

/// Write one theme's features: schema fields, provenance fields, then the other source fields.
pub fn write_theme(
    path: &Path,
    theme: &Theme,
    features: &[Feature],
    crs: &CrsRef,
) -> Result<(), BuildError> {
    let mut names: Vec<String> = theme.schema().iter().map(|f| f.name.to_string()).collect();
    names.extend(PROVENANCE_FIELDS.iter().map(|s| s.to_string()));
    for f in features {
        for (n, _) in &f.attributes {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let types: Vec<ColumnType> = names
        .iter()
        .map(|n| {
            if PROVENANCE_FIELDS.contains(&n.as_str()) {
                return ColumnType::String;
            }
            column_type(
                theme.field(n).map(|f| f.kind),
                &mut features.iter().filter_map(|f| f.get(n)),
            )
        })
        .collect();
    let prov_values: Vec<[Value; 4]> = features
        .iter()
        .map(|f| f.provenance.values().map(|s| Value::Text(s.to_string())))
        .collect();
    let rows = features
        .iter()
        .zip(&prov_values)
        .map(|(f, pv)| {
            let vals = names
                .iter()
                .map(|n| match PROVENANCE_FIELDS.iter().position(|p| p == n) {
                    Some(i) => Some(&pv[i]),
                    None => f.get(n),
                })
                .collect();
            (&f.geometry, vals)
        })
        .collect();
    write_table(path, theme.name(), Table { names, types, rows }, crs)
}

/// Write the rejects: theme, reason, provenance, and the source attributes as JSON.
///
/// A reject may have no usable geometry at all, and FlatGeobuf readers (GDAL's included) do
/// not take features without one, so the rejects go to a GeoPackage, through GDAL: it stores
/// null geometries and opens in QGIS as is.
pub fn write_rejects(path: &Path, rejects: &[Reject], crs: &CrsRef) -> Result<(), BuildError> {
    use gdal::vector::{FieldDefn, LayerAccess, LayerOptions, ToGdal};
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
        let layer = ds
            .create_layer(LayerOptions {
                name: "rejects",
                srs: Some(&srs),
                ty: gdal_sys::OGRwkbGeometryType::wkbUnknown,
                options: None,
            })
            .map_err(|e| err(&e))?;
        let mut names = vec!["theme", "reason"];
        names.extend(PROVENANCE_FIELDS);
        names.push("attributes");
        for n in &names {
            FieldDefn::new(n, gdal_sys::OGRFieldType::OFTString)
                .and_then(|f| f.add_to_layer(&layer))
                .map_err(|e| err(&e))?;
        }
        for r in rejects {
            let attrs: serde_json::Map<String, serde_json::Value> = r
                .attributes
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_text()
                            .map(serde_json::Value::String)
                            .unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect();
            let attrs = serde_json::Value::Object(attrs).to_string();
            let mut values = vec![r.theme.as_str(), r.reason.as_str()];
            values.extend(r.provenance.values());
            values.push(&attrs);
            let mut f = gdal::vector::Feature::new(layer.defn()).map_err(|e| err(&e))?;
            for (i, v) in values.iter().enumerate() {
                f.set_field_string(i, v).map_err(|e| err(&e))?;
            }
            if let Some(g) = &r.geometry {
                // A geometry GDAL cannot take (NaN…) is dropped; the reason says why.
                if let Ok(gg) = g.to_gdal() {
                    let _ = f.set_geometry(gg);
                }
            }
            f.create(&layer).map_err(|e| err(&e))?;
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| err(&e))?;
    Ok(())
}
