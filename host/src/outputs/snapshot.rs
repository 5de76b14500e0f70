//! One scenario's metrics at one moment, in a form every live output
//! encodes: taken from the running scenario's shared recorder (each HDR
//! histogram is cloned under the lock; reading its buckets and everything
//! else happens outside it), or from its finished report (the exact HDR histogram it carries).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::events::Progress;
use crate::metrics::{Distribution, MetricData, SharedRecorder, Unit};
use crate::report::model::ScenarioReport;
use crate::report::shared::SharedReport;
use crate::thresholds::{Expression, ThresholdSource, judge};

/// The value of one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// HDR buckets `(highest equivalent value, count)` in the stored unit,
    /// with the distribution's count and mean.
    Histogram {
        buckets: Vec<(u64, u64)>,
        count: u64,
        mean: f64,
    },
    Counter(u64),
    Gauge(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub name: String,
    pub unit: Unit,
    pub value: Value,
}

/// A threshold's state now: `passing` is false while it fails or cannot be
/// judged yet (no data counts as failing, as in the report).
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdPoint {
    pub metric: String,
    pub expression: String,
    pub passing: bool,
}

/// The progress of the scenario's current phase.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressPoint {
    pub phase: String,
    pub done: u64,
    pub ops_per_sec: f64,
}

/// One scenario at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub scenario: String,
    /// The k6 executor of a VU scenario (`constant-vus`, ...).
    pub executor: Option<String>,
    /// When the scenario started, Unix milliseconds (OTLP start time).
    pub started_ms: i64,
    /// When the snapshot was taken, Unix milliseconds.
    pub at_ms: i64,
    /// False in the last snapshot, from the finished report.
    pub running: bool,
    pub metrics: Vec<MetricPoint>,
    pub thresholds: Vec<ThresholdPoint>,
    pub progress: Option<ProgressPoint>,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A planned (catalog or command-line) threshold of a scenario, judged live.
#[derive(Debug, Clone)]
pub struct Planned {
    pub metric: String,
    pub expression: Expression,
    pub source: ThresholdSource,
}

/// The running scenario's metrics and threshold states now. The recorder's
/// lock is held once, to copy each metric and judge the planned
/// thresholds (as the `abort-on-fail` watch does); the report's once, to
/// read the scenario's own verdicts.
pub fn live(
    scenario: &str,
    started_ms: i64,
    recorder: &SharedRecorder,
    report: &SharedReport,
    planned: &[Planned],
    progress: Option<&Progress>,
) -> Snapshot {
    let (metrics, mut thresholds) = recorder.with(|r| {
        // Nothing recorded yet (or already taken for the report): no
        // threshold state rather than a failing one.
        if r.iter().next().is_none() {
            return (Vec::new(), Vec::new());
        }
        // A histogram is cloned (one copy of its counts); its buckets are
        // read after the lock is released.
        let metrics: Vec<(String, Unit, MetricData)> = r
            .iter()
            .map(|m| (m.name.clone(), m.unit, m.data.clone()))
            .collect();
        let thresholds: Vec<ThresholdPoint> = planned
            .iter()
            .map(|p| {
                let judged = judge(r, &p.metric, &p.expression, p.source);
                ThresholdPoint {
                    metric: p.metric.clone(),
                    expression: p.expression.to_string(),
                    passing: judged.passed(),
                }
            })
            .collect();
        (metrics, thresholds)
    });
    let own = match metrics.is_empty() {
        true => Vec::new(),
        false => report.with(|b| b.threshold_results()),
    };
    let metrics = metrics
        .into_iter()
        .map(|(name, unit, data)| MetricPoint {
            name,
            unit,
            value: match &data {
                MetricData::Histogram(d) => histogram(d),
                MetricData::Counter(c) => Value::Counter(*c),
                MetricData::Gauge(g) => Value::Gauge(*g),
            },
        })
        .collect();
    thresholds.extend(
        own.into_iter()
            .filter(|t| t.source == ThresholdSource::Guest)
            .map(|t| ThresholdPoint {
                metric: t.metric,
                expression: t.expression,
                passing: t.passed,
            }),
    );
    Snapshot {
        scenario: scenario.to_owned(),
        executor: None,
        started_ms,
        at_ms: now_ms(),
        running: true,
        metrics,
        thresholds,
        progress: progress.map(|p| ProgressPoint {
            phase: p.phase.clone(),
            done: p.done,
            ops_per_sec: p.ops_per_sec,
        }),
    }
}

fn histogram(d: &Distribution) -> Value {
    Value::Histogram {
        buckets: d.buckets(),
        count: d.len(),
        mean: d.mean(),
    }
}

/// The last snapshot of a scenario, from its report: the exact histograms
/// it carries, counters, gauges and the final threshold verdicts.
pub fn finished(
    report: &ScenarioReport,
    started_ms: i64,
    last: Option<&ProgressPoint>,
) -> Snapshot {
    let metrics = report
        .metrics
        .iter()
        .filter_map(|m| {
            let value = match m.kind.as_str() {
                "histogram" => {
                    let d = Distribution::from_base64(m.histogram.as_deref()?).ok()?;
                    histogram(&d)
                }
                "counter" => Value::Counter(m.value? as u64),
                "gauge" => Value::Gauge(m.value?),
                _ => return None,
            };
            Some(MetricPoint {
                name: m.name.clone(),
                unit: m.unit,
                value,
            })
        })
        .collect();
    let thresholds = report
        .thresholds
        .iter()
        .map(|t| ThresholdPoint {
            metric: t.metric.clone(),
            expression: t.expression.clone(),
            passing: t.passed,
        })
        .collect();
    Snapshot {
        scenario: report.name.clone(),
        executor: None,
        started_ms,
        at_ms: now_ms(),
        running: false,
        metrics,
        thresholds,
        progress: last.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Recorder;
    use crate::report::builder::ReportBuilder;
    use crate::thresholds::parse;

    #[test]
    fn a_live_snapshot_copies_metrics_and_judges_thresholds() {
        let recorder = SharedRecorder::new(Recorder::new());
        let h = recorder.histogram("get", Unit::Nanoseconds).unwrap();
        for v in [1_000, 2_000, 3_000] {
            recorder.record(h, v);
        }
        recorder.counter_add("errors", 2).unwrap();
        recorder.gauge("rss", 4096.0, Unit::Bytes).unwrap();
        let report = SharedReport::new(ReportBuilder::new());
        let planned = [
            Planned {
                metric: "get".into(),
                expression: parse("p(99) < 1ms").unwrap(),
                source: ThresholdSource::Catalog,
            },
            Planned {
                metric: "errors".into(),
                expression: parse("count == 0").unwrap(),
                source: ThresholdSource::Cli,
            },
        ];
        let s = live("s", 0, &recorder, &report, &planned, None);
        assert_eq!(s.metrics.len(), 3);
        match &s.metrics[0].value {
            Value::Histogram { count, buckets, .. } => {
                assert_eq!(*count, 3);
                assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 3);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.metrics[1].value, Value::Counter(2));
        let states: Vec<_> = s
            .thresholds
            .iter()
            .map(|t| (t.expression.as_str(), t.passing))
            .collect();
        assert_eq!(states, [("p(99) < 1ms", true), ("count == 0", false)]);
    }
}
