//! The WebAssembly engine: one wasmtime `Engine` and `Linker` per process,
//! components loaded through the compiled-component cache and checked
//! against the contract, and one sandboxed `Store` per scenario run with a
//! memory cap and a wall-clock deadline.

mod cache;
pub mod limits;
mod state;
pub mod vu;
mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime::{Config, Store, UpdateDeadline};

pub use cache::ComponentCache;
pub use limits::Limits;
pub use state::{HostState, Sinks};
pub use world::{ComponentShape, ImportedInterface, WorldKind};

use crate::bindings::ScenarioPre;
use crate::metrics::Recorder;
use crate::probes::Capabilities;
use crate::report::builder::ReportBuilder;
use crate::report::model::{CapturedOutput, ComponentInfo, ErrorKind, ScenarioError};
use crate::vu::ExecutorConfig;
use limits::{DeadlineExceeded, MemoryCapExceeded};

/// How often the epoch advances: the granularity of deadline checks and of
/// a CPU-bound guest yielding back to the async runtime.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Extra time past the deadline before a scenario blocked inside a host call
/// (not executing wasm, so not reached by epoch checks) is cancelled.
pub const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// Why a component could not be loaded or the engine not built. All of these
/// are invalid input (exit code 2) except `Config`.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read component `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a WebAssembly component: {reason}")]
    NotAComponent { path: PathBuf, reason: String },
    #[error("`{path}` failed to compile: {message}")]
    Compile { path: PathBuf, message: String },
    #[error("`{path}` does not target this host's scenario world: {reason}")]
    WrongWorld { path: PathBuf, reason: String },
    #[error("the compiled-component cache `{}` is not safe to use: {reason}", dir.display())]
    UnsafeCache { dir: PathBuf, reason: String },
    #[error("cannot configure the WebAssembly engine: {0}")]
    Config(String),
}

/// A component ready to run: compiled, checked and pre-linked.
pub struct LoadedComponent {
    pub path: PathBuf,
    pub info: ComponentInfo,
    kind: Loaded,
}

/// A scenario instance to run once, or VUs under an executor.
enum Loaded {
    Scenario(ScenarioPre<HostState>),
    Vus {
        component: Arc<vu::VuComponent>,
        executor: ExecutorConfig,
    },
}

impl LoadedComponent {
    /// The executor, for a VU scenario.
    pub fn executor(&self) -> Option<&ExecutorConfig> {
        match &self.kind {
            Loaded::Scenario(_) => None,
            Loaded::Vus { executor, .. } => Some(executor),
        }
    }
}

/// What one scenario run needs besides the component.
pub struct RunSetup {
    pub params: Vec<(String, String)>,
    pub limits: Limits,
    pub probes: Capabilities,
}

/// What a run produced, measured data included, however it ended.
pub struct RunOutcome {
    pub result: Result<(), ScenarioError>,
    pub recorder: Recorder,
    pub report: ReportBuilder,
    pub output: CapturedOutput,
    pub duration: Duration,
    /// The scenario's budgets and the peak use of each.
    pub budgets: crate::budget::BudgetsReport,
}

/// Advances the engine epoch every `EPOCH_TICK` on its own thread.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: wasmtime::Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("rigor-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A linker with WASI p2 (without ambient authority, see `HostState::new`)
/// and every interface of the contract, each to its own view of the store.
fn contract_linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>, EngineError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .map_err(|e| EngineError::Config(format!("{e:#}")))?;
    state::add_to_linker(&mut linker).map_err(|e| EngineError::Config(format!("{e:#}")))?;
    Ok(linker)
}

/// The engine shared by every scenario of a process.
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<HostState>,
    cache: ComponentCache,
    _ticker: EpochTicker,
}

