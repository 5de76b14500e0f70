//! Evaluating a threshold against what a metric recorded.
//!
//! The limit is converted to the raw unit of the observed quantity (nanoseconds
//! for durations, bytes for sizes, a plain fraction for ratios) and compared
//! there, so no precision is lost converting the observations. Percentiles,
//! `med`, `min` and `max` are read from the HDR histogram itself
//! (`value_at_quantile`), never estimated from a summary.

use crate::metrics::{Distribution, Unit};

use super::{Aggregation, Expression, Limit, UnitKind};

/// What was recorded for one metric, as far as thresholds need it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The unit the metric's raw values are stored in.
    pub unit: Unit,
    /// The recorded distribution, for histograms.
    pub distribution: Option<&'a Distribution>,
    /// A single value (gauge or counter total), e.g. a throughput or an error rate.
    pub value: Option<f64>,
    /// Number of events (counter total); falls back to the distribution's count.
    pub count: Option<u64>,
    /// How long the metric was measured over, for `rate/s`.
    pub elapsed_secs: Option<f64>,
}

impl Observed<'_> {
    /// Nothing observed yet; fill in the fields that apply with struct update syntax.
    pub fn new(unit: Unit) -> Self {
        Observed {
            unit,
            distribution: None,
            value: None,
            count: None,
            elapsed_secs: None,
        }
    }
}

/// The outcome of one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The aggregated observation, in `unit`.
    pub observed: f64,
    /// The limit converted to `unit`.
    pub limit: f64,
    /// Whether `observed operator limit` holds.
    pub passed: bool,
    /// The raw unit both numbers are in: the metric's unit, except for
    /// `count` ([`Unit::Count`]), `rate` ([`Unit::Ratio`]) and `rate/s`
    /// ([`Unit::OpsPerSecond`]), which measure something other than the values.
    pub unit: Unit,
}

/// Why a threshold could not be evaluated (the caller treats it as failed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The limit's unit measures a different quantity than the aggregation.
    #[error("`{limit}` is a {} unit but {}", .limit.kind(), describe(.aggregation, .unit))]
    UnitMismatch {
        aggregation: Aggregation,
        limit: super::LimitUnit,
        /// The metric's unit.
        unit: Unit,
    },
    /// A distribution statistic was asked of a metric with no samples.
    #[error("metric has no samples, so `{aggregation}` cannot be computed")]
    NoSamples { aggregation: Aggregation },
    /// `rate` or `value` on a metric that has no single value (a histogram).
    #[error("metric has no single value for `{aggregation}` (it is a distribution?)")]
    NoValue { aggregation: Aggregation },
    #[error("metric has no event count for `{aggregation}`")]
    NoCount { aggregation: Aggregation },
    #[error("metric has no measurement duration, so `rate/s` cannot be computed")]
    NoElapsed,
    #[error("metric was measured over {elapsed_secs} s, so `rate/s` cannot be computed")]
    BadElapsed { elapsed_secs: f64 },
    /// Only for hand-built expressions: the parser refuses these.
    #[error("percentile {0} is outside 0..=100")]
    PercentileOutOfRange(f64),
    #[error("`{aggregation}` of the metric is not a number")]
    NotANumber { aggregation: Aggregation },
}

/// The end of a unit-mismatch message: what the compared quantity is measured in.
fn describe(aggregation: &Aggregation, metric: &Unit) -> String {
    match *aggregation {
        Aggregation::Count => "`count` is a number of events".to_owned(),
        Aggregation::Rate => "`rate` is a ratio".to_owned(),
        Aggregation::RatePerSecond => "`rate/s` is measured in ops/s".to_owned(),
        _ => match *metric {
            Unit::Count => "the metric is a count".to_owned(),
            Unit::Ratio => "the metric is a ratio".to_owned(),
            Unit::None => "the metric has no unit".to_owned(),
            Unit::Nanoseconds | Unit::Bytes | Unit::OpsPerSecond => {
                format!("the metric is measured in {}", metric.as_str())
            }
        },
    }
}

impl Aggregation {
    /// The raw unit of what this aggregation yields on a metric stored in `metric`.
    pub fn observed_unit(self, metric: Unit) -> Unit {
        match self {
            Aggregation::Count => Unit::Count,
            Aggregation::Rate => Unit::Ratio,
            Aggregation::RatePerSecond => Unit::OpsPerSecond,
            _ => metric,
        }
    }
}

