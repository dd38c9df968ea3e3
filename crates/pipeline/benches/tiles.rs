//! Criterion benches of the tiles stage's hot path on real parcels (the merged-to-be essonne
//! scenario from ../shared when present, else the bundled fixture), next to its anchor:
//!
//! * `zoom16/tuilerie`: every tile of zoom 16 — shapes (scale, simplify), clip, snap, repair on
//!   integers, encode, gzip — vs `zoom16/geo-clip-only`: geo's `BooleanOps::intersection` of the
//!   same features with each tile they touch (the anchor: the clip step alone, as a tiler built
//!   on geo's overlay would start);
//! * `tileset/z10-18`: the whole tileset into a PMTiles (for the record).
//!
//! Run: `cargo bench -p tuilerie-pipeline --bench tiles`

mod common;

use common::essonne;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geo::{BooleanOps, Geometry, MapCoords, MultiPolygon, Polygon};
use std::time::Duration;
use tuilerie_pipeline::tiles::to_mercator;
use tuilerie_tiles::budget::Cut;
use tuilerie_tiles::generate::build_zoom;
use tuilerie_tiles::shapes::{feature_infos, zoom_shapes};
use tuilerie_tiles::{archive, metadata, write_tileset, TileId, TileLayer, TileOptions};

fn parcels() -> TileLayer {
    let (manifest, features) = essonne();
    let (features, failed) = to_mercator(features, &manifest.working_crs);
    assert!(failed.is_empty());
    TileLayer::with_all_fields("parcelles", features, 10, 18)
}

fn benches(c: &mut Criterion) {
    let layer = parcels();
    let layers = std::slice::from_ref(&layer);
    let options = TileOptions::default();
    let infos = feature_infos(layers);
    let z = 16;
    let shapes = zoom_shapes(layers, &infos, z, &options).shapes;
    // The anchor's work: each parcel against each tile its envelope touches.
    let pairs: Vec<(&Geometry<f64>, TileId)> = layer
        .features
        .iter()
        .flat_map(|f| {
            use geo::BoundingRect;
            let r = f.geometry.bounding_rect().unwrap();
            TileId::covering(r, z).map(move |t| (&f.geometry, t))
        })
        .collect();

    let mut g = c.benchmark_group("zoom16");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("tuilerie", |b| {
        b.iter(|| {
            let shapes = zoom_shapes(layers, &infos, z, &options).shapes;
            build_zoom(layers, &shapes, z, &options, &Cut::default())
                .unwrap()
                .len()
        })
    });
    g.bench_function("geo-clip-only", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(g, t)| {
                    let mp = match g {
                        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
                        Geometry::MultiPolygon(m) => m.clone(),
                        _ => return 0,
                    };
                    let square: Polygon<f64> = t.bounds().to_polygon();
                    let local = mp.map_coords(|c| t.to_pixels(c, 4096));
                    let sq = square.map_coords(|c| t.to_pixels(c, 4096));
                    local.intersection(&sq).0.len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
    assert!(!shapes.is_empty());

    let mut g = c.benchmark_group("tileset");
    g.measurement_time(Duration::from_secs(10)).sample_size(10);
    g.throughput(Throughput::Elements(layer.features.len() as u64));
    let dir = tempfile::tempdir().unwrap();
    let meta = metadata("essonne", "", layers, 10, 18);
    g.bench_function("z10-18", |b| {
        b.iter(|| {
            let sink = archive::create(&dir.path().join("t.pmtiles"), &meta).unwrap();
            write_tileset(layers, &meta, &options, vec![sink], |_| {})
                .unwrap()
                .tiles
        })
    });
    g.finish();
}

criterion_group!(tiles, benches);
criterion_main!(tiles);
