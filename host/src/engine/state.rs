//! `HostState`: the data of one scenario's `Store`, one field per capability
//! context, and how each WIT interface is linked to its own view of it.
//! `HostState::new` is the only constructor, so every store starts from the
//! same deny-by-default configuration; what it keeps for the guest (output,
//! metrics, report items) is charged to the scenario's budget. A binding
//! never sees `HostState`: its generated trait is implemented on a small view
//! (`RedisView`, `FsView`, …, defined next to the binding) that borrows
//! exactly the fields it needs, and `add_to_linker` below is the one place
//! those borrows are handed out.

use std::time::Instant;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{BoundedOutput, ScenarioLimiter};
use crate::bindings::{clock, fs, http, memory, metrics, process, redis, report, types};
use crate::budget::Budget;
use crate::events::ProgressSink;
use crate::metrics::{MetricsBinding, MetricsView, Recorder, SharedRecorder};
use crate::probes::Capabilities;
use crate::probes::children::ChildPids;
use crate::probes::clock::{ClockBinding, ClockCtx, ClockView};
use crate::probes::fs::{FsBinding, FsCtx, FsView};
use crate::probes::http::{HttpBinding, HttpCtx, HttpView};
use crate::probes::memory::{MemoryBinding, MemoryCtx, MemoryView};
use crate::probes::process::{ProcessBinding, ProcessCtx, ProcessView};
use crate::probes::redis::{RedisBinding, RedisCtx, RedisView};
use crate::probes::types::{TypesBinding, TypesView};
use crate::probes::websocket::{WebSocketBinding, WebSocketView};
use crate::report::binding::{ReportBinding, ReportView};
use crate::report::builder::ReportBuilder;
use crate::report::shared::SharedReport;
use crate::thresholds::AbortWatch;

/// The scenario's recorder, report and captured output: one set per
/// scenario, however many stores (VUs) record into it.
#[derive(Clone)]
pub struct Sinks {
    pub(crate) recorder: SharedRecorder,
    pub(crate) report: SharedReport,
    pub(crate) stdout: BoundedOutput,
    pub(crate) stderr: BoundedOutput,
}

impl Sinks {
    /// New sinks whose contents are charged to `budget`.
    pub fn new(budget: &Budget) -> Self {
        Self {
            recorder: SharedRecorder::new(Recorder::charged_to(budget.clone())),
            report: SharedReport::new(ReportBuilder::charged_to(budget.clone())),
            stdout: BoundedOutput::charged_to(budget.clone()),
            stderr: BoundedOutput::charged_to(budget.clone()),
        }
    }
}

pub struct HostState {
    /// WASI without ambient authority (see `new`).
    pub(crate) wasi: WasiCtx,
    pub(crate) limiter: ScenarioLimiter,
    pub(crate) stdout: BoundedOutput,
    pub(crate) stderr: BoundedOutput,
    /// Host objects the guest holds handles to (histograms, connections,
    /// children, roots, watchers); each binding reaches only its own types.
    pub(crate) table: ResourceTable,
    /// Measurements, for the report and for thresholds.
    pub(crate) recorder: SharedRecorder,
    /// Checks, findings, logs and series, for the report.
    pub(crate) report: SharedReport,
    /// Live progress of the probe running now.
    pub(crate) events: ProgressSink,
    /// The scenario's `abort-on-fail` thresholds, checked by the engine.
    pub(crate) abort: AbortWatch,
    pub(crate) clock: ClockCtx,
    pub(crate) redis: RedisCtx,
    pub(crate) process: ProcessCtx,
    /// Pids of the scenario's live children: the process probe adds them,
    /// the memory probe asks whether a pid is one.
    pub(crate) children: ChildPids,
    pub(crate) http: HttpCtx,
    pub(crate) fs: FsCtx,
    pub(crate) memory: MemoryCtx,
    /// What the host may hold or start for the scenario; the probes that
    /// open connections, spawn children or run loads reserve from it.
    pub(crate) budget: Budget,
    /// Certificate authorities for the probes' TLS connections.
    #[allow(dead_code)]
    pub(crate) tls: crate::tls::TlsTrust,
    /// This shard's part of the run, for the loads.
    pub(crate) shard: crate::shard::ShardCtx,
}

impl HostState {
    /// State for one scenario run. WASI gets no preopened directories, no
    /// environment, no arguments, no network and no name lookup: a scenario
    /// reaches the world only through Rigor's probes. Stdout and stderr are
    /// captured (bounded) for the report.
    pub fn new(memory_cap: u64, probes: Capabilities) -> Self {
        let sinks = Sinks::new(&probes.budget);
        Self::with_sinks(memory_cap, probes, sinks)
    }

    /// Where this store's measurements and output go: to share them with
    /// other stores of the same scenario (its VUs).
    pub fn sinks(&self) -> Sinks {
        Sinks {
            recorder: self.recorder.clone(),
            report: self.report.clone(),
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
        }
    }

