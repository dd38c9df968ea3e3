//! The ingest stage over a whole manifest: read, map, check, reproject; in parallel.

use crate::progress::Progress;
use crate::report::{BuildReport, DeliveryReport, LayerReport, NtfGridReport};
use crate::{outlines, BuildError};
use geo::{BoundingRect, Geometry, Rect};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;
use tuilerie_ingest::geometry_check::{check_geometry, precheck, Checked};
use tuilerie_ingest::mapping::MappingPlan;
use tuilerie_ingest::{read_delivery_layers, Format, SourceFeature, SourceLayer};
use tuilerie_model::schema::GeometryFamily;
use tuilerie_model::{Commune, CrsRef, Delivery, Feature, Manifest, Provenance, Theme, Value};
use tuilerie_reproject::{check_metric, ntf, sanity, ReprojectError, Reprojector};

/// Knobs of the ingest stage.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// No progress bar (tests, `--quiet`).
    pub quiet: bool,
}

/// A feature that could not be kept, with why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reject {
    pub theme: String,
    pub reason: String,
    /// In the working CRS when it could be reprojected, else `None`.
    pub geometry: Option<Geometry<f64>>,
    pub attributes: Vec<(String, Value)>,
    pub provenance: Provenance,
}

/// What ingest produces: the features of each theme in the working CRS, the rejects, the report.
pub struct Ingested {
    pub themes: BTreeMap<Theme, Vec<Feature>>,
    pub rejects: Vec<Reject>,
    pub report: BuildReport,
    /// The former communes' outlines in the working CRS (empty without `[outlines]`).
    pub outlines: BTreeMap<String, geo::MultiPolygon<f64>>,
}

/// A delivery's layers as read, or why it could not be read.
type DeliveryRead = Result<Vec<SourceLayer>, String>;

/// What happened to one feature.
enum Outcome {
    Kept {
        feature: Feature,
        notes: Vec<String>,
        repaired: bool,
    },
    Rejected(Reject),
}

struct LayerOutcome {
    report: LayerReport,
    kept: Vec<Feature>,
    rejects: Vec<Reject>,
    warnings: Vec<String>,
    /// Problems that make the delivery fail (each is reported).
    errors: Vec<String>,
}

/// What ingest made of one delivery: its report, kept features, rejects, and the CRSs its
/// layers were read in. A build caches it, keyed by the delivery's content hash, so that an
/// unchanged delivery is not read again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryOutput {
    pub report: DeliveryReport,
    pub kept: Vec<Feature>,
    pub rejects: Vec<Reject>,
    /// Every source CRS its layers were read in (checked against IGN's grid each build).
    pub sources: Vec<CrsRef>,
}

/// Ingest every delivery of a manifest.
pub fn ingest_manifest(
    manifest: &Manifest,
    options: &IngestOptions,
) -> Result<Ingested, BuildError> {
    let none = manifest.deliveries().map(|_| None).collect();
    ingest_manifest_with(manifest, options, none, |_, _| Ok(()))
}

