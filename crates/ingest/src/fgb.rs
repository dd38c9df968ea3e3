//! Native FlatGeobuf reader (the `flatgeobuf` crate, geometries through geozero).

use crate::{FieldInfo, IngestError, SourceFeature, SourceLayer};
use flatgeobuf::{FallibleStreamingIterator, FeatureProperties, FgbReader};
use geozero::{ColumnValue, PropertyProcessor, ToGeo};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use tuilerie_model::{CrsRef, Value};

pub(crate) fn read(path: &Path) -> Result<SourceLayer, IngestError> {
    let file = File::open(path).map_err(|e| IngestError::unreadable(path, e))?;
    let reader =
        FgbReader::open(BufReader::new(file)).map_err(|e| IngestError::unreadable(path, e))?;
    let header = reader.header();
    let name = header
        .name()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| crate::format::stem(path));
    let crs = header.crs().and_then(|c| {
        let org = c.org().unwrap_or("EPSG");
        if c.code() > 0 && org.eq_ignore_ascii_case("EPSG") {
            Some(CrsRef::Epsg(c.code() as u32))
        } else if let Some(wkt) = c.wkt().filter(|w| !w.is_empty()) {
            Some(CrsRef::Definition(wkt.to_string()))
        } else if c.code() > 0 {
            Some(CrsRef::Definition(format!("{org}:{}", c.code())))
        } else {
            c.code_string().map(CrsRef::parse)
        }
    });
    let fields = header
        .columns()
        .map(|cols| {
            cols.iter()
                .map(|c| FieldInfo {
                    name: c.name().to_string(),
                    kind: format!("{:?}", c.type_()),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut layer = SourceLayer::new(name, "FlatGeobuf");
    layer.crs = crs;
    layer.fields = fields;
    // 0 means "unknown" in a FlatGeobuf header (streamed writers).
    layer.declared_count = Some(header.features_count()).filter(|n| *n > 0);
    let mut iter = reader
        .select_all()
        .map_err(|e| IngestError::unreadable(path, e))?;
    let mut index = 0u64;
    loop {
        let feature = match iter.next() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                // A corrupt feature ends the stream: the layer reports the shortfall.
                layer.read_error = Some(format!("unreadable feature {index}: {e}"));
                break;
            }
        };
        let mut props = Props(Vec::new());
        let attr_result = feature.process_properties(&mut props);
        let mut geometry = feature
            .to_geo()
            .map_err(|e| format!("unreadable geometry: {e}"));
        if let Err(e) = attr_result {
            geometry = Err(format!("unreadable attributes: {e}"));
        }
        layer.features.push(SourceFeature {
            index,
            id: None,
            geometry,
            repairs: Vec::new(),
            notes: Vec::new(),
            attributes: props.0,
        });
        index += 1;
    }
    Ok(layer)
}

struct Props(Vec<(String, Value)>);

impl PropertyProcessor for Props {
    fn property(
        &mut self,
        _idx: usize,
        name: &str,
        value: &ColumnValue,
    ) -> geozero::error::Result<bool> {
        let v = match value {
            ColumnValue::Byte(v) => Value::Int(i64::from(*v)),
            ColumnValue::UByte(v) => Value::Int(i64::from(*v)),
            ColumnValue::Bool(v) => Value::Bool(*v),
            ColumnValue::Short(v) => Value::Int(i64::from(*v)),
            ColumnValue::UShort(v) => Value::Int(i64::from(*v)),
            ColumnValue::Int(v) => Value::Int(i64::from(*v)),
            ColumnValue::UInt(v) => Value::Int(i64::from(*v)),
            ColumnValue::Long(v) => Value::Int(*v),
            ColumnValue::ULong(v) => i64::try_from(*v)
                .map(Value::Int)
                .unwrap_or(Value::Real(*v as f64)),
            ColumnValue::Float(v) => Value::Real(f64::from(*v)),
            ColumnValue::Double(v) => Value::Real(*v),
            ColumnValue::String(s) | ColumnValue::Json(s) => Value::Text(s.to_string()),
            ColumnValue::DateTime(s) => parse_datetime(s),
            ColumnValue::Binary(b) => Value::Text(b.iter().map(|x| format!("{x:02x}")).collect()),
        };
        self.0.push((name.to_string(), v));
        Ok(false)
    }
}

fn parse_datetime(s: &str) -> Value {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Value::Date(d);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Value::DateTime(dt.naive_utc());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Value::DateTime(dt);
    }
    Value::Text(s.to_string())
}
