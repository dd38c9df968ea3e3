//! The manifest: one TOML file describing one merger.
//!
//! ```toml
//! [commune_nouvelle]
//! insee = "91027"                 # the INSEE code the commune nouvelle keeps
//! nom = "Athis-Mons"
//! working_crs = "EPSG:2154"       # optional; metric; e.g. EPSG:5490 for the Antilles
//!
//! [outlines]                      # optional: former communes' outlines, for the sanity check
//! path = "communes-2018.geojson"
//! key = "insee"                   # the field holding the INSEE code
//!
//! [[communes]]
//! insee = "91326"
//! nom = "Juvisy-sur-Orge"
//!
//! [[communes.deliveries]]
//! path = "91326-juvisy-sur-orge/PARCELLES.shp"   # relative to the manifest
//! theme = "parcelles"
//! # layer = "parcelle"          # when the file holds several layers
//! # crs = "EPSG:2154"           # overrides (or supplies) the file's CRS
//! # accept_outside = true       # accept a layer lying outside the commune
//! # drop_unmapped = true        # drop source fields that the mapping does not name
//! # drop = ["NATURE"]           # drop these source fields
//! mapping = { IDU = "id", SECTION = "section", NUMERO = "numero", CONTENANCE = "contenance", DATE_MAJ = "updated" }
//!
//! [merge]                         # optional: survivor order, renumbering (see merge_rules)
//! priority = ["91027"]
//! [themes.voirie]                 # optional: a theme's matcher thresholds (see merge_rules)
//! tolerance_m = 2.0
//! ```
//!
//! Parsing collects every problem at once ([`ManifestError::Invalid`]) so that a user fixes
//! the manifest in one pass. Problems that need the files themselves (a missing file, a
//! mapping from a field the file lacks) are checked by the ingest stage.

use crate::merge_rules::{Criterion, MergeSettings, ThemeRules, ThemeRulesOverride};
use crate::tile_settings::TileSettings;
use crate::{CrsRef, Theme};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A parsed, structurally valid manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Folder the manifest's relative paths start from.
    pub base_dir: PathBuf,
    pub insee: String,
    pub nom: String,
    pub working_crs: CrsRef,
    pub outlines: Option<OutlineSource>,
    pub communes: Vec<Commune>,
    /// `[merge]`: survivor order and renumbering.
    pub merge: MergeSettings,
    /// `[themes.<name>]` overrides of the merge defaults.
    pub theme_rules: BTreeMap<String, ThemeRulesOverride>,
    /// `[tiles]`: zooms, attribution, archives and per-layer fields of the tiles stage.
    pub tiles: TileSettings,
}

/// Where the former communes' outlines are read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutlineSource {
    pub path: String,
    #[serde(default = "default_outline_key")]
    pub key: String,
    /// How far (metres) a layer's extent may reach beyond its commune's outline before it is
    /// reported as misplaced. Deliveries often carry a survey margin, so the default is generous.
    #[serde(default = "default_max_distance")]
    pub max_distance_m: f64,
}

fn default_outline_key() -> String {
    "insee".into()
}
fn default_max_distance() -> f64 {
    1000.0
}

#[derive(Debug, Clone, PartialEq)]
pub struct Commune {
    pub insee: String,
    pub nom: String,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// As written in the manifest (relative to it): used in provenance and reports.
    pub path: String,
    /// Where the manifest declares it, for messages: `communes[1] (91326).deliveries[0] (path)`.
    pub location: String,
    pub theme: Theme,
    pub layer: Option<String>,
    pub crs: Option<CrsRef>,
    /// Source field → target field.
    pub mapping: BTreeMap<String, String>,
    pub drop_unmapped: bool,
    pub drop: Vec<String>,
    pub accept_outside: bool,
}

impl Delivery {
    /// The CRS a layer of this delivery is read in: the manifest's override, else the CRS the
    /// file declares.
    pub fn crs_for(&self, declared: Option<&CrsRef>) -> Option<CrsRef> {
        self.crs.clone().or_else(|| declared.cloned())
    }
}