/// Ingest the deliveries of a manifest that have no `cached` output (one entry per delivery,
/// in manifest order), hand each fresh output to `on_fresh` (the build caches it), and put
/// fresh and cached outputs together in manifest order — the same themes, rejects and report
/// as if every delivery had been read.
pub fn ingest_manifest_with(
    manifest: &Manifest,
    options: &IngestOptions,
    mut cached: Vec<Option<DeliveryOutput>>,
    mut on_fresh: impl FnMut(usize, &DeliveryOutput) -> Result<(), BuildError>,
) -> Result<Ingested, BuildError> {
    let started = Instant::now();
    let progress = Progress::new("ingest", options.quiet);
    // Areas, distances and tolerances are computed in the working CRS: it must be metric.
    check_metric(&manifest.working_crs)?;
    let shapes = outlines::load(manifest).map_err(BuildError::Outlines)?;
    let outlines = outlines::extents(&shapes);
    let reprojector = Reprojector::new(manifest.working_crs.clone());
    let max_outline_m = manifest
        .outlines
        .as_ref()
        .map_or(f64::INFINITY, |o| o.max_distance_m);

    // 1. Read every delivery not cached, in parallel (GDAL datasets are per thread).
    //    Deliveries that share a file (an EDIGEO delivery read as parcels, sections,
    //    buildings) are read together, so that its sheets are extracted once.
    let deliveries: Vec<(&Commune, &Delivery)> = manifest.deliveries().collect();
    cached.resize_with(deliveries.len(), || None);
    let mut groups: Vec<(PathBuf, Vec<usize>)> = Vec::new();
    for (i, (_, d)) in deliveries.iter().enumerate() {
        if cached[i].is_some() {
            continue;
        }
        // The same file written two ways (`./x`, `x`) is still one file.
        let path = manifest.resolve(&d.path);
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        match groups.iter_mut().find(|(p, _)| *p == path) {
            Some((_, members)) => members.push(i),
            None => groups.push((path, vec![i])),
        }
    }
    let mut read: Vec<(DeliveryRead, u64)> = deliveries
        .iter()
        .map(|_| (Err("internal: this delivery was not read".to_string()), 0))
        .collect();
    let group_results: Vec<Vec<(usize, DeliveryRead, u64)>> = groups
        .par_iter()
        .map(|(path, members)| {
            let t = Instant::now();
            let wanted: Vec<Option<String>> = members
                .iter()
                .map(|&i| tuilerie_ingest::delivery_layer(deliveries[i].1, path))
                .collect();
            let layers: Vec<Option<&str>> = wanted.iter().map(|w| w.as_deref()).collect();
            let results = read_delivery_layers(path, &layers);
            // Shared reading time, split evenly among the deliveries of the file.
            let ms = t.elapsed().as_millis() as u64 / members.len() as u64;
            members
                .iter()
                .zip(results)
                .map(|(&i, r)| {
                    if let Ok(layers) = &r {
                        progress.add_total(layers.iter().map(|l| l.features.len() as u64).sum());
                    }
                    progress.message(&format!("read {}", deliveries[i].1.path), false);
                    (i, r.map_err(|e| e.to_string()), ms)
                })
                .collect()
        })
        .collect();
    for (i, r, ms) in group_results.into_iter().flatten() {
        read[i] = (r, ms);
    }

    // 2. Before any NTF coordinate is touched, make sure IGN's grid is really used, for every
    //    distinct NTF source CRS and through the route it will take — cached deliveries'
    //    too: the grid must still be there for the report to say it was used.
    let mut sources: Vec<CrsRef> = Vec::new();
    for (i, (_, d)) in deliveries.iter().enumerate() {
        let declared: Vec<CrsRef> = match &cached[i] {
            Some(c) => c.sources.clone(),
            None => read[i]
                .0
                .iter()
                .flatten()
                .filter_map(|l| d.crs_for(l.crs.as_ref()))
                .collect(),
        };
        for c in declared {
            if !sources.contains(&c) {
                sources.push(c);
            }
        }
    }
    let mut ntf_grid: Option<NtfGridReport> = None;
    // A missing grid stops the build; a CRS whose route skips the grid (or that cannot be
    // identified) fails only the layers declared in it.
    let mut ntf_failures: HashMap<CrsRef, String> = HashMap::new();
    for src in sources {
        let check = match ntf::check_if_ntf(&src, &reprojector) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e @ ReprojectError::NtfGridMissing { .. }) => return Err(e.into()),
            Err(e) => {
                ntf_failures.insert(src, e.to_string());
                continue;
            }
        };
        let r = ntf_grid.get_or_insert_with(|| NtfGridReport {
            grid: check.grid.clone(),
            sources: Vec::new(),
            reference_error_m: 0.0,
        });
        r.reference_error_m = r.reference_error_m.max(check.reference_error_m);
        r.sources.push(src.label());
    }

    // 3. Map, check and reproject every feature of the deliveries read; then every delivery,
    //    fresh or cached, in manifest order.
    let mut themes: BTreeMap<Theme, Vec<Feature>> = BTreeMap::new();
    let mut rejects = Vec::new();
    let mut report = BuildReport {
        tuilerie_version: env!("CARGO_PKG_VERSION").to_string(),
        manifest: manifest.base_dir.display().to_string(),
        commune_nouvelle: format!("{} {}", manifest.insee, manifest.nom),
        working_crs: manifest.working_crs.label(),
        ntf_grid,
        ..Default::default()
    };
    for theme in manifest.themes() {
        themes.entry(theme).or_default();
    }
    let ctx = IngestContext {
        reprojector: &reprojector,
        outlines: &outlines,
        max_outline_m,
        ntf_failures: &ntf_failures,
        progress: &progress,
    };
    for (i, (((commune, delivery), (result, read_ms)), cache)) in
        deliveries.iter().zip(read).zip(cached).enumerate()
    {
        let output = match cache {
            Some(c) => c,
            None => {
                let fresh = ingest_delivery(manifest, &ctx, commune, delivery, result, read_ms);
                on_fresh(i, &fresh)?;
                fresh
            }
        };
        let dr = output.report;
        themes
            .entry(delivery.theme.clone())
            .or_default()
            .extend(output.kept);
        rejects.extend(output.rejects);
        let tc = report
            .themes
            .entry(delivery.theme.name().to_string())
            .or_default();
        tc.read += dr.read;
        tc.kept += dr.kept;
        tc.rejected += dr.rejected;
        for e in &dr.errors {
            report.errors.push(format!(
                "{} ({} {}): {e}",
                delivery.path, commune.insee, commune.nom
            ));
        }
        report.deliveries.push(dr);
    }
    progress.finish();
    let warnings = report
        .deliveries
        .iter()
        .any(|d| !d.warnings.is_empty() || d.rejected > 0);
    report.status = if !report.errors.is_empty() {
        "input_errors"
    } else if warnings {
        "ok_with_warnings"
    } else {
        "ok"
    }
    .into();
    report
        .timings_ms
        .insert("ingest".into(), started.elapsed().as_millis() as u64);
    Ok(Ingested {
        themes,
        rejects,
        report,
        outlines: shapes,
    })
}

