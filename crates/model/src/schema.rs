//! Themes and their target schemas.
//!
//! Field names follow the public standards a French GIS team already knows: the Etalab
//! cadastre export for parcels and buildings, the RAEPA data model (COVADIS) for drinking-water
//! and sewer networks. Each delivery's fields are mapped onto these names by the manifest.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The type a target field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Int,
    Real,
    Bool,
    Date,
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldKind::Text => "text",
            FieldKind::Int => "integer",
            FieldKind::Real => "real",
            FieldKind::Bool => "boolean",
            FieldKind::Date => "date",
        })
    }
}

/// One field of a target schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub doc: &'static str,
}

const fn f(name: &'static str, kind: FieldKind, doc: &'static str) -> FieldSpec {
    FieldSpec { name, kind, doc }
}

use FieldKind::{Bool, Date, Int, Real, Text};

/// Etalab `cadastre-parcelles` (cadastre.data.gouv.fr).
const PARCELLES: &[FieldSpec] = &[
    f(
        "id",
        Text,
        "14-character parcel id: INSEE (5) + préfixe (3) + section (2) + numéro (4)",
    ),
    f(
        "commune",
        Text,
        "INSEE code of the commune the parcel belongs to",
    ),
    f(
        "prefixe",
        Text,
        "préfixe: 000, or the absorbed commune's last 3 digits",
    ),
    f(
        "section",
        Text,
        "cadastral section, 2 characters, left-padded with 0",
    ),
    f("numero", Text, "parcel number, 4 digits, zero-padded"),
    f(
        "contenance",
        Int,
        "fiscal area in m² (not a computed area; may be null)",
    ),
    f(
        "arpente",
        Bool,
        "whether the parcel was surveyed (arpentée)",
    ),
    f("created", Date, "creation date"),
    f("updated", Date, "last update date"),
];

/// Etalab `cadastre-batiments`.
const BATIMENTS: &[FieldSpec] = &[
    f("type", Text, "01 = bâti dur, 02 = bâti léger"),
    f("nom", Text, "name, when the building has one"),
    f("commune", Text, "INSEE code"),
    f("created", Date, "creation date"),
    f("updated", Date, "last update date"),
];

/// Road centrelines (BD TOPO / local voirie vocabularies).
const VOIRIE: &[FieldSpec] = &[
    f("id", Text, "source identifier of the section (tronçon)"),
    f("nom", Text, "street name"),
    f(
        "classe",
        Text,
        "road class or hierarchy (e.g. OSM highway, communal hierarchy)",
    ),
    f("sens", Text, "traffic direction (one-way, both ways)"),
    f(
        "domanialite",
        Text,
        "ownership: communale, départementale, nationale, privée",
    ),
    f("updated", Date, "last update date"),
];

/// RAEPA `CanalisationAEP` (drinking water).
const EAU_POTABLE: &[FieldSpec] = &[
    f("idcana", Text, "pipe identifier"),
    f("mouvrage", Text, "maître d'ouvrage"),
    f("gexploit", Text, "gestionnaire / exploitant"),
    f("enservice", Bool, "in service"),
    f(
        "branchemnt",
        Bool,
        "service connection (branchement) rather than main",
    ),
    f("materiau", Text, "material"),
    f("diametre", Int, "nominal diameter, mm"),
    f("anfinpose", Int, "year laid"),
    f("modecirc", Text, "flow mode: gravitaire, refoulement, …"),
    f("contcanaep", Text, "pipe category"),
    f("fonccanaep", Text, "pipe function"),
    f("datemaj", Date, "last update date"),
];

/// RAEPA `CanalisationAss` (sewer).
const ASSAINISSEMENT: &[FieldSpec] = &[
    f("idcana", Text, "pipe identifier"),
    f("mouvrage", Text, "maître d'ouvrage"),
    f("gexploit", Text, "gestionnaire / exploitant"),
    f("enservice", Bool, "in service"),
    f("branchemnt", Bool, "service connection rather than main"),
    f("materiau", Text, "material"),
    f("diametre", Int, "nominal diameter, mm"),
    f("anfinpose", Int, "year laid"),
    f("modecirc", Text, "flow mode"),
    f(
        "typreseau",
        Text,
        "network type: unitaire, eaux usées, eaux pluviales",
    ),
    f("contcanass", Text, "pipe category"),
    f("fonccanass", Text, "pipe function"),
    f("datemaj", Date, "last update date"),
];