impl Manifest {
    /// Parse and check a manifest's text. `base_dir` is the folder holding it.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Manifest, ManifestError> {
        let (manifest, problems) = Manifest::parse_lenient(text, base_dir)?;
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(ManifestError::Invalid(problems))
        }
    }

    /// Parse, keeping what is usable: the manifest without its invalid deliveries, and the
    /// problems found. `tuilerie validate` uses it to check the files of the valid part too,
    /// so that one run names every problem. Only a TOML syntax error stops it.
    pub fn parse_lenient(
        text: &str,
        base_dir: &Path,
    ) -> Result<(Manifest, Vec<ManifestProblem>), ManifestError> {
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        Ok(raw.check(base_dir))
    }

    /// The absolute path of a delivery (or any manifest-relative path).
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    pub fn deliveries(&self) -> impl Iterator<Item = (&Commune, &Delivery)> {
        self.communes
            .iter()
            .flat_map(|c| c.deliveries.iter().map(move |d| (c, d)))
    }

    /// The merge rules of a theme: its defaults with the manifest's overrides.
    pub fn rules(&self, theme: &Theme) -> ThemeRules {
        let defaults = ThemeRules::defaults(theme);
        match self.theme_rules.get(theme.name()) {
            Some(o) => o.apply(defaults),
            None => defaults,
        }
    }

    /// The commune declared with this INSEE code.
    pub fn commune(&self, insee: &str) -> Option<&Commune> {
        self.communes.iter().find(|c| c.insee == insee)
    }

    /// Whether a commune is part of the merger: declared, or the one whose code is kept (even
    /// when it delivers nothing and so is not declared).
    pub fn is_member(&self, insee: &str) -> bool {
        insee == self.insee || self.commune(insee).is_some()
    }

    /// Rank of a commune in the survivor order: `[merge] priority` first, then the commune
    /// whose code the commune nouvelle keeps, then the others by code. Never the manifest's
    /// order, so that reordering deliveries does not change the output.
    pub fn priority_rank<'a>(&self, insee: &'a str) -> (usize, usize, &'a str) {
        match self.merge.priority.iter().position(|p| p == insee) {
            Some(i) => (0, i, ""),
            None if insee == self.insee => (1, 0, ""),
            None => (2, 0, insee),
        }
    }

    /// The themes present, in a stable order.
    pub fn themes(&self) -> Vec<Theme> {
        let mut t: Vec<Theme> = self.deliveries().map(|(_, d)| d.theme.clone()).collect();
        t.sort();
        t.dedup();
        t
    }
}

/// Why a manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid TOML or misses a required key: {0}")]
    Syntax(String),
    #[error("manifest has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ManifestProblem>),
}