/// What every delivery of a build shares.
struct IngestContext<'a> {
    reprojector: &'a Reprojector,
    outlines: &'a HashMap<String, Rect<f64>>,
    max_outline_m: f64,
    ntf_failures: &'a HashMap<CrsRef, String>,
    progress: &'a Progress,
}

/// Map, check and reproject the layers of one delivery as read.
fn ingest_delivery(
    manifest: &Manifest,
    ctx: &IngestContext<'_>,
    commune: &Commune,
    delivery: &Delivery,
    result: DeliveryRead,
    read_ms: u64,
) -> DeliveryOutput {
    let t = Instant::now();
    let path = manifest.resolve(&delivery.path);
    let mut out = DeliveryOutput {
        report: DeliveryReport {
            commune: commune.insee.clone(),
            commune_nom: commune.nom.clone(),
            path: delivery.path.clone(),
            theme: delivery.theme.name().to_string(),
            format: Format::detect(&path).label().to_string(),
            read_ms,
            ..Default::default()
        },
        kept: Vec::new(),
        rejects: Vec::new(),
        sources: Vec::new(),
    };
    let dr = &mut out.report;
    match result {
        Err(e) => dr.errors.push(e),
        Ok(layers) => {
            for layer in layers {
                let n = layer.features.len() as u64;
                if let Some(c) = delivery.crs_for(layer.crs.as_ref()) {
                    if !out.sources.contains(&c) {
                        out.sources.push(c);
                    }
                }
                let outcome = process_layer(
                    commune,
                    delivery,
                    layer,
                    ctx.reprojector,
                    ctx.outlines.get(&commune.insee),
                    ctx.max_outline_m,
                    ctx.ntf_failures,
                );
                ctx.progress.inc(n);
                dr.read += outcome.report.read;
                dr.kept += outcome.report.kept;
                dr.repaired += outcome.report.repaired;
                dr.rejected += outcome.report.rejected;
                dr.warnings.extend(outcome.warnings);
                dr.errors.extend(outcome.errors);
                dr.layers.push(outcome.report);
                out.kept.extend(outcome.kept);
                out.rejects.extend(outcome.rejects);
            }
        }
    }
    dr.process_ms = t.elapsed().as_millis() as u64;
    ctx.progress.message(
        &format!(
            "{}: {} read, {} kept, {} rejected",
            delivery.path, dr.read, dr.kept, dr.rejected
        ),
        true,
    );
    out
}

