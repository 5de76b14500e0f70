//! Collects what a scenario reports while it runs (checks, thresholds,
//! findings, logs) and turns it, with the metrics, into a `ScenarioReport`.

use crate::metrics::{MetricData, Recorder};
use crate::thresholds::{Expression, Observed};

use super::model::{
    CheckResult, Finding, LogLevel, LogLine, MetricReport, ThresholdResult, ThresholdSource,
};

/// Most log lines kept per scenario; later lines are counted, not kept.
pub const MAX_LOG_LINES: usize = 1000;
/// Longest log line, check detail or finding field kept (bytes); longer text is cut.
pub const MAX_TEXT_LEN: usize = 4096;
/// Most checks, thresholds and findings per scenario (each), against a guest
/// that reports in a loop.
pub const MAX_ITEMS: usize = 10_000;

#[derive(Debug, Default)]
pub struct ReportBuilder {
    pub checks: Vec<CheckResult>,
    pub thresholds: Vec<ThresholdResult>,
    pub findings: Vec<Finding>,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    /// Items (checks, thresholds, findings) dropped at `MAX_ITEMS`.
    pub items_dropped: u64,
}

/// Cuts `text` to at most `MAX_TEXT_LEN` bytes on a character boundary.
pub fn bounded(mut text: String) -> String {
    if text.len() > MAX_TEXT_LEN {
        let mut cut = MAX_TEXT_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check(&mut self, name: String, passed: bool, detail: String) {
        if self.checks.len() >= MAX_ITEMS {
            self.items_dropped += 1;
            return;
        }
        self.checks.push(CheckResult {
            name: bounded(name),
            passed,
            detail: bounded(detail),
        });
    }

    pub fn finding(&mut self, finding: Finding) {
        if self.findings.len() >= MAX_ITEMS {
            self.items_dropped += 1;
            return;
        }
        self.findings.push(Finding {
            severity: finding.severity,
            title: bounded(finding.title),
            detail: bounded(finding.detail),
            action: bounded(finding.action),
        });
    }

    pub fn log(&mut self, level: LogLevel, message: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.logs_dropped += 1;
            return;
        }
        self.logs.push(LogLine {
            level,
            message: bounded(message),
        });
    }

    /// Evaluates `expression` against `metric` now and records the verdict.
    pub fn threshold(
        &mut self,
        recorder: &Recorder,
        metric: &str,
        expression: &Expression,
        source: ThresholdSource,
    ) -> ThresholdResult {
        let result = evaluate(recorder, metric, expression, source);
        if self.thresholds.len() < MAX_ITEMS {
            self.thresholds.push(result.clone());
        } else {
            self.items_dropped += 1;
        }
        result
    }

    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed) && self.thresholds.iter().all(|t| t.passed)
    }
}

/// Evaluates one threshold against the recorder; an unknown metric or a unit
/// mismatch is a failed threshold carrying the reason.
pub fn evaluate(
    recorder: &Recorder,
    metric: &str,
    expression: &Expression,
    source: ThresholdSource,
) -> ThresholdResult {
    let mut result = ThresholdResult {
        metric: metric.to_owned(),
        expression: expression.to_string(),
        source,
        passed: false,
        observed: None,
        limit: None,
        unit: None,
        error: None,
    };
    let Some(m) = recorder.get(metric) else {
        let known: Vec<&str> = recorder.names().collect();
        result.error = Some(if known.is_empty() {
            format!("metric `{metric}` was not recorded (the scenario recorded no metrics)")
        } else {
            format!(
                "metric `{metric}` was not recorded; recorded metrics: {}",
                known.join(", ")
            )
        });
        return result;
    };
    result.unit = Some(m.unit);
    let summary;
    let observed = match &m.data {
        MetricData::Histogram(d) => {
            summary = d.summary();
            Observed {
                unit: m.unit,
                summary: Some(&summary),
                value: None,
                count: Some(summary.count),
                elapsed_secs: Some(m.elapsed_secs()),
            }
        }
        MetricData::Gauge(v) => Observed {
            unit: m.unit,
            summary: None,
            value: Some(*v),
            count: None,
            elapsed_secs: Some(m.elapsed_secs()),
        },
        MetricData::Counter(c) => Observed {
            unit: m.unit,
            summary: None,
            value: Some(*c as f64),
            count: Some(*c),
            elapsed_secs: Some(m.elapsed_secs()),
        },
    };
    match expression.evaluate(&observed) {
        Ok(v) => {
            result.passed = v.passed;
            result.observed = Some(v.observed);
            result.limit = Some(v.limit);
            // `count > 1000` on a latency histogram compares counts, not ns.
            result.unit = Some(v.unit);
        }
        Err(e) => result.error = Some(format!("cannot evaluate `{expression}` on `{metric}`: {e}")),
    }
    result
}

/// The metrics section of a report.
pub fn metric_reports(recorder: &Recorder) -> Vec<MetricReport> {
    recorder
        .iter()
        .map(|m| match &m.data {
            MetricData::Histogram(d) => MetricReport {
                name: m.name.clone(),
                kind: "histogram".into(),
                unit: m.unit,
                summary: Some(d.summary()),
                value: None,
                histogram: Some(d.to_base64()),
            },
            MetricData::Gauge(v) => MetricReport {
                name: m.name.clone(),
                kind: "gauge".into(),
                unit: m.unit,
                summary: None,
                value: Some(*v),
                histogram: None,
            },
            MetricData::Counter(c) => MetricReport {
                name: m.name.clone(),
                kind: "counter".into(),
                unit: m.unit,
                summary: None,
                value: Some(*c as f64),
                histogram: None,
            },
        })
        .collect()
}
