//! Commune-nouvelle identity: which former commune (commune déléguée) a feature belongs to,
//! and cadastral ids renumbered by the rule that follows a merger (domain.md §2): the commune
//! code becomes the kept INSEE code and the préfixe the absorbed commune's last three digits
//! (`000` for the commune whose code is kept). The id as delivered goes to `id_source`.
//!
//! Ids are read, never guessed: a parcel of a commune outside the merger (deliveries carry a
//! survey margin) keeps its id and is reported; an id already in the merged form is recognised
//! by its préfixe.

use geo::{BoundingRect, Contains, InteriorPoint, MultiPolygon, Rect};
use std::borrow::Cow;
use std::collections::BTreeMap;
use tuilerie_model::manifest::is_insee;
use tuilerie_model::{Feature, Manifest, Theme, Value};

/// The last three digits of an INSEE code: the préfixe of an absorbed commune's parcels, and
/// the commune part of an EDIGEO id.
fn last3(insee: &str) -> &str {
    insee.get(2..5).unwrap_or("000")
}

/// A 14-character parcel id split into (commune, préfixe, section + numéro).
fn parcel_parts(id: &str) -> Option<(&str, &str, &str)> {
    if id.len() != 14 || !id.is_ascii() || !is_insee(&id[..5]) {
        return None;
    }
    Some((&id[..5], &id[5..8], &id[8..]))
}

/// An EDIGEO id (`IDU`: 8 characters for a section, 12 for a parcel) split into (the
/// commune's last three digits, préfixe, the rest).
fn edigeo_parts(idu: &str) -> Option<(&str, &str, &str)> {
    let ok = (idu.len() == 8 || idu.len() == 12)
        && idu.is_ascii()
        && idu[..3].chars().all(|c| c.is_ascii_digit());
    ok.then(|| (&idu[..3], &idu[3..6], &idu[6..]))
}

/// The member commune whose parcels carry this préfixe in the commune nouvelle, if any.
fn member_by_prefix<'a>(manifest: &'a Manifest, prefix: &str) -> Option<&'a str> {
    manifest
        .communes
        .iter()
        .map(|c| c.insee.as_str())
        .find(|c| *c != manifest.insee && last3(c) == prefix)
}

/// A cadastral key in its pre-merger form, so that a copy delivered before the merger and one
/// delivered after it (`91326000AB0012` and `91027326AB0012`; EDIGEO `326000AB` and
/// `027326AB`) compare equal. Other keys as they are.
pub fn canonical_key<'a>(
    theme: &Theme,
    field: &str,
    key: &'a str,
    manifest: &Manifest,
) -> Cow<'a, str> {
    let kept = manifest.insee.as_str();
    let which = renumbered_field(theme, Some(field)).filter(|f| *f == field);
    match (which, parcel_parts(key), edigeo_parts(key)) {
        (Some("id"), Some((code, prefix, rest)), _) if code == kept && prefix != "000" => {
            match member_by_prefix(manifest, prefix) {
                Some(m) => Cow::Owned(format!("{m}000{rest}")),
                None => Cow::Borrowed(key),
            }
        }
        (Some("IDU"), _, Some((code, prefix, rest))) if code == last3(kept) && prefix != "000" => {
            match member_by_prefix(manifest, prefix) {
                Some(m) => Cow::Owned(format!("{}000{rest}", last3(m))),
                None => Cow::Borrowed(key),
            }
        }
        _ => Cow::Borrowed(key),
    }
}

/// A former commune's outline with its envelope, computed once.
pub struct Outline<'a> {
    pub code: &'a str,
    pub shape: &'a MultiPolygon<f64>,
    pub bbox: Rect<f64>,
}

/// The outlines with their envelopes.
pub fn prepare_outlines(outlines: &BTreeMap<String, MultiPolygon<f64>>) -> Vec<Outline<'_>> {
    outlines
        .iter()
        .filter_map(|(code, shape)| {
            Some(Outline {
                code,
                shape,
                bbox: shape.bounding_rect()?,
            })
        })
        .collect()
}