fn process_layer(
    commune: &Commune,
    delivery: &Delivery,
    layer: SourceLayer,
    reprojector: &Reprojector,
    outline: Option<&Rect<f64>>,
    max_outline_m: f64,
    ntf_failures: &HashMap<CrsRef, String>,
) -> LayerOutcome {
    let read = layer.features.len();
    let mut out = LayerOutcome {
        report: LayerReport {
            name: layer.name.clone(),
            driver: layer.driver.clone(),
            read,
            declared: layer.declared_count,
            ..Default::default()
        },
        kept: Vec::new(),
        rejects: Vec::new(),
        warnings: layer
            .warnings
            .iter()
            .map(|w| format!("{} [{}]: {w}", delivery.path, layer.name))
            .collect(),
        errors: Vec::new(),
    };
    // Features the reader could not get to are lost: that is an error, never a silent gap.
    if let Some(shortfall) = layer.shortfall() {
        out.errors.push(format!("[{}] {shortfall}", layer.name));
    }
    if read == 0 {
        return out;
    }
    let ctx = FeatureContext {
        commune,
        delivery,
        layer_name: &layer.name,
        theme: delivery.theme.name(),
    };
    let reject_all = |out: &mut LayerOutcome, reason: String, features: &[SourceFeature]| {
        out.rejects
            .extend(features.iter().map(|f| ctx.reject(f, reason.clone(), None)));
        out.report.rejected = out.report.read;
        out.errors.push(format!("[{}] {reason}", layer.name));
    };
    let Some(crs) = delivery.crs_for(layer.crs.as_ref()) else {
        reject_all(
            &mut out,
            "the layer declares no CRS and the manifest gives none (set crs = \"EPSG:…\")".into(),
            &layer.features,
        );
        return out;
    };
    out.report.crs = crs.label();
    if let Some(reason) = ntf_failures.get(&crs) {
        reject_all(&mut out, reason.clone(), &layer.features);
        return out;
    }
    match reprojector.describe(&crs) {
        Ok(info) => out.report.transformation = info.steps,
        Err(e) => {
            reject_all(&mut out, e.to_string(), &layer.features);
            return out;
        }
    }
    let plan = match MappingPlan::new(delivery, &layer.fields) {
        Ok(p) => p,
        Err(problems) => {
            reject_all(&mut out, problems.join("; "), &layer.features);
            return out;
        }
    };
    let family = delivery.theme.geometry_family();
    let results: Vec<Outcome> = layer
        .features
        .par_iter()
        .map(|sf| {
            // A panic in a geometry library on one odd feature must not take the build down:
            // isolate it as a reject.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                process_feature(&ctx, sf, &plan, reprojector, &crs, family)
            }))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Outcome::Rejected(ctx.reject(
                    sf,
                    format!("internal error on this feature, isolated ({what}); please report it"),
                    None,
                ))
            })
        })
        .collect();
    for r in results {
        match r {
            Outcome::Kept {
                feature,
                notes,
                repaired,
            } => {
                if repaired {
                    out.report.repaired += 1;
                }
                for n in notes {
                    out.warnings
                        .push(format!("{}: {n}", feature.provenance.locator()));
                }
                out.kept.push(feature);
            }
            Outcome::Rejected(rej) => {
                out.warnings.push(format!(
                    "{}: rejected: {}",
                    rej.provenance.locator(),
                    rej.reason
                ));
                out.rejects.push(rej);
            }
        }
    }
    out.report.kept = out.kept.len();
    out.report.rejected = out.rejects.len();

    // Sanity: does the layer land where its commune is?
    let extent = out
        .kept
        .iter()
        .filter_map(|f| f.geometry.bounding_rect())
        .reduce(|a, b| sanity::union(&a, &b));
    if let Some(e) = extent {
        out.report.extent = Some([e.min().x, e.min().y, e.max().x, e.max().y]);
        if let Some(msg) = misplaced(&e, outline, &crs, reprojector, commune, max_outline_m) {
            out.report.overshoot = Some(msg.clone());
            if delivery.accept_outside {
                out.warnings.push(format!(
                    "{} [{}]: {msg} (accepted: accept_outside = true)",
                    delivery.path, layer.name
                ));
            } else {
                out.errors.push(format!("[{}] {msg}", layer.name));
            }
        }
    }
    out
}