/// Street-lighting supports.
const ECLAIRAGE: &[FieldSpec] = &[
    f("id", Text, "source identifier"),
    f("type", Text, "support or lantern type"),
    f("puissance", Real, "power, W"),
    f("hauteur", Real, "height, m"),
    f("miseservice", Date, "date put into service"),
    f("updated", Date, "last update date"),
];

/// Telecom cables and ducts.
const TELECOM: &[FieldSpec] = &[
    f("id", Text, "source identifier"),
    f("type", Text, "cable, duct, chamber…"),
    f("operateur", Text, "operator"),
    f("proprietaire", Text, "owner"),
    f("updated", Date, "last update date"),
];

/// What a theme's geometries are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeometryFamily {
    Point,
    Line,
    Polygon,
    /// Custom themes accept any geometry; the output layer is then of mixed type.
    Any,
}

impl fmt::Display for GeometryFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GeometryFamily::Point => "points",
            GeometryFamily::Line => "lines",
            GeometryFamily::Polygon => "polygons",
            GeometryFamily::Any => "any geometry",
        })
    }
}

/// A theme: one of the standard ones, or a custom name whose fields are kept as delivered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Theme {
    Parcelles,
    Batiments,
    Voirie,
    EauPotable,
    Assainissement,
    Eclairage,
    Telecom,
    Custom(String),
}

impl Theme {
    pub const STANDARD: [Theme; 7] = [
        Theme::Parcelles,
        Theme::Batiments,
        Theme::Voirie,
        Theme::EauPotable,
        Theme::Assainissement,
        Theme::Eclairage,
        Theme::Telecom,
    ];

    /// Parse a theme name. Custom names must be plain identifiers (they become file and
    /// layer names): lower-case ASCII letters, digits and `_`, starting with a letter.
    pub fn parse(name: &str) -> Result<Theme, String> {
        for t in Theme::STANDARD {
            if t.name() == name {
                return Ok(t);
            }
        }
        let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        // A custom name one or two letters away from a standard theme is a typo, not a theme.
        if let Some(t) = Theme::STANDARD
            .iter()
            .find(|t| edit_distance(t.name(), name) <= 2)
        {
            return Err(format!(
                "unknown theme {name:?}: did you mean {:?}?",
                t.name()
            ));
        }
        if ok && name != "rejects" {
            Ok(Theme::Custom(name.to_string()))
        } else {
            Err(format!(
                "unknown theme {name:?}: use one of {} or a custom name of lower-case letters, digits and _ (not \"rejects\")",
                Theme::STANDARD.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            ))
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Theme::Parcelles => "parcelles",
            Theme::Batiments => "batiments",
            Theme::Voirie => "voirie",
            Theme::EauPotable => "eau_potable",
            Theme::Assainissement => "assainissement",
            Theme::Eclairage => "eclairage",
            Theme::Telecom => "telecom",
            Theme::Custom(n) => n,
        }
    }

    /// The target schema; empty for a custom theme (its fields are kept as delivered).
    pub fn schema(&self) -> &'static [FieldSpec] {
        match self {
            Theme::Parcelles => PARCELLES,
            Theme::Batiments => BATIMENTS,
            Theme::Voirie => VOIRIE,
            Theme::EauPotable => EAU_POTABLE,
            Theme::Assainissement => ASSAINISSEMENT,
            Theme::Eclairage => ECLAIRAGE,
            Theme::Telecom => TELECOM,
            Theme::Custom(_) => &[],
        }
    }

    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.schema().iter().find(|f| f.name == name)
    }

    pub fn geometry_family(&self) -> GeometryFamily {
        match self {
            Theme::Parcelles | Theme::Batiments => GeometryFamily::Polygon,
            Theme::Voirie | Theme::EauPotable | Theme::Assainissement | Theme::Telecom => {
                GeometryFamily::Line
            }
            Theme::Eclairage => GeometryFamily::Point,
            Theme::Custom(_) => GeometryFamily::Any,
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl TryFrom<String> for Theme {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Theme::parse(&s)
    }
}

impl From<Theme> for String {
    fn from(t: Theme) -> String {
        t.name().to_string()
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_round_trip_and_reject_bad_names() {
        for t in Theme::STANDARD {
            assert_eq!(Theme::parse(t.name()), Ok(t.clone()));
        }
        assert_eq!(
            Theme::parse("sections"),
            Ok(Theme::Custom("sections".into()))
        );
        assert!(Theme::parse("Parcelles").is_err());
        assert!(Theme::parse("parcels")
            .unwrap_err()
            .contains("did you mean \"parcelles\""));
        assert!(Theme::parse("rejects").is_err());
        assert!(Theme::parse("../x").is_err());
    }
}
