//! Probes: the host capabilities a scenario calls. Each probe has a native
//! half (plain async Rust, testable without wasm) and a binding that converts
//! WIT types, checks policy and calls the native half.

pub mod children;
pub mod clock;
pub mod fs;
pub mod http;
pub mod memory;
pub mod process;
pub mod redis;

use crate::bindings::types::ProbeError as WitProbeError;
use crate::policy::Policy;

/// Everything one scenario's probes need from the run: one field per probe,
/// each already scoped to the scenario's policy. Built by the runner, moved
/// into the scenario's store.
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
    /// (`self.probes.events.phase(..)`, `.advance(n)`); see `crate::events`.
    pub events: crate::events::ProgressSink,
    /// The scenario's `abort-on-fail` thresholds, checked while it runs.
    pub abort: crate::thresholds::AbortWatch,
    /// What the host may hold for the scenario; every probe reserves here
    /// before it allocates, connects or spawns.
    pub budget: crate::budget::Budget,
}

impl Capabilities {
    /// Capabilities that grant nothing (used for `describe`).
    pub fn deny_all(scenario: &str) -> Self {
        Self {
            children: Default::default(),
            redis: redis::RedisCtx {
                targets: Default::default(),
                policy: Policy::deny_all(scenario),
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
        }
    }
}

/// A probe failure, returned to the guest as a `probe-error` value.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    #[error("denied: {0}")]
    Denied(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("connection: {0}")]
    Connection(String),
    #[error("io: {0}")]
    Io(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("server: {0}")]
    Server(String),
}

impl From<ProbeError> for WitProbeError {
    fn from(e: ProbeError) -> Self {
        match e {
            ProbeError::Denied(m) => WitProbeError::Denied(m),
            ProbeError::Timeout(m) => WitProbeError::Timeout(m),
            ProbeError::Connection(m) => WitProbeError::Connection(m),
            ProbeError::Io(m) => WitProbeError::Io(m),
            ProbeError::Invalid(m) => WitProbeError::Invalid(m),
            ProbeError::Server(m) => WitProbeError::Server(m),
        }
    }
}

impl From<crate::policy::Denied> for ProbeError {
    fn from(d: crate::policy::Denied) -> Self {
        ProbeError::Denied(d.to_string())
    }
}

impl crate::bindings::types::Host for crate::engine::HostState {}