/// What every feature of a layer shares.
struct FeatureContext<'a> {
    commune: &'a Commune,
    delivery: &'a Delivery,
    layer_name: &'a str,
    theme: &'a str,
}

impl FeatureContext<'_> {
    fn provenance(&self, f: &SourceFeature) -> Provenance {
        Provenance {
            commune: self.commune.insee.clone(),
            delivery: self.delivery.path.clone(),
            layer: self.layer_name.to_string(),
            source_id: f.source_id(),
        }
    }

    fn reject(&self, f: &SourceFeature, reason: String, geometry: Option<Geometry<f64>>) -> Reject {
        // What the reader noticed (a GDAL message on this feature) explains many rejects.
        let reason = if f.notes.is_empty() {
            reason
        } else {
            format!("{reason} ({})", f.notes.join("; "))
        };
        Reject {
            theme: self.theme.to_string(),
            reason,
            geometry,
            attributes: f.attributes.clone(),
            provenance: self.provenance(f),
        }
    }
}

/// Map, check and reproject one feature.
fn process_feature(
    ctx: &FeatureContext<'_>,
    sf: &SourceFeature,
    plan: &MappingPlan,
    reprojector: &Reprojector,
    crs: &CrsRef,
    family: GeometryFamily,
) -> Outcome {
    let mut g = match &sf.geometry {
        Ok(g) => g.clone(),
        Err(e) => return Outcome::Rejected(ctx.reject(sf, e.clone(), None)),
    };
    if let Err(e) = precheck(&g) {
        return Outcome::Rejected(ctx.reject(sf, e, None));
    }
    if let Err(e) = reprojector.transform(&mut g, crs) {
        return Outcome::Rejected(ctx.reject(sf, e.to_string(), None));
    }
    match check_geometry(g, family) {
        Checked::Rejected { reason, geometry } => {
            Outcome::Rejected(ctx.reject(sf, reason, geometry))
        }
        Checked::Kept { geometry, repairs } => {
            let (attributes, mut notes) = plan.apply(&sf.attributes, &ctx.commune.insee);
            let repaired = !repairs.is_empty() || !sf.repairs.is_empty();
            notes.extend(sf.repairs.iter().cloned());
            notes.extend(sf.notes.iter().cloned());
            notes.extend(repairs);
            Outcome::Kept {
                feature: Feature {
                    geometry,
                    attributes,
                    provenance: ctx.provenance(sf),
                },
                notes,
                repaired,
            }
        }
    }
}

/// The message for a layer that lies outside its commune, or `None` when it is where expected.
fn misplaced(
    extent: &Rect<f64>,
    outline: Option<&Rect<f64>>,
    crs: &CrsRef,
    reprojector: &Reprojector,
    commune: &Commune,
    max_outline_overshoot_m: f64,
) -> Option<String> {
    // Areas of use are published to about 0.01°; allow a little more.
    const MAX_AREA_OVERSHOOT_DEG: f64 = 0.05;
    let likely = format!(
        "the declared CRS ({crs}) is likely wrong; fix it with crs = \"EPSG:…\" in the manifest, or set accept_outside = true"
    );
    if let Some(o) = outline.map(|o| sanity::against_outline(extent, o, &commune.insee)) {
        return (o.distance > max_outline_overshoot_m).then(|| {
            format!(
                "layer extends {:.0} {} beyond {}: {likely}",
                o.distance, o.unit, o.reference
            )
        });
    }
    // No outline: compare with the CRS's area of use, in the source CRS's terms.
    match sanity::against_area_of_use(extent, reprojector.target(), crs) {
        Ok(Some(o)) if o.distance > MAX_AREA_OVERSHOOT_DEG => Some(format!(
            "layer extends {:.2}{} beyond {}: {likely}",
            o.distance, o.unit, o.reference
        )),
        _ => None,
    }
}
