//! Native concurrent Redis load: workers on dedicated event-loop threads,
//! closed or open model, an op mix over a key space, per-op HDR latencies
//! and errors by kind.
//!
//! The workers run on their own current-thread runtimes, not the host's: a
//! single-threaded event loop per core is what `redis-benchmark` does, and
//! it keeps the timed sections free of work-stealing hand-offs. Workers are
//! tasks on those few threads, however many there are, and the workers of
//! one thread record into one shared tally, so a load's threads and
//! histograms grow with its threads, not its workers.
//!
//! [`reserve`] takes what a load needs from the scenario's budget before
//! anything is allocated; the binding holds it until the load is over.

mod shared;
pub mod spec;
mod tally;
mod worker;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use spec::{
    Amount, CommandMaker, Connections, Footprint, KeyPattern, LoadSpec, MixEntry, Model, Op,
    Segment, SpecError, parse_template,
};
pub use tally::{ErrorTally, OpTally, Tally};

use super::RedisUrl;
use crate::budget::{Budget, BudgetExceeded, Reservation, Resource};
use crate::pacing::{PacingError, RateProfile, Timeline};
use shared::SharedConnection;
use worker::{Tallies, Worker};

/// Lead time between starting the threads and the first scheduled request,
/// so the open model's timeline does not begin in the past.
const START_LEAD: Duration = Duration::from_millis(20);

/// Which part of the run a worker is in.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Warmup,
    Measure,
}

/// Everything the workers of one load share.
struct Run {
    spec: Arc<LoadSpec>,
    url: RedisUrl,
    stop: AtomicBool,
    /// Open model: when each request is due (warm-up ones first).
    timeline: Option<Timeline>,
    /// Open model: requests of the timeline that belong to the warm-up.
    warmup_slots: u64,
    /// Measured operations completed, for progress displays.
    done: AtomicU64,
    /// Time zero of the timeline.
    start: Instant,
    /// What the budget was charged for: the reply bytes a worker's
    /// connection buffers for one batch, and a shared connection for one
    /// reply. A server that answers with more fails the request.
    batch_reply_limit: usize,
    reply_limit: usize,
}

impl Run {
    /// End of a duration-based phase on the common timeline.
    fn phase_end(&self, phase: Phase, length: Duration) -> Instant {
        let warmup = match self.spec.warmup {
            Amount::Duration(d) => d,
            Amount::OpsPerWorker(_) => Duration::ZERO,
        };
        match phase {
            Phase::Warmup => self.start + length,
            Phase::Measure => self.start + warmup + length,
        }
    }
}

/// A load in progress: dropping it stops the workers.
pub struct LoadHandle {
    run: Arc<Run>,
    threads: usize,
    results: Vec<tokio::sync::oneshot::Receiver<Tally>>,
}

impl Drop for LoadHandle {
    fn drop(&mut self) {
        self.run.stop.store(true, Ordering::Relaxed);
    }
}

/// Why a load could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("cannot start load threads: {0}")]
    Threads(std::io::Error),
    #[error("a load thread ended without reporting (it panicked); results of its workers are lost")]
    Lost,
    #[error("open-model schedule: {0}")]
    Pacing(#[from] PacingError),
}

/// The merged result of a load.
#[derive(Debug)]
pub struct LoadOutcome {
    pub tally: Tally,
    /// From the first measured send to the last measured completion.
    pub elapsed: Duration,
    pub workers: u32,
    pub connections: Connections,
    pub threads: usize,
}

impl LoadOutcome {
    pub fn ok(&self) -> u64 {
        self.tally.ops.iter().map(|o| o.ok).sum()
    }

    pub fn errors(&self) -> u64 {
        self.tally.ops.iter().map(OpTally::error_count).sum()
    }

    /// Successful operations per second over the measured phase.
    pub fn throughput(&self) -> f64 {
        rate(self.ok(), self.elapsed)
    }

    /// Failed / attempted.
    pub fn error_rate(&self) -> f64 {
        let attempted = self.ok() + self.errors();
        if attempted == 0 {
            0.0
        } else {
            self.errors() as f64 / attempted as f64
        }
    }
}

/// Operations per second.
pub fn rate(ops: u64, over: Duration) -> f64 {
    let secs = over.as_secs_f64();
    if secs > 0.0 { ops as f64 / secs } else { 0.0 }
}

/// Takes from `budget` what a load of `spec` with a value of `value_len`
/// bytes needs (its workers, threads, connections and host memory), all or
/// nothing, before the value or anything else is allocated. Dropping the
/// reservations gives them back.
pub fn reserve(
    spec: &LoadSpec,
    value_len: usize,
    budget: &Budget,
) -> Result<Vec<Reservation>, BudgetExceeded> {
    let footprint = spec.footprint(value_len);
    let threads = spec.threads_used();
    let asks = [
        (Resource::LoadWorkers, u64::from(spec.workers)),
        (Resource::LoadThreads, threads as u64),
        (Resource::Connections, spec.connections_used()),
        (Resource::HostMemory, footprint.total()),
    ];
    budget
        .reserve_all(&asks, |_| "run-load".into())
        .map_err(|e| match e.resource {
            Resource::HostMemory => e.because(footprint.describe()),
            Resource::LoadThreads => e.because(format!(
                "its workers run as tasks on {threads} event-loop thread{}; ask for fewer with `threads`",
                if threads == 1 { "" } else { "s" }
            )),
            Resource::Connections => e.because(format!(
                "{} workers with a connection each; `connections = shared` needs one",
                spec.workers
            )),
            _ => e,
        })
}

