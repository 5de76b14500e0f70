//! The WIT `report` interface: checks, host-evaluated thresholds, findings
//! and logs, collected by the scenario's `ReportBuilder`.

use super::builder::bounded;
use super::model::{Finding, LogLevel, Severity, ThresholdSource};
use crate::bindings::report as wit;
use crate::bindings::types::ProbeError as WitProbeError;
use crate::engine::HostState;
use crate::thresholds;

impl From<wit::Severity> for Severity {
    fn from(s: wit::Severity) -> Self {
        match s {
            wit::Severity::Info => Severity::Info,
            wit::Severity::Low => Severity::Low,
            wit::Severity::Medium => Severity::Medium,
            wit::Severity::High => Severity::High,
            wit::Severity::Critical => Severity::Critical,
        }
    }
}

impl From<wit::Level> for LogLevel {
    fn from(l: wit::Level) -> Self {
        match l {
            wit::Level::Debug => LogLevel::Debug,
            wit::Level::Info => LogLevel::Info,
            wit::Level::Warn => LogLevel::Warn,
            wit::Level::Error => LogLevel::Error,
        }
    }
}

impl wit::Host for HostState {
    async fn check(&mut self, name: String, passed: bool, detail: String) -> wasmtime::Result<()> {
        self.report.check(name, passed, detail);
        Ok(())
    }

    async fn threshold(
        &mut self,
        metric: String,
        expression: String,
    ) -> wasmtime::Result<Result<wit::Verdict, WitProbeError>> {
        let expr = match thresholds::parse(&expression) {
            Ok(e) => e,
            Err(e) => return Ok(Err(WitProbeError::Invalid(bounded(e.to_string())))),
        };
        if self.recorder.get(&metric).is_none() {
            let known: Vec<&str> = self.recorder.names().collect();
            return Ok(Err(WitProbeError::Invalid(bounded(format!(
                "threshold on unknown metric `{metric}`; recorded metrics: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )))));
        }
        let result = self
            .report
            .threshold(&self.recorder, &metric, &expr, ThresholdSource::Guest);
        if let Some(error) = &result.error {
            return Ok(Err(WitProbeError::Invalid(bounded(error.clone()))));
        }
        if expr.abort_on_fail && !result.passed {
            // The guest asked to be stopped on this failure: end the run here.
            return Err(wasmtime::Error::new(thresholds::AbortOnFail {
                metric: result.metric.clone(),
                expression: result.expression.clone(),
                origin: ThresholdSource::Guest,
                observed: super::units::value(
                    result.unit.unwrap_or(crate::metrics::Unit::None),
                    result.observed.unwrap_or(f64::NAN),
                ),
            }));
        }
        Ok(Ok(wit::Verdict {
            metric: result.metric,
            expression: result.expression,
            observed: result.observed.unwrap_or(f64::NAN),
            limit: result.limit.unwrap_or(f64::NAN),
            passed: result.passed,
        }))
    }

    async fn add_finding(&mut self, finding: wit::Finding) -> wasmtime::Result<()> {
        self.report.finding(Finding {
            severity: finding.severity.into(),
            title: finding.title,
            detail: finding.detail,
            action: finding.action,
        });
        Ok(())
    }

    async fn log(&mut self, level: wit::Level, message: String) -> wasmtime::Result<()> {
        self.report.log(level.into(), message);
        Ok(())
    }
}
