//! The result model every writer reads: one `RunReport` per run, versioned as
//! `rigor.report/v1`. Field names are part of the public format (see
//! `docs/report-schema.md`); add fields, never rename them within v1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::{Summary, Unit};

/// Schema identifier written into every JSON report.
pub const SCHEMA: &str = "rigor.report/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub schema: String,
    pub rigor_version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: f64,
    pub host: HostInfo,
    /// True when the run was interrupted and not every scenario ran.
    pub partial: bool,
    pub summary: RunSummary,
    pub scenarios: Vec<ScenarioReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub memory_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunSummary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ran to the end; every check and threshold passed.
    Passed,
    /// Ran to the end; a check or threshold failed.
    Failed,
    /// Could not run to the end: trap, deadline, memory cap, guest error.
    Errored,
    /// Not run: a dependency (e.g. redis-server) is missing.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Errored => "errored",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// The component file that ran.
    pub source: String,
    pub status: Status,
    pub duration_ms: f64,
    pub params: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentInfo>,
    pub metrics: Vec<MetricReport>,
    pub checks: Vec<CheckResult>,
    pub thresholds: Vec<ThresholdResult>,
    pub findings: Vec<Finding>,
    pub logs: Vec<LogLine>,
    /// Log lines dropped because the log reached its bound.
    pub logs_dropped: u64,
    pub output: CapturedOutput,
    /// Why the scenario errored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScenarioError>,
    /// Why the scenario was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The scenario's budgets (host memory in bytes, the others in counts),
    /// the most of each it held at once and how many requests each refused;
    /// absent when the scenario did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budgets: Option<crate::budget::BudgetsReport>,
}

/// How the component was loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComponentInfo {
    pub sha256: String,
    /// `hit`: loaded from the compiled-component cache; `miss`: compiled now.
    pub cache: CacheOutcome,
    pub load_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheOutcome {
    Hit,
    Miss,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricReport {
    pub name: String,
    /// `histogram`, `gauge` or `counter`.
    pub kind: String,
    pub unit: Unit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Gauge value or counter total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The full HDR histogram, `HISTFAAA…` (V2 + deflate, base64), for
    /// lossless merging and plotting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
    /// The metric over time, when its probe keeps one (memory samples,
    /// throughput per sampling period): `[seconds since the scenario
    /// started, value in `unit`]` pairs, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// Where a threshold came from. Ordered by precedence: a later source
/// overrides an earlier one on the same metric and aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdSource {
    Guest,
    Catalog,
    Cli,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub metric: String,
    pub expression: String,
    pub source: ThresholdSource,
    pub passed: bool,
    /// Observed value in the metric's unit (absent when evaluation failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// Why the threshold could not be evaluated (it then counts as failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The thresholds of earlier sources this one replaced, as
    /// `expression [source]` (same metric and aggregation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl ThresholdSource {
    /// How a source is named to people.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSource::Guest => "scenario",
            ThresholdSource::Catalog => "catalog",
            ThresholdSource::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub action: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// Guest stdout/stderr, bounded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CapturedOutput {
    pub stdout: String,
    pub stderr: String,
    /// Bytes written beyond the bound and not kept.
    pub stdout_dropped_bytes: u64,
    pub stderr_dropped_bytes: u64,
}

/// Why a scenario errored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The guest trapped (panic, `unreachable`, stack overflow).
    Trap,
    /// The scenario exceeded its deadline.
    Timeout,
    /// The guest tried to grow memory past its cap.
    MemoryLimit,
    /// `run` returned an error.
    Guest,
    /// The component could not be loaded or instantiated.
    Load,
    /// The run was interrupted (Ctrl-C) while the scenario ran.
    Interrupted,
    /// An `abort-on-fail` threshold failed and stopped the scenario early;
    /// the scenario's status is `failed`, not `errored`.
    Aborted,
}

impl ErrorKind {
    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Trap => "trap",
            ErrorKind::Timeout => "timeout",
            ErrorKind::MemoryLimit => "memory-limit",
            ErrorKind::Guest => "guest",
            ErrorKind::Load => "load",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Aborted => "aborted",
        }
    }
}

impl RunSummary {
    pub fn from_scenarios(scenarios: &[ScenarioReport]) -> Self {
        let mut s = RunSummary {
            total: scenarios.len(),
            ..Default::default()
        };
        for sc in scenarios {
            match sc.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Errored => s.errored += 1,
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }
}

impl ScenarioReport {
    /// A report for a scenario that did not run.
    pub fn skipped(
        name: &str,
        source: &str,
        params: BTreeMap<String, String>,
        reason: String,
    ) -> Self {
        Self {
            name: name.to_owned(),
            source: source.to_owned(),
            status: Status::Skipped,
            duration_ms: 0.0,
            params,
            component: None,
            metrics: Vec::new(),
            checks: Vec::new(),
            thresholds: Vec::new(),
            findings: Vec::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            output: CapturedOutput::default(),
            error: None,
            skip_reason: Some(reason),
            budgets: None,
        }
    }

    pub fn metric(&self, name: &str) -> Option<&MetricReport> {
        self.metrics.iter().find(|m| m.name == name)
    }
}
