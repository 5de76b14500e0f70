//! The per-scenario registry of named metrics. Probes and the guest record
//! into it; thresholds and the report read from it.

use std::collections::HashMap;
use std::time::Instant;

use super::{Direction, Distribution, Unit};
use crate::budget::{Budget, BudgetExceeded, Reservation, Resource};

/// Most metrics one scenario may create: bounds host memory against a guest
/// that invents names in a loop.
pub const MAX_METRICS: usize = 1024;
/// Most histograms one scenario may create. Each is charged its widest size
/// (`histogram::max_bytes`, ~440 KiB) to the host-memory budget when it is
/// created; this bounds their number even under a raised budget (512 of them
/// are ~220 MiB), far above the few dozen a scenario records.
pub const MAX_HISTOGRAMS: usize = 512;
/// Longest metric name accepted (bytes).
pub const MAX_NAME_LEN: usize = 200;

/// What a metric holds.
#[derive(Debug, Clone)]
pub enum MetricData {
    Histogram(Distribution),
    Gauge(f64),
    Counter(u64),
}

impl MetricData {
    pub fn kind(&self) -> &'static str {
        match self {
            MetricData::Histogram(_) => "histogram",
            MetricData::Gauge(_) => "gauge",
            MetricData::Counter(_) => "counter",
        }
    }
}

/// One named metric.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub unit: Unit,
    pub data: MetricData,
    /// Which way is better, for `rigor compare`: the unit's default until
    /// the code that records the metric says otherwise.
    pub direction: Direction,
    /// Set on a p-value: the significance level it is judged against (a
    /// fall below it is a regression).
    pub significance_level: Option<f64>,
    /// When the metric was created and last updated: `rate/s` divides the
    /// count by this span.
    pub created: Instant,
    pub updated: Instant,
}

impl Metric {
    /// Seconds between creation and the last update (0 if never updated).
    pub fn elapsed_secs(&self) -> f64 {
        self.updated.duration_since(self.created).as_secs_f64()
    }
}

/// The resource a guest holds for a histogram: an index into the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistogramHandle {
    index: usize,
}

/// Why a metric could not be created or updated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetricError {
    #[error("metric name is empty")]
    EmptyName,
    #[error("metric name `{0}…` is longer than {MAX_NAME_LEN} bytes")]
    NameTooLong(String),
    #[error("metric `{name}` is a {existing}, not a {requested}")]
    KindMismatch {
        name: String,
        existing: &'static str,
        requested: &'static str,
    },
    #[error("too many metrics: a scenario may create at most {MAX_METRICS}")]
    TooMany,
    #[error(
        "too many histograms: a scenario may create at most {MAX_HISTOGRAMS} (each can hold up to {} of host memory)",
        crate::budget::size(Distribution::max_bytes())
    )]
    TooManyHistograms,
    #[error(transparent)]
    Budget(#[from] BudgetExceeded),
}

/// Named metrics of one scenario, in creation order.
#[derive(Debug, Default)]
pub struct Recorder {
    metrics: Vec<Metric>,
    by_name: HashMap<String, usize>,
    histograms: usize,
    /// Where new histograms are charged; `None` charges nothing (tests,
    /// merging reports).
    budget: Option<Budget>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder whose histograms are charged to `budget`.
    pub fn charged_to(budget: Budget) -> Self {
        Self {
            budget: Some(budget),
            ..Self::default()
        }
    }

    /// Takes the host memory a new histogram `name` can grow to, before it
    /// is allocated.
    fn charge_histogram(&self, name: &str) -> Result<Option<Reservation>, MetricError> {
        if self.histograms >= MAX_HISTOGRAMS {
            return Err(MetricError::TooManyHistograms);
        }
        let Some(budget) = &self.budget else {
            return Ok(None);
        };
        let bytes = Distribution::max_bytes();
        let charge = budget
            .reserve(Resource::HostMemory, bytes, || format!("histogram `{name}`"))
            .map_err(|e| {
                e.because(format!(
                    "the widest an HDR histogram of 3 significant digits can grow; {} histograms so far",
                    self.histograms
                ))
            })?;
        Ok(Some(charge))
    }

