//! Coordinate reference systems as the pipeline refers to them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A CRS as found in a delivery or written in the manifest.
///
/// Kept as an authority code when the source gives one (or GDAL identifies one), else as the
/// WKT the source carries, which PROJ understands directly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CrsRef {
    Epsg(u32),
    /// Any definition PROJ accepts: WKT, PROJJSON, `IGNF:LAMB93`, a PROJ string.
    Definition(String),
}

impl CrsRef {
    /// Parse what a user writes: `EPSG:2154`, `epsg:2154`, `2154`,
    /// `urn:ogc:def:crs:EPSG::3857`, `urn:ogc:def:crs:OGC:1.3:CRS84`, or any other PROJ definition.
    ///
    /// ```
    /// use tuilerie_model::CrsRef;
    /// assert_eq!(CrsRef::parse("urn:ogc:def:crs:EPSG::3857"), CrsRef::Epsg(3857));
    /// assert_eq!(CrsRef::parse("EPSG:2154"), CrsRef::Epsg(2154));
    /// assert_eq!(CrsRef::parse("urn:ogc:def:crs:OGC:1.3:CRS84"), CrsRef::Epsg(4326));
    /// assert_eq!(CrsRef::parse("IGNF:LAMB93"), CrsRef::Epsg(2154));
    /// assert_eq!(CrsRef::parse("IGNF:RGF93CC49"), CrsRef::Epsg(3949));
    /// ```
    pub fn parse(s: &str) -> CrsRef {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower.ends_with("crs84") {
            return CrsRef::Epsg(4326);
        }
        if let Some(code) = lower.strip_prefix("ignf:").and_then(ignf_to_epsg) {
            return CrsRef::Epsg(code);
        }
        let code = lower
            .strip_prefix("epsg:")
            .or_else(|| lower.strip_prefix("urn:ogc:def:crs:epsg::"))
            .or_else(|| lower.strip_prefix("urn:ogc:def:crs:epsg:6.3:"))
            .or_else(|| lower.strip_prefix("http://www.opengis.net/def/crs/epsg/0/"))
            .unwrap_or(&lower);
        match code.parse::<u32>() {
            Ok(c) => CrsRef::Epsg(c),
            Err(_) => CrsRef::Definition(t.to_string()),
        }
    }

    /// The string PROJ's `proj_create_crs_to_crs` takes.
    pub fn proj_definition(&self) -> String {
        match self {
            CrsRef::Epsg(c) => format!("EPSG:{c}"),
            CrsRef::Definition(d) => d.clone(),
        }
    }

    pub fn epsg(&self) -> Option<u32> {
        match self {
            CrsRef::Epsg(c) => Some(*c),
            CrsRef::Definition(_) => None,
        }
    }

    /// NTF (Paris) Lambert zones I–IV, their "carto" variants and Lambert II étendu: legacy
    /// French CRSs that need IGN's NTF→RGF93 grid to be transformed correctly.
    ///
    /// A quick syntactic answer; the reprojection stage asks PROJ (the CRS's ellipsoid) to
    /// catch the definitions this misses.
    pub fn is_ntf(&self) -> bool {
        match self {
            // Lambert zones, their "carto" and Greenwich variants, compounds with NGF heights,
            // and the geographic NTF CRSs.
            CrsRef::Epsg(c) => {
                matches!(c, 27561..=27564 | 27571..=27574 | 27581..=27584 | 27591..=27594 | 7411..=7413 | 7421 | 4275 | 4807)
            }
            CrsRef::Definition(d) => {
                let u = d.to_ascii_uppercase();
                u.contains("NTF") || u.contains("NOUVELLE_TRIANGULATION") || u.contains("CLRK80IGN")
            }
        }
    }

    /// A short label for reports.
    pub fn label(&self) -> String {
        match self {
            CrsRef::Epsg(c) => format!("EPSG:{c}"),
            CrsRef::Definition(d) => {
                // The CRS name is the first quoted string of a WKT.
                match d.split('"').nth(1) {
                    Some(name) if d.contains('[') => name.to_string(),
                    _ => d.chars().take(60).collect(),
                }
            }
        }
    }
}

/// IGNF registry codes of French CRSs that are the same CRS as an EPSG one (same datum,
/// projection and parameters; IGNF rounds two Lambert scale factors to 1e-9, i.e. under a
/// millimetre), as EDIGEO and IGN products name them. Mapping them matters beyond labels: PROJ
/// transforms IGNF's NTF CRSs with their own Helmert shift, the EPSG ones with IGN's grid.
fn ignf_to_epsg(code: &str) -> Option<u32> {
    Some(match code {
        "lamb93" => 2154,
        "rgf93g" => 4171,
        "lambe" | "lamb2c" => 27572,
        "lamb1" => 27561,
        "lamb2" => 27562,
        "lamb3" => 27563,
        "lamb4" => 27564,
        "lamb1c" => 27571,
        "lamb3c" => 27573,
        "lamb4c" => 27574,
        _ => {
            // RGF93CC42 … RGF93CC50 → EPSG:3942 … 3950
            let zone: u32 = code.strip_prefix("rgf93cc")?.parse().ok()?;
            return (42..=50).contains(&zone).then_some(3900 + zone);
        }
    })
}

impl fmt::Display for CrsRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntf_codes_are_recognised() {
        assert!(CrsRef::Epsg(27572).is_ntf());
        assert!(CrsRef::Epsg(27561).is_ntf());
        assert!(!CrsRef::Epsg(2154).is_ntf());
        assert!(!CrsRef::Epsg(3949).is_ntf());
        assert!(
            CrsRef::parse("PROJCS[\"NTF_Paris_Lambert_II\",GEOGCS[\"GCS_NTF_Paris\"]]").is_ntf()
        );
    }

    #[test]
    fn labels_name_wkt() {
        let c = CrsRef::parse("PROJCS[\"RGF_1993_Lambert_93\",GEOGCS[]]");
        assert_eq!(c.label(), "RGF_1993_Lambert_93");
        assert_eq!(CrsRef::parse("2154").label(), "EPSG:2154");
    }
}
