//! A stable order of features, independent of the manifest's order and of threads.

use std::cmp::Ordering;
use tuilerie_model::{Feature, Provenance};

/// Compare two source ids: numerically when both are numbers (`9` before `10`), else as text.
fn cmp_id(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
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
