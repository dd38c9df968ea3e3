//! Map a source feature's fields onto its theme's schema.
//!
//! Rules, in order:
//! 1. an explicit manifest mapping `SOURCE = "target"` (source name matched exactly, else
//!    ignoring case, since DBF upper-cases names);
//! 2. else a source field whose lower-cased name is a target field's name (Etalab exports
//!    already use the target names);
//! 3. every other source field is kept under its own name, unless the delivery says
//!    `drop_unmapped` or lists it in `drop`.
//!
//! A value that cannot be converted to the target type is not lost: the target gets null and
//! the original is kept under its source name, with a warning.

use crate::FieldInfo;
use std::collections::HashMap;
use tuilerie_model::cadastre::complete_parcel;
use tuilerie_model::{Delivery, FieldKind, Theme, Value, PROVENANCE_FIELDS};

/// How one layer's fields map onto the theme (built once per layer).
#[derive(Debug, Clone)]
pub struct MappingPlan {
    theme: Theme,
    /// (target name, kind, source name): every schema field, in schema order.
    targets: Vec<(String, FieldKind, Option<String>)>,
    /// (source name, output name): source fields kept besides the targets.
    extras: Vec<(String, String)>,
}

fn find_field<'a>(fields: &'a [FieldInfo], name: &str) -> Option<&'a FieldInfo> {
    fields
        .iter()
        .find(|f| f.name == name)
        .or_else(|| fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)))
}

impl MappingPlan {
    /// Plan the mapping of a layer with `fields`. Fails, naming each, when the manifest maps
    /// from fields the layer does not have.
    pub fn new(delivery: &Delivery, fields: &[FieldInfo]) -> Result<MappingPlan, Vec<String>> {
        let theme = delivery.theme.clone();
        let mut problems = Vec::new();
        let mut used: Vec<String> = Vec::new();
        let mut by_target: HashMap<&str, String> = HashMap::new();
        for (src, dst) in &delivery.mapping {
            match find_field(fields, src) {
                Some(f) => {
                    by_target.insert(dst.as_str(), f.name.clone());
                    used.push(f.name.clone());
                }
                None => problems.push(format!(
                    "mapping from field {src:?}, which the layer does not have (fields: {})",
                    fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut targets = Vec::new();
        for spec in theme.schema() {
            let src = by_target.get(spec.name).cloned().or_else(|| {
                fields
                    .iter()
                    .find(|f| f.name.to_lowercase() == spec.name && !used.contains(&f.name))
                    .map(|f| f.name.clone())
            });
            if let Some(s) = &src {
                used.push(s.clone());
            }
            targets.push((spec.name.to_string(), spec.kind, src));
        }
        let mut extras = Vec::new();
        for f in fields {
            let renamed = if theme.schema().is_empty() {
                delivery
                    .mapping
                    .iter()
                    .find(|(s, _)| s.eq_ignore_ascii_case(&f.name))
                    .map(|(_, d)| d.clone())
            } else {
                None
            };
            if used.contains(&f.name) && renamed.is_none() {
                continue;
            }
            if delivery
                .drop
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&f.name))
                || (delivery.drop_unmapped && renamed.is_none())
            {
                continue;
            }
            let mut out = renamed.unwrap_or_else(|| f.name.clone());
            // Never shadow a schema or provenance column.
            while theme.field(&out).is_some()
                || PROVENANCE_FIELDS.contains(&out.as_str())
                || extras.iter().any(|(_, o)| o == &out)
            {
                out.push_str("_src");
            }
            extras.push((f.name.clone(), out));
        }
        Ok(MappingPlan {
            theme,
            targets,
            extras,
        })
    }

    /// Map one feature's attributes. `insee` is the delivering commune (used to complete
    /// parcel ids). Returns the attributes and the warnings, each naming the field.
    pub fn apply(
        &self,
        attributes: &[(String, Value)],
        insee: &str,
    ) -> (Vec<(String, Value)>, Vec<String>) {
        let get = |name: &str| attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let mut out = Vec::with_capacity(self.targets.len() + self.extras.len());
        let mut warnings = Vec::new();
        let mut keep_original = Vec::new();
        for (target, kind, src) in &self.targets {
            let v = match src.as_deref().and_then(get) {
                None => Value::Null,
                Some(v) => match v.coerce(*kind) {
                    Ok(v) => v,
                    Err(e) => {
                        let s = src.clone().unwrap_or_default();
                        warnings.push(format!(
                            "field {s} → {target}: {e}; kept the original under {s}"
                        ));
                        keep_original.push(s);
                        Value::Null
                    }
                },
            };
            out.push((target.clone(), v));
        }
        for (src, name) in &self.extras {
            out.push((name.clone(), get(src).cloned().unwrap_or(Value::Null)));
        }
        for s in keep_original {
            if !self.extras.iter().any(|(src, _)| src == &s) {
                let mut name = s.clone();
                while out.iter().any(|(n, _)| n == &name) {
                    name.push_str("_src");
                }
                out.push((name, get(&s).cloned().unwrap_or(Value::Null)));
            }
        }
        if self.theme == Theme::Parcelles {
            if let Some(w) = complete_parcel(&mut out, insee) {
                warnings.push(w);
            }
        }
        (out, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn delivery(mapping: &[(&str, &str)]) -> Delivery {
        Delivery {
            location: "test".into(),
            path: "x.shp".into(),
            theme: Theme::Parcelles,
            layer: None,
            crs: None,
            mapping: mapping
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>(),
            drop_unmapped: false,
            drop: vec![],
            accept_outside: false,
        }
    }

    fn fields(names: &[&str]) -> Vec<FieldInfo> {
        names
            .iter()
            .map(|n| FieldInfo {
                name: n.to_string(),
                kind: "String".into(),
            })
            .collect()
    }

    #[test]
    fn maps_explicitly_and_by_name_and_keeps_the_rest() {
        let plan = MappingPlan::new(
            &delivery(&[("idu", "id"), ("surface_m2", "contenance")]),
            &fields(&["IDU", "Section", "surface_m2", "NATURE"]),
        )
        .unwrap();
        let (attrs, warnings) = plan.apply(
            &[
                ("IDU".into(), Value::Text("91326000AB0237".into())),
                ("Section".into(), Value::Text("AB".into())),
                ("surface_m2".into(), Value::Text("n/a".into())),
                ("NATURE".into(), Value::Text("Parcelle".into())),
            ],
            "91326",
        );
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("id"), Some(Value::Text("91326000AB0237".into())));
        assert_eq!(get("section"), Some(Value::Text("AB".into())));
        assert_eq!(get("numero"), Some(Value::Text("0237".into())));
        assert_eq!(get("contenance"), Some(Value::Null));
        assert_eq!(
            get("surface_m2"),
            Some(Value::Text("n/a".into())),
            "unconvertible value kept"
        );
        assert_eq!(get("NATURE"), Some(Value::Text("Parcelle".into())));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("surface_m2"));
    }

    #[test]
    fn mapping_from_an_absent_field_is_named() {
        let err = MappingPlan::new(&delivery(&[("IDPAR", "id")]), &fields(&["IDU"])).unwrap_err();
        assert!(err[0].contains("\"IDPAR\""), "{err:?}");
    }
}
