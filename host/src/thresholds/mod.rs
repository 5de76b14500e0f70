//! Threshold verdicts, in one place: k6-style expressions (`p(99) < 1ms`,
//! `rate < 1%`, `count > 1000`), their syntax tree and canonical printing,
//! parsing (see [`parse()`] for the grammar), evaluation against a recorded
//! metric (percentiles read exactly from its HDR histogram), the precedence
//! of sources (guest < catalog < cli), and the `abort-on-fail` watch.
//!
//! A threshold names an aggregation of a metric, an operator and a limit with an
//! optional unit. The limit is kept as written (number and unit) so the canonical
//! form prints back what the user meant; it is converted to the metric's raw unit
//! only when evaluated. The report records the verdicts made here; it never
//! judges or re-reads a threshold itself.

mod eval;
mod judge;
mod parse;
mod precedence;
pub mod watch;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use eval::{EvalError, Observed, Verdict};
pub use judge::{Judged, MAX_NAMES_LISTED, Unjudged, judge, judge_planned};
pub use parse::{Expected, Found, ParseError, parse};
pub use precedence::{apply, effective};
pub use watch::{AbortOnFail, AbortWatch};

/// Where a threshold came from. Ordered by precedence: a later source
/// replaces an earlier one's thresholds on the same metric and aggregation
/// (see [`apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdSource {
    /// The scenario's own `report.threshold(…)`.
    Guest,
    /// `[scenario.thresholds]` in the catalog.
    Catalog,
    /// `--threshold 'scenario:metric:expression'`.
    Cli,
}

impl ThresholdSource {
    /// How a source is named to people.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSource::Guest => "scenario",
            ThresholdSource::Catalog => "catalog",
            ThresholdSource::Cli => "cli",
        }
    }
}

/// One threshold: `aggregation operator limit`, optionally followed by
/// `, abort-on-fail`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expression {
    pub aggregation: Aggregation,
    pub operator: Operator,
    pub limit: Limit,
    /// Stop the scenario as soon as the threshold fails while it runs
    /// (k6's `abortOnFail`), instead of only judging it at the end.
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: how long after the scenario starts the threshold
    /// is first judged (k6's `delayAbortEval`), written `abort-on-fail(10s)`.
    /// Always a time unit.
    pub abort_delay: Option<Limit>,
}

/// The option that asks for a scenario to stop when a threshold fails.
pub const ABORT_ON_FAIL: &str = "abort-on-fail";

/// What is computed from the metric before comparing it with the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// Mean of the distribution.
    Avg,
    Min,
    Max,
    /// Median, the same as `p(50)`.
    Med,
    /// `p(N)`, the N-th percentile, `0 <= N <= 100`.
    Percentile(f64),
    /// Number of events (histogram samples or counter total).
    Count,
    /// A ratio metric's value (error rate, hit ratio).
    Rate,
    /// Events per second: count divided by the time the metric was measured over.
    RatePerSecond,
    /// A single value (gauge or counter total).
    Value,
    /// Standard deviation of the distribution.
    Stdev,
}

/// The comparison that must hold for the threshold to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// The right-hand side, as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub number: f64,
    /// `None` for a bare number: the metric's own raw unit.
    pub unit: Option<LimitUnit>,
}

/// Units a limit may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitUnit {
    Ns,
    /// Microseconds, written `us` or `µs`.
    Us,
    Ms,
    S,
    B,
    /// 1000 bytes.
    Kb,
    /// 1000² bytes.
    Mb,
    /// 1000³ bytes.
    Gb,
    /// 1024 bytes.
    Kib,
    /// 1024² bytes.
    Mib,
    /// 1024³ bytes.
    Gib,
    OpsPerSec,
    /// Hundredths of a ratio.
    Percent,
}

/// The quantity a limit unit measures; it decides which metrics it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    Time,
    Size,
    Throughput,
    Percentage,
}

impl Aggregation {
    /// Every aggregation without a parameter, in the order error messages list them.
    pub const NAMED: [Aggregation; 9] = [
        Aggregation::Avg,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Med,
        Aggregation::Count,
        Aggregation::Rate,
        Aggregation::RatePerSecond,
        Aggregation::Value,
        Aggregation::Stdev,
    ];

    /// The keyword, or `None` for `p(N)`, whose text depends on N.
    pub fn keyword(self) -> Option<&'static str> {
        Some(match self {
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Med => "med",
            Aggregation::Percentile(_) => return None,
            Aggregation::Count => "count",
            Aggregation::Rate => "rate",
            Aggregation::RatePerSecond => "rate/s",
            Aggregation::Value => "value",
            Aggregation::Stdev => "stdev",
        })
    }
}

impl Operator {
    pub const ALL: [Operator; 6] = [
        Operator::Lt,
        Operator::Le,
        Operator::Gt,
        Operator::Ge,
        Operator::Eq,
        Operator::Ne,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Eq => "==",
            Operator::Ne => "!=",
        }
    }

    /// Whether `observed operator limit` holds. Equality is exact, as for any
    /// `f64`; it is meant for whole quantities such as `count == 0`.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Operator::Lt => observed < limit,
            Operator::Le => observed <= limit,
            Operator::Gt => observed > limit,
            Operator::Ge => observed >= limit,
            Operator::Eq => observed == limit,
            Operator::Ne => observed != limit,
        }
    }
}

