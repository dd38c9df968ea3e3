//! The line matcher: partial matches between sub-lines.
//!
//! Two deliveries cut the same road at different places (each reaches beyond its commune's
//! boundary), and one may be offset by a survey error. Lines are taken in survivor order; each
//! is sampled every `sample_m`, and a sample is *covered* when a line already accepted from
//! another delivery runs within the tolerance in a direction within `max_angle_deg`. Covered
//! runs are duplicates and are dropped; uncovered runs are kept. A kept run that starts where
//! the accepted line ends is appended to it, so that the road comes out as one continuous
//! line; otherwise its end is snapped onto the accepted line (a vertex is inserted there), so
//! the network stays connected. Nothing is lost (every uncovered metre is kept) and nothing is
//! doubled (every covered metre is dropped).

use crate::segment::{dist, insert_vertex, project};
use geo::{Coord, Geometry, LineString, MultiLineString};
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::RTree;

/// One input line feature, in survivor order.
pub struct LineFeature<'a> {
    pub geometry: &'a Geometry<f64>,
    /// Features of the same group (delivery) are never matched with each other.
    pub group: usize,
    /// The value of the theme's type field: lines of different types never match.
    pub kind: Option<String>,
}

/// Thresholds of the line matcher.
#[derive(Debug, Clone, Copy)]
pub struct LineRules {
    pub tolerance: f64,
    pub max_angle_deg: f64,
    pub sample: f64,
    /// Covered runs shorter than this are not duplicates (a road meeting another at a
    /// junction runs close to it for a metre or two).
    pub min_match: f64,
}

/// What became of one input line.
#[derive(Debug, Clone, Default)]
pub struct LineOutcome {
    /// Its kept parts (empty when it was absorbed entirely).
    pub parts: Vec<Vec<Coord<f64>>>,
    /// Other inputs that duplicated part of this one, or whose rest was appended to it: its
    /// sources.
    pub absorbed: Vec<usize>,
    /// Of those, the ones that became part of it (absorbed whole, or appended): they fill its
    /// missing attributes. A line that only ran alongside for a while is another road.
    pub fillers: Vec<usize>,
    /// Matches found for this line: (accepted line, metres covered, mean distance, appended).
    pub matches: Vec<LineMatch>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineMatch {
    pub against: usize,
    pub covered_m: f64,
    pub mean_distance_m: f64,
    pub total_m: f64,
    /// The uncovered rest was appended to `against` (one continuous line).
    pub appended: bool,
}

type Seg = GeomWithData<RLine<[f64; 2]>, (usize, usize)>;

struct Sample {
    s: f64,
    at: Coord<f64>,
    /// Index of the segment the sample lies on.
    seg: usize,
    /// Best match: (owner, distance, projected point, angle in degrees).
    hit: Option<(usize, f64, Coord<f64>, f64)>,
}

/// The parts of a line geometry as coordinate lists (nothing for other geometries).
pub(crate) fn parts_of(g: &Geometry<f64>) -> Vec<Vec<Coord<f64>>> {
    match g {
        Geometry::LineString(l) => vec![l.0.clone()],
        Geometry::MultiLineString(m) => m.0.iter().map(|l| l.0.clone()).collect(),
        Geometry::Line(l) => vec![vec![l.start, l.end]],
        _ => Vec::new(),
    }
}

/// The direction of segment `k` of a line; a zero-length segment (a repeated vertex) takes
/// the direction of the nearest segment that has one.
fn direction(line: &[Coord<f64>], k: usize) -> Coord<f64> {
    let seg = |i: usize| Coord {
        x: line[i + 1].x - line[i].x,
        y: line[i + 1].y - line[i].y,
    };
    let n = line.len().saturating_sub(1);
    (k..n)
        .chain((0..k.min(n)).rev())
        .map(seg)
        .find(|d| d.x != 0.0 || d.y != 0.0)
        .unwrap_or(Coord { x: 0.0, y: 0.0 })
}

/// The angle (degrees, 0–90) between two undirected directions.
fn angle(u: Coord<f64>, v: Coord<f64>) -> f64 {
    let n = u.x.hypot(u.y) * v.x.hypot(v.y);
    if n == 0.0 {
        // No direction (a repeated vertex): nothing to agree with.
        return 90.0;
    }
    ((u.x * v.x + u.y * v.y).abs() / n)
        .min(1.0)
        .acos()
        .to_degrees()
}

fn samples(line: &[Coord<f64>], step: f64) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut s0 = 0.0;
    let mut next = 0.0;
    for k in 0..line.len().saturating_sub(1) {
        let (a, b) = (line[k], line[k + 1]);
        let len = dist(a, b);
        while next <= s0 + len {
            let t = if len > 0.0 { (next - s0) / len } else { 0.0 };
            out.push(Sample {
                s: next,
                at: Coord {
                    x: a.x + t * (b.x - a.x),
                    y: a.y + t * (b.y - a.y),
                },
                seg: k,
                hit: None,
            });
            next += step;
        }
        s0 += len;
    }
    // Always sample the last vertex.
    if let Some(&last) = line.last() {
        if out.last().is_none_or(|x| x.s < s0) && line.len() > 1 {
            out.push(Sample {
                s: s0,
                at: last,
                seg: line.len() - 2,
                hit: None,
            });
        }
    }
    out
}

