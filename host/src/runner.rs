//! Runs a plan. [`prepare`] loads every component first (so invalid input
//! fails before anything runs); an [`Executor`] then runs the scenarios in
//! order, each in its own store with its capabilities, judges catalog and
//! command-line thresholds on what it measured, and assembles the
//! `RunReport`. What happens is told to [`RunObserver`]s as [`RunEvent`]s
//! (plan → executor → events → report → writers): the executor never writes
//! a report, reads a signal or decides an exit code.

mod redis_targets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use tokio::sync::watch;

use crate::budget::Budget;
use crate::catalog::Source;
use crate::catalog::plan::PlannedScenario;
use crate::engine::{Engine, EngineError, LoadedComponent, RunOutcome, RunSetup};
use crate::events::{ProgressSampler, ProgressSink, RunObserver};
use crate::policy::Policy;
use crate::probes::Capabilities;
use crate::probes::redis::{RedisCtx, RedisError};
use crate::report::builder::{attach_series, metric_reports, throughput_metrics};
use crate::report::model::{
    ErrorKind, HostInfo, RunIdentity, RunReport, RunSummary, SCHEMA, ScenarioReport, ScenarioShard,
    Status, ThresholdSource,
};
use crate::shard::{ShardCtx, ShardMode, ShardSpec};
use crate::thresholds::{AbortWatch, Expression, judge_planned};

pub use crate::events::RunEvent;
pub use redis_targets::RedisSetup;
use redis_targets::RedisTargets;

/// A scenario ready to run.
pub struct Prepared {
    pub plan: PlannedScenario,
    pub component: LoadedComponent,
}

/// Where the component of a planned scenario is: built sources from `built`,
/// prebuilt files as they are.
pub fn component_path(plan: &PlannedScenario, built: &BTreeMap<String, PathBuf>) -> PathBuf {
    match &plan.source {
        Source::Wasm(path) => path.clone(),
        Source::Rust { .. } | Source::Folder { .. } => {
            built.get(&plan.name).cloned().unwrap_or_default()
        }
    }
}

/// Loads every component of the plan; the first invalid one is an error.
pub fn prepare(
    engine: &Engine,
    plan: Vec<PlannedScenario>,
    built: &BTreeMap<String, PathBuf>,
) -> Result<Vec<Prepared>, EngineError> {
    plan.into_iter()
        .map(|p| {
            let path = component_path(&p, built);
            let component = engine.load(&path, p.executor.as_ref())?;
            Ok(Prepared { plan: p, component })
        })
        .collect()
}

/// Why a run was stopped from outside before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C).
    CtrlC,
    /// SIGTERM (CI cancellation, `timeout`, `kill`).
    Terminate,
}

impl Interrupt {
    /// The name users know it by, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::CtrlC => "Ctrl-C",
            Interrupt::Terminate => "SIGTERM",
        }
    }
}

/// How a run ended.
pub struct Outcome {
    /// The run's report; `partial` when it was interrupted.
    pub report: RunReport,
    /// What stopped the run early, if anything did.
    pub interrupted: Option<Interrupt>,
}

/// Runs prepared scenarios one after another.
pub struct Executor<'a> {
    engine: &'a Engine,
    redis: &'a RedisSetup,
    keep_scratch: bool,
    tls: crate::tls::TlsTrust,
    /// Which shard this process is, and the run's identity and seed.
    shard: ShardSpec,
    identity: Option<RunIdentity>,
    live: crate::events::LiveScenario,
}

impl<'a> Executor<'a> {
    pub fn new(engine: &'a Engine, redis: &'a RedisSetup, keep_scratch: bool) -> Self {
        Self {
            engine,
            redis,
            keep_scratch,
            tls: Default::default(),
            shard: ShardSpec::WHOLE,
            identity: None,
            live: Default::default(),
        }
    }

    /// Runs as `shard` of the run `identity` (its seed seeds every
    /// scenario); without it, an unsharded run with a fixed seed of 0.
    pub fn with_run(mut self, shard: ShardSpec, identity: RunIdentity) -> Self {
        self.shard = shard;
        self.identity = Some(identity);
        self
    }

    fn run_seed(&self) -> u64 {
        self.identity.as_ref().map_or(0, |i| i.seed)
    }

    /// Publishes each running scenario's recorder and report in `live`
    /// (for the live outputs).
    pub fn with_live(mut self, live: crate::events::LiveScenario) -> Self {
        self.live = live;
        self
    }

    /// The certificate authorities TLS connections trust (default: the
    /// system's only).
    pub fn with_tls(mut self, tls: crate::tls::TlsTrust) -> Self {
        self.tls = tls;
        self
    }

