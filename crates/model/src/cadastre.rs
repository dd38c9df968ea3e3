//! French cadastre identifier rules.
//!
//! A parcel id has 14 characters: INSEE commune (5) + préfixe (3) + section (2, left-padded
//! with `0`) + numéro (4, zero-padded). EDIGEO's `IDU` drops the département (12 characters).
//! Deliveries often carry only some of the parts; [`complete_parcel`] rebuilds the others so
//! that every parcel leaves ingest with a full, consistent id.

use crate::feature::{get, set};
use crate::Value;

/// Left-pad a section code to two characters (`A` → `0A`).
pub fn pad_section(section: &str) -> String {
    let s = section.trim().to_ascii_uppercase();
    format!("{s:0>2}")
}

/// Zero-pad a parcel number to four digits (`42` → `0042`).
pub fn pad_numero(numero: &str) -> String {
    let n = numero.trim();
    format!("{n:0>4}")
}

/// Fill in `id`, `commune`, `prefixe`, `section` and `numero` of a parcel from whichever of them
/// the delivery provides, for a parcel of commune `insee`.
///
/// Returns a warning when the parts disagree or the id cannot be built; the feature is then
/// left with what it has (never silently "fixed" into another parcel).
///
/// ```
/// use tuilerie_model::{cadastre::complete_parcel, feature::get, Value};
/// let mut attrs = vec![("id".to_string(), Value::Text("354000AB0001".into()))];
/// assert_eq!(complete_parcel(&mut attrs, "25354"), None);
/// assert_eq!(get(&attrs, "id"), Some(&Value::Text("25354000AB0001".into())));
/// assert_eq!(get(&attrs, "section"), Some(&Value::Text("AB".into())));
/// assert_eq!(get(&attrs, "numero"), Some(&Value::Text("0001".into())));
/// ```
pub fn complete_parcel(attributes: &mut Vec<(String, Value)>, insee: &str) -> Option<String> {
    let text = |a: &[(String, Value)], k: &str| {
        get(a, k)
            .and_then(Value::as_text)
            .map(|s| s.trim().to_string())
    };
    if insee.len() != 5 || !insee.is_ascii() {
        return Some(format!(
            "commune code {insee:?} is not a 5-character INSEE code"
        ));
    }
    let mut id = text(attributes, "id").filter(|s| !s.is_empty());
    // EDIGEO IDU: 12 characters without the département.
    if let Some(i) = &id {
        if i.len() == 12 && i.is_ascii() {
            id = Some(format!("{}{}", &insee[..2], i));
        }
    }
    let section = text(attributes, "section").filter(|s| !s.is_empty());
    let numero = text(attributes, "numero").filter(|s| !s.is_empty());
    let prefixe = text(attributes, "prefixe").filter(|s| !s.is_empty());

    let built = match (&id, &section, &numero) {
        (Some(i), _, _) => i.clone(),
        (None, Some(s), Some(n)) => format!(
            "{insee}{}{}{}",
            prefixe.clone().unwrap_or_else(|| "000".into()),
            pad_section(s),
            pad_numero(n)
        ),
        _ => return Some("no parcel id and no section + numéro to build one from".into()),
    };
    if built.len() != 14 || !built.is_ascii() {
        return Some(format!(
            "parcel id {built:?} is not 14 characters (INSEE + préfixe + section + numéro)"
        ));
    }
    let (commune, pre, sec, num) = (&built[..5], &built[5..8], &built[8..10], &built[10..14]);
    let mut warnings: Vec<String> = Vec::new();
    if let Some(p) = &prefixe {
        if format!("{p:0>3}") != pre {
            warnings.push(format!(
                "préfixe {p:?} disagrees with parcel id {built}; kept the id's"
            ));
        }
    }
    let declared_commune = text(attributes, "commune").filter(|s| !s.is_empty());
    if let Some(c) = &declared_commune {
        if c != commune {
            warnings.push(format!("commune {c:?} disagrees with parcel id {built}"));
        }
    }
    if let Some(s) = &section {
        if pad_section(s) != sec {
            warnings.push(format!("section {s:?} disagrees with parcel id {built}"));
        }
    }
    if let Some(n) = &numero {
        if pad_numero(n) != num {
            warnings.push(format!("numéro {n:?} disagrees with parcel id {built}"));
        }
    }
    set(attributes, "id", Value::Text(built.clone()));
    if declared_commune.is_none() {
        set(attributes, "commune", Value::Text(commune.to_string()));
    }
    set(attributes, "prefixe", Value::Text(pre.to_string()));
    set(attributes, "section", Value::Text(sec.to_string()));
    set(attributes, "numero", Value::Text(num.to_string()));
    (!warnings.is_empty()).then(|| warnings.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel(attrs: &[(&str, &str)]) -> Vec<(String, Value)> {
        attrs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Text(v.to_string())))
            .collect()
    }

    #[test]
    fn builds_id_from_section_and_numero() {
        let mut f = parcel(&[("section", "G"), ("numero", "431")]);
        assert_eq!(complete_parcel(&mut f, "91432"), None);
        assert_eq!(
            get(&f, "id").and_then(Value::as_text).as_deref(),
            Some("914320000G0431")
        );
        assert_eq!(
            get(&f, "commune").and_then(Value::as_text).as_deref(),
            Some("91432")
        );
    }

    #[test]
    fn flags_disagreeing_parts() {
        let mut f = parcel(&[
            ("id", "91326000AB0237"),
            ("section", "AC"),
            ("numero", "237"),
        ]);
        assert!(complete_parcel(&mut f, "91326")
            .unwrap()
            .contains("section"));
    }

    #[test]
    fn reports_every_disagreement() {
        let mut f = parcel(&[
            ("id", "91326000AB0237"),
            ("section", "AC"),
            ("numero", "12"),
        ]);
        let w = complete_parcel(&mut f, "91326").unwrap();
        assert!(w.contains("section") && w.contains("numéro"), "{w}");
    }

    #[test]
    fn flags_disagreeing_prefixe_and_commune() {
        let mut f = parcel(&[("id", "91326000AB0237"), ("prefixe", "326")]);
        assert!(complete_parcel(&mut f, "91326")
            .unwrap()
            .contains("préfixe"));
        let mut f = parcel(&[("id", "91326000AB0237"), ("commune", "91027")]);
        assert!(complete_parcel(&mut f, "91326")
            .unwrap()
            .contains("commune"));
        let mut f = parcel(&[("id", "91326000AB0237")]);
        assert!(
            complete_parcel(&mut f, "9132é").is_some(),
            "non-ASCII code: a warning, not a panic"
        );
    }

    #[test]
    fn rejects_malformed_id() {
        let mut f = parcel(&[("id", "123")]);
        assert!(complete_parcel(&mut f, "91326").is_some());
        let mut f = parcel(&[]);
        assert!(complete_parcel(&mut f, "91326").is_some());
    }
}