/// The sub-polyline of `line` between arc positions `from` and `to`.
fn cut(line: &[Coord<f64>], from: f64, to: f64) -> Vec<Coord<f64>> {
    let mut out = Vec::new();
    let mut s0 = 0.0;
    for k in 0..line.len().saturating_sub(1) {
        let (a, b) = (line[k], line[k + 1]);
        let len = dist(a, b);
        let s1 = s0 + len;
        let at = |s: f64| {
            let t = if len > 0.0 {
                ((s - s0) / len).clamp(0.0, 1.0)
            } else {
                0.0
            };
            Coord {
                x: a.x + t * (b.x - a.x),
                y: a.y + t * (b.y - a.y),
            }
        };
        if s1 >= from && s0 <= to {
            if out.is_empty() {
                out.push(at(from.max(s0)));
            }
            let end = at(to.min(s1));
            if out.last() != Some(&end) {
                out.push(end);
            }
        }
        s0 = s1;
    }
    out
}

fn length(line: &[Coord<f64>]) -> f64 {
    line.windows(2).map(|w| dist(w[0], w[1])).sum()
}

fn segments(parts: &[Vec<Coord<f64>>], owner: usize, group: usize) -> Vec<Seg> {
    parts
        .iter()
        .flat_map(|p| p.windows(2))
        .filter(|w| w[0] != w[1])
        .map(|w| {
            GeomWithData::new(
                RLine::new([w[0].x, w[0].y], [w[1].x, w[1].y]),
                (owner, group),
            )
        })
        .collect()
}