    /// Runs `prepared` in order. `interrupt` becoming `Some` stops the current
    /// scenario (its store, children and scratch directory are dropped) and
    /// skips the rest; the report is then marked partial.
    pub async fn run(
        &self,
        prepared: &[Prepared],
        interrupt: watch::Receiver<Option<Interrupt>>,
        observers: &mut [&mut dyn RunObserver],
    ) -> Result<Outcome, RedisError> {
        let mut session = Session::start(prepared.len());
        session.report.run = self.identity.clone();
        // Shards of one run share its id, and so the live outputs' label.
        if let Some(identity) = &self.identity {
            session.report.run_id = Some(identity.id.clone());
        }
        notify(
            observers,
            RunEvent::RunStarted {
                total: prepared.len(),
                run: &session.report,
            },
        );
        let needs_default = prepared.iter().any(|p| {
            p.plan
                .grants
                .redis
                .contains(crate::catalog::DEFAULT_REDIS_TARGET)
        });
        let redis = RedisTargets::provide(self.redis, needs_default, &self.tls).await?;

        for (index, p) in prepared.iter().enumerate() {
            if let Some(why) = *interrupt.borrow() {
                session.interrupted = Some(why);
                break;
            }
            notify(
                observers,
                RunEvent::Started {
                    name: &p.plan.name,
                    index,
                    total: prepared.len(),
                },
            );
            let skip = |reason: String| {
                ScenarioReport::skipped(
                    &p.plan.name,
                    &p.component.path.display().to_string(),
                    p.plan.params.iter().cloned().collect(),
                    reason,
                )
            };
            let mut report = if p.plan.shard == ShardMode::One && !self.shard.is_first() {
                skip(format!(
                    "runs on shard 1 only (catalog `shard = \"one\"`); this is shard {}",
                    self.shard
                ))
            } else if p.plan.no_vus_here {
                skip(format!(
                    "this shard's part of the executor has no VUs (fewer VUs than shards); this is shard {}",
                    self.shard
                ))
            } else {
                match redis.unavailable_for(&p.plan) {
                    Some(reason) => skip(reason.to_owned()),
                    None => {
                        self.run_scenario(p, &redis, interrupt.clone(), observers)
                            .await
                    }
                }
            };
            report.shard = Some(ScenarioShard {
                mode: p.plan.shard,
                seed: format!(
                    "{:016x}",
                    crate::shard::seed::scenario_seed(self.run_seed(), &p.plan.name)
                ),
            });
            if matches!(&report.error, Some(e) if e.kind == ErrorKind::Interrupted) {
                session.interrupted = *interrupt.borrow();
            }
            session.add(report);
            let report = session.report.scenarios.last().expect("just added");
            notify(
                observers,
                RunEvent::Finished {
                    report,
                    run: &session.report,
                },
            );
            if session.interrupted.is_some() {
                break;
            }
        }
        Ok(session.finish())
    }

    /// Runs one scenario in its own store, sampling its progress for the
    /// observers, and reports it.
    async fn run_scenario(
        &self,
        p: &Prepared,
        redis: &RedisTargets,
        mut interrupt: watch::Receiver<Option<Interrupt>>,
        observers: &mut [&mut dyn RunObserver],
    ) -> ScenarioReport {
        let events = ProgressSink::detached();
        let mut sampler = events.sampler();
        let setup = RunSetup {
            params: p.plan.params.clone(),
            limits: p.plan.limits,
            probes: self.capabilities(p, redis, events),
        };
        let stop = async move {
            match interrupt.wait_for(Option::is_some).await {
                Ok(why) => why.map_or("interrupt", Interrupt::name),
                // Nobody can interrupt any more: run to the end.
                Err(_) => std::future::pending().await,
            }
        };
        let run = self.engine.run(&p.component, setup, stop);
        tokio::pin!(run);
        let mut tick = tokio::time::interval(crate::events::SAMPLE_EVERY);
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => {
                    self.live.clear();
                    break outcome;
                }
                _ = tick.tick() => {
                    if let Some(progress) = sampler.sample() {
                        notify(observers, RunEvent::Progress { name: &p.plan.name, progress: &progress });
                    }
                }
            }
        };
        scenario_report(p, outcome, sampler)
    }

    /// What the scenario may reach: every probe's context scoped to its
    /// grants.
    fn capabilities(
        &self,
        p: &Prepared,
        redis: &RedisTargets,
        events: ProgressSink,
    ) -> Capabilities {
        let name = &p.plan.name;
        let policy = Policy::new(name, p.plan.grants.clone());
        Capabilities {
            children: Default::default(),
            redis: RedisCtx {
                targets: redis.urls.clone(),
                policy: policy.clone(),
                pools: Default::default(),
            },
            process: crate::probes::process::ProcessCtx::new(policy.clone()),
            http: crate::probes::http::HttpCtx {
                policy: policy.clone(),
            },
            fs: crate::probes::fs::FsCtx::new(name, policy.clone(), self.keep_scratch),
            memory: crate::probes::memory::MemoryCtx::new(policy),
            events,
            abort: AbortWatch::new(planned_thresholds(&p.plan)),
            budget: Budget::new(p.plan.limits.budgets),
            tls: self.tls.clone(),
            shard: ShardCtx::new(self.shard, p.plan.shard, self.run_seed(), name),
            live: self.live.clone(),
        }
    }
}

