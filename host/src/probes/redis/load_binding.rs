//! `redis.run-load`: converts the WIT spec, checks the grant, runs the
//! native load, reports progress while it runs, and records its metrics.

use std::time::Duration;

use super::binding::RedisView;
use super::load::{
    self, Amount, Connections, KeyPattern, LoadOutcome, LoadSpec, MixEntry, Model, Op, OpTally,
};
use crate::bindings::redis as wit;
use crate::metrics::{Distribution, SharedRecorder, Unit};
use crate::probes::{BindingResult, ProbeError};
use crate::report::model::LogLevel;
use crate::report::shared::SharedReport;

/// Default per-request timeout of a load.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a running load's throughput is sampled into its series.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// The native spec for a WIT spec; `invalid` names the field. Its value is
/// left empty: it is made (`value_of`) only once the budget admitted the load.
pub fn convert(spec: &wit::LoadSpec) -> Result<(LoadSpec, String), ProbeError> {
    let amount = |a: &wit::LoadAmount| match *a {
        wit::LoadAmount::OpsPerWorker(n) => Amount::OpsPerWorker(n),
        wit::LoadAmount::DurationMs(ms) => Amount::Duration(Duration::from_millis(ms)),
    };
    let mix = spec
        .mix
        .iter()
        .map(|w| {
            let op = match &w.op {
                wit::LoadOp::Set => Op::Set,
                wit::LoadOp::Get => Op::Get,
                wit::LoadOp::Del => Op::Del,
                wit::LoadOp::Incr => Op::Incr,
                wit::LoadOp::Expire(s) => Op::Expire(*s),
                wit::LoadOp::Raw(args) => {
                    Op::Raw(args.iter().map(|a| load::parse_template(a)).collect())
                }
            };
            MixEntry {
                name: w.name.clone().unwrap_or_else(|| op.default_name()),
                op,
                weight: w.weight,
            }
        })
        .collect();
    let value = Vec::new();
    value_len(&spec.value)?;
    let prefix = spec.metric_prefix.clone().unwrap_or_else(|| "load".into());
    let native = LoadSpec {
        workers: spec.workers,
        amount: amount(&spec.amount),
        warmup: amount(&spec.warmup),
        model: match spec.model {
            wit::LoadModel::Closed => Model::Closed,
            wit::LoadModel::Open(rate) => Model::Open { rate },
        },
        mix,
        value,
        key_prefix: spec.keys.prefix.clone(),
        key_count: spec.keys.count,
        key_pattern: match spec.keys.pattern {
            wit::KeyPattern::Uniform => KeyPattern::Uniform,
            wit::KeyPattern::Sequential => KeyPattern::Sequential,
        },
        pipeline: spec.pipeline,
        connections: match spec.connections {
            wit::ConnectionMode::PerWorker => Connections::PerWorker,
            wit::ConnectionMode::Shared => Connections::Shared,
        },
        timeout: spec.timeout_ms.map_or(DEFAULT_LOAD_TIMEOUT, |ms| {
            Duration::from_millis(u64::from(ms))
        }),
        threads: spec
            .threads
            .map_or_else(crate::budget::threads_per_load, |t| t as usize),
        seed: 0x5EED,
        first_worker: 0,
        all_workers: 0,
    };
    native
        .validate()
        .map_err(|e| ProbeError::Invalid(e.to_string()))?;
    if prefix.is_empty() || prefix.len() > 100 {
        return Err(ProbeError::Invalid(
            "load spec field `metric-prefix`: must be 1 to 100 bytes".into(),
        ));
    }
    Ok((native, prefix))
}

/// Bytes of a load's value, checked before anything is made.
fn value_len(value: &wit::LoadValue) -> Result<usize, ProbeError> {
    match value {
        wit::LoadValue::Bytes(n) => {
            let n = *n as usize;
            if n > load::spec::MAX_VALUE_LEN {
                return Err(ProbeError::Invalid(format!(
                    "load spec field `value`: {n} bytes; at most {}",
                    load::spec::MAX_VALUE_LEN
                )));
            }
            Ok(n)
        }
        wit::LoadValue::Document(d) => Ok(d.len()),
    }
}

