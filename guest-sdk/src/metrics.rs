//! Named metrics that appear in the scenario's report. Histograms live in the
//! host: timed probe calls record into them natively.

use crate::bindings::rigor::scenario::metrics as wit;

pub use wit::Summary;

/// Unit of a metric's raw values.
pub use wit::Unit;

/// An HDR histogram owned by the host, named within this scenario.
pub struct Histogram {
    inner: wit::Histogram,
}

impl Histogram {
    /// A latency histogram (nanoseconds) named `name`, e.g. `get.100B`.
    pub fn latency(name: &str) -> Self {
        Self::new(name, Unit::Nanoseconds)
    }

    /// A histogram of values in `unit`. Opening an existing name returns the
    /// same data.
    pub fn new(name: &str, unit: Unit) -> Self {
        Self {
            inner: wit::Histogram::new(name, unit),
        }
    }

    /// Records one value.
    pub fn record(&self, value: u64) {
        self.inner.record(value);
    }

    /// Records many values in one host call (cheaper than one call each).
    pub fn record_many(&self, values: &[u64]) {
        self.inner.record_many(values);
    }

    /// Current statistics.
    pub fn summary(&self) -> Summary {
        self.inner.summary()
    }

    /// The metric name.
    pub fn name(&self) -> String {
        self.inner.name()
    }

    pub(crate) fn wit(&self) -> &wit::Histogram {
        &self.inner
    }
}

/// Sets a gauge (a single reported value), e.g. a throughput in ops/s.
pub fn gauge(name: &str, value: f64, unit: Unit) {
    wit::gauge(name, value, unit);
}

/// Adds `delta` to a counter.
pub fn counter(name: &str, delta: u64) {
    wit::counter_add(name, delta);
}