/// Match lines given in survivor order (the first of a pair is the one kept).
pub fn match_lines(lines: &[LineFeature<'_>], rules: &LineRules) -> Vec<LineOutcome> {
    let mut out: Vec<LineOutcome> = vec![LineOutcome::default(); lines.len()];
    let mut tree: RTree<Seg> = RTree::new();
    let tol2 = rules.tolerance * rules.tolerance;
    for (f, lf) in lines.iter().enumerate() {
        let mut new_segments: Vec<Seg> = Vec::new();
        let mut kept_parts: Vec<Vec<Coord<f64>>> = Vec::new();
        let mut matches: std::collections::BTreeMap<usize, (f64, f64, usize, bool)> =
            Default::default();
        let total: f64 = parts_of(lf.geometry).iter().map(|p| length(p)).sum();
        for part in parts_of(lf.geometry) {
            if part.len() < 2 {
                continue;
            }
            let mut ss = samples(&part, rules.sample);
            for smp in ss.iter_mut() {
                let dir = direction(&part, smp.seg);
                let mut best: Option<(usize, f64, Coord<f64>, f64)> = None;
                for seg in tree.locate_within_distance([smp.at.x, smp.at.y], tol2) {
                    let owner = seg.data.0;
                    if seg.data.1 == lf.group || !same_kind(&lines[owner].kind, &lf.kind) {
                        continue;
                    }
                    let (a, b) = (seg.geom().from, seg.geom().to);
                    let (a, b) = (Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] });
                    let turn = angle(
                        dir,
                        Coord {
                            x: b.x - a.x,
                            y: b.y - a.y,
                        },
                    );
                    if turn > rules.max_angle_deg {
                        continue;
                    }
                    let p = project(smp.at, a, b);
                    let d = dist(p, smp.at);
                    if best.is_none_or(|x| d < x.1 || (d == x.1 && owner < x.0)) {
                        best = Some((owner, d, p, turn));
                    }
                }
                smp.hit = best;
            }
            let covered = runs(&ss, rules);
            if !covered.iter().any(|&c| c) {
                new_segments.extend(segments(std::slice::from_ref(&part), f, lf.group));
                kept_parts.push(part);
                continue;
            }
            // Tally the matches of the covered samples.
            for (i, smp) in ss.iter().enumerate() {
                if let (true, Some((owner, d, _, _))) = (covered[i], smp.hit) {
                    let step = if i + 1 < ss.len() {
                        ss[i + 1].s - smp.s
                    } else {
                        0.0
                    };
                    let e = matches.entry(owner).or_insert((0.0, 0.0, 0, false));
                    e.0 += step;
                    e.1 += d;
                    e.2 += 1;
                }
            }
            // The uncovered runs, as pieces with the points they attach to.
            let mut i = 0;
            while i < ss.len() {
                if covered[i] {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < ss.len() && !covered[i] {
                    i += 1;
                }
                let end = i - 1;
                let from = if start == 0 { 0.0 } else { ss[start].s };
                let to = if i == ss.len() {
                    ss[end].s.max(length(&part))
                } else {
                    ss[end].s
                };
                let mut piece = cut(&part, from, to);
                // The matches on either side (a smoothed-over sample has none: look further).
                let before = (0..start)
                    .rev()
                    .take_while(|&k| covered[k])
                    .find_map(|k| ss[k].hit);
                let after = (i..ss.len())
                    .take_while(|&k| covered[k])
                    .find_map(|k| ss[k].hit);
                if let Some((_, _, p, _)) = before {
                    piece.insert(0, p);
                }
                if let Some((_, _, p, _)) = after {
                    piece.push(p);
                }
                if piece.len() < 2 || length(&piece) < rules.sample.min(rules.tolerance) / 2.0 {
                    continue;
                }
                // Append to the accepted line when the piece starts or ends at one of its ends.
                let mut appended = false;
                for (side, hit) in [(0usize, before), (1, after)] {
                    let Some((owner, _, p, _)) = hit else {
                        continue;
                    };
                    if appended {
                        insert_vertex(&mut out[owner].parts, p);
                        continue;
                    }
                    let owner_parts = &mut out[owner].parts;
                    let mut done = false;
                    for op in owner_parts.iter_mut() {
                        let (Some(&first), Some(&last)) = (op.first(), op.last()) else {
                            continue;
                        };
                        let mut pc = piece.clone();
                        if side == 1 {
                            pc.reverse();
                        }
                        // pc now starts at the attach point.
                        if dist(last, p) <= rules.tolerance {
                            pc[0] = last;
                            let added = pc[1..].to_vec();
                            new_segments.extend(segments(&[pc.clone()], owner, lf.group));
                            op.extend(added);
                            done = true;
                        } else if dist(first, p) <= rules.tolerance {
                            pc[0] = first;
                            new_segments.extend(segments(&[pc.clone()], owner, lf.group));
                            pc.reverse();
                            pc.pop();
                            pc.extend(op.iter().copied());
                            *op = pc;
                            done = true;
                        }
                        if done {
                            break;
                        }
                    }
                    if done {
                        appended = true;
                        if let Some(m) = matches.get_mut(&owner) {
                            m.3 = true;
                        }
                        if !out[owner].fillers.contains(&f) {
                            out[owner].fillers.push(f);
                        }
                    } else {
                        insert_vertex(&mut out[owner].parts, p);
                    }
                }
                if !appended {
                    new_segments.extend(segments(std::slice::from_ref(&piece), f, lf.group));
                    kept_parts.push(piece);
                }
            }
        }
        for s in new_segments {
            tree.insert(s);
        }
        out[f].parts = kept_parts;
        out[f].matches = matches
            .into_iter()
            .map(|(against, (covered_m, dsum, n, appended))| LineMatch {
                against,
                covered_m,
                mean_distance_m: if n > 0 { dsum / n as f64 } else { 0.0 },
                total_m: total,
                appended,
            })
            .collect();
        // Every line that covered part of this one lists it among its sources; a line absorbed
        // whole also fills the attributes of the line that covered most of it.
        for m in 0..out[f].matches.len() {
            let owner = out[f].matches[m].against;
            if !out[owner].absorbed.contains(&f) {
                out[owner].absorbed.push(f);
            }
        }
        if out[f].parts.is_empty() {
            let best = out[f]
                .matches
                .iter()
                .max_by(|a, b| {
                    a.covered_m
                        .total_cmp(&b.covered_m)
                        .then(b.against.cmp(&a.against))
                })
                .map(|m| m.against);
            if let Some(owner) = best {
                if !out[owner].fillers.contains(&f) {
                    out[owner].fillers.push(f);
                }
            }
        }
    }
    out
}

