//! `tuilerie validate`: check a manifest against its files without running anything.

use crate::mapping::MappingPlan;
use crate::{inspect, Format};
use tuilerie_model::{CrsRef, Manifest, ManifestProblem};

/// Every problem found, each located (`communes[1].deliveries[0] (path)`). Empty when fine.
pub fn check_files(manifest: &Manifest) -> Vec<ManifestProblem> {
    check_files_and_crs(manifest).0
}

/// [`check_files`], plus the CRS each delivery's layers will be read in (the manifest's
/// override, else the file's), with the location to report a problem at: the reprojection
/// stage checks those.
pub fn check_files_and_crs(manifest: &Manifest) -> (Vec<ManifestProblem>, Vec<(String, CrsRef)>) {
    let mut crss: Vec<(String, CrsRef)> = Vec::new();
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
    for c in &manifest.communes {
        for d in &c.deliveries {
            let at = d.location.clone();
            let path = manifest.resolve(&d.path);
            // GeoJSON and FlatGeobuf files hold one layer: build reads it whatever `layer` says.
            let wanted = match Format::detect(&path) {
                Format::GeoJson | Format::FlatGeobuf => None,
                _ => crate::delivery_layer(d, &path),
            };
            let layers = match layer_facts(&path, wanted.as_deref()) {
                Ok(l) => l,
                Err(e) => {
                    push(at, e.to_string());
                    continue;
                }
            };
            let chosen: Vec<&LayerFacts> = match &wanted {
                Some(name) => layers
                    .iter()
                    .filter(|l| &l.name == name || l.name.ends_with(&format!("/{name}")))
                    .collect(),
                None => layers.iter().collect(),
            };
            let names = |ls: &[&LayerFacts]| {
                ls.iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if chosen.is_empty() {
                let all: Vec<&LayerFacts> = layers.iter().collect();
                push(
                    format!("{at}.layer"),
                    format!(
                        "no layer {:?}; the file has: {}",
                        wanted.unwrap_or_default(),
                        names(&all)
                    ),
                );
                continue;
            }
            if wanted.is_none() && chosen.len() > 1 {
                push(
                    format!("{at}.layer"),
                    format!(
                        "the file holds several layers; choose one: {}",
                        names(&chosen)
                    ),
                );
                continue;
            }
            for l in &chosen {
                if let Some(c) = d.crs_for(l.crs.as_ref()) {
                    if !crss.iter().any(|(_, k)| k == &c) {
                        crss.push((format!("{at}.crs"), c));
                    }
                }
            }
            for l in chosen
                .iter()
                .filter(|l| d.crs_for(l.crs.as_ref()).is_none())
            {
                push(
                    format!("{at}.crs"),
                    format!(
                        "layer {} declares no CRS and the manifest gives none",
                        l.name
                    ),
                );
            }
            // EDIGEO: every sheet's layer is mapped with the same manifest mapping.
            for l in &chosen {
                if let Err(errs) = MappingPlan::new(d, &l.fields) {
                    for e in errs {
                        push(format!("{at}.mapping"), format!("layer {}: {e}", l.name));
                    }
                }
            }
        }
    }
    (problems, crss)
}

/// What validation needs of a layer.
struct LayerFacts {
    name: String,
    crs: Option<CrsRef>,
    fields: Vec<crate::FieldInfo>,
}

/// The layers of a delivery as `build` will see them: GeoJSON and FlatGeobuf through the same
/// native readers (GDAL reads a GeoJSON `id` differently), the rest through GDAL's summary.
fn layer_facts(
    path: &std::path::Path,
    layer: Option<&str>,
) -> Result<Vec<LayerFacts>, crate::IngestError> {
    match Format::detect(path) {
        Format::GeoJson | Format::FlatGeobuf => Ok(crate::read_delivery(path, layer)?
            .into_iter()
            .map(|l| LayerFacts {
                name: l.name,
                crs: l.crs,
                fields: l.fields,
            })
            .collect()),
        _ => Ok(inspect::inspect(path)?
            .into_iter()
            .map(|l| LayerFacts {
                crs: l.crs_ref,
                name: l.name,
                fields: l.fields,
            })
            .collect()),
    }
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