/// A limit unit fits only a quantity of its own kind; a bare number fits all.
fn fits(kind: UnitKind, unit: Unit) -> bool {
    matches!(
        (kind, unit),
        (UnitKind::Time, Unit::Nanoseconds)
            | (UnitKind::Size, Unit::Bytes)
            | (UnitKind::Throughput, Unit::OpsPerSecond)
            | (UnitKind::Percentage, Unit::Ratio)
    )
}

impl Limit {
    /// The limit in the raw unit `unit`, or `None` if its unit does not fit.
    pub fn in_unit(&self, unit: Unit) -> Option<f64> {
        match self.unit {
            None => Some(self.number),
            Some(u) if fits(u.kind(), unit) => Some(u.to_base(self.number)),
            Some(_) => None,
        }
    }
}

impl Expression {
    /// The limit in the raw unit of the observed quantity, for a metric stored in
    /// `metric_unit`. Needs no data, so thresholds can be checked against the
    /// declared metric units before a run.
    pub fn limit_for(&self, metric_unit: Unit) -> Result<f64, EvalError> {
        let unit = self.aggregation.observed_unit(metric_unit);
        self.limit.in_unit(unit).ok_or(EvalError::UnitMismatch {
            aggregation: self.aggregation,
            // `in_unit` only fails for a limit that has a unit.
            limit: self.limit.unit.unwrap_or(super::LimitUnit::Ns),
            unit: metric_unit,
        })
    }

    /// Aggregates `obs` and compares it with the limit.
    ///
    /// Units are checked before data, so a misconfigured threshold is reported
    /// as such even on a metric that recorded nothing.
    pub fn evaluate(&self, obs: &Observed) -> Result<Verdict, EvalError> {
        let limit = self.limit_for(obs.unit)?;
        let observed = aggregate(self.aggregation, obs)?;
        if observed.is_nan() {
            return Err(EvalError::NotANumber {
                aggregation: self.aggregation,
            });
        }
        Ok(Verdict {
            observed,
            limit,
            passed: self.operator.holds(observed, limit),
            unit: self.aggregation.observed_unit(obs.unit),
        })
    }
}

fn aggregate(aggregation: Aggregation, obs: &Observed) -> Result<f64, EvalError> {
    let count = obs.count.or(obs.distribution.map(Distribution::len));
    let samples = || match obs.distribution {
        Some(d) if !d.is_empty() => Ok(d),
        _ => Err(EvalError::NoSamples { aggregation }),
    };
    let value = || obs.value.ok_or(EvalError::NoValue { aggregation });
    Ok(match aggregation {
        Aggregation::Avg => samples()?.summary().mean,
        Aggregation::Stdev => samples()?.summary().stdev,
        // Quantile 0 is the lowest recorded bucket's lowest value and 1 the
        // highest's highest: the histogram's own min and max.
        Aggregation::Min => samples()?.value_at_quantile(0.0) as f64,
        Aggregation::Max => samples()?.value_at_quantile(1.0) as f64,
        Aggregation::Med => samples()?.value_at_quantile(0.5) as f64,
        Aggregation::Percentile(n) => {
            if !(0.0..=100.0).contains(&n) {
                return Err(EvalError::PercentileOutOfRange(n));
            }
            samples()?.value_at_quantile(quantile(n)) as f64
        }
        Aggregation::Count => count.ok_or(EvalError::NoCount { aggregation })? as f64,
        Aggregation::Rate | Aggregation::Value => value()?,
        Aggregation::RatePerSecond => {
            let count = count.ok_or(EvalError::NoCount { aggregation })?;
            let elapsed_secs = obs.elapsed_secs.ok_or(EvalError::NoElapsed)?;
            // Zero happens for a metric updated once: there is no span to divide by.
            if !(elapsed_secs.is_finite() && elapsed_secs > 0.0) {
                return Err(EvalError::BadElapsed { elapsed_secs });
            }
            count as f64 / elapsed_secs
        }
    })
}

/// The quantile of percentile `n` (`0 <= n <= 100`): the `f64` nearest to
/// the decimal `n / 100`, so `p(99.9)` asks exactly what the summary's
/// `0.999` asks. Dividing in binary would give `0.9990000000000001`, whose
/// rank (`ceil(q × count)`) overshoots by one sample when `q × count` is a
/// whole number, e.g. the 1000th of 1000 samples instead of the 999th.
fn quantile(n: f64) -> f64 {
    // `{}` prints the shortest text that reads back as `n`, never with an
    // exponent, so shifting its decimal point is exact.
    format!("{n}e-2").parse().unwrap_or(n / 100.0)
}

