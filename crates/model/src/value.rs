//! Typed attribute values.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One attribute value, typed the way GIS formats type them.
///
/// Sources disagree on types (a parcel number is an integer in one delivery and text in the
/// next), so values keep their source type until they are mapped into a theme's schema with
/// [`Value::coerce`].
///
/// Serialized as `{"type": "int", "value": 3}` in human-readable formats (JSON), and as a
/// plain enum in binary ones (the build's caches): a tagged `null` has no `value`, which
/// formats without field names cannot read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

/// The human-readable form.
#[derive(Serialize, Deserialize)]
#[serde(
    remote = "Value",
    tag = "type",
    content = "value",
    rename_all = "lowercase"
)]
enum Tagged {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

/// The binary form.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Value")]
enum Plain {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            Tagged::serialize(self, s)
        } else {
            Plain::serialize(self, s)
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        if d.is_human_readable() {
            Tagged::deserialize(d)
        } else {
            Plain::deserialize(d)
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as text, as a GIS expert would read it in an attribute table.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Text(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// Convert to the schema's kind, or explain why it cannot be done.
    ///
    /// ```
    /// use tuilerie_model::{Value, FieldKind};
    /// assert_eq!(Value::Text(" 0042 ".into()).coerce(FieldKind::Int), Ok(Value::Int(42)));
    /// assert_eq!(Value::Int(20230331).coerce(FieldKind::Date).unwrap().to_string(), "2023-03-31");
    /// assert!(Value::Text("abc".into()).coerce(FieldKind::Int).is_err());
    /// ```
    pub fn coerce(&self, kind: crate::FieldKind) -> Result<Value, String> {
        use crate::FieldKind as K;
        let fail = || Err(format!("cannot read {self:?} as {kind}"));
        Ok(match (self, kind) {
            (Value::Null, _) => Value::Null,
            (Value::Text(s), _) if s.trim().is_empty() && kind != K::Text => Value::Null,
            (v, K::Text) => Value::Text(v.as_text().unwrap_or_default()),
            (Value::Int(i), K::Int) => Value::Int(*i),
            (Value::Real(r), K::Int) if r.fract() == 0.0 && r.abs() < 9.0e15 => {
                Value::Int(*r as i64)
            }
            (Value::Bool(b), K::Int) => Value::Int(i64::from(*b)),
            (Value::Text(s), K::Int) => match s.trim().parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => return fail(),
            },
            (Value::Int(i), K::Real) => Value::Real(*i as f64),
            (Value::Real(r), K::Real) => Value::Real(*r),
            (Value::Text(s), K::Real) => match s.trim().replace(',', ".").parse::<f64>() {
                Ok(r) if r.is_finite() => Value::Real(r),
                _ => return fail(),
            },
            (Value::Bool(b), K::Bool) => Value::Bool(*b),
            (Value::Int(i), K::Bool) if *i == 0 || *i == 1 => Value::Bool(*i == 1),
            (Value::Text(s), K::Bool) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "t" | "yes" | "y" | "oui" | "o" | "vrai" => Value::Bool(true),
                "0" | "false" | "f" | "no" | "n" | "non" | "faux" => Value::Bool(false),
                _ => return fail(),
            },
            (Value::Date(d), K::Date) => Value::Date(*d),
            (Value::DateTime(d), K::Date) => Value::Date(d.date()),
            (Value::Int(i), K::Date) => match parse_date(&i.to_string()) {
                Some(d) => Value::Date(d),
                None => return fail(),
            },
            (Value::Text(s), K::Date) => match parse_date(s.trim()) {
                Some(d) => Value::Date(d),
                None => return fail(),
            },
            _ => return fail(),
        })
    }
}

/// Dates as French deliveries write them: ISO `2023-03-31`, EDIGEO `20230331`, GDAL's
/// `2023/03/31`, French `31/03/2023`, or a full ISO timestamp.
fn parse_date(s: &str) -> Option<NaiveDate> {
    for fmt in ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%d/%m/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    if s.len() > 10 {
        return s
            .get(..10)
            .and_then(|head| NaiveDate::parse_from_str(head, "%Y-%m-%d").ok());
    }
    None
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r}"),
            Value::Text(s) => f.write_str(s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(d) => write!(f, "{}", d.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

#[cfg(test)]
mod serde_tests {
    use super::Value;

    #[test]
    fn json_keeps_the_tagged_form() {
        let v = serde_json::to_string(&vec![Value::Int(3), Value::Null]).unwrap();
        assert_eq!(v, r#"[{"type":"int","value":3},{"type":"null"}]"#);
        let back: Vec<Value> = serde_json::from_str(&v).unwrap();
        assert_eq!(back, vec![Value::Int(3), Value::Null]);
    }
}
