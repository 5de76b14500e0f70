//! Judging a threshold against what a scenario recorded: the one place a
//! verdict is made, for the scenario's own thresholds while it runs, the
//! `abort-on-fail` watch, and the catalog's and command line's after it.
//!
//! Thresholds on nothing fail. A metric that was never recorded fails
//! whatever the expression (a misspelt name must not pass forever); a
//! distribution statistic (`avg`, `min`, `max`, `med`, `p(N)`, `stdev`) of a
//! histogram with no samples fails with "no samples". Only `count` and
//! `rate/s` are judged on a metric that exists but saw no events, because
//! zero events is then what was measured (`count == 0` passes). When the
//! scenario ended with an error, a threshold that could not be judged says
//! so; it is never passed.

use crate::metrics::{MetricData, Recorder, Unit};

use super::{EvalError, Expression, Observed, ThresholdSource, Verdict};

/// Most recorded metric names listed when a threshold names an unknown one.
pub const MAX_NAMES_LISTED: usize = 16;

/// One threshold and what it came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub metric: String,
    pub expression: Expression,
    pub source: ThresholdSource,
    /// The metric's unit, when it was recorded.
    pub metric_unit: Option<Unit>,
    /// The verdict, or why there is none (which counts as failed).
    pub outcome: Result<Verdict, Unjudged>,
}

/// Why a threshold has no verdict. It counts as failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unjudged {
    /// No metric of that name was recorded.
    #[error("metric `{metric}` was not recorded{}", listed(.recorded, *.more))]
    NotRecorded {
        metric: String,
        /// The first [`MAX_NAMES_LISTED`] recorded names, for a typo.
        recorded: Vec<String>,
        /// How many more were recorded.
        more: usize,
    },
    /// The metric exists but the expression cannot be computed on it.
    #[error("cannot evaluate `{expression}` on `{metric}`: {reason}")]
    Eval {
        metric: String,
        expression: Expression,
        reason: EvalError,
    },
    /// The scenario ended with an error before the metric was measured.
    #[error("{0} (the scenario ended with an error before measuring it)")]
    ScenarioErrored(Box<Unjudged>),
}

fn listed(recorded: &[String], more: usize) -> String {
    match (recorded.is_empty(), more) {
        (true, _) => " (the scenario recorded no metrics)".to_owned(),
        (false, 0) => format!("; recorded metrics: {}", recorded.join(", ")),
        (false, more) => format!(
            "; recorded metrics: {} and {more} more",
            recorded.join(", ")
        ),
    }
}

impl Unjudged {
    /// Whether there was nothing to judge (no metric, no samples, no
    /// value, no count, no time span), rather than a threshold that does
    /// not fit its metric.
    pub fn is_missing_data(&self) -> bool {
        match self {
            Unjudged::NotRecorded { .. } | Unjudged::ScenarioErrored(_) => true,
            Unjudged::Eval { reason, .. } => matches!(
                reason,
                EvalError::NoSamples { .. }
                    | EvalError::NoValue { .. }
                    | EvalError::NoCount { .. }
                    | EvalError::NoElapsed
                    | EvalError::BadElapsed { .. }
            ),
        }
    }
}

impl Judged {
    pub fn passed(&self) -> bool {
        self.outcome.as_ref().is_ok_and(|v| v.passed)
    }

    /// The observed value in the terms the limit was written in: in the
    /// limit's unit when it has one (`2ms` against `max < 1ms`), otherwise
    /// the raw number the bare limit is compared with.
    pub fn observed_text(&self) -> Option<String> {
        let verdict = self.outcome.as_ref().ok()?;
        Some(match self.expression.limit.unit {
            Some(unit) if self.expression.limit.in_unit(verdict.unit).is_some() => {
                format!("{}{unit}", plain(verdict.observed / unit.to_base(1.0)))
            }
            _ => plain(verdict.observed),
        })
    }
}

