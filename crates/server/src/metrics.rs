//! Prometheus counters: requests by route and status, latency histogram, tiles served, bytes
//! sent, archive reloads. Plain atomics: recording a request costs a few relaxed adds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0,
];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    tiles: AtomicU64,
    bytes: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Metrics {
    /// Record one request.
    pub fn request(&self, route: &'static str, status: u16, elapsed: Duration, body: usize) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route, status)).or_default() += 1;
        }
        let s = elapsed.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ns
            .fetch_add(elapsed.as_nanos() as u64, Relaxed);
        if route == "tile" && status == 200 {
            self.tiles.fetch_add(1, Relaxed);
        }
        self.bytes.fetch_add(body as u64, Relaxed);
    }

    pub fn reloaded(&self) {
        self.reloads.fetch_add(1, Relaxed);
    }

    pub fn reload_failed(&self) {
        self.reload_failures.fetch_add(1, Relaxed);
    }

    pub fn reloads(&self) -> u64 {
        self.reloads.load(Relaxed)
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP tuilerie_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(s, "# TYPE tuilerie_requests_total counter");
        if let Ok(r) = self.requests.lock() {
            for ((route, status), n) in r.iter() {
                let _ = writeln!(
                    s,
                    "tuilerie_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            s,
            "# HELP tuilerie_request_seconds Time to answer a request."
        );
        let _ = writeln!(s, "# TYPE tuilerie_request_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "tuilerie_request_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(s, "tuilerie_request_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "tuilerie_request_seconds_sum {}",
            self.latency_sum_ns.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(s, "tuilerie_request_seconds_count {count}");
        for (name, help, v) in [
            (
                "tuilerie_tiles_served_total",
                "Tiles sent (200).",
                &self.tiles,
            ),
            (
                "tuilerie_response_bytes_total",
                "Body bytes sent.",
                &self.bytes,
            ),
            (
                "tuilerie_archive_reloads_total",
                "Archives swapped after a rebuild.",
                &self.reloads,
            ),
            (
                "tuilerie_archive_reload_failures_total",
                "Changed archives that could not be opened (the old one stays served).",
                &self.reload_failures,
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} counter");
            let _ = writeln!(s, "{name} {}", v.load(Relaxed));
        }
        s
    }
}
