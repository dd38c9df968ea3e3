//! Deduplication of polygons, points and custom themes: candidate pairs from the R-tree,
//! scored in parallel by the exact, key, overlap and point matchers, then clustered (strongest
//! match first, never joining features known to differ) and resolved to one survivor each.

use crate::cluster::{
    cmp_survivor, deciding_criterion, fill_attributes, sources_json, GuardedUnion,
};
use crate::decision::{anchor, locator, Decision, QaItem};
use crate::polygon::{as_multipolygon, overlap};
use crate::{candidates, exact, identity, point, MergeContext, ThemeMerge};
use geo::{Area, Geometry, MultiPolygon};
use rayon::prelude::*;
use std::collections::BTreeMap;
use tuilerie_model::{Feature, Manifest, Theme, ThemeRules, Value};

fn is_polygonal(g: &Geometry<f64>) -> bool {
    matches!(g, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) || as_multipolygon(g).is_some()
}

/// What the matchers concluded about one candidate pair.
enum Verdict {
    Merge(&'static str, f64, String),
    Review(&'static str, String),
    Conflict(String),
    /// Different objects overlapping by this much (the overlap is in `Scored::intersection`).
    Overlap(f64),
    /// Known to be different objects (other types, other keys): no match, no QA, but never
    /// joined into one cluster through a third feature either.
    Distinct,
    Nothing,
}

struct Scored {
    i: usize,
    j: usize,
    verdict: Verdict,
    iou: Option<f64>,
    smaller: Option<f64>,
    distance: Option<f64>,
    /// A∩B of two polygons, when not empty.
    intersection: Option<MultiPolygon<f64>>,
}

/// Per-feature facts the matchers need, computed once, in parallel.
struct Prepared {
    digest: u64,
    key: Option<String>,
    /// The area of a polygonal geometry.
    polygon: Option<f64>,
    point: Option<geo::Point<f64>>,
}

/// The matching key of a feature: its key field, trimmed; a parcel id in its pre-merger form,
/// so that copies delivered before and after the merger compare equal.
fn key_of(f: &Feature, key: Option<&str>, theme: &Theme, manifest: &Manifest) -> Option<String> {
    let field = key?;
    let v = f.get(field)?.as_text()?;
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    Some(identity::canonical_key(theme, field, v, manifest).into_owned())
}

/// Polygons, points and custom themes: candidate pairs, scored in parallel, then clusters.
pub(crate) fn merge_pairs(
    theme: &Theme,
    features: Vec<Feature>,
    rules: &ThemeRules,
    ctx: &MergeContext<'_>,
    result: &mut ThemeMerge,
) -> Vec<Feature> {
    let mut clock = std::time::Instant::now();
    let geoms: Vec<&Geometry<f64>> = features.iter().map(|f| &f.geometry).collect();
    let prepared: Vec<Prepared> = features
        .par_iter()
        .map(|f| Prepared {
            digest: exact::geometry_digest(&f.geometry, rules.grid_m),
            key: key_of(f, rules.key.as_deref(), theme, ctx.manifest),
            polygon: is_polygonal(&f.geometry).then(|| f.geometry.unsigned_area()),
            point: point::as_point(&f.geometry),
        })
        .collect();
    let within = rules.within_delivery;
    result.stats.lap("prepare", &mut clock);
    let pairs = candidates::pairs(&geoms, rules.tolerance_m, |i, j| {
        within || features[i].provenance.delivery != features[j].provenance.delivery
    });
    let mut scored: Vec<Scored> = pairs
        .par_iter()
        .map(|&(i, j)| score_pair(i, j, &features, &prepared, rules))
        .collect();
    result.stats.lap("candidates+score", &mut clock);
    // Clusters, strongest matches first; a match that would chain two features of one
    // delivery, or a logged conflict, into one cluster is kept for review instead.
    let mut deliveries: Vec<&str> = features
        .iter()
        .map(|f| f.provenance.delivery.as_str())
        .collect();
    deliveries.sort_unstable();
    deliveries.dedup();
    let group: Vec<u32> = features
        .iter()
        .map(|f| {
            deliveries
                .binary_search(&f.provenance.delivery.as_str())
                .unwrap_or(0) as u32
        })
        .collect();
    // Pairs with evidence that they are different objects: never joined through a third.
    let conflicts = scored
        .iter()
        .filter(|s| {
            matches!(
                s.verdict,
                Verdict::Conflict(_)
                    | Verdict::Review(..)
                    | Verdict::Overlap(..)
                    | Verdict::Distinct
            )
        })
        .map(|s| (s.i, s.j))
        .collect();
    let mut uf = GuardedUnion::new(group, within, conflicts);
    let mut merges: Vec<usize> = (0..scored.len())
        .filter(|&k| matches!(scored[k].verdict, Verdict::Merge(..)))
        .collect();
    let score_of = |s: &Scored| match s.verdict {
        Verdict::Merge(_, score, _) => score,
        _ => 0.0,
    };
    merges.sort_by(|&x, &y| {
        score_of(&scored[y])
            .total_cmp(&score_of(&scored[x]))
            .then((scored[x].i, scored[x].j).cmp(&(scored[y].i, scored[y].j)))
    });
    for k in merges {
        let s = &mut scored[k];
        if let Err(why) = uf.try_union(s.i, s.j) {
            if let Verdict::Merge(matcher, _, reason) = &s.verdict {
                s.verdict = Verdict::Review(
                    matcher,
                    format!("{reason}, but not merged: {why} (a chain of matches)"),
                );
            }
        }
    }
    let updated = rules.updated_field.as_deref();
    // Overlaps to cut out of a feature (`clip_overlaps`), by feature.
    // Overlaps to cut (`clip_overlaps`): (loser, winner, overlap, the log row), applied once the
    // clusters are known — only between two features that both survive.
    let mut clip_candidates: Vec<(usize, usize, MultiPolygon<f64>, Decision)> = Vec::new();
    // Rows of the decisions log for merged pairs, with one of the pair.
    let mut merged_rows: Vec<(usize, usize)> = Vec::new();
    for s in scored {
        let (a, b) = (&features[s.i], &features[s.j]);
        let (kept, other) = if cmp_survivor(a, b, ctx.manifest, updated).is_le() {
            (a, b)
        } else {
            (b, a)
        };
        let at = anchor(&kept.geometry);
        let different_communes = a.provenance.commune != b.provenance.commune;
        let decision =
            |matcher: &'static str, score: f64, what: &'static str, reason: String| Decision {
                theme: theme.name().to_string(),
                matcher,
                score,
                decision: what,
                reason,
                kept: locator(&kept.provenance),
                other: locator(&other.provenance),
                survivor: String::new(),
                iou: s.iou,
                smaller_overlap: s.smaller,
                distance_m: s.distance,
                x: at.x,
                y: at.y,
            };
        let qa_item = |kind: &'static str,
                       measure: f64,
                       detail: String,
                       geometry: Option<Geometry<f64>>| QaItem {
            theme: theme.name().to_string(),
            kind,
            a: locator(&a.provenance),
            b: locator(&b.provenance),
            commune_a: a.provenance.commune.clone(),
            commune_b: b.provenance.commune.clone(),
            measure,
            detail,
            geometry,
        };
        // Both kept, with the reason logged and the overlap in QA.
        let keep_both = |what: &'static str,
                         matcher: &'static str,
                         score: f64,
                         reason: String,
                         inter: Option<MultiPolygon<f64>>| {
            let area = inter.as_ref().map_or(0.0, |m| m.unsigned_area());
            (
                decision(matcher, score, what, reason.clone()),
                qa_item(what, area, reason, inter.map(Geometry::from)),
            )
        };
        match s.verdict {
            Verdict::Merge(matcher, score, reason) => {
                result.stats.matches += 1;
                let why = format!(
                    "{reason}; {}",
                    deciding_criterion(kept, other, ctx.manifest, updated)
                );
                merged_rows.push((result.decisions.len(), s.i));
                result
                    .decisions
                    .push(decision(matcher, score, "merged", why));
            }
            Verdict::Review(matcher, reason) => {
                result.stats.reviews += 1;
                let score = s.smaller.unwrap_or(0.0);
                let (row, item) = keep_both("review", matcher, score, reason, s.intersection);
                result.decisions.push(row);
                result.qa.push(item);
            }
            Verdict::Conflict(reason) => {
                result.stats.conflicts += 1;
                let matcher = if rules.key.is_some() { "key" } else { "exact" };
                let score = s.iou.unwrap_or(0.0);
                let (row, item) = keep_both("conflict", matcher, score, reason, s.intersection);
                result.decisions.push(row);
                result.qa.push(item);
            }
            Verdict::Overlap(area) => {
                let geometry = s.intersection;
                if different_communes && area >= rules.min_overlap_area_m2 {
                    result.stats.overlaps += 1;
                    let detail = format!(
                        "different objects overlap by {area:.2} m² (smaller overlap {:.3}, IoU {:.3}): both kept",
                        s.smaller.unwrap_or(0.0),
                        s.iou.unwrap_or(0.0)
                    );
                    if let (true, Some(g)) = (rules.clip_overlaps, &geometry) {
                        // The copy that ranks lower in the survivor order gives the overlap up.
                        let (loser, winner) = if std::ptr::eq(other, a) {
                            (s.i, s.j)
                        } else {
                            (s.j, s.i)
                        };
                        clip_candidates.push((
                            loser,
                            winner,
                            g.clone(),
                            decision(
                                "overlap",
                                s.smaller.unwrap_or(0.0),
                                "clipped",
                                format!(
                                "overlap of {area:.2} m² cut out of the lower-ranked feature ({})",
                                deciding_criterion(kept, other, ctx.manifest, updated)
                            ),
                            ),
                        ));
                    }
                    result.qa.push(qa_item(
                        "overlap",
                        area,
                        detail,
                        geometry.map(Geometry::from),
                    ));
                }
            }
            Verdict::Distinct | Verdict::Nothing => {}
        }
    }
    // Clusters: the survivor keeps its geometry, takes the others' missing attributes and
    // lists every copy in `sources`.
    let mut survivor_of: Vec<Option<usize>> = vec![None; features.len()];
    let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    result.stats.lap("decide", &mut clock);
    for mut members in uf.groups() {
        members.sort_by(|&x, &y| cmp_survivor(&features[x], &features[y], ctx.manifest, updated));
        for &m in &members[1..] {
            survivor_of[m] = Some(members[0]);
        }
        clusters.insert(members[0], members);
    }
    // A merged pair's row names the cluster's survivor too (with chains, it may be a third
    // feature).
    for (row, i) in merged_rows {
        let s = survivor_of[i].unwrap_or(i);
        result.decisions[row].survivor = locator(&features[s].provenance);
    }
    let mut clips: BTreeMap<usize, Vec<(MultiPolygon<f64>, Decision)>> = BTreeMap::new();
    for (loser, winner, overlap, row) in clip_candidates {
        if survivor_of[loser].is_none() && survivor_of[winner].is_none() {
            clips.entry(loser).or_default().push((overlap, row));
        } else {
            result.warnings.push(format!(
                "{}: overlap not clipped, one of the pair was merged into another feature",
                row.other
            ));
        }
    }
    result.stats.lap("clusters", &mut clock);
    drop(prepared);
    result.stats.lap("drop", &mut clock);
    let mut absorbed: BTreeMap<usize, Feature> = BTreeMap::new();
    let mut kept: Vec<(usize, Feature)> = Vec::with_capacity(features.len());
    for (i, f) in features.into_iter().enumerate() {
        if survivor_of[i].is_some() {
            absorbed.insert(i, f);
        } else {
            kept.push((i, f));
        }
    }
    result.stats.merged_away += absorbed.len();
    result.stats.lap("split", &mut clock);
    // Survivors, in parallel: attributes filled, `sources`, overlaps clipped on request.
    type Clipped = Option<Result<Vec<Decision>, String>>;
    let (out, clipped): (Vec<Feature>, Vec<Clipped>) = kept
        .into_par_iter()
        .map(|(i, mut f)| {
            let others: Vec<&Feature> = clusters
                .get(&i)
                .map(|m| m[1..].iter().filter_map(|o| absorbed.get(o)).collect())
                .unwrap_or_default();
            // The merge adds up to four fields: one allocation, not one each.
            f.attributes.reserve(4);
            fill_attributes(&mut f, &others);
            let sources = sources_json(
                std::iter::once(&f.provenance).chain(others.iter().map(|o| &o.provenance)),
            );
            f.set(crate::SOURCES_FIELD, Value::Text(sources));
            let clipped =
                clips
                    .get(&i)
                    .map(|cuts| match clip(&f.geometry, cuts.iter().map(|c| &c.0)) {
                        Some(g) => {
                            f.geometry = g;
                            // Logged once done, not before.
                            Ok(cuts.iter().map(|c| c.1.clone()).collect())
                        }
                        None => Err(format!(
                    "{}: the overlaps could not be cut out (overlay failed); left as delivered",
                    locator(&f.provenance)
                )),
                    });
            (f, clipped)
        })
        .unzip();
    for c in clipped.into_iter().flatten() {
        match c {
            Ok(rows) => {
                result.stats.clipped += rows.len();
                result.decisions.extend(rows);
            }
            Err(w) => result.warnings.push(w),
        }
    }
    out
}

/// `g` minus every cut, or `None` when the overlay fails or nothing would be left.
fn clip<'a>(
    g: &Geometry<f64>,
    cuts: impl Iterator<Item = &'a MultiPolygon<f64>>,
) -> Option<Geometry<f64>> {
    use geo::BooleanOps;
    let mut shape = as_multipolygon(g)?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for c in cuts {
            shape = shape.difference(c);
        }
    }))
    .ok()?;
    match shape.0.len() {
        0 => None,
        1 => shape.0.pop().map(Geometry::Polygon),
        _ => Some(Geometry::MultiPolygon(shape)),
    }
}

