//! Formatting of raw metric values for people: `612 µs`, `1.2 KB`,
//! `4,812 ops/s`, `12.3 MB/s`, `2.46 B/op`, and p-values as plain numbers.

use super::model::{MetricReport, ScenarioReport, ThresholdResult};
use crate::metrics::Unit;

/// What a metric's values measure, which decides how they are printed: the
/// stored unit, made precise where it alone would mislead a reader. A rate
/// of bytes is stored as `bytes` and a p-value as a `ratio`; printed as the
/// stored unit they would read `12.3 MB` (a size) and `0.3%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// As the stored unit says: `612 µs`, `1.2 KB`, `4,812 ops/s`, `2.5%`.
    Plain(Unit),
    /// Bytes per second, e.g. the fs probe's `read-bytes-per-s`: `12.3 MB/s`.
    BytesPerSecond,
    /// Bytes per operation, e.g. a leak watcher's `slope-bytes-per-op`: `2.46 B/op`.
    BytesPerOp,
    /// A p-value (a metric with a `significance_level`): `0.003`, `1.2e-5`.
    PValue,
}

impl Quantity {
    /// The quantity of a metric named `name`, stored in `unit`.
    ///
    /// A metric with a significance level is a p-value. A `bytes` metric is
    /// a rate when the last part of its name says so, as the host's probes
    /// name theirs (the report's unit has no rate of bytes): `…-per-s` or
    /// `…-per-second` is per second, `…-per-op` per operation, also with a
    /// suffix after it (`slope-bytes-per-op-ci-low`).
    pub fn of(name: &str, unit: Unit, significance_level: Option<f64>) -> Self {
        if significance_level.is_some() {
            return Quantity::PValue;
        }
        if unit != Unit::Bytes {
            return Quantity::Plain(unit);
        }
        let last = name.rsplit('.').next().unwrap_or(name);
        let words: Vec<&str> = last.split('-').collect();
        for pair in words.windows(2) {
            match pair {
                ["per", "s" | "sec" | "second"] => return Quantity::BytesPerSecond,
                ["per", "op"] => return Quantity::BytesPerOp,
                _ => {}
            }
        }
        Quantity::Plain(unit)
    }

    pub fn of_metric(m: &MetricReport) -> Self {
        Self::of(&m.name, m.unit, m.significance_level)
    }

    /// The quantity of a threshold's observed value: its metric's when the
    /// threshold judges the metric's own values, else the threshold's unit
    /// (a `count` or `rate/s` of a latency is not a latency).
    pub fn of_threshold(t: &ThresholdResult, scenario: &ScenarioReport) -> Self {
        let unit = t.unit.unwrap_or(Unit::None);
        match scenario.metric(&t.metric) {
            Some(m) if m.unit == unit => Self::of_metric(m),
            _ => Quantity::Plain(unit),
        }
    }

    /// Formats a raw value of this quantity.
    pub fn format(self, raw: f64) -> String {
        match self {
            Quantity::Plain(unit) => value(unit, raw),
            Quantity::BytesPerSecond => per(bytes(raw), "s"),
            Quantity::BytesPerOp => per(bytes(raw), "op"),
            Quantity::PValue => p_value(raw),
        }
    }
}

/// `text/denominator`, except for the placeholder of a value that is not a number.
fn per(text: String, denominator: &str) -> String {
    if text == "-" {
        text
    } else {
        format!("{text}/{denominator}")
    }
}

/// A p-value as a plain number with three significant digits: `0.0491`,
/// `0.003`, and in scientific notation below 0.001: `1.2e-5`.
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        return "-".into();
    }
    if p == 0.0 {
        return "0".into();
    }
    if p.abs() >= 0.001 {
        let decimals = (2 - p.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{p:.decimals$}");
        return if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        };
    }
    let s = format!("{p:.1e}");
    match s.split_once('e') {
        Some((mantissa, exponent)) => {
            format!("{}e{exponent}", mantissa.trim_end_matches(".0"))
        }
        None => s,
    }
}

/// Formats a duration given in nanoseconds with three significant digits.
/// A negative value (a difference) is scaled by its magnitude.
pub fn duration_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "-".into();
    }
    if ns < 0.0 {
        return format!("-{}", duration_ns(-ns));
    }
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", sig3(value))
}

