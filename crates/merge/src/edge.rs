//! Edge-matching of networks: after the merge, a line end left dangling within `snap_m` of a
//! line from another former commune is snapped onto it (onto its nearest vertex when one is
//! within reach, else onto the nearest point, where a vertex is inserted), so that the network
//! stays connected across the old boundaries. Ends are visited in a stable order; an end that
//! another end has already been snapped to is no longer dangling.

use crate::segment::{dist, insert_vertex, project, vertex_key};
use geo::Coord;
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::RTree;
use std::collections::HashMap;

/// One snap: which end of which line moved, onto which line, how far.
#[derive(Debug, Clone, PartialEq)]
pub struct Snap {
    pub line: usize,
    pub onto: usize,
    pub distance: f64,
    pub at: Coord<f64>,
}

/// Snap dangling ends of `lines` (parts per line, in survivor order) onto lines of another
/// `commune`. The last lines are visited first, so that a less trusted line moves onto a more
/// trusted one rather than the reverse.
pub fn snap_ends(lines: &mut [Vec<Vec<Coord<f64>>>], commune: &[&str], snap_m: f64) -> Vec<Snap> {
    if snap_m <= 0.0 {
        return Vec::new();
    }
    let mut uses: HashMap<(i64, i64), usize> = HashMap::new();
    for c in lines.iter().flatten().flatten() {
        *uses.entry(vertex_key(*c)).or_default() += 1;
    }
    let segs: Vec<GeomWithData<RLine<[f64; 2]>, usize>> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, parts)| {
            parts
                .iter()
                .flat_map(|p| p.windows(2))
                .map(move |w| GeomWithData::new(RLine::new([w[0].x, w[0].y], [w[1].x, w[1].y]), i))
        })
        .collect();
    let tree = RTree::bulk_load(segs);
    let mut snaps = Vec::new();
    for i in (0..lines.len()).rev() {
        for pi in 0..lines[i].len() {
            for end in [0usize, 1] {
                let part = &lines[i][pi];
                if part.len() < 2 {
                    continue;
                }
                let e = if end == 0 {
                    part[0]
                } else {
                    part[part.len() - 1]
                };
                if uses.get(&vertex_key(e)).copied().unwrap_or(0) > 1 {
                    continue;
                }
                // The nearest point of a line from another commune. The tree, built before any
                // snap, only names the candidate lines (searched twice as far, as an earlier
                // snap may have moved an end by up to `snap_m`); the point is taken on their
                // current geometry.
                let mut near: Vec<usize> = tree
                    .locate_within_distance([e.x, e.y], 4.0 * snap_m * snap_m)
                    .map(|s| s.data)
                    .filter(|&j| j != i && commune[j] != commune[i])
                    .collect();
                near.sort_unstable();
                near.dedup();
                let mut best: Option<(usize, Coord<f64>, f64)> = None;
                for j in near {
                    for w in lines[j].iter().flat_map(|p| p.windows(2)) {
                        let q = project(e, w[0], w[1]);
                        let d = dist(e, q);
                        if d <= snap_m && best.is_none_or(|x| d < x.2) {
                            best = Some((j, q, d));
                        }
                    }
                }
                let Some((j, q, _)) = best else { continue };
                // Prefer a vertex of that line within reach (an end, typically).
                let target = lines[j]
                    .iter()
                    .flatten()
                    .map(|v| (*v, dist(*v, e)))
                    .filter(|(_, dv)| *dv <= snap_m)
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(v, _)| v);
                let at = match target {
                    Some(v) => v,
                    None => {
                        insert_vertex(&mut lines[j], q);
                        q
                    }
                };
                let part = &mut lines[i][pi];
                if end == 0 {
                    part[0] = at;
                } else {
                    let n = part.len();
                    part[n - 1] = at;
                }
                *uses.entry(vertex_key(at)).or_default() += 2;
                snaps.push(Snap {
                    line: i,
                    onto: j,
                    distance: dist(e, at),
                    at,
                });
            }
        }
    }
    snaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn ends_across_a_boundary_are_snapped_within_reach_only() {
        let mut lines = vec![
            vec![vec![c(0.0, 0.0), c(100.0, 0.0)]],
            // Ends 0.7 m from the first line's end, in another commune: snapped.
            vec![vec![c(100.5, 0.5), c(200.0, 0.0)]],
            // A T-junction 1.2 m short of the first line: snapped onto it, vertex inserted.
            vec![vec![c(50.0, 1.2), c(50.0, 80.0)]],
            // 5 m away: left alone.
            vec![vec![c(-5.0, 0.0), c(-50.0, 0.0)]],
        ];
        let snaps = snap_ends(&mut lines, &["a", "b", "b", "b"], 2.0);
        assert_eq!(snaps.len(), 2, "{snaps:?}");
        assert_eq!(lines[1][0][0], c(100.0, 0.0));
        assert_eq!(lines[2][0][0], c(50.0, 0.0));
        assert!(lines[0][0].contains(&c(50.0, 0.0)));
        assert_eq!(lines[3][0][0], c(-5.0, 0.0));
        let parts: Vec<&[Vec<Coord<f64>>]> = lines.iter().map(|l| l.as_slice()).collect();
        assert_eq!(crate::components::count(parts.into_iter()), 2);
    }

    #[test]
    fn same_commune_ends_are_not_edge_matched() {
        let mut lines = vec![
            vec![vec![c(0.0, 0.0), c(100.0, 0.0)]],
            vec![vec![c(100.5, 0.5), c(200.0, 0.0)]],
        ];
        assert!(snap_ends(&mut lines, &["a", "a"], 2.0).is_empty());
    }
}