/// One problem, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    /// e.g. `communes[1].deliveries[0].mapping.IDU`
    pub location: String,
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    commune_nouvelle: RawCommuneNouvelle,
    outlines: Option<OutlineSource>,
    #[serde(default)]
    communes: Vec<RawCommune>,
    merge: Option<RawMerge>,
    #[serde(default)]
    themes: BTreeMap<String, ThemeRulesOverride>,
    #[serde(default)]
    tiles: TileSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMerge {
    #[serde(default)]
    priority: Vec<String>,
    resolve: Option<Vec<String>>,
    renumber: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommuneNouvelle {
    insee: String,
    nom: String,
    working_crs: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommune {
    insee: String,
    nom: String,
    #[serde(default)]
    deliveries: Vec<RawDelivery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    path: String,
    theme: String,
    layer: Option<String>,
    crs: Option<String>,
    #[serde(default)]
    mapping: BTreeMap<String, String>,
    #[serde(default)]
    drop_unmapped: bool,
    #[serde(default)]
    drop: Vec<String>,
    #[serde(default)]
    accept_outside: bool,
}

/// A 5-character INSEE commune code: digits, or 2A/2B and three digits for Corsica.
pub fn is_insee(code: &str) -> bool {
    // 5 characters: digits, with 2A/2B for Corsica.
    code.len() == 5
        && code.is_ascii()
        && (code.chars().all(|c| c.is_ascii_digit())
            || ((code.starts_with("2A") || code.starts_with("2B"))
                && code[2..].chars().all(|c| c.is_ascii_digit())))
}

impl RawManifest {
    fn check(self, base_dir: &Path) -> (Manifest, Vec<ManifestProblem>) {
        let mut problems = Vec::new();
        let mut problem = |location: String, message: String| {
            problems.push(ManifestProblem { location, message })
        };

        let cn = &self.commune_nouvelle;
        if !is_insee(&cn.insee) {
            problem(
                "commune_nouvelle.insee".into(),
                format!("{:?} is not a 5-character INSEE code", cn.insee),
            );
        }
        if self.communes.is_empty() {
            problem("communes".into(), "no former commune is declared".into());
        }
        let mut seen = HashSet::new();
        let mut communes = Vec::new();
        for (ci, c) in self.communes.into_iter().enumerate() {
            let at = format!("communes[{ci}] ({})", c.insee);
            if !is_insee(&c.insee) {
                problem(
                    format!("{at}.insee"),
                    format!("{:?} is not a 5-character INSEE code", c.insee),
                );
            }
            if !seen.insert(c.insee.clone()) {
                problem(
                    format!("{at}.insee"),
                    format!("commune {} is declared twice", c.insee),
                );
            }
            if c.deliveries.is_empty() {
                problem(
                    at.clone(),
                    "no delivery is declared for this commune".into(),
                );
            }
            let mut deliveries = Vec::new();
            for (di, d) in c.deliveries.into_iter().enumerate() {
                let dat = format!("{at}.deliveries[{di}] ({})", d.path);
                let theme = match Theme::parse(&d.theme) {
                    Ok(t) => t,
                    Err(e) => {
                        problem(format!("{dat}.theme"), e);
                        continue;
                    }
                };
                if d.path.trim().is_empty() {
                    problem(format!("{dat}.path"), "empty path".into());
                }
                let mut targets = HashSet::new();
                for (src, dst) in &d.mapping {
                    if !theme.schema().is_empty() && theme.field(dst).is_none() {
                        problem(
                            format!("{dat}.mapping.{src}"),
                            format!(
                                "target field {dst:?} is not in the {} schema ({})",
                                theme.name(),
                                theme
                                    .schema()
                                    .iter()
                                    .map(|f| f.name)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                    }
                    if !targets.insert(dst.clone()) {
                        problem(
                            format!("{dat}.mapping.{src}"),
                            format!("target field {dst:?} is mapped twice"),
                        );
                    }
                    if crate::PROVENANCE_FIELDS.contains(&dst.as_str()) {
                        problem(
                            format!("{dat}.mapping.{src}"),
                            format!("{dst:?} is reserved for provenance"),
                        );
                    }
                }
                deliveries.push(Delivery {
                    location: dat,
                    path: d.path,
                    theme,
                    layer: d.layer,
                    crs: d.crs.as_deref().map(CrsRef::parse),
                    mapping: d.mapping,
                    drop_unmapped: d.drop_unmapped,
                    drop: d.drop,
                    accept_outside: d.accept_outside,
                });
            }
            communes.push(Commune {
                insee: c.insee,
                nom: c.nom,
                deliveries,
            });
        }
        let mut merge = MergeSettings::default();
        if let Some(m) = self.merge {
            for (i, code) in m.priority.iter().enumerate() {
                if !communes.iter().any(|c: &Commune| &c.insee == code) {
                    problem(
                        format!("merge.priority[{i}]"),
                        format!("{code:?} is not one of the declared communes"),
                    );
                }
            }
            merge.priority = m.priority;
            if let Some(order) = m.resolve {
                let mut parsed = Vec::new();
                for (i, c) in order.iter().enumerate() {
                    match toml::Value::String(c.clone()).try_into::<Criterion>() {
                        Ok(c) => parsed.push(c),
                        Err(_) => problem(
                            format!("merge.resolve[{i}]"),
                            format!("{c:?} is not a criterion: use priority, updated, attributes or vertices"),
                        ),
                    }
                }
                merge.resolve = parsed;
            }
            if let Some(r) = m.renumber {
                merge.renumber = r;
            }
        }
        for (name, o) in &self.themes {
            if let Err(e) = Theme::parse(name) {
                problem(format!("themes.{name}"), e);
            }
            for (field, message) in o.problems() {
                problem(format!("themes.{name}.{field}"), message);
            }
        }
        for (field, message) in self.tiles.problems() {
            problem(format!("tiles.{field}"), message);
        }
        for name in self.tiles.layers.keys() {
            if let Err(e) = Theme::parse(name) {
                problem(format!("tiles.layers.{name}"), e);
            }
        }
        let manifest = Manifest {
            merge,
            tiles: self.tiles,
            theme_rules: self.themes,
            base_dir: base_dir.to_path_buf(),
            insee: self.commune_nouvelle.insee,
            nom: self.commune_nouvelle.nom,
            working_crs: self
                .commune_nouvelle
                .working_crs
                .as_deref()
                .map(CrsRef::parse)
                .unwrap_or(CrsRef::Epsg(2154)),
            outlines: self.outlines,
            communes,
        };
        (manifest, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [commune_nouvelle]
        insee = "91027"
        nom = "Athis-Mons"
        [[communes]]
        insee = "91326"
        nom = "Juvisy-sur-Orge"
        [[communes.deliveries]]
        path = "j/PARCELLES.shp"
        theme = "parcelles"
        mapping = { IDU = "id", SECTION = "section" }
    "#;

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD, Path::new("/data")).unwrap();
        assert_eq!(m.working_crs, CrsRef::Epsg(2154));
        assert_eq!(m.communes[0].deliveries[0].theme, Theme::Parcelles);
        assert_eq!(
            m.resolve("j/PARCELLES.shp"),
            PathBuf::from("/data/j/PARCELLES.shp")
        );
    }

    #[test]
    fn names_every_problem_at_once() {
        let text = r#"
            [commune_nouvelle]
            insee = "9102"
            nom = "X"
            [[communes]]
            insee = "91326"
            nom = "A"
            [[communes.deliveries]]
            path = "a.shp"
            theme = "parcels"
            [[communes.deliveries]]
            path = "b.shp"
            theme = "parcelles"
            mapping = { IDU = "identifiant" }
            [[communes]]
            insee = "91326"
            nom = "B"
            [[communes.deliveries]]
            path = "c.shp"
            theme = "voirie"
        "#;
        let Err(ManifestError::Invalid(p)) = Manifest::parse(text, Path::new(".")) else {
            panic!("expected problems")
        };
        let all = p
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(p.len(), 4, "{all}");
        assert!(all.contains("9102"));
        assert!(all.contains("unknown theme \"parcels\""));
        assert!(all.contains("\"identifiant\" is not in the parcelles schema"));
        assert!(all.contains("declared twice"));
    }

    #[test]
    fn merge_settings_and_theme_rules_are_checked() {
        let text = format!(
            "{GOOD}\n[merge]\npriority = [\"91326\", \"99999\"]\nresolve = [\"updated\", \"newest\"]\n\
             [themes.parcels]\ntolerance_m = 1\n[themes.voirie]\nmin_iou = 1.5\nsnap_m = -1\n"
        );
        let Err(ManifestError::Invalid(p)) = Manifest::parse(&text, Path::new(".")) else {
            panic!("expected problems")
        };
        let all: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(all.len(), 5, "{all:#?}");
        assert!(all[0].starts_with("merge.priority[1]: \"99999\""));
        assert!(all[1].starts_with("merge.resolve[1]: \"newest\""));
        assert!(all[2].contains("themes.parcels") && all[2].contains("did you mean"));
        assert!(all[3].starts_with("themes.voirie.min_iou"));
        assert!(all[4].starts_with("themes.voirie.snap_m"));
        // Valid settings reach the rules.
        let ok = format!("{GOOD}\n[merge]\nrenumber = false\n[themes.parcelles]\nmin_iou = 0.7\n");
        let m = Manifest::parse(&ok, Path::new(".")).unwrap();
        assert!(!m.merge.renumber);
        assert_eq!(m.rules(&Theme::Parcelles).min_iou, 0.7);
        assert_eq!(m.rules(&Theme::Parcelles).key.as_deref(), Some("id"));
        // Without a priority list: the kept code first, then the others by code.
        assert!(m.priority_rank("91027") < m.priority_rank("91326"));
        assert!(m.priority_rank("91326") < m.priority_rank("91400"));
        let first = format!("{GOOD}\n[merge]\npriority = [\"91326\"]\n");
        let m = Manifest::parse(&first, Path::new(".")).unwrap();
        assert!(m.priority_rank("91326") < m.priority_rank("91027"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = GOOD.replace(
            "theme = \"parcelles\"",
            "theme = \"parcelles\"\nprojection = \"x\"",
        );
        assert!(matches!(
            Manifest::parse(&text, Path::new(".")),
            Err(ManifestError::Syntax(_))
        ));
    }
}
