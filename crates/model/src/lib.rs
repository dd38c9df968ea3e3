//! The typed feature model shared by every stage of tuilerie.
//!
//! This crate does no I/O: it describes *what* flows through the pipeline (a [`Feature`] with
//! its [`Provenance`] and typed [`Value`]s), *where* it must go (the [`Theme`] target schemas)
//! and *what the user asked for* (the [`Manifest`]). Readers and writers live in the stage crates.

pub mod cadastre;
pub mod crs;
pub mod feature;
pub mod manifest;
pub mod merge_rules;
pub mod schema;
pub mod tile_settings;
pub mod value;

pub use crs::CrsRef;
pub use feature::{Feature, Provenance, PROVENANCE_FIELDS};
pub use manifest::{Commune, Delivery, Manifest, ManifestError, ManifestProblem, OutlineSource};
pub use merge_rules::{Criterion, MergeSettings, ThemeRules};
pub use schema::{FieldKind, FieldSpec, Theme};
pub use tile_settings::{LayerTileSettings, TileSettings};
pub use value::Value;
