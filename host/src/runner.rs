//! Runs a plan: loads every component first (so invalid input fails before
//! anything runs), provides the Redis targets (a managed redis-server when no
//! URL is given), runs each scenario in its own store, evaluates catalog and
//! command-line thresholds, and assembles the `RunReport`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::watch;

use crate::budget::Budget;
use crate::catalog::plan::PlannedScenario;
use crate::catalog::{DEFAULT_REDIS_TARGET, Source};
use crate::engine::{Engine, EngineError, LoadedComponent, RunSetup};
use crate::events::ProgressSink;
use crate::policy::Policy;
use crate::probes::Capabilities;
use crate::probes::redis::{RedisCtx, RedisUrl};
use crate::report::builder::{attach_series, metric_reports, throughput_metrics};
use crate::report::model::{
    ErrorKind, HostInfo, RunReport, RunSummary, SCHEMA, ScenarioReport, Status,
};
use crate::services::redis_server::{ManagedRedis, ManagedRedisError};
use crate::thresholds::AbortWatch;

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
        Source::Rust { .. } | Source::Python { .. } | Source::Js { .. } => {
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
            let component = engine.load(&path)?;
            Ok(Prepared { plan: p, component })
        })
        .collect()
}

/// How the run reaches Redis.
#[derive(Debug, Clone, Default)]
pub struct RedisSetup {
    /// URL of the `default` target; `None` starts a managed redis-server.
    pub default_url: Option<String>,
    /// Other named targets.
    pub targets: BTreeMap<String, String>,
    /// The redis-server program for the managed default (PATH lookup if `None`).
    pub server_program: Option<PathBuf>,
}

/// Something happened during the run (for live progress).
pub enum RunEvent<'a> {
    Started {
        name: &'a str,
        index: usize,
        total: usize,
    },
    Finished {
        report: &'a ScenarioReport,
    },
    /// A sample of the running scenario's progress (every `events::SAMPLE_EVERY`
    /// while a probe reports a phase).
    Progress {
        name: &'a str,
        progress: &'a crate::events::Progress,
    },
}

