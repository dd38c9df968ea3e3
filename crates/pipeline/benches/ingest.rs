//! Criterion benches of the ingest stage, each next to its anchor in the same run:
//!
//! * `reproject/*`: our [`Reprojector`] on real parcel geometries vs raw PROJ
//!   (`proj_trans_generic` on the same coordinates, in place, one transformer), for the NTF
//!   grid route (Morangis, EPSG:27572) and for WGS84 (Athis-Mons, EPSG:4326);
//! * `ingest/*`: the whole ingest of the essonne scenario (read, map, check, reproject,
//!   all four deliveries), ../shared when present, else the bundled fixture.
//!
//! Run: `cargo bench -p tuilerie-pipeline --bench ingest`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geo::{CoordsIter, Geometry};
use std::ffi::CString;
use std::path::PathBuf;
use std::time::Duration;
use tuilerie_model::{CrsRef, Manifest};
use tuilerie_pipeline::{ingest_manifest, IngestOptions};
use tuilerie_reproject::Reprojector;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The essonne manifest: the full scenario when ../shared is there, else the fixture.
fn essonne() -> (Manifest, &'static str) {
    let (path, label) = if root()
        .join("../shared/data/scenarios/essonne-fusion")
        .is_dir()
    {
        (root().join("examples/essonne-fusion.toml"), "essonne-full")
    } else {
        (
            root().join("fixtures/essonne-fusion.toml"),
            "essonne-fixture",
        )
    };
    let text = std::fs::read_to_string(&path).unwrap();
    (
        Manifest::parse(&text, path.parent().unwrap()).unwrap(),
        label,
    )
}

/// Source geometries of one delivery, as read (source CRS).
fn source_geometries(manifest: &Manifest, commune: &str) -> (Vec<Geometry<f64>>, CrsRef) {
    let (_, d) = manifest
        .deliveries()
        .find(|(c, _)| c.insee == commune)
        .unwrap();
    let layers =
        tuilerie_ingest::read_delivery(&manifest.resolve(&d.path), d.layer.as_deref()).unwrap();
    let crs = d.crs.clone().or_else(|| layers[0].crs.clone()).unwrap();
    let geoms = layers
        .into_iter()
        .flat_map(|l| l.features)
        .filter_map(|f| f.geometry.ok())
        .collect();
    (geoms, crs)
}

/// Raw PROJ: one normalised transformer, `proj_trans_generic` in place on x and y arrays.
struct RawProj {
    ctx: *mut proj_sys::PJ_CONTEXT,
    pj: *mut proj_sys::PJ,
}

impl RawProj {
    fn new(from: &str, to: &str) -> Self {
        let (f, t) = (CString::new(from).unwrap(), CString::new(to).unwrap());
        // SAFETY: plain PROJ C API use; objects destroyed in Drop.
        unsafe {
            let ctx = proj_sys::proj_context_create();
            let raw =
                proj_sys::proj_create_crs_to_crs(ctx, f.as_ptr(), t.as_ptr(), std::ptr::null_mut());
            let pj = proj_sys::proj_normalize_for_visualization(ctx, raw);
            proj_sys::proj_destroy(raw);
            assert!(!pj.is_null());
            RawProj { ctx, pj }
        }
    }

    fn trans(&self, xs: &mut [f64], ys: &mut [f64]) {
        let n = xs.len();
        let stride = std::mem::size_of::<f64>();
        // SAFETY: xs and ys hold n doubles each.
        unsafe {
            proj_sys::proj_trans_generic(
                self.pj,
                proj_sys::PJ_DIRECTION_PJ_FWD,
                xs.as_mut_ptr(),
                stride,
                n,
                ys.as_mut_ptr(),
                stride,
                n,
                std::ptr::null_mut(),
                0,
                0,
                std::ptr::null_mut(),
                0,
                0,
            );
        }
    }
}

impl Drop for RawProj {
    fn drop(&mut self) {
        // SAFETY: created in new().
        unsafe {
            proj_sys::proj_destroy(self.pj);
            proj_sys::proj_context_destroy(self.ctx);
        }
    }
}

fn reproject(c: &mut Criterion) {
    let (manifest, _) = essonne();
    let mut group = c.benchmark_group("reproject");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    for (commune, label) in [("91432", "ntf-27572-grid"), ("91027", "wgs84-4326")] {
        let (geoms, crs) = source_geometries(&manifest, commune);
        let points: usize = geoms.iter().map(|g| g.coords_count()).sum();
        group.throughput(Throughput::Elements(points as u64));
        let ours = Reprojector::new(CrsRef::Epsg(2154));
        group.bench_with_input(BenchmarkId::new("tuilerie", label), &geoms, |b, geoms| {
            b.iter_batched(
                || geoms.clone(),
                |mut gs| {
                    for g in gs.iter_mut() {
                        ours.transform(g, &crs).unwrap();
                    }
                    gs
                },
                criterion::BatchSize::LargeInput,
            )
        });
        let raw = RawProj::new(&crs.proj_definition(), "EPSG:2154");
        let (xs, ys): (Vec<f64>, Vec<f64>) = geoms
            .iter()
            .flat_map(|g| g.coords_iter())
            .map(|c| (c.x, c.y))
            .unzip();
        group.bench_with_input(
            BenchmarkId::new("proj_trans_generic", label),
            &(xs, ys),
            |b, (xs, ys)| {
                b.iter_batched(
                    || (xs.clone(), ys.clone()),
                    |(mut x, mut y)| {
                        raw.trans(&mut x, &mut y);
                        (x, y)
                    },
                    criterion::BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

fn ingest(c: &mut Criterion) {
    let (manifest, label) = essonne();
    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let features: usize = ingest_manifest(&manifest, &IngestOptions { quiet: true })
        .unwrap()
        .report
        .deliveries
        .iter()
        .map(|d| d.read)
        .sum();
    group.throughput(Throughput::Elements(features as u64));
    group.bench_function(label, |b| {
        b.iter(|| ingest_manifest(&manifest, &IngestOptions { quiet: true }).unwrap())
    });
    group.finish();
}

criterion_group!(benches, reproject, ingest);
criterion_main!(benches);
