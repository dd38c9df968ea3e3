//! Which reader a delivery needs, by its name (and for folders, what they hold).

use std::path::{Path, PathBuf};

/// A delivery format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Format {
    /// GeoJSON, gzipped or not, a FeatureCollection or one feature per line (GeoJSONSeq).
    GeoJson,
    FlatGeobuf,
    Shapefile,
    /// A zipped Shapefile (read through GDAL's `/vsizip/`).
    ShapefileZip,
    GeoPackage,
    /// EDIGEO PCI sheets: `.tar.bz2` archives, a folder of them, or an unpacked `.THF`.
    Edigeo,
    Dxf,
    Osm,
    MapInfo,
    /// Anything else GDAL may know.
    OtherGdal,
}

fn lower_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A file's name without its format and compression extensions:
/// `cadastre-91027-parcelles.json.gz` → `cadastre-91027-parcelles`,
/// `edigeo-25354000AB01.tar.bz2` → `edigeo-25354000AB01`.
pub fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut stem = name.as_str();
    for ext in [
        ".gz",
        ".bz2",
        ".zip",
        ".tar",
        ".tbz2",
        ".geojson",
        ".json",
        ".geojsonl",
        ".geojsons",
        ".ndjson",
        ".geojsonseq",
        ".fgb",
        ".thf",
        ".shp",
    ] {
        if stem.len() > ext.len() && stem.to_ascii_lowercase().ends_with(ext) {
            stem = &stem[..stem.len() - ext.len()];
        }
    }
    stem.to_string()
}

/// Extensions that say "one GeoJSON feature per line".
pub fn is_sequence_name(path: &Path) -> bool {
    let n = lower_name(path);
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    [".geojsonl", ".geojsons", ".ndjson", ".geojsonseq"]
        .iter()
        .any(|e| n.ends_with(e))
}

impl Format {
    /// Detect a format from a path.
    ///
    /// ```
    /// use std::path::Path;
    /// use tuilerie_ingest::Format;
    /// assert_eq!(Format::detect(Path::new("cadastre-91027-parcelles.json.gz")), Format::GeoJson);
    /// assert_eq!(Format::detect(Path::new("edigeo-25354000AB01.tar.bz2")), Format::Edigeo);
    /// assert_eq!(Format::detect(Path::new("VilleMTP_MTP_FilaireVoies.zip")), Format::ShapefileZip);
    /// ```
    pub fn detect(path: &Path) -> Format {
        let name = lower_name(path);
        if path.is_dir() {
            let has_sheets = std::fs::read_dir(path)
                .map(|rd| {
                    rd.flatten()
                        .any(|e| Format::detect(&e.path()) == Format::Edigeo)
                })
                .unwrap_or(false);
            return if has_sheets {
                Format::Edigeo
            } else {
                Format::OtherGdal
            };
        }
        let ends = |s: &str| name.ends_with(s);
        if ends(".geojson")
            || ends(".json")
            || ends(".geojson.gz")
            || ends(".json.gz")
            || ends(".geojsonl")
            || ends(".geojsons")
            || ends(".ndjson")
            || ends(".geojsonseq")
        {
            Format::GeoJson
        } else if ends(".fgb") {
            Format::FlatGeobuf
        } else if ends(".shp") {
            Format::Shapefile
        } else if ends(".shp.zip") || ends(".zip") {
            Format::ShapefileZip
        } else if ends(".gpkg") {
            Format::GeoPackage
        } else if ends(".tar.bz2") || ends(".tbz2") || ends(".thf") {
            Format::Edigeo
        } else if ends(".dxf") {
            Format::Dxf
        } else if ends(".osm.pbf") || ends(".pbf") || ends(".osm") {
            Format::Osm
        } else if ends(".tab") || ends(".mif") {
            Format::MapInfo
        } else {
            Format::OtherGdal
        }
    }

    /// The path GDAL should open.
    pub fn gdal_path(&self, path: &Path) -> PathBuf {
        match self {
            Format::ShapefileZip => PathBuf::from(format!("/vsizip/{}", path.display())),
            _ if lower_name(path).ends_with(".gz") => {
                PathBuf::from(format!("/vsigzip/{}", path.display()))
            }
            _ => path.to_path_buf(),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Format::GeoJson => "GeoJSON",
            Format::FlatGeobuf => "FlatGeobuf",
            Format::Shapefile => "Shapefile",
            Format::ShapefileZip => "Shapefile (zip)",
            Format::GeoPackage => "GeoPackage",
            Format::Edigeo => "EDIGEO",
            Format::Dxf => "DXF",
            Format::Osm => "OSM",
            Format::MapInfo => "MapInfo",
            Format::OtherGdal => "GDAL",
        }
    }
}