/// A number with at most four significant digits (the histogram resolves
/// three) and no trailing zeros; whole numbers are printed whole.
fn plain(v: f64) -> String {
    if !v.is_finite() || v.abs() >= 1e15 || v == 0.0 {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Judges `expression` on the metric `metric` of `recorder`, now.
pub fn judge(
    recorder: &Recorder,
    metric: &str,
    expression: &Expression,
    source: ThresholdSource,
) -> Judged {
    let mut judged = Judged {
        metric: metric.to_owned(),
        expression: *expression,
        source,
        metric_unit: None,
        outcome: Err(Unjudged::NotRecorded {
            metric: metric.to_owned(),
            recorded: Vec::new(),
            more: 0,
        }),
    };
    let Some(m) = recorder.get(metric) else {
        judged.outcome = Err(Unjudged::NotRecorded {
            metric: metric.to_owned(),
            recorded: recorder
                .names()
                .take(MAX_NAMES_LISTED)
                .map(str::to_owned)
                .collect(),
            more: recorder.names().count().saturating_sub(MAX_NAMES_LISTED),
        });
        return judged;
    };
    judged.metric_unit = Some(m.unit);
    let observed = match &m.data {
        MetricData::Histogram(d) => Observed {
            distribution: Some(d),
            elapsed_secs: Some(m.elapsed_secs()),
            ..Observed::new(m.unit)
        },
        MetricData::Gauge(v) => Observed {
            value: Some(*v),
            elapsed_secs: Some(m.elapsed_secs()),
            ..Observed::new(m.unit)
        },
        MetricData::Counter(c) => Observed {
            value: Some(*c as f64),
            count: Some(*c),
            elapsed_secs: Some(m.elapsed_secs()),
            ..Observed::new(m.unit)
        },
    };
    judged.outcome = expression
        .evaluate(&observed)
        .map_err(|reason| Unjudged::Eval {
            metric: metric.to_owned(),
            expression: *expression,
            reason,
        });
    judged
}

/// Judges the catalog's and the command line's thresholds after the run.
/// `scenario_errored`: the scenario ended with an error (not an
/// `abort-on-fail` stop), so a threshold with nothing to judge says that
/// the error is why.
pub fn judge_planned<'a>(
    recorder: &Recorder,
    planned: impl IntoIterator<Item = (&'a str, &'a Expression, ThresholdSource)>,
    scenario_errored: bool,
) -> Vec<Judged> {
    planned
        .into_iter()
        .map(|(metric, expression, source)| {
            let mut judged = judge(recorder, metric, expression, source);
            if scenario_errored {
                judged.outcome = judged.outcome.map_err(|why| {
                    if why.is_missing_data() {
                        Unjudged::ScenarioErrored(Box::new(why))
                    } else {
                        why
                    }
                });
            }
            judged
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thresholds::parse;

    fn judge_text(r: &Recorder, metric: &str, text: &str) -> Judged {
        judge(r, metric, &parse(text).unwrap(), ThresholdSource::Catalog)
    }

    #[test]
    fn a_metric_never_recorded_fails_whatever_the_expression() {
        let mut r = Recorder::new();
        let empty = judge_text(&r, "errors", "count == 0");
        assert!(!empty.passed());
        assert_eq!(
            empty.outcome.unwrap_err().to_string(),
            "metric `errors` was not recorded (the scenario recorded no metrics)"
        );
        r.counter_add("eror", 0).unwrap();
        for text in ["count == 0", "rate >= 0.9", "p(99) < 1ms", "value < 1"] {
            let j = judge_text(&r, "errors", text);
            assert!(!j.passed(), "{text}");
            assert_eq!(
                j.outcome.unwrap_err().to_string(),
                "metric `errors` was not recorded; recorded metrics: eror"
            );
        }
        for i in 0..(MAX_NAMES_LISTED + 3) {
            r.counter_add(&format!("m{i:02}"), 1).unwrap();
        }
        let many = judge_text(&r, "errors", "count == 0").outcome.unwrap_err();
        let text = many.to_string();
        assert!(text.ends_with("m14 and 4 more"), "{text}");
    }

    #[test]
    fn an_empty_histogram_fails_its_statistics_but_counts_zero() {
        let mut r = Recorder::new();
        r.histogram("get", Unit::Nanoseconds).unwrap();
        for text in [
            "p(99) < 1ms",
            "avg < 1ms",
            "min > 0",
            "max < 1s",
            "med < 1ms",
        ] {
            let j = judge_text(&r, "get", text);
            assert!(!j.passed(), "{text}");
            let why = j.outcome.unwrap_err();
            assert!(why.to_string().contains("has no samples"), "{why}");
        }
        // Zero events is what was measured: an explicit count may pass.
        assert!(judge_text(&r, "get", "count == 0").passed());
        assert!(!judge_text(&r, "get", "count > 0").passed());
        // A ratio asked of a histogram has no value to compare.
        assert!(!judge_text(&r, "get", "rate >= 0.9").passed());
    }

    #[test]
    fn after_a_scenario_error_missing_data_says_so_and_never_passes() {
        let mut r = Recorder::new();
        r.histogram("get", Unit::Nanoseconds).unwrap();
        let planned = [
            ("checks", parse("rate >= 0.9").unwrap()),
            ("get", parse("p(99) < 1ms").unwrap()),
            ("get", parse("p(99) < 1MB").unwrap()),
        ];
        let judged = judge_planned(
            &r,
            planned
                .iter()
                .map(|(m, e)| (*m, e, ThresholdSource::Catalog)),
            true,
        );
        assert!(judged.iter().all(|j| !j.passed()));
        let errors: Vec<String> = judged
            .iter()
            .map(|j| j.outcome.as_ref().unwrap_err().to_string())
            .collect();
        assert_eq!(
            errors[0],
            "metric `checks` was not recorded; recorded metrics: get (the scenario ended with an error before measuring it)"
        );
        assert!(
            errors[1].ends_with(
                "cannot be computed (the scenario ended with an error before measuring it)"
            ),
            "{}",
            errors[1]
        );
        // A threshold that does not fit its metric is a mistake, error or not.
        assert_eq!(
            errors[2],
            "cannot evaluate `p(99) < 1MB` on `get`: `MB` is a size unit but the metric is measured in ns"
        );
    }

    #[test]
    fn observed_values_are_printed_in_the_limits_terms() {
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        r.record(h, 2_000_000);
        r.gauge("errors", 0.05, Unit::Ratio).unwrap();
        let text = |metric: &str, e: &str| judge_text(&r, metric, e).observed_text().unwrap();
        assert_eq!(text("get", "max < 1ms"), "2.001ms");
        assert_eq!(text("get", "max < 1000000"), "2000895");
        assert_eq!(text("get", "count > 5"), "1");
        assert_eq!(text("errors", "rate < 1%"), "5%");
        assert_eq!(text("errors", "rate < 0.01"), "0.05");
        assert_eq!(plain(1.0 / 3.0), "0.3333");
        assert_eq!(plain(0.0), "0");
    }
}