impl LimitUnit {
    pub const ALL: [LimitUnit; 13] = [
        LimitUnit::Ns,
        LimitUnit::Us,
        LimitUnit::Ms,
        LimitUnit::S,
        LimitUnit::B,
        LimitUnit::Kb,
        LimitUnit::Mb,
        LimitUnit::Gb,
        LimitUnit::Kib,
        LimitUnit::Mib,
        LimitUnit::Gib,
        LimitUnit::OpsPerSec,
        LimitUnit::Percent,
    ];

    /// Canonical spelling (`us`, not `µs`, so it is easy to type).
    pub fn as_str(self) -> &'static str {
        match self {
            LimitUnit::Ns => "ns",
            LimitUnit::Us => "us",
            LimitUnit::Ms => "ms",
            LimitUnit::S => "s",
            LimitUnit::B => "B",
            LimitUnit::Kb => "KB",
            LimitUnit::Mb => "MB",
            LimitUnit::Gb => "GB",
            LimitUnit::Kib => "KiB",
            LimitUnit::Mib => "MiB",
            LimitUnit::Gib => "GiB",
            LimitUnit::OpsPerSec => "ops/s",
            LimitUnit::Percent => "%",
        }
    }

    /// The unit spelled exactly `text` (case-sensitive: `MB` is not `mb`).
    pub fn from_symbol(text: &str) -> Option<LimitUnit> {
        // Both the micro sign (U+00B5) and the Greek mu (U+03BC) are typed for µs.
        if text == "µs" || text == "μs" {
            return Some(LimitUnit::Us);
        }
        LimitUnit::ALL.into_iter().find(|u| u.as_str() == text)
    }

    pub fn kind(self) -> UnitKind {
        match self {
            LimitUnit::Ns | LimitUnit::Us | LimitUnit::Ms | LimitUnit::S => UnitKind::Time,
            LimitUnit::B
            | LimitUnit::Kb
            | LimitUnit::Mb
            | LimitUnit::Gb
            | LimitUnit::Kib
            | LimitUnit::Mib
            | LimitUnit::Gib => UnitKind::Size,
            LimitUnit::OpsPerSec => UnitKind::Throughput,
            LimitUnit::Percent => UnitKind::Percentage,
        }
    }

    /// `number` in this unit expressed in the base unit of its kind
    /// (nanoseconds, bytes, ops/s, or a plain ratio for `%`).
    pub fn to_base(self, number: f64) -> f64 {
        match self {
            LimitUnit::Ns | LimitUnit::B | LimitUnit::OpsPerSec => number,
            LimitUnit::Us | LimitUnit::Kb => number * 1e3,
            LimitUnit::Ms | LimitUnit::Mb => number * 1e6,
            LimitUnit::S | LimitUnit::Gb => number * 1e9,
            LimitUnit::Kib => number * 1024.0,
            LimitUnit::Mib => number * 1_048_576.0,
            LimitUnit::Gib => number * 1_073_741_824.0,
            // Divide rather than multiply by 0.01 (which is inexact), so `7%` is
            // exactly the `0.07` a user would otherwise write.
            LimitUnit::Percent => number / 100.0,
        }
    }
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Time => "time",
            UnitKind::Size => "size",
            UnitKind::Throughput => "throughput",
            UnitKind::Percentage => "percentage",
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.keyword() {
            Some(k) => f.write_str(k),
            // `{}` on f64 is the shortest text that reads back as the same
            // value and never uses an exponent, so it always re-parses.
            None => match self {
                Aggregation::Percentile(n) => write!(f, "p({n})"),
                _ => Ok(()),
            },
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for LimitUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        match self.unit {
            Some(u) => write!(f, "{u}"),
            None => Ok(()),
        }
    }
}

