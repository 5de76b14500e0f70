//! The executors behind one entry point ([`run`]): the looping ones, one
//! module each over the shared looping driver, and the two arrival-rate
//! executors, which differ only in their rate profile (`config`) and share
//! the arrival dispatch.

mod arrival;
mod constant_vus;
mod looping;
mod per_vu_iterations;
mod ramping_vus;
mod shared_iterations;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::watch;

use super::slots::{Shared, SwitchWatch};
use super::{
    ExecutionStats, ExecutionSummary, ExecutorConfig, ExecutorKind, VU_SAMPLE_INTERVAL, VuFactory,
};

/// Runs `config` with VUs from `factory` until it ends, or at once stops
/// every iteration when `cancel` turns true (Ctrl-C, the scenario's
/// deadline). `stats` is updated live, so a progress display can read it.
/// The configuration must have passed [`ExecutorConfig::validate`].
pub async fn run<F: VuFactory>(
    config: &ExecutorConfig,
    factory: F,
    run_seed: u64,
    stats: Arc<ExecutionStats>,
    cancel: watch::Receiver<bool>,
) -> ExecutionSummary {
    let shared = Arc::new(Shared {
        factory,
        stats: Arc::clone(&stats),
        run_seed,
        scenario_iterations: AtomicU64::new(0),
    });
    let sampler = tokio::spawn({
        let stats = Arc::clone(&stats);
        async move {
            let mut tick = tokio::time::interval(VU_SAMPLE_INTERVAL);
            loop {
                tick.tick().await;
                stats.sample();
            }
        }
    });
    let cancel = SwitchWatch::from_receiver(cancel);
    let graceful_stop = config.graceful_stop;
    match &config.kind {
        ExecutorKind::SharedIterations {
            vus,
            iterations,
            max_duration,
        } => {
            shared_iterations::run(
                shared,
                *vus,
                *iterations,
                *max_duration,
                graceful_stop,
                cancel,
            )
            .await
        }
        ExecutorKind::PerVuIterations {
            vus,
            iterations,
            max_duration,
        } => {
            per_vu_iterations::run(
                shared,
                *vus,
                *iterations,
                *max_duration,
                graceful_stop,
                cancel,
            )
            .await
        }
        ExecutorKind::ConstantVus { vus, duration } => {
            constant_vus::run(shared, *vus, *duration, graceful_stop, cancel).await
        }
        ExecutorKind::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down,
        } => {
            ramping_vus::run(
                shared,
                *start_vus,
                stages.clone(),
                *graceful_ramp_down,
                graceful_stop,
                cancel,
            )
            .await
        }
        ExecutorKind::ConstantArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        }
        | ExecutorKind::RampingArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        } => {
            let profile = config.arrival_profile().expect("an arrival-rate executor");
            arrival::run(
                shared,
                profile,
                *pre_allocated_vus,
                *max_vus,
                graceful_stop,
                cancel,
            )
            .await
        }
    }
    sampler.abort();
    stats.sample();
    stats.summary()
}

#[cfg(test)]
mod tests;
