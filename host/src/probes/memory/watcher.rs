//! A memory watcher: a bounded series of (time, operations done, bytes)
//! samples of one process, taken on an interval by a tokio task and/or when
//! the scenario reports "K more operations done", and the leak verdict over
//! that series.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sample::{self, SampleError};
use super::stats::{self, Fit, MIN_SAMPLES};

/// Most points a series keeps. When full, every other point is dropped and
/// interval sampling halves its rate, so a long run still covers its whole
/// span in bounded memory (4096 × 24 B).
pub const MAX_POINTS: usize = 4096;
/// Shortest sampling interval (1 kHz).
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Which figure a watcher follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Resident set size (`statm`; cheap).
    Rss,
    /// Proportional set size (`smaps_rollup`).
    Pss,
    /// Unique set size (`smaps_rollup`).
    Uss,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Rss => "rss",
            Measure::Pss => "pss",
            Measure::Uss => "uss",
        }
    }
}

/// Reads `measure` of `pid`.
pub fn read(pid: u32, measure: Measure) -> Result<u64, SampleError> {
    match measure {
        Measure::Rss => sample::rss(pid),
        Measure::Pss | Measure::Uss => {
            let u = sample::usage(pid)?;
            let v = if measure == Measure::Pss {
                u.pss
            } else {
                u.uss
            };
            v.ok_or(SampleError::Unreadable {
                pid,
                file: "smaps_rollup",
                message: format!("no {} figure on this kernel; watch rss", measure.as_str()),
            })
        }
    }
}

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Nanoseconds since the watcher started.
    pub t_ns: u64,
    /// Operations reported done when the sample was taken.
    pub ops: u64,
    pub bytes: u64,
}

#[derive(Debug)]
struct Series {
    points: Vec<Point>,
    ops: u64,
    /// Interval ticks per recorded sample (doubles on each decimation).
    stride: u64,
    ticks: u64,
    /// Points dropped by decimation.
    dropped: u64,
    /// Why interval sampling stopped, if it did.
    error: Option<SampleError>,
}

impl Series {
    fn push(&mut self, p: Point) {
        if self.points.len() >= MAX_POINTS {
            let mut i = 0;
            self.points.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.dropped += (MAX_POINTS - self.points.len()) as u64;
            self.stride *= 2;
        }
        self.points.push(p);
    }
}

/// The watcher of one process.
#[derive(Debug)]
pub struct Watcher {
    pub pid: u32,
    pub measure: Measure,
    origin: Instant,
    series: Arc<Mutex<Series>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn lock(series: &Mutex<Series>) -> std::sync::MutexGuard<'_, Series> {
    series.lock().unwrap_or_else(|p| p.into_inner())
}

fn since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Watcher {
    /// Starts watching `pid`: takes the baseline sample now and, with an
    /// interval, samples in the background until the watcher is dropped or
    /// stopped. Must be called inside a tokio runtime when `interval` is set.
    pub fn start(
        pid: u32,
        measure: Measure,
        interval: Option<Duration>,
    ) -> Result<Self, SampleError> {
        let origin = Instant::now();
        let baseline = read(pid, measure)?;
        let series = Arc::new(Mutex::new(Series {
            points: vec![Point {
                t_ns: 0,
                ops: 0,
                bytes: baseline,
            }],
            ops: 0,
            stride: 1,
            ticks: 0,
            dropped: 0,
            error: None,
        }));
        let task = interval.map(|every| {
            let every = every.max(MIN_INTERVAL);
            let series = series.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    {
                        let mut s = lock(&series);
                        s.ticks += 1;
                        if !s.ticks.is_multiple_of(s.stride) {
                            continue;
                        }
                    }
                    // A /proc read never waits on a disk; it is done inline.
                    let value = read(pid, measure);
                    let mut s = lock(&series);
                    match value {
                        Ok(bytes) => {
                            let ops = s.ops;
                            s.push(Point {
                                t_ns: since(origin),
                                ops,
                                bytes,
                            });
                        }
                        Err(e) => {
                            s.error = Some(e);
                            return;
                        }
                    }
                }
            })
        });
        Ok(Self {
            pid,
            measure,
            origin,
            series,
            task,
        })
    }

    /// Adds `k` to the operations done and takes a sample now.
    pub fn ops_done(&self, k: u64) -> Result<Point, SampleError> {
        let bytes = read(self.pid, self.measure)?;
        let mut s = lock(&self.series);
        s.ops = s.ops.saturating_add(k);
        let p = Point {
            t_ns: since(self.origin),
            ops: s.ops,
            bytes,
        };
        s.push(p);
        Ok(p)
    }

    /// Time since the watcher started (its baseline sample).
    pub fn age(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Takes a sample now without counting operations.
    pub fn sample(&self) -> Result<Point, SampleError> {
        self.ops_done(0)
    }

    /// Stops interval sampling; the series is kept.
    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    pub fn points(&self) -> Vec<Point> {
        lock(&self.series).points.clone()
    }

    /// Why background sampling stopped early (the process exited).
    pub fn error(&self) -> Option<SampleError> {
        lock(&self.series).error.clone()
    }

    /// Points dropped to keep the series bounded.
    pub fn dropped(&self) -> u64 {
        lock(&self.series).dropped
    }

    pub fn verdict(&self, criteria: &Criteria) -> Verdict {
        verdict(&self.points(), criteria)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What counts as a leak. With neither limit set, any significant growth
/// whose confidence interval excludes zero is a leak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    /// Largest acceptable growth per operation (bytes).
    pub max_bytes_per_op: Option<f64>,
    /// Largest acceptable growth per second (bytes).
    pub max_bytes_per_second: Option<f64>,
    /// Significance level of the Mann–Kendall test.
    pub alpha: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        Self {
            max_bytes_per_op: Some(1024.0),
            max_bytes_per_second: None,
            alpha: 0.05,
        }
    }
}

