//! Merging one theme: the steps of the crate, in order.

use crate::decision::{locator, Decision, QaItem, ThemeStats};
use crate::{identity, order, qa};
use geo::MultiPolygon;
use rayon::prelude::*;
use std::collections::BTreeMap;
use tuilerie_model::schema::GeometryFamily;
use tuilerie_model::{Feature, Manifest, Theme, Value};

/// What the merge needs besides the features: the manifest (rules, priorities, communes)
/// and the former communes' outlines in the working CRS (may be empty).
pub struct MergeContext<'a> {
    pub manifest: &'a Manifest,
    pub outlines: &'a BTreeMap<String, MultiPolygon<f64>>,
}

/// One merged theme (serializable: a build caches it for the next, incremental one).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ThemeMerge {
    pub features: Vec<Feature>,
    pub decisions: Vec<Decision>,
    pub qa: Vec<QaItem>,
    pub stats: ThemeStats,
    pub warnings: Vec<String>,
}

/// Merge the features of one theme.
pub fn merge_theme(
    theme: &Theme,
    mut features: Vec<Feature>,
    ctx: &MergeContext<'_>,
) -> ThemeMerge {
    let rules = ctx.manifest.rules(theme);
    let mut clock = std::time::Instant::now();
    order::sort_features(&mut features);
    let mut result = ThemeMerge {
        stats: ThemeStats {
            input: features.len(),
            ..Default::default()
        },
        ..Default::default()
    };
    result.stats.lap("sort", &mut clock);
    let mut merged: Vec<Feature> = if !rules.dedup {
        result
            .warnings
            .push(format!("theme {theme}: not deduplicated (dedup = false)"));
        features
    } else if theme.geometry_family() == GeometryFamily::Line {
        crate::network::merge_lines(theme, features, &rules, ctx, &mut result)
    } else {
        crate::pairs::merge_pairs(theme, features, &rules, ctx, &mut result)
    };
    result.stats.lap("match", &mut clock);
    // Identity: commune déléguée, renumbered ids; in place (a million features are a
    // gigabyte: no second copy).
    let names: BTreeMap<&str, &str> = ctx
        .manifest
        .communes
        .iter()
        .map(|c| (c.insee.as_str(), c.nom.as_str()))
        .collect();
    let renumbered = ctx
        .manifest
        .merge
        .renumber
        .then(|| identity::renumbered_field(theme, rules.key.as_deref()))
        .flatten();
    let outlines = identity::prepare_outlines(ctx.outlines);
    let (codes, warnings): (Vec<String>, Vec<Option<String>>) = merged
        .par_iter_mut()
        .map(|f| {
            let code = identity::deleguee(f, theme, ctx.manifest, &outlines);
            let warning =
                renumbered.and_then(|field| identity::renumber(f, field, &code, ctx.manifest));
            f.set(crate::DELEGUEE_FIELD, Value::Text(code.clone()));
            let name = names.get(code.as_str()).copied().unwrap_or("");
            f.set(crate::DELEGUEE_NAME_FIELD, Value::Text(name.to_string()));
            (code, warning)
        })
        .unzip();
    // Features of communes outside the merger (a delivery's survey margin): kept, reported.
    for (f, code) in merged.iter().zip(&codes) {
        if !ctx.manifest.is_member(code) {
            result.stats.foreign += 1;
            result.qa.push(QaItem {
                theme: theme.name().to_string(),
                kind: "foreign",
                a: locator(&f.provenance),
                b: String::new(),
                commune_a: code.clone(),
                commune_b: f.provenance.commune.clone(),
                measure: 0.0,
                detail: format!(
                    "belongs to commune {code}, outside the merger (delivered by {}): kept, id as delivered",
                    f.provenance.commune
                ),
                geometry: Some(f.geometry.clone()),
            });
        }
    }
    result.warnings.extend(warnings.into_iter().flatten());
    result.stats.lap("identity", &mut clock);
    let straddles = qa::straddles(theme.name(), &merged, &codes, ctx.outlines, &rules);
    result.stats.straddles = straddles.len();
    result.qa.extend(straddles);
    if theme.geometry_family() != GeometryFamily::Line {
        let gaps = qa::gaps(
            theme.name(),
            &merged,
            &codes,
            ctx.outlines,
            &rules,
            &mut result.warnings,
        );
        result.stats.gaps = gaps.len();
        result.qa.extend(gaps);
    }
    result.stats.lap("qa", &mut clock);
    result.stats.output = merged.len();
    result.features = merged;
    result
}
