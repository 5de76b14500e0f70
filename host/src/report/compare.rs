//! Comparison of two reports (`rigor compare BASE.json NEW.json`): per
//! scenario and metric, the change of p50, p95, p99 and mean (histograms) or
//! of the value (gauges, counters), judged by what the metric means; the
//! scenarios, checks and thresholds whose verdict changed; and what is new
//! or gone.
//!
//! How a metric is judged follows its `direction` and unit (the rules are
//! written out in docs/reports.md, "Comparing with a baseline"):
//!
//! - `informational`: shown, never judged;
//! - a p-value (it carries a `significance_level`): a fall below the level
//!   is a regression, a rise to it or above an improvement, any other move
//!   nothing, since the size of a p-value's change means nothing;
//! - error rates and failure counts (a `ratio` or `count` that is
//!   lower-is-better): the absolute rise, against the error tolerance for a
//!   ratio (`--error-tolerance`, percentage points) and zero for a count, so
//!   0 % → 5 % is a regression;
//! - everything else: the relative change `(new − base) / |base|` against
//!   the tolerance. When that is undefined (BASE is zero, or the sign
//!   changed), the change is reported as an absolute difference and counts
//!   as a full 100 % in its direction.
//!
//! A scenario, check or threshold that fails in NEW and did not fail in BASE
//! (it passed, was skipped, or did not exist) is a regression.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::model::{MetricReport, RunReport, ScenarioReport, Status};
use super::units;
use crate::metrics::{Direction, Unit};

/// How far a metric may move in its bad direction before it is a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Relative change, as a fraction (0.1 = 10 %).
    pub relative: f64,
    /// Absolute rise of an error rate, as a ratio (0.001 = 0.1 percentage
    /// point).
    pub error: f64,
}

impl Default for Tolerances {
    /// The command line's defaults: 10 % and 0.1 percentage point.
    fn default() -> Self {
        Self {
            relative: 0.10,
            error: 0.001,
        }
    }
}

/// How one statistic was judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// An informational metric: shown only.
    NotJudged,
    /// Relative change against [`Tolerances::relative`].
    Relative,
    /// Absolute change against this tolerance (error rates, failure counts).
    Absolute { tolerance: f64 },
    /// A p-value: judged by crossing this significance level.
    Significance { level: f64 },
}

/// One compared statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub scenario: String,
    pub metric: String,
    /// `p50`, `p95`, `p99`, `mean` or `value`.
    pub stat: &'static str,
    pub unit: Unit,
    pub direction: Direction,
    pub rule: Rule,
    pub base: f64,
    pub new: f64,
    /// `(new - base) / |base|`; `None` when that is undefined: `base` is 0,
    /// the sign changed, or a value is not finite.
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

/// What a listed item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemKind {
    Scenario,
    Metric,
    Check,
    Threshold,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Scenario => "scenario",
            ItemKind::Metric => "metric",
            ItemKind::Check => "check",
            ItemKind::Threshold => "threshold",
        }
    }
}

/// An item present in only one of the two reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub kind: ItemKind,
    pub scenario: String,
    /// The metric, check or threshold; `None` for a scenario.
    pub name: Option<String>,
}

impl Listed {
    /// `scenario`, `scenario:metric`, or a check's or threshold's name.
    pub fn label(&self) -> String {
        match (&self.name, self.kind) {
            (None, _) => self.scenario.clone(),
            (Some(n), ItemKind::Metric) => format!("{}:{n}", self.scenario),
            (Some(n), _) => n.clone(),
        }
    }
}

/// A scenario whose status differs, or a new scenario that does not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub scenario: String,
    /// `None`: the scenario is not in BASE.
    pub base: Option<Status>,
    pub new: Status,
    pub regressed: bool,
}

/// How often a check (or threshold) of one name passed and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
}

/// A check or threshold whose verdict changed between the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictChange {
    pub scenario: String,
    pub kind: ItemKind,
    pub name: String,
    /// `None`: not in BASE.
    pub base: Option<Tally>,
    pub new: Tally,
    /// Fails now and did not fail in BASE; otherwise it was fixed.
    pub regressed: bool,
}

