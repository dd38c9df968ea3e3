//! Progress: a bar on a terminal, plain log lines (at most one every few seconds) otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts processed features across all deliveries.
pub struct Progress {
    bar: Option<ProgressBar>,
    last_log: Mutex<Instant>,
    label: &'static str,
}

impl Progress {
    pub fn new(label: &'static str, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} features {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(label);
            b
        });
        Progress {
            bar,
            last_log: Mutex::new(Instant::now()),
            label,
        }
    }

    pub fn add_total(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc_length(n);
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// A message: on the bar when there is one, else a log line, rate-limited unless `force`.
    pub fn message(&self, msg: &str, force: bool) {
        match &self.bar {
            Some(b) => b.set_message(tail(msg, 60)),
            None => {
                let mut last = self.last_log.lock().unwrap_or_else(|p| p.into_inner());
                if force || last.elapsed() > Duration::from_secs(5) {
                    tracing::info!("{}: {msg}", self.label);
                    *last = Instant::now();
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The end of a message, so that a bar stays on one line: `…/cadastre.gpkg: 2857 read`.
fn tail(msg: &str, max: usize) -> String {
    let n = msg.chars().count();
    if n <= max {
        msg.to_string()
    } else {
        let rest: String = msg.chars().skip(n - (max - 1)).collect();
        format!("…{rest}")
    }
}
