//! Formatting of raw metric values for people: `612 µs`, `1.2 KB`, `4,812 ops/s`.

use crate::metrics::Unit;

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
}
