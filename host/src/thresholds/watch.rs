//! `abort-on-fail`: thresholds checked while the scenario runs, which stop it
//! as soon as one fails.
//!
//! The engine asks [`AbortWatch::abort_now`] from its epoch callback (every
//! millisecond of guest execution); the thresholds are judged at most every
//! [`CHECK_EVERY`], so the cost on the hot path is one clock read. A metric
//! that has not been recorded yet, or has no samples, does not abort: only a
//! threshold that evaluates and fails does (the final verdict, after the
//! run, still fails a threshold on nothing). A long probe call is judged
//! when it returns to the guest.

use std::time::{Duration, Instant};

use crate::metrics::{Recorder, Unit};

use super::{Expression, Judged, ThresholdSource, effective, judge};

/// How often watched thresholds are evaluated while the guest runs.
pub const CHECK_EVERY: Duration = Duration::from_millis(100);

/// The `abort-on-fail` thresholds of one scenario.
#[derive(Debug, Clone, Default)]
pub struct AbortWatch {
    items: Vec<(String, Expression, ThresholdSource)>,
    next: Option<Instant>,
    /// When the scenario started: `abort-on-fail(DELAY)` waits from here.
    started: Option<Instant>,
}

/// Why a scenario was stopped early: the threshold that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "stopped early: threshold `{metric}: {expression}` [{}] failed with {observed} (abort-on-fail)",
    .origin.as_str()
)]
pub struct AbortOnFail {
    pub metric: String,
    pub expression: String,
    pub origin: ThresholdSource,
    /// The observed value, in the terms of the limit (`2ms` against `< 1ms`).
    pub observed: String,
}

impl AbortOnFail {
    /// The stop a judged `abort-on-fail` threshold asks for: one that was
    /// judged and failed. Nothing to judge is no reason to stop.
    pub fn from_judged(judged: &Judged) -> Option<Self> {
        let failed = judged.outcome.as_ref().is_ok_and(|v| !v.passed);
        (judged.expression.abort_on_fail && failed).then(|| AbortOnFail {
            metric: judged.metric.clone(),
            expression: judged.expression.to_string(),
            origin: judged.source,
            observed: judged.observed_text().unwrap_or_default(),
        })
    }
}

impl AbortWatch {
    /// Watches the thresholds of `planned` that say `abort-on-fail`, except
    /// those a later source replaces, as the final verdicts do.
    pub fn new<'a>(
        planned: impl IntoIterator<Item = (&'a str, &'a Expression, ThresholdSource)>,
    ) -> Self {
        let all: Vec<_> = planned.into_iter().collect();
        let applies = effective(all.iter().map(|(m, e, s)| (*m, e.aggregation, *s)));
        let items = all
            .iter()
            .zip(applies)
            .filter(|((_, e, _), applies)| e.abort_on_fail && applies.is_some())
            .map(|((m, e, s), _)| ((*m).to_owned(), **e, *s))
            .collect();
        Self {
            items,
            next: None,
            started: Some(Instant::now()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether to stop the scenario now: judges the watched thresholds if
    /// [`CHECK_EVERY`] has passed since they were last judged, and returns
    /// the first that failed.
    #[inline]
    pub fn abort_now(&mut self, recorder: &Recorder) -> Option<AbortOnFail> {
        if self.items.is_empty() {
            return None;
        }
        let now = Instant::now();
        if self.next.is_some_and(|next| now < next) {
            return None;
        }
        self.next = Some(now + CHECK_EVERY);
        self.check_now(recorder)
    }

    /// Judges every watched threshold whose delay has passed, now.
    pub fn check_now(&self, recorder: &Recorder) -> Option<AbortOnFail> {
        let since_start = self
            .started
            .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1e9);
        self.items.iter().find_map(|(metric, expression, source)| {
            let delay_ns = expression
                .abort_delay
                .and_then(|d| d.in_unit(Unit::Nanoseconds))
                .unwrap_or(0.0);
            if since_start < delay_ns {
                return None;
            }
            AbortOnFail::from_judged(&judge(recorder, metric, expression, *source))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thresholds::parse;

    #[test]
    fn only_abort_on_fail_thresholds_are_watched_and_only_real_failures_abort() {
        let quiet = parse("p(99) < 1us").unwrap();
        let watched = parse("max < 1ms, abort-on-fail").unwrap();
        let missing = parse("count > 5, abort-on-fail").unwrap();
        let mut watch = AbortWatch::new([
            ("get", &quiet, ThresholdSource::Catalog),
            ("get", &watched, ThresholdSource::Cli),
            ("not-yet", &missing, ThresholdSource::Catalog),
        ]);
        let mut r = Recorder::new();
        assert_eq!(watch.abort_now(&r), None, "nothing recorded yet");
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        r.record(h, 5_000);
        assert_eq!(watch.check_now(&r), None, "5 µs passes `max < 1ms`");
        r.record(h, 2_000_000);
        let failed = watch.check_now(&r).expect("2 ms fails `max < 1ms`");
        assert_eq!(failed.metric, "get");
        assert_eq!(failed.origin, ThresholdSource::Cli);
        assert_eq!(
            failed.to_string(),
            "stopped early: threshold `get: max < 1ms, abort-on-fail` [cli] failed with 2.001ms (abort-on-fail)"
        );
    }

    #[test]
    fn a_replaced_threshold_is_not_watched() {
        let catalog = parse("p(99) < 1ms, abort-on-fail").unwrap();
        let cli = parse("p(99) < 5ms").unwrap();
        let other = parse("max < 1s, abort-on-fail").unwrap();
        let watch = AbortWatch::new([
            ("get", &catalog, ThresholdSource::Catalog),
            ("get", &other, ThresholdSource::Catalog),
            ("get", &cli, ThresholdSource::Cli),
        ]);
        assert_eq!(watch.items.len(), 1);
        assert_eq!(watch.items[0].1, other);
    }

    #[test]
    fn a_delayed_threshold_is_judged_only_after_its_delay() {
        let soon = parse("count > 1000, abort-on-fail(50ms)").unwrap();
        let watch = AbortWatch::new([("get", &soon, ThresholdSource::Catalog)]);
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        r.record(h, 5);
        assert_eq!(watch.check_now(&r), None, "within its delay");
        std::thread::sleep(Duration::from_millis(60));
        let failed = watch.check_now(&r).expect("judged after 50 ms");
        assert_eq!(failed.observed, "1");
    }

    #[test]
    fn checks_are_rate_limited() {
        let e = parse("max < 1ms, abort-on-fail").unwrap();
        let mut watch = AbortWatch::new([("get", &e, ThresholdSource::Catalog)]);
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        assert_eq!(watch.abort_now(&r), None);
        r.record(h, 2_000_000);
        // Within CHECK_EVERY of the previous check: not evaluated yet.
        assert_eq!(watch.abort_now(&r), None);
        std::thread::sleep(CHECK_EVERY + Duration::from_millis(10));
        assert!(watch.abort_now(&r).is_some());
        assert!(
            AbortWatch::new([("get", &parse("max < 1ms").unwrap(), ThresholdSource::Guest)])
                .is_empty()
        );
    }
}
