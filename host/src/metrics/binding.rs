//! The WIT `metrics` interface over the scenario's `Recorder`. Misusing it
//! (empty name, a gauge reopened as a histogram, too many metrics) is a bug
//! in the guest, so it traps with the reason.

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::{HistogramHandle, SharedRecorder, Summary, Unit};
use crate::bindings::metrics as wit;

/// Most values one `record-many` call may carry.
pub const MAX_RECORD_MANY: usize = 1 << 20;

/// What the `metrics` binding may touch: the guest's histogram handles and
/// the recorder they point into.
pub struct MetricsView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
}

/// Links `metrics` to a `MetricsView` of the store's state.
pub struct MetricsBinding;

impl HasData for MetricsBinding {
    type Data<'a> = MetricsView<'a>;
}

impl From<wit::Unit> for Unit {
    fn from(u: wit::Unit) -> Self {
        match u {
            wit::Unit::Nanoseconds => Unit::Nanoseconds,
            wit::Unit::Bytes => Unit::Bytes,
            wit::Unit::Count => Unit::Count,
            wit::Unit::OpsPerSecond => Unit::OpsPerSecond,
            wit::Unit::Ratio => Unit::Ratio,
            wit::Unit::None => Unit::None,
        }
    }
}

impl From<Summary> for wit::Summary {
    fn from(s: Summary) -> Self {
        wit::Summary {
            count: s.count,
            min: s.min,
            max: s.max,
            mean: s.mean,
            stdev: s.stdev,
            p50: s.p50,
            p90: s.p90,
            p95: s.p95,
            p99: s.p99,
            p999: s.p999,
        }
    }
}

impl wit::Host for MetricsView<'_> {
    async fn gauge(&mut self, name: String, value: f64, unit: wit::Unit) -> wasmtime::Result<()> {
        self.recorder
            .gauge(&name, value, unit.into())
            .map_err(|e| wasmtime::format_err!("metrics.gauge: {e}"))
    }

    async fn counter_add(&mut self, name: String, delta: u64) -> wasmtime::Result<()> {
        self.recorder
            .counter_add(&name, delta)
            .map_err(|e| wasmtime::format_err!("metrics.counter-add: {e}"))
    }
}

impl wit::HostHistogram for MetricsView<'_> {
    async fn new(
        &mut self,
        name: String,
        unit: wit::Unit,
    ) -> wasmtime::Result<Resource<HistogramHandle>> {
        let handle = self
            .recorder
            .histogram(&name, unit.into())
            .map_err(|e| wasmtime::format_err!("metrics.histogram: {e}"))?;
        Ok(self.table.push(handle)?)
    }

    async fn name(&mut self, h: Resource<HistogramHandle>) -> wasmtime::Result<String> {
        let handle = *self.table.get(&h)?;
        Ok(self.recorder.with(|r| r.metric_at(handle).name.clone()))
    }

    async fn record(&mut self, h: Resource<HistogramHandle>, value: u64) -> wasmtime::Result<()> {
        let handle = *self.table.get(&h)?;
        self.recorder.record(handle, value);
        Ok(())
    }

    async fn record_many(
        &mut self,
        h: Resource<HistogramHandle>,
        values: Vec<u64>,
    ) -> wasmtime::Result<()> {
        if values.len() > MAX_RECORD_MANY {
            wasmtime::bail!(
                "metrics.record-many: {} values in one call; the limit is {MAX_RECORD_MANY}",
                values.len()
            );
        }
        let handle = *self.table.get(&h)?;
        self.recorder.record_many(handle, &values);
        Ok(())
    }

    async fn summary(&mut self, h: Resource<HistogramHandle>) -> wasmtime::Result<wit::Summary> {
        let handle = *self.table.get(&h)?;
        Ok(self.recorder.with(|r| match &r.metric_at(handle).data {
            super::MetricData::Histogram(d) => d.summary().into(),
            _ => Summary::default().into(),
        }))
    }

    async fn drop(&mut self, h: Resource<HistogramHandle>) -> wasmtime::Result<()> {
        // The data stays in the recorder: it belongs to the report.
        self.table.delete(h)?;
        Ok(())
    }
}
