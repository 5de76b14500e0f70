//! Virtual users on WebAssembly. A VU scenario gets its own wasmtime engine
//! with the pooling allocator, sized for its executor's most VUs, so a VU is
//! one slot of pre-reserved memory mapped copy-on-write from the component's
//! image, instantiated from an `InstancePre` in tens of microseconds. Each VU
//! is a `Store` of its own (a trap in one VU cannot touch another) whose
//! probes record into the scenario's one shared recorder and report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wasmtime::component::Linker;
use wasmtime::{
    Config, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};

use super::limits::{DeadlineExceeded, LinearMemoryPool};
use super::state::Sinks;
use super::{
    DEADLINE_GRACE, EngineError, EpochTicker, HostState, RunOutcome, RunSetup, classify_trap,
    contract_linker,
};
use crate::bindings::types::VuContext;
use crate::bindings::{VuScenario, VuScenarioPre};
use crate::metrics::{Direction, Unit};
use crate::probes::Capabilities;
use crate::report::model::{CapturedOutput, ErrorKind, LogLevel, ScenarioError};
use crate::vu::{
    ExecutionSummary, ExecutorConfig, IterationContext, IterationOutcome, Vu, VuFactory,
};

/// Address space reserved per VU linear memory: the most a VU's memory can
/// grow to (its catalog `memory` cap may be lower, not higher). Fixed so the
/// compiled code, which depends on it, is cached across runs.
pub const VU_MEMORY_RESERVATION: u64 = 256 << 20;
/// Linear memories, tables and core instances one VU's component may
/// define: room for Rust, Python and JavaScript components; a component
/// needing more is refused when it is loaded, with the count.
const MEMORIES_PER_VU: u32 = 2;
const TABLES_PER_VU: u32 = 8;
const CORE_INSTANCES_PER_VU: u32 = 32;
/// Memory mappings a VU slot takes (stack and its guard page, memory and
/// table slots), for the hint when the kernel's limit is reached.
const MAPPINGS_PER_VU: u32 = 4;
/// Instances besides the VUs: the one that runs `setup` and `teardown`.
const EXTRA_INSTANCES: u32 = 1;
/// Most bytes `setup` may return: they are copied into every iteration.
pub const MAX_SETUP_DATA: usize = 1 << 20;
/// How often the supervisor samples RSS and checks `abort-on-fail`.
const SUPERVISE_EVERY: Duration = Duration::from_millis(100);

/// The pooled engine and linker of one VU scenario.
pub struct VuEngine {
    engine: wasmtime::Engine,
    linker: Linker<HostState>,
    _ticker: EpochTicker,
}

impl VuEngine {
    /// An engine with room for `max_vus` VUs at once.
    pub fn new(max_vus: u32) -> Result<Self, EngineError> {
        let slots = max_vus.saturating_add(EXTRA_INSTANCES);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(CORE_INSTANCES_PER_VU))
            .total_memories(slots.saturating_mul(MEMORIES_PER_VU))
            .total_tables(slots.saturating_mul(TABLES_PER_VU))
            .total_stacks(slots)
            .max_core_instances_per_component(CORE_INSTANCES_PER_VU)
            .max_memories_per_component(MEMORIES_PER_VU)
            .max_tables_per_component(TABLES_PER_VU)
            .max_memory_size(VU_MEMORY_RESERVATION as usize)
            // Slots hand their pages back to the kernel when a VU is dropped:
            // RSS follows the VUs alive, not the most there ever were.
            .linear_memory_keep_resident(0)
            .async_stack_keep_resident(0);
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .memory_reservation(VU_MEMORY_RESERVATION)
            .memory_reservation_for_growth(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = wasmtime::Engine::new(&config).map_err(|e| {
            // Each VU slot is a few memory mappings (its stack's guard page
            // splits one); the kernel's per-process limit is the usual cause.
            let maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .map(|t| format!(" (now {})", t.trim()))
                .unwrap_or_default();
            EngineError::Config(format!(
                "cannot reserve address space for {max_vus} VUs ({} MiB of linear memory and a stack each): {e:#}; each VU takes about {MAPPINGS_PER_VU} memory mappings of the kernel's per-process `vm.max_map_count`{maps}: raise it (`sysctl -w vm.max_map_count=1048576`), run fewer VUs, or shard the run over processes (`--shard`)",
                VU_MEMORY_RESERVATION >> 20
            ))
        })?;
        let linker = contract_linker(&engine)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Self {
            engine,
            linker,
            _ticker: ticker,
        })
    }

    pub(super) fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    /// Pre-links a compiled VU component (checked against the world).
    pub(super) fn prepare(
        &self,
        path: &std::path::Path,
        component: &wasmtime::component::Component,
    ) -> Result<VuScenarioPre<HostState>, EngineError> {
        let wrong = |reason: String| EngineError::WrongWorld {
            path: path.to_owned(),
            reason,
        };
        if let Some(needs) = component.resources_required()
            && (needs.num_memories > MEMORIES_PER_VU || needs.num_tables > TABLES_PER_VU)
        {
            return Err(wrong(format!(
                "it defines {} linear memories and {} tables; a VU may define at most {MEMORIES_PER_VU} and {TABLES_PER_VU}",
                needs.num_memories, needs.num_tables
            )));
        }
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| wrong(format!("{e:#}")))?;
        VuScenarioPre::new(pre).map_err(|e| wrong(format!("{e:#}")))
    }

    pub(super) fn store(&self, state: HostState) -> Store<HostState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        // Yield every tick: a CPU-bound VU never starves the others. The
        // scenario's deadline and `abort-on-fail` are enforced by the
        // supervisor, once for all VUs.
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        store
    }
}