fn score_pair(
    i: usize,
    j: usize,
    features: &[Feature],
    p: &[Prepared],
    rules: &ThemeRules,
) -> Scored {
    let (a, b) = (&p[i], &p[j]);
    let mut s = Scored {
        i,
        j,
        verdict: Verdict::Nothing,
        iou: None,
        smaller: None,
        distance: None,
        intersection: None,
    };
    // Two objects of different types (a mast and a lantern, wastewater and rainwater) are
    // never the same object, whatever the geometry says.
    if let Some(t) = rules.type_field.as_deref() {
        let (ta, tb) = (features[i].get(t), features[j].get(t));
        if !point::same_type(ta, tb) {
            s.verdict = Verdict::Distinct;
            return s;
        }
    }
    let keys = match (&a.key, &b.key) {
        (Some(x), Some(y)) => Some(x == y),
        _ => None,
    };
    let key_text = || {
        format!(
            "{} vs {}",
            a.key.as_deref().unwrap_or("-"),
            b.key.as_deref().unwrap_or("-")
        )
    };
    let exact = a.digest == b.digest
        && exact::geometry_key(&features[i].geometry, rules.grid_m)
            == exact::geometry_key(&features[j].geometry, rules.grid_m);
    if exact {
        s.iou = Some(1.0);
        s.smaller = Some(1.0);
        s.verdict = match keys {
            Some(false) => Verdict::Conflict(format!(
                "same geometry (to {} m) but different keys {}: both kept",
                rules.grid_m,
                key_text()
            )),
            _ => Verdict::Merge(
                "exact",
                1.0,
                format!("same geometry once snapped to {} m", rules.grid_m),
            ),
        };
        return s;
    }
    if let (Some(aa), Some(ab)) = (a.polygon, b.polygon) {
        let Some(o) = overlap(&features[i].geometry, aa, &features[j].geometry, ab) else {
            s.verdict = Verdict::Conflict(
                "the overlay of these two polygons failed: compare them by hand".into(),
            );
            return s;
        };
        s.iou = Some(o.iou);
        s.smaller = Some(o.smaller_overlap);
        s.verdict = match keys {
            Some(true) if o.iou >= rules.key_min_iou => Verdict::Merge(
                "key",
                o.iou,
                format!(
                    "same key {}, IoU {:.3}",
                    a.key.as_deref().unwrap_or(""),
                    o.iou
                ),
            ),
            Some(true) => Verdict::Conflict(format!(
                "same key {} but the geometries disagree (IoU {:.3} < {}): both kept",
                a.key.as_deref().unwrap_or(""),
                o.iou,
                rules.key_min_iou
            )),
            Some(false) if o.smaller_overlap >= rules.min_overlap => Verdict::Conflict(format!(
                "different keys {} but overlapping {:.0} % (smaller overlap): both kept",
                key_text(),
                o.smaller_overlap * 100.0
            )),
            None if o.iou >= rules.min_iou && o.smaller_overlap >= rules.min_overlap => {
                Verdict::Merge(
                    "overlap",
                    o.iou,
                    format!(
                        "IoU {:.3} ≥ {}, smaller overlap {:.3} ≥ {}",
                        o.iou, rules.min_iou, o.smaller_overlap, rules.min_overlap
                    ),
                )
            }
            None if o.smaller_overlap >= rules.review_overlap => Verdict::Review(
                "overlap",
                format!(
                    "smaller overlap {:.3} (review band {}–{}), IoU {:.3}: both kept",
                    o.smaller_overlap, rules.review_overlap, rules.min_overlap, o.iou
                ),
            ),
            _ => Verdict::Overlap(o.intersection_area),
        };
        // One copy of the overlap, reported with a review, a conflict or an overlap (a merge
        // keeps it too: a chain of matches can turn it into a review).
        s.intersection = o.intersection;
        return s;
    }
    if let (Some(pa), Some(pb)) = (a.point, b.point) {
        if keys == Some(false) {
            s.verdict = Verdict::Distinct;
            return s;
        }
        let tf = rules.type_field.as_deref();
        let ta = tf.and_then(|t| features[i].get(t));
        let tb = tf.and_then(|t| features[j].get(t));
        if let Some((score, d)) = point::score(pa, ta, pb, tb, rules.tolerance_m) {
            s.distance = Some(d);
            s.verdict = Verdict::Merge(
                "point",
                score,
                format!(
                    "{d:.2} m apart (tolerance {} m), same type",
                    rules.tolerance_m
                ),
            );
        }
    }
    s
}
