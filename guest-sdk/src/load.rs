//! Native concurrent Redis load: the host runs the workers, times every
//! request and records the metrics; the scenario describes the load and
//! judges the result.
//!
//! ```no_run
//! use rigor_guest::prelude::*;
//! # fn f() -> rigor_guest::Result<()> {
//! let result = Load::new("default")
//!     .workers(50)
//!     .ops_per_worker(100)
//!     .set(1)
//!     .get(1)
//!     .value_size(100)
//!     .keys("app:load:", 10_000)
//!     .metric_prefix("concurrency")
//!     .run()?;
//! threshold("concurrency.throughput", "value > 5000ops/s")?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::bindings::rigor::scenario::redis as wit;
use crate::{ProbeError, Result};

pub use wit::{ConnectionMode, ErrorCount, LoadResult, OpResult};

/// A load to run on a named Redis target; build it, then [`Load::run`].
#[derive(Debug, Clone)]
pub struct Load {
    spec: wit::LoadSpec,
}

impl Load {
    /// A closed-model load on `target`: one worker, 1000 ops, no warm-up,
    /// 100-byte values, 10,000 uniformly drawn keys under `rigor:load:`,
    /// one connection per worker, metrics under `load`. Add ops with
    /// [`Load::set`], [`Load::get`]... before running.
    pub fn new(target: &str) -> Self {
        Self {
            spec: wit::LoadSpec {
                target: target.to_owned(),
                workers: 1,
                amount: wit::LoadAmount::OpsPerWorker(1000),
                warmup: wit::LoadAmount::OpsPerWorker(0),
                model: wit::LoadModel::Closed,
                mix: Vec::new(),
                value: wit::LoadValue::Bytes(100),
                keys: wit::KeySpace {
                    prefix: "rigor:load:".into(),
                    count: 10_000,
                    pattern: wit::KeyPattern::Uniform,
                },
                pipeline: 1,
                connections: wit::ConnectionMode::PerWorker,
                timeout_ms: None,
                threads: None,
                metric_prefix: None,
            },
        }
    }

    /// Concurrent workers (connections, unless shared).
    pub fn workers(mut self, n: u32) -> Self {
        self.spec.workers = n;
        self
    }

    /// Each worker completes `n` measured operations.
    pub fn ops_per_worker(mut self, n: u64) -> Self {
        self.spec.amount = wit::LoadAmount::OpsPerWorker(n);
        self
    }

    /// The measured phase lasts `d`.
    pub fn duration(mut self, d: Duration) -> Self {
        self.spec.amount = wit::LoadAmount::DurationMs(d.as_millis() as u64);
        self
    }

    /// Untimed operations per worker before measuring.
    pub fn warmup_ops(mut self, n: u64) -> Self {
        self.spec.warmup = wit::LoadAmount::OpsPerWorker(n);
        self
    }

    /// An untimed phase of `d` before measuring.
    pub fn warmup(mut self, d: Duration) -> Self {
        self.spec.warmup = wit::LoadAmount::DurationMs(d.as_millis() as u64);
        self
    }

    /// Open model: requests on a fixed timeline at `ops_per_sec` in total,
    /// latency counted from each request's intended send time.
    pub fn open(mut self, ops_per_sec: f64) -> Self {
        self.spec.model = wit::LoadModel::Open(ops_per_sec);
        self
    }

    /// Adds an op to the mix with its weight and an explicit metric name.
    pub fn op(mut self, op: wit::LoadOp, weight: u32, name: Option<&str>) -> Self {
        self.spec.mix.push(wit::WeightedOp {
            op,
            weight,
            name: name.map(str::to_owned),
        });
        self
    }

    /// Adds `SET key value` with `weight`.
    pub fn set(self, weight: u32) -> Self {
        self.op(wit::LoadOp::Set, weight, None)
    }

    /// Adds `GET key` with `weight`.
    pub fn get(self, weight: u32) -> Self {
        self.op(wit::LoadOp::Get, weight, None)
    }

    /// Adds `DEL key` with `weight`.
    pub fn del(self, weight: u32) -> Self {
        self.op(wit::LoadOp::Del, weight, None)
    }

    /// Adds `INCR key` with `weight`.
    pub fn incr(self, weight: u32) -> Self {
        self.op(wit::LoadOp::Incr, weight, None)
    }

    /// Adds `EXPIRE key seconds` with `weight`.
    pub fn expire(self, seconds: u32, weight: u32) -> Self {
        self.op(wit::LoadOp::Expire(seconds), weight, None)
    }

    /// Adds any command; `{key}` and `{value}` in an argument are replaced.
    /// `name` names its metric.
    pub fn raw(self, name: &str, args: &[&str], weight: u32) -> Self {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        self.op(wit::LoadOp::Raw(args), weight, Some(name))
    }

    /// Values of `n` bytes.
    pub fn value_size(mut self, n: u32) -> Self {
        self.spec.value = wit::LoadValue::Bytes(n);
        self
    }

    /// This exact value (e.g. a JSON document).
    pub fn document(mut self, bytes: &[u8]) -> Self {
        self.spec.value = wit::LoadValue::Document(bytes.to_vec());
        self
    }

    /// Keys `prefix0` .. `prefix{count-1}`.
    pub fn keys(mut self, prefix: &str, count: u64) -> Self {
        self.spec.keys.prefix = prefix.to_owned();
        self.spec.keys.count = count;
        self
    }

    /// Keys in order instead of at random.
    pub fn sequential_keys(mut self) -> Self {
        self.spec.keys.pattern = wit::KeyPattern::Sequential;
        self
    }

    /// Commands per write for each worker (closed model).
    pub fn pipeline(mut self, depth: u32) -> Self {
        self.spec.pipeline = depth;
        self
    }

    /// One connection shared by all workers.
    pub fn shared_connection(mut self) -> Self {
        self.spec.connections = wit::ConnectionMode::Shared;
        self
    }

    /// Per-request timeout (and reconnect window).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.spec.timeout_ms = Some(d.as_millis().min(u32::MAX as u128) as u32);
        self
    }

    /// Event-loop threads on the host.
    pub fn threads(mut self, n: u32) -> Self {
        self.spec.threads = Some(n);
        self
    }

    /// Metric names start with `prefix` (`<prefix>.set`, `<prefix>.throughput`).
    pub fn metric_prefix(mut self, prefix: &str) -> Self {
        self.spec.metric_prefix = Some(prefix.to_owned());
        self
    }

    /// Runs the load on the host and returns its result.
    pub fn run(&self) -> Result<LoadResult> {
        wit::run_load(&self.spec).map_err(|e| ProbeError::from(e).into())
    }
}
