//! What every executor shares: a VU number with its VU (made on first use,
//! dropped after an interrupted or fatal iteration), one iteration run
//! against a cut-off, and the stop signals.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{ExecutionStats, IterationContext, IterationOutcome, Vu, VuFactory, vu_seed};

/// What the executor's tasks share.
pub(crate) struct Shared<F> {
    pub factory: F,
    pub stats: Arc<ExecutionStats>,
    pub run_seed: u64,
    /// Iterations started in the whole executor.
    pub scenario_iterations: AtomicU64,
}

/// A one-way switch: off until it is turned on, then on for good.
#[derive(Debug)]
pub(crate) struct Switch {
    tx: watch::Sender<bool>,
}

impl Switch {
    pub fn new() -> Self {
        Self {
            tx: watch::channel(false).0,
        }
    }

    pub fn turn_on(&self) {
        self.tx.send_replace(true);
    }

    pub fn watch(&self) -> SwitchWatch {
        SwitchWatch {
            rx: self.tx.subscribe(),
        }
    }
}

/// The receiving side of a [`Switch`].
#[derive(Debug, Clone)]
pub(crate) struct SwitchWatch {
    rx: watch::Receiver<bool>,
}

impl SwitchWatch {
    /// A watch on a switch turned on by someone else (`true` = on).
    pub fn from_receiver(rx: watch::Receiver<bool>) -> Self {
        Self { rx }
    }

    pub fn is_on(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the switch is on (or its owner is gone).
    pub async fn on(&mut self) {
        let _ = self.rx.wait_for(|on| *on).await;
    }
}

/// How waiting for an executor's tasks ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joined {
    /// Every task ended.
    All,
    /// The time ran out first.
    TimedOut,
    /// The executor was cancelled first.
    Cancelled,
}

/// Waits up to `limit` for every task to end, or for `cancel`.
pub(crate) async fn join_within(
    tasks: &mut JoinSet<()>,
    limit: Duration,
    cancel: &mut SwitchWatch,
) -> Joined {
    let timer = tokio::time::sleep(limit);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            () = &mut timer => return Joined::TimedOut,
            () = cancel.on() => return Joined::Cancelled,
            joined = tasks.join_next() => if joined.is_none() {
                return Joined::All;
            },
        }
    }
}

/// The end of every executor: no new iteration starts, those running get
/// `graceful_stop` (none once cancelled), then the rest are cut off.
pub(crate) async fn stop_gracefully(
    tasks: &mut JoinSet<()>,
    graceful: &Switch,
    hard: &Switch,
    graceful_stop: Duration,
    cancel: &mut SwitchWatch,
) {
    graceful.turn_on();
    if !cancel.is_on() {
        join_within(tasks, graceful_stop, cancel).await;
    }
    hard.turn_on();
    while tasks.join_next().await.is_some() {}
}

/// How an iteration attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ran {
    Finished,
    Interrupted,
    /// No VU could be made: the iteration did not start.
    NoVu,
}

/// A VU number and, once made, its VU.
pub(crate) struct VuSlot<F: VuFactory> {
    /// From 1.
    pub id: u32,
    vu: Option<F::Vu>,
    /// This VU number's iterations so far (kept across re-creations).
    pub iterations: u64,
}

impl<F: VuFactory> VuSlot<F> {
    pub fn new(id: u32) -> Self {
        Self {
            id,
            vu: None,
            iterations: 0,
        }
    }

    /// Makes the VU if there is none; false if that failed.
    pub async fn ensure(&mut self, shared: &Shared<F>) -> bool {
        if self.vu.is_some() {
            return true;
        }
        let began = Instant::now();
        match shared.factory.create(self.id).await {
            Ok(vu) => {
                shared.stats.vu_created(began.elapsed());
                self.vu = Some(vu);
                true
            }
            Err(message) => {
                shared
                    .stats
                    .instantiate_failed(&format!("VU {}: {message}", self.id));
                false
            }
        }
    }

    /// Drops the VU (it is made again if this slot is used later).
    pub fn release(&mut self, shared: &Shared<F>) {
        if self.vu.take().is_some() {
            shared.stats.vu_dropped();
        }
    }

    /// Runs one iteration, timed from `from` (its intended start for arrival
    /// rates, now for looping executors), cut off when `cutoff` resolves.
    pub async fn iterate(
        &mut self,
        shared: &Shared<F>,
        from: Instant,
        cutoff: impl Future<Output = ()>,
    ) -> Ran {
        if !self.ensure(shared).await {
            return Ran::NoVu;
        }
        let ctx = IterationContext {
            vu: self.id,
            iteration: self.iterations,
            scenario_iteration: shared.scenario_iterations.fetch_add(1, Ordering::Relaxed),
            seed: vu_seed(shared.run_seed, self.id),
        };
        self.iterations += 1;
        shared.stats.activated();
        let outcome = {
            let vu = self.vu.as_mut().expect("ensured above");
            tokio::select! {
                biased;
                () = cutoff => None,
                outcome = vu.iteration(ctx) => Some(outcome),
            }
        };
        shared.stats.deactivated();
        match outcome {
            None => {
                shared.stats.interrupted();
                // Left mid-call: the instance cannot be entered again.
                self.release(shared);
                Ran::Interrupted
            }
            Some(IterationOutcome::Completed) => {
                shared.stats.iteration_ended(from.elapsed(), None);
                Ran::Finished
            }
            Some(IterationOutcome::Failed { message, vu_lost }) => {
                shared.stats.iteration_ended(from.elapsed(), Some(&message));
                if vu_lost {
                    self.release(shared);
                }
                Ran::Finished
            }
        }
    }
}
