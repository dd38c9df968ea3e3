//! A stable order of features, independent of the manifest's order and of threads.

use std::cmp::Ordering;
use tuilerie_model::{Feature, Provenance};

/// Compare two source ids: numbers first, by value (`9` before `10`), then the other ids as
/// text. A total order (mixing "numeric when both are" with "text otherwise" is not
/// transitive: 9 < 10 < "1a" < 9, and sorting may then panic).
fn cmp_id(a: &str, b: &str) -> Ordering {
    let key = |s: &str| match s.parse::<u64>() {
        Ok(n) => (false, n),
        Err(_) => (true, 0),
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Commune, delivery, layer, then source id.
pub fn cmp_provenance(a: &Provenance, b: &Provenance) -> Ordering {
    a.commune
        .cmp(&b.commune)
        .then_with(|| a.delivery.cmp(&b.delivery))
        .then_with(|| a.layer.cmp(&b.layer))
        .then_with(|| cmp_id(&a.source_id, &b.source_id))
}

/// Sort features in place by [`cmp_provenance`]; ties (the same source id twice) keep their
/// geometry order so that even a malformed delivery sorts the same way every time.
pub fn sort_features(features: &mut [Feature]) {
    use rayon::slice::ParallelSliceMut;
    features.par_sort_by(|a, b| {
        cmp_provenance(&a.provenance, &b.provenance).then_with(|| {
            let ka = crate::exact::geometry_key(&a.geometry, 1e-6);
            let kb = crate::exact::geometry_key(&b.geometry, 1e-6);
            ka.cmp(&kb)
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_numbers_first_then_text_transitively() {
        let mut ids = vec!["1a", "10", "9", "b", "007"];
        ids.sort_by(|a, b| cmp_id(a, b));
        assert_eq!(ids, vec!["007", "9", "10", "1a", "b"]);
    }
}
