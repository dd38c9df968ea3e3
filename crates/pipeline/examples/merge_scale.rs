//! How the merge's cost grows: deduplicate N real parcels tiled out with offsets, plus 10 %
//! duplicates delivered by a second commune (half exact copies, half shifted by 3 cm so that
//! the key matcher and the overlay run), and report the time of the merge.
//!
//! `cargo run --release -p tuilerie-pipeline --example merge_scale -- 1000000`
//! (`benches/merge-scale.sh` runs it at 10k, 100k and 1M under `/usr/bin/time` for peak memory).

use geo::{BoundingRect, MapCoords};
use std::path::PathBuf;
use std::time::Instant;
use tuilerie_merge::{merge_theme, MergeContext};
use tuilerie_model::{Feature, Manifest, Provenance, Theme, Value};
use tuilerie_pipeline::{ingest_manifest, IngestOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(10_000), |a| a.parse())?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = root
        .join("../shared/data/scenarios/essonne-fusion")
        .is_dir();
    let path = if shared {
        root.join("examples/essonne-fusion.toml")
    } else {
        root.join("fixtures/essonne-fusion.toml")
    };
    let manifest = Manifest::parse(
        &std::fs::read_to_string(&path)?,
        path.parent().ok_or("no folder")?,
    )?;
    let base: Vec<Feature> = ingest_manifest(&manifest, &IngestOptions { quiet: true })?
        .themes
        .remove(&Theme::Parcelles)
        .ok_or("no parcels")?;
    // The scenario's own duplicates (Juvisy repeats Athis-Mons parcels) would be merged too:
    // keep one copy of each parcel, so that the expected count is exact.
    let mut seen = std::collections::HashSet::new();
    let base: Vec<Feature> = base
        .into_iter()
        .filter(|f| seen.insert(f.get("id").and_then(Value::as_text)))
        .collect();
    let extent = base
        .iter()
        .filter_map(|f| f.geometry.bounding_rect())
        .reduce(|a, b| tuilerie_reproject::sanity::union(&a, &b))
        .ok_or("empty")?;
    let (w, h) = (extent.width() + 200.0, extent.height() + 200.0);
    let tiles = n.div_ceil(base.len());
    let side = (tiles as f64).sqrt().ceil() as usize;

    let t = Instant::now();
    let mut features = Vec::with_capacity(n + n / 10 + 1);
    let mut duplicates = 0;
    for i in 0..n {
        let b = &base[i % base.len()];
        let k = i / base.len();
        let (dx, dy) = ((k % side) as f64 * w, (k / side) as f64 * h);
        let geometry = b.geometry.map_coords(|c| geo::Coord {
            x: c.x + dx,
            y: c.y + dy,
        });
        let mut attributes = b.attributes.clone();
        let id = b.get("id").and_then(Value::as_text).unwrap_or_default();
        tuilerie_model::feature::set(&mut attributes, "id", Value::Text(format!("{id}-{k}")));
        let original = Feature {
            geometry,
            attributes,
            provenance: Provenance {
                commune: "91027".into(),
                delivery: "tiles-a".into(),
                layer: "parcelles".into(),
                source_id: i.to_string(),
            },
        };
        if i % 10 == 0 {
            let shift = if i % 20 == 0 { 0.0 } else { 0.03 };
            let mut copy = original.clone();
            copy.geometry = copy.geometry.map_coords(|c| geo::Coord {
                x: c.x + shift,
                y: c.y,
            });
            copy.provenance.commune = "91326".into();
            copy.provenance.delivery = "tiles-b".into();
            features.push(copy);
            duplicates += 1;
        }
        features.push(original);
    }
    let generate = t.elapsed();
    let input = features.len();
    let outlines = Default::default();
    let ctx = MergeContext {
        manifest: &manifest,
        outlines: &outlines,
    };
    let t = Instant::now();
    let merged = merge_theme(&Theme::Parcelles, features, &ctx);
    let merge = t.elapsed();
    let s = &merged.stats;
    println!(
        "parcels={n} input={input} duplicates={duplicates} merged_away={} output={} overlaps={} threads={} generate_s={:.2} merge_s={:.2}",
        s.merged_away,
        s.output,
        s.overlaps,
        rayon::current_num_threads(),
        generate.as_secs_f64(),
        merge.as_secs_f64()
    );
    // Every duplicate is merged, or reported: a shifted copy of a sliver parcel (real data has
    // 0.07 m² triangles) no longer overlaps its original and is logged as a same-key conflict.
    let same_key_conflicts = merged
        .decisions
        .iter()
        .filter(|d| d.decision == "conflict" && d.reason.starts_with("same key"))
        .count();
    println!("same_key_conflicts={same_key_conflicts}");
    eprintln!("steps (ms): {:?}", s.timings_ms);
    if s.merged_away + same_key_conflicts != duplicates {
        return Err(format!(
            "{duplicates} duplicates, but {} merged and {same_key_conflicts} reported",
            s.merged_away
        )
        .into());
    }
    Ok(())
}