/// Formats a size in bytes (decimal units, as the threshold grammar's KB/MB).
/// A negative value (a shrink, a difference) is scaled by its magnitude.
pub fn bytes(b: f64) -> String {
    if !b.is_finite() {
        return "-".into();
    }
    if b < 0.0 {
        return format!("-{}", bytes(-b));
    }
    let (value, unit) = if b < 1e3 {
        (b, "B")
    } else if b < 1e6 {
        (b / 1e3, "KB")
    } else if b < 1e9 {
        (b / 1e6, "MB")
    } else {
        (b / 1e9, "GB")
    };
    format!("{} {unit}", sig3(value))
}

/// Three significant digits without trailing zeros: 612, 61.2, 6.12, 0.612.
pub fn sig3(v: f64) -> String {
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Formats a raw value of a metric in `unit`.
pub fn value(unit: Unit, raw: f64) -> String {
    match unit {
        Unit::Nanoseconds => duration_ns(raw),
        Unit::Bytes => bytes(raw),
        Unit::Count => thousands(raw),
        Unit::OpsPerSecond => format!("{} ops/s", thousands(raw)),
        Unit::Ratio => format!("{}%", sig3(raw * 100.0)),
        Unit::None => sig3(raw),
    }
}

/// Whole number with thousands separators (`12,345`); fractions below 100 keep 3 digits.
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.abs() < 100.0 && v.fract() != 0.0 {
        return sig3(v);
    }
    let n = v.round() as i128;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration_ns(512.0), "512 ns");
        assert_eq!(duration_ns(612_345.0), "612 µs");
        assert_eq!(duration_ns(1_500_000.0), "1.5 ms");
        assert_eq!(duration_ns(2e9), "2 s");
    }

    #[test]
    fn other_units() {
        assert_eq!(bytes(100.0), "100 B");
        assert_eq!(bytes(10_240.0), "10.2 KB");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(value(Unit::OpsPerSecond, 4812.4), "4,812 ops/s");
        assert_eq!(value(Unit::Ratio, 0.0125), "1.25%");
        // Differences and shrinking sizes keep their scale.
        assert_eq!(bytes(-10_400.0), "-10.4 KB");
        assert_eq!(bytes(-2.46), "-2.46 B");
        assert_eq!(duration_ns(-1_500_000.0), "-1.5 ms");
        assert_eq!(sig3(-123.4), "-123");
    }

    #[test]
    fn p_values_are_plain_numbers() {
        assert_eq!(p_value(0.003), "0.003");
        assert_eq!(p_value(0.0491234), "0.0491");
        assert_eq!(p_value(0.05), "0.05");
        assert_eq!(p_value(0.5), "0.5");
        assert_eq!(p_value(1.0), "1");
        assert_eq!(p_value(0.0), "0");
        assert_eq!(p_value(1.2e-5), "1.2e-5");
        assert_eq!(p_value(1e-5), "1e-5");
        assert_eq!(p_value(f64::NAN), "-");
        assert_eq!(
            Quantity::of("rss.mann-kendall-p", Unit::Ratio, Some(0.05)).format(0.003),
            "0.003"
        );
    }

    #[test]
    fn rates_of_bytes_carry_their_rate_unit() {
        let q = |name| Quantity::of(name, Unit::Bytes, None);
        assert_eq!(q("io.read-bytes-per-s"), Quantity::BytesPerSecond);
        assert_eq!(q("io.write-bytes-per-s").format(12_345_678.0), "12.3 MB/s");
        assert_eq!(q("rss.slope-bytes-per-s"), Quantity::BytesPerSecond);
        assert_eq!(q("rss.slope-bytes-per-op").format(2.46), "2.46 B/op");
        assert_eq!(
            q("rss.slope-bytes-per-op-ci-low").format(-10_400.0),
            "-10.4 KB/op"
        );
        assert_eq!(q("copy.bytes-per-second").format(500.0), "500 B/s");
        // Not rates: a size, a word that only contains `per`, another unit.
        assert_eq!(q("rss.growth-bytes").format(10_400.0), "10.4 KB");
        assert_eq!(q("per-s.paper-size"), Quantity::Plain(Unit::Bytes));
        assert_eq!(q("superb-sop"), Quantity::Plain(Unit::Bytes));
        assert_eq!(
            Quantity::of("x.per-s", Unit::Count, None),
            Quantity::Plain(Unit::Count)
        );
        assert_eq!(Quantity::BytesPerSecond.format(f64::NAN), "-");
    }
}