/// Everything `compare` found.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// What the changes were judged against.
    pub tolerances: Tolerances,
    pub changes: Vec<Change>,
    pub status_changes: Vec<StatusChange>,
    pub verdict_changes: Vec<VerdictChange>,
    /// In NEW only.
    pub added: Vec<Listed>,
    /// In BASE only.
    pub vanished: Vec<Listed>,
    /// Metrics present in both that cannot be compared (unit or kind changed).
    pub not_compared: Vec<String>,
}

impl Comparison {
    /// How many regressions of every sort.
    pub fn regressions(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.verdict == Verdict::Regressed)
            .count()
            + self.status_changes.iter().filter(|s| s.regressed).count()
            + self.verdict_changes.iter().filter(|v| v.regressed).count()
    }

    pub fn regressed(&self) -> bool {
        self.regressions() > 0
    }
}

/// The rule a statistic of a metric is judged by (see the module comment).
pub fn rule_for(
    unit: Unit,
    direction: Direction,
    significance_level: Option<f64>,
    tolerances: &Tolerances,
) -> Rule {
    if let Some(level) = significance_level.filter(|l| l.is_finite()) {
        return Rule::Significance { level };
    }
    match (direction, unit) {
        (Direction::Informational, _) => Rule::NotJudged,
        (Direction::LowerIsBetter, Unit::Ratio) => Rule::Absolute {
            tolerance: tolerances.error,
        },
        // Failures come in whole numbers: one more is one more.
        (Direction::LowerIsBetter, Unit::Count) => Rule::Absolute { tolerance: 0.0 },
        _ => Rule::Relative,
    }
}

/// `(new - base) / |base|`, when it means something.
pub fn relative_change(base: f64, new: f64) -> Option<f64> {
    let defined = base != 0.0 && base.is_finite() && new.is_finite() && base * new >= 0.0;
    defined.then(|| (new - base) / base.abs())
}

/// Judges one statistic.
pub fn judge(
    rule: Rule,
    direction: Direction,
    base: f64,
    new: f64,
    tolerances: &Tolerances,
) -> Verdict {
    if !(base.is_finite() && new.is_finite()) {
        return Verdict::Same;
    }
    // `worse` > 0 is a move in the bad direction, in the rule's measure.
    let sign = match direction {
        Direction::LowerIsBetter => 1.0,
        Direction::HigherIsBetter => -1.0,
        Direction::Informational => 0.0,
    };
    let (worse, tolerance) = match rule {
        Rule::NotJudged => return Verdict::Same,
        Rule::Significance { level } => {
            return if base >= level && new < level {
                Verdict::Regressed
            } else if base < level && new >= level {
                Verdict::Improved
            } else {
                Verdict::Same
            };
        }
        Rule::Absolute { tolerance } => (sign * (new - base), tolerance),
        Rule::Relative => {
            let r = match relative_change(base, new) {
                Some(r) => r,
                // From zero or across it: the change is at least as large
                // as either value, a full 100 % in its direction.
                None if new == base => 0.0,
                None => (new - base).signum(),
            };
            (sign * r, tolerances.relative)
        }
    };
    if worse > tolerance {
        Verdict::Regressed
    } else if worse < -tolerance {
        Verdict::Improved
    } else {
        Verdict::Same
    }
}

fn failing(status: Status) -> bool {
    matches!(status, Status::Failed | Status::Errored)
}

/// Compares `new` with `base`.
pub fn compare(base: &RunReport, new: &RunReport, tolerances: Tolerances) -> Comparison {
    let mut out = Comparison {
        tolerances,
        ..Comparison::default()
    };
    for b in &base.scenarios {
        let Some(n) = new.scenarios.iter().find(|s| s.name == b.name) else {
            out.vanished.push(Listed {
                kind: ItemKind::Scenario,
                scenario: b.name.clone(),
                name: None,
            });
            continue;
        };
        if b.status != n.status {
            // Errored is worse than failed: the scenario did not get to the
            // end, so its checks vouch for nothing.
            let regressed = failing(n.status)
                && (!failing(b.status)
                    || (b.status, n.status) == (Status::Failed, Status::Errored));
            out.status_changes.push(StatusChange {
                scenario: b.name.clone(),
                base: Some(b.status),
                new: n.status,
                regressed,
            });
        }
        // A skipped scenario recorded nothing: its items did not vanish.
        if b.status == Status::Skipped || n.status == Status::Skipped {
            continue;
        }
        compare_metrics(&mut out, b, n, &tolerances);
        compare_verdicts(&mut out, b, n);
    }
    for n in &new.scenarios {
        if base.scenarios.iter().any(|s| s.name == n.name) {
            continue;
        }
        out.added.push(Listed {
            kind: ItemKind::Scenario,
            scenario: n.name.clone(),
            name: None,
        });
        if failing(n.status) {
            out.status_changes.push(StatusChange {
                scenario: n.name.clone(),
                base: None,
                new: n.status,
                regressed: true,
            });
        }
    }
    out
}