impl Engine {
    /// Builds the engine; compiled components are cached in `cache_dir`.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, EngineError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine =
            wasmtime::Engine::new(&config).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let linker = contract_linker(&engine)?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Self {
            engine,
            linker,
            cache: ComponentCache::new(cache_dir),
            _ticker: ticker,
        })
    }

    pub fn cache(&self) -> &ComponentCache {
        &self.cache
    }

    /// Compiles (or loads from the cache) a component without checking its
    /// world, and returns what it imports and exports (`rigor inspect`).
    pub fn shape(&self, path: &Path) -> Result<ComponentShape, EngineError> {
        let bytes = std::fs::read(path).map_err(|source| EngineError::Read {
            path: path.to_owned(),
            source,
        })?;
        world::check_header(path, &bytes)?;
        let (component, _, _) = self.cache.load(&self.engine, path, &bytes)?;
        Ok(world::shape(&self.engine, &component))
    }

    /// Reads, compiles (or loads from the cache), checks and pre-links a
    /// scenario component: one of the `scenario` world, or with `executor`,
    /// of the `vu-scenario` world on an engine pooled for its VUs.
    pub fn load(
        &self,
        path: &Path,
        executor: Option<&ExecutorConfig>,
    ) -> Result<LoadedComponent, EngineError> {
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| EngineError::Read {
            path: path.to_owned(),
            source,
        })?;
        world::check_header(path, &bytes)?;
        if let Some(executor) = executor {
            let engine = vu::VuEngine::new(executor.max_vus())?;
            let (component, cache, sha256) = self.cache.load(engine.engine(), path, &bytes)?;
            world::check_world(engine.engine(), path, &component, WorldKind::VuScenario)?;
            let pre = engine.prepare(path, &component)?;
            return Ok(LoadedComponent {
                path: path.to_owned(),
                info: ComponentInfo {
                    sha256,
                    cache,
                    load_ms: started.elapsed().as_secs_f64() * 1e3,
                },
                kind: Loaded::Vus {
                    component: Arc::new(vu::VuComponent { engine, pre }),
                    executor: executor.clone(),
                },
            });
        }
        let (component, cache, sha256) = self.cache.load(&self.engine, path, &bytes)?;
        world::check_world(&self.engine, path, &component, WorldKind::Scenario)?;
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| EngineError::WrongWorld {
                    path: path.to_owned(),
                    reason: format!("{e:#}"),
                })?;
        let pre = ScenarioPre::new(instance_pre).map_err(|e| EngineError::WrongWorld {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        })?;
        Ok(LoadedComponent {
            path: path.to_owned(),
            info: ComponentInfo {
                sha256,
                cache,
                load_ms: started.elapsed().as_secs_f64() * 1e3,
            },
            kind: Loaded::Scenario(pre),
        })
    }

    fn new_store(&self, limits: Limits, probes: Capabilities) -> Store<HostState> {
        let mut store = Store::new(&self.engine, HostState::new(limits.memory, probes));
        store.limiter(|state| &mut state.limiter);
        let deadline = limits.deadline;
        let deadline_at = Instant::now() + deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            if Instant::now() >= deadline_at {
                Err(wasmtime::Error::new(DeadlineExceeded { deadline }))
            } else if let Some(failed) = state.recorder.with(|r| state.abort.abort_now(r)) {
                // An `abort-on-fail` threshold failed: stop the scenario here.
                Err(wasmtime::Error::new(failed))
            } else {
                // Yield so a CPU-bound guest never starves the probes' tasks.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Instantiates the component in a fresh store and calls `run`. A trap,
    /// the deadline, the memory cap or `interrupt` (which resolves to the
    /// cause's name, e.g. `SIGTERM`) end the run as an error; whatever was
    /// measured before is kept in the outcome. The store, and with it the
    /// scenario's children and scratch directory, is dropped before this returns.
    pub async fn run(
        &self,
        component: &LoadedComponent,
        setup: RunSetup,
        interrupt: impl std::future::Future<Output = &'static str>,
    ) -> RunOutcome {
        let pre = match &component.kind {
            Loaded::Scenario(pre) => pre,
            Loaded::Vus {
                component,
                executor,
            } => {
                return vu::run(component, setup, executor, interrupt).await;
            }
        };
        let started = Instant::now();
        let deadline = setup.limits.deadline;
        let mut store = self.new_store(setup.limits, setup.probes);
        let params = setup.params;
        let result = {
            let call = async {
                let instance = pre.instantiate_async(&mut store).await?;
                instance.call_run(&mut store, &params).await
            };
            tokio::select! {
                biased;
                cause = interrupt => Err(ScenarioError {
                    kind: ErrorKind::Interrupted,
                    message: format!("the run was interrupted ({cause}) while this scenario ran"),
                }),
                outcome = tokio::time::timeout(deadline + DEADLINE_GRACE, call) => match outcome {
                    Err(_) => Err(ScenarioError {
                        kind: ErrorKind::Timeout,
                        message: DeadlineExceeded { deadline }.to_string(),
                    }),
                    Ok(Err(trap)) => Err(classify_trap(&trap, &store.data().stderr.take().0)),
                    Ok(Ok(Err(message))) => Err(ScenarioError {
                        kind: ErrorKind::Guest,
                        message: format!("the scenario returned an error: {message}"),
                    }),
                    Ok(Ok(Ok(()))) => Ok(()),
                },
            }
        };
        let state = store.into_data();
        let budgets = state.budget.usage();
        let (stdout, stdout_dropped_bytes) = state.stdout.take();
        let (stderr, stderr_dropped_bytes) = state.stderr.take();
        RunOutcome {
            result,
            recorder: state.recorder.take(),
            report: state.report.take(),
            output: CapturedOutput {
                stdout,
                stderr,
                stdout_dropped_bytes,
                stderr_dropped_bytes,
            },
            duration: started.elapsed(),
            budgets,
        }
    }

    /// Calls `describe` in a throwaway store.
    pub async fn describe(
        &self,
        component: &LoadedComponent,
        probes: Capabilities,
    ) -> Result<crate::bindings::types::ScenarioInfo, ScenarioError> {
        let limits = Limits {
            deadline: Duration::from_secs(10),
            ..Limits::default()
        };
        let mut store = match &component.kind {
            Loaded::Scenario(_) => self.new_store(limits, probes),
            Loaded::Vus { component, .. } => component
                .engine
                .store(HostState::new(limits.memory, probes)),
        };
        let call = async {
            match &component.kind {
                Loaded::Scenario(pre) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    instance.call_describe(&mut store).await
                }
                Loaded::Vus { component, .. } => {
                    let instance = component.pre.instantiate_async(&mut store).await?;
                    instance.call_describe(&mut store).await
                }
            }
        };
        match tokio::time::timeout(limits.deadline + DEADLINE_GRACE, call).await {
            Err(_) => Err(ScenarioError {
                kind: ErrorKind::Timeout,
                message: "describe() did not return within 10s".into(),
            }),
            Ok(Err(trap)) => Err(classify_trap(&trap, &store.data().stderr.take().0)),
            Ok(Ok(info)) => Ok(info),
        }
    }
}

