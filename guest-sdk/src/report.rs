//! Conclusions: checks, host-evaluated thresholds, findings, logs.

use crate::bindings::rigor::scenario::report as wit;
use crate::{ProbeError, Result};

pub use wit::Severity;
pub use wit::Verdict;

/// Records a pass/fail check.
pub fn check(name: &str, passed: bool, detail: impl AsRef<str>) {
    wit::check(name, passed, detail.as_ref());
}

/// Evaluates a k6-style threshold (`p(99) < 1ms`) on a metric of this
/// scenario; the host records the verdict in the report. An unknown metric or
/// a malformed expression is an error.
pub fn threshold(metric: &str, expression: &str) -> Result<Verdict> {
    wit::threshold(metric, expression).map_err(|e| ProbeError::from(e).into())
}

/// Records a finding for reviewers.
pub fn finding(severity: Severity, title: &str, detail: impl AsRef<str>, action: impl AsRef<str>) {
    wit::add_finding(&wit::Finding {
        severity,
        title: title.to_owned(),
        detail: detail.as_ref().to_owned(),
        action: action.as_ref().to_owned(),
    });
}

/// Logging into the scenario's report.
pub mod log {
    use super::wit;

    /// A debug line.
    pub fn debug(message: impl AsRef<str>) {
        wit::log(wit::Level::Debug, message.as_ref());
    }
    /// An informational line.
    pub fn info(message: impl AsRef<str>) {
        wit::log(wit::Level::Info, message.as_ref());
    }
    /// A warning.
    pub fn warn(message: impl AsRef<str>) {
        wit::log(wit::Level::Warn, message.as_ref());
    }
    /// An error line (does not fail the scenario by itself).
    pub fn error(message: impl AsRef<str>) {
        wit::log(wit::Level::Error, message.as_ref());
    }
}