fn stats(m: &MetricReport) -> Vec<(&'static str, f64)> {
    match (&m.summary, m.value) {
        (Some(s), _) => vec![
            ("p50", s.p50 as f64),
            ("p95", s.p95 as f64),
            ("p99", s.p99 as f64),
            ("mean", s.mean),
        ],
        (None, Some(v)) => vec![("value", v)],
        (None, None) => Vec::new(),
    }
}

fn compare_metrics(out: &mut Comparison, b: &ScenarioReport, n: &ScenarioReport, tol: &Tolerances) {
    let listed = |name: &str| Listed {
        kind: ItemKind::Metric,
        scenario: b.name.clone(),
        name: Some(name.to_owned()),
    };
    for bm in &b.metrics {
        let Some(nm) = n.metric(&bm.name) else {
            out.vanished.push(listed(&bm.name));
            continue;
        };
        if bm.unit != nm.unit || bm.kind != nm.kind {
            out.not_compared.push(format!(
                "{}:{}: was a {} in {}, is a {} in {}",
                b.name,
                bm.name,
                bm.kind,
                bm.unit.as_str(),
                nm.kind,
                nm.unit.as_str()
            ));
            continue;
        }
        // NEW's declaration wins: it is what the host knows today, and BASE
        // may predate directions.
        let direction = nm
            .direction
            .or(bm.direction)
            .unwrap_or_else(|| nm.direction());
        let level = nm.significance_level.or(bm.significance_level);
        let rule = rule_for(nm.unit, direction, level, tol);
        let new_stats = stats(nm);
        for (stat, base) in stats(bm) {
            let Some(&(_, new)) = new_stats.iter().find(|(s, _)| *s == stat) else {
                continue;
            };
            out.changes.push(Change {
                scenario: b.name.clone(),
                metric: bm.name.clone(),
                stat,
                unit: bm.unit,
                direction,
                rule,
                base,
                new,
                relative: relative_change(base, new),
                verdict: judge(rule, direction, base, new, tol),
            });
        }
    }
    for nm in &n.metrics {
        if b.metric(&nm.name).is_none() {
            out.added.push(listed(&nm.name));
        }
    }
}

/// Checks and thresholds of a scenario by kind and name, in first-seen order.
fn tallies(s: &ScenarioReport) -> Vec<((ItemKind, String), Tally)> {
    let mut order: Vec<(ItemKind, String)> = Vec::new();
    let mut by_key: BTreeMap<(ItemKind, String), Tally> = BTreeMap::new();
    let items = s
        .checks
        .iter()
        .map(|c| ((ItemKind::Check, c.name.clone()), c.passed))
        .chain(s.thresholds.iter().map(|t| {
            let name = format!("{}: {} [{}]", t.metric, t.expression, t.source.as_str());
            ((ItemKind::Threshold, name), t.passed)
        }));
    for (key, passed) in items {
        let tally = by_key.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Tally::default()
        });
        if passed {
            tally.passed += 1;
        } else {
            tally.failed += 1;
        }
    }
    order
        .into_iter()
        .map(|k| {
            let t = by_key[&k];
            (k, t)
        })
        .collect()
}

