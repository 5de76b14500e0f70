//! Which way a metric is better: what `rigor compare` judges a change by.

use serde::{Deserialize, Serialize};

use super::Unit;

/// Which way a metric's value is better. The host sets it where it records
/// a metric; a guest's metrics (the WIT carries no direction) get
/// [`Direction::default_for`] their unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Latencies, sizes, error rates, failure counts.
    LowerIsBetter,
    /// Throughput; a p-value testing for a defect (judged against its
    /// significance level, not by its relative change).
    HigherIsBetter,
    /// Shown, never judged: plain counts, goodness of fit, sample numbers.
    Informational,
}

impl Direction {
    /// The direction of a metric nobody declared one for (a guest's, or one
    /// in a report written before reports carried directions). Durations,
    /// sizes and ratios (the WIT's example ratio is an error rate) are lower
    /// is better, throughput higher; counts and unitless numbers say nothing
    /// about better or worse on their own. The kind (histogram, gauge,
    /// counter) does not change it: a counter is a count.
    pub fn default_for(unit: Unit) -> Self {
        match unit {
            Unit::Nanoseconds | Unit::Bytes | Unit::Ratio => Direction::LowerIsBetter,
            Unit::OpsPerSecond => Direction::HigherIsBetter,
            Unit::Count | Unit::None => Direction::Informational,
        }
    }

    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::LowerIsBetter => "lower-is-better",
            Direction::HigherIsBetter => "higher-is-better",
            Direction::Informational => "informational",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_unit() {
        assert_eq!(
            Direction::default_for(Unit::Nanoseconds),
            Direction::LowerIsBetter
        );
        assert_eq!(
            Direction::default_for(Unit::Ratio),
            Direction::LowerIsBetter
        );
        assert_eq!(
            Direction::default_for(Unit::OpsPerSecond),
            Direction::HigherIsBetter
        );
        assert_eq!(
            Direction::default_for(Unit::Count),
            Direction::Informational
        );
        assert_eq!(
            serde_json::to_string(&Direction::LowerIsBetter).unwrap(),
            "\"lower-is-better\""
        );
    }
}
