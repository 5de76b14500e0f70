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
}

impl HostState {
    /// State for one scenario run. WASI gets no preopened directories, no
    /// environment, no arguments, no network and no name lookup: a scenario
    /// reaches the world only through Rigor's probes. Stdout and stderr are
    /// captured (bounded) for the report.
    pub fn new(memory_cap: u64, probes: Capabilities) -> Self {
        let stdout = BoundedOutput::charged_to(probes.budget.clone());
        let stderr = BoundedOutput::charged_to(probes.budget.clone());
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
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
            live,
        } = probes;
        let recorder = SharedRecorder::new(Recorder::charged_to(budget.clone()));
        let report = SharedReport::new(ReportBuilder::charged_to(budget.clone()));
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
        }
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
        }
    }

    pub(crate) fn fs_view(&mut self) -> FsView<'_> {
        FsView {
            fs: &self.fs,
            table: &mut self.table,
            recorder: &self.recorder,
            report: &self.report,
            budget: &self.budget,
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
