//! Start-up timing in the discipline of `hyperfine -N`: no shell, runs one
//! after the other, warm-up runs discarded, each run the wall time from spawn
//! to exit, user and system CPU time from `wait4`. Children are spawned with
//! `clone(CLONE_VM | CLONE_VFORK)` and `execveat` on the program's
//! descriptor (`spawn`), the same kind of spawn as hyperfine's
//! `posix_spawn`, so the two measure the same thing; the end of a run is
//! detected with `waitid(WNOWAIT)` before the reap, so nothing after the
//! exit is timed. After each reap, whatever the run left behind (its group,
//! orphans that left it) is killed, outside the timed part.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::os::fd::AsFd;

use super::child::{ExitStatus, reap, wait_exited_no_reap};
use super::{CommandSpec, reaper, spawn};
use crate::events::ProgressSink;
use crate::probes::ProbeError;

/// Most measured runs of one call.
pub const MAX_RUNS: u32 = 10_000;
/// Most warm-up runs of one call.
pub const MAX_WARMUP: u32 = 1_000;

/// Statistics of the measured runs, in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupStats {
    pub runs: u32,
    pub mean: f64,
    /// Sample standard deviation (n − 1), as hyperfine reports it.
    pub stdev: f64,
    pub median: f64,
    pub min: u64,
    pub max: u64,
    /// Mean user CPU time per run.
    pub user: f64,
    /// Mean system CPU time per run.
    pub system: f64,
    pub failed_runs: u32,
    pub last_failure: Option<ExitStatus>,
    /// Every measured run's wall time, in run order.
    pub samples: Vec<u64>,
}

impl StartupStats {
    fn from_runs(
        samples: Vec<u64>,
        user: &[u64],
        system: &[u64],
        failures: (u32, Option<ExitStatus>),
    ) -> Self {
        let n = samples.len();
        let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / n as f64;
        let stdev = if n > 1 {
            (samples
                .iter()
                .map(|&s| (s as f64 - mean).powi(2))
                .sum::<f64>()
                / (n - 1) as f64)
                .sqrt()
        } else {
            0.0
        };
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        let median = if n % 2 == 1 {
            sorted[n / 2] as f64
        } else {
            (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0
        };
        let avg = |v: &[u64]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
        StartupStats {
            runs: n as u32,
            mean,
            stdev,
            median,
            min: sorted[0],
            max: sorted[n - 1],
            user: avg(user),
            system: avg(system),
            failed_runs: failures.0,
            last_failure: failures.1,
            samples,
        }
    }
}

/// The pid of the run in progress (0 between runs), shared with the guard
/// that kills it when the caller goes away.
type Current = Arc<Mutex<u32>>;

/// Stops the measuring thread when the timing future is dropped (scenario
/// deadline, Ctrl-C): no more runs start, and the one in flight is killed.
struct CancelGuard {
    cancel: Arc<AtomicBool>,
    current: Current,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        let pid = *self.current.lock().unwrap_or_else(|p| p.into_inner());
        if pid != 0 {
            // Not reaped while `current` holds it (see `run_once`), so the
            // group id is still this run's.
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
    }
}

fn usage_ns(tv: libc::timeval) -> u64 {
    (tv.tv_sec.max(0) as u64) * 1_000_000_000 + (tv.tv_usec.max(0) as u64) * 1_000
}

struct Run {
    wall: Duration,
    user: u64,
    system: u64,
    status: ExitStatus,
}

/// What every run of one timing shares: the prepared command and
/// `/dev/null` for its streams.
struct Runner {
    prepared: spawn::Prepared,
    null: std::fs::File,
}

impl Runner {
    fn new(spec: &CommandSpec) -> Result<Self, ProbeError> {
        let failed = |e: std::io::Error| {
            ProbeError::Io(format!("cannot start `{}`: {e}", spec.program.display()))
        };
        Ok(Self {
            prepared: spec.prepare().map_err(failed)?,
            null: std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(failed)?,
        })
    }

    fn run_once(&self, current: &Current, cancel: &AtomicBool) -> Result<Run, ProbeError> {
        let null = self.null.as_fd();
        let start = Instant::now();
        let pid = spawn::spawn(
            &self.prepared,
            spawn::Stdio {
                stdin: null,
                stdout: null,
                stderr: null,
            },
            spawn::Options {
                death_signal: true,
                subreaper: false,
            },
        )
        .map_err(|e| {
            ProbeError::Io(format!(
                "cannot start `{}`: {e}",
                self.prepared.executable().path().display()
            ))
        })?;
        *current.lock().unwrap_or_else(|p| p.into_inner()) = pid;
        if cancel.load(Ordering::SeqCst) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
        wait_exited_no_reap(pid);
        let wall = start.elapsed();
        let mut cur = current.lock().unwrap_or_else(|p| p.into_inner());
        *cur = 0;
        // What is left of the run's group (the leader is a zombie, so the
        // group id is still this run's), then the reap, under the lock so
        // the guard never signals a reused pid.
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
        }
        let (status, usage) = reap(pid);
        reaper::forget(pid);
        drop(cur);
        // Descendants that left the group were re-parented to the host.
        reaper::sweep_orphans();
        Ok(Run {
            wall,
            user: usage_ns(usage.ru_utime),
            system: usage_ns(usage.ru_stime),
            status,
        })
    }
}

