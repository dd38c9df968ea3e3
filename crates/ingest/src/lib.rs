//! Ingest: read a commune's delivery, whatever its format, into tuilerie's model.
//!
//! Reading is split in three steps so that each can be tested on its own:
//! 1. [`read_delivery`] opens the file with the reader its [`Format`] calls for and returns
//!    [`SourceLayer`]s: source field names, source types, source CRS, geometries as read;
//! 2. [`mapping::MappingPlan`] maps a source feature onto its theme's schema;
//! 3. [`geometry_check::check_geometry`] validates the geometry, repairs it with `geo`'s
//!    `MakeValid`, or rejects it with a reason.
//!
//! GeoJSON and FlatGeobuf are read natively; everything else goes through GDAL. Every problem
//! names the file, the layer and the feature.

mod edigeo;
mod fgb;
pub mod format;
mod gdal_source;
mod geojson_source;
pub mod geometry_check;
pub mod inspect;
pub mod manifest_check;
pub mod mapping;
mod source;

pub use format::Format;
pub use source::{FieldInfo, SourceFeature, SourceLayer};

use std::path::{Path, PathBuf};

/// Why a delivery could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: layer {layer:?} not found; the file has: {available}")]
    NoSuchLayer {
        path: PathBuf,
        layer: String,
        available: String,
    },
    #[error("{path}: holds several layers ({available}); say which one with `layer = \"…\"` in the manifest")]
    AmbiguousLayer { path: PathBuf, available: String },
    #[error("{path} [{layer}]: {reason}")]
    Layer {
        path: PathBuf,
        layer: String,
        reason: String,
    },
}

impl IngestError {
    pub(crate) fn unreadable(path: &Path, reason: impl ToString) -> Self {
        IngestError::Unreadable {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// The layer a delivery reads: the manifest's `layer`, else, for an EDIGEO delivery, the
/// object layer of its theme (`parcelles` → `PARCELLE_id`, `sections` → `SECTION_id`…).
pub fn delivery_layer(delivery: &tuilerie_model::Delivery, path: &Path) -> Option<String> {
    delivery.layer.clone().or_else(|| {
        (Format::detect(path) == Format::Edigeo)
            .then(|| manifest_check::default_edigeo_layer(&delivery.theme))
            .flatten()
    })
}

/// Read several layers of one file, for deliveries that share it (an EDIGEO delivery read as
/// parcels, sections and buildings): EDIGEO sheets are extracted once for all. One result per
/// requested layer, in order.
pub fn read_delivery_layers(
    path: &Path,
    layers: &[Option<&str>],
) -> Vec<Result<Vec<SourceLayer>, IngestError>> {
    if path.exists() && Format::detect(path) == Format::Edigeo {
        return edigeo::read_many(path, layers);
    }
    layers.iter().map(|l| read_delivery(path, *l)).collect()
}

/// Read the layer(s) of a delivery. With `layer = None` a single-layer file gives its layer and
/// a multi-layer file is an error that lists its layers. An EDIGEO delivery (one or several
/// `.tar.bz2` sheets, or a folder of them) gives one layer per sheet, named `SHEET/LAYER`.
pub fn read_delivery(path: &Path, layer: Option<&str>) -> Result<Vec<SourceLayer>, IngestError> {
    if !path.exists() {
        return Err(IngestError::NotFound {
            path: path.to_path_buf(),
        });
    }
    match Format::detect(path) {
        Format::GeoJson => geojson_source::read(path).map(|l| vec![l]),
        Format::FlatGeobuf => fgb::read(path).map(|l| vec![l]),
        Format::Edigeo => edigeo::read(path, layer),
        f => gdal_source::read(path, &f.gdal_path(path), layer).map(|l| vec![l]),
    }
}
