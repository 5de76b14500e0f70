//! The NDJSON event stream (`--out ndjson=FILE`): one JSON object per line,
//! written and flushed as the run goes, for `tail -f` and dashboards.
//!
//! Every line has `event` and `time` (RFC 3339, UTC, milliseconds):
//!
//! | `event` | other fields |
//! | --- | --- |
//! | `run-started` | `total` (scenarios planned), `rigor_version` |
//! | `scenario-started` | `scenario`, `index` (0-based), `total` |
//! | `progress` | `scenario`, `phase`, `done`, `expected`?, `ops_per_sec`, `elapsed_secs`, `remaining_secs`? (at most one line per second per scenario) |
//! | `scenario-finished` | `scenario`, `status`, `report` (the scenario's full `rigor.report/v1` object) |
//! | `run-finished` | `partial`, `duration_ms`, `summary` |
//!
//! Unlike the other reports this file is appended to as events happen, not
//! rendered from the run's report (the report manager owns it); `run-finished` is the last line of a complete stream
//! (an interrupted run still writes it, with `partial: true`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::model::{RunReport, ScenarioReport};
use crate::events::Progress;

/// Least time between two `progress` lines of one scenario.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

pub struct NdjsonWriter {
    out: BufWriter<File>,
    last_progress: Option<Instant>,
}

impl NdjsonWriter {
    /// Creates (truncates) the stream file, creating parent directories.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            out: BufWriter::new(File::create(path)?),
            last_progress: None,
        })
    }

    fn line(&mut self, event: &str, mut fields: Value) -> std::io::Result<()> {
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let mut object = serde_json::Map::new();
        object.insert("event".into(), event.into());
        object.insert("time".into(), time.into());
        if let Value::Object(rest) = fields.take() {
            object.extend(rest);
        }
        serde_json::to_writer(&mut self.out, &Value::Object(object))?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    pub fn run_started(&mut self, total: usize) -> std::io::Result<()> {
        self.line(
            "run-started",
            json!({ "total": total, "rigor_version": env!("CARGO_PKG_VERSION") }),
        )
    }

    pub fn scenario_started(
        &mut self,
        name: &str,
        index: usize,
        total: usize,
    ) -> std::io::Result<()> {
        self.last_progress = None;
        self.line(
            "scenario-started",
            json!({ "scenario": name, "index": index, "total": total }),
        )
    }

    /// Writes a `progress` line unless one was written less than
    /// [`PROGRESS_EVERY`] ago.
    pub fn progress(&mut self, name: &str, progress: &Progress) -> std::io::Result<()> {
        let now = Instant::now();
        if self
            .last_progress
            .is_some_and(|t| now.duration_since(t) < PROGRESS_EVERY)
        {
            return Ok(());
        }
        self.last_progress = Some(now);
        let mut fields = serde_json::to_value(progress)?;
        if let Value::Object(map) = &mut fields {
            map.insert("scenario".into(), name.into());
        }
        self.line("progress", fields)
    }

    pub fn scenario_finished(&mut self, report: &ScenarioReport) -> std::io::Result<()> {
        self.line(
            "scenario-finished",
            json!({
                "scenario": report.name,
                "status": report.status.as_str(),
                "report": report,
            }),
        )
    }

    pub fn run_finished(&mut self, report: &RunReport) -> std::io::Result<()> {
        self.line(
            "run-finished",
            json!({
                "partial": report.partial,
                "duration_ms": report.duration_ms,
                "summary": report.summary,
            }),
        )
    }
}
