//! Merging a line network (roads, pipes, cables): sub-line matching in survivor order
//! ([`crate::line`]), then edge-matching across the old boundaries ([`crate::edge`]), with the
//! network's connected components and length before and after.

use crate::cluster::{cmp_survivor, fill_attributes, sources_json};
use crate::decision::{anchor, locator, Decision};
use crate::line::{match_lines, outcome_geometry, parts_of, total_length, LineFeature, LineRules};
use crate::{components, edge, ThemeMerge};
use geo::{Coord, Geometry};
use std::collections::BTreeMap;
use tuilerie_model::{Feature, Theme, ThemeRules, Value};

/// A line's parts.
type Parts = Vec<Vec<Coord<f64>>>;

/// A line that keeps some of its geometry, and the inputs merged into it.
struct KeptLine {
    input: usize,
    parts: Parts,
    absorbed: Vec<usize>,
    fillers: Vec<usize>,
}

fn decision(
    theme: &Theme,
    matcher: &'static str,
    what: &'static str,
    kept: &Feature,
    other: &Feature,
) -> Decision {
    Decision {
        theme: theme.name().to_string(),
        matcher,
        score: 0.0,
        decision: what,
        reason: String::new(),
        kept: locator(&kept.provenance),
        other: locator(&other.provenance),
        survivor: if what == "merged" {
            locator(&kept.provenance)
        } else {
            String::new()
        },
        iou: None,
        smaller_overlap: None,
        distance_m: None,
        x: 0.0,
        y: 0.0,
    }
}

