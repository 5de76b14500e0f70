//! The result model every writer reads: one `RunReport` per run, versioned as
//! `rigor.report/v1`. Field names are part of the public format (see
//! `docs/report-schema.md`); add fields, never rename them within v1.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::metrics::{Direction, Summary, Unit};
/// Where a threshold came from; defined with the rest of threshold logic.
pub use crate::thresholds::ThresholdSource;

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
    /// True when the run was interrupted and not every scenario ran, and in
    /// the report rewritten after each scenario while the run goes.
    pub partial: bool,
    pub summary: RunSummary,
    /// A random identifier of this run (16 hex digits), the `run_id` label
    /// of the live outputs. Absent in reports written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// What each live output (`--out prometheus=…`, `--out otlp=…`)
    /// delivered and dropped. Absent when none was asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputReport>,
    pub scenarios: Vec<ScenarioReport>,
    /// What identifies the run and repeats it: run id, seed, plan and
    /// catalog digests, shard, versions, host facts. Absent in reports
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunIdentity>,
    /// Set on a report `rigor merge` made: the shards it merged and those
    /// missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeInfo>,
}

/// What identifies a run, and what `rigor run --replay` repeats it from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunIdentity {
    /// Shared by every shard of one run (`--run-id`, `RIGOR_RUN_ID`).
    pub id: String,
    /// The run seed every scenario's, shard's, load's and VU's seed is
    /// derived from (`--seed`; random otherwise, below 2^53 so every JSON
    /// reader keeps it exact).
    pub seed: u64,
    /// `sha256:…` of the plan: scenarios in order with their parameters,
    /// thresholds and shard modes. Shards of one run have the same.
    pub plan_digest: String,
    /// `sha256:…` of the catalog file, when a catalog was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_digest: Option<String>,
    /// This process's shard, when the run is sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    pub wasmtime_version: String,
    /// The CPU model and kernel release of the host that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// `--start-at`: when the shards were to start (RFC 3339), and how late
    /// this one started after it (negative never: it waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_late_ms: Option<f64>,
    /// `--defer-thresholds`: this shard's verdicts are provisional; `rigor
    /// merge` decides.
    #[serde(default)]
    pub deferred: bool,
    /// The run id of the report this run replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
}

/// One shard of a run: `index` counts from 1, as `--shard` does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
}

/// What `rigor merge` merged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MergeInfo {
    /// The shard count of the run.
    pub count: u32,
    pub shards: Vec<MergedShard>,
    /// Shard numbers (from 1) with no report (`--allow-missing`).
    pub missing: Vec<u32>,
}

/// One shard report that went into a merge.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MergedShard {
    pub index: u32,
    /// The report file it was read from.
    pub file: String,
    pub started_at: String,
    pub duration_ms: f64,
    pub summary: RunSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_late_ms: Option<f64>,
}

/// How a scenario was sharded, and the seed its random choices started from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioShard {
    pub mode: crate::shard::ShardMode,
    /// The scenario's seed under the run seed (16 hex digits), the same on
    /// every shard; each shard's own stream is derived from it and its index.
    pub seed: String,
}

/// One shard's verdict on a threshold that a merge judged again on the
/// merged data; shown, never deciding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardVerdict {
    /// The shard, from 1.
    pub shard: u32,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
}

/// What one live output did during the run. Its endpoint is shown with
/// credentials and query string replaced by `…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputReport {
    /// `prometheus` or `otlp`.
    pub kind: String,
    pub endpoint: String,
    /// Requests the endpoint accepted (2xx).
    pub batches_sent: u64,
    /// Requests not delivered: refused, failed or timed out, dropped because
    /// the queue was full (the endpoint was slower than the run), or still
    /// unsent when the end-of-run flush deadline passed.
    pub batches_dropped: u64,
    /// Bytes of accepted request bodies (compressed, as sent).
    pub bytes_sent: u64,
    /// CPU time of the exporter thread, which serves every live output of
    /// the run (snapshots, encoding, compression, sending), in
    /// milliseconds: what the outputs cost the machine the load runs on.
    #[serde(default)]
    pub exporter_cpu_ms: f64,
    /// Why the last undelivered request failed, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
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
    /// When the scenario started (RFC 3339, UTC, milliseconds); with
    /// `duration_ms` it places the scenario in time. Absent in reports
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
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
    /// Everything else reported beyond the report's bounds. Absent (all
    /// zero) in reports written before it existed.
    #[serde(default)]
    pub dropped: Dropped,
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
    /// How the scenario was sharded and its seed; absent in reports written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ScenarioShard>,
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
    /// An entry was there but failed verification (not what its name
    /// claims, or damaged): it was recompiled and replaced.
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricReport {
    pub name: String,
    /// `histogram`, `gauge` or `counter`.
    pub kind: String,
    pub unit: Unit,
    /// Which way is better, as the host that recorded the metric declared
    /// it (`rigor compare` judges by it). Always written; absent only in
    /// reports from before it existed, read then as the unit's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// A p-value's significance level: `rigor compare` calls a fall below
    /// it a regression and a rise to it or above an improvement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance_level: Option<f64>,
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

/// Every report of one check name, aggregated: a scenario that checks each
/// request records counters, not one item per call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    /// True when no report of this name failed.
    pub passed: bool,
    /// The first failure's detail, or the first report's when none failed.
    pub detail: String,
    /// How many reports of this name passed and failed. Zero in reports
    /// written before checks were aggregated (one item per report then).
    #[serde(default)]
    pub passes: u64,
    #[serde(default)]
    pub fails: u64,
    /// The details of the first failures, in order (at most
    /// `report::builder::MAX_FAILURE_DETAILS`); the rest are counted in the
    /// scenario's `dropped.check_details`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_details: Vec<String>,
}