fn compare_verdicts(out: &mut Comparison, b: &ScenarioReport, n: &ScenarioReport) {
    let base = tallies(b);
    let new = tallies(n);
    let base_tallies: BTreeMap<&(ItemKind, String), Tally> =
        base.iter().map(|(k, t)| (k, *t)).collect();
    let new_keys: BTreeSet<&(ItemKind, String)> = new.iter().map(|(k, _)| k).collect();
    for (key, nt) in &new {
        let (kind, name) = key;
        let bt = base_tallies.get(key).copied();
        if bt.is_none() {
            out.added.push(Listed {
                kind: *kind,
                scenario: n.name.clone(),
                name: Some(name.clone()),
            });
        }
        let failed_before = bt.is_some_and(|t| t.failed > 0);
        let fails_now = nt.failed > 0;
        if fails_now != failed_before && (fails_now || bt.is_some()) {
            out.verdict_changes.push(VerdictChange {
                scenario: n.name.clone(),
                kind: *kind,
                name: name.clone(),
                base: bt,
                new: *nt,
                regressed: fails_now,
            });
        }
    }
    for (key, _) in base.iter().filter(|(k, _)| !new_keys.contains(k)) {
        out.vanished.push(Listed {
            kind: key.0,
            scenario: b.name.clone(),
            name: Some(key.1.clone()),
        });
    }
}

// ---------------------------------------------------------------- rendering

/// A p-value as a number: `0.049`, `3.2e-5`.
fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "-".into()
    } else if p == 0.0 || p.abs() >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

fn shown(ch: &Change, v: f64) -> String {
    match ch.rule {
        Rule::Significance { .. } => p_value(v),
        _ => units::value(ch.unit, v),
    }
}

/// The change column: relative where it is defined and judged so, else the
/// absolute difference (`+5 pp` for a ratio, `+10.4 KB`).
fn change_text(ch: &Change) -> String {
    if let (Rule::Relative | Rule::NotJudged, Some(r)) = (ch.rule, ch.relative) {
        return format!("{:+.1}%", r * 100.0);
    }
    let d = ch.new - ch.base;
    if !d.is_finite() {
        return "n/a".into();
    }
    let sign = if d < 0.0 { "-" } else { "+" };
    let magnitude = match ch.rule {
        Rule::Significance { .. } => p_value(d.abs()),
        _ if ch.unit == Unit::Ratio => format!("{} pp", units::sig3(d.abs() * 100.0)),
        _ => units::value(ch.unit, d.abs()),
    };
    format!("{sign}{magnitude}")
}

fn verdict_text(ch: &Change, markdown: bool) -> String {
    let why = match (ch.rule, ch.verdict) {
        (Rule::Significance { level }, Verdict::Regressed) => {
            format!(" (p fell below {})", p_value(level))
        }
        (Rule::Significance { level }, Verdict::Improved) => {
            format!(" (p rose to {} or above)", p_value(level))
        }
        _ => String::new(),
    };
    match (ch.verdict, ch.rule, markdown) {
        (_, Rule::NotJudged, _) => "not judged".into(),
        (Verdict::Same, _, _) => String::new(),
        (Verdict::Improved, _, false) => format!("improved{why}"),
        (Verdict::Improved, _, true) => format!("✅ improved{why}"),
        (Verdict::Regressed, _, false) => format!("✗ REGRESSION{why}"),
        (Verdict::Regressed, _, true) => format!("❌ regression{why}"),
    }
}

fn tally_text(t: &Tally) -> String {
    match (t.passed, t.failed) {
        (_, 0) => "passed".into(),
        (0, 1) => "failed".into(),
        (p, f) => format!("failed {f} of {}", p + f),
    }
}

