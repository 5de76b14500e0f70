//! What an executor counted while it ran: iterations by outcome, dropped
//! iterations, VUs allocated and active over time, and the iteration and
//! instantiation time distributions (HDR, nanoseconds).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::Distribution;

/// Most samples of the active-VU count kept (a 10-hour run at the sample
/// interval); later samples are thinned by keeping every other one.
const MAX_VU_SAMPLES: usize = 144_000;

/// Counters shared by the executor's tasks.
#[derive(Debug)]
pub struct ExecutionStats {
    started: Instant,
    completed: AtomicU64,
    failed: AtomicU64,
    interrupted: AtomicU64,
    dropped: AtomicU64,
    /// VUs that exist now (instantiated, busy or idle).
    allocated: AtomicU32,
    allocated_peak: AtomicU32,
    /// VUs running an iteration or looping now.
    active: AtomicU32,
    active_peak: AtomicU32,
    instantiate_failures: AtomicU64,
    first_failure: Mutex<Option<String>>,
    iteration_ns: Mutex<Distribution>,
    instantiate_ns: Mutex<Distribution>,
    active_samples: Mutex<Vec<(Duration, u32)>>,
}

impl Default for ExecutionStats {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters and histograms stay usable whatever panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl ExecutionStats {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            interrupted: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            allocated: AtomicU32::new(0),
            allocated_peak: AtomicU32::new(0),
            active: AtomicU32::new(0),
            active_peak: AtomicU32::new(0),
            instantiate_failures: AtomicU64::new(0),
            first_failure: Mutex::new(None),
            iteration_ns: Mutex::new(Distribution::new()),
            instantiate_ns: Mutex::new(Distribution::new()),
            active_samples: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn vu_created(&self, took: Duration) {
        let now = self.allocated.fetch_add(1, Ordering::AcqRel) + 1;
        self.allocated_peak.fetch_max(now, Ordering::AcqRel);
        lock(&self.instantiate_ns).record(nanos(took));
    }

    pub(crate) fn vu_dropped(&self) {
        self.allocated.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn instantiate_failed(&self, message: &str) {
        self.instantiate_failures.fetch_add(1, Ordering::Relaxed);
        self.note_failure(message);
    }

    pub(crate) fn activated(&self) {
        let now = self.active.fetch_add(1, Ordering::AcqRel) + 1;
        self.active_peak.fetch_max(now, Ordering::AcqRel);
    }

    pub(crate) fn deactivated(&self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
    }

    /// An iteration ended; `took` counts from its intended start (arrival
    /// rate) or from its actual start (looping executors).
    pub(crate) fn iteration_ended(&self, took: Duration, failure: Option<&str>) {
        match failure {
            None => self.completed.fetch_add(1, Ordering::Relaxed),
            Some(message) => {
                self.note_failure(message);
                self.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
        lock(&self.iteration_ns).record(nanos(took));
    }

    pub(crate) fn interrupted(&self) {
        self.interrupted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    fn note_failure(&self, message: &str) {
        let mut first = lock(&self.first_failure);
        if first.is_none() {
            *first = Some(message.to_owned());
        }
    }

    /// Records the active-VU count now (called every sample interval).
    pub(crate) fn sample(&self) {
        let at = self.started.elapsed();
        let active = self.active.load(Ordering::Acquire);
        let mut samples = lock(&self.active_samples);
        if samples.len() >= MAX_VU_SAMPLES {
            let mut i = 0;
            samples.retain(|_| {
                i += 1;
                i % 2 == 0
            });
        }
        samples.push((at, active));
    }

    pub fn active(&self) -> u32 {
        self.active.load(Ordering::Acquire)
    }

    pub fn allocated(&self) -> u32 {
        self.allocated.load(Ordering::Acquire)
    }

    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Iterations ended (completed or failed) and dropped so far, cheaply.
    pub fn summary_counts(&self) -> (u64, u64) {
        (
            self.completed.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }

    pub fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Everything counted, as plain numbers.
    pub fn summary(&self) -> ExecutionSummary {
        ExecutionSummary {
            duration: self.started.elapsed(),
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            interrupted: self.interrupted.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            vus_max: self.allocated_peak.load(Ordering::Acquire),
            vus_active_peak: self.active_peak.load(Ordering::Acquire),
            instantiate_failures: self.instantiate_failures.load(Ordering::Relaxed),
            first_failure: lock(&self.first_failure).clone(),
            iteration_ns: lock(&self.iteration_ns).clone(),
            instantiate_ns: lock(&self.instantiate_ns).clone(),
            active_samples: lock(&self.active_samples).clone(),
        }
    }
}

/// The executor's counts when it ended.
#[derive(Debug, Clone)]
pub struct ExecutionSummary {
    pub duration: Duration,
    /// Iterations that ran to their end without error.
    pub completed: u64,
    /// Iterations that returned an error or trapped.
    pub failed: u64,
    /// Iterations cut off by a graceful stop or ramp-down running out.
    pub interrupted: u64,
    /// Arrival-rate slots that found no VU free (k6's `dropped_iterations`).
    pub dropped: u64,
    /// Most VUs allocated at once (k6's `vus_max`).
    pub vus_max: u32,
    /// Most VUs active at once.
    pub vus_active_peak: u32,
    pub instantiate_failures: u64,
    pub first_failure: Option<String>,
    pub iteration_ns: Distribution,
    pub instantiate_ns: Distribution,
    /// (time since start, active VUs), every sample interval.
    pub active_samples: Vec<(Duration, u32)>,
}

impl ExecutionSummary {
    /// Iterations that started and ended, whatever the outcome.
    pub fn iterations(&self) -> u64 {
        self.completed + self.failed
    }
}
