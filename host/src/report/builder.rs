//! Collects what a scenario reports while it runs (checks, thresholds,
//! findings, logs) and turns it, with the metrics, into a `ScenarioReport`.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::budget::{Budget, Resource};
use crate::metrics::{MetricData, Recorder, Unit};
use crate::thresholds::{Expression, Observed};

use super::model::{
    CheckResult, Finding, LogLevel, LogLine, MetricReport, ThresholdResult, ThresholdSource,
};

/// Most log lines kept per scenario; later lines are counted, not kept.
pub const MAX_LOG_LINES: usize = 1000;
/// Longest log line, check detail or finding field kept (bytes); longer text is cut.
pub const MAX_TEXT_LEN: usize = 4096;
/// Most checks, thresholds and findings per scenario (each), against a guest
/// that reports in a loop.
pub const MAX_ITEMS: usize = 10_000;
/// Most series per scenario: a probe that invents names cannot grow the report.
pub const MAX_SERIES: usize = 64;
/// Most points per series; past it every other point is dropped, so the
/// series keeps its whole time span at a coarser step.
pub const MAX_SERIES_POINTS: usize = 4096;

#[derive(Debug, Default)]
pub struct ReportBuilder {
    pub checks: Vec<CheckResult>,
    pub thresholds: Vec<ThresholdResult>,
    pub findings: Vec<Finding>,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    /// Items (checks, thresholds, findings) dropped at `MAX_ITEMS`.
    pub items_dropped: u64,
    /// Metric name → series, filled by probes through [`ReportBuilder::series_point`].
    pub series: BTreeMap<String, Series>,
    /// When the scenario started: series times count from here.
    origin: Option<Instant>,
    /// Where kept items are charged; past the budget they are dropped.
    budget: Option<Budget>,
    /// A failed check was dropped (bound or budget): the scenario still fails.
    dropped_failure: bool,
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

    /// A builder whose kept items (checks, findings, logs, thresholds) are
    /// charged to `budget`'s host memory.
    pub fn charged_to(budget: Budget) -> Self {
        Self {
            budget: Some(budget),
            ..Self::new()
        }
    }

    /// Charges an item of `T` with `text` bytes of strings; false when the
    /// budget is spent (the caller drops the item).
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
            self.items_dropped += 1;
            return;
        }
        let series = self.series.entry(bounded(metric.to_owned())).or_default();
        series.unit.get_or_insert(unit);
        series.push(t_secs, value);
    }

    pub fn check(&mut self, name: String, passed: bool, detail: String) {
        let (name, detail) = (bounded(name), bounded(detail));
        if self.checks.len() >= MAX_ITEMS
            || !self.charge::<CheckResult>(name.len() + detail.len(), "report.check")
        {
            self.items_dropped += 1;
            self.dropped_failure |= !passed;
            return;
        }
        self.checks.push(CheckResult {
            name,
            passed,
            detail,
        });
    }

    pub fn finding(&mut self, finding: Finding) {
        let text = finding.title.len().min(MAX_TEXT_LEN)
            + finding.detail.len().min(MAX_TEXT_LEN)
            + finding.action.len().min(MAX_TEXT_LEN);
        if self.findings.len() >= MAX_ITEMS || !self.charge::<Finding>(text, "report.add-finding") {
            self.items_dropped += 1;
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

    /// Evaluates `expression` against `metric` now and records the verdict.
    pub fn threshold(
        &mut self,
        recorder: &Recorder,
        metric: &str,
        expression: &Expression,
        source: ThresholdSource,
    ) -> ThresholdResult {
        let result = evaluate(recorder, metric, expression, source);
        let text = result.metric.len() + result.expression.len();
        if self.thresholds.len() < MAX_ITEMS
            && self.charge::<ThresholdResult>(text, "report.threshold")
        {
            self.thresholds.push(result.clone());
        } else {
            self.items_dropped += 1;
            self.dropped_failure |= !result.passed;
        }
        result
    }

    /// Evaluates the catalog's and the command line's thresholds after the
    /// run. A threshold replaces those of earlier sources (guest < catalog <
    /// cli) on the same metric and aggregation; the replaced ones are named
    /// in its `overrides`.
    pub fn apply_thresholds<'a>(
        &mut self,
        recorder: &Recorder,
        planned: impl IntoIterator<Item = (&'a str, &'a Expression, ThresholdSource)>,
    ) {
        for (metric, expression, source) in planned {
            let mut result = evaluate(recorder, metric, expression, source);
            let mut kept = Vec::with_capacity(self.thresholds.len());
            for earlier in self.thresholds.drain(..) {
                let same_key = earlier.metric == metric
                    && crate::thresholds::parse(&earlier.expression)
                        .is_ok_and(|e| e.aggregation == expression.aggregation);
                if same_key && earlier.source < source {
                    result.overrides.push(format!(
                        "{} [{}]",
                        earlier.expression,
                        earlier.source.as_str()
                    ));
                } else {
                    kept.push(earlier);
                }
            }
            self.thresholds = kept;
            if self.thresholds.len() < MAX_ITEMS {
                self.thresholds.push(result);
            } else {
                self.items_dropped += 1;
            }
        }
    }

    pub fn all_passed(&self) -> bool {
        !self.dropped_failure
            && self.checks.iter().all(|c| c.passed)
            && self.thresholds.iter().all(|t| t.passed)
    }
}

