//! From matched pairs to merged features: union-find clusters, the survivor chosen by the
//! declared order, attributes merged, every contributor listed in `sources`.

use geo::CoordsIter;
use std::cmp::Ordering;
use tuilerie_model::{feature, Criterion, Feature, Manifest, Provenance, Value};

/// Disjoint sets over feature indices; the root is always the smallest index, so clusters do
/// not depend on the order pairs are united in.
pub struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    pub fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.parent[hi] = lo;
        }
    }

    /// The sets of two or more members, each sorted, ordered by their smallest member.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        let n = self.parent.len();
        let roots: Vec<usize> = (0..n).map(|i| self.find(i)).collect();
        // Most features match nothing: count first, and build lists for real groups only.
        let mut size = vec![0u32; n];
        for &r in &roots {
            size[r] += 1;
        }
        let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (i, &r) in roots.iter().enumerate() {
            if size[r] > 1 {
                by_root.entry(r).or_default().push(i);
            }
        }
        by_root.into_values().collect()
    }
}

/// Union-find that refuses the unions a chain of matches would make wrongly: two features of
/// one group (delivery) in one cluster, or two features logged as a conflict. A cluster grows
/// pair by pair, so A~B and B~C would otherwise merge A and C although nobody compared them.
pub struct GuardedUnion {
    uf: UnionFind,
    group: Vec<u32>,
    allow_same_group: bool,
    conflicts: std::collections::HashSet<(usize, usize)>,
    members: std::collections::HashMap<usize, Vec<usize>>,
}

impl GuardedUnion {
    pub fn new(
        group: Vec<u32>,
        allow_same_group: bool,
        conflicts: std::collections::HashSet<(usize, usize)>,
    ) -> Self {
        GuardedUnion {
            uf: UnionFind::new(group.len()),
            group,
            allow_same_group,
            conflicts,
            members: Default::default(),
        }
    }

    /// Join the clusters of `a` and `b`, or say why not.
    pub fn try_union(&mut self, a: usize, b: usize) -> Result<(), &'static str> {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        if ra == rb {
            return Ok(());
        }
        let ma = self.members.get(&ra).cloned().unwrap_or_else(|| vec![ra]);
        let mb = self.members.get(&rb).cloned().unwrap_or_else(|| vec![rb]);
        for &x in &ma {
            for &y in &mb {
                if !self.allow_same_group && self.group[x] == self.group[y] {
                    return Err("it would join two features of one delivery");
                }
                if self.conflicts.contains(&(x.min(y), x.max(y))) {
                    return Err("it would join two features logged as a conflict");
                }
            }
        }
        self.uf.union(ra, rb);
        let root = self.uf.find(ra);
        self.members.remove(&ra);
        self.members.remove(&rb);
        let mut all = ma;
        all.extend(mb);
        all.sort_unstable();
        self.members.insert(root, all);
        Ok(())
    }

    /// The clusters of two or more, each sorted, ordered by their smallest member.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        self.uf.groups()
    }
}

/// A value as something to order by recency: a number (dates as `yyyymmddHHMMSS`, so that a
/// `Date`, an EDIGEO integer date `20140303` and a text `2014-03-03` compare alike), else text.
#[derive(Debug, PartialEq, PartialOrd)]
enum Recency {
    Number(f64),
    Text(String),
}

/// One day on the recency scale (`yyyymmdd` × DAY + `HHMMSS`).
const DAY: f64 = 1_000_000.0;

/// A number that may be a date: `yyyymmdd` (EDIGEO's `20140303`) or a year (`2014`) on the
/// same scale as dates; any other number as is.
fn int_date(n: f64) -> f64 {
    if n.fract() == 0.0 && (10_000_000.0..=99_991_231.0).contains(&n) {
        n * DAY
    } else if n.fract() == 0.0 && (1000.0..=2999.0).contains(&n) {
        n * 10_000.0 * DAY
    } else {
        n
    }
}