/// One line per scenario status change, verdict change, new and vanished
/// item and metric not compared, each starting with its mark.
fn item_lines(c: &Comparison, markdown: bool) -> Vec<String> {
    let code = |s: &str| {
        if markdown {
            format!("`{}`", s.replace('`', "'"))
        } else {
            s.to_owned()
        }
    };
    let mut lines = Vec::new();
    for s in &c.status_changes {
        let mark = if s.regressed {
            if markdown { "❌" } else { "✗" }
        } else if failing(s.new) || s.new == Status::Skipped {
            if markdown { "⚠️" } else { "!" }
        } else if markdown {
            "✅"
        } else {
            "✓"
        };
        let base = s.base.map_or("not there", Status::as_str);
        lines.push(format!(
            "{mark} scenario {}: {base} in BASE, {} in NEW",
            code(&s.scenario),
            s.new.as_str()
        ));
    }
    for v in &c.verdict_changes {
        let mark = match (v.regressed, markdown) {
            (true, false) => "✗",
            (true, true) => "❌",
            (false, false) => "✓",
            (false, true) => "✅",
        };
        let base = v.base.as_ref().map_or("not there".into(), tally_text);
        lines.push(format!(
            "{mark} {} {} of {}: {base} in BASE, {} in NEW",
            v.kind.as_str(),
            code(&v.name),
            code(&v.scenario),
            tally_text(&v.new)
        ));
    }
    let (added, vanished, warning) = if markdown {
        ("➕", "➖", "⚠️")
    } else {
        ("+", "-", "!")
    };
    // `check NAME of SCENARIO`, `metric SCENARIO:NAME`, `scenario NAME`.
    let describe = |item: &Listed| match item.kind {
        ItemKind::Check | ItemKind::Threshold => format!(
            "{} {} of {}",
            item.kind.as_str(),
            code(&item.label()),
            code(&item.scenario)
        ),
        _ => format!("{} {}", item.kind.as_str(), code(&item.label())),
    };
    for item in &c.added {
        lines.push(format!("{added} new {}", describe(item)));
    }
    for item in &c.vanished {
        lines.push(format!(
            "{vanished} vanished {} (in BASE, not in NEW)",
            describe(item)
        ));
    }
    for note in &c.not_compared {
        lines.push(format!("{warning} not compared: {note}"));
    }
    lines
}

fn verdict_line(c: &Comparison) -> String {
    let regressions = c.regressions();
    let t = c.tolerances;
    format!(
        "{}: {regressions} regression{} beyond {}% tolerance ({}% on error rates)",
        if regressions == 0 { "OK" } else { "REGRESSED" },
        if regressions == 1 { "" } else { "s" },
        trim_pct(t.relative * 100.0),
        trim_pct(t.error * 100.0),
    )
}

/// The comparison as a table for a terminal, the changed and listed items,
/// then a one-line verdict.
pub fn render(c: &Comparison) -> String {
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
            shown(ch, ch.base),
            shown(ch, ch.new),
            change_text(ch),
            verdict_text(ch, false),
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
    for line in item_lines(c, false) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", verdict_line(c));
    out
}

/// The comparison as Markdown (for a pull request or a CI step summary):
/// the verdict, the changed and listed items, then every compared
/// statistic, regressions and improvements first.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::from("# Rigor comparison\n\n");
    let _ = writeln!(out, "**{}**\n", verdict_line(c));
    let lines = item_lines(c, true);
    for line in &lines {
        let _ = writeln!(out, "- {line}");
    }
    if !lines.is_empty() {
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
            shown(ch, ch.base),
            shown(ch, ch.new),
            change_text(ch),
            verdict_text(ch, true),
        );
    }
    out
}