/// Evaluates one threshold against the recorder; an unknown metric or a unit
/// mismatch is a failed threshold carrying the reason.
pub fn evaluate(
    recorder: &Recorder,
    metric: &str,
    expression: &Expression,
    source: ThresholdSource,
) -> ThresholdResult {
    let mut result = ThresholdResult {
        metric: metric.to_owned(),
        expression: expression.to_string(),
        source,
        passed: false,
        observed: None,
        limit: None,
        unit: None,
        error: None,
        overrides: Vec::new(),
    };
    let Some(m) = recorder.get(metric) else {
        let known: Vec<&str> = recorder.names().collect();
        result.error = Some(if known.is_empty() {
            format!("metric `{metric}` was not recorded (the scenario recorded no metrics)")
        } else {
            format!(
                "metric `{metric}` was not recorded; recorded metrics: {}",
                known.join(", ")
            )
        });
        return result;
    };
    result.unit = Some(m.unit);
    let summary;
    let observed = match &m.data {
        MetricData::Histogram(d) => {
            summary = d.summary();
            Observed {
                unit: m.unit,
                summary: Some(&summary),
                value: None,
                count: Some(summary.count),
                elapsed_secs: Some(m.elapsed_secs()),
            }
        }
        MetricData::Gauge(v) => Observed {
            unit: m.unit,
            summary: None,
            value: Some(*v),
            count: None,
            elapsed_secs: Some(m.elapsed_secs()),
        },
        MetricData::Counter(c) => Observed {
            unit: m.unit,
            summary: None,
            value: Some(*c as f64),
            count: Some(*c),
            elapsed_secs: Some(m.elapsed_secs()),
        },
    };
    match expression.evaluate(&observed) {
        Ok(v) => {
            result.passed = v.passed;
            result.observed = Some(v.observed);
            result.limit = Some(v.limit);
            // `count > 1000` on a latency histogram compares counts, not ns.
            result.unit = Some(v.unit);
        }
        Err(e) => result.error = Some(format!("cannot evaluate `{expression}` on `{metric}`: {e}")),
    }
    result
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
                summary: Some(d.summary()),
                value: None,
                histogram: Some(d.to_base64()),
                series: Vec::new(),
            },
            MetricData::Gauge(v) => MetricReport {
                name: m.name.clone(),
                kind: "gauge".into(),
                unit: m.unit,
                summary: None,
                value: Some(*v),
                histogram: None,
                series: Vec::new(),
            },
            MetricData::Counter(c) => MetricReport {
                name: m.name.clone(),
                kind: "counter".into(),
                unit: m.unit,
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
    use crate::thresholds::parse;

    fn recorder() -> Recorder {
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        for v in 1..=1000u64 {
            r.record(h, v * 1000);
        }
        r
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
        assert_eq!((b.items_dropped, b.logs_dropped), (1, 1));
        assert!(
            !b.all_passed(),
            "the dropped failed check still fails the scenario"
        );
        assert!(budget.usage().host_memory.peak > 1000);
        assert!(budget.usage().host_memory.refused >= 2);
    }

    #[test]
    fn later_sources_override_earlier_ones_on_the_same_aggregation() {
        let r = recorder();
        let mut b = ReportBuilder::new();
        b.threshold(
            &r,
            "get",
            &parse("p(99) < 1us").unwrap(),
            ThresholdSource::Guest,
        );
        b.threshold(
            &r,
            "get",
            &parse("avg < 1s").unwrap(),
            ThresholdSource::Guest,
        );
        let catalog = parse("p(99) < 10ms").unwrap();
        let cli = parse("p(99) < 2ms").unwrap();
        let range = parse("p(99) > 1us").unwrap();
        b.apply_thresholds(
            &r,
            [
                ("get", &catalog, ThresholdSource::Catalog),
                ("get", &range, ThresholdSource::Catalog),
                ("get", &cli, ThresholdSource::Cli),
            ],
        );
        let shown: Vec<(String, ThresholdSource, Vec<String>)> = b
            .thresholds
            .iter()
            .map(|t| (t.expression.clone(), t.source, t.overrides.clone()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("avg < 1s".into(), ThresholdSource::Guest, vec![]),
                (
                    "p(99) < 2ms".into(),
                    ThresholdSource::Cli,
                    vec![
                        "p(99) < 10ms [catalog]".into(),
                        "p(99) > 1us [catalog]".into()
                    ]
                ),
            ]
        );
        // The guest's failing p(99) < 1us was replaced: everything passes.
        assert!(b.all_passed(), "{:?}", b.thresholds);
    }

    #[test]
    fn same_source_thresholds_do_not_replace_each_other() {
        let r = recorder();
        let mut b = ReportBuilder::new();
        let low = parse("p(99) > 1us").unwrap();
        let high = parse("p(99) < 1s").unwrap();
        b.apply_thresholds(
            &r,
            [
                ("get", &low, ThresholdSource::Catalog),
                ("get", &high, ThresholdSource::Catalog),
            ],
        );
        assert_eq!(b.thresholds.len(), 2);
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
}
