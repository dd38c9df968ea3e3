//! Connected components of a line network: two lines are connected when they share a vertex
//! (to the centimetre). Used to show that a merge keeps a network at least as connected as
//! its sources.

use crate::cluster::UnionFind;
use crate::segment::vertex_key;
use geo::Coord;
use std::collections::HashMap;

/// The number of connected components among `lines` (each a list of parts).
pub fn count<'a>(lines: impl Iterator<Item = &'a [Vec<Coord<f64>>]>) -> usize {
    let mut owner: HashMap<(i64, i64), usize> = HashMap::new();
    let mut n = 0;
    let mut links: Vec<(usize, usize)> = Vec::new();
    for (i, parts) in lines.enumerate() {
        n = i + 1;
        for c in parts.iter().flatten() {
            match owner.entry(vertex_key(*c)) {
                std::collections::hash_map::Entry::Occupied(e) => links.push((*e.get(), i)),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
    }
    let mut uf = UnionFind::new(n);
    for (a, b) in links {
        uf.union(a, b);
    }
    (0..n).filter(|&i| uf.find(i) == i).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_vertices_connect() {
        let c = |x: f64, y: f64| Coord { x, y };
        let a = vec![vec![c(0.0, 0.0), c(1.0, 0.0)]];
        let b = vec![vec![c(1.0, 0.0), c(2.0, 0.0)]];
        let d = vec![vec![c(5.0, 0.0), c(6.0, 0.0)]];
        assert_eq!(
            count([a.as_slice(), b.as_slice(), d.as_slice()].into_iter()),
            2
        );
    }
}
