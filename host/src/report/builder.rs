//! Collects what a scenario reports while it runs (checks, threshold
//! verdicts, findings, logs, series) within fixed bounds, and hands it to
//! the `ScenarioReport` with the metrics. Checks of one name aggregate into
//! counters, so volume costs counters, not memory; what does not fit is
//! counted in [`Dropped`], and a failure that was not kept still fails the
//! scenario. Thresholds are judged in `crate::thresholds`; this only
//! records their verdicts.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::budget::{Budget, Resource};
use crate::metrics::{Direction, MetricData, Recorder, Unit};
use crate::thresholds::{self, Judged};

use super::model::{
    CheckResult, Dropped, Finding, LogLevel, LogLine, MetricReport, ThresholdResult,
};

/// Most log lines kept per scenario; later lines are counted, not kept.
pub const MAX_LOG_LINES: usize = 1000;
/// Longest log line, check name or detail, or finding field kept (bytes);
/// longer text is cut.
pub const MAX_TEXT_LEN: usize = 4096;
/// Most distinct check names per scenario. Reports of a known name are
/// always counted; reports under further names are counted in
/// `dropped.checks` (and fail the scenario if they failed). Against a guest
/// that invents names in a loop, with [`MAX_TEXT_LEN`] and
/// [`MAX_FAILURE_DETAILS_TOTAL`] the checks hold at most about 120 MiB
/// (4 KiB per name, first detail and kept failure detail), no more than
/// the 10,000 name-and-detail items kept before checks were aggregated plus
/// their failure details.
pub const MAX_CHECKS: usize = 10_000;
/// Failure details kept per check, the first ones (k6 keeps counts only;
/// the first few failures say what went wrong).
pub const MAX_FAILURE_DETAILS: usize = 10;
/// Failure details kept per scenario over all checks, so that many
/// failing names cannot multiply [`MAX_FAILURE_DETAILS`] by [`MAX_CHECKS`].
pub const MAX_FAILURE_DETAILS_TOTAL: usize = 10_000;
/// Most distinct thresholds (metric and expression) a scenario may judge
/// itself; the same threshold judged again keeps one entry. Catalog and
/// command-line thresholds are never dropped.
pub const MAX_GUEST_THRESHOLDS: usize = 1_000;
/// Most findings kept per scenario; later ones are counted.
pub const MAX_FINDINGS: usize = 10_000;
/// Most series per scenario: a probe that invents names cannot grow the report.
pub const MAX_SERIES: usize = 64;
/// Most points per series; past it every other point is dropped, so the
/// series keeps its whole time span at a coarser step.
pub const MAX_SERIES_POINTS: usize = 4096;

#[derive(Debug, Default)]
pub struct ReportBuilder {
    /// Check name → its counters, with the order it was first reported in.
    checks: HashMap<String, CheckTally>,
    /// Failure details kept so far, over all checks.
    failure_details: usize,
    /// Threshold verdicts: the scenario's own (one per metric and
    /// expression), then the catalog's and command line's.
    thresholds: Vec<Judged>,
    /// `metric \0 expression` → index in `thresholds`, for the scenario's own.
    guest_thresholds: HashMap<String, usize>,
    pub findings: Vec<Finding>,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    /// What did not fit, counted.
    pub dropped: Dropped,
    /// Metric name → series, filled by probes through [`ReportBuilder::series_point`].
    pub series: BTreeMap<String, Series>,
    /// When the scenario started: series times count from here.
    origin: Option<Instant>,
    /// Where kept items are charged; past the budget they are dropped and
    /// counted like items past the bounds.
    budget: Option<Budget>,
}

/// Every report of one check name so far.
#[derive(Debug, Default)]
struct CheckTally {
    /// Position among the names, for the report's order.
    order: usize,
    passes: u64,
    fails: u64,
    /// The first failure's detail, or the first report's until one fails.
    detail: String,
    failure_details: Vec<String>,
}

/// What the builder recorded, as the report holds it.
#[derive(Debug)]
pub struct Recorded {
    /// One per check name, in the order first reported.
    pub checks: Vec<CheckResult>,
    /// The thresholds that apply, after precedence.
    pub thresholds: Vec<ThresholdResult>,
    pub findings: Vec<Finding>,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    pub dropped: Dropped,
    /// Every check and applying threshold passed, and nothing dropped had failed.
    pub passed: bool,
}