/// Which samples are covered, after smoothing: short uncovered gaps inside a covered stretch
/// are noise; covered runs shorter than `min_match` are not duplicates.
fn runs(ss: &[Sample], rules: &LineRules) -> Vec<bool> {
    let mut c: Vec<bool> = ss.iter().map(|s| s.hit.is_some()).collect();
    let spans = |c: &[bool], want: bool| {
        let mut v = Vec::new();
        let mut i = 0;
        while i < c.len() {
            if c[i] != want {
                i += 1;
                continue;
            }
            let a = i;
            while i < c.len() && c[i] == want {
                i += 1;
            }
            v.push((a, i - 1));
        }
        v
    };
    for (a, b) in spans(&c, false) {
        let inner = a > 0 && b + 1 < c.len();
        if inner && ss[b + 1].s - ss[a - 1].s <= rules.tolerance * 2.0 {
            c[a..=b].iter_mut().for_each(|x| *x = true);
        }
    }
    for (a, b) in spans(&c, true) {
        // A short run is a duplicate only at an end of the line, and only when it runs
        // parallel: the end of a copy overlapping a kept line's end.
        // Parallel: every angle within a third of the limit (10°). A road meeting another at
        // a shallow junction of θ runs within the tolerance for tolerance / sin θ metres: at
        // 10° that is already longer than `min_match`, so a short run this parallel is the end
        // of a copy, never a junction.
        let at_end = a == 0 || b + 1 == c.len();
        let parallel = ss[a..=b]
            .iter()
            .filter_map(|x| x.hit)
            .all(|(_, _, _, turn)| turn <= rules.max_angle_deg / 3.0);
        if ss[b].s - ss[a].s < rules.min_match && !(at_end && parallel) {
            c[a..=b].iter_mut().for_each(|x| *x = false);
        }
    }
    c
}

fn same_kind(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.trim().to_lowercase() == y.trim().to_lowercase(),
        _ => true,
    }
}

/// The geometry of an outcome: a line, or a multi-line when several runs were kept.
pub fn outcome_geometry(parts: &[Vec<Coord<f64>>]) -> Option<Geometry<f64>> {
    match parts {
        [] => None,
        [one] => Some(LineString::from(one.clone()).into()),
        many => {
            Some(MultiLineString(many.iter().map(|p| LineString::from(p.clone())).collect()).into())
        }
    }
}

