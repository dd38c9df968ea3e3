//! Criterion benches of the merge stage's hot paths on real parcels (the essonne scenario,
//! ../shared when present, else the bundled fixture), each next to its anchor in the same run:
//!
//! * `overlay/*`: our polygon scoring ([`tuilerie_merge::polygon::overlap`]: envelope test,
//!   overlay in a local frame, IoU and smaller overlap) vs geo's `BooleanOps::intersection`
//!   called directly on the same candidate pairs (the anchor: the overlay alone);
//! * `candidates/*`: the R-tree candidate pairs of all parcels vs a bare `rstar` bulk load and
//!   envelope query over the same envelopes;
//! * `merge/essonne`: the whole `merge_theme` of the scenario's parcels (for the record).
//!
//! Run: `cargo bench -p tuilerie-pipeline --bench merge`

mod common;

use common::essonne;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geo::{Area, BooleanOps, Geometry, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeObject};
use std::time::Duration;
use tuilerie_merge::{candidates, merge_theme, polygon, MergeContext};
use tuilerie_model::Theme;

fn benches(c: &mut Criterion) {
    let (manifest, parcels) = essonne();
    let geoms: Vec<&Geometry<f64>> = parcels.iter().map(|f| &f.geometry).collect();
    let pairs = candidates::pairs(&geoms, 1.0, |i, j| {
        parcels[i].provenance.delivery != parcels[j].provenance.delivery
    });
    let areas: Vec<f64> = geoms.iter().map(|g| g.unsigned_area()).collect();
    let mps: Vec<MultiPolygon<f64>> = geoms
        .iter()
        .map(|g| polygon::as_multipolygon(g).unwrap())
        .collect();

    let mut g = c.benchmark_group("overlay");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("tuilerie-overlap", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter_map(|&(i, j)| polygon::overlap(geoms[i], areas[i], geoms[j], areas[j]))
                .map(|o| o.intersection_area)
                .sum::<f64>()
        })
    });
    g.bench_function("geo-intersection", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|&(i, j)| mps[i].intersection(&mps[j]).unsigned_area())
                .sum::<f64>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("candidates");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    g.throughput(Throughput::Elements(parcels.len() as u64));
    g.bench_function("tuilerie-pairs", |b| {
        b.iter(|| candidates::pairs(&geoms, 1.0, |_, _| true).len())
    });
    g.bench_function("rstar-bare", |b| {
        b.iter(|| {
            let entries: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = geoms
                .iter()
                .enumerate()
                .filter_map(|(i, g)| {
                    let e = candidates::envelope(g, 0.5)?;
                    Some(GeomWithData::new(
                        Rectangle::from_corners(e.lower(), e.upper()),
                        i,
                    ))
                })
                .collect();
            let tree = RTree::bulk_load(entries);
            tree.iter()
                .map(|e| {
                    tree.locate_in_envelope_intersecting(&e.geom().envelope())
                        .filter(|o| o.data > e.data)
                        .count()
                })
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("merge");
    g.measurement_time(Duration::from_secs(10)).sample_size(10);
    g.throughput(Throughput::Elements(parcels.len() as u64));
    let outlines = Default::default();
    let ctx = MergeContext {
        manifest: &manifest,
        outlines: &outlines,
    };
    g.bench_function("essonne", |b| {
        b.iter_batched(
            || parcels.clone(),
            |p| merge_theme(&Theme::Parcelles, p, &ctx).stats.output,
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(merge, benches);
criterion_main!(merge);