/// A loaded VU component with its engine.
pub struct VuComponent {
    pub(super) engine: VuEngine,
    pub(super) pre: VuScenarioPre<HostState>,
}

/// Makes the VUs of one run: a store per VU from the scenario's
/// capabilities, instantiated from the pre-linked component.
struct WasmVus {
    component: Arc<VuComponent>,
    probes: Capabilities,
    memory_cap: u64,
    memory_pool: LinearMemoryPool,
    data: Arc<[u8]>,
    sinks: Sinks,
}

/// One VU: its store and instance.
struct WasmVu {
    store: Store<HostState>,
    instance: VuScenario,
    data: Arc<[u8]>,
}

impl VuFactory for WasmVus {
    type Vu = WasmVu;

    async fn create(&self, vu: u32) -> Result<WasmVu, String> {
        let mut probes = self.probes.for_vu();
        probes.shard = probes.shard.for_vu(vu);
        let state = HostState::with_sinks(self.memory_cap, probes, self.sinks.clone())
            .with_memory_pool(self.memory_pool.clone());
        let mut store = self.component.engine.store(state);
        let instance = self
            .component
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| format!("instantiating the VU failed: {e:#}"))?;
        Ok(WasmVu {
            store,
            instance,
            data: Arc::clone(&self.data),
        })
    }
}

impl Vu for WasmVu {
    async fn iteration(&mut self, ctx: IterationContext) -> IterationOutcome {
        let context = VuContext {
            vu: ctx.vu,
            iteration: ctx.iteration,
            scenario_iteration: ctx.scenario_iteration,
            seed: ctx.seed,
        };
        match self
            .instance
            .call_iteration(&mut self.store, context, &self.data)
            .await
        {
            Ok(Ok(())) => IterationOutcome::Completed,
            Ok(Err(message)) => IterationOutcome::Failed {
                message: format!("VU {}: the iteration returned an error: {message}", ctx.vu),
                vu_lost: false,
            },
            Err(trap) => {
                let stderr = self.store.data().stderr.take().0;
                IterationOutcome::Failed {
                    message: format!("VU {}: {}", ctx.vu, classify_trap(&trap, &stderr).message),
                    vu_lost: true,
                }
            }
        }
    }
}