/// Total length of a line geometry.
pub fn total_length(g: &Geometry<f64>) -> f64 {
    parts_of(g).iter().map(|p| length(p)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> LineRules {
        LineRules {
            tolerance: 2.0,
            max_angle_deg: 30.0,
            sample: 1.0,
            min_match: 8.0,
        }
    }

    fn line(pts: &[(f64, f64)]) -> Geometry<f64> {
        LineString::from(pts.to_vec()).into()
    }

    /// Match `(geometry, group)` lines in this order.
    fn matched(lines: &[(&Geometry<f64>, usize)]) -> Vec<LineOutcome> {
        let lines: Vec<LineFeature<'_>> = lines
            .iter()
            .map(|(geometry, group)| LineFeature {
                geometry,
                group: *group,
                kind: None,
            })
            .collect();
        match_lines(&lines, &rules())
    }

    #[test]
    fn two_cuts_of_one_road_give_one_continuous_line() {
        // Commune A delivers 0–100 m, commune B 75–200 m surveyed 0.6 m off.
        let a = line(&[(0.0, 0.0), (50.0, 0.0), (100.0, 0.0)]);
        let b = line(&[(75.0, 0.6), (140.0, 0.7), (200.0, 0.6)]);
        let out = matched(&[(&a, 0), (&b, 1)]);
        assert!(out[1].parts.is_empty(), "B's rest was appended to A");
        assert_eq!(out[0].parts.len(), 1);
        let merged = &out[0].parts[0];
        let len = length(merged);
        assert!(
            (len - 200.0).abs() < 0.5,
            "no piece lost, none doubled: {len}"
        );
        assert_eq!(merged[0], Coord { x: 0.0, y: 0.0 });
        assert_eq!(*merged.last().unwrap(), Coord { x: 200.0, y: 0.6 });
        assert_eq!(out[0].absorbed, vec![1]);
        assert!(
            (out[1].matches[0].covered_m - 27.0).abs() < 2.0,
            "{:?}",
            out[1].matches
        );
    }

    #[test]
    fn contained_copy_is_absorbed_and_a_reversed_copy_too() {
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        let b = line(&[(90.0, 0.3), (10.0, -0.3)]);
        let out = matched(&[(&a, 0), (&b, 1)]);
        assert!(out[1].parts.is_empty());
        assert_eq!(
            out[0].parts,
            vec![vec![Coord { x: 0.0, y: 0.0 }, Coord { x: 100.0, y: 0.0 }]]
        );
        assert_eq!(out[0].absorbed, vec![1]);
    }

    #[test]
    fn near_misses_are_kept_a_parallel_street_and_a_crossing_street() {
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        // A parallel street 3 m away (beyond the 2 m tolerance).
        let b = line(&[(0.0, 3.0), (100.0, 3.0)]);
        // A street crossing at right angles.
        let c = line(&[(50.0, -50.0), (50.0, 50.0)]);
        // A street meeting at 20° for its last metres: shorter than the least match.
        let d = line(&[(60.0, 10.0), (80.0, 3.0), (88.0, 0.2)]);
        let out = matched(&[(&a, 0), (&b, 1), (&c, 1), (&d, 1)]);
        for (i, g) in [(1, &b), (2, &c), (3, &d)] {
            assert_eq!(out[i].parts.len(), 1, "line {i} kept whole");
            assert!((length(&out[i].parts[0]) - total_length(g)).abs() < 1e-9);
        }
    }

    #[test]
    fn same_delivery_lines_never_match() {
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        let out = matched(&[(&a, 0), (&a, 0)]);
        assert_eq!(out[1].parts.len(), 1);
    }

    #[test]
    fn a_short_copy_overlapping_the_end_is_not_doubled() {
        // B overlaps A's last 5 m (shorter than the least match), then goes on 5 m.
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        let b = line(&[(95.0, 0.5), (105.0, 0.5)]);
        let out = matched(&[(&a, 0), (&b, 1)]);
        assert!(out[1].parts.is_empty(), "B's rest appended to A");
        let len = length(&out[0].parts[0]);
        assert!((len - 105.0).abs() < 0.6, "no 5 m doubled: {len}");
        // A short copy entirely along A is absorbed too.
        let c = line(&[(40.0, 0.4), (46.0, 0.4)]);
        let out = matched(&[(&a, 0), (&c, 1)]);
        assert!(out[1].parts.is_empty());
        assert_eq!(out[0].absorbed, vec![1]);
    }

    #[test]
    fn a_repeated_vertex_has_the_direction_of_its_neighbour() {
        // A copy 0.8 m off whose first and last vertices are doubled: absorbed whole, no stub.
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        let b = line(&[(10.0, 0.8), (10.0, 0.8), (90.0, 0.8), (90.0, 0.8)]);
        let out = matched(&[(&a, 0), (&b, 1)]);
        assert!(out[1].parts.is_empty(), "{:?}", out[1].parts);
        assert_eq!(
            out[0].parts,
            vec![vec![Coord { x: 0.0, y: 0.0 }, Coord { x: 100.0, y: 0.0 }]]
        );
    }

    #[test]
    fn lines_of_different_types_never_match() {
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        let b = line(&[(0.0, 1.0), (100.0, 1.0)]);
        let kinds = [
            Some("eaux usées".to_string()),
            Some("eaux pluviales".to_string()),
        ];
        let lines = [
            LineFeature {
                geometry: &a,
                group: 0,
                kind: kinds[0].clone(),
            },
            LineFeature {
                geometry: &b,
                group: 1,
                kind: kinds[1].clone(),
            },
        ];
        let out = match_lines(&lines, &rules());
        assert_eq!(
            out[1].parts.len(),
            1,
            "a rainwater pipe beside a wastewater pipe is kept"
        );
    }

    #[test]
    fn a_partly_matched_line_is_among_the_kept_lines_sources() {
        // B runs along A for 60 m, then turns away: its matched part is dropped, the rest kept.
        let a = line(&[(0.0, 0.0), (100.0, 0.0)]);
        let b = line(&[(20.0, 0.5), (80.0, 0.5), (80.0, 60.0)]);
        let out = matched(&[(&a, 0), (&b, 1)]);
        assert_eq!(out[1].parts.len(), 1);
        assert!(
            (length(&out[1].parts[0]) - 60.0).abs() < 2.5,
            "{}",
            length(&out[1].parts[0])
        );
        assert_eq!(out[0].absorbed, vec![1], "B contributed to A");
        assert!(
            out[0].parts[0].contains(&out[1].parts[0][0]),
            "B's rest starts on A (a vertex inserted)"
        );
    }
}
