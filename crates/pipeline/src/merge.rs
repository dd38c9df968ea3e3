//! The merge stage over a build: every theme merged, and the merge's own outputs (the
//! decisions log as CSV, the QA and decisions layers of the GeoPackage).

use crate::progress::Progress;
use crate::write::Table;
use crate::BuildError;
use flatgeobuf::ColumnType;
use geo::{Geometry, MultiPolygon, Point};
use std::collections::BTreeMap;
use std::path::Path;
use tuilerie_merge::{merge_theme, Decision, MergeContext, QaItem, ThemeMerge, ThemeStats};
use tuilerie_model::{Feature, Manifest, Theme, Value};

/// Every theme, merged.
#[derive(Default)]
pub struct Merged {
    pub themes: BTreeMap<Theme, Vec<Feature>>,
    pub decisions: Vec<Decision>,
    pub qa: Vec<QaItem>,
    pub stats: BTreeMap<String, ThemeStats>,
    pub warnings: Vec<String>,
}

impl Merged {
    /// Add a merged theme.
    pub fn add(&mut self, theme: Theme, m: ThemeMerge) {
        self.decisions.extend(m.decisions);
        self.qa.extend(m.qa);
        self.warnings.extend(m.warnings);
        self.stats.insert(theme.name().to_string(), m.stats);
        self.themes.insert(theme, m.features);
    }
}

/// Merge one theme. The geometry steps guard themselves against the geometry library's
/// panics; a panic anywhere else is a bug, reported as such for its theme rather than
/// aborting the process.
pub fn merge_one(
    manifest: &Manifest,
    theme: &Theme,
    features: Vec<Feature>,
    outlines: &BTreeMap<String, MultiPolygon<f64>>,
) -> Result<ThemeMerge, BuildError> {
    let ctx = MergeContext { manifest, outlines };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        merge_theme(theme, features, &ctx)
    }))
    .map_err(|e| BuildError::Merge {
        theme: theme.name().to_string(),
        reason: e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into()),
    })
}

/// Merge each theme (one after the other; each is parallel inside).
pub fn merge_all(
    manifest: &Manifest,
    themes: BTreeMap<Theme, Vec<Feature>>,
    outlines: &BTreeMap<String, MultiPolygon<f64>>,
    quiet: bool,
) -> Result<Merged, BuildError> {
    let progress = Progress::new("merge", quiet);
    let mut out = Merged::default();
    for (theme, features) in themes {
        progress.message(&format!("merge {theme}: {} features", features.len()), true);
        let m = merge_one(manifest, &theme, features, outlines)?;
        out.add(theme, m);
    }
    progress.finish();
    Ok(out)
}

const DECISION_COLUMNS: [&str; 13] = [
    "theme",
    "matcher",
    "score",
    "decision",
    "reason",
    "kept",
    "other",
    "survivor",
    "iou",
    "smaller_overlap",
    "distance_m",
    "x",
    "y",
];

fn decision_values(d: &Decision) -> Vec<Value> {
    let real = |v: Option<f64>| v.map_or(Value::Null, |x| Value::Real(round(x)));
    vec![
        Value::Text(d.theme.clone()),
        Value::Text(d.matcher.into()),
        Value::Real(round(d.score)),
        Value::Text(d.decision.into()),
        Value::Text(d.reason.clone()),
        Value::Text(d.kept.clone()),
        Value::Text(d.other.clone()),
        Value::Text(d.survivor.clone()),
        real(d.iou),
        real(d.smaller_overlap),
        real(d.distance_m),
        Value::Real((d.x * 1000.0).round() / 1000.0),
        Value::Real((d.y * 1000.0).round() / 1000.0),
    ]
}

/// Scores to 6 decimals: enough to read, and the same text on every run.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Write the decisions log as CSV (opens in a spreadsheet, and in QGIS as points from x/y).
pub fn write_decisions_csv(path: &Path, decisions: &[Decision]) -> Result<(), BuildError> {
    let err = |e: &dyn std::fmt::Display| BuildError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let tmp = path.with_extension("csv.tmp");
    let mut w = csv::Writer::from_path(&tmp).map_err(|e| err(&e))?;
    w.write_record(DECISION_COLUMNS).map_err(|e| err(&e))?;
    for d in decisions {
        let row: Vec<String> = decision_values(d)
            .iter()
            .map(|v| v.as_text().unwrap_or_default())
            .collect();
        w.write_record(&row).map_err(|e| err(&e))?;
    }
    w.flush().map_err(|e| err(&e))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| err(&e))
}

/// Values of the decisions layer and their points.
pub(crate) fn decisions_rows(decisions: &[Decision]) -> (Vec<Vec<Value>>, Vec<Geometry<f64>>) {
    let values = decisions.iter().map(decision_values).collect();
    let points = decisions
        .iter()
        .map(|d| Point::new(d.x, d.y).into())
        .collect();
    (values, points)
}

pub(crate) fn decisions_table<'a>(
    values: &'a [Vec<Value>],
    points: &'a [Geometry<f64>],
) -> Table<'a> {
    let types = vec![
        ColumnType::String,
        ColumnType::String,
        ColumnType::Double,
        ColumnType::String,
        ColumnType::String,
        ColumnType::String,
        ColumnType::String,
        ColumnType::String,
        ColumnType::Double,
        ColumnType::Double,
        ColumnType::Double,
        ColumnType::Double,
        ColumnType::Double,
    ];
    Table {
        names: DECISION_COLUMNS.iter().map(|s| s.to_string()).collect(),
        types,
        rows: values
            .iter()
            .zip(points)
            .map(|(v, p)| (Some(p), v.iter().map(Some).collect()))
            .collect(),
    }
}

const QA_COLUMNS: [&str; 8] = [
    "theme",
    "kind",
    "a",
    "b",
    "commune_a",
    "commune_b",
    "measure",
    "detail",
];

pub(crate) fn qa_values(qa: &[QaItem]) -> Vec<Vec<Value>> {
    qa.iter()
        .map(|q| {
            vec![
                Value::Text(q.theme.clone()),
                Value::Text(q.kind.into()),
                Value::Text(q.a.clone()),
                Value::Text(q.b.clone()),
                Value::Text(q.commune_a.clone()),
                Value::Text(q.commune_b.clone()),
                Value::Real(round(q.measure)),
                Value::Text(q.detail.clone()),
            ]
        })
        .collect()
}

pub(crate) fn qa_table<'a>(qa: &'a [QaItem], values: &'a [Vec<Value>]) -> Table<'a> {
    let mut types = vec![ColumnType::String; QA_COLUMNS.len()];
    types[6] = ColumnType::Double;
    Table {
        names: QA_COLUMNS.iter().map(|s| s.to_string()).collect(),
        types,
        rows: qa
            .iter()
            .zip(values)
            .map(|(q, v)| (q.geometry.as_ref(), v.iter().map(Some).collect()))
            .collect(),
    }
}