fn recency(v: &Value) -> Option<Recency> {
    let yyyymmdd = |d: &chrono::NaiveDate| {
        use chrono::Datelike;
        (d.year() as f64 * 10_000.0 + d.month() as f64 * 100.0 + d.day() as f64) * DAY
    };
    Some(match v {
        Value::Null => return None,
        Value::Date(d) => Recency::Number(yyyymmdd(d)),
        Value::DateTime(t) => {
            use chrono::Timelike;
            Recency::Number(
                yyyymmdd(&t.date()) + (t.hour() * 10_000 + t.minute() * 100 + t.second()) as f64,
            )
        }
        Value::Int(i) => Recency::Number(int_date(*i as f64)),
        Value::Real(r) if r.is_finite() => Recency::Number(int_date(*r)),
        Value::Text(t) => {
            let t = t.trim();
            let date = ["%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d"]
                .iter()
                .find_map(|f| chrono::NaiveDate::parse_from_str(t, f).ok());
            let time = [
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S",
            ]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok());
            match (time, date, t.parse::<f64>()) {
                (Some(dt), _, _) => return recency(&Value::DateTime(dt)),
                (None, Some(d), _) => Recency::Number(yyyymmdd(&d)),
                (None, None, Ok(n)) if n.is_finite() => Recency::Number(int_date(n)),
                _ => Recency::Text(t.to_string()),
            }
        }
        other => Recency::Text(other.as_text().unwrap_or_default()),
    })
}

/// Order values for "most recent": dates in any of their encodings (a `Date`, an EDIGEO
/// integer `20140303`, a text `2014-03-03` or `03/03/2014`, a year) on one scale, then other
/// numbers, then text; a missing value comes last (least).
pub fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let (ra, rb) = (a.and_then(recency), b.and_then(recency));
    match (ra, rb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Recency::Number(x)), Some(Recency::Number(y))) => x.total_cmp(&y),
        (Some(Recency::Number(_)), Some(Recency::Text(_))) => Ordering::Less,
        (Some(Recency::Text(_)), Some(Recency::Number(_))) => Ordering::Greater,
        (Some(Recency::Text(x)), Some(Recency::Text(y))) => x.cmp(&y),
    }
}

fn non_null(f: &Feature) -> usize {
    f.attributes.iter().filter(|(_, v)| !v.is_null()).count()
}

/// Compare two copies on one criterion: `Less` when `a` is better.
fn cmp_on(
    c: Criterion,
    a: &Feature,
    b: &Feature,
    manifest: &Manifest,
    updated_field: Option<&str>,
) -> Ordering {
    match c {
        Criterion::Priority => manifest
            .priority_rank(&a.provenance.commune)
            .cmp(&manifest.priority_rank(&b.provenance.commune)),
        // Latest first.
        Criterion::Updated => {
            updated_field.map_or(Ordering::Equal, |f| cmp_values(b.get(f), a.get(f)))
        }
        Criterion::Attributes => non_null(b).cmp(&non_null(a)),
        Criterion::Vertices => b.geometry.coords_count().cmp(&a.geometry.coords_count()),
    }
}

/// Which of two copies should survive: `Less` when `a` should. The declared criteria in
/// order, then the stable order of their provenance.
pub fn cmp_survivor(
    a: &Feature,
    b: &Feature,
    manifest: &Manifest,
    updated_field: Option<&str>,
) -> Ordering {
    manifest
        .merge
        .resolve
        .iter()
        .map(|c| cmp_on(*c, a, b, manifest, updated_field))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| crate::order::cmp_provenance(&a.provenance, &b.provenance))
}

