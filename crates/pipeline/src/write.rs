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
pub(crate) fn layer_geometry_type<'a>(
    geoms: impl Iterator<Item = &'a Geometry<f64>>,
) -> GeometryType {
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

/// One row of a [`Table`]: its geometry (a reject may have none) and its values by column.
pub(crate) type Row<'a> = (Option<&'a Geometry<f64>>, Vec<Option<&'a Value>>);

/// A layer to write: column names and types, then the rows.
pub(crate) struct Table<'a> {
    pub names: Vec<String>,
    pub types: Vec<ColumnType>,
    pub rows: Vec<Row<'a>>,
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
    let gtype = layer_geometry_type(table.rows.iter().filter_map(|(g, _)| *g));
    let mut fgb =
        FgbWriter::create_with_options(layer_name, gtype, options(crs)).map_err(|e| err(&e))?;
    for (n, t) in table.names.iter().zip(&table.types) {
        fgb.add_column(n, *t, |_, c| c.nullable = true);
    }
    for (geom, values) in &table.rows {
        let Some(geom) = geom else {
            return Err(err(
                &"a feature without geometry cannot go into a FlatGeobuf layer",
            ));
        };
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
    write_table(
        path,
        theme.name(),
        theme_table(theme, features, &provenance_values(features)),
        crs,
    )
}

/// The provenance columns' values of each feature.
pub(crate) fn provenance_values(features: &[Feature]) -> Vec<[Value; 4]> {
    features
        .iter()
        .map(|f| f.provenance.values().map(|s| Value::Text(s.to_string())))
        .collect()
}

/// A theme's features as a table: schema fields, provenance fields, then the other fields.
pub(crate) fn theme_table<'a>(
    theme: &Theme,
    features: &'a [Feature],
    prov_values: &'a [[Value; 4]],
) -> Table<'a> {
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
    let rows = features
        .iter()
        .zip(prov_values)
        .map(|(f, pv)| {
            let vals = names
                .iter()
                .map(|n| match PROVENANCE_FIELDS.iter().position(|p| p == n) {
                    Some(i) => Some(&pv[i]),
                    None => f.get(n),
                })
                .collect();
            (Some(&f.geometry), vals)
        })
        .collect();
    Table { names, types, rows }
}

/// The rejects as a table: theme, reason, provenance, and the source attributes as JSON.
pub(crate) fn rejects_values(rejects: &[Reject]) -> Vec<Vec<Value>> {
    rejects
        .iter()
        .map(|r| {
            let attrs: serde_json::Map<String, serde_json::Value> = r
                .attributes
                .iter()
                .map(|(k, v)| {
                    let v = v.as_text().map(serde_json::Value::String);
                    (k.clone(), v.unwrap_or(serde_json::Value::Null))
                })
                .collect();
            let mut values = vec![Value::Text(r.theme.clone()), Value::Text(r.reason.clone())];
            values.extend(r.provenance.values().map(|s| Value::Text(s.to_string())));
            values.push(Value::Text(serde_json::Value::Object(attrs).to_string()));
            values
        })
        .collect()
}

pub(crate) fn rejects_table<'a>(rejects: &'a [Reject], values: &'a [Vec<Value>]) -> Table<'a> {
    let mut names = vec!["theme".to_string(), "reason".to_string()];
    names.extend(PROVENANCE_FIELDS.iter().map(|s| s.to_string()));
    names.push("attributes".into());
    let types = vec![ColumnType::String; names.len()];
    let rows = rejects
        .iter()
        .zip(values)
        .map(|(r, v)| (r.geometry.as_ref(), v.iter().map(Some).collect()))
        .collect();
    Table { names, types, rows }
}

/// Write the rejects to a GeoPackage of their own.
///
/// A reject may have no usable geometry at all, and FlatGeobuf readers (GDAL's included) do
/// not take features without one, so the rejects go to a GeoPackage, through GDAL: it stores
/// null geometries and opens in QGIS as is.
pub fn write_rejects(path: &Path, rejects: &[Reject], crs: &CrsRef) -> Result<(), BuildError> {
    let values = rejects_values(rejects);
    crate::gpkg::write_gpkg(
        path,
        vec![crate::gpkg::GpkgLayer::numbered(
            "rejects",
            rejects_table(rejects, &values),
        )],
        crs,
    )
}
