//! Metrics: HDR distributions, their summaries and units, and the per-scenario
//! registry the probes and the guest record into.

mod binding;
mod direction;
mod histogram;
mod recorder;
mod shared;
mod summary;
mod unit;

pub use binding::{MetricsBinding, MetricsView};
pub use direction::Direction;
pub use histogram::{Distribution, SIGNIFICANT_DIGITS};
pub use recorder::{
    HistogramHandle, MAX_METRICS, MAX_NAME_LEN, Metric, MetricData, MetricError, Recorder,
};
pub use shared::SharedRecorder;
pub use summary::Summary;
pub use unit::Unit;