/// Most of the guest's stderr quoted in a trap message.
const STDERR_IN_MESSAGE: usize = 2000;

/// Turns a trap into a report error that names the cause.
fn classify_trap(error: &wasmtime::Error, stderr: &str) -> ScenarioError {
    if let Some(d) = error.downcast_ref::<DeadlineExceeded>() {
        return ScenarioError {
            kind: ErrorKind::Timeout,
            message: d.to_string(),
        };
    }
    if let Some(m) = error.downcast_ref::<MemoryCapExceeded>() {
        return ScenarioError {
            kind: ErrorKind::MemoryLimit,
            message: m.to_string(),
        };
    }
    if let Some(a) = error.downcast_ref::<crate::thresholds::AbortOnFail>() {
        return ScenarioError {
            kind: ErrorKind::Aborted,
            message: a.to_string(),
        };
    }
    let cause = match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            "the guest trapped: `unreachable` executed (a Rust panic or abort)".to_owned()
        }
        Some(wasmtime::Trap::StackOverflow) => "the guest trapped: stack overflow".to_owned(),
        Some(wasmtime::Trap::Interrupt) => "the guest was interrupted".to_owned(),
        Some(trap) => format!("the guest trapped: {trap}"),
        None => format!("the guest failed: {}", root_message(error)),
    };
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| format!("{bt}"))
        .unwrap_or_default();
    let mut message = cause;
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        let tail: String = if stderr.len() > STDERR_IN_MESSAGE {
            let mut start = stderr.len() - STDERR_IN_MESSAGE;
            while !stderr.is_char_boundary(start) {
                start += 1;
            }
            stderr[start..].to_owned()
        } else {
            stderr.to_owned()
        };
        message.push_str(&format!("; guest stderr: {tail}"));
    }
    if !backtrace.is_empty() {
        message.push_str(&format!("\n{}", backtrace.trim_end()));
    }
    ScenarioError {
        kind: ErrorKind::Trap,
        message,
    }
}

fn root_message(error: &wasmtime::Error) -> String {
    error
        .chain()
        .last()
        .map(|e| e.to_string())
        .unwrap_or_else(|| error.to_string())
}
