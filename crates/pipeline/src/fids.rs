//! The fids of the merged features in `merged.gpkg`, kept from one build to the next.
//!
//! A feature that did not change keeps the fid it had (a GIS team's joins, selections and
//! notes on fids survive the nightly rebuild); a new one takes a fid above the others. Then
//! the last GeoPackage can be updated in place — rows gone deleted, rows come inserted —
//! instead of being written again whole, and both give the same rows.

use crate::changes::Digest;
use crate::gpkg::LayerChange;
use std::collections::{HashMap, VecDeque};

/// The fids of features whose digests are `new` (in merge order), given the last build's
/// `(digests, fids)`: each feature found there (same digest; identical features in turn)
/// keeps its fid, the others get fids above every last one, in order. Without a last build:
/// 1, 2, 3…. Returns the fids and what changed since the last build.
pub(crate) fn assign(new: &[Digest], last: Option<(&[Digest], &[i64])>) -> (Vec<i64>, LayerChange) {
    let Some((digests, fids)) = last.filter(|(d, f)| d.len() == f.len()) else {
        return numbered(new.len());
    };
    let mut pool: HashMap<&Digest, VecDeque<i64>> = HashMap::with_capacity(digests.len());
    for (d, f) in digests.iter().zip(fids) {
        pool.entry(d).or_default().push_back(*f);
    }
    let mut next = fids.iter().copied().max().unwrap_or(0) + 1;
    let mut come = Vec::new();
    let assigned = new
        .iter()
        .enumerate()
        .map(
            |(i, d)| match pool.get_mut(d).and_then(VecDeque::pop_front) {
                Some(f) => f,
                None => {
                    come.push(i);
                    next += 1;
                    next - 1
                }
            },
        )
        .collect();
    let mut gone: Vec<i64> = pool.into_values().flatten().collect();
    gone.sort_unstable();
    (assigned, LayerChange { gone, come })
}

/// Fids 1, 2, 3… for `n` features, all of them come.
pub(crate) fn numbered(n: usize) -> (Vec<i64>, LayerChange) {
    let fids = (1..=n as i64).collect();
    let come = (0..n).collect();
    (
        fids,
        LayerChange {
            gone: Vec::new(),
            come,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        [n; 16]
    }

    #[test]
    fn without_a_last_build_fids_count_from_one() {
        let (fids, change) = assign(&[d(1), d(2), d(3)], None);
        assert_eq!(fids, [1, 2, 3]);
        assert_eq!((change.gone, change.come), (vec![], vec![0, 1, 2]));
    }

    #[test]
    fn unchanged_features_keep_their_fids_and_new_ones_come_above() {
        let last = [d(1), d(2), d(3), d(4)];
        let last_fids = [1, 2, 3, 4];
        // 2 gone, 9 come between 3 and 4, 4 unchanged, 8 come last.
        let (fids, change) = assign(&[d(1), d(3), d(9), d(4), d(8)], Some((&last, &last_fids)));
        assert_eq!(fids, [1, 3, 5, 4, 6]);
        assert_eq!((change.gone, change.come), (vec![2], vec![2, 4]));
        // Nothing changed: nothing to do.
        let (fids, change) = assign(&last, Some((&last, &last_fids)));
        assert_eq!(fids, last_fids);
        assert!(change.gone.is_empty() && change.come.is_empty());
    }

    #[test]
    fn identical_features_take_the_fids_in_turn() {
        let last = [d(7), d(7), d(5)];
        let (fids, change) = assign(&[d(7), d(5), d(7), d(7)], Some((&last, &[10, 11, 12])));
        assert_eq!(fids, [10, 12, 11, 13]);
        assert_eq!((change.gone, change.come), (vec![], vec![3]));
    }
}