pub(crate) fn merge_lines(
    theme: &Theme,
    features: Vec<Feature>,
    rules: &ThemeRules,
    ctx: &crate::MergeContext<'_>,
    result: &mut ThemeMerge,
) -> Vec<Feature> {
    let updated = rules.updated_field.as_deref();
    let mut order: Vec<usize> = (0..features.len()).collect();
    order.sort_by(|&x, &y| cmp_survivor(&features[x], &features[y], ctx.manifest, updated));
    let mut pos_of = vec![0; features.len()];
    for (pos, &i) in order.iter().enumerate() {
        pos_of[i] = pos;
    }
    // Lines of one delivery never match each other (unless the theme says so).
    let mut deliveries: Vec<&str> = features
        .iter()
        .map(|f| f.provenance.delivery.as_str())
        .collect();
    deliveries.sort();
    deliveries.dedup();
    let group = |i: usize| {
        if rules.within_delivery {
            i
        } else {
            deliveries
                .binary_search(&features[i].provenance.delivery.as_str())
                .unwrap_or(0)
        }
    };
    let lines: Vec<LineFeature<'_>> = order
        .iter()
        .map(|&i| LineFeature {
            geometry: &features[i].geometry,
            group: group(i),
            kind: rules
                .type_field
                .as_deref()
                .and_then(|t| features[i].get(t))
                .and_then(|v| v.as_text()),
        })
        .collect();
    let before: Vec<Parts> = features.iter().map(|f| parts_of(&f.geometry)).collect();
    result.stats.components_before = Some(components::count(before.iter().map(|p| p.as_slice())));
    result.stats.length_before_m = Some(features.iter().map(|f| total_length(&f.geometry)).sum());
    let line_rules = LineRules {
        tolerance: rules.tolerance_m,
        max_angle_deg: rules.max_angle_deg,
        sample: rules.sample_m,
        // A road meeting another runs close to it for a few metres: not a duplicate.
        min_match: (4.0 * rules.tolerance_m).max(5.0 * rules.sample_m),
    };
    let outcomes = match_lines(&lines, &line_rules);

    // One decision per matched pair.
    for (pos, o) in outcomes.iter().enumerate() {
        let f = &features[order[pos]];
        let whole = o.parts.is_empty();
        for m in &o.matches {
            let rest = if m.appended {
                "the rest was appended to the kept line (one continuous line)"
            } else if whole {
                "absorbed"
            } else {
                "the rest is kept, snapped onto the kept line"
            };
            let at = anchor(&f.geometry);
            result.stats.matches += 1;
            result.decisions.push(Decision {
                score: if m.total_m > 0.0 { (m.covered_m / m.total_m).min(1.0) } else { 0.0 },
                reason: format!(
                    "{:.1} of {:.1} m run within {} m and {}° of the kept line (mean {:.2} m); {rest}",
                    m.covered_m, m.total_m, rules.tolerance_m, rules.max_angle_deg, m.mean_distance_m
                ),
                distance_m: Some(m.mean_distance_m),
                x: at.x,
                y: at.y,
                ..decision(theme, "subline", if whole { "merged" } else { "partial" }, &features[order[m.against]], f)
            });
        }
    }

    // The kept lines, in survivor order for edge-matching (the last move first).
    let mut kept: Vec<KeptLine> = Vec::new();
    for &i in &order {
        let o = &outcomes[pos_of[i]];
        if o.parts.is_empty() {
            result.stats.merged_away += 1;
        } else {
            kept.push(KeptLine {
                input: i,
                parts: o.parts.clone(),
                absorbed: o.absorbed.iter().map(|&p| order[p]).collect(),
                fillers: o.fillers.iter().map(|&p| order[p]).collect(),
            });
        }
    }
    let communes: Vec<&str> = kept
        .iter()
        .map(|k| features[k.input].provenance.commune.as_str())
        .collect();
    let mut geoms: Vec<Parts> = kept
        .iter_mut()
        .map(|k| std::mem::take(&mut k.parts))
        .collect();
    let snaps = edge::snap_ends(&mut geoms, &communes, rules.snap_m);
    result.stats.snapped_ends = snaps.len();
    for s in &snaps {
        let (moved, onto) = (&features[kept[s.line].input], &features[kept[s.onto].input]);
        result.decisions.push(Decision {
            score: 1.0 - s.distance / rules.snap_m.max(f64::MIN_POSITIVE),
            reason: format!(
                "line end {:.2} m from a line of commune {}: snapped onto it",
                s.distance, onto.provenance.commune
            ),
            distance_m: Some(s.distance),
            x: s.at.x,
            y: s.at.y,
            ..decision(theme, "edge-snap", "snapped", onto, moved)
        });
    }
    result.stats.components_after = Some(components::count(geoms.iter().map(|p| p.as_slice())));
    for (k, g) in kept.iter_mut().zip(geoms) {
        k.parts = g;
    }

    // What the absorbed lines contribute (attributes, provenance), read before any move: a
    // line can both keep a piece of its own and have given another piece to a kept line.
    let mut contributors: BTreeMap<usize, Feature> = BTreeMap::new();
    for k in &kept {
        for &a in &k.absorbed {
            contributors.entry(a).or_insert_with(|| Feature {
                geometry: Geometry::GeometryCollection(Default::default()),
                ..features[a].clone()
            });
        }
    }
    let mut by_input: BTreeMap<usize, KeptLine> = kept.into_iter().map(|k| (k.input, k)).collect();
    let mut out = Vec::with_capacity(by_input.len());
    let mut length_after = 0.0;
    for (i, mut f) in features.into_iter().enumerate() {
        let Some(k) = by_input.remove(&i) else {
            continue;
        };
        let Some(geometry) = outcome_geometry(&k.parts) else {
            continue;
        };
        f.geometry = geometry;
        length_after += total_length(&f.geometry);
        let of = |list: &[usize]| -> Vec<&Feature> {
            list.iter().filter_map(|a| contributors.get(a)).collect()
        };
        fill_attributes(&mut f, &of(&k.fillers));
        let others = of(&k.absorbed);
        let sources = sources_json(
            std::iter::once(&f.provenance).chain(others.iter().map(|o| &o.provenance)),
        );
        f.set(crate::SOURCES_FIELD, Value::Text(sources));
        out.push(f);
    }
    result.stats.length_after_m = Some(length_after);
    out
}