/// Runs the prepared scenarios in order. `interrupt` turning true stops the
/// current scenario and skips the rest; the report is then marked partial.
pub async fn execute(
    engine: &Engine,
    prepared: &[Prepared],
    redis: &RedisSetup,
    keep_scratch: bool,
    interrupt: watch::Receiver<bool>,
    mut on_event: impl FnMut(RunEvent<'_>),
) -> Result<RunReport, crate::probes::redis::RedisError> {
    let started_at = SystemTime::now();
    let started = Instant::now();

    let mut urls = BTreeMap::new();
    for (name, url) in &redis.targets {
        urls.insert(name.clone(), RedisUrl::parse(url)?);
    }
    let needs_default = prepared
        .iter()
        .any(|p| p.plan.grants.redis.contains(DEFAULT_REDIS_TARGET));
    // Kept alive for the whole run; dropping it stops the server, also on
    // error or interrupt.
    let mut _managed: Option<ManagedRedis> = None;
    let mut default_unavailable: Option<String> = None;
    match &redis.default_url {
        Some(url) => {
            urls.insert(DEFAULT_REDIS_TARGET.to_owned(), RedisUrl::parse(url)?);
        }
        None if needs_default => {
            // Starting blocks (up to ~10 s waiting for readiness): off the
            // async workers.
            let program = redis.server_program.clone();
            let started = tokio::task::spawn_blocking(move || match program {
                Some(program) => ManagedRedis::start_with_program(&program),
                None => ManagedRedis::start(),
            })
            .await
            .unwrap_or_else(|e| {
                Err(ManagedRedisError::Spawn {
                    program: "redis-server".into(),
                    source: std::io::Error::other(e.to_string()),
                })
            });
            match started {
                Ok(server) => {
                    urls.insert(
                        DEFAULT_REDIS_TARGET.to_owned(),
                        RedisUrl::parse(&server.url())?,
                    );
                    _managed = Some(server);
                }
                Err(e @ ManagedRedisError::NotInstalled { .. }) => {
                    default_unavailable = Some(e.to_string());
                }
                Err(e) => {
                    default_unavailable = Some(format!(
                        "could not start a redis-server for the run: {e}; pass `--redis redis://HOST:PORT` to use a running server"
                    ));
                }
            }
        }
        None => {}
    }
    let urls = Arc::new(urls);

    let mut scenarios = Vec::with_capacity(prepared.len());
    let mut interrupted = false;
    for (index, p) in prepared.iter().enumerate() {
        if *interrupt.borrow() {
            interrupted = true;
            break;
        }
        on_event(RunEvent::Started {
            name: &p.plan.name,
            index,
            total: prepared.len(),
        });
        let params_map: BTreeMap<String, String> = p.plan.params.iter().cloned().collect();
        let source = p.component.path.display().to_string();
        let report = if let (true, Some(reason)) = (
            p.plan.grants.redis.contains(DEFAULT_REDIS_TARGET),
            &default_unavailable,
        ) {
            ScenarioReport::skipped(&p.plan.name, &source, params_map, reason.clone())
        } else {
            let events = ProgressSink::detached();
            let mut sampler = events.sampler();
            let planned = || {
                p.plan
                    .thresholds
                    .iter()
                    .map(|t| (t.metric.as_str(), &t.expression, t.source))
            };
            let setup = RunSetup {
                params: p.plan.params.clone(),
                limits: p.plan.limits,
                probes: Capabilities {
                    children: Default::default(),
                    redis: RedisCtx {
                        targets: urls.clone(),
                        policy: Policy::new(&p.plan.name, p.plan.grants.clone()),
                    },
                    process: crate::probes::process::ProcessCtx::new(Policy::new(
                        &p.plan.name,
                        p.plan.grants.clone(),
                    )),
                    http: crate::probes::http::HttpCtx {
                        policy: Policy::new(&p.plan.name, p.plan.grants.clone()),
                    },
                    fs: crate::probes::fs::FsCtx::new(
                        &p.plan.name,
                        Policy::new(&p.plan.name, p.plan.grants.clone()),
                        keep_scratch,
                    ),
                    memory: crate::probes::memory::MemoryCtx::new(Policy::new(
                        &p.plan.name,
                        p.plan.grants.clone(),
                    )),
                    events,
                    abort: AbortWatch::new(planned()),
                    budget: Budget::new(p.plan.limits.budgets),
                },
            };
            let mut rx = interrupt.clone();
            let stop = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            let run = engine.run(&p.component, setup, stop);
            tokio::pin!(run);
            let mut tick = tokio::time::interval(crate::events::SAMPLE_EVERY);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut run => break outcome,
                    _ = tick.tick() => {
                        if let Some(progress) = sampler.sample() {
                            on_event(RunEvent::Progress { name: &p.plan.name, progress: &progress });
                        }
                    }
                }
            };
            let mut builder = outcome.report;
            builder.apply_thresholds(&outcome.recorder, planned());
            let mut metrics = metric_reports(&outcome.recorder);
            attach_series(&mut metrics, &builder.series);
            metrics.extend(throughput_metrics(&metrics, sampler.into_series()));
            let status = match &outcome.result {
                // Stopped by an `abort-on-fail` threshold: a failure, not an error.
                Err(e) if e.kind == ErrorKind::Aborted => Status::Failed,
                Err(_) => Status::Errored,
                Ok(()) if builder.all_passed() => Status::Passed,
                Ok(()) => Status::Failed,
            };
            if matches!(&outcome.result, Err(e) if e.kind == ErrorKind::Interrupted) {
                interrupted = true;
            }
            ScenarioReport {
                name: p.plan.name.clone(),
                source,
                status,
                duration_ms: outcome.duration.as_secs_f64() * 1e3,
                params: params_map,
                component: Some(p.component.info.clone()),
                metrics,
                checks: builder.checks,
                thresholds: builder.thresholds,
                findings: builder.findings,
                logs: builder.logs,
                logs_dropped: builder.logs_dropped,
                output: outcome.output,
                error: outcome.result.err(),
                skip_reason: None,
                budgets: Some(outcome.budgets),
            }
        };
        on_event(RunEvent::Finished { report: &report });
        scenarios.push(report);
        if interrupted {
            break;
        }
    }

    Ok(RunReport {
        schema: SCHEMA.to_owned(),
        rigor_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
        duration_ms: started.elapsed().as_secs_f64() * 1e3,
        host: host_info(),
        partial: interrupted,
        summary: RunSummary::from_scenarios(&scenarios),
        scenarios,
    })
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