/// Values of one metric over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub unit: Option<Unit>,
    /// `[seconds since the scenario started, value]`.
    pub points: Vec<[f64; 2]>,
}

impl Series {
    /// Appends a point, halving the resolution when the series is full.
    pub fn push(&mut self, t_secs: f64, value: f64) {
        if !(t_secs.is_finite() && value.is_finite()) {
            return;
        }
        self.points.push([t_secs, value]);
        if self.points.len() > MAX_SERIES_POINTS {
            let last = self.points.len() - 1;
            let kept: Vec<_> = self
                .points
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0 || *i == last)
                .map(|(_, p)| *p)
                .collect();
            self.points = kept;
        }
    }
}

/// Cuts `text` to at most `MAX_TEXT_LEN` bytes on a character boundary.
/// [`ReportBuilder::charge`] for a caller that holds a field borrowed.
fn charge_with(budget: Option<&Budget>, text: usize, what: &str) -> bool {
    let Some(budget) = budget else {
        return true;
    };
    match budget.reserve(Resource::HostMemory, text as u64, || what.to_owned()) {
        Ok(charge) => {
            charge.keep();
            true
        }
        Err(_) => false,
    }
}

pub fn bounded(mut text: String) -> String {
    if text.len() > MAX_TEXT_LEN {
        let mut cut = MAX_TEXT_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self {
            origin: Some(Instant::now()),
            ..Self::default()
        }
    }

    /// A builder whose kept items (new check names, failure details,
    /// findings, logs, the scenario's own thresholds) are charged to
    /// `budget`'s host memory.
    pub fn charged_to(budget: Budget) -> Self {
        Self {
            budget: Some(budget),
            ..Self::new()
        }
    }

    /// Charges one kept item of type `T` with `text` bytes of text; false
    /// when the budget is spent (the caller drops and counts the item).
    fn charge<T>(&self, text: usize, what: &str) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        let bytes = (std::mem::size_of::<T>() + text) as u64;
        match budget.reserve(Resource::HostMemory, bytes, || what.to_owned()) {
            Ok(charge) => {
                charge.keep();
                true
            }
            Err(_) => false,
        }
    }

    /// Seconds since the scenario started.
    pub fn elapsed_secs(&self) -> f64 {
        self.origin.map_or(0.0, |o| o.elapsed().as_secs_f64())
    }

    /// Adds a point, taken now, to the series of metric `metric` (e.g. the
    /// memory probe's RSS samples). The series appears in the report on the
    /// metric of that name, or as a gauge of its own holding the last value.
    pub fn series_point(&mut self, metric: &str, unit: Unit, value: f64) {
        let t = self.elapsed_secs();
        self.series_point_at(metric, unit, t, value);
    }

    /// Like [`ReportBuilder::series_point`] with an explicit time (seconds
    /// since the scenario started).
    pub fn series_point_at(&mut self, metric: &str, unit: Unit, t_secs: f64, value: f64) {
        if !self.series.contains_key(metric) && self.series.len() >= MAX_SERIES {
            self.dropped.series_points += 1;
            return;
        }
        let series = self.series.entry(bounded(metric.to_owned())).or_default();
        series.unit.get_or_insert(unit);
        series.push(t_secs, value);
    }

    fn charge_new_check(&self, text: usize) -> bool {
        self.charge::<CheckTally>(text, "report.check")
    }

    /// Counts one report of the check `name`.
    pub fn check(&mut self, name: String, passed: bool, detail: String) {
        let name = bounded(name);
        let known = self.checks.len();
        // A new name costs memory: bounded in number and charged to the budget.
        let is_new = !self.checks.contains_key(&name);
        if is_new
            && (known >= MAX_CHECKS
                || !self.charge_new_check(name.len() + detail.len().min(MAX_TEXT_LEN)))
        {
            self.dropped.checks += 1;
            self.dropped.failed_checks += u64::from(!passed);
            return;
        }
        let tally = match self.checks.get_mut(&name) {
            Some(tally) => tally,
            None => self.checks.entry(name).or_insert(CheckTally {
                order: known,
                ..CheckTally::default()
            }),
        };
        let first_report = tally.passes + tally.fails == 0;
        if passed {
            tally.passes += 1;
            if first_report {
                tally.detail = bounded(detail);
            }
            return;
        }
        tally.fails += 1;
        let detail = bounded(detail);
        if tally.fails == 1 {
            tally.detail.clone_from(&detail);
        }
        if tally.failure_details.len() < MAX_FAILURE_DETAILS
            && self.failure_details < MAX_FAILURE_DETAILS_TOTAL
            && charge_with(self.budget.as_ref(), detail.len(), "report.check")
        {
            tally.failure_details.push(detail);
            self.failure_details += 1;
        } else {
            self.dropped.check_details += 1;
        }
    }

    pub fn finding(&mut self, finding: Finding) {
        let text = finding.title.len().min(MAX_TEXT_LEN)
            + finding.detail.len().min(MAX_TEXT_LEN)
            + finding.action.len().min(MAX_TEXT_LEN);
        if self.findings.len() >= MAX_FINDINGS
            || !self.charge::<Finding>(text, "report.add-finding")
        {
            self.dropped.findings += 1;
            return;
        }
        self.findings.push(Finding {
            severity: finding.severity,
            title: bounded(finding.title),
            detail: bounded(finding.detail),
            action: bounded(finding.action),
        });
    }

    pub fn log(&mut self, level: LogLevel, message: String) {
        let message = bounded(message);
        if self.logs.len() >= MAX_LOG_LINES || !self.charge::<LogLine>(message.len(), "report.log")
        {
            self.logs_dropped += 1;
            return;
        }
        self.logs.push(LogLine { level, message });
    }

    /// Records the verdict of one of the scenario's own thresholds. The
    /// same threshold judged again (same metric and expression) keeps one
    /// entry: its first failure, or else its latest verdict.
    pub fn threshold(&mut self, judged: Judged) {
        let key = format!("{}\0{}", judged.metric, judged.expression);
        if let Some(&i) = self.guest_thresholds.get(&key) {
            if self.thresholds[i].passed() {
                self.thresholds[i] = judged;
            }
            return;
        }
        let text = judged.metric.len();
        if self.guest_thresholds.len() >= MAX_GUEST_THRESHOLDS
            || !self.charge::<Judged>(text, "report.threshold")
        {
            self.dropped.thresholds += 1;
            self.dropped.failed_thresholds += u64::from(!judged.passed());
            return;
        }
        self.guest_thresholds.insert(key, self.thresholds.len());
        self.thresholds.push(judged);
    }

    /// Records the verdicts of the catalog's and the command line's
    /// thresholds (`thresholds::judge_planned`); they are never dropped.
    pub fn planned_thresholds(&mut self, judged: Vec<Judged>) {
        self.thresholds.extend(judged);
    }

    /// The thresholds that apply after precedence, as the report shows them.
    pub fn threshold_results(&self) -> Vec<ThresholdResult> {
        thresholds::apply(&self.thresholds)
            .into_iter()
            .map(|(i, replaced)| threshold_result(&self.thresholds[i], &replaced, &self.thresholds))
            .collect()
    }

    /// Whether the scenario passed its checks and thresholds: from the
    /// counters, so a failure that was not kept still counts.
    pub fn all_passed(&self) -> bool {
        self.checks.values().all(|c| c.fails == 0)
            && !self.dropped.any_failed()
            && thresholds::apply(&self.thresholds)
                .iter()
                .all(|(i, _)| self.thresholds[*i].passed())
    }

    /// Everything recorded, as the report holds it.
    pub fn finish(self) -> Recorded {
        let passed = self.all_passed();
        let thresholds = self.threshold_results();
        let mut checks: Vec<(String, CheckTally)> = self.checks.into_iter().collect();
        checks.sort_unstable_by_key(|(_, t)| t.order);
        Recorded {
            checks: checks
                .into_iter()
                .map(|(name, t)| CheckResult {
                    name,
                    passed: t.fails == 0,
                    detail: t.detail,
                    passes: t.passes,
                    fails: t.fails,
                    failure_details: t.failure_details,
                })
                .collect(),
            thresholds,
            findings: self.findings,
            logs: self.logs,
            logs_dropped: self.logs_dropped,
            dropped: self.dropped,
            passed,
        }
    }
}

