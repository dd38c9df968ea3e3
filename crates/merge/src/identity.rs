//! Commune-nouvelle identity: which former commune (commune déléguée) a feature belongs to,
//! and cadastral ids renumbered by the rule that follows a merger (domain.md §2): the commune
//! code becomes the kept INSEE code and the préfixe the absorbed commune's last three digits
//! (`000` for the commune whose code is kept). The id as delivered goes to `id_source`.

use geo::{Contains, InteriorPoint, MultiPolygon};
use std::collections::BTreeMap;
use tuilerie_model::{Feature, Manifest, Value};

/// The former commune a feature belongs to: the commune its cadastral id names (when it is
/// one of the merger's), else the outline holding its interior point, else the commune that
/// delivered it. A parcel's id beats its delivery: Juvisy's delivery repeats Athis-Mons parcels.
pub fn deleguee(
    f: &Feature,
    manifest: &Manifest,
    outlines: &BTreeMap<String, MultiPolygon<f64>>,
) -> String {
    let declared = |code: &str| manifest.commune(code).is_some();
    for field in ["id", "commune"] {
        if let Some(Value::Text(t)) = f.get(field) {
            let code = t.get(..5).unwrap_or("");
            let parcel_like = field == "commune" || t.len() == 14;
            if parcel_like && declared(code) {
                return code.to_string();
            }
        }
    }
    if !outlines.is_empty() {
        if let Some(p) = f.geometry.interior_point() {
            let mut holding = outlines
                .iter()
                .filter(|(_, o)| o.contains(&p))
                .map(|(k, _)| k);
            if let Some(code) = holding.next() {
                return code.clone();
            }
        }
    }
    f.provenance.commune.clone()
}

/// What renumbering did to a feature, if anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Renumbered {
    Unchanged,
    Changed {
        from: String,
        to: String,
    },
    /// The id already carries a non-`000` préfixe in an absorbed commune (an earlier merger
    /// or an arrondissement): left as delivered, reported.
    KeptPrefix {
        id: String,
    },
}

fn last3(insee: &str) -> &str {
    insee.get(2..5).unwrap_or("000")
}

/// The renumbered form of a 14-character parcel id, an 8-character EDIGEO section id
/// (`ccc` + préfixe + section) or a 12-character EDIGEO parcel id.
pub fn renumber_id(id: &str, deleguee: &str, kept: &str) -> Renumbered {
    if !id.is_ascii() {
        return Renumbered::Unchanged;
    }
    let (head, pre, rest) = match id.len() {
        14 => (kept.to_string(), &id[5..8], &id[8..]),
        12 => (last3(kept).to_string(), &id[3..6], &id[6..]),
        8 => (last3(kept).to_string(), &id[3..6], &id[6..]),
        _ => return Renumbered::Unchanged,
    };
    let new_pre = if deleguee == kept {
        pre.to_string()
    } else if pre == "000" {
        last3(deleguee).to_string()
    } else if pre == last3(deleguee) {
        pre.to_string()
    } else {
        return Renumbered::KeptPrefix { id: id.to_string() };
    };
    let to = format!("{head}{new_pre}{rest}");
    if to == id {
        Renumbered::Unchanged
    } else {
        Renumbered::Changed {
            from: id.to_string(),
            to,
        }
    }
}

/// Renumber a feature's cadastral id (`id` for parcels, EDIGEO's `IDU`) and its `commune` /
/// `prefixe` fields. Returns a warning when an id was left as delivered.
pub fn renumber(f: &mut Feature, deleguee: &str, kept: &str, key: Option<&str>) -> Option<String> {
    let field = key.filter(|k| *k == "id" || *k == "IDU")?;
    let Some(Value::Text(id)) = f.get(field).cloned() else {
        return None;
    };
    match renumber_id(&id, deleguee, kept) {
        Renumbered::Unchanged => None,
        Renumbered::Changed { from, to } => {
            if to.len() == 14 {
                f.set("commune", Value::Text(to[..5].to_string()));
                f.set("prefixe", Value::Text(to[5..8].to_string()));
            }
            f.set(field, Value::Text(to));
            f.set(crate::ID_SOURCE_FIELD, Value::Text(from));
            None
        }
        Renumbered::KeptPrefix { id } => Some(format!(
            "{}: id {id} already has a préfixe other than 000 in absorbed commune {deleguee}; left as delivered",
            crate::decision::locator(&f.provenance)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_merger_rule() {
        // Kept commune: unchanged.
        assert_eq!(
            renumber_id("91027000AB0012", "91027", "91027"),
            Renumbered::Unchanged
        );
        assert_eq!(
            renumber_id("91326000AB0012", "91326", "91027"),
            Renumbered::Changed {
                from: "91326000AB0012".into(),
                to: "91027326AB0012".into()
            }
        );
        // EDIGEO section id: commune (3) + préfixe + section.
        assert_eq!(
            renumber_id("326000AB", "91326", "91027"),
            Renumbered::Changed {
                from: "326000AB".into(),
                to: "027326AB".into()
            }
        );
        // An id that already carries another préfixe is not rewritten silently.
        assert!(matches!(
            renumber_id("91326123AB0012", "91326", "91027"),
            Renumbered::KeptPrefix { .. }
        ));
    }
}