/// The former commune a feature belongs to. A cadastral id beats everything (Juvisy's delivery
/// repeats Athis-Mons parcels): a parcel's id names its commune — a member, one outside the
/// merger (returned as is: the caller reports it), or the kept code with an absorbed commune's
/// préfixe; an EDIGEO `IDU` names it by its last three digits (or by its préfixe, once
/// merged). Else the `commune` field when it names a member, the outline holding the
/// feature's interior point, the commune that delivered it.
pub fn deleguee(
    f: &Feature,
    theme: &Theme,
    manifest: &Manifest,
    outlines: &[Outline<'_>],
) -> String {
    let kept = manifest.insee.as_str();
    let field = renumbered_field(theme, Some("IDU"));
    if field == Some("id") {
        if let Some(Value::Text(id)) = f.get("id") {
            if let Some((code, prefix, _)) = parcel_parts(id) {
                if code == kept && prefix != "000" {
                    if let Some(m) = member_by_prefix(manifest, prefix) {
                        return m.to_string();
                    }
                }
                return code.to_string();
            }
        }
    }
    if field == Some("IDU") {
        if let Some((code, prefix, _)) = f.get("IDU").and_then(|v| match v {
            Value::Text(t) => edigeo_parts(t),
            _ => None,
        }) {
            if code == last3(kept) && prefix != "000" {
                if let Some(m) = member_by_prefix(manifest, prefix) {
                    return m.to_string();
                }
            }
            let mut by_digits = manifest.communes.iter().filter(|c| last3(&c.insee) == code);
            if let (Some(c), None) = (by_digits.next(), by_digits.next()) {
                return c.insee.clone();
            }
        }
    }
    if let Some(Value::Text(code)) = f.get("commune") {
        if manifest.is_member(code) {
            return code.clone();
        }
    }
    if let Some(p) = f.geometry.interior_point() {
        let holding = outlines
            .iter()
            .find(|o| geo::Intersects::intersects(&o.bbox, &p) && o.shape.contains(&p));
        if let Some(o) = holding {
            return o.code.to_string();
        }
    }
    f.provenance.commune.clone()
}

/// What renumbering does to an id.
#[derive(Debug, Clone, PartialEq)]
pub enum Renumbered {
    Unchanged,
    Changed {
        from: String,
        to: String,
    },
    /// Left as delivered, with the reason.
    Kept(String),
}

/// The renumbered form of a 14-character parcel id, an 8-character EDIGEO section id
/// (`ccc` + préfixe + section) or a 12-character EDIGEO parcel id, for a feature of commune
/// déléguée `deleguee` (a member of the merger) in a commune nouvelle keeping code `kept`.
pub fn renumber_id(id: &str, deleguee: &str, kept: &str) -> Renumbered {
    if !id.is_ascii() {
        return Renumbered::Unchanged;
    }
    let (code, head, pre, rest) = match id.len() {
        14 => (&id[..5], kept, &id[5..8], &id[8..]),
        8 | 12 => (&id[..3], last3(kept), &id[3..6], &id[6..]),
        _ => return Renumbered::Unchanged,
    };
    let own_code = if id.len() == 14 {
        deleguee
    } else {
        last3(deleguee)
    };
    if code == head && pre == last3(deleguee) {
        // Already in the merged form.
        return Renumbered::Unchanged;
    }
    if code != own_code {
        return Renumbered::Kept(format!("id {id} does not name commune {deleguee}"));
    }
    let new_pre = if deleguee == kept || pre == last3(deleguee) {
        pre.to_string()
    } else if pre == "000" {
        last3(deleguee).to_string()
    } else {
        return Renumbered::Kept(format!(
            "id {id} already has a préfixe other than 000 in absorbed commune {deleguee}"
        ));
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

/// The field renumbering applies to in a theme: parcels' `id`, EDIGEO's `IDU` (sections and
/// other cadastral objects read as custom themes). Never a network's or a building's id.
pub fn renumbered_field(theme: &Theme, key: Option<&str>) -> Option<&'static str> {
    match (theme, key) {
        (Theme::Parcelles, _) => Some("id"),
        (Theme::Custom(_), Some("IDU")) => Some("IDU"),
        _ => None,
    }
}

/// Renumber a feature's cadastral id and its `commune` / `prefixe` fields. Returns a warning
/// when the id was left as delivered.
pub fn renumber(
    f: &mut Feature,
    field: &str,
    deleguee: &str,
    manifest: &Manifest,
) -> Option<String> {
    let Some(Value::Text(id)) = f.get(field).cloned() else {
        return None;
    };
    let why = if !manifest.is_member(deleguee) {
        format!("id {id} belongs to commune {deleguee}, outside the merger")
    } else {
        match renumber_id(&id, deleguee, &manifest.insee) {
            Renumbered::Unchanged => return None,
            Renumbered::Changed { from, to } => {
                if to.len() == 14 {
                    f.set("commune", Value::Text(to[..5].to_string()));
                    f.set("prefixe", Value::Text(to[5..8].to_string()));
                }
                f.set(field, Value::Text(to));
                f.set(crate::ID_SOURCE_FIELD, Value::Text(from));
                return None;
            }
            Renumbered::Kept(why) => why,
        }
    };
    Some(format!(
        "{}: {why}; left as delivered",
        crate::decision::locator(&f.provenance)
    ))
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
            Renumbered::Kept(_)
        ));
        // Nor one that names another commune than the one it was assigned to.
        assert!(matches!(
            renumber_id("91687000AB0012", "91326", "91027"),
            Renumbered::Kept(_)
        ));
        assert!(matches!(
            renumber_id("027000AB", "91326", "91027"),
            Renumbered::Kept(_)
        ));
        // Already merged: unchanged.
        assert_eq!(
            renumber_id("91027326AB0012", "91326", "91027"),
            Renumbered::Unchanged
        );
    }
}