    fn entry(
        &mut self,
        name: &str,
        unit: Unit,
        make: impl FnOnce() -> MetricData,
    ) -> Result<usize, MetricError> {
        if name.is_empty() {
            return Err(MetricError::EmptyName);
        }
        if name.len() > MAX_NAME_LEN {
            let cut: String = name.chars().take(40).collect();
            return Err(MetricError::NameTooLong(cut));
        }
        if let Some(&index) = self.by_name.get(name) {
            let wanted = make();
            let existing = self.metrics[index].data.kind();
            if existing != wanted.kind() {
                return Err(MetricError::KindMismatch {
                    name: name.to_owned(),
                    existing,
                    requested: wanted.kind(),
                });
            }
            return Ok(index);
        }
        if self.metrics.len() >= MAX_METRICS {
            return Err(MetricError::TooMany);
        }
        let now = Instant::now();
        self.metrics.push(Metric {
            name: name.to_owned(),
            unit,
            data: make(),
            direction: Direction::default_for(unit),
            significance_level: None,
            created: now,
            updated: now,
        });
        let index = self.metrics.len() - 1;
        self.by_name.insert(name.to_owned(), index);
        Ok(index)
    }

    /// Opens (or creates) the histogram `name`. The first unit given wins.
    /// A new histogram is charged to the budget before it is allocated.
    pub fn histogram(&mut self, name: &str, unit: Unit) -> Result<HistogramHandle, MetricError> {
        let charge = match self.by_name.contains_key(name) {
            true => None,
            false => Some(self.charge_histogram(name)?),
        };
        let index = self.entry(name, unit, || MetricData::Histogram(Distribution::new()))?;
        if let Some(charge) = charge {
            // Created (the name was new and `entry` accepted it).
            self.histograms += 1;
            if let Some(held) = charge {
                held.keep();
            }
        }
        Ok(HistogramHandle { index })
    }

    /// Records into a histogram previously opened on this recorder.
    #[inline]
    pub fn record(&mut self, handle: HistogramHandle, value: u64) {
        let metric = &mut self.metrics[handle.index];
        if let MetricData::Histogram(d) = &mut metric.data {
            d.record(value);
            metric.updated = Instant::now();
        }
    }

    /// Records many values with one timestamp update.
    pub fn record_many(&mut self, handle: HistogramHandle, values: &[u64]) {
        let metric = &mut self.metrics[handle.index];
        if let MetricData::Histogram(d) = &mut metric.data {
            for &v in values {
                d.record(v);
            }
            metric.updated = Instant::now();
        }
    }

    /// Adds a whole distribution recorded elsewhere (a load's workers).
    pub fn merge(&mut self, handle: HistogramHandle, values: &Distribution) {
        let metric = &mut self.metrics[handle.index];
        if let MetricData::Histogram(d) = &mut metric.data {
            d.merge(values);
            metric.updated = Instant::now();
        }
    }

    pub fn metric_at(&self, handle: HistogramHandle) -> &Metric {
        &self.metrics[handle.index]
    }

    pub fn gauge(&mut self, name: &str, value: f64, unit: Unit) -> Result<(), MetricError> {
        let index = self.entry(name, unit, || MetricData::Gauge(0.0))?;
        let metric = &mut self.metrics[index];
        metric.data = MetricData::Gauge(value);
        metric.updated = Instant::now();
        Ok(())
    }

    pub fn counter_add(&mut self, name: &str, delta: u64) -> Result<(), MetricError> {
        let index = self.entry(name, Unit::Count, || MetricData::Counter(0))?;
        let metric = &mut self.metrics[index];
        if let MetricData::Counter(c) = &mut metric.data {
            *c = c.saturating_add(delta);
        }
        metric.updated = Instant::now();
        Ok(())
    }

    /// Declares which way the metric `name` is better; nothing happens when
    /// no metric has that name (a probe sets it right after recording).
    pub fn set_direction(&mut self, name: &str, direction: Direction) {
        if let Some(&i) = self.by_name.get(name) {
            self.metrics[i].direction = direction;
        }
    }

