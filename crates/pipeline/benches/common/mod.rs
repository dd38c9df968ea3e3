//! What the benches share: the real parcels they run on.

use std::path::PathBuf;
use tuilerie_model::{Feature, Manifest, Theme};
use tuilerie_pipeline::{ingest_manifest, IngestOptions};

/// The essonne scenario's manifest and ingested parcels (../shared when present, else the
/// bundled fixture), in the working CRS.
pub fn essonne() -> (Manifest, Vec<Feature>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = if root
        .join("../shared/data/scenarios/essonne-fusion")
        .is_dir()
    {
        root.join("examples/essonne-fusion.toml")
    } else {
        root.join("fixtures/essonne-fusion.toml")
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let manifest = Manifest::parse(&text, path.parent().unwrap()).unwrap();
    let parcels = ingest_manifest(&manifest, &IngestOptions { quiet: true })
        .unwrap()
        .themes
        .remove(&Theme::Parcelles)
        .unwrap();
    (manifest, parcels)
}