/// Canonical form: single spaces around the operator, unit glued to the number,
/// e.g. `p(99) < 1ms` or `p(99) < 1ms, abort-on-fail`. For any parsed
/// expression `e`, `parse(&e.to_string())` gives back `e`.
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.aggregation, self.operator, self.limit)?;
        if self.abort_on_fail {
            write!(f, ", {ABORT_ON_FAIL}")?;
            if let Some(delay) = self.abort_delay {
                write!(f, "({delay})")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Expression {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// Serialized as its canonical text, so catalogs and reports hold
/// `"p(99) < 1ms"` rather than a tree.
impl Serialize for Expression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Expression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(
        aggregation: Aggregation,
        operator: Operator,
        number: f64,
        unit: Option<LimitUnit>,
    ) -> Expression {
        Expression {
            aggregation,
            operator,
            limit: Limit { number, unit },
            abort_on_fail: false,
            abort_delay: None,
        }
    }

    #[test]
    fn canonical_display() {
        let cases = [
            (
                expr(
                    Aggregation::Percentile(99.0),
                    Operator::Lt,
                    1.0,
                    Some(LimitUnit::Ms),
                ),
                "p(99) < 1ms",
            ),
            (
                expr(
                    Aggregation::Percentile(99.9),
                    Operator::Le,
                    2.5,
                    Some(LimitUnit::Ms),
                ),
                "p(99.9) <= 2.5ms",
            ),
            (
                expr(
                    Aggregation::Rate,
                    Operator::Lt,
                    1.0,
                    Some(LimitUnit::Percent),
                ),
                "rate < 1%",
            ),
            (
                expr(Aggregation::Rate, Operator::Lt, 0.01, None),
                "rate < 0.01",
            ),
            (
                expr(Aggregation::Count, Operator::Gt, 1000.0, None),
                "count > 1000",
            ),
            (
                expr(
                    Aggregation::Value,
                    Operator::Gt,
                    5000.0,
                    Some(LimitUnit::OpsPerSec),
                ),
                "value > 5000ops/s",
            ),
            (
                expr(Aggregation::RatePerSecond, Operator::Ge, 10.0, None),
                "rate/s >= 10",
            ),
            (
                expr(Aggregation::Max, Operator::Ne, 10.0, Some(LimitUnit::Mib)),
                "max != 10MiB",
            ),
            (
                expr(Aggregation::Avg, Operator::Eq, 0.0, Some(LimitUnit::Us)),
                "avg == 0us",
            ),
            (
                expr(
                    Aggregation::Stdev,
                    Operator::Lt,
                    0.000001,
                    Some(LimitUnit::S),
                ),
                "stdev < 0.000001s",
            ),
            (
                expr(Aggregation::Med, Operator::Lt, 1e21, None),
                "med < 1000000000000000000000",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!(text.parse::<Expression>(), Ok(e), "{text}");
        }
    }

    /// Every aggregation × operator × number × unit prints to text that parses
    /// back to the same expression.
    #[test]
    fn round_trip_grid() {
        let mut aggregations = Aggregation::NAMED.to_vec();
        for n in [
            0.0, 0.1, 1.0, 12.5, 50.0, 90.0, 95.0, 99.0, 99.9, 99.99, 99.999, 100.0,
        ] {
            aggregations.push(Aggregation::Percentile(n));
        }
        let numbers = [
            0.0,
            1.0,
            0.5,
            2.5,
            0.1,
            1.0 / 3.0,
            1000.0,
            123456.789,
            0.001,
            1e-9,
            4_294_967_296.0,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        let units = std::iter::once(None).chain(LimitUnit::ALL.into_iter().map(Some));
        let units: Vec<_> = units.collect();
        let mut checked = 0;
        for &aggregation in &aggregations {
            for operator in Operator::ALL {
                for &number in &numbers {
                    for &unit in &units {
                        let e = expr(aggregation, operator, number, unit);
                        let text = e.to_string();
                        assert_eq!(parse(&text), Ok(e), "{text}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 21 * 6 * 14 * 14);
    }

    #[test]
    fn unit_symbols() {
        for u in LimitUnit::ALL {
            assert_eq!(LimitUnit::from_symbol(u.as_str()), Some(u));
        }
        assert_eq!(LimitUnit::from_symbol("µs"), Some(LimitUnit::Us));
        assert_eq!(LimitUnit::from_symbol("μs"), Some(LimitUnit::Us));
        for bad in ["", "mb", "kb", "Ms", "sec", "ops", "/s", "%%", "KIB"] {
            assert_eq!(LimitUnit::from_symbol(bad), None, "{bad}");
        }
    }

    #[test]
    fn unit_conversion_to_base() {
        let cases = [
            (LimitUnit::Ns, 1.0),
            (LimitUnit::Us, 1e3),
            (LimitUnit::Ms, 1e6),
            (LimitUnit::S, 1e9),
            (LimitUnit::B, 1.0),
            (LimitUnit::Kb, 1e3),
            (LimitUnit::Mb, 1e6),
            (LimitUnit::Gb, 1e9),
            (LimitUnit::Kib, 1024.0),
            (LimitUnit::Mib, 1024.0 * 1024.0),
            (LimitUnit::Gib, 1024.0 * 1024.0 * 1024.0),
            (LimitUnit::OpsPerSec, 1.0),
            (LimitUnit::Percent, 0.01),
        ];
        for (u, factor) in cases {
            assert_eq!(u.to_base(1.0), factor, "{u}");
        }
        assert_eq!(LimitUnit::Ms.to_base(1.0), 1_000_000.0);
        assert_eq!(LimitUnit::Ms.to_base(2.5), 2_500_000.0);
        assert_eq!(LimitUnit::Percent.to_base(7.0), 0.07);
    }

    #[test]
    fn serde_as_text() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let de: StrDeserializer<'_, Error> = "p(99)<1ms".into_deserializer();
        let e = Expression::deserialize(de).unwrap();
        assert_eq!(e.to_string(), "p(99) < 1ms");

        let de: StrDeserializer<'_, Error> = "p(99) < 1xs".into_deserializer();
        let err = Expression::deserialize(de).unwrap_err().to_string();
        assert!(err.contains("at column 10"), "{err}");
    }
}
