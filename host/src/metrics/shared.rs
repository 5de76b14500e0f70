//! The recorder shared by everything one scenario runs: its instance, or
//! all of its virtual users at once, and whoever reads it while the run goes
//! (thresholds, progress). Each call takes the lock for one operation and
//! never across an `.await`, so a histogram has one writer at a time and
//! 10,000 VUs record into one `http.total`, not 10,000.

use std::sync::{Arc, Mutex, MutexGuard};

use super::{Direction, Distribution, HistogramHandle, MetricError, Recorder, Unit};

#[derive(Debug, Clone, Default)]
pub struct SharedRecorder(Arc<Mutex<Recorder>>);

impl SharedRecorder {
    pub fn new(recorder: Recorder) -> Self {
        Self(Arc::new(Mutex::new(recorder)))
    }

    fn lock(&self) -> MutexGuard<'_, Recorder> {
        // A panic while recording leaves the data consistent (each update is
        // one assignment): keep what was measured.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the recorder under the lock (reads, several updates at once).
    pub fn with<R>(&self, f: impl FnOnce(&mut Recorder) -> R) -> R {
        f(&mut self.lock())
    }

    pub fn histogram(&self, name: &str, unit: Unit) -> Result<HistogramHandle, MetricError> {
        self.lock().histogram(name, unit)
    }

    #[inline]
    pub fn record(&self, handle: HistogramHandle, value: u64) {
        self.lock().record(handle, value);
    }

    pub fn record_many(&self, handle: HistogramHandle, values: &[u64]) {
        self.lock().record_many(handle, values);
    }

    pub fn merge(&self, handle: HistogramHandle, values: &Distribution) {
        self.lock().merge(handle, values);
    }

    pub fn gauge(&self, name: &str, value: f64, unit: Unit) -> Result<(), MetricError> {
        self.lock().gauge(name, value, unit)
    }

    pub fn counter_add(&self, name: &str, delta: u64) -> Result<(), MetricError> {
        self.lock().counter_add(name, delta)
    }

    pub fn set_direction(&self, name: &str, direction: Direction) {
        self.lock().set_direction(name, direction);
    }

    pub fn set_significance_level(&self, name: &str, level: f64) {
        self.lock().set_significance_level(name, level);
    }

    /// The recorded metrics, taken out at the end of the run (whoever still
    /// holds a handle afterwards sees an empty recorder).
    pub fn take(&self) -> Recorder {
        std::mem::take(&mut *self.lock())
    }
}