/// The judgement on a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub samples: usize,
    /// Enough samples (and a fit where one was asked for) to judge.
    pub conclusive: bool,
    pub leak: bool,
    pub baseline_bytes: u64,
    pub final_bytes: u64,
    /// Bytes per operation (x = operations done).
    pub per_op: Option<Fit>,
    /// Bytes per second (x = time).
    pub per_second: Option<Fit>,
    pub mk_s: i64,
    pub mk_z: f64,
    pub mk_p: f64,
    /// One sentence with the figures, for findings and checks.
    pub summary: String,
}

/// Judges `points` against `criteria`.
pub fn verdict(points: &[Point], criteria: &Criteria) -> Verdict {
    let n = points.len();
    let ys: Vec<f64> = points.iter().map(|p| p.bytes as f64).collect();
    let ops: Vec<f64> = points.iter().map(|p| p.ops as f64).collect();
    let secs: Vec<f64> = points.iter().map(|p| p.t_ns as f64 / 1e9).collect();
    let per_op = stats::fit(&ops, &ys);
    let per_second = stats::fit(&secs, &ys);
    let mk = stats::mann_kendall(&ys);
    let trend = mk.s > 0 && mk.p_increasing < criteria.alpha;
    let over = |fit: Option<Fit>, limit: Option<f64>| match (fit, limit) {
        (Some(f), Some(l)) => f.ci_low > l,
        _ => false,
    };
    let no_limits = criteria.max_bytes_per_op.is_none() && criteria.max_bytes_per_second.is_none();
    let growth = over(per_op, criteria.max_bytes_per_op)
        || over(per_second, criteria.max_bytes_per_second)
        || (no_limits && per_op.or(per_second).is_some_and(|f| f.ci_low > 0.0));
    let wanted_fit = (criteria.max_bytes_per_op.is_none() || per_op.is_some())
        && (criteria.max_bytes_per_second.is_none() || per_second.is_some());
    let conclusive = n >= MIN_SAMPLES && wanted_fit;
    let leak = conclusive && trend && growth;
    let baseline_bytes = points.first().map_or(0, |p| p.bytes);
    let final_bytes = points.last().map_or(0, |p| p.bytes);
    let fmt_fit = |f: Option<Fit>, unit: &str| match f {
        Some(f) => format!(
            "{:.0} {unit} (95% CI {:.0}..{:.0}, R² {:.3})",
            f.slope, f.ci_low, f.ci_high, f.r_squared
        ),
        None => format!("n/a {unit}"),
    };
    let summary = format!(
        "{} over {n} samples: {} → {} bytes; slope {}, {}; Mann–Kendall S={} p={:.4}; limit {}",
        if !conclusive {
            "inconclusive"
        } else if leak {
            "leak"
        } else {
            "no leak"
        },
        baseline_bytes,
        final_bytes,
        fmt_fit(per_op, "B/op"),
        fmt_fit(per_second, "B/s"),
        mk.s,
        mk.p_increasing,
        match (criteria.max_bytes_per_op, criteria.max_bytes_per_second) {
            (Some(o), Some(s)) => format!("{o:.0} B/op or {s:.0} B/s"),
            (Some(o), None) => format!("{o:.0} B/op"),
            (None, Some(s)) => format!("{s:.0} B/s"),
            (None, None) => "any growth".into(),
        }
    );
    Verdict {
        samples: n,
        conclusive,
        leak,
        baseline_bytes,
        final_bytes,
        per_op,
        per_second,
        mk_s: mk.s,
        mk_z: mk.z,
        mk_p: mk.p_increasing,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Child, Command, Stdio};

    /// A python child that answers each stdin line with one stdout line and,
    /// when `leak` > 0, keeps `leak` bytes per line forever.
    fn service(leak: usize) -> (Child, BufReader<std::process::ChildStdout>) {
        let code = "import sys\nkept = []\nn = int(sys.argv[1])\nfor line in sys.stdin:\n    if n:\n        kept.append(bytearray(n))\n    sys.stdout.write('ok\\n')\n    sys.stdout.flush()\n";
        let mut child = Command::new("python3")
            .args(["-c", code, &leak.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 must be installed for the tests");
        let out = BufReader::new(child.stdout.take().unwrap());
        (child, out)
    }

    fn request(child: &mut Child, out: &mut BufReader<std::process::ChildStdout>) {
        child.stdin.as_mut().unwrap().write_all(b"x\n").unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "ok\n");
    }

    /// 200 warm-up requests, then 5 × 1,000 requests with a sample after
    /// each thousand (the memory-leak scenario's shape).
    fn judge(leak: usize) -> Verdict {
        let (mut child, mut out) = service(leak);
        for _ in 0..200 {
            request(&mut child, &mut out);
        }
        let w = Watcher::start(child.id(), Measure::Rss, None).unwrap();
        for _ in 0..5 {
            for _ in 0..1000 {
                request(&mut child, &mut out);
            }
            w.ops_done(1000).unwrap();
        }
        let v = w.verdict(&Criteria::default());
        let _ = child.kill();
        let _ = child.wait();
        v
    }

    #[test]
    fn a_10kb_per_request_leak_is_flagged_and_a_clean_process_is_not_repeatedly() {
        for round in 0..3 {
            let leaky = judge(10 * 1024);
            assert!(leaky.leak, "round {round}: {}", leaky.summary);
            let slope = leaky.per_op.unwrap();
            // The measured slope is the leak, within allocator overhead.
            assert!(
                slope.slope > 9_000.0 && slope.slope < 13_000.0,
                "round {round}: {}",
                leaky.summary
            );
            let clean = judge(0);
            assert!(
                clean.conclusive && !clean.leak,
                "round {round}: {}",
                clean.summary
            );
            // The margin: the clean slope's upper bound is far below the limit.
            assert!(
                clean.per_op.unwrap().ci_high < 512.0,
                "round {round}: {}",
                clean.summary
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn interval_sampling_is_bounded_and_stops_with_the_process() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let w = Watcher::start(child.id(), Measure::Rss, Some(MIN_INTERVAL)).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = w.points().len();
        assert!(n > 10, "{n} points in 100 ms at 1 kHz");
        assert!(w.points().windows(2).all(|p| p[0].t_ns < p[1].t_ns));
        child.kill().unwrap();
        child.wait().unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            matches!(w.error(), Some(SampleError::Gone { .. })),
            "{:?}",
            w.error()
        );
        assert!(w.ops_done(1).is_err());
    }

    #[test]
    fn decimation_keeps_the_series_bounded_and_spanning() {
        let mut s = Series {
            points: Vec::new(),
            ops: 0,
            stride: 1,
            ticks: 0,
            dropped: 0,
            error: None,
        };
        for i in 0..(MAX_POINTS as u64 * 3) {
            s.push(Point {
                t_ns: i,
                ops: i,
                bytes: i,
            });
        }
        assert!(s.points.len() <= MAX_POINTS);
        assert_eq!(s.points[0].t_ns, 0);
        assert_eq!(s.points.last().unwrap().t_ns, MAX_POINTS as u64 * 3 - 1);
        assert!(s.dropped > 0);
    }

    #[test]
    fn too_few_samples_are_inconclusive_never_a_leak() {
        let pts: Vec<Point> = (0..3)
            .map(|i| Point {
                t_ns: i * 1_000_000_000,
                ops: i * 1000,
                bytes: 1_000_000 + i * 10_000_000,
            })
            .collect();
        let v = verdict(&pts, &Criteria::default());
        assert!(!v.conclusive && !v.leak, "{}", v.summary);
    }

    #[test]
    fn steady_growth_below_the_limit_is_not_a_leak() {
        // +100 B/op, perfectly monotonic: significant trend, but under 1 KiB/op.
        let pts: Vec<Point> = (0..8u64)
            .map(|i| Point {
                t_ns: i * 1_000_000_000,
                ops: i * 1000,
                bytes: 50_000_000 + i * 100_000 + (i % 2) * 4096,
            })
            .collect();
        let v = verdict(&pts, &Criteria::default());
        assert!(v.conclusive && !v.leak, "{}", v.summary);
        assert!(v.mk_p < 0.05, "{}", v.summary);
        let strict = Criteria {
            max_bytes_per_op: Some(50.0),
            ..Criteria::default()
        };
        assert!(verdict(&pts, &strict).leak);
    }
}
