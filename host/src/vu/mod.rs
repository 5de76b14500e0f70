//! Virtual users: many concurrent instances of one scenario's iteration,
//! driven by k6's executors. This module is the scheduling half: what a VU
//! is to an executor ([`Vu`], created by a [`VuFactory`]), what each
//! executor starts and stops when, and what the run counted
//! ([`ExecutionStats`]). VUs are tasks on the runtime's existing threads,
//! never a thread each; a VU whose iteration was interrupted is dropped (a
//! WebAssembly instance left mid-call cannot be entered again) and made
//! anew if it is needed later.

pub mod config;
mod executors;
mod slots;
mod stats;

use std::future::Future;
use std::time::Duration;

pub use config::{ConfigError, ExecutorConfig, ExecutorKind, TargetStage};
pub use executors::run;
pub use stats::{ExecutionStats, ExecutionSummary};

/// What an iteration is told about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterationContext {
    /// The VU's number, from 1 (as k6's `__VU`).
    pub vu: u32,
    /// This VU's iteration number, from 0 (as k6's `__ITER`).
    pub iteration: u64,
    /// The iteration's number in the whole executor, from 0.
    pub scenario_iteration: u64,
    /// A seed that depends only on the run's seed and the VU number, so a
    /// VU's random choices repeat across runs.
    pub seed: u64,
}

/// How an iteration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IterationOutcome {
    Completed,
    /// The iteration returned an error or trapped. `vu_lost`: the VU cannot
    /// run another iteration (a trapped instance), so it is made anew.
    Failed {
        message: String,
        vu_lost: bool,
    },
}

/// One virtual user: runs iterations one at a time.
pub trait Vu: Send + 'static {
    fn iteration(
        &mut self,
        ctx: IterationContext,
    ) -> impl Future<Output = IterationOutcome> + Send + '_;
}

/// Makes VUs. `create` is timed into the `vus.instantiate` histogram.
pub trait VuFactory: Send + Sync + 'static {
    type Vu: Vu;
    fn create(&self, vu: u32) -> impl Future<Output = Result<Self::Vu, String>> + Send + '_;
}

/// A VU's seed: SplitMix64 of the run's seed and the VU number, so nearby
/// VU numbers get unrelated seeds.
pub fn vu_seed(run_seed: u64, vu: u32) -> u64 {
    let mut z = run_seed ^ u64::from(vu).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How often the number of active VUs is sampled for the report.
pub const VU_SAMPLE_INTERVAL: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_deterministic_and_distinct_per_vu() {
        assert_eq!(vu_seed(42, 7), vu_seed(42, 7));
        let seeds: std::collections::BTreeSet<u64> = (1..=10_000).map(|v| vu_seed(42, v)).collect();
        assert_eq!(seeds.len(), 10_000);
        assert_ne!(vu_seed(42, 1), vu_seed(43, 1));
    }
}
