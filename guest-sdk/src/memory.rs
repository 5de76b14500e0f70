//! Memory of processes, sampled by the host, and leak detection with
//! statistics (least-squares slope with a 95 % confidence interval, R², and
//! the Mann–Kendall trend test).
//!
//! ```no_run
//! use rigor_guest::prelude::*;
//!
//! # fn demo(redis: &Redis) -> Result<()> {
//! let watcher = Watcher::start("server", Target::Redis("default".into()))?;
//! for _ in 0..5 {
//!     for i in 0..1000 {
//!         redis.set(&format!("k{i}"), b"v")?;
//!     }
//!     watcher.ops_done(1000)?;
//! }
//! let verdict = watcher.verdict(Criteria::bytes_per_op(1024.0))?;
//! check("no leak", !verdict.leak, verdict.summary.clone());
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::bindings::rigor::scenario::memory as wit;
use crate::{ProbeError, Result};

pub use wit::{Criteria, Fit, Measure, Point, Target, Usage, Verdict};

fn err(e: crate::bindings::rigor::scenario::types::ProbeError) -> crate::Error {
    ProbeError::from(e).into()
}

/// Samples `target` once: RSS, and PSS/USS/swap where the kernel has them.
pub fn sample(target: Target) -> Result<Usage> {
    wit::sample(&target).map_err(err)
}

impl Criteria {
    /// A leak is significant growth faster than `max` bytes per operation.
    pub fn bytes_per_op(max: f64) -> Self {
        Self {
            max_bytes_per_op: Some(max),
            max_bytes_per_second: None,
            alpha: None,
        }
    }

    /// A leak is significant growth faster than `max` bytes per second.
    pub fn bytes_per_second(max: f64) -> Self {
        Self {
            max_bytes_per_op: None,
            max_bytes_per_second: Some(max),
            alpha: None,
        }
    }

    /// The significance level of the trend test (0.05 by default).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = Some(alpha);
        self
    }
}

/// Follows one process's memory; the baseline is taken at start.
pub struct Watcher {
    inner: wit::Watcher,
}

impl Watcher {
    /// Watches the RSS of `target`, sampling when [`Watcher::ops_done`] is called.
    pub fn start(name: &str, target: Target) -> Result<Self> {
        Self::with(name, target, Measure::Rss, None)
    }

    /// Watches the RSS of `target`, sampling every `interval` as well.
    pub fn every(name: &str, target: Target, interval: Duration) -> Result<Self> {
        Self::with(name, target, Measure::Rss, Some(interval))
    }

    /// The general form.
    pub fn with(
        name: &str,
        target: Target,
        measure: Measure,
        interval: Option<Duration>,
    ) -> Result<Self> {
        let interval_ns = interval.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Ok(Self {
            inner: wit::Watcher::start(name, &target, measure, interval_ns).map_err(err)?,
        })
    }

    /// Reports `k` more operations done and samples now.
    pub fn ops_done(&self, k: u64) -> Result<Point> {
        self.inner.ops_done(k).map_err(err)
    }

    /// The series so far.
    pub fn series(&self) -> Vec<Point> {
        self.inner.series()
    }

    /// Judges the series; records the slope metrics and the series in the report.
    pub fn verdict(&self, criteria: Criteria) -> Result<Verdict> {
        self.inner.verdict(criteria).map_err(err)
    }

    /// Stops interval sampling.
    pub fn stop(&self) {
        self.inner.stop()
    }
}