/// Why the survivor was preferred to another copy, for the log.
pub fn deciding_criterion(
    kept: &Feature,
    other: &Feature,
    manifest: &Manifest,
    updated_field: Option<&str>,
) -> String {
    let decisive = manifest
        .merge
        .resolve
        .iter()
        .find(|c| cmp_on(**c, kept, other, manifest, updated_field).is_ne());
    match decisive {
        Some(Criterion::Priority) => {
            format!("kept: commune {} has priority", kept.provenance.commune)
        }
        Some(Criterion::Updated) => "kept: most recent update".into(),
        Some(Criterion::Attributes) => "kept: more attributes".into(),
        Some(Criterion::Vertices) => "kept: more detailed geometry".into(),
        None => "kept: first in the stable order (the copies tie on every criterion)".into(),
    }
}

/// One entry of `sources`, borrowed from a provenance.
#[derive(serde::Serialize)]
struct SourceRef<'a> {
    commune: &'a str,
    delivery: &'a str,
    layer: &'a str,
    id: &'a str,
}

/// The `sources` value: a JSON array of `{commune, delivery, layer, id}`, in stable order.
pub fn sources_json<'a>(provenances: impl Iterator<Item = &'a Provenance>) -> String {
    let mut list: Vec<&Provenance> = provenances.collect();
    list.sort_by(|a, b| crate::order::cmp_provenance(a, b));
    list.dedup();
    let refs: Vec<SourceRef<'_>> = list
        .iter()
        .map(|p| SourceRef {
            commune: &p.commune,
            delivery: &p.delivery,
            layer: &p.layer,
            id: &p.source_id,
        })
        .collect();
    serde_json::to_string(&refs).unwrap_or_else(|_| "[]".into())
}

/// Fill the survivor's missing attributes from the other copies, in survivor order; returns
/// the names of the fields filled.
pub fn fill_attributes(survivor: &mut Feature, others: &[&Feature]) -> Vec<String> {
    let mut filled = Vec::new();
    for o in others {
        for (name, v) in &o.attributes {
            if v.is_null() {
                continue;
            }
            let missing = survivor.get(name).is_none_or(Value::is_null);
            if missing {
                feature::set(&mut survivor.attributes, name, v.clone());
                filled.push(name.clone());
            }
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_are_independent_of_union_order() {
        let mut a = UnionFind::new(6);
        for (x, y) in [(4, 5), (1, 2), (2, 4)] {
            a.union(x, y);
        }
        let mut b = UnionFind::new(6);
        for (x, y) in [(2, 4), (5, 4), (2, 1)] {
            b.union(x, y);
        }
        assert_eq!(a.groups(), vec![vec![1, 2, 4, 5]]);
        assert_eq!(a.groups(), b.groups());
    }

    #[test]
    fn dates_compare_across_types() {
        let d = Value::Date(chrono::NaiveDate::from_ymd_opt(2014, 3, 3).unwrap());
        assert_eq!(
            cmp_values(Some(&Value::Int(20150101)), Some(&Value::Int(20140303))),
            Ordering::Greater
        );
        assert_eq!(cmp_values(Some(&d), None), Ordering::Greater);
        // An EDIGEO integer date, a Date and an ISO text date compare as dates.
        assert_eq!(
            cmp_values(Some(&Value::Int(20150101)), Some(&d)),
            Ordering::Greater
        );
        assert_eq!(
            cmp_values(Some(&Value::Text("2013-12-31".into())), Some(&d)),
            Ordering::Less
        );
        assert_eq!(
            cmp_values(Some(&Value::Real(10.0)), Some(&Value::Real(9.5))),
            Ordering::Greater
        );
        // Dates as text in other encodings, and years.
        for later in ["20150101", "01/01/2015", "2014-03-03T10:00:00"] {
            assert_eq!(
                cmp_values(Some(&Value::Text(later.into())), Some(&d)),
                Ordering::Greater,
                "{later}"
            );
        }
        assert_eq!(
            cmp_values(Some(&Value::Text("20131231".into())), Some(&d)),
            Ordering::Less
        );
        assert_eq!(
            cmp_values(Some(&Value::Int(2015)), Some(&d)),
            Ordering::Greater
        );
        assert_eq!(
            cmp_values(Some(&Value::Int(2013)), Some(&d)),
            Ordering::Less
        );
    }
}