/// The scenario's catalog and command-line thresholds, as the threshold
/// module takes them.
fn planned_thresholds(
    plan: &PlannedScenario,
) -> impl Iterator<Item = (&str, &Expression, ThresholdSource)> {
    plan.thresholds
        .iter()
        .map(|t| (t.metric.as_str(), &t.expression, t.source))
}

/// The scenario's report from what its run produced. Catalog and
/// command-line thresholds are judged on what was measured, whatever
/// happened, and never dropped.
fn scenario_report(p: &Prepared, outcome: RunOutcome, sampler: ProgressSampler) -> ScenarioReport {
    let mut builder = outcome.report;
    let errored = matches!(&outcome.result, Err(e) if e.kind != ErrorKind::Aborted);
    builder.planned_thresholds(judge_planned(
        &outcome.recorder,
        planned_thresholds(&p.plan),
        errored,
    ));
    let mut metrics = metric_reports(&outcome.recorder);
    attach_series(&mut metrics, &builder.series);
    metrics.extend(throughput_metrics(&metrics, sampler.into_series()));
    let recorded = builder.finish();
    let status = match &outcome.result {
        // Stopped by an `abort-on-fail` threshold: a failure, not an error.
        Err(e) if e.kind == ErrorKind::Aborted => Status::Failed,
        Err(_) => Status::Errored,
        Ok(()) if recorded.passed => Status::Passed,
        Ok(()) => Status::Failed,
    };
    ScenarioReport {
        name: p.plan.name.clone(),
        source: p.component.path.display().to_string(),
        status,
        started_at: Some(crate::report::model::started_ago(outcome.duration)),
        duration_ms: outcome.duration.as_secs_f64() * 1e3,
        params: p.plan.params.iter().cloned().collect(),
        component: Some(p.component.info.clone()),
        metrics,
        checks: recorded.checks,
        thresholds: recorded.thresholds,
        findings: recorded.findings,
        logs: recorded.logs,
        logs_dropped: recorded.logs_dropped,
        dropped: recorded.dropped,
        output: outcome.output,
        error: outcome.result.err(),
        skip_reason: None,
        budgets: Some(outcome.budgets),
        shard: None,
    }
}

fn notify(observers: &mut [&mut dyn RunObserver], event: RunEvent<'_>) {
    for observer in observers.iter_mut() {
        observer.event(&event);
    }
}

/// One run's report as it grows: always complete enough to be written (the
/// summary and duration follow every scenario added), and marked partial
/// until the run ends uninterrupted.
struct Session {
    started: Instant,
    report: RunReport,
    interrupted: Option<Interrupt>,
}

impl Session {
    fn start(total: usize) -> Self {
        Self {
            started: Instant::now(),
            report: RunReport {
                schema: SCHEMA.to_owned(),
                rigor_version: env!("CARGO_PKG_VERSION").to_owned(),
                started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                duration_ms: 0.0,
                host: host_info(),
                partial: true,
                summary: RunSummary::from_scenarios(&[]),
                run_id: Some(new_run_id()),
                outputs: Vec::new(),
                scenarios: Vec::with_capacity(total),
                run: None,
                merge: None,
            },
            interrupted: None,
        }
    }

    fn add(&mut self, scenario: ScenarioReport) {
        self.report.scenarios.push(scenario);
        self.report.summary = RunSummary::from_scenarios(&self.report.scenarios);
        self.report.duration_ms = self.started.elapsed().as_secs_f64() * 1e3;
    }

    fn finish(mut self) -> Outcome {
        self.report.duration_ms = self.started.elapsed().as_secs_f64() * 1e3;
        self.report.partial = self.interrupted.is_some();
        Outcome {
            report: self.report,
            interrupted: self.interrupted,
        }
    }
}

/// 16 random hex digits from the kernel's generator (a clock-derived
/// value when it cannot be read): unique enough to tell runs apart.
fn new_run_id() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        let nanos = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (nanos ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn host_info() -> HostInfo {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    HostInfo {
        hostname,
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes,
    }
}
