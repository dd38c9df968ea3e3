//! Builds run by the service: on a schedule (`--rebuild-at "0 2 * * *"`) and on demand
//! (`POST /admin/rebuild`), listed with their reports (`GET /admin/builds`).
//!
//! The server knows nothing of how a build is made: the command line hands it a [`Builder`]
//! (tuilerie's pipeline). A build runs on a thread of its own, one at a time; its new archive
//! reaches the clients through the catalog's hot reload, like any archive renamed over.
//! The admin routes need `Authorization: Bearer <token>`, the token coming from the
//! environment and compared in constant time; without a token they do not exist (404).

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use subtle::ConstantTimeEq;
use warp::http::HeaderMap;

/// How a build went, as the builder tells it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `ok`, `ok_with_warnings`, `input_errors`, `busy` (another build holds the folder) or
    /// `failed`.
    pub status: String,
    /// The build's report (`report.json`), when it got that far.
    pub report: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// Runs one build to its end (blocking).
pub trait Builder: Send + Sync + 'static {
    fn build(&self) -> Outcome;
}

impl<F: Fn() -> Outcome + Send + Sync + 'static> Builder for F {
    fn build(&self) -> Outcome {
        self()
    }
}

/// One build of the service's history.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: u64,
    /// `schedule` or `admin`.
    pub trigger: String,
    pub started: String,
    pub finished: Option<String>,
    pub millis: Option<u64>,
    /// `running`, then the outcome's status.
    pub status: String,
    pub error: Option<String>,
    pub report: Option<serde_json::Value>,
}

/// Builds kept in the history.
const HISTORY: usize = 20;

/// The service's builds: the builder, the token, the history.
pub struct Builds {
    builder: Arc<dyn Builder>,
    token: Option<String>,
    history: Mutex<VecDeque<Record>>,
}

/// Why a build was not started.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// This build is running.
    Running(u64),
}

impl std::fmt::Debug for Builds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builds")
            .field("admin", &self.token.is_some())
            .field("builds", &self.lock().len())
            .finish()
    }
}

impl Builds {
    /// `token`: the admin bearer token (`None`: no admin routes).
    pub fn new(builder: Arc<dyn Builder>, token: Option<String>) -> Builds {
        Builds {
            builder,
            token: token.filter(|t| !t.is_empty()),
            history: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether the admin routes exist.
    pub fn admin_enabled(&self) -> bool {
        self.token.is_some()
    }

    /// `Authorization: Bearer <token>`, compared in constant time: the SHA-256 digests of the
    /// two are compared byte for byte whatever they hold, so the time taken tells neither how
    /// much of a guess was right nor how long the token is.
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        use sha2::{Digest, Sha256};
        let Some(token) = &self.token else {
            return false;
        };
        let given = headers
            .get(warp::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, t)| t.trim());
        let (a, b) = (
            Sha256::digest(given.as_bytes()),
            Sha256::digest(token.as_bytes()),
        );
        bool::from(a[..].ct_eq(&b[..])) && !given.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Record>> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a build on its own thread, unless one is running.
    pub fn start(self: &Arc<Self>, trigger: &str) -> Result<u64, Refused> {
        let id = {
            let mut h = self.lock();
            if let Some(r) = h.iter().find(|r| r.status == "running") {
                return Err(Refused::Running(r.id));
            }
            let id = h.back().map_or(1, |r| r.id + 1);
            h.push_back(Record {
                id,
                trigger: trigger.to_string(),
                started: chrono::Local::now().to_rfc3339(),
                finished: None,
                millis: None,
                status: "running".into(),
                error: None,
                report: None,
            });
            while h.len() > HISTORY {
                h.pop_front();
            }
            id
        };
        tracing::info!("build {id} started ({trigger})");
        let me = self.clone();
        // A plain thread: the build blocks (and checks archives with a runtime of its own).
        std::thread::spawn(move || {
            let t = std::time::Instant::now();
            // A panic is a failed build, not a build running for ever (which would refuse
            // every later one).
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| me.builder.build()))
                    .unwrap_or_else(|panic| Outcome {
                        status: "failed".into(),
                        report: None,
                        error: Some(format!(
                            "internal error: {}",
                            panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "panic".into())
                        )),
                    });
            let millis = t.elapsed().as_millis() as u64;
            match &outcome.error {
                Some(e) => tracing::warn!("build {id}: {} ({e})", outcome.status),
                None => tracing::info!("build {id}: {} in {millis} ms", outcome.status),
            }
            let mut h = me.lock();
            if let Some(r) = h.iter_mut().find(|r| r.id == id) {
                r.finished = Some(chrono::Local::now().to_rfc3339());
                r.millis = Some(millis);
                r.status = outcome.status;
                r.error = outcome.error;
                r.report = outcome.report;
            }
        });
        Ok(id)
    }

    /// The builds, newest first.
    pub fn list(&self) -> Vec<Record> {
        self.lock().iter().rev().cloned().collect()
    }

    /// Run builds at the times of `schedule`, for ever (a build still running at the next time
    /// is not started twice).
    pub async fn run_schedule(self: Arc<Self>, schedule: croner::Cron) {
        // The last time fired: the next must come after it, even if the clock steps back.
        let mut last: Option<chrono::DateTime<chrono::Local>> = None;
        loop {
            let now = chrono::Local::now();
            let from = last.map_or(now, |l| l.max(now));
            let next = match schedule.find_next_occurrence(&from, false) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("--rebuild-at: no next time ({e}); no scheduled builds");
                    return;
                }
            };
            tracing::info!("next scheduled build at {next}");
            let wait = (next - now).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            last = Some(next);
            if let Err(Refused::Running(id)) = self.start("schedule") {
                tracing::warn!("scheduled build skipped: build {id} is still running");
            }
        }
    }
}