/// A verdict as the report holds it; `replaced` index into `all`.
fn threshold_result(judged: &Judged, replaced: &[usize], all: &[Judged]) -> ThresholdResult {
    let (observed, limit, unit, error) = match &judged.outcome {
        Ok(v) => (Some(v.observed), Some(v.limit), Some(v.unit), None),
        Err(why) => (
            None,
            None,
            judged.metric_unit,
            Some(bounded(why.to_string())),
        ),
    };
    ThresholdResult {
        metric: judged.metric.clone(),
        expression: judged.expression.to_string(),
        source: judged.source,
        passed: judged.passed(),
        observed,
        limit,
        // `count > 1000` on a latency histogram compares counts, not ns.
        unit,
        error,
        overrides: replaced
            .iter()
            .map(|&r| format!("{} [{}]", all[r].expression, all[r].source.as_str()))
            .collect(),
        shards: Vec::new(),
    }
}

/// The metrics section of a report.
pub fn metric_reports(recorder: &Recorder) -> Vec<MetricReport> {
    recorder
        .iter()
        .map(|m| match &m.data {
            MetricData::Histogram(d) => MetricReport {
                name: m.name.clone(),
                kind: "histogram".into(),
                unit: m.unit,
                direction: Some(m.direction),
                significance_level: m.significance_level,
                summary: Some(d.summary()),
                value: None,
                histogram: Some(d.to_base64()),
                series: Vec::new(),
            },
            MetricData::Gauge(v) => MetricReport {
                name: m.name.clone(),
                kind: "gauge".into(),
                unit: m.unit,
                direction: Some(m.direction),
                significance_level: m.significance_level,
                summary: None,
                value: Some(*v),
                histogram: None,
                series: Vec::new(),
            },
            MetricData::Counter(c) => MetricReport {
                name: m.name.clone(),
                kind: "counter".into(),
                unit: m.unit,
                direction: Some(m.direction),
                significance_level: m.significance_level,
                summary: None,
                value: Some(*c as f64),
                histogram: None,
                series: Vec::new(),
            },
        })
        .collect()
}

