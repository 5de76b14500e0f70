//! Live events of a run: what the console status line, the report manager
//! (JSON rewritten after each scenario, NDJSON stream) and any other live
//! consumer read while scenarios run — [`RunEvent`]s delivered to
//! [`RunObserver`]s, and the progress probes report through [`ProgressSink`].
//!
//! # For probes: reporting progress
//!
//! Every scenario's `Capabilities` carries a [`ProgressSink`] in its `events`
//! field; a binding whose view borrows it reaches it as `self.events`.
//! Reporting is cheap (an atomic add per call, no allocation, no lock on the
//! hot path), so it may be called once per operation:
//!
//! ```
//! # let sink = rigor::events::ProgressSink::detached();
//! // A phase starts: its name and, when known, how many operations it will do.
//! sink.phase("run-load", Some(50_000));
//! for _ in 0..50_000 {
//!     // ... one operation ...
//!     sink.advance(1); // or in batches: sink.advance(batch.len() as u64)
//! }
//! // Or, when the probe keeps its own total: sink.set_done(total_so_far);
//! sink.finish();
//! ```
//!
//! A probe never prints and never computes rates: the runner samples the sink
//! every [`SAMPLE_EVERY`] and turns the samples into [`Progress`] events
//! (ops done, expected total, ops/s over the last [`RATE_WINDOW`], elapsed,
//! time left). Publishing a running total once in a while (`set_done`) is
//! enough for a steady rate. A sink built by
//! [`ProgressSink::detached`] (tests, `describe`, benchmarks) records but
//! nobody reads it.
//!
//! # For consumers
//!
//! [`ProgressSampler`] is the reading half. The runner owns it and hands each
//! sample to its observers as a [`RunEvent::Progress`], so the live display
//! and the NDJSON writer see the same events. The samples
//! of a scenario also become its throughput-over-time series in the report
//! (a `<phase>.throughput` gauge), unless a probe records its own.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::SharedRecorder;
use crate::report::model::{RunReport, ScenarioReport};
use crate::report::shared::SharedReport;

/// Something happened during the run. Events flow one way, from the runner
/// to its observers; an observer never steers the run.
pub enum RunEvent<'a> {
    /// The run begins: `run` is the empty report (marked partial) that the
    /// finished scenarios will be added to.
    RunStarted { total: usize, run: &'a RunReport },
    /// A scenario starts.
    Started {
        name: &'a str,
        index: usize,
        total: usize,
    },
    /// A scenario finished: its report, and the run's report so far (marked
    /// partial until the run ends), complete enough to be written as is.
    Finished {
        report: &'a ScenarioReport,
        run: &'a RunReport,
    },
    /// A sample of the running scenario's progress (every [`SAMPLE_EVERY`]
    /// while a probe reports a phase).
    Progress {
        name: &'a str,
        progress: &'a Progress,
    },
}

