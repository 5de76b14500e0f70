//! `HostState`: the data of one scenario's `Store`, one field per capability.
//! `HostState::new` is the only constructor, so every store starts from the
//! same deny-by-default configuration; what it keeps for the guest (output,
//! metrics, report items) is charged to the scenario's budget.

use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{BoundedOutput, ScenarioLimiter};
use crate::metrics::Recorder;
use crate::probes::Capabilities;
use crate::probes::clock::ClockCtx;
use crate::report::builder::ReportBuilder;

pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: ScenarioLimiter,
    pub(crate) recorder: Recorder,
    pub(crate) report: ReportBuilder,
    pub(crate) probes: Capabilities,
    pub(crate) clock: ClockCtx,
    pub(crate) stdout: BoundedOutput,
    pub(crate) stderr: BoundedOutput,
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
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: ScenarioLimiter::new(memory_cap),
            recorder: Recorder::charged_to(probes.budget.clone()),
            report: ReportBuilder::charged_to(probes.budget.clone()),
            probes,
            clock: ClockCtx {
                origin: Instant::now(),
            },
            stdout,
            stderr,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
