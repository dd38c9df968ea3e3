//! `tuilerie validate`: check a manifest against its files without running anything.

use crate::mapping::MappingPlan;
use crate::{inspect, Format};
use tuilerie_model::{Manifest, ManifestProblem};

/// Every problem found, each located (`communes[1].deliveries[0] (path)`). Empty when fine.
pub fn check_files(manifest: &Manifest) -> Vec<ManifestProblem> {
    let mut problems = Vec::new();
    let mut push =
        |location: String, message: String| problems.push(ManifestProblem { location, message });
    if let Some(o) = &manifest.outlines {
        let p = manifest.resolve(&o.path);
        match inspect::inspect(&p) {
            Err(e) => push("outlines.path".into(), e.to_string()),
            Ok(layers) => {
                if !layers
                    .iter()
                    .any(|l| l.fields.iter().any(|f| f.name == o.key))
                {
                    push(
                        "outlines.key".into(),
                        format!("{} has no field {:?}", o.path, o.key),
                    );
                }
            }
        }
    }
    for (ci, c) in manifest.communes.iter().enumerate() {
        for (di, d) in c.deliveries.iter().enumerate() {
            let at = format!("communes[{ci}] ({}).deliveries[{di}] ({})", c.insee, d.path);
            let path = manifest.resolve(&d.path);
            let layers = match inspect::inspect(&path) {
                Ok(l) => l,
                Err(e) => {
                    push(at, e.to_string());
                    continue;
                }
            };
            let edigeo = Format::detect(&path) == Format::Edigeo;
            let wanted = d.layer.clone().or_else(|| {
                if edigeo {
                    default_edigeo_layer(&d.theme)
                } else {
                    None
                }
            });
            let chosen: Vec<_> = match &wanted {
                Some(name) => layers
                    .iter()
                    .filter(|l| &l.name == name || l.name.ends_with(&format!("/{name}")))
                    .collect(),
                None => layers.iter().collect(),
            };
            if chosen.is_empty() {
                push(
                    format!("{at}.layer"),
                    format!(
                        "no layer {:?}; the file has: {}",
                        wanted.unwrap_or_default(),
                        layers
                            .iter()
                            .map(|l| l.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            }
            if wanted.is_none() && chosen.len() > 1 {
                push(
                    format!("{at}.layer"),
                    format!(
                        "the file holds several layers; choose one: {}",
                        chosen
                            .iter()
                            .map(|l| l.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            }
            let l = chosen[0];
            if d.crs.is_none()
                && l.crs == "none"
                && !matches!(Format::detect(&path), Format::GeoJson)
            {
                push(
                    format!("{at}.crs"),
                    format!(
                        "layer {} declares no CRS and the manifest gives none",
                        l.name
                    ),
                );
            }
            if let Err(errs) = MappingPlan::new(d, &l.fields) {
                for e in errs {
                    push(format!("{at}.mapping"), format!("layer {}: {e}", l.name));
                }
            }
        }
    }
    problems
}

/// The EDIGEO layer a theme reads by default.
pub fn default_edigeo_layer(theme: &tuilerie_model::Theme) -> Option<String> {
    use tuilerie_model::Theme;
    match theme {
        Theme::Parcelles => Some("PARCELLE_id".into()),
        Theme::Batiments => Some("BATIMENT_id".into()),
        Theme::Custom(n) if n == "sections" => Some("SECTION_id".into()),
        Theme::Custom(n) if n == "communes" => Some("COMMUNE_id".into()),
        Theme::Custom(n) if n == "lieux_dits" => Some("LIEUDIT_id".into()),
        _ => None,
    }
}