impl CheckResult {
    /// ` (3 of 1,000 failed)` or ` (1,000 passed)` for a check reported
    /// more than once; empty otherwise.
    pub fn counts(&self) -> String {
        let thousands = |n: u64| super::units::thousands(n as f64);
        let total = self.passes + self.fails;
        match (total, self.fails) {
            (0 | 1, _) => String::new(),
            (_, 0) => format!(" ({} passed)", thousands(total)),
            (_, fails) => format!(" ({} of {} failed)", thousands(fails), thousands(total)),
        }
    }
}

/// What a scenario reported beyond the report's bounds: counted, not kept.
/// Dropping never turns a failure into a pass: a failed check or threshold
/// that was not kept still fails the scenario (`failed_checks`,
/// `failed_thresholds`). Log lines dropped are in `logs_dropped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Check reports under names past the bound on distinct check names.
    pub checks: u64,
    /// Of `checks`, those that failed.
    pub failed_checks: u64,
    /// Failure details not kept (past the first few of a check, or past
    /// the scenario's total).
    pub check_details: u64,
    /// The scenario's own threshold verdicts past the bound on distinct
    /// thresholds (catalog and command-line thresholds are never dropped).
    pub thresholds: u64,
    /// Of `thresholds`, those that failed.
    pub failed_thresholds: u64,
    pub findings: u64,
    /// Series points of metrics past the bound on series.
    pub series_points: u64,
}

impl Dropped {
    /// Nothing was dropped.
    pub fn is_empty(&self) -> bool {
        *self == Dropped::default()
    }

    /// Whether something failed among what was dropped.
    pub fn any_failed(&self) -> bool {
        self.failed_checks > 0 || self.failed_thresholds > 0
    }

    /// "3 check reports (1 failed), 2 findings", naming only what was
    /// dropped, with `logs` log lines added; `None` when nothing was.
    pub fn describe(&self, logs: u64) -> Option<String> {
        let n = |n: u64| super::units::thousands(n as f64);
        let with_failed = |count: u64, failed: u64, what: &str| {
            if failed > 0 {
                format!("{} {what} ({} failed)", n(count), n(failed))
            } else {
                format!("{} {what}", n(count))
            }
        };
        let mut parts = Vec::new();
        if self.checks > 0 {
            parts.push(with_failed(
                self.checks,
                self.failed_checks,
                "check reports",
            ));
        }
        if self.check_details > 0 {
            parts.push(format!("{} check failure details", n(self.check_details)));
        }
        if self.thresholds > 0 {
            parts.push(with_failed(
                self.thresholds,
                self.failed_thresholds,
                "scenario thresholds",
            ));
        }
        if self.findings > 0 {
            parts.push(format!("{} findings", n(self.findings)));
        }
        if self.series_points > 0 {
            parts.push(format!("{} series points", n(self.series_points)));
        }
        if logs > 0 {
            parts.push(format!("{} log lines", n(logs)));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
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
    /// In a merged report: each shard's own verdict (shown, not deciding;
    /// `passed` above is judged on the merged data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardVerdict>,
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
    /// The run was interrupted (Ctrl-C or SIGTERM) while the scenario ran.
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

#[cfg(test)]
impl RunReport {
    /// A run on a fixed host that has started and holds no scenario yet,
    /// for the tests of what consumes the run as it goes.
    pub(crate) fn just_started() -> Self {
        Self {
            schema: SCHEMA.into(),
            rigor_version: "0".into(),
            started_at: "2025-01-01T00:00:00Z".into(),
            duration_ms: 0.0,
            host: HostInfo {
                hostname: "h".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                cpus: 1,
                memory_bytes: 0,
            },
            partial: true,
            summary: Default::default(),
            run_id: None,
            outputs: Vec::new(),
            scenarios: Vec::new(),
            run: None,
            merge: None,
        }
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
            started_at: Some(timestamp(SystemTime::now())),
            duration_ms: 0.0,
            params,
            component: None,
            metrics: Vec::new(),
            checks: Vec::new(),
            thresholds: Vec::new(),
            findings: Vec::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            dropped: Dropped::default(),
            output: CapturedOutput::default(),
            error: None,
            skip_reason: Some(reason),
            budgets: None,
            shard: None,
        }
    }

    pub fn metric(&self, name: &str) -> Option<&MetricReport> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

impl MetricReport {
    /// The declared direction, or the unit's default when the report
    /// predates directions.
    pub fn direction(&self) -> Direction {
        self.direction
            .unwrap_or_else(|| Direction::default_for(self.unit))
    }
}

/// A report timestamp: RFC 3339, UTC, milliseconds.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// When something that took `elapsed` and has just ended started (a
/// scenario's `started_at` from its duration).
pub fn started_ago(elapsed: Duration) -> String {
    let now = SystemTime::now();
    timestamp(now.checked_sub(elapsed).unwrap_or(now))
}
