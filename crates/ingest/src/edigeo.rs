//! EDIGEO (PCI vecteur) deliveries: one `.tar.bz2` archive per cadastral sheet, a folder of
//! them, or an unpacked sheet's `.THF`.
//!
//! GDAL's EDIGEO driver reads an extracted THF, and has no `/vsi` handler for bzip2 tarballs,
//! so each archive is extracted into a temporary folder that is removed when reading is done.

use crate::{gdal_source, IngestError, SourceLayer};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The sheets of a delivery, sorted by name so that reading order never depends on the disk.
pub(crate) fn sheets(path: &Path) -> Result<Vec<PathBuf>, IngestError> {
    if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| IngestError::unreadable(path, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.to_string_lossy().to_ascii_lowercase();
                n.ends_with(".tar.bz2") || n.ends_with(".tbz2")
            })
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(IngestError::unreadable(
                path,
                "folder holds no EDIGEO .tar.bz2 sheet",
            ));
        }
        Ok(v)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

/// A sheet's short name: `edigeo-25354000AB01.tar.bz2` → `edigeo-25354000AB01`.
pub(crate) fn sheet_name(sheet: &Path) -> String {
    crate::format::stem(sheet)
}

/// An extracted sheet; the folder is removed when this is dropped.
pub(crate) struct Extracted {
    _dir: Option<tempfile::TempDir>,
    pub thf: PathBuf,
}

/// Extract a sheet archive (or point at an unpacked THF) and find its THF.
pub(crate) fn extract(sheet: &Path) -> Result<Extracted, IngestError> {
    let lower = sheet.to_string_lossy().to_ascii_lowercase();
    if lower.ends_with(".thf") {
        return Ok(Extracted {
            _dir: None,
            thf: sheet.to_path_buf(),
        });
    }
    let dir = tempfile::Builder::new()
        .prefix("tuilerie-edigeo-")
        .tempdir()
        .map_err(|e| {
            IngestError::unreadable(sheet, format!("cannot create a temporary folder: {e}"))
        })?;
    let file = File::open(sheet).map_err(|e| IngestError::unreadable(sheet, e))?;
    // `unpack` refuses entries that would land outside `dir` (absolute paths, `..`).
    tar::Archive::new(bzip2::read::BzDecoder::new(file))
        .unpack(dir.path())
        .map_err(|e| {
            IngestError::unreadable(sheet, format!("not a readable .tar.bz2 archive: {e}"))
        })?;
    let thf = find_thf(dir.path())
        .ok_or_else(|| IngestError::unreadable(sheet, "archive holds no .THF file"))?;
    Ok(Extracted {
        _dir: Some(dir),
        thf,
    })
}

fn find_thf(dir: &Path) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    let mut found = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            // file_type() does not follow symlinks: an archive's link to `/` is not walked.
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("thf")) {
                found.push(p);
            }
        }
    }
    found.sort();
    found.into_iter().next()
}

/// Read `layer` (e.g. `PARCELLE_id`) from every sheet of the delivery: one [`SourceLayer`] per
/// sheet, named `SHEET/LAYER`. A sheet without that layer (a sheet with no building, say)
/// gives an empty layer rather than an error.
pub(crate) fn read(path: &Path, layer: Option<&str>) -> Result<Vec<SourceLayer>, IngestError> {
    read_many(path, &[layer])
        .pop()
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// Read several layers of the same sheets, extracting each sheet once: one result per
/// requested layer, in order, each with one [`SourceLayer`] per sheet.
pub(crate) fn read_many(
    path: &Path,
    layers: &[Option<&str>],
) -> Vec<Result<Vec<SourceLayer>, IngestError>> {
    let mut out: Vec<Result<Vec<SourceLayer>, IngestError>> = layers
        .iter()
        .map(|l| match l {
            Some(_) => Ok(Vec::new()),
            None => Err(IngestError::AmbiguousLayer {
                path: path.to_path_buf(),
                available: "an EDIGEO sheet holds one layer per object type (PARCELLE_id, BATIMENT_id, SECTION_id, COMMUNE_id, …)".into(),
            }),
        })
        .collect();
    let sheets = match sheets(path) {
        Ok(s) => s,
        Err(e) => return layers.iter().map(|_| Err(e.clone())).collect(),
    };
    for sheet in sheets {
        // (dataset, extraction): the dataset is closed before its folder is removed.
        let opened = extract(&sheet).and_then(|ex| gdal_source::open(&ex.thf).map(|ds| (ds, ex)));
        for (slot, layer) in out.iter_mut().zip(layers) {
            let (Ok(acc), Some(layer)) = (slot.as_mut(), layer) else {
                continue;
            };
            match &opened {
                Ok((ds, _)) => match read_sheet_layer(ds, &sheet, layer) {
                    Ok(sl) => acc.push(sl),
                    Err(e) => *slot = Err(e),
                },
                Err(e) => *slot = Err(e.clone()),
            }
        }
    }
    out
}

fn read_sheet_layer(
    ds: &gdal::Dataset,
    sheet: &Path,
    layer: &str,
) -> Result<SourceLayer, IngestError> {
    let mut sl = match ds.layer_by_name(layer) {
        Ok(mut l) => gdal_source::read_layer(&mut l, "EDIGEO".into())?,
        Err(_) => {
            let names: Vec<String> = ds
                .layers()
                .map(|l| gdal::vector::LayerAccess::name(&l))
                .collect();
            let mut empty = SourceLayer::new(String::new(), "EDIGEO");
            empty.warnings.push(format!(
                "sheet has no layer {layer} (it has: {})",
                names.join(", ")
            ));
            empty
        }
    };
    sl.name = format!("{}/{}", sheet_name(sheet), layer);
    Ok(sl)
}
