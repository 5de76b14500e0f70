//! The WIT `report` interface: checks, findings and logs recorded into the
//! scenario's `ReportBuilder`, and thresholds judged by `crate::thresholds`
//! with their verdicts recorded there too.

use wasmtime::component::HasData;

use super::builder::bounded;
use super::model::{Finding, LogLevel, Severity, ThresholdSource};
use super::shared::SharedReport;
use crate::bindings::report as wit;
use crate::metrics::SharedRecorder;
use crate::probes::{BindingError, BindingResult, ProbeError};
use crate::thresholds;

/// What the `report` binding may touch: the report it fills, and the
/// recorder, read-only, that guest thresholds are judged against.
pub struct ReportView<'a> {
    pub(crate) report: &'a SharedReport,
    pub(crate) recorder: &'a SharedRecorder,
}

/// Links `report` to a `ReportView` of the store's state.
pub struct ReportBinding;

impl HasData for ReportBinding {
    type Data<'a> = ReportView<'a>;
}

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

impl wit::Host for ReportView<'_> {
    async fn check(&mut self, name: String, passed: bool, detail: String) -> wasmtime::Result<()> {
        self.report.check(name, passed, detail);
        Ok(())
    }

    async fn threshold(
        &mut self,
        metric: String,
        expression: String,
    ) -> BindingResult<wit::Verdict> {
        let expr = thresholds::parse(&expression)
            .map_err(|e| ProbeError::Invalid(bounded(e.to_string())))?;
        let metric = bounded(metric);
        let judged = self
            .recorder
            .with(|r| thresholds::judge(r, &metric, &expr, ThresholdSource::Guest));
        // Recorded before anything is returned: a guest that ignores the
        // error still fails on a threshold that could not be judged.
        self.report.threshold(judged.clone());
        if let Some(abort) = thresholds::AbortOnFail::from_judged(&judged) {
            // The guest asked to be stopped on this failure: end the run here.
            return Err(BindingError::trap(abort));
        }
        let verdict = judged
            .outcome
            .map_err(|why| ProbeError::Invalid(bounded(why.to_string())))?;
        Ok(wit::Verdict {
            metric: judged.metric,
            expression: expr.to_string(),
            observed: verdict.observed,
            limit: verdict.limit,
            passed: verdict.passed,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::HostState;
    use crate::metrics::Unit;
    use crate::probes::Capabilities;
    use crate::thresholds::AbortOnFail;
    use wit::Host as _;

    fn state_with_latency() -> HostState {
        let state = HostState::new(64 << 20, Capabilities::deny_all("t"));
        let h = state.recorder.histogram("get", Unit::Nanoseconds).unwrap();
        state.recorder.record(h, 2_000_000);
        state
    }

    #[tokio::test]
    async fn a_failing_guest_threshold_with_abort_on_fail_ends_the_run() {
        let mut state = state_with_latency();
        let err = state
            .report_view()
            .threshold("get".into(), "max < 1ms, abort-on-fail".into())
            .await
            .expect_err("the failure must trap, ending the run");
        let BindingError::Trap(err) = err else {
            panic!("a probe error instead of a trap: {err:?}");
        };
        let abort = err.downcast_ref::<AbortOnFail>().expect("an AbortOnFail");
        assert_eq!(abort.origin, ThresholdSource::Guest);
        assert_eq!(abort.observed, "2.001ms");
        // The verdict is in the report before the run ends.
        let thresholds = state.report.with(|r| r.threshold_results());
        assert_eq!(thresholds.len(), 1);
        assert!(!thresholds[0].passed);
    }

    #[tokio::test]
    async fn guest_thresholds_without_abort_or_that_pass_return_verdicts() {
        let mut state = state_with_latency();
        let verdict = state
            .report_view()
            .threshold("get".into(), "max < 1ms".into())
            .await
            .unwrap();
        assert!(!verdict.passed);
        let verdict = state
            .report_view()
            .threshold("get".into(), "max < 5ms, abort-on-fail".into())
            .await
            .unwrap();
        assert!(verdict.passed);
        let syntax = state
            .report_view()
            .threshold("get".into(), "max < 5xs".into())
            .await
            .unwrap_err();
        assert!(
            matches!(&syntax, BindingError::Probe(ProbeError::Invalid(m)) if m.contains("at column 8")),
            "{syntax:?}"
        );
    }

    #[tokio::test]
    async fn a_guest_threshold_on_an_unknown_metric_is_an_error_and_a_failure() {
        let mut state = state_with_latency();
        let err = state
            .report_view()
            .threshold("gte".into(), "count == 0".into())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BindingError::Probe(ProbeError::Invalid(m))
                if m == "metric `gte` was not recorded; recorded metrics: get"),
            "{err:?}"
        );
        // Ignoring the error does not make the scenario pass.
        let recorded = state.report.take().finish();
        assert!(!recorded.passed);
        assert_eq!(
            recorded.thresholds[0].error.as_deref(),
            Some("metric `gte` was not recorded; recorded metrics: get")
        );
    }

    #[tokio::test]
    async fn checks_recorded_through_the_binding_aggregate_by_name() {
        let mut state = state_with_latency();
        for i in 0..100 {
            state
                .report_view()
                .check("ok".into(), i != 42, format!("call {i}"))
                .await
                .unwrap();
        }
        let recorded = state.report.take().finish();
        assert_eq!(recorded.checks.len(), 1);
        let c = &recorded.checks[0];
        assert_eq!((c.passed, c.passes, c.fails), (false, 99, 1));
        assert_eq!(c.detail, "call 42");
    }
}
