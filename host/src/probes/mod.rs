//! Probes: the host capabilities a scenario calls. Each probe has a native
//! half (plain async Rust, testable without wasm) and a binding that converts
//! WIT types, checks policy and calls the native half. A binding implements
//! its generated traits on its own view (`RedisView`, …), which borrows only
//! what that binding may touch.

pub mod children;
pub mod clock;
mod error;
pub mod fs;
pub mod http;
pub mod memory;
pub mod net;
pub mod process;
pub mod redis;
pub mod types;
pub mod websocket;

pub use error::ProbeError;
pub use types::{BindingError, BindingResult};

use crate::policy::Policy;

/// Everything one scenario's probes need from the run: one field per probe,
/// each already scoped to the scenario's policy. Built by the runner; its
/// fields become the fields of the scenario's `HostState`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// Pids of the scenario's live child processes.
    pub children: children::ChildPids,
    pub redis: redis::RedisCtx,
    pub process: process::ProcessCtx,
    pub http: http::HttpCtx,
    /// Scratch directory and granted directories.
    pub fs: fs::FsCtx,
    /// Granted pids and live watchers.
    pub memory: memory::MemoryCtx,
    /// Live progress: a probe reports its phase and operations done here
    /// (`self.events.phase(..)`, `.advance(n)`); see `crate::events`.
    pub events: crate::events::ProgressSink,
    /// The scenario's `abort-on-fail` thresholds, checked while it runs.
    pub abort: crate::thresholds::AbortWatch,
    /// What the host may hold for the scenario; every probe reserves here
    /// before it allocates, connects or spawns.
    pub budget: crate::budget::Budget,
    /// The certificate authorities every TLS connection trusts.
    pub tls: crate::tls::TlsTrust,
    /// This shard's part of the run and the scenario's seed: loads take
    /// their part here, the guest's WASI random is seeded from it.
    pub shard: crate::shard::ShardCtx,
    /// Where the store publishes its recorder and report for live outputs.
    pub live: crate::events::LiveScenario,
}

impl Capabilities {
    /// The same capabilities for one more store of the scenario (a VU, or
    /// the instance running `setup`): the same grants, targets, children,
    /// progress and budget, shared. `abort-on-fail` is checked once for the
    /// whole scenario, so the copy watches nothing.
    pub fn for_vu(&self) -> Self {
        Self {
            children: self.children.clone(),
            redis: self.redis.clone(),
            process: self.process.clone(),
            http: self.http.clone(),
            fs: self.fs.clone(),
            memory: self.memory.clone(),
            events: self.events.clone(),
            abort: Default::default(),
            budget: self.budget.clone(),
            tls: self.tls.clone(),
            shard: self.shard.clone(),
            live: self.live.clone(),
        }
    }

    /// Capabilities that grant nothing (used for `describe`).
    pub fn deny_all(scenario: &str) -> Self {
        Self {
            children: Default::default(),
            redis: redis::RedisCtx {
                targets: Default::default(),
                policy: Policy::deny_all(scenario),
                pools: Default::default(),
            },
            process: process::ProcessCtx::new(Policy::deny_all(scenario)),
            http: http::HttpCtx {
                policy: Policy::deny_all(scenario),
            },
            fs: fs::FsCtx::new(scenario, Policy::deny_all(scenario), false),
            memory: memory::MemoryCtx::new(Policy::deny_all(scenario)),
            events: Default::default(),
            abort: Default::default(),
            budget: Default::default(),
            tls: Default::default(),
            shard: Default::default(),
            live: Default::default(),
        }
    }
}
