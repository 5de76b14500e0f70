//! Metric and label names on the wire, per Prometheus conventions: a
//! `rigor_` prefix, snake case, the base unit as a suffix (`_seconds`,
//! `_bytes`, `_ratio`), `_total` on counters. The table in
//! `docs/monitoring.md` is this module in prose.

use crate::metrics::Unit;

/// Every series name starts with this.
pub const PREFIX: &str = "rigor_";

/// What kind of series a name is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Histogram,
    Counter,
    Gauge,
}

/// Labels Rigor sets itself; `--tag` may not use them.
pub const RESERVED_LABELS: &[&str] = &[
    "scenario",
    "run_id",
    "shard",
    "executor",
    "metric",
    "expression",
    "phase",
    "le",
    "job",
    "instance",
];

/// `rigor.metric-name` → `rigor_metric_name`: every character outside
/// `[a-z0-9_]` becomes `_` (letters are lower-cased), runs of `_` collapse,
/// and a leading digit gets a `_` before it.
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('_');
    match trimmed.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("_{trimmed}"),
        Some(_) => trimmed.to_owned(),
        None => "unnamed".to_owned(),
    }
}

/// The unit suffix of a metric in `unit` (after conversion to the base
/// unit: nanoseconds are sent as seconds).
pub fn unit_suffix(unit: Unit) -> &'static str {
    match unit {
        Unit::Nanoseconds => "seconds",
        Unit::Bytes => "bytes",
        Unit::Ratio => "ratio",
        Unit::OpsPerSecond => "per_second",
        Unit::Count | Unit::None => "",
    }
}

/// The factor from a metric's stored unit to the unit it is sent in.
pub fn to_base(unit: Unit) -> f64 {
    match unit {
        Unit::Nanoseconds => 1e-9,
        _ => 1.0,
    }
}

/// The Prometheus name of the Rigor metric `name` of `unit` and `kind`:
/// `get.100B` histogram in ns → `rigor_get_100b_seconds`, `errors` counter
/// → `rigor_errors_total`. A suffix already at the end is not repeated.
pub fn prometheus_name(name: &str, unit: Unit, kind: Kind) -> String {
    let mut base = snake(name);
    let suffix = match kind {
        Kind::Counter => "total",
        Kind::Histogram | Kind::Gauge => unit_suffix(unit),
    };
    if !suffix.is_empty() {
        let tail = format!("_{suffix}");
        if base.ends_with(&tail) {
            base.truncate(base.len() - tail.len());
        }
        base.push_str(&tail);
    }
    if base.starts_with('_') {
        format!("rigor{base}")
    } else {
        format!("{PREFIX}{base}")
    }
}

/// The OTLP name of a Rigor metric (`rigor.` + its own name; OpenTelemetry
/// keeps the unit in a field, not the name).
pub fn otlp_name(name: &str) -> String {
    format!("rigor.{name}")
}

/// The UCUM unit OTLP carries for a metric in `unit`.
pub fn otlp_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Nanoseconds => "s",
        Unit::Bytes => "By",
        Unit::OpsPerSecond => "{operation}/s",
        Unit::Ratio | Unit::Count | Unit::None => "1",
    }
}

/// Whether `name` is a valid Prometheus label name that `--tag` may use.
pub fn valid_tag_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && !RESERVED_LABELS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        use Kind::*;
        let cases = [
            (
                "get.100B",
                Unit::Nanoseconds,
                Histogram,
                "rigor_get_100b_seconds",
            ),
            (
                "http.total",
                Unit::Nanoseconds,
                Histogram,
                "rigor_http_total_seconds",
            ),
            ("errors", Unit::Count, Counter, "rigor_errors_total"),
            ("errors_total", Unit::Count, Counter, "rigor_errors_total"),
            ("rss", Unit::Bytes, Gauge, "rigor_rss_bytes"),
            ("hit-ratio", Unit::Ratio, Gauge, "rigor_hit_ratio"),
            (
                "run-load.throughput",
                Unit::OpsPerSecond,
                Gauge,
                "rigor_run_load_throughput_per_second",
            ),
            ("9lives", Unit::None, Gauge, "rigor_9lives"),
            ("...", Unit::None, Gauge, "rigor_unnamed"),
            ("mix.p_value", Unit::None, Gauge, "rigor_mix_p_value"),
        ];
        for (name, unit, kind, want) in cases {
            assert_eq!(prometheus_name(name, unit, kind), want, "{name}");
        }
    }

    #[test]
    fn tag_names_are_label_names_rigor_does_not_set() {
        assert!(valid_tag_name("team"));
        assert!(valid_tag_name("_x9"));
        for bad in ["", "9x", "a-b", "__name__", "scenario", "run_id", "le", "é"] {
            assert!(!valid_tag_name(bad), "{bad}");
        }
    }
}
