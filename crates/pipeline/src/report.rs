//! The build report: JSON for machines, a short table for people.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, Serialize, Default)]
pub struct BuildReport {
    pub tuilerie_version: String,
    pub manifest: String,
    pub commune_nouvelle: String,
    pub working_crs: String,
    /// `ok`, `ok_with_warnings` or `input_errors`.
    pub status: String,
    /// Set when NTF input was checked against IGN's grid.
    pub ntf_grid: Option<NtfGridReport>,
    pub deliveries: Vec<DeliveryReport>,
    pub themes: BTreeMap<String, ThemeCount>,
    pub outputs: Vec<OutputReport>,
    /// What the merge left as delivered and why (e.g. an id with an unexpected préfixe).
    pub merge_warnings: Vec<String>,
    /// Delivery-level errors that stopped the theme layers from being written.
    pub errors: Vec<String>,
    pub timings_ms: BTreeMap<String, u64>,
    /// The tiles step: zooms, tiles, bytes, budget cuts.
    pub tiles: Option<tuilerie_tiles::TilingReport>,
    /// What changed since the last build, and what was done again.
    pub changes: Option<crate::changes::Changes>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NtfGridReport {
    pub grid: String,
    /// Every NTF source CRS checked through its own route to the working CRS.
    pub sources: Vec<String>,
    /// The largest miss of IGN's reference point over those routes, metres.
    pub reference_error_m: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ThemeCount {
    pub read: usize,
    pub kept: usize,
    pub rejected: usize,
    /// The merge's counts, when the theme was merged: `kept` went in, and
    /// `read = output + merged_away + rejected`.
    pub merge: Option<tuilerie_merge::ThemeStats>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputReport {
    pub theme: String,
    pub path: String,
    pub features: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DeliveryReport {
    pub commune: String,
    pub commune_nom: String,
    pub path: String,
    pub theme: String,
    pub format: String,
    pub layers: Vec<LayerReport>,
    pub read: usize,
    pub kept: usize,
    pub repaired: usize,
    pub rejected: usize,
    /// Every warning, each naming its layer and feature.
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub read_ms: u64,
    pub process_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LayerReport {
    pub name: String,
    pub driver: String,
    /// The CRS used (the manifest's override, else the file's).
    pub crs: String,
    /// How PROJ transforms it into the working CRS.
    pub transformation: Vec<String>,
    pub read: usize,
    /// How many features the source declares, when it says so (a shortfall is an error).
    pub declared: Option<u64>,
    pub kept: usize,
    pub repaired: usize,
    pub rejected: usize,
    /// [minx, miny, maxx, maxy] of the kept features, working CRS.
    pub extent: Option<[f64; 4]>,
    /// How far the extent reaches beyond the commune's outline or the CRS's area of use.
    pub overshoot: Option<String>,
}

impl BuildReport {
    /// `read = kept + rejected` for every delivery and layer, and every layer read whole
    /// (as many features as its source declares, when it declares a count).
    pub fn reconciles(&self) -> bool {
        let themes_ok = self.themes.values().all(|t| {
            t.read == t.kept + t.rejected
                && t.merge.as_ref().is_none_or(|m| {
                    m.input == t.kept
                        && m.reconciles()
                        && t.read == m.output + m.merged_away + t.rejected
                })
        });
        themes_ok
            && self.deliveries.iter().all(|d| {
                d.read == d.kept + d.rejected
                    && d.read == d.layers.iter().map(|l| l.read).sum::<usize>()
                    && d.layers.iter().all(|l| {
                        l.read == l.kept + l.rejected
                            && l.declared.is_none_or(|n| n == l.read as u64)
                    })
            })
    }

    /// What the warnings of an `ok_with_warnings` build are, in a few words.
    pub fn warnings(&self) -> String {
        let qa: usize = self
            .themes
            .values()
            .filter_map(|t| t.merge.as_ref())
            .map(|m| m.overlaps + m.straddles + m.gaps + m.conflicts + m.reviews + m.foreign)
            .sum();
        let rejected: usize = self.deliveries.iter().map(|d| d.rejected).sum();
        let warnings: usize = self.deliveries.iter().map(|d| d.warnings.len()).sum();
        let mut parts = Vec::new();
        if qa > 0 {
            parts.push(format!("{qa} QA finding(s) along the old boundaries"));
        }
        if rejected > 0 {
            parts.push(format!("{rejected} feature(s) rejected"));
        }
        if warnings > rejected {
            parts.push(format!("{} delivery warning(s)", warnings - rejected));
        }
        if !self.merge_warnings.is_empty() {
            parts.push(format!("{} merge warning(s)", self.merge_warnings.len()));
        }
        parts.join(", ")
    }

    /// The short table printed on the terminal.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<7} {:<18} {:<12} {:<22} {:>7} {:>7} {:>8} {:>8} {:>8}",
            "commune", "theme", "format", "CRS", "read", "kept", "repaired", "rejected", "time ms"
        );
        for d in &self.deliveries {
            let crs = d
                .layers
                .iter()
                .map(|l| l.crs.as_str())
                .find(|c| !c.is_empty())
                .unwrap_or("-");
            let _ = writeln!(
                s,
                "{:<7} {:<18} {:<12} {:<22} {:>7} {:>7} {:>8} {:>8} {:>8}",
                d.commune,
                d.theme,
                d.format,
                crs.chars().take(22).collect::<String>(),
                d.read,
                d.kept,
                d.repaired,
                d.rejected,
                d.read_ms + d.process_ms
            );
        }
        for (t, c) in &self.themes {
            match &c.merge {
                None => {
                    let _ = writeln!(
                        s,
                        "theme {t}: {} read = {} kept + {} rejected",
                        c.read, c.kept, c.rejected
                    );
                }
                Some(m) => {
                    let _ = write!(
                        s,
                        "theme {t}: {} read = {} merged output + {} merged away + {} rejected; {} matches, {} overlaps, {} conflicts, {} reviews, {} straddling, {} gaps",
                        c.read, m.output, m.merged_away, c.rejected, m.matches, m.overlaps, m.conflicts, m.reviews, m.straddles, m.gaps
                    );
                    if m.foreign > 0 {
                        let _ = write!(s, ", {} of communes outside the merger", m.foreign);
                    }
                    if m.clipped > 0 {
                        let _ = write!(s, ", {} overlaps clipped", m.clipped);
                    }
                    if let (Some(b), Some(a)) = (m.components_before, m.components_after) {
                        let _ =
                            write!(s, "; components {b} → {a}, {} ends snapped", m.snapped_ends);
                    }
                    let _ = writeln!(s);
                }
            }
        }
        if let Some(t) = &self.tiles {
            let _ = writeln!(
                s,
                "tiles: zooms {}–{}, {} tiles, {} KiB{}",
                t.minzoom,
                t.maxzoom,
                t.tiles,
                t.bytes >> 10,
                if t.cuts.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} tile(s) over budget thinned (see report.json)",
                        t.cuts.len()
                    )
                }
            );
        }
        if !self.merge_warnings.is_empty() {
            let _ = writeln!(
                s,
                "{} merge warning(s): see report.json",
                self.merge_warnings.len()
            );
        }
        let warnings: usize = self.deliveries.iter().map(|d| d.warnings.len()).sum();
        if warnings > 0 {
            let _ = writeln!(
                s,
                "{warnings} warning(s), each naming its layer or feature: see report.json"
            );
        }
        if let Some(c) = &self.changes {
            let _ = writeln!(s, "{}", c.summary());
        }
        let ms = |k: &str| self.timings_ms.get(k).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "time: ingest {} ms, merge {} ms, tiles {} ms, total {} ms",
            ms("ingest"),
            ms("merge"),
            ms("tiles"),
            ms("total")
        );
        for e in &self.errors {
            let _ = writeln!(s, "error: {e}");
        }
        let _ = write!(s, "status: {}", self.status);
        if self.status == "ok_with_warnings" {
            let _ = write!(s, " ({}: see merged.gpkg and report.json)", self.warnings());
        }
        s
    }
}