/// The value of a load the budget admitted; a document is moved, not copied.
fn value_of(value: wit::LoadValue) -> Vec<u8> {
    match value {
        wit::LoadValue::Bytes(n) => vec![b'x'; n as usize],
        wit::LoadValue::Document(d) => d,
    }
}

/// Records the load's metrics under `prefix` and logs error samples.
pub fn record(
    outcome: &LoadOutcome,
    spec: &LoadSpec,
    prefix: &str,
    recorder: &SharedRecorder,
    report: &SharedReport,
) -> Result<(), ProbeError> {
    let metric_error = |e: crate::metrics::MetricError| match e {
        crate::metrics::MetricError::Budget(b) => ProbeError::from(b),
        other => ProbeError::Invalid(other.to_string()),
    };
    let mut all = Distribution::new();
    for (entry, op) in spec.mix.iter().zip(&outcome.tally.ops) {
        let h = recorder
            .histogram(&format!("{prefix}.{}", entry.name), Unit::Nanoseconds)
            .map_err(metric_error)?;
        recorder.merge(h, &op.latency);
        all.merge(&op.latency);
        if let Some(service) = &op.service {
            let h = recorder
                .histogram(
                    &format!("{prefix}.{}.service", entry.name),
                    Unit::Nanoseconds,
                )
                .map_err(metric_error)?;
            recorder.merge(h, service);
        }
        for (kind, e) in &op.errors {
            let sample = e.samples.first().map(String::as_str).unwrap_or("");
            report.log(
                LogLevel::Warn,
                format!(
                    "{prefix}: {} `{kind}` error(s) on `{}`, e.g. {sample}",
                    e.count, entry.name
                ),
            );
        }
    }
    // The mode, and for a cluster where the operations went.
    if outcome.tally.node_ops.is_empty() {
        report.log(LogLevel::Info, format!("{prefix}: standalone mode"));
    } else {
        let per_node: Vec<String> = outcome
            .tally
            .node_ops
            .iter()
            .map(|(node, n)| format!("{node}={n}"))
            .collect();
        report.log(
            LogLevel::Info,
            format!(
                "{prefix}: cluster mode, {} nodes; operations per node: {}",
                outcome.tally.node_ops.len(),
                per_node.join(", ")
            ),
        );
    }
    if spec.mix.len() > 1 {
        let h = recorder
            .histogram(&format!("{prefix}.all"), Unit::Nanoseconds)
            .map_err(metric_error)?;
        recorder.merge(h, &all);
    }
    recorder
        .gauge(
            &format!("{prefix}.throughput"),
            outcome.throughput(),
            Unit::OpsPerSecond,
        )
        .map_err(metric_error)?;
    recorder
        .gauge(
            &format!("{prefix}.error-rate"),
            outcome.error_rate(),
            Unit::Ratio,
        )
        .map_err(metric_error)?;
    Ok(())
}

/// The WIT result of a load.
pub fn result(outcome: &LoadOutcome, spec: &LoadSpec) -> wit::LoadResult {
    let op_result = |entry: &MixEntry, op: &OpTally| wit::OpResult {
        name: entry.name.clone(),
        ok: op.ok,
        errors: op
            .errors
            .iter()
            .map(|(kind, e)| wit::ErrorCount {
                kind: kind.clone(),
                count: e.count,
                samples: e.samples.clone(),
            })
            .collect(),
        throughput: load::rate(op.ok, outcome.elapsed),
        latency: op.latency.summary().into(),
        service_time: op.service.as_ref().map(|s| s.summary().into()),
    };
    wit::LoadResult {
        ops: spec
            .mix
            .iter()
            .zip(&outcome.tally.ops)
            .map(|(e, o)| op_result(e, o))
            .collect(),
        ok: outcome.ok(),
        errors: outcome.errors(),
        error_rate: outcome.error_rate(),
        throughput: outcome.throughput(),
        elapsed_ns: u64::try_from(outcome.elapsed.as_nanos()).unwrap_or(u64::MAX),
        workers: outcome.workers,
        connections: match outcome.connections {
            Connections::PerWorker => wit::ConnectionMode::PerWorker,
            Connections::Shared => wit::ConnectionMode::Shared,
        },
        threads: u32::try_from(outcome.threads).unwrap_or(u32::MAX),
        reconnects: outcome.tally.reconnects,
    }
}