    /// State recording into `sinks`, shared with other stores.
    pub fn with_sinks(memory_cap: u64, probes: Capabilities, sinks: Sinks) -> Self {
        let Sinks {
            recorder,
            report,
            stdout,
            stderr,
        } = sinks;
        // Guest randomness comes only from the run seed, so a replay draws
        // the same numbers.
        let random = crate::shard::seed::WasiRandom::from_seed(probes.shard.seed());
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .secure_random(random.secure)
            .insecure_random(random.insecure)
            .insecure_random_seed(random.insecure_seed)
            .build();
        let Capabilities {
            children,
            redis,
            process,
            http,
            fs,
            memory,
            events,
            abort,
            budget,
            tls,
            shard,
            live,
        } = probes;
        // The live outputs read the scenario's one recorder and report (the
        // same for every VU of it).
        live.publish(&recorder, &report);
        Self {
            wasi,
            limiter: ScenarioLimiter::new(memory_cap),
            stdout,
            stderr,
            table: ResourceTable::new(),
            recorder,
            report,
            events,
            abort,
            budget,
            clock: ClockCtx {
                origin: Instant::now(),
            },
            redis,
            process,
            children,
            http,
            fs,
            memory,
            tls,
            shard,
        }
    }

    /// Charges this store's linear-memory growth to `pool` too (a VU).
    pub fn with_memory_pool(mut self, pool: super::limits::LinearMemoryPool) -> Self {
        self.limiter = std::mem::replace(&mut self.limiter, ScenarioLimiter::new(0)).pooled(pool);
        self
    }

    pub(crate) fn clock_view(&mut self) -> ClockView<'_> {
        ClockView { clock: &self.clock }
    }

    pub(crate) fn metrics_view(&mut self) -> MetricsView<'_> {
        MetricsView {
            table: &mut self.table,
            recorder: &self.recorder,
        }
    }

    pub(crate) fn report_view(&mut self) -> ReportView<'_> {
        ReportView {
            report: &self.report,
            recorder: &self.recorder,
        }
    }

    pub(crate) fn redis_view(&mut self) -> RedisView<'_> {
        RedisView {
            redis: &self.redis,
            table: &mut self.table,
            recorder: &self.recorder,
            report: &self.report,
            events: &self.events,
            budget: &self.budget,
            shard: &self.shard,
        }
    }

    pub(crate) fn process_view(&mut self) -> ProcessView<'_> {
        ProcessView {
            process: &self.process,
            children: &self.children,
            work: &self.fs.scratch,
            http: &self.http,
            table: &mut self.table,
            recorder: &self.recorder,
            events: &self.events,
            budget: &self.budget,
        }
    }

    pub(crate) fn http_view(&mut self) -> HttpView<'_> {
        HttpView {
            http: &self.http,
            tls: &self.tls,
            table: &mut self.table,
            recorder: &self.recorder,
            events: &self.events,
            budget: &self.budget,
            shard: &self.shard,
        }
    }

    /// A WebSocket is an HTTP upgrade: its grants are the `http` grants.
    pub(crate) fn websocket_view(&mut self) -> WebSocketView<'_> {
        WebSocketView {
            policy: &self.http.policy,
            tls: &self.tls,
            table: &mut self.table,
            recorder: &self.recorder,
            events: &self.events,
            budget: &self.budget,
            shard: &self.shard,
        }
    }

    pub(crate) fn fs_view(&mut self) -> FsView<'_> {
        FsView {
            fs: &self.fs,
            table: &mut self.table,
            recorder: &self.recorder,
            report: &self.report,
            budget: &self.budget,
            shard: &self.shard,
        }
    }

    pub(crate) fn memory_view(&mut self) -> MemoryView<'_> {
        MemoryView {
            memory: &self.memory,
            children: &self.children,
            redis_targets: &self.redis.targets,
            table: &mut self.table,
            recorder: &self.recorder,
            report: &self.report,
        }
    }
}

/// Links every Rigor interface, each to the view of its own binding.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    types::add_to_linker::<_, TypesBinding>(linker, |_| TypesView)?;
    clock::add_to_linker::<_, ClockBinding>(linker, HostState::clock_view)?;
    metrics::add_to_linker::<_, MetricsBinding>(linker, HostState::metrics_view)?;
    report::add_to_linker::<_, ReportBinding>(linker, HostState::report_view)?;
    redis::add_to_linker::<_, RedisBinding>(linker, HostState::redis_view)?;
    process::add_to_linker::<_, ProcessBinding>(linker, HostState::process_view)?;
    http::add_to_linker::<_, HttpBinding>(linker, HostState::http_view)?;
    fs::add_to_linker::<_, FsBinding>(linker, HostState::fs_view)?;
    memory::add_to_linker::<_, MemoryBinding>(linker, HostState::memory_view)?;
    crate::bindings::websocket::add_to_linker::<_, WebSocketBinding>(
        linker,
        HostState::websocket_view,
    )?;
    Ok(())
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