/// Attaches each series to the metric of its name, or adds it as a gauge
/// holding its last value when no metric has that name.
pub fn attach_series(metrics: &mut Vec<MetricReport>, series: &BTreeMap<String, Series>) {
    for (name, s) in series {
        if s.points.is_empty() {
            continue;
        }
        match metrics.iter_mut().find(|m| &m.name == name) {
            Some(m) => m.series = s.points.clone(),
            None => metrics.push(MetricReport {
                name: name.clone(),
                kind: "gauge".into(),
                unit: s.unit.unwrap_or(Unit::None),
                direction: Some(Direction::default_for(s.unit.unwrap_or(Unit::None))),
                significance_level: None,
                summary: None,
                value: s.points.last().map(|p| p[1]),
                histogram: None,
                series: s.points.clone(),
            }),
        }
    }
}

/// One gauge per progress phase, `<phase>.throughput` in ops/s: its value is
/// the phase's mean rate and its series the rate per sampling period. Left
/// out: phases shorter than two samples, names a metric already uses, and
/// all of them when a probe recorded a throughput series of its own.
pub fn throughput_metrics(
    existing: &[MetricReport],
    phases: Vec<crate::events::PhaseSeries>,
) -> Vec<MetricReport> {
    let mut out: Vec<MetricReport> = Vec::new();
    if existing
        .iter()
        .any(|m| m.unit == Unit::OpsPerSecond && !m.series.is_empty())
    {
        return out;
    }
    for phase in phases.into_iter().filter(|p| p.points.len() >= 2) {
        let name = format!("{}.throughput", phase.phase);
        if existing.iter().chain(out.iter()).any(|m| m.name == name) {
            continue;
        }
        let mean = if phase.elapsed_secs > 0.0 {
            phase.done as f64 / phase.elapsed_secs
        } else {
            0.0
        };
        out.push(MetricReport {
            name,
            kind: "gauge".into(),
            unit: Unit::OpsPerSecond,
            direction: Some(Direction::HigherIsBetter),
            significance_level: None,
            summary: None,
            value: Some(mean),
            histogram: None,
            series: phase.points.iter().map(|&(t, v)| [t, v]).collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::ThresholdSource;
    use crate::thresholds::parse;

    fn recorder() -> Recorder {
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        for v in 1..=1000u64 {
            r.record(h, v * 1000);
        }
        r
    }

    fn judged(r: &Recorder, metric: &str, text: &str, source: ThresholdSource) -> Judged {
        thresholds::judge(r, metric, &parse(text).unwrap(), source)
    }

    #[test]
    fn thresholds_are_recorded_after_precedence_with_what_they_replace() {
        let r = recorder();
        let mut b = ReportBuilder::new();
        b.threshold(judged(&r, "get", "p(99) < 1us", ThresholdSource::Guest));
        b.threshold(judged(&r, "get", "avg < 1s", ThresholdSource::Guest));
        b.planned_thresholds(vec![
            judged(&r, "get", "p(99) < 10ms", ThresholdSource::Catalog),
            judged(&r, "get", "p(99) > 1us", ThresholdSource::Catalog),
            judged(&r, "get", "p(99) < 2ms", ThresholdSource::Cli),
        ]);
        let shown: Vec<(String, ThresholdSource, Vec<String>)> = b
            .threshold_results()
            .into_iter()
            .map(|t| (t.expression, t.source, t.overrides))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("avg < 1s".into(), ThresholdSource::Guest, vec![]),
                (
                    "p(99) < 2ms".into(),
                    ThresholdSource::Cli,
                    vec![
                        "p(99) < 1us [scenario]".into(),
                        "p(99) < 10ms [catalog]".into(),
                        "p(99) > 1us [catalog]".into()
                    ]
                ),
            ]
        );
        // The guest's failing p(99) < 1us was replaced: everything passes.
        assert!(b.all_passed());
        let recorded = b.finish();
        assert!(recorded.passed);
        assert_eq!(recorded.thresholds.len(), 2);
    }

    #[test]
    fn a_guest_threshold_judged_again_keeps_one_entry_and_its_first_failure() {
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        let mut b = ReportBuilder::new();
        r.record(h, 500);
        for _ in 0..3 {
            b.threshold(judged(&r, "get", "max < 1us", ThresholdSource::Guest));
        }
        assert!(b.all_passed());
        r.record(h, 5_000);
        b.threshold(judged(&r, "get", "max < 1us", ThresholdSource::Guest));
        let failed = b.threshold_results();
        assert_eq!(failed.len(), 1);
        assert!(!failed[0].passed);
        // A later pass does not hide the failure.
        let mut r2 = Recorder::new();
        let h2 = r2.histogram("get", Unit::Nanoseconds).unwrap();
        r2.record(h2, 500);
        b.threshold(judged(&r2, "get", "max < 1us", ThresholdSource::Guest));
        let still = b.threshold_results();
        assert_eq!((still.len(), still[0].passed), (1, false));
        assert!(still[0].observed.unwrap() > 4_000.0);
        assert!(!b.all_passed());
    }

    #[test]
    fn guest_thresholds_past_the_bound_are_counted_and_a_dropped_failure_fails() {
        let r = recorder();
        let mut b = ReportBuilder::new();
        for i in 0..MAX_GUEST_THRESHOLDS {
            b.threshold(judged(
                &r,
                "get",
                &format!("count > {i}"),
                ThresholdSource::Guest,
            ));
        }
        b.threshold(judged(&r, "get", "count > 1", ThresholdSource::Guest));
        assert!(b.all_passed(), "a repeat is not a new threshold");
        b.threshold(judged(&r, "get", "avg < 1s", ThresholdSource::Guest));
        assert!(b.all_passed(), "a dropped pass is only counted");
        b.threshold(judged(&r, "get", "avg < 1ns", ThresholdSource::Guest));
        assert_eq!((b.dropped.thresholds, b.dropped.failed_thresholds), (2, 1));
        assert!(!b.all_passed(), "a dropped failure still fails");
        // Planned thresholds are never dropped.
        b.planned_thresholds(vec![judged(&r, "get", "max < 1ns", ThresholdSource::Cli)]);
        let recorded = b.finish();
        assert!(!recorded.passed);
        assert_eq!(recorded.thresholds.len(), MAX_GUEST_THRESHOLDS + 1);
        assert_eq!(recorded.thresholds.last().unwrap().expression, "max < 1ns");
    }

    #[test]
    fn checks_of_one_name_aggregate_into_counters_and_their_first_failures() {
        let mut b = ReportBuilder::new();
        for i in 0..10_000 {
            b.check("status is 200".into(), true, format!("request {i}"));
        }
        b.check("body parses".into(), true, String::new());
        for i in 0..(MAX_FAILURE_DETAILS + 5) {
            b.check("status is 200".into(), false, format!("request {i}: 503"));
        }
        b.check("status is 200".into(), true, "later".into());
        assert_eq!(b.dropped.check_details, 5);
        let recorded = b.finish();
        assert!(!recorded.passed);
        assert_eq!(recorded.checks.len(), 2);
        let c = &recorded.checks[0];
        assert_eq!(c.name, "status is 200");
        assert!(!c.passed);
        assert_eq!(
            (c.passes, c.fails),
            (10_001, MAX_FAILURE_DETAILS as u64 + 5)
        );
        assert_eq!(c.detail, "request 0: 503");
        assert_eq!(c.failure_details.len(), MAX_FAILURE_DETAILS);
        assert_eq!(c.failure_details[1], "request 1: 503");
        let ok = &recorded.checks[1];
        assert_eq!(
            (ok.name.as_str(), ok.passed, ok.passes, ok.fails),
            ("body parses", true, 1, 0)
        );
    }

    #[test]
    fn check_names_past_the_bound_are_counted_and_a_failure_among_them_fails() {
        let mut b = ReportBuilder::new();
        for i in 0..(MAX_CHECKS + 10) {
            b.check(format!("check {i}"), true, String::new());
        }
        // A known name is still counted past the bound.
        b.check("check 0".into(), true, String::new());
        assert!(b.all_passed());
        assert_eq!((b.dropped.checks, b.dropped.failed_checks), (10, 0));
        b.check("one more".into(), false, "lost detail".into());
        assert_eq!((b.dropped.checks, b.dropped.failed_checks), (11, 1));
        let recorded = b.finish();
        assert!(!recorded.passed, "a failure past the bound fails");
        assert_eq!(recorded.checks.len(), MAX_CHECKS);
        assert!(recorded.checks.iter().all(|c| c.passed));
        assert_eq!(recorded.checks[0].passes, 2);
        assert_eq!(
            recorded.dropped.describe(0).unwrap(),
            "11 check reports (1 failed)"
        );
    }

    #[test]
    fn failure_details_are_bounded_over_all_checks() {
        let mut b = ReportBuilder::new();
        let names = MAX_FAILURE_DETAILS_TOTAL / MAX_FAILURE_DETAILS + 1;
        for n in 0..names {
            for _ in 0..MAX_FAILURE_DETAILS {
                b.check(format!("c{n}"), false, "x".into());
            }
        }
        assert_eq!(b.dropped.check_details, MAX_FAILURE_DETAILS as u64);
        let recorded = b.finish();
        let kept: usize = recorded
            .checks
            .iter()
            .map(|c| c.failure_details.len())
            .sum();
        assert_eq!(kept, MAX_FAILURE_DETAILS_TOTAL);
        // Counters and the first detail stay whole.
        let last = recorded.checks.last().unwrap();
        assert_eq!(
            (last.fails, last.detail.as_str()),
            (MAX_FAILURE_DETAILS as u64, "x")
        );
    }

    #[test]
    fn findings_and_series_past_their_bounds_are_counted() {
        let mut b = ReportBuilder::new();
        for _ in 0..(MAX_FINDINGS + 2) {
            b.finding(Finding {
                severity: super::super::model::Severity::Info,
                title: "t".into(),
                detail: String::new(),
                action: String::new(),
            });
        }
        for i in 0..(MAX_SERIES + 3) {
            b.series_point(&format!("m{i}"), Unit::None, 1.0);
        }
        for _ in 0..(MAX_LOG_LINES + 4) {
            b.log(LogLevel::Info, "l".into());
        }
        assert_eq!(b.dropped.findings, 2);
        assert_eq!(b.dropped.series_points, 3);
        assert!(b.all_passed(), "dropping passing items fails nothing");
        let recorded = b.finish();
        assert_eq!(
            recorded.dropped.describe(recorded.logs_dropped).unwrap(),
            "2 findings, 3 series points, 4 log lines"
        );
    }

    #[test]
    fn progress_phases_become_throughput_gauges_unless_a_probe_has_one() {
        let phase = |name: &str, points: Vec<(f64, f64)>| crate::events::PhaseSeries {
            phase: name.into(),
            points,
            done: 1000,
            elapsed_secs: 2.0,
        };
        let phases = vec![
            phase("load", vec![(0.25, 400.0), (0.5, 600.0)]),
            phase("blip", vec![(0.75, 10.0)]),
        ];
        let metrics = metric_reports(&recorder());
        let added = throughput_metrics(&metrics, phases.clone());
        assert_eq!(added.len(), 1, "a one-sample phase is left out");
        assert_eq!(added[0].name, "load.throughput");
        assert_eq!(added[0].unit, Unit::OpsPerSecond);
        assert_eq!(added[0].value, Some(500.0));
        assert_eq!(added[0].series, vec![[0.25, 400.0], [0.5, 600.0]]);
        // Already present under that name: not added twice.
        assert!(throughput_metrics(&added, phases.clone()).is_empty());
        // A probe's own throughput series wins.
        let mut with_series = metric_reports(&recorder());
        let mut b = ReportBuilder::new();
        b.series_point_at("x.throughput", Unit::OpsPerSecond, 0.1, 5.0);
        attach_series(&mut with_series, &b.series);
        assert!(throughput_metrics(&with_series, phases).is_empty());
    }

    #[test]
    fn series_attach_to_their_metric_or_become_gauges() {
        let mut b = ReportBuilder::new();
        b.series_point_at("get", Unit::Nanoseconds, 0.5, 10.0);
        b.series_point_at("rss", Unit::Bytes, 0.0, 100.0);
        b.series_point_at("rss", Unit::Bytes, 1.0, 150.0);
        b.series_point_at("rss", Unit::Bytes, f64::NAN, 1.0);
        let mut metrics = metric_reports(&recorder());
        attach_series(&mut metrics, &b.series);
        assert_eq!(metrics[0].series, vec![[0.5, 10.0]]);
        let rss = metrics.iter().find(|m| m.name == "rss").unwrap();
        assert_eq!(rss.kind, "gauge");
        assert_eq!(rss.unit, Unit::Bytes);
        assert_eq!(rss.value, Some(150.0));
        assert_eq!(rss.series, vec![[0.0, 100.0], [1.0, 150.0]]);
    }

    #[test]
    fn series_stay_bounded_and_keep_their_span() {
        let mut s = Series::default();
        for i in 0..(MAX_SERIES_POINTS * 3) {
            s.push(i as f64, 1.0);
        }
        assert!(s.points.len() <= MAX_SERIES_POINTS);
        assert_eq!(s.points[0][0], 0.0);
        assert_eq!(
            s.points.last().unwrap()[0],
            (MAX_SERIES_POINTS * 3 - 1) as f64
        );
        let mut b = ReportBuilder::new();
        for i in 0..(MAX_SERIES + 10) {
            b.series_point(&format!("m{i}"), Unit::None, 1.0);
        }
        assert_eq!(b.series.len(), MAX_SERIES);
    }

    #[test]
    fn items_past_the_budget_are_dropped_and_a_dropped_failure_still_fails() {
        let budget = Budget::new(crate::budget::Budgets {
            host_memory: 2000,
            ..Default::default()
        });
        let mut b = ReportBuilder::charged_to(budget.clone());
        b.check("first".into(), true, "x".repeat(1000));
        b.check("second".into(), false, "x".repeat(1000));
        b.log(LogLevel::Info, "y".repeat(1000));
        assert_eq!(b.checks.len(), 1);
        assert_eq!((b.dropped.checks, b.dropped.failed_checks), (1, 1));
        assert_eq!(b.logs_dropped, 1);
        assert!(
            !b.all_passed(),
            "the dropped failed check still fails the scenario"
        );
        assert!(budget.usage().host_memory.peak > 1000);
        assert!(budget.usage().host_memory.refused >= 2);
    }
}