/// Runs a VU scenario: `setup` once, the executor's VUs, then `teardown`
/// once (also after failed iterations and interruptions), all recording
/// into one recorder. Like [`super::Engine::run`], whatever was measured is
/// in the outcome however the run ended.
pub(super) async fn run(
    component: &Arc<VuComponent>,
    setup: RunSetup,
    executor: &ExecutorConfig,
    interrupt: impl std::future::Future<Output = &'static str>,
) -> RunOutcome {
    let started = Instant::now();
    let deadline = setup.limits.deadline;
    let deadline_at = started + deadline;
    let probes = setup.probes;
    let mut abort = probes.abort.clone();
    // VU seeds derive from this shard's seed of the scenario.
    let run_seed = probes.shard.seed();
    let main_state = HostState::new(setup.limits.memory, probes.for_vu());
    // Every store of the scenario records here; the outcome takes it out.
    let sinks = main_state.sinks();
    let budget = probes.budget.clone();
    let mut main = component.engine.store(main_state);
    tokio::pin!(interrupt);

    let finish = |result: Result<(), ScenarioError>| {
        let (stdout_text, stdout_dropped_bytes) = sinks.stdout.take();
        let (stderr_text, stderr_dropped_bytes) = sinks.stderr.take();
        RunOutcome {
            result,
            recorder: sinks.recorder.take(),
            report: sinks.report.take(),
            output: CapturedOutput {
                stdout: stdout_text,
                stderr: stderr_text,
                stdout_dropped_bytes,
                stderr_dropped_bytes,
            },
            duration: started.elapsed(),
            budgets: budget.usage(),
        }
    };

    // Setup, in the scenario's own instance.
    let setup_call = async {
        let instance = component.pre.instantiate_async(&mut main).await?;
        let data = instance.call_setup(&mut main, &setup.params).await?;
        Ok::<_, wasmtime::Error>((instance, data))
    };
    let (instance, data) = tokio::select! {
        biased;
        cause = &mut interrupt => return finish(Err(interrupted(cause, "setup"))),
        outcome = tokio::time::timeout(deadline + DEADLINE_GRACE, setup_call) => match outcome {
            Err(_) => return finish(Err(timed_out(deadline))),
            Ok(Err(trap)) => return finish(Err(trapped(&main, &trap, "setup"))),
            Ok(Ok((_, Err(message)))) => return finish(Err(ScenarioError {
                kind: ErrorKind::Guest,
                message: format!("setup returned an error: {message}"),
            })),
            Ok(Ok((instance, Ok(data)))) => (instance, data),
        },
    };
    if data.len() > MAX_SETUP_DATA {
        return finish(Err(ScenarioError {
            kind: ErrorKind::Guest,
            message: format!(
                "setup returned {} bytes of setup data; the limit is {} (it is copied into every iteration: pass names or ids, not payloads)",
                data.len(),
                MAX_SETUP_DATA
            ),
        }));
    }
    let data: Arc<[u8]> = data.into();

    // The VUs.
    let factory = WasmVus {
        component: Arc::clone(component),
        probes: probes.for_vu(),
        memory_cap: setup.limits.memory.min(VU_MEMORY_RESERVATION),
        memory_pool: LinearMemoryPool::new(setup.limits.vu_memory_total),
        data: Arc::clone(&data),
        sinks: sinks.clone(),
    };
    let stats = Arc::new(crate::vu::ExecutionStats::new());
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let baseline_rss = crate::probes::memory::sample::rss(std::process::id())
        .ok()
        .unwrap_or(0);
    let mut peak_rss = baseline_rss;
    let executor_run = crate::vu::run(executor, factory, run_seed, Arc::clone(&stats), cancel_rx);
    tokio::pin!(executor_run);
    let mut supervise = tokio::time::interval(SUPERVISE_EVERY);
    // The live display: iterations as the phase's operations, VUs and
    // dropped iterations beside them.
    let events = probes.events.clone();
    events.phase("iterations", None);
    let mut stopped: Option<ScenarioError> = None;
    let summary = loop {
        tokio::select! {
            summary = &mut executor_run => break summary,
            cause = &mut interrupt, if stopped.is_none() => {
                stopped = Some(interrupted(cause, "the VUs"));
                cancel_tx.send_replace(true);
            }
            _ = supervise.tick() => {
                if let Ok(rss) = crate::probes::memory::sample::rss(std::process::id()) {
                    peak_rss = peak_rss.max(rss);
                }
                let (ended, dropped) = stats.summary_counts();
                events.set_done(ended);
                events.set_detail(format!("{} VUs · {dropped} dropped", stats.active()));
                if stopped.is_some() {
                    continue;
                }
                if Instant::now() >= deadline_at {
                    stopped = Some(timed_out(deadline));
                    cancel_tx.send_replace(true);
                } else if let Some(failed) = sinks.recorder.with(|r| abort.abort_now(r)) {
                    stopped = Some(ScenarioError {
                        kind: ErrorKind::Aborted,
                        message: failed.to_string(),
                    });
                    cancel_tx.send_replace(true);
                }
            }
        }
    };
    events.set_done(summary.completed + summary.failed);
    events.finish();
    record_execution(
        &sinks.recorder,
        &sinks.report,
        executor,
        &summary,
        baseline_rss,
        peak_rss,
    );

    // Teardown, always, unless the run was interrupted from outside.
    let interrupted_run = matches!(&stopped, Some(e) if e.kind == ErrorKind::Interrupted);
    let teardown_error = if interrupted_run {
        None
    } else {
        let left = deadline_at
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        match tokio::time::timeout(left, instance.call_teardown(&mut main, &data)).await {
            Err(_) => Some(timed_out(deadline)),
            Ok(Err(trap)) => Some(trapped(&main, &trap, "teardown")),
            Ok(Ok(Err(message))) => Some(ScenarioError {
                kind: ErrorKind::Guest,
                message: format!("teardown returned an error: {message}"),
            }),
            Ok(Ok(Ok(()))) => None,
        }
    };
    drop(main);
    finish(match stopped.or(teardown_error) {
        Some(error) => Err(error),
        None => Ok(()),
    })
}