/// Starts a load; await [`LoadHandle::finish`] for the outcome.
pub fn start(spec: LoadSpec, url: RedisUrl) -> Result<LoadHandle, LoadError> {
    spec.validate()?;
    let threads = spec.threads_used();
    let footprint = spec.footprint(spec.value.len());
    let start = Instant::now() + START_LEAD;
    let (timeline, warmup_slots) = match open_schedule(&spec) {
        Some((rate, warmup, total)) => (
            Some(Timeline::new(
                start,
                RateProfile::Constant { per_second: rate },
                None,
                Some(total),
            )?),
            warmup,
        ),
        None => (None, 0),
    };
    let run = Arc::new(Run {
        batch_reply_limit: footprint.batch_reply_limit(),
        reply_limit: footprint.reply_limit(),
        url,
        stop: AtomicBool::new(false),
        timeline,
        warmup_slots,
        done: AtomicU64::new(0),
        start,
        spec: Arc::new(spec),
    });
    let mut results = Vec::with_capacity(threads);
    for thread in 0..threads {
        let (tx, rx) = tokio::sync::oneshot::channel();
        results.push(rx);
        let thread_run = run.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("rigor-load-{thread}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(_) => return, // the receiver reports the thread as lost
                };
                let tally = runtime.block_on(run_thread(thread_run, thread, threads));
                let _ = tx.send(tally);
            });
        if let Err(e) = spawned {
            // Threads already started stop at their next operation.
            run.stop.store(true, Ordering::Relaxed);
            return Err(LoadError::Threads(e));
        }
    }
    Ok(LoadHandle {
        run,
        threads,
        results,
    })
}

/// The open model's schedule: its rate, the requests of the warm-up, and
/// all its requests (warm-up included); `None` for the closed model.
fn open_schedule(spec: &LoadSpec) -> Option<(f64, u64, u64)> {
    let Model::Open { rate } = spec.model else {
        return None;
    };
    let slots = |amount: Amount| match amount {
        Amount::OpsPerWorker(n) => n * u64::from(spec.workers),
        Amount::Duration(d) => (d.as_secs_f64() * rate).round() as u64,
    };
    let warmup = slots(spec.warmup);
    Some((rate, warmup, warmup + slots(spec.amount)))
}

/// Reads a running load's count of measured operations done.
pub struct LoadProgress(Arc<Run>);

impl LoadProgress {
    pub fn get(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }
}

impl LoadHandle {
    /// The spec the load runs (shared, not copied: it holds the value).
    pub fn spec(&self) -> Arc<LoadSpec> {
        self.run.spec.clone()
    }

    /// A reader of the measured operations done so far.
    pub fn progress(&self) -> LoadProgress {
        LoadProgress(self.run.clone())
    }

    /// Waits for every worker and merges what they measured.
    pub async fn finish(mut self) -> Result<LoadOutcome, LoadError> {
        let spec = &self.run.spec;
        let mut total = Tally::new(spec.mix.len(), matches!(spec.model, Model::Open { .. }));
        let mut lost = false;
        for rx in std::mem::take(&mut self.results) {
            match rx.await {
                Ok(t) => total.merge(&t),
                Err(_) => lost = true,
            }
        }
        if lost {
            return Err(LoadError::Lost);
        }
        let elapsed = match (total.first_start, total.last_end) {
            (Some(s), Some(e)) => e.saturating_duration_since(s),
            _ => Duration::ZERO,
        };
        Ok(LoadOutcome {
            tally: total,
            elapsed,
            workers: spec.workers,
            connections: spec.connections,
            threads: self.threads,
        })
    }
}

/// Runs this thread's share of the workers (worker `w` runs on thread
/// `w % threads`) as local tasks recording into one tally, and returns it.
async fn run_thread(run: Arc<Run>, thread: usize, threads: usize) -> Tally {
    let spec = &run.spec;
    let shared = matches!(spec.connections, Connections::Shared).then(|| {
        Arc::new(SharedConnection::new(
            run.url.clone(),
            spec.timeout,
            run.reply_limit,
        ))
    });
    let tallies = Rc::new(Tallies {
        measured: RefCell::new(Tally::new(
            spec.mix.len(),
            matches!(spec.model, Model::Open { .. }),
        )),
        warmup: RefCell::new(Tally::new(
            spec.mix.len(),
            matches!(spec.model, Model::Open { .. }),
        )),
    });
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let mut set = tokio::task::JoinSet::new();
            for w in (0..spec.workers).filter(|w| *w as usize % threads == thread) {
                let worker = Worker::new(run.clone(), w, shared.clone(), tallies.clone());
                set.spawn_local(worker.run());
            }
            // A worker that panicked loses only what it had not recorded yet.
            while set.join_next().await.is_some() {}
        })
        .await;
    let warmup_reconnects = tallies.warmup.borrow().reconnects;
    let mut total = tallies.measured.replace(Tally::new(0, false));
    total.reconnects += warmup_reconnects;
    total
}

#[cfg(test)]
mod tests;
