//! Sharding and reproducibility: which shard a process is ([`ShardSpec`]),
//! how a scenario is sharded ([`ShardMode`]), each shard's exact part of a
//! load ([`split`]), the seeds everything random derives from ([`seed`]),
//! and what identifies a run and its plan in every report ([`identity`]).
//! A probe's binding takes its part with one call, `self.shard.share_of(spec)?`.

pub mod identity;
pub mod replay;
pub mod seed;
pub mod spec;
pub mod split;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use spec::{ShardError, ShardMode, ShardSpec};
pub use split::{ShareError, Splittable, split_executor};

/// What one scenario's probes know of the run's sharding and seed.
#[derive(Debug, Clone, Default)]
pub struct ShardCtx {
    spec: ShardSpec,
    mode: ShardMode,
    /// This shard's seed for the scenario ([`seed::shard_seed`]).
    seed: u64,
    /// The scenario's seed, the same on every shard: native loads draw
    /// from it, each worker by its number in the whole load, so the shards'
    /// workers together draw exactly what an unsharded run's would.
    scenario_seed: u64,
    /// Loads started so far: the n-th load draws from stream n, so two
    /// loads of one scenario do not repeat each other's keys.
    loads: Arc<AtomicU64>,
}

impl ShardCtx {
    /// The context of scenario `scenario`, sharded by `mode`, under the
    /// run seed `run_seed`.
    pub fn new(spec: ShardSpec, mode: ShardMode, run_seed: u64, scenario: &str) -> Self {
        let scenario_seed = seed::scenario_seed(run_seed, scenario);
        Self {
            spec,
            mode,
            seed: seed::shard_seed(scenario_seed, spec),
            scenario_seed,
            loads: Default::default(),
        }
    }

    pub fn spec(&self) -> ShardSpec {
        self.spec
    }

    pub fn mode(&self) -> ShardMode {
        self.mode
    }

    /// The seed this scenario's random choices on this shard start from
    /// (VUs: `vu::vu_seed(seed, vu)`; WASI random: [`seed::WasiRandom`]).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The context of VU `vu`: its own seed (so VUs draw different WASI
    /// random numbers, each repeatable), the same share and load counter.
    pub fn for_vu(&self, vu: u32) -> Self {
        Self {
            seed: crate::vu::vu_seed(self.seed, vu),
            ..self.clone()
        }
    }

    /// This shard's part of a native load, seeded from the run seed. The
    /// whole load when the run is not sharded or the scenario is not split.
    pub fn share_of<T: Splittable>(&self, mut load: T) -> Result<T, ShareError> {
        let n = self.loads.fetch_add(1, Ordering::Relaxed);
        load.reseed(seed::derive(self.scenario_seed, n));
        if self.spec.is_sharded() && self.mode == ShardMode::Split {
            load.split(self.spec)
        } else {
            Ok(load)
        }
    }
}

impl From<ShareError> for crate::probes::BindingError {
    fn from(e: ShareError) -> Self {
        crate::probes::BindingError::Probe(e.into())
    }
}

impl From<ShareError> for crate::probes::ProbeError {
    fn from(e: ShareError) -> Self {
        crate::probes::ProbeError::Invalid(e.to_string())
    }
}