/// Times `spec`: `warmup` untimed runs, then `runs` timed ones.
pub async fn time_startup(
    spec: CommandSpec,
    warmup: u32,
    runs: u32,
    progress: ProgressSink,
) -> Result<StartupStats, ProbeError> {
    if runs == 0 || runs > MAX_RUNS {
        return Err(ProbeError::Invalid(format!(
            "runs is {runs}; it must be 1..={MAX_RUNS}"
        )));
    }
    if warmup > MAX_WARMUP {
        return Err(ProbeError::Invalid(format!(
            "warmup is {warmup}; it must be at most {MAX_WARMUP}"
        )));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let current: Current = Arc::default();
    let _guard = CancelGuard {
        cancel: Arc::clone(&cancel),
        current: Arc::clone(&current),
    };
    let task = tokio::task::spawn_blocking(move || {
        let runner = Runner::new(&spec)?;
        for _ in 0..warmup {
            if cancel.load(Ordering::SeqCst) {
                return Err(ProbeError::Timeout("start-up timing was cancelled".into()));
            }
            runner.run_once(&current, &cancel)?;
            progress.advance(1);
        }
        let mut samples = Vec::with_capacity(runs as usize);
        let mut user = Vec::with_capacity(runs as usize);
        let mut system = Vec::with_capacity(runs as usize);
        let mut failures = (0u32, None);
        for _ in 0..runs {
            if cancel.load(Ordering::SeqCst) {
                return Err(ProbeError::Timeout("start-up timing was cancelled".into()));
            }
            let run = runner.run_once(&current, &cancel)?;
            progress.advance(1);
            samples.push(u64::try_from(run.wall.as_nanos()).unwrap_or(u64::MAX));
            user.push(run.user);
            system.push(run.system);
            if !run.status.success() {
                failures.0 += 1;
                failures.1 = Some(run.status);
            }
        }
        Ok(StartupStats::from_runs(samples, &user, &system, failures))
    });
    task.await
        .map_err(|e| ProbeError::Io(format!("the start-up timing thread failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_match_hand_computed_values() {
        let s = StartupStats::from_runs(
            vec![4, 1, 3, 2],
            &[10, 20, 30, 40],
            &[1, 1, 1, 1],
            (0, None),
        );
        assert_eq!((s.min, s.max, s.runs), (1, 4, 4));
        assert_eq!(s.mean, 2.5);
        assert_eq!(s.median, 2.5);
        assert!((s.stdev - 1.290_994).abs() < 1e-5, "{}", s.stdev);
        assert_eq!((s.user, s.system), (25.0, 1.0));
        let one = StartupStats::from_runs(vec![7], &[0], &[0], (0, None));
        assert_eq!((one.median, one.stdev), (7.0, 0.0));
    }

    #[tokio::test]
    async fn times_true_and_counts_failures() {
        let truth = super::super::find_on_path("true").unwrap();
        let s = time_startup(
            CommandSpec::new(truth).unwrap(),
            2,
            10,
            ProgressSink::detached(),
        )
        .await
        .unwrap();
        assert_eq!((s.runs, s.failed_runs, s.samples.len()), (10, 0, 10));
        assert!(s.min > 0 && s.min as f64 <= s.median && s.median <= s.max as f64);
        assert!(s.mean < 1e9, "{s:?}");
        let falsy = super::super::find_on_path("false").unwrap();
        let s = time_startup(
            CommandSpec::new(falsy).unwrap(),
            0,
            3,
            ProgressSink::detached(),
        )
        .await
        .unwrap();
        assert_eq!(s.failed_runs, 3);
        assert_eq!(s.last_failure, Some(ExitStatus::Code(1)));
    }

    #[tokio::test]
    async fn bad_counts_and_missing_programs_are_errors() {
        let spec = CommandSpec::new("/bin/true").unwrap();
        assert!(matches!(
            time_startup(spec.clone(), 0, 0, ProgressSink::detached()).await,
            Err(ProbeError::Invalid(_))
        ));
        assert!(matches!(
            time_startup(spec, 5000, 1, ProgressSink::detached()).await,
            Err(ProbeError::Invalid(_))
        ));
        // Opened, but not executable: every run fails to start.
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::write(&data, "not a program").unwrap();
        let err = time_startup(
            CommandSpec::new(&data).unwrap(),
            0,
            1,
            ProgressSink::detached(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ProbeError::Io(m) if m.contains("data")));
    }

    #[tokio::test]
    async fn dropping_the_timing_kills_the_run_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let spec = CommandSpec::new("/bin/sh")
            .unwrap()
            .arg("-c")
            .arg(format!("echo $$ > '{}'; exec sleep 30", pid_file.display()));
        let r = tokio::time::timeout(
            Duration::from_millis(300),
            time_startup(spec, 0, 5, ProgressSink::detached()),
        )
        .await;
        assert!(r.is_err(), "the timing should still be running");
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed by the guard, then reaped by the measuring thread, which
        // stops instead of starting the next run.
        let deadline = Instant::now() + Duration::from_secs(3);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "run {pid} survived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            std::fs::read_to_string(&pid_file).unwrap().trim(),
            pid.to_string(),
            "a new run started"
        );
    }

    #[tokio::test]
    async fn what_a_run_leaves_behind_is_killed_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let spec = CommandSpec::new("/bin/sh").unwrap().arg("-c").arg(format!(
            "setsid sleep 300 & echo $! >> '{p}'; sleep 300 & echo $! >> '{p}'",
            p = pids.display()
        ));
        let s = time_startup(spec, 0, 2, ProgressSink::detached())
            .await
            .unwrap();
        assert_eq!(s.failed_runs, 0);
        let left: Vec<u32> = std::fs::read_to_string(&pids)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(left.len(), 4);
        let deadline = Instant::now() + Duration::from_secs(5);
        let alive = |pid: u32| {
            std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z")
        };
        while left.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for pid in left {
            assert!(!alive(pid), "{pid} outlived its run");
        }
    }
}
