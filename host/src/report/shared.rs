//! The report builder shared by everything one scenario runs (its instance
//! or all of its virtual users): one lock per item, never across an
//! `.await`. Checks of one name from every VU aggregate into one tally.

use std::sync::{Arc, Mutex, MutexGuard};

use super::builder::ReportBuilder;
use super::model::{Finding, LogLevel};
use crate::metrics::Unit;
use crate::thresholds::Judged;

#[derive(Debug, Clone, Default)]
pub struct SharedReport(Arc<Mutex<ReportBuilder>>);

impl SharedReport {
    pub fn new(report: ReportBuilder) -> Self {
        Self(Arc::new(Mutex::new(report)))
    }

    fn lock(&self) -> MutexGuard<'_, ReportBuilder> {
        // Each update is self-contained: keep what was reported.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the builder under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut ReportBuilder) -> R) -> R {
        f(&mut self.lock())
    }

    pub fn check(&self, name: String, passed: bool, detail: String) {
        self.lock().check(name, passed, detail);
    }

    pub fn finding(&self, finding: Finding) {
        self.lock().finding(finding);
    }

    pub fn log(&self, level: LogLevel, message: String) {
        self.lock().log(level, message);
    }

    pub fn threshold(&self, judged: Judged) {
        self.lock().threshold(judged);
    }

    pub fn elapsed_secs(&self) -> f64 {
        self.lock().elapsed_secs()
    }

    pub fn series_point(&self, metric: &str, unit: Unit, value: f64) {
        self.lock().series_point(metric, unit, value);
    }

    pub fn series_point_at(&self, metric: &str, unit: Unit, t_secs: f64, value: f64) {
        self.lock().series_point_at(metric, unit, t_secs, value);
    }

    /// The builder, taken out at the end of the run.
    pub fn take(&self) -> ReportBuilder {
        std::mem::take(&mut *self.lock())
    }
}
