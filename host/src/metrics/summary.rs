//! The statistics every report shows for a distribution of values.

use serde::{Deserialize, Serialize};

/// Summary of one histogram, in the histogram's unit (nanoseconds for latencies).
///
/// Percentiles come from the HDR histogram (3 significant digits), so they are
/// exact to within 0.1 % of the value; `mean` and `stdev` are computed from the
/// same recorded buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
}