    /// Declares the metric `name` a p-value tested at `level` (e.g. 0.05):
    /// higher is better, and `rigor compare` judges it by whether it crossed
    /// `level`, since its relative change means nothing.
    pub fn set_significance_level(&mut self, name: &str, level: f64) {
        if let Some(&i) = self.by_name.get(name) {
            self.metrics[i].direction = Direction::HigherIsBetter;
            self.metrics[i].significance_level = Some(level);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.by_name.get(name).map(|&i| &self.metrics[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.iter()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.metrics.iter().map(|m| m.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_a_histogram_returns_the_same_data() {
        let mut r = Recorder::new();
        let a = r.histogram("get.100B", Unit::Nanoseconds).unwrap();
        let b = r.histogram("get.100B", Unit::Bytes).unwrap();
        assert_eq!(a, b);
        r.record(a, 5);
        r.record(b, 7);
        let m = r.get("get.100B").unwrap();
        assert_eq!(m.unit, Unit::Nanoseconds);
        match &m.data {
            MetricData::Histogram(d) => assert_eq!(d.len(), 2),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn kind_mismatch_is_an_error_not_a_silent_overwrite() {
        let mut r = Recorder::new();
        r.gauge("throughput", 10.0, Unit::OpsPerSecond).unwrap();
        let err = r.histogram("throughput", Unit::Nanoseconds).unwrap_err();
        assert!(matches!(err, MetricError::KindMismatch { .. }));
    }

    #[test]
    fn the_number_of_metrics_is_bounded() {
        let mut r = Recorder::new();
        for i in 0..MAX_METRICS {
            r.counter_add(&format!("c{i}"), 1).unwrap();
        }
        assert_eq!(r.counter_add("one-more", 1), Err(MetricError::TooMany));
        assert!(r.counter_add("c0", 1).is_ok());
    }

    #[test]
    fn directions_default_from_the_unit_and_can_be_declared() {
        let mut r = Recorder::new();
        r.gauge("tput", 1.0, Unit::OpsPerSecond).unwrap();
        r.gauge("p", 0.2, Unit::Ratio).unwrap();
        r.gauge("r2", 0.9, Unit::Ratio).unwrap();
        r.counter_add("sent", 1).unwrap();
        assert_eq!(r.get("tput").unwrap().direction, Direction::HigherIsBetter);
        assert_eq!(r.get("sent").unwrap().direction, Direction::Informational);
        r.set_significance_level("p", 0.05);
        r.set_direction("r2", Direction::Informational);
        r.set_direction("nothing-by-that-name", Direction::LowerIsBetter);
        let p = r.get("p").unwrap();
        assert_eq!(
            (p.direction, p.significance_level),
            (Direction::HigherIsBetter, Some(0.05))
        );
        assert_eq!(r.get("r2").unwrap().direction, Direction::Informational);
        // Recording again keeps what was declared.
        r.gauge("r2", 0.8, Unit::Ratio).unwrap();
        assert_eq!(r.get("r2").unwrap().direction, Direction::Informational);
    }

    #[test]
    fn histograms_are_charged_their_widest_size_and_refused_past_the_budget() {
        let width = super::Distribution::max_bytes();
        let budget = Budget::new(crate::budget::Budgets {
            host_memory: 3 * width + width / 2,
            ..Default::default()
        });
        let mut r = Recorder::charged_to(budget.clone());
        for i in 0..3 {
            r.histogram(&format!("h{i}"), Unit::Nanoseconds).unwrap();
        }
        // Reopening charges nothing; gauges and counters cost no histogram.
        r.histogram("h0", Unit::Nanoseconds).unwrap();
        r.gauge("g", 1.0, Unit::None).unwrap();
        let err = r.histogram("h3", Unit::Nanoseconds).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, MetricError::Budget(_)), "{message}");
        assert!(
            message.starts_with("histogram `h3` needs 440")
                && message.contains("KiB of host memory")
                && message.contains("host-memory budget of")
                && message.contains("3 histograms so far"),
            "{message}"
        );
        assert!(r.get("h3").is_none());
        assert_eq!(budget.in_use(Resource::HostMemory), 3 * width);
    }

    #[test]
    fn the_number_of_histograms_is_bounded() {
        let mut r = Recorder::new();
        for i in 0..MAX_HISTOGRAMS {
            r.histogram(&format!("h{i}"), Unit::Count).unwrap();
        }
        assert_eq!(
            r.histogram("one-more", Unit::Count),
            Err(MetricError::TooManyHistograms)
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        let mut r = Recorder::new();
        assert_eq!(r.gauge("", 1.0, Unit::None), Err(MetricError::EmptyName));
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert!(matches!(
            r.gauge(&long, 1.0, Unit::None),
            Err(MetricError::NameTooLong(_))
        ));
    }
}