/// A parsed `--rebuild-at` schedule.
pub type Schedule = croner::Cron;

/// A cron expression, local time: 5 fields (minute hour day-of-month month day-of-week), or
/// 6 with the seconds first.
pub fn parse_schedule(expr: &str) -> Result<croner::Cron, String> {
    croner::Cron::new(expr)
        .with_seconds_optional()
        .parse()
        .map_err(|e| format!("--rebuild-at {expr:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn builds(token: Option<&str>) -> Arc<Builds> {
        let builder = || {
            std::thread::sleep(Duration::from_millis(100));
            Outcome {
                status: "ok".into(),
                report: Some(serde_json::json!({"status": "ok"})),
                error: None,
            }
        };
        Arc::new(Builds::new(Arc::new(builder), token.map(String::from)))
    }

    #[test]
    fn the_token_is_required_and_compared_whole() {
        let b = builds(Some("s3cret"));
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("authorization", v.parse().unwrap());
            h
        };
        assert!(b.authorized(&with("Bearer s3cret")));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Basic s3cret",
            "s3cret",
            "Bearer ",
        ] {
            assert!(!b.authorized(&with(wrong)), "{wrong}");
        }
        assert!(
            b.authorized(&with("bearer s3cret")),
            "the scheme ignores case"
        );
        assert!(!b.authorized(&HeaderMap::new()));
        let off = builds(None);
        assert!(!off.admin_enabled() && !off.authorized(&with("Bearer ")));
        assert!(!builds(Some("")).admin_enabled());
    }

    #[test]
    fn a_build_that_panics_is_failed_and_does_not_block_the_next() {
        let builder = || -> Outcome { panic!("boom") };
        let b = Arc::new(Builds::new(Arc::new(builder), Some("t".into())));
        let id = b.start("admin").unwrap();
        let t = std::time::Instant::now();
        while b.list()[0].status == "running" {
            assert!(t.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(b.list()[0].status, "failed");
        assert!(b.list()[0].error.as_deref().unwrap().contains("boom"));
        assert_eq!(b.start("admin"), Ok(id + 1));
    }

    #[test]
    fn one_build_at_a_time_and_its_outcome_recorded() {
        let b = builds(Some("t"));
        let id = b.start("admin").unwrap();
        assert_eq!(b.start("admin"), Err(Refused::Running(id)));
        let t = std::time::Instant::now();
        while b.list()[0].status == "running" {
            assert!(t.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(10));
        }
        let r = &b.list()[0];
        assert_eq!(
            (r.id, r.status.as_str(), r.trigger.as_str()),
            (id, "ok", "admin")
        );
        assert!(r.report.is_some() && r.millis.is_some());
        assert_eq!(b.start("schedule").unwrap(), id + 1);
    }

    #[test]
    fn schedules_are_cron_expressions() {
        let s = parse_schedule("0 2 * * *").unwrap();
        let next = s
            .find_next_occurrence(&chrono::Local::now(), false)
            .unwrap();
        assert_eq!(chrono::Timelike::hour(&next), 2);
        assert!(parse_schedule("*/5 * * * * *").is_ok());
        assert!(parse_schedule("0 25 * * *").is_err());
        assert!(parse_schedule("every night").is_err());
    }
}
