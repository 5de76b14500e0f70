//! Comparison of two reports (`rigor compare BASE.json NEW.json`): per
//! scenario and metric, the change of p50, p95, p99 and mean (histograms) or
//! of the value (gauges: throughput, memory, ratios), and whether it is a
//! regression beyond a tolerance.
//!
//! Direction: latencies, sizes and ratios (error rates) regress when they
//! grow; throughput regresses when it shrinks; counts and unitless values are
//! shown but never judged. A scenario that passed in BASE and does not pass
//! in NEW is a regression too.

use std::fmt::Write as _;

use super::model::{RunReport, ScenarioReport, Status};
use super::units;
use crate::metrics::Unit;

/// One compared statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub scenario: String,
    pub metric: String,
    /// `p50`, `p95`, `p99`, `mean` or `value`.
    pub stat: &'static str,
    pub unit: Unit,
    pub base: f64,
    pub new: f64,
    /// `(new - base) / base`; `None` when `base` is 0.
    pub relative: Option<f64>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the tolerance, or a statistic that is not judged.
    Same,
    Improved,
    Regressed,
}

/// Everything `compare` found.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub changes: Vec<Change>,
    /// Scenarios whose status got worse: (name, base status, new status).
    pub status_regressions: Vec<(String, Status, Status)>,
    /// `scenario:metric` present in BASE and missing from NEW, and scenarios missing.
    pub missing: Vec<String>,
}

impl Comparison {
    pub fn regressed(&self) -> bool {
        !self.status_regressions.is_empty()
            || self.changes.iter().any(|c| c.verdict == Verdict::Regressed)
    }
}

/// Which way is worse for a metric in `unit`: `Some(true)` when higher is worse.
fn higher_is_worse(unit: Unit) -> Option<bool> {
    match unit {
        Unit::Nanoseconds | Unit::Bytes | Unit::Ratio => Some(true),
        Unit::OpsPerSecond => Some(false),
        Unit::Count | Unit::None => None,
    }
}

fn judge(unit: Unit, relative: Option<f64>, tolerance: f64) -> Verdict {
    let (Some(worse_up), Some(r)) = (higher_is_worse(unit), relative) else {
        return Verdict::Same;
    };
    let r = if worse_up { r } else { -r };
    if r > tolerance {
        Verdict::Regressed
    } else if r < -tolerance {
        Verdict::Improved
    } else {
        Verdict::Same
    }
}

/// Compares `new` with `base`; `tolerance` is a fraction (0.1 = 10 %).
pub fn compare(base: &RunReport, new: &RunReport, tolerance: f64) -> Comparison {
    let mut out = Comparison::default();
    for b in &base.scenarios {
        let Some(n) = new.scenarios.iter().find(|s| s.name == b.name) else {
            out.missing.push(b.name.clone());
            continue;
        };
        if b.status == Status::Passed && n.status != Status::Passed && n.status != Status::Skipped {
            out.status_regressions
                .push((b.name.clone(), b.status, n.status));
        }
        compare_metrics(&mut out, b, n, tolerance);
    }
    out
}