impl RedisView<'_> {
    pub(crate) async fn run_redis_load(
        &mut self,
        spec: wit::LoadSpec,
    ) -> BindingResult<wit::LoadResult> {
        let target = spec.target.clone();
        let policy = &self.redis.policy;
        let grant = policy.check_redis(&target).map_err(ProbeError::from)?;
        let Some(url) = self.redis.targets.get(&target).cloned() else {
            return Err(ProbeError::Connection(format!(
                "redis target `{target}` is granted but has no address: pass `--redis-target {target}=redis://HOST:PORT`"
            ))
            .into());
        };
        let (native, prefix) = convert(&spec)?;
        let mut native = self.shard.share_of(native)?;
        grant
            .check_load(&native, policy.scenario(), &target)
            .map_err(ProbeError::from)?;
        let budget = self.budget;
        if spec.threads.is_none() {
            // The default (half the cores) within the scenario's budget.
            let allowed = usize::try_from(budget.limits().load_threads).unwrap_or(usize::MAX);
            native.threads = native.threads.min(allowed).max(1);
        }
        let value_len = value_len(&spec.value)?;
        // Held until the load is over: dropping it gives the share back.
        let _budget = load::reserve(&native, value_len, budget).map_err(ProbeError::from)?;
        native.value = value_of(spec.value);
        let expected = match (native.model, native.amount) {
            (_, Amount::OpsPerWorker(n)) => Some(n * u64::from(native.workers)),
            (Model::Open { rate }, Amount::Duration(d)) => Some((rate * d.as_secs_f64()) as u64),
            (Model::Closed, Amount::Duration(_)) => None,
        };
        // Named after the metric prefix, so the runner's derived
        // `<phase>.throughput` is the load's own gauge, not a second one.
        self.events.phase(&prefix, expected);
        let handle = load::start(native, url)
            .map_err(|e| ProbeError::Invalid(format!("redis target `{target}`: {e}")))?;
        let native = handle.spec();
        let finish = handle_finish(handle, self.events, self.report, &prefix);
        let outcome = finish
            .await
            .map_err(|e| ProbeError::Io(format!("redis load on `{target}`: {e}")))?;
        self.events.set_done(outcome.ok() + outcome.errors());
        record(&outcome, &native, &prefix, self.recorder, self.report)?;
        Ok(result(&outcome, &native))
    }
}

/// Waits for the load, sampling its progress for the live display and its
/// throughput into the `<prefix>.throughput` series.
async fn handle_finish(
    handle: load::LoadHandle,
    events: &crate::events::ProgressSink,
    report: &SharedReport,
    prefix: &str,
) -> Result<LoadOutcome, load::LoadError> {
    let done = handle.progress();
    let finish = handle.finish();
    tokio::pin!(finish);
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    ticker.tick().await;
    let mut last = 0u64;
    let series = format!("{prefix}.throughput");
    loop {
        tokio::select! {
            outcome = &mut finish => return outcome,
            _ = ticker.tick() => {
                let now = done.get();
                events.set_done(now);
                let per_sec = (now - last) as f64 / SAMPLE_EVERY.as_secs_f64();
                report.series_point(&series, Unit::OpsPerSecond, per_sec);
                last = now;
            }
        }
    }
}