fn trim_pct(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Parses the percentage given to `flag`: `10%`, `10` (percent) or `0.5%`.
pub fn parse_percentage(flag: &str, text: &str) -> Result<f64, String> {
    let t = text.trim();
    let number = t.strip_suffix('%').unwrap_or(t).trim();
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v / 100.0),
        _ => Err(format!(
            "invalid {flag} `{text}`: expected a percentage such as `10%`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metrics::Summary;
    use crate::report::model::{
        CheckResult, HostInfo, RunSummary, SCHEMA, ThresholdResult, ThresholdSource,
    };

    const TOL: Tolerances = Tolerances {
        relative: 0.10,
        error: 0.001,
    };

    fn gauge(name: &str, unit: Unit, value: f64) -> MetricReport {
        MetricReport {
            name: name.into(),
            kind: "gauge".into(),
            unit,
            direction: Some(Direction::default_for(unit)),
            significance_level: None,
            summary: None,
            value: Some(value),
            histogram: None,
            series: Vec::new(),
        }
    }

    fn latency(p50: u64) -> MetricReport {
        MetricReport {
            name: "get".into(),
            kind: "histogram".into(),
            unit: Unit::Nanoseconds,
            direction: Some(Direction::LowerIsBetter),
            significance_level: None,
            summary: Some(Summary {
                count: 100,
                min: p50 / 2,
                max: p50 * 3,
                mean: p50 as f64,
                stdev: 1.0,
                p50,
                p90: p50 * 2,
                p95: p50 * 2,
                p99: p50 * 2,
                p999: p50 * 3,
            }),
            value: None,
            histogram: None,
            series: Vec::new(),
        }
    }

    fn check(name: &str, passed: bool) -> CheckResult {
        CheckResult {
            name: name.into(),
            passed,
            detail: String::new(),
            passes: u64::from(passed),
            fails: u64::from(!passed),
            failure_details: Vec::new(),
        }
    }

    fn scenario(name: &str, status: Status, metrics: Vec<MetricReport>) -> ScenarioReport {
        let mut s = ScenarioReport::skipped(name, "s.wasm", BTreeMap::new(), String::new());
        s.status = status;
        s.skip_reason = None;
        s.metrics = metrics;
        s
    }

    fn run(scenarios: Vec<ScenarioReport>) -> RunReport {
        RunReport {
            schema: SCHEMA.into(),
            rigor_version: "test".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 1.0,
            host: HostInfo {
                hostname: "h".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                cpus: 1,
                memory_bytes: 0,
            },
            partial: false,
            summary: RunSummary::from_scenarios(&scenarios),
            run_id: None,
            outputs: Vec::new(),
            scenarios,
            run: None,
            merge: None,
        }
    }

    fn one(metric: MetricReport) -> RunReport {
        run(vec![scenario("s", Status::Passed, vec![metric])])
    }

    fn only_change(base: MetricReport, new: MetricReport) -> Change {
        let c = compare(&one(base), &one(new), TOL);
        assert_eq!(c.changes.len(), 1, "{:?}", c.changes);
        c.changes[0].clone()
    }

    #[test]
    fn an_error_rate_rising_from_zero_is_a_regression() {
        let ch = only_change(
            gauge("load.error-rate", Unit::Ratio, 0.0),
            gauge("load.error-rate", Unit::Ratio, 0.05),
        );
        assert_eq!(ch.rule, Rule::Absolute { tolerance: 0.001 });
        assert_eq!(ch.verdict, Verdict::Regressed);
        assert_eq!(change_text(&ch), "+5 pp");
        // Within the error tolerance: noise, not a regression.
        let small = only_change(
            gauge("load.error-rate", Unit::Ratio, 0.0),
            gauge("load.error-rate", Unit::Ratio, 0.0005),
        );
        assert_eq!(small.verdict, Verdict::Same);
        let better = only_change(
            gauge("load.error-rate", Unit::Ratio, 0.05),
            gauge("load.error-rate", Unit::Ratio, 0.0),
        );
        assert_eq!(better.verdict, Verdict::Improved);
    }

    #[test]
    fn a_failure_count_regresses_on_any_increase() {
        let errors = |v: f64| {
            let mut m = gauge("io.errors", Unit::Count, v);
            m.kind = "counter".into();
            m.direction = Some(Direction::LowerIsBetter);
            m
        };
        assert_eq!(
            only_change(errors(0.0), errors(1.0)).verdict,
            Verdict::Regressed
        );
        assert_eq!(only_change(errors(7.0), errors(7.0)).verdict, Verdict::Same);
        // A count nobody declared is shown, not judged.
        let sent = only_change(
            gauge("sent", Unit::Count, 10.0),
            gauge("sent", Unit::Count, 1000.0),
        );
        assert_eq!((sent.rule, sent.verdict), (Rule::NotJudged, Verdict::Same));
    }

    #[test]
    fn a_p_value_is_judged_against_its_significance_level() {
        let p = |v: f64| {
            let mut m = gauge("rss.mann-kendall-p", Unit::Ratio, v);
            m.direction = Some(Direction::HigherIsBetter);
            m.significance_level = Some(0.05);
            m
        };
        let leak = only_change(p(0.40), p(0.001));
        assert_eq!(leak.rule, Rule::Significance { level: 0.05 });
        assert_eq!(leak.verdict, Verdict::Regressed);
        assert!(verdict_text(&leak, false).contains("p fell below 0.050"));
        assert_eq!(shown(&leak, 0.001), "0.001");
        assert_eq!(only_change(p(0.01), p(0.30)).verdict, Verdict::Improved);
        // Moves on one side of the level mean nothing.
        assert_eq!(only_change(p(0.90), p(0.20)).verdict, Verdict::Same);
        assert_eq!(only_change(p(0.04), p(0.0001)).verdict, Verdict::Same);
        // R² is informational.
        let mut r2 = gauge("rss.r-squared", Unit::Ratio, 0.1);
        r2.direction = Some(Direction::Informational);
        let mut r2_new = r2.clone();
        r2_new.value = Some(0.9);
        assert_eq!(only_change(r2, r2_new).verdict, Verdict::Same);
    }

    #[test]
    fn a_negative_baseline_gives_an_absolute_delta_with_the_right_sign() {
        let ch = only_change(
            gauge("rss.growth-bytes", Unit::Bytes, -2.46),
            gauge("rss.growth-bytes", Unit::Bytes, 10_400.0),
        );
        assert_eq!(ch.relative, None);
        assert_eq!(change_text(&ch), "+10.4 KB");
        assert_eq!(ch.verdict, Verdict::Regressed);
        // Both negative: growing towards zero is growing.
        let toward_zero = only_change(
            gauge("rss.growth-bytes", Unit::Bytes, -10.0),
            gauge("rss.growth-bytes", Unit::Bytes, -5.0),
        );
        assert_eq!(toward_zero.relative, Some(0.5));
        assert_eq!(toward_zero.verdict, Verdict::Regressed);
        let shrink = only_change(
            gauge("rss.growth-bytes", Unit::Bytes, 5_000.0),
            gauge("rss.growth-bytes", Unit::Bytes, -3.0),
        );
        assert_eq!(change_text(&shrink), "-5 KB");
        assert_eq!(shrink.verdict, Verdict::Improved);
        // From zero a relative change is undefined; the direction decides.
        let from_zero = only_change(
            gauge("leak", Unit::Bytes, 0.0),
            gauge("leak", Unit::Bytes, 1.0),
        );
        assert_eq!(
            (change_text(&from_zero), from_zero.verdict),
            ("+1 B".into(), Verdict::Regressed)
        );
    }

    #[test]
    fn relative_changes_follow_the_direction() {
        let tput = |v| gauge("load.throughput", Unit::OpsPerSecond, v);
        assert_eq!(
            only_change(tput(1000.0), tput(800.0)).verdict,
            Verdict::Regressed
        );
        assert_eq!(
            only_change(tput(1000.0), tput(1200.0)).verdict,
            Verdict::Improved
        );
        assert_eq!(
            only_change(tput(1000.0), tput(950.0)).verdict,
            Verdict::Same
        );
        let c = compare(&one(latency(100)), &one(latency(130)), TOL);
        assert!(c.changes.iter().all(|x| x.verdict == Verdict::Regressed));
        assert_eq!(change_text(&c.changes[0]), "+30.0%");
        let c = compare(&one(latency(100)), &one(latency(50)), TOL);
        assert!(!c.regressed());
    }

    #[test]
    fn reports_without_directions_fall_back_to_the_unit_and_defer_to_new() {
        let mut old = gauge("rss.mann-kendall-p", Unit::Ratio, 0.4);
        old.direction = None;
        let mut new = gauge("rss.mann-kendall-p", Unit::Ratio, 0.01);
        new.direction = Some(Direction::HigherIsBetter);
        new.significance_level = Some(0.05);
        let ch = only_change(old.clone(), new);
        assert_eq!(ch.verdict, Verdict::Regressed, "judged as NEW declares it");
        // Neither declares: the unit's default (a ratio is an error rate).
        let mut newer = old.clone();
        newer.value = Some(0.5);
        let ch = only_change(old, newer);
        assert_eq!(ch.direction, Direction::LowerIsBetter);
        assert_eq!(ch.verdict, Verdict::Regressed);
    }

    #[test]
    fn a_check_that_starts_failing_is_a_regression() {
        let mut b = scenario("s", Status::Failed, Vec::new());
        b.checks = vec![check("ok", true), check("old", false), check("gone", true)];
        let mut n = scenario("s", Status::Failed, Vec::new());
        n.checks = vec![
            check("ok", true),
            check("ok", false),
            check("ok", true),
            check("old", true),
            check("fresh", false),
        ];
        n.thresholds = vec![ThresholdResult {
            metric: "get".into(),
            expression: "p(99) < 1ms".into(),
            source: ThresholdSource::Cli,
            passed: true,
            observed: Some(1.0),
            limit: Some(2.0),
            unit: Some(Unit::Nanoseconds),
            error: None,
            overrides: Vec::new(),
            shards: Vec::new(),
        }];
        let c = compare(&run(vec![b]), &run(vec![n]), TOL);
        let changed: Vec<(&str, bool)> = c
            .verdict_changes
            .iter()
            .map(|v| (v.name.as_str(), v.regressed))
            .collect();
        assert_eq!(changed, [("ok", true), ("old", false), ("fresh", true)]);
        assert_eq!(
            c.verdict_changes[0].new,
            Tally {
                passed: 2,
                failed: 1
            }
        );
        assert_eq!(c.regressions(), 2);
        let text = render(&c);
        assert!(
            text.contains("✗ check ok of s: passed in BASE, failed 1 of 3 in NEW"),
            "{text}"
        );
        assert!(
            text.contains("✓ check old of s: failed in BASE, passed in NEW"),
            "{text}"
        );
        assert!(text.contains("+ new check fresh of s"), "{text}");
        assert!(
            text.contains("+ new threshold get: p(99) < 1ms [cli] of s"),
            "{text}"
        );
        assert!(
            text.contains("- vanished check gone of s (in BASE, not in NEW)"),
            "{text}"
        );
        assert!(text.contains("REGRESSED: 2 regressions"), "{text}");
    }

    #[test]
    fn scenarios_that_start_failing_are_regressions_and_others_are_listed() {
        let base = run(vec![
            scenario("a", Status::Passed, vec![gauge("x", Unit::Bytes, 1.0)]),
            scenario("b", Status::Failed, Vec::new()),
            scenario("c", Status::Passed, Vec::new()),
            scenario("gone", Status::Passed, Vec::new()),
            scenario("d", Status::Passed, vec![gauge("x", Unit::Bytes, 1.0)]),
        ]);
        let new = run(vec![
            scenario("a", Status::Errored, vec![gauge("y", Unit::Bytes, 1.0)]),
            scenario("b", Status::Passed, Vec::new()),
            scenario("c", Status::Skipped, Vec::new()),
            scenario("fresh", Status::Failed, Vec::new()),
            scenario("d", Status::Passed, vec![gauge("x", Unit::Count, 1.0)]),
        ]);
        let c = compare(&base, &new, TOL);
        let statuses: Vec<(&str, Option<Status>, Status, bool)> = c
            .status_changes
            .iter()
            .map(|s| (s.scenario.as_str(), s.base, s.new, s.regressed))
            .collect();
        assert_eq!(
            statuses,
            [
                ("a", Some(Status::Passed), Status::Errored, true),
                ("b", Some(Status::Failed), Status::Passed, false),
                ("c", Some(Status::Passed), Status::Skipped, false),
                ("fresh", None, Status::Failed, true),
            ]
        );
        let labels = |v: &[Listed]| v.iter().map(Listed::label).collect::<Vec<_>>();
        assert_eq!(labels(&c.vanished), ["a:x", "gone"]);
        assert_eq!(labels(&c.added), ["a:y", "fresh"]);
        assert_eq!(c.not_compared.len(), 1, "{:?}", c.not_compared);
        assert_eq!(c.regressions(), 2);
        let md = render_markdown(&c);
        assert!(
            md.contains("- ❌ scenario `a`: passed in BASE, errored in NEW"),
            "{md}"
        );
        assert!(
            md.contains("- ⚠️ scenario `c`: passed in BASE, skipped in NEW"),
            "{md}"
        );
        assert!(
            md.contains("- ➖ vanished scenario `gone` (in BASE, not in NEW)"),
            "{md}"
        );
    }

    #[test]
    fn an_unchanged_report_is_ok() {
        let r = run(vec![scenario(
            "s",
            Status::Passed,
            vec![latency(100), gauge("e", Unit::Ratio, 0.0)],
        )]);
        let c = compare(&r, &r, TOL);
        assert!(!c.regressed());
        assert!(
            render(&c).ends_with("OK: 0 regressions beyond 10% tolerance (0.1% on error rates)\n")
        );
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percentage("--tolerance", "10%"), Ok(0.1));
        assert_eq!(parse_percentage("--tolerance", "2.5"), Ok(0.025));
        assert_eq!(parse_percentage("--error-tolerance", "0.1%"), Ok(0.001));
        assert!(parse_percentage("--tolerance", "-1%").is_err());
        assert!(
            parse_percentage("--error-tolerance", "ten")
                .unwrap_err()
                .contains("--error-tolerance")
        );
    }
}