fn compare_metrics(out: &mut Comparison, b: &ScenarioReport, n: &ScenarioReport, tolerance: f64) {
    for bm in &b.metrics {
        let Some(nm) = n.metric(&bm.name) else {
            out.missing.push(format!("{}:{}", b.name, bm.name));
            continue;
        };
        let mut pairs: Vec<(&'static str, f64, f64)> = Vec::new();
        match (&bm.summary, &nm.summary, bm.value, nm.value) {
            (Some(x), Some(y), _, _) => {
                pairs.push(("p50", x.p50 as f64, y.p50 as f64));
                pairs.push(("p95", x.p95 as f64, y.p95 as f64));
                pairs.push(("p99", x.p99 as f64, y.p99 as f64));
                pairs.push(("mean", x.mean, y.mean));
            }
            (None, None, Some(x), Some(y)) => pairs.push(("value", x, y)),
            _ => {}
        }
        for (stat, base, new) in pairs {
            let relative = if base != 0.0 && base.is_finite() && new.is_finite() {
                Some((new - base) / base)
            } else {
                None
            };
            out.changes.push(Change {
                scenario: b.name.clone(),
                metric: bm.name.clone(),
                stat,
                unit: bm.unit,
                base,
                new,
                relative,
                verdict: judge(bm.unit, relative, tolerance),
            });
        }
    }
}

/// The comparison as a table for a terminal, then a one-line verdict.
pub fn render(c: &Comparison, tolerance: f64) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "scenario".into(),
        "metric".into(),
        "base".into(),
        "new".into(),
        "change".into(),
        String::new(),
    ]];
    for ch in &c.changes {
        rows.push([
            ch.scenario.clone(),
            format!("{} {}", ch.metric, ch.stat),
            units::value(ch.unit, ch.base),
            units::value(ch.unit, ch.new),
            match ch.relative {
                Some(r) => format!("{:+.1}%", r * 100.0),
                None => "n/a".into(),
            },
            match ch.verdict {
                Verdict::Same => String::new(),
                Verdict::Improved => "improved".into(),
                Verdict::Regressed => "✗ REGRESSION".into(),
            },
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            // Text columns left-aligned, numbers right-aligned.
            if i < 2 || i == 5 {
                let _ = write!(line, "{cell}{pad}  ");
            } else {
                let _ = write!(line, "{pad}{cell}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for (name, b, n) in &c.status_regressions {
        let _ = writeln!(
            out,
            "✗ {name}: {} in BASE, {} in NEW",
            b.as_str(),
            n.as_str()
        );
    }
    for m in &c.missing {
        let _ = writeln!(out, "! {m}: in BASE, missing from NEW");
    }
    let regressions = c
        .changes
        .iter()
        .filter(|x| x.verdict == Verdict::Regressed)
        .count()
        + c.status_regressions.len();
    let _ = writeln!(
        out,
        "{}: {regressions} regression{} beyond {}% tolerance",
        if regressions == 0 { "OK" } else { "REGRESSED" },
        if regressions == 1 { "" } else { "s" },
        trim_pct(tolerance * 100.0)
    );
    out
}

/// The comparison as Markdown (for a pull request or a CI step summary):
/// the regressions and improvements first, then every compared statistic.
pub fn render_markdown(c: &Comparison, tolerance: f64) -> String {
    let regressions = c
        .changes
        .iter()
        .filter(|x| x.verdict == Verdict::Regressed)
        .count()
        + c.status_regressions.len();
    let mut out = String::from("# Rigor comparison\n\n");
    let _ = writeln!(
        out,
        "**{}: {regressions} regression{} beyond {}% tolerance**\n",
        if regressions == 0 { "OK" } else { "REGRESSED" },
        if regressions == 1 { "" } else { "s" },
        trim_pct(tolerance * 100.0)
    );
    for (name, b, n) in &c.status_regressions {
        let _ = writeln!(
            out,
            "- ❌ **{name}**: {} in the baseline, {} now",
            b.as_str(),
            n.as_str()
        );
    }
    for m in &c.missing {
        let _ = writeln!(out, "- ⚠️ `{m}`: in the baseline, missing now");
    }
    if !c.status_regressions.is_empty() || !c.missing.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "| scenario | metric | base | new | change | verdict |");
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | --- |");
    let mut rows: Vec<&Change> = c.changes.iter().collect();
    // Regressions first, then improvements, then the rest, each in run order.
    rows.sort_by_key(|x| match x.verdict {
        Verdict::Regressed => 0,
        Verdict::Improved => 1,
        Verdict::Same => 2,
    });
    for ch in rows {
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} | {} | {} |",
            ch.scenario.replace('|', "\\|"),
            ch.metric.replace('|', "\\|"),
            ch.stat,
            units::value(ch.unit, ch.base),
            units::value(ch.unit, ch.new),
            match ch.relative {
                Some(r) => format!("{:+.1}%", r * 100.0),
                None => "n/a".into(),
            },
            match ch.verdict {
                Verdict::Same => "",
                Verdict::Improved => "✅ improved",
                Verdict::Regressed => "❌ regression",
            }
        );
    }
    out
}

fn trim_pct(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Parses a tolerance: `10%`, `10` (percent) or `0.5%`.
pub fn parse_tolerance(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let number = t.strip_suffix('%').unwrap_or(t).trim();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v / 100.0),
        _ => Err(format!(
            "invalid --tolerance `{text}`: expected a percentage such as `10%`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_depends_on_the_unit() {
        assert_eq!(judge(Unit::Nanoseconds, Some(0.2), 0.1), Verdict::Regressed);
        assert_eq!(judge(Unit::Nanoseconds, Some(-0.2), 0.1), Verdict::Improved);
        assert_eq!(judge(Unit::Nanoseconds, Some(0.05), 0.1), Verdict::Same);
        assert_eq!(
            judge(Unit::OpsPerSecond, Some(-0.2), 0.1),
            Verdict::Regressed
        );
        assert_eq!(judge(Unit::OpsPerSecond, Some(0.2), 0.1), Verdict::Improved);
        assert_eq!(judge(Unit::Count, Some(5.0), 0.1), Verdict::Same);
        assert_eq!(judge(Unit::Bytes, None, 0.1), Verdict::Same);
    }

    #[test]
    fn tolerances() {
        assert_eq!(parse_tolerance("10%"), Ok(0.1));
        assert_eq!(parse_tolerance("2.5"), Ok(0.025));
        assert!(parse_tolerance("-1%").is_err());
        assert!(parse_tolerance("ten").is_err());
    }
}