/// A consumer of [`RunEvent`]s (the live display, the report manager).
pub trait RunObserver {
    fn event(&mut self, event: &RunEvent<'_>);
}

/// Where the running scenario's shared recorder and report are published
/// for live readers outside its store (the `--out prometheus|otlp`
/// exporters): the store publishes them when it is built, the runner clears
/// them when the scenario ends. Readers take clones and lock each one per
/// operation, as everything else does. Cloning is cheap (one `Arc`).
#[derive(Debug, Clone, Default)]
pub struct LiveScenario(Arc<Mutex<Option<(SharedRecorder, SharedReport)>>>);

impl LiveScenario {
    pub fn publish(&self, recorder: &SharedRecorder, report: &SharedReport) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((recorder.clone(), report.clone()));
    }

    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The running scenario's recorder and report, if one is running.
    pub fn current(&self) -> Option<(SharedRecorder, SharedReport)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// How often the runner samples a scenario's progress.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Longest phase name kept (bytes); longer names are cut.
pub const MAX_PHASE_LEN: usize = 64;

/// `text` cut to [`MAX_PHASE_LEN`] bytes on a character boundary.
fn cut_to_phase_len(mut text: String) -> String {
    if text.len() > MAX_PHASE_LEN {
        let mut cut = MAX_PHASE_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The writing half, handed to probes. Cloning is cheap (one `Arc`).
#[derive(Debug, Clone)]
pub struct ProgressSink {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    done: AtomicU64,
    /// Bumped on every `phase` call, so the sampler notices a new phase even
    /// when its name repeats.
    generation: AtomicU64,
    phase: Mutex<Phase>,
}

#[derive(Debug, Clone, Default)]
struct Phase {
    name: String,
    /// What else the probe says about the phase now (VUs, dropped iterations).
    detail: Option<String>,
    expected: Option<u64>,
    started: Option<Instant>,
    finished: bool,
}

impl Default for ProgressSink {
    fn default() -> Self {
        Self::detached()
    }
}

impl ProgressSink {
    /// A sink with no reader yet; [`ProgressSink::sampler`] attaches one.
    pub fn detached() -> Self {
        Self {
            shared: Arc::new(Shared {
                done: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                phase: Mutex::new(Phase::default()),
            }),
        }
    }

    /// A new phase starts: resets the operation count. `expected` is the
    /// total number of operations, when known.
    pub fn phase(&self, name: &str, expected: Option<u64>) {
        let name = cut_to_phase_len(name.to_owned());
        let mut phase = self.shared.phase.lock().unwrap_or_else(|e| e.into_inner());
        *phase = Phase {
            name,
            detail: None,
            expected,
            started: Some(Instant::now()),
            finished: false,
        };
        self.shared.done.store(0, Ordering::Relaxed);
        self.shared.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` more operations of the current phase are done.
    #[inline]
    pub fn advance(&self, n: u64) {
        self.shared.done.fetch_add(n, Ordering::Relaxed);
    }

    /// The current phase has done `done` operations in all.
    #[inline]
    pub fn set_done(&self, done: u64) {
        self.shared.done.store(done, Ordering::Relaxed);
    }

    /// A short note on the current phase, shown after its rate (e.g.
    /// `120 VUs · 3 dropped`); cut at [`MAX_PHASE_LEN`].
    pub fn set_detail(&self, detail: String) {
        let mut phase = self.shared.phase.lock().unwrap_or_else(|e| e.into_inner());
        phase.detail = Some(cut_to_phase_len(detail));
    }

    /// The current phase is over (the display stops showing it).
    pub fn finish(&self) {
        let mut phase = self.shared.phase.lock().unwrap_or_else(|e| e.into_inner());
        phase.finished = true;
    }

    /// The reading half for this sink.
    pub fn sampler(&self) -> ProgressSampler {
        ProgressSampler {
            shared: self.shared.clone(),
            started: Instant::now(),
            generation: None,
            history: VecDeque::new(),
            series: Vec::new(),
        }
    }
}

/// One progress observation of a scenario's current phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Progress {
    pub phase: String,
    /// Operations done in this phase.
    pub done: u64,
    /// Operations the phase will do, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// Operations per second over the last [`RATE_WINDOW`] (or since the
    /// phase started, when it is younger).
    pub ops_per_sec: f64,
    /// Seconds since the phase started.
    pub elapsed_secs: f64,
    /// Seconds the phase should still take at the current rate, when the total is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_secs: Option<f64>,
    /// The probe's own note on the phase (VUs active, dropped iterations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Throughput over time of one phase, collected from the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSeries {
    pub phase: String,
    /// (seconds since the scenario started, ops/s).
    pub points: Vec<(f64, f64)>,
    /// Operations done in the phase, at the last sample.
    pub done: u64,
    /// Seconds the phase lasted, at the last sample.
    pub elapsed_secs: f64,
}

/// Most points kept per phase series; beyond it every other point is dropped,
/// so a long phase keeps its whole time span at a coarser step.
pub const MAX_SERIES_POINTS: usize = 2048;

/// The reading half: turns the sink's counters into [`Progress`] samples.
#[derive(Debug)]
pub struct ProgressSampler {
    shared: Arc<Shared>,
    started: Instant,
    /// Generation of the phase seen at the previous sample.
    generation: Option<u64>,
    /// (when, done) of the current phase's recent samples, oldest first:
    /// the rate is measured over [`RATE_WINDOW`], so a probe that updates
    /// its count only now and then still shows a steady rate.
    history: VecDeque<(Instant, u64)>,
    series: Vec<PhaseSeries>,
}

/// The span the current rate (ops/s) is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(2);

impl ProgressSampler {
    /// Samples the sink now; `None` when no phase is running.
    pub fn sample(&mut self) -> Option<Progress> {
        self.sample_at(Instant::now())
    }

    fn sample_at(&mut self, now: Instant) -> Option<Progress> {
        let generation = self.shared.generation.load(Ordering::Relaxed);
        let phase = self
            .shared
            .phase
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let done = self.shared.done.load(Ordering::Relaxed);
        let started = phase.started?;
        let elapsed_secs = now.duration_since(started).as_secs_f64();
        let first_of_phase = self.generation != Some(generation);
        if first_of_phase {
            self.generation = Some(generation);
            self.history.clear();
            self.history.push_back((started, 0));
        }
        // A count that went down (the probe restarted it) restarts the window.
        if self.history.back().is_some_and(|&(_, d)| d > done) {
            self.history.clear();
            self.history.push_back((now, done));
        }
        self.history.push_back((now, done));
        // Keep one sample at least RATE_WINDOW old as the base of the rate.
        while self.history.len() > 2
            && self
                .history
                .get(1)
                .is_some_and(|&(t, _)| now.duration_since(t) >= RATE_WINDOW)
        {
            self.history.pop_front();
        }
        let ops_per_sec = match self.history.front() {
            Some(&(t, d)) if now > t => (done - d) as f64 / now.duration_since(t).as_secs_f64(),
            _ => 0.0,
        };
        if first_of_phase {
            self.series.push(PhaseSeries {
                phase: phase.name.clone(),
                points: Vec::new(),
                done: 0,
                elapsed_secs: 0.0,
            });
        }
        if let Some(series) = self.series.last_mut() {
            if !phase.finished || series.done != done {
                series
                    .points
                    .push((now.duration_since(self.started).as_secs_f64(), ops_per_sec));
                if series.points.len() > MAX_SERIES_POINTS {
                    let kept: Vec<_> = series.points.iter().copied().step_by(2).collect();
                    series.points = kept;
                }
            }
            series.done = done;
            series.elapsed_secs = elapsed_secs;
        }
        if phase.finished {
            return None;
        }
        let remaining_secs = match phase.expected {
            Some(total) if ops_per_sec > 0.0 && total >= done => {
                Some((total - done) as f64 / ops_per_sec)
            }
            _ => None,
        };
        Some(Progress {
            phase: phase.name,
            done,
            expected: phase.expected,
            ops_per_sec,
            elapsed_secs,
            remaining_secs,
            detail: phase.detail,
        })
    }

    /// The throughput series of every phase seen, for the report.
    pub fn into_series(mut self) -> Vec<PhaseSeries> {
        // A last sample so a phase shorter than one sampling period still
        // has a point.
        let _ = self.sample();
        self.series.retain(|s| !s.points.is_empty());
        self.series
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_report_done_expected_and_rate() {
        let sink = ProgressSink::detached();
        let mut sampler = sink.sampler();
        assert_eq!(sampler.sample(), None, "no phase yet");
        sink.phase("load", Some(1000));
        let t0 = Instant::now();
        sink.advance(100);
        sink.advance(150);
        let p = sampler
            .sample_at(t0 + Duration::from_millis(500))
            .expect("a phase is running");
        assert_eq!(p.phase, "load");
        assert_eq!(p.done, 250);
        assert_eq!(p.expected, Some(1000));
        assert!(p.ops_per_sec > 400.0 && p.ops_per_sec <= 500.0, "{p:?}");
        sink.set_done(750);
        let p = sampler.sample_at(t0 + Duration::from_millis(1500)).unwrap();
        assert_eq!(p.done, 750);
        // 500 ops in 1 s.
        assert!((p.ops_per_sec - 500.0).abs() < 1.0, "{p:?}");
        let remaining = p.remaining_secs.unwrap();
        assert!((remaining - 0.5).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn the_rate_stays_steady_when_the_count_moves_in_steps() {
        let sink = ProgressSink::detached();
        let mut sampler = sink.sampler();
        sink.phase("load", None);
        let t0 = Instant::now();
        // The probe publishes its count once a second; samples come every 250 ms.
        let mut rates = Vec::new();
        for tick in 1..=16u64 {
            sink.set_done(tick / 4 * 1000);
            let p = sampler
                .sample_at(t0 + Duration::from_millis(tick * 250))
                .unwrap();
            rates.push(p.ops_per_sec);
        }
        // Once the window is full, every sample sees about 1000 ops/s.
        for r in &rates[8..] {
            assert!((600.0..=1400.0).contains(r), "{rates:?}");
        }
    }

    #[test]
    fn a_new_phase_resets_the_count_and_starts_a_series() {
        let sink = ProgressSink::detached();
        let mut sampler = sink.sampler();
        sink.phase("warm-up", None);
        sink.advance(10);
        assert_eq!(sampler.sample().unwrap().done, 10);
        sink.phase("measure", None);
        sink.advance(3);
        let p = sampler.sample().unwrap();
        assert_eq!((p.phase.as_str(), p.done), ("measure", 3));
        sink.finish();
        assert_eq!(sampler.sample(), None, "a finished phase is not shown");
        let series = sampler.into_series();
        let names: Vec<_> = series.iter().map(|s| s.phase.as_str()).collect();
        assert_eq!(names, ["warm-up", "measure"]);
        assert_eq!(series[1].done, 3);
    }

    #[test]
    fn series_stay_bounded() {
        let sink = ProgressSink::detached();
        let mut sampler = sink.sampler();
        sink.phase("long", None);
        let t0 = Instant::now();
        for i in 0..(MAX_SERIES_POINTS as u64 * 3) {
            sink.advance(1);
            sampler.sample_at(t0 + Duration::from_millis(i + 1));
        }
        let series = sampler.into_series();
        assert!(series[0].points.len() <= MAX_SERIES_POINTS + 1);
        assert!(series[0].points.len() > MAX_SERIES_POINTS / 2);
    }

    #[test]
    fn long_phase_names_are_cut_on_a_character_boundary() {
        let sink = ProgressSink::detached();
        let mut sampler = sink.sampler();
        sink.phase(&"µ".repeat(100), None);
        sink.set_detail("é".repeat(100));
        let p = sampler.sample().unwrap();
        assert!(p.phase.len() <= MAX_PHASE_LEN);
        assert!(p.phase.chars().all(|c| c == 'µ'));
        let detail = p.detail.unwrap();
        assert!(detail.len() <= MAX_PHASE_LEN && detail.len() >= MAX_PHASE_LEN - 1);
        assert!(detail.chars().all(|c| c == 'é'));
    }
}
