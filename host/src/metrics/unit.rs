//! Units of recorded values; they decide how values are printed and which
//! threshold units are compatible with a metric.

use serde::{Deserialize, Serialize};

/// The unit a metric's raw values are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Durations, stored in nanoseconds.
    Nanoseconds,
    /// Sizes, stored in bytes.
    Bytes,
    /// Plain counts (operations, items, errors).
    Count,
    /// Throughput, operations per second.
    OpsPerSecond,
    /// A fraction in `0.0..=1.0` (error rate, hit ratio).
    Ratio,
    /// A dimensionless number.
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Nanoseconds => "ns",
            Unit::Bytes => "B",
            Unit::Count => "count",
            Unit::OpsPerSecond => "ops/s",
            Unit::Ratio => "ratio",
            Unit::None => "",
        }
    }
}