#[cfg(test)]
mod tests {
    use super::super::{LimitUnit, Operator, parse};
    use super::*;

    /// 1 µs, 2 µs, … 1 ms: a latency distribution in nanoseconds.
    fn latency() -> Distribution {
        let mut d = Distribution::new();
        for v in 1..=1000u64 {
            d.record(v * 1000);
        }
        d
    }

    /// The same values in a bare `hdrhistogram` set up as `Distribution`
    /// sets up its own: what the exact figures are checked against.
    fn reference(values: impl IntoIterator<Item = u64>) -> hdrhistogram::Histogram<u64> {
        let mut h =
            hdrhistogram::Histogram::<u64>::new(crate::metrics::SIGNIFICANT_DIGITS).unwrap();
        h.auto(true);
        for v in values {
            h.record(v.max(1)).unwrap();
        }
        h
    }

    fn histogram(unit: Unit, d: &Distribution) -> Observed<'_> {
        Observed {
            distribution: Some(d),
            elapsed_secs: Some(2.0),
            ..Observed::new(unit)
        }
    }

    fn gauge(unit: Unit, v: f64) -> Observed<'static> {
        Observed {
            value: Some(v),
            elapsed_secs: Some(2.0),
            ..Observed::new(unit)
        }
    }

    fn eval(text: &str, obs: &Observed) -> Result<Verdict, EvalError> {
        parse(text).unwrap().evaluate(obs)
    }

    fn observed(text: &str, obs: &Observed) -> f64 {
        eval(text, obs)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .observed
    }

    #[test]
    fn every_aggregation_on_a_histogram() {
        let d = latency();
        let obs = histogram(Unit::Nanoseconds, &d);
        let h = reference((1..=1000u64).map(|v| v * 1000));
        let cases = [
            ("avg < 1", h.mean()),
            ("min < 1", h.min() as f64),
            ("max < 1", h.max() as f64),
            ("med < 1", h.value_at_quantile(0.5) as f64),
            ("stdev < 1", h.stdev()),
            ("p(0) < 1", h.min() as f64),
            ("p(50) < 1", h.value_at_quantile(0.5) as f64),
            ("p(90) < 1", h.value_at_quantile(0.9) as f64),
            ("p(99.9) < 1", h.value_at_quantile(0.999) as f64),
            ("p(100) < 1", h.max() as f64),
            ("count < 1", 1000.0),
            ("rate/s < 1", 500.0),
        ];
        for (text, want) in cases {
            assert_eq!(observed(text, &obs), want, "{text}");
        }
        // The histogram's own figures, within its 0.1 % resolution of the values.
        let near = |text: &str, want: f64| {
            let got = observed(text, &obs);
            assert!((got - want).abs() <= want * 1e-3, "{text}: {got} vs {want}");
        };
        near("min < 1", 1_000.0);
        near("max < 1", 1_000_000.0);
        near("med < 1", 500_000.0);
        near("p(99) < 1", 990_000.0);
        near("avg < 1", 500_500.0);
    }

    /// `p(N)` is the histogram's `value_at_quantile(N / 100)`, for any N, on
    /// a skewed distribution where an interpolation between summary points
    /// would be far off.
    #[test]
    fn percentiles_are_exact_on_the_histogram() {
        // 10,000 samples: most fast, a long tail, a few outliers.
        let values: Vec<u64> = (0..10_000u64)
            .map(|i| match i % 100 {
                0..=89 => 50_000 + (i * 7919) % 20_000,
                90..=98 => 200_000 + (i * 104_729) % 800_000,
                _ => 5_000_000 + i * 1_000,
            })
            .collect();
        let mut d = Distribution::new();
        for &v in &values {
            d.record(v);
        }
        let h = reference(values.iter().copied());
        let obs = histogram(Unit::Nanoseconds, &d);
        let cases: [(&str, f64); 14] = [
            ("0", 0.0),
            ("1", 0.01),
            ("12.5", 0.125),
            ("25", 0.25),
            ("33.3", 0.333),
            ("50", 0.5),
            ("75", 0.75),
            ("90", 0.9),
            ("92.5", 0.925),
            ("97", 0.97),
            ("99", 0.99),
            ("99.9", 0.999),
            ("99.99", 0.9999),
            ("100", 1.0),
        ];
        for (n, q) in cases {
            let text = format!("p({n}) < 1");
            assert_eq!(
                observed(&text, &obs),
                h.value_at_quantile(q) as f64,
                "{text}"
            );
        }
    }

    /// `p(99.9)` of 1000 samples is the 999th, not the largest: the quantile
    /// is the decimal 0.999, not the binary 99.9 / 100 that overshoots.
    #[test]
    fn a_decimal_percentile_does_not_round_up_a_rank() {
        let mut d = Distribution::new();
        for v in 1..=999u64 {
            d.record(v);
        }
        d.record(1_000_000);
        let obs = histogram(Unit::None, &d);
        assert_eq!(observed("p(99.9) < 1", &obs), 999.0);
        assert_eq!(quantile(99.9), 0.999);
        assert_eq!(quantile(12.5), 0.125);
        assert_eq!(quantile(0.0), 0.0);
        assert_eq!(quantile(100.0), 1.0);
        assert_eq!(quantile(0.0001), 0.000001);
    }

    #[test]
    fn every_aggregation_on_values() {
        let ratio = gauge(Unit::Ratio, 0.25);
        assert_eq!(observed("rate < 1", &ratio), 0.25);
        assert_eq!(observed("value < 1", &ratio), 0.25);
        let counter = Observed {
            value: Some(40.0),
            count: Some(40),
            elapsed_secs: Some(8.0),
            ..Observed::new(Unit::Count)
        };
        assert_eq!(observed("count < 1", &counter), 40.0);
        assert_eq!(observed("value < 1", &counter), 40.0);
        assert_eq!(observed("rate/s < 1", &counter), 5.0);
    }

    #[test]
    fn every_operator() {
        let obs = gauge(Unit::None, 5.0);
        let cases = [
            ("<", [false, false, true]),
            ("<=", [false, true, true]),
            (">", [true, false, false]),
            (">=", [true, true, false]),
            ("==", [false, true, false]),
            ("!=", [true, false, true]),
        ];
        for (op, expect) in cases {
            for (limit, want) in [4.0, 5.0, 6.0].into_iter().zip(expect) {
                let text = format!("value {op} {limit}");
                let v = eval(&text, &obs).unwrap();
                assert_eq!(v.passed, want, "{text}");
                assert_eq!((v.observed, v.limit), (5.0, limit));
            }
        }
    }

    #[test]
    fn every_unit_converts_to_the_raw_unit() {
        let cases = [
            ("1ns", Unit::Nanoseconds, 1.0),
            ("1us", Unit::Nanoseconds, 1e3),
            ("1µs", Unit::Nanoseconds, 1e3),
            ("1ms", Unit::Nanoseconds, 1_000_000.0),
            ("2.5ms", Unit::Nanoseconds, 2_500_000.0),
            ("1s", Unit::Nanoseconds, 1e9),
            ("1B", Unit::Bytes, 1.0),
            ("1KB", Unit::Bytes, 1000.0),
            ("1MB", Unit::Bytes, 1_000_000.0),
            ("1GB", Unit::Bytes, 1e9),
            ("1KiB", Unit::Bytes, 1024.0),
            ("1MiB", Unit::Bytes, 1_048_576.0),
            ("1GiB", Unit::Bytes, 1_073_741_824.0),
            ("5000ops/s", Unit::OpsPerSecond, 5000.0),
            ("1%", Unit::Ratio, 0.01),
            ("7%", Unit::Ratio, 0.07),
            ("0.5", Unit::Ratio, 0.5),
            ("1000", Unit::Nanoseconds, 1000.0),
            ("1000", Unit::Bytes, 1000.0),
            ("1000", Unit::None, 1000.0),
            ("1000", Unit::Count, 1000.0),
        ];
        for (limit, unit, want) in cases {
            let text = format!("value < {limit}");
            let v = eval(&text, &gauge(unit, 0.0)).unwrap();
            assert_eq!((v.limit, v.unit), (want, unit), "{text}");
        }
    }

    #[test]
    fn one_millisecond_is_a_million_nanoseconds() {
        let obs = gauge(Unit::Nanoseconds, 1_000_000.0);
        assert!(eval("value <= 1ms", &obs).unwrap().passed);
        assert!(!eval("value < 1ms", &obs).unwrap().passed);
        assert!(eval("value == 1000us", &obs).unwrap().passed);
        assert!(eval("value == 1000000", &obs).unwrap().passed);
        assert!(eval("value > 0.999ms", &obs).unwrap().passed);
    }

    #[test]
    fn percent_and_rate() {
        let errors = gauge(Unit::Ratio, 0.005);
        let v = eval("rate < 1%", &errors).unwrap();
        assert_eq!(
            (v.observed, v.limit, v.passed, v.unit),
            (0.005, 0.01, true, Unit::Ratio)
        );
        assert!(!eval("rate < 0.5%", &errors).unwrap().passed);
        assert!(eval("rate < 0.01", &errors).unwrap().passed);
        // `rate` is a ratio whatever the metric says it stores.
        let v = eval("rate < 1%", &gauge(Unit::None, 0.02)).unwrap();
        assert_eq!((v.limit, v.passed, v.unit), (0.01, false, Unit::Ratio));
    }

    #[test]
    fn rate_per_second() {
        let d = latency();
        let obs = Observed {
            elapsed_secs: Some(0.5),
            ..histogram(Unit::Nanoseconds, &d)
        };
        let v = eval("rate/s >= 2000ops/s", &obs).unwrap();
        assert_eq!(
            (v.observed, v.limit, v.passed, v.unit),
            (2000.0, 2000.0, true, Unit::OpsPerSecond)
        );
        assert!(!eval("rate/s > 2000", &obs).unwrap().passed);
        // The count comes from the distribution when none is given.
        let obs = Observed { count: None, ..obs };
        assert_eq!(observed("rate/s > 1", &obs), 2000.0);
    }

    #[test]
    fn unit_mismatches() {
        let d = latency();
        let sizes = histogram(Unit::Bytes, &d);
        let durations = histogram(Unit::Nanoseconds, &d);
        let cases = [
            (
                "p(99) < 1ms",
                &sizes,
                "`ms` is a time unit but the metric is measured in B",
            ),
            (
                "max < 10MB",
                &durations,
                "`MB` is a size unit but the metric is measured in ns",
            ),
            (
                "avg < 1%",
                &durations,
                "`%` is a percentage unit but the metric is measured in ns",
            ),
            (
                "avg < 1ops/s",
                &durations,
                "`ops/s` is a throughput unit but the metric is measured in ns",
            ),
            (
                "count < 1ms",
                &durations,
                "`ms` is a time unit but `count` is a number of events",
            ),
            (
                "count < 1%",
                &durations,
                "`%` is a percentage unit but `count` is a number of events",
            ),
            (
                "rate < 1ms",
                &durations,
                "`ms` is a time unit but `rate` is a ratio",
            ),
            (
                "rate/s < 1%",
                &durations,
                "`%` is a percentage unit but `rate/s` is measured in ops/s",
            ),
            (
                "rate/s < 1ms",
                &durations,
                "`ms` is a time unit but `rate/s` is measured in ops/s",
            ),
        ];
        for (text, obs, message) in cases {
            let err = eval(text, obs).unwrap_err();
            assert_eq!(err.to_string(), message, "{text}");
        }
        let others = [
            (Unit::Count, "the metric is a count"),
            (Unit::Ratio, "the metric is a ratio"),
            (Unit::None, "the metric has no unit"),
            (Unit::OpsPerSecond, "the metric is measured in ops/s"),
        ];
        for (unit, tail) in others {
            let err = eval("value < 1s", &gauge(unit, 1.0)).unwrap_err();
            assert_eq!(err.to_string(), format!("`s` is a time unit but {tail}"));
        }
        // A unit that fits the metric but not the aggregation's quantity.
        let ratio = gauge(Unit::Ratio, 0.1);
        assert!(matches!(
            eval("count < 1%", &ratio),
            Err(EvalError::UnitMismatch { .. })
        ));
        // Mismatches are reported even when there is no data.
        let empty = Observed::new(Unit::Bytes);
        assert!(matches!(
            eval("avg < 1ms", &empty),
            Err(EvalError::UnitMismatch { .. })
        ));
        // Every limit unit against every metric unit: fits exactly its own kind.
        let all_units = [
            Unit::Nanoseconds,
            Unit::Bytes,
            Unit::Count,
            Unit::OpsPerSecond,
            Unit::Ratio,
            Unit::None,
        ];
        for limit in LimitUnit::ALL {
            for unit in all_units {
                let e = Expression {
                    aggregation: Aggregation::Value,
                    operator: Operator::Lt,
                    limit: Limit {
                        number: 1.0,
                        unit: Some(limit),
                    },
                    abort_on_fail: false,
                    abort_delay: None,
                };
                let fits = matches!(
                    (limit.kind(), unit),
                    (UnitKind::Time, Unit::Nanoseconds)
                        | (UnitKind::Size, Unit::Bytes)
                        | (UnitKind::Throughput, Unit::OpsPerSecond)
                        | (UnitKind::Percentage, Unit::Ratio)
                );
                assert_eq!(e.limit_for(unit).is_ok(), fits, "{e} on {unit:?}");
            }
        }
    }

    #[test]
    fn missing_data() {
        let no_samples = "metric has no samples, so `avg` cannot be computed";
        let empty = Distribution::new();
        let cases: [(&str, Observed, &str); 12] = [
            ("avg < 1ms", Observed::new(Unit::Nanoseconds), no_samples),
            (
                "avg < 1ms",
                histogram(Unit::Nanoseconds, &empty),
                no_samples,
            ),
            (
                "p(99) < 1ms",
                histogram(Unit::Nanoseconds, &empty),
                "metric has no samples, so `p(99)` cannot be computed",
            ),
            (
                "p(12.5) < 1ms",
                histogram(Unit::Nanoseconds, &empty),
                "metric has no samples, so `p(12.5)` cannot be computed",
            ),
            (
                "med < 1ms",
                gauge(Unit::Nanoseconds, 1.0),
                "metric has no samples, so `med` cannot be computed",
            ),
            (
                "stdev < 1ms",
                histogram(Unit::Nanoseconds, &empty),
                "metric has no samples, so `stdev` cannot be computed",
            ),
            (
                "value < 1",
                histogram(Unit::Nanoseconds, &empty),
                "metric has no single value for `value` (it is a distribution?)",
            ),
            (
                "rate < 1%",
                Observed::new(Unit::Ratio),
                "metric has no single value for `rate` (it is a distribution?)",
            ),
            (
                "count > 0",
                gauge(Unit::None, 1.0),
                "metric has no event count for `count`",
            ),
            (
                "rate/s > 0",
                gauge(Unit::None, 1.0),
                "metric has no event count for `rate/s`",
            ),
            (
                "rate/s > 0",
                Observed {
                    elapsed_secs: None,
                    ..histogram(Unit::Nanoseconds, &empty)
                },
                "metric has no measurement duration, so `rate/s` cannot be computed",
            ),
            (
                "rate/s > 0",
                Observed {
                    elapsed_secs: Some(0.0),
                    ..histogram(Unit::Nanoseconds, &empty)
                },
                "metric was measured over 0 s, so `rate/s` cannot be computed",
            ),
        ];
        for (text, obs, message) in cases {
            assert_eq!(eval(text, &obs).unwrap_err().to_string(), message, "{text}");
        }
        // A count of zero is an observation, not missing data.
        let v = eval("count == 0", &histogram(Unit::Nanoseconds, &empty)).unwrap();
        assert!(v.passed);
        let v = eval("rate/s == 0", &histogram(Unit::Nanoseconds, &empty)).unwrap();
        assert!(v.passed);
    }

    #[test]
    fn odd_observations_and_hand_built_expressions() {
        let nan = gauge(Unit::None, f64::NAN);
        assert_eq!(
            eval("value != 1", &nan).unwrap_err().to_string(),
            "`value` of the metric is not a number"
        );
        for elapsed in [f64::NAN, f64::INFINITY, -1.0] {
            let obs = Observed {
                count: Some(1),
                elapsed_secs: Some(elapsed),
                ..Observed::new(Unit::Count)
            };
            assert!(matches!(
                eval("rate/s > 0", &obs),
                Err(EvalError::BadElapsed { .. })
            ));
        }
        let d = latency();
        let obs = histogram(Unit::Nanoseconds, &d);
        for n in [-1.0, 100.5, f64::NAN, f64::INFINITY] {
            let e = Expression {
                aggregation: Aggregation::Percentile(n),
                operator: Operator::Lt,
                limit: Limit {
                    number: 1.0,
                    unit: None,
                },
                abort_on_fail: false,
                abort_delay: None,
            };
            assert!(matches!(
                e.evaluate(&obs),
                Err(EvalError::PercentileOutOfRange(_))
            ));
        }
    }
}
