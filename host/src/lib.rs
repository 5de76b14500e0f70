//! # rigor
//!
//! WebAssembly-scriptable test orchestration. Scenarios are sandboxed
//! components (any language) that script *what* to do and *what passes*; the
//! host does everything timed or concurrent natively and reports to people
//! and CI.
//!
//! Data flows one way:
//!
//! ```text
//! CLI args + catalog.toml ─► catalog::plan ─► Vec<PlannedScenario>
//!   ─► engine::Engine::load (compiled-component cache, world check)
//!   ─► engine::Engine::run: Store<HostState> per scenario (memory cap, deadline)
//!        guest run(params) ─► probes (policy check, budget reserved, timed natively)
//!          ─► metrics::Recorder
//!        guest checks / thresholds / findings ─► report::builder
//!   ─► runner::Executor: catalog and CLI thresholds ─► report::model::ScenarioReport
//!   ─► events::RunEvent ─► observers: report::manager (targets checked before
//!        the run, JSON rewritten after each scenario, NDJSON stream), progress line
//!        and `outputs` (Prometheus remote write, OTLP: the running scenario's
//!        recorder snapshotted on the exporter's own thread)
//!   ─► RunReport ─► writers (console, JSON, Markdown, JUnit, HTML) ─► exit code
//!   (probes report progress through `events::ProgressSink`)
//! ```
//!
//! Probes never write reports; writers never run probes; the guest never
//! times host work with its own clock.

pub mod bindings;
pub mod budget;
pub mod build;
pub mod catalog;
pub mod engine;
pub mod events;
pub mod metrics;
pub mod outputs;
pub mod pacing;
pub mod policy;
pub mod probes;
pub mod report;
pub mod runner;
pub mod services;
pub mod shard;
pub mod thresholds;
pub mod tls;
pub mod vu;