/// A trap in `setup` or `teardown`, named, with the guest's stderr.
fn trapped(store: &Store<HostState>, trap: &wasmtime::Error, during: &str) -> ScenarioError {
    let mut error = classify_trap(trap, &store.data().stderr.take().0);
    error.message = format!("{during} trapped: {}", error.message);
    error
}

fn interrupted(cause: &str, during: &str) -> ScenarioError {
    ScenarioError {
        kind: ErrorKind::Interrupted,
        message: format!("the run was interrupted ({cause}) during {during}"),
    }
}

fn timed_out(deadline: Duration) -> ScenarioError {
    ScenarioError {
        kind: ErrorKind::Timeout,
        message: DeadlineExceeded { deadline }.to_string(),
    }
}

/// Writes what the executor counted into the scenario's metrics: k6's names
/// where k6 has one (`iterations`, `iteration_duration` → `iteration`,
/// `dropped_iterations`, `vus_max`), plus the instantiation time and the
/// memory each VU cost. Every failed iteration is also a failed report of
/// the check `iteration completes`, so a run with failures fails unless the
/// scenario says otherwise.
fn record_execution(
    recorder: &crate::metrics::SharedRecorder,
    report: &crate::report::shared::SharedReport,
    executor: &ExecutorConfig,
    summary: &ExecutionSummary,
    baseline_rss: u64,
    peak_rss: u64,
) {
    let per_vu = match summary.vus_max {
        0 => 0.0,
        n => peak_rss.saturating_sub(baseline_rss) as f64 / f64::from(n),
    };
    recorder.with(|r| {
        // Bounded names, so these cannot fail but for the histogram budget.
        let _ = r.counter_add("iterations", summary.completed + summary.failed);
        let _ = r.counter_add("iterations.failed", summary.failed);
        let _ = r.counter_add("iterations.interrupted", summary.interrupted);
        let _ = r.counter_add("dropped-iterations", summary.dropped);
        r.set_direction("iterations.failed", Direction::LowerIsBetter);
        r.set_direction("dropped-iterations", Direction::LowerIsBetter);
        let _ = r.gauge("vus.max", f64::from(summary.vus_max), Unit::Count);
        let _ = r.gauge(
            "vus.active",
            f64::from(summary.vus_active_peak),
            Unit::Count,
        );
        let _ = r.gauge("vus.memory-per-vu-bytes", per_vu, Unit::Bytes);
        r.set_direction("vus.memory-per-vu-bytes", Direction::LowerIsBetter);
        let secs = summary.duration.as_secs_f64();
        if secs > 0.0 {
            let rate = (summary.completed + summary.failed) as f64 / secs;
            let _ = r.gauge("iterations.rate", rate, Unit::OpsPerSecond);
        }
        if let Ok(h) = r.histogram("iteration", Unit::Nanoseconds) {
            r.merge(h, &summary.iteration_ns);
        }
        if let Ok(h) = r.histogram("vus.instantiate", Unit::Nanoseconds) {
            r.merge(h, &summary.instantiate_ns);
        }
    });
    report.with(|b| {
        for &(at, active) in &summary.active_samples {
            b.series_point_at("vus.active", Unit::Count, at.as_secs_f64(), f64::from(active));
        }
        let failed = summary.failed + summary.instantiate_failures;
        let detail = match &summary.first_failure {
            Some(first) if failed > 0 => format!("{failed} failed; the first: {first}"),
            _ => format!("{} iterations completed", summary.completed),
        };
        b.check("iteration completes".to_owned(), failed == 0, detail);
        if let Some(first) = &summary.first_failure {
            b.log(LogLevel::Error, first.clone());
        }
        b.log(
            LogLevel::Info,
            format!(
                "executor {}: {} iterations ({} failed, {} interrupted, {} dropped), at most {} VUs",
                executor.name(),
                summary.completed + summary.failed,
                summary.failed,
                summary.interrupted,
                summary.dropped,
                summary.vus_max
            ),
        );
    });
}
