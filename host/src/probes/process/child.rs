//! A spawned child: its own process group, output drained into bounded
//! rings, exit watched by a thread blocked in `waitid(WNOWAIT)` (the child is
//! not reaped until its owner says so, so its pid and group id cannot be
//! reused while they are signalled), stopped with its whole subtree and
//! reaped on drop; the orphans it leaves are swept when it is reaped.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::CommandSpec;
use super::output::{self, OutputRing};
use super::{reaper, spawn};
use crate::probes::children::ChildPids;

/// How long SIGTERM gets before SIGKILL when a child is stopped without an
/// explicit grace period (dropped handle, scenario end, Ctrl-C).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// How long a SIGKILLed child may take to disappear before the host gives up
/// waiting for it (only a process stuck in the kernel takes longer).
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Poll interval of the synchronous stop in `Drop`.
const DROP_POLL: Duration = Duration::from_millis(2);

/// How long to wait, after an exit, for the drain threads to reach the end
/// of the output, so a failure's tail holds its last lines. End of output
/// normally follows the exit at once; the wait only runs out when a
/// descendant still holds the pipe, or when a busy machine has not yet
/// scheduled the drain thread, so it errs on the long side.
const SETTLE_OUTPUT: Duration = Duration::from_secs(2);

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    /// Decodes a `wait` status word.
    pub fn from_raw(status: libc::c_int) -> Self {
        if libc::WIFSIGNALED(status) {
            ExitStatus::Signal(libc::WTERMSIG(status))
        } else {
            ExitStatus::Code(libc::WEXITSTATUS(status))
        }
    }

    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// A child that has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub status: ExitStatus,
    /// From spawn to exit.
    pub after: Duration,
}

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start `{program}`: {source}")]
pub struct SpawnError {
    pub program: String,
    pub source: std::io::Error,
}

/// A running or ended child process.
#[derive(Debug)]
pub struct ChildProcess {
    pid: u32,
    started: Instant,
    /// `Some(when)` once the child has exited (not yet reaped).
    exited: watch::Receiver<Option<Instant>>,
    exit: Option<ExitInfo>,
    stdout: Arc<OutputRing>,
    stderr: Arc<OutputRing>,
    pids: ChildPids,
}

/// Sends `sig` to the process group `pgid`.
fn signal_group(pgid: u32, sig: libc::c_int) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 0
    {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// Blocks until `pid` has exited, without reaping it.
pub(crate) fn wait_exited_no_reap(pid: u32) {
    loop {
        // SAFETY: siginfo_t is plain data; waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// Reaps `pid`, returning its status and resource usage.
pub(crate) fn reap(pid: u32) -> (ExitStatus, libc::rusage) {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if r == pid as libc::pid_t {
            return (ExitStatus::from_raw(status), usage);
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // Already reaped elsewhere: nothing is known about how it ended.
            return (ExitStatus::Code(-1), usage);
        }
    }
}

impl ChildProcess {
    /// Spawns `spec` with stdout and stderr captured. The child gets
    /// `PR_SET_PDEATHSIG = SIGKILL` (the kernel kills it when the thread
    /// that spawned it exits, which for the host's runtime threads means
    /// when the host itself goes away) and is a subreaper, so what it starts
    /// stays in its subtree.
    pub fn spawn(spec: &CommandSpec, pids: &ChildPids) -> Result<ChildProcess, SpawnError> {
        let program = spec.program.display().to_string();
        let failed = |source| SpawnError {
            program: program.clone(),
            source,
        };
        let prepared = spec.prepare().map_err(failed)?;
        let (out_reader, out_writer) = std::io::pipe().map_err(failed)?;
        let (err_reader, err_writer) = std::io::pipe().map_err(failed)?;
        let null = std::fs::File::open("/dev/null").map_err(failed)?;
        let pid = spawn::spawn(
            &prepared,
            spawn::Stdio {
                stdin: null.as_fd(),
                stdout: out_writer.as_fd(),
                stderr: err_writer.as_fd(),
            },
            spawn::Options {
                death_signal: true,
                subreaper: true,
            },
        )
        .map_err(failed)?;
        let started = Instant::now();
        // The child has its copies: the readers see the end of the streams
        // when it (and whatever inherited them) is gone.
        drop((out_writer, err_writer, null));
        pids.insert(pid);
        let stdout = Arc::new(OutputRing::default());
        let stderr = Arc::new(OutputRing::default());
        output::drain(format!("rigor-out-{pid}"), out_reader, Arc::clone(&stdout));
        output::drain(format!("rigor-err-{pid}"), err_reader, Arc::clone(&stderr));
        let (exit_tx, exited) = watch::channel(None);
        let watcher = std::thread::Builder::new()
            .name(format!("rigor-wait-{pid}"))
            .spawn(move || {
                wait_exited_no_reap(pid);
                exit_tx.send_replace(Some(Instant::now()));
            });
        let mut this = ChildProcess {
            pid,
            started,
            exited,
            exit: None,
            stdout,
            stderr,
            pids: pids.clone(),
        };
        if let Err(source) = watcher {
            // Without a watcher the exit would go unnoticed: stop it now.
            this.signal_all(libc::SIGKILL);
            wait_exited_no_reap(pid);
            this.finish(Instant::now());
            return Err(failed(source));
        }
        Ok(this)
    }

    /// Sends `sig` to the child's group and to its whole subtree, including
    /// descendants that left the group or the session.
    fn signal_all(&self, sig: libc::c_int) {
        signal_group(self.pid, sig);
        reaper::signal_subtree(self.pid, sig);
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Time since spawn, or from spawn to exit once it has ended.
    pub fn elapsed(&self) -> Duration {
        match (&self.exit, *self.exited.borrow()) {
            (Some(e), _) => e.after,
            (None, Some(at)) => at.duration_since(self.started),
            (None, None) => self.started.elapsed(),
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn stdout(&self) -> &Arc<OutputRing> {
        &self.stdout
    }

    pub fn stderr(&self) -> &Arc<OutputRing> {
        &self.stderr
    }

    /// A receiver that turns `Some` when the child exits.
    pub(crate) fn exit_watch(&self) -> watch::Receiver<Option<Instant>> {
        self.exited.clone()
    }

    /// Reaps an exited child: first SIGKILL to what is left of its group
    /// (the leader is a zombie, so the group id is still ours), then wait4,
    /// then the sweep of the orphans it left (its subtree was re-parented
    /// to the host when it exited).
    fn finish(&mut self, exited_at: Instant) -> ExitInfo {
        if let Some(e) = self.exit {
            return e;
        }
        signal_group(self.pid, libc::SIGKILL);
        let (status, _) = reap(self.pid);
        reaper::forget(self.pid);
        reaper::sweep_orphans();
        self.pids.remove(self.pid);
        let info = ExitInfo {
            status,
            after: exited_at.saturating_duration_since(self.started),
        };
        self.exit = Some(info);
        info
    }

    /// The exit, if the child has ended (reaping it).
    pub fn try_exit(&mut self) -> Option<ExitInfo> {
        if let Some(e) = self.exit {
            return Some(e);
        }
        let at = (*self.exited.borrow())?;
        Some(self.finish(at))
    }

    /// Waits up to `timeout` for the child to end. An exit is returned only
    /// once its output has reached the tails (see [`Self::settle_output`]),
    /// also when the child had already ended before the call: its last
    /// bytes may still be in the pipe then.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitInfo> {
        let info = match self.try_exit() {
            Some(e) => e,
            None => {
                let mut rx = self.exited.clone();
                let at = tokio::time::timeout(timeout, rx.wait_for(Option::is_some))
                    .await
                    .ok()?
                    .ok()
                    .and_then(|at| *at)?;
                self.finish(at)
            }
        };
        self.settle_output().await;
        Some(info)
    }

    /// SIGTERM to the group, SIGKILL after `grace`, then reap.
    pub async fn kill(&mut self, grace: Duration) -> ExitInfo {
        if let Some(e) = self.try_exit() {
            self.settle_output().await;
            return e;
        }
        self.signal_all(libc::SIGTERM);
        if let Some(e) = self.wait(grace).await {
            return e;
        }
        self.signal_all(libc::SIGKILL);
        if let Some(e) = self.wait(KILL_WAIT).await {
            return e;
        }
        // Stuck in the kernel: report what was done; Drop tries again.
        ExitInfo {
            status: ExitStatus::Signal(libc::SIGKILL),
            after: self.started.elapsed(),
        }
    }

    /// Waits (briefly) until both output streams reached their end.
    pub async fn settle_output(&self) {
        let deadline = Instant::now() + SETTLE_OUTPUT;
        while !(self.stdout.is_closed() && self.stderr.is_closed()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The synchronous stop used by `Drop`.
    fn stop_blocking(&mut self, grace: Duration) {
        if self.try_exit().is_some() {
            return;
        }
        let exited = |rx: &watch::Receiver<Option<Instant>>, limit: Duration| {
            let deadline = Instant::now() + limit;
            loop {
                if let Some(at) = *rx.borrow() {
                    return Some(at);
                }
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(DROP_POLL);
            }
        };
        self.signal_all(libc::SIGTERM);
        let at = exited(&self.exited, grace).or_else(|| {
            self.signal_all(libc::SIGKILL);
            exited(&self.exited, KILL_WAIT)
        });
        if let Some(at) = at {
            self.finish(at);
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop_blocking(DEFAULT_GRACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> CommandSpec {
        CommandSpec::new("/bin/sh").unwrap().arg("-c").arg(script)
    }

    fn alive(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn exit_code_output_and_pid_bookkeeping() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("echo out; echo err >&2; exit 3"), &pids).unwrap();
        assert!(pids.contains(child.pid()));
        let exit = child.wait(Duration::from_secs(5)).await.unwrap();
        assert_eq!(exit.status, ExitStatus::Code(3));
        assert_eq!(child.stdout().text(), "out");
        assert_eq!(child.stderr().text(), "err");
        assert!(!pids.contains(child.pid()));
        assert!(!alive(child.pid()));
        // Asking again returns the same exit.
        assert_eq!(child.wait(Duration::ZERO).await, Some(exit));
        assert_eq!(child.kill(Duration::ZERO).await, exit);
    }

    #[tokio::test]
    async fn environment_is_empty_unless_given() {
        let pids = ChildPids::default();
        let spec = CommandSpec::new("/usr/bin/env")
            .unwrap()
            .env("ONLY", "this");
        let mut child = ChildProcess::spawn(&spec, &pids).unwrap();
        child.wait(Duration::from_secs(5)).await.unwrap();
        assert_eq!(child.stdout().text(), "ONLY=this");
    }

    #[tokio::test]
    async fn a_child_ignoring_sigterm_is_killed_after_the_grace_period() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(
            &sh("trap '' TERM; echo armed; while true; do sleep 0.05; done"),
            &pids,
        )
        .unwrap();
        let pid = child.pid();
        // Wait until the trap is set, or SIGTERM could arrive before it.
        let mut rx = child.stdout().subscribe();
        while child.stdout().text() != "armed" {
            rx.changed().await.unwrap();
        }
        let started = Instant::now();
        let exit = child.kill(Duration::from_millis(300)).await;
        let took = started.elapsed();
        assert_eq!(exit.status, ExitStatus::Signal(libc::SIGKILL));
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(!alive(pid));
    }

    #[tokio::test]
    async fn sigterm_stops_the_whole_group_including_grandchildren() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("sleep 30 & echo $!; wait"), &pids).unwrap();
        let mut rx = child.stdout().subscribe();
        while child.stdout().text().is_empty() {
            rx.changed().await.unwrap();
        }
        let grandchild: u32 = child.stdout().text().trim().parse().unwrap();
        assert!(alive(grandchild));
        let exit = child.kill(DEFAULT_GRACE).await;
        assert_eq!(exit.status, ExitStatus::Signal(libc::SIGTERM));
        // The grandchild may need a moment to be reaped by init.
        let deadline = Instant::now() + Duration::from_secs(2);
        while alive(grandchild) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(grandchild), "grandchild {grandchild} survived");
    }

    #[tokio::test]
    async fn dropping_the_handle_stops_the_child() {
        let pids = ChildPids::default();
        let child = ChildProcess::spawn(&sh("exec sleep 30"), &pids).unwrap();
        let pid = child.pid();
        assert!(alive(pid));
        drop(child);
        assert!(!alive(pid));
        assert!(pids.snapshot().is_empty());
    }

    #[tokio::test]
    async fn output_stays_bounded_for_a_child_writing_100_mb() {
        let pids = ChildPids::default();
        let spec = CommandSpec::new("/usr/bin/head")
            .unwrap()
            .arg("-c")
            .arg("100000000")
            .arg("/dev/zero");
        let mut child = ChildProcess::spawn(&spec, &pids).unwrap();
        let exit = child.wait(Duration::from_secs(60)).await.unwrap();
        assert!(exit.status.success());
        assert_eq!(child.stdout().total(), 100_000_000);
        assert_eq!(child.stdout().kept(), output::TAIL_BYTES);
    }

    /// A child that ended before `wait` was called: its last bytes may
    /// still be on their way from the pipe to the tail, and `wait` must not
    /// return before they are there (a short program's whole output would
    /// otherwise read as empty). The tail is held locked past the exit so
    /// the drain cannot be first by luck.
    #[tokio::test]
    async fn wait_after_the_exit_still_returns_the_whole_output() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("sleep 0.1; echo hello"), &pids).unwrap();
        let ring = Arc::clone(child.stdout());
        let released = Arc::new(AtomicBool::new(false));
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let mut exited = child.exit_watch();
        let holder = std::thread::spawn({
            let released = Arc::clone(&released);
            move || {
                let _guard = ring.hold_for_test();
                locked_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(400));
                released.store(true, Ordering::SeqCst);
            }
        });
        locked_rx.recv().unwrap();
        exited.wait_for(Option::is_some).await.unwrap();
        let exit = child.wait(Duration::from_secs(10)).await.unwrap();
        assert!(
            released.load(Ordering::SeqCst),
            "wait returned while the output was still held back"
        );
        assert!(exit.status.success());
        assert_eq!(child.stdout().text(), "hello");
        holder.join().unwrap();
    }

    #[test]
    fn a_missing_program_cannot_even_be_described() {
        let err = CommandSpec::new("/nonexistent/x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    }

    #[tokio::test]
    async fn a_program_that_fails_to_exec_is_a_spawn_error() {
        let pids = ChildPids::default();
        // Readable but not executable.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "not a program").unwrap();
        let err = ChildProcess::spawn(&CommandSpec::new(&file).unwrap(), &pids).unwrap_err();
        assert!(err.to_string().contains("data"), "{err}");
        assert!(err.to_string().contains("ermission denied"), "{err}");
        assert!(pids.snapshot().is_empty());
    }

    /// The pid a child printed on its first line.
    async fn printed_pid(child: &ChildProcess) -> u32 {
        let mut rx = child.stdout().subscribe();
        loop {
            let text = child.stdout().text();
            if let Some(line) = text.lines().next()
                && let Ok(pid) = line.trim().parse()
            {
                return pid;
            }
            rx.changed().await.unwrap();
        }
    }

    /// The process group and session of `pid`.
    fn group_and_session(pid: u32) -> (u32, u32) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        (rest[2].parse().unwrap(), rest[3].parse().unwrap())
    }

    async fn gone(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        !alive(pid)
    }

    #[tokio::test]
    async fn descendants_that_left_the_group_or_session_are_killed_with_the_child() {
        let pids = ChildPids::default();
        for (how, script) in [
            ("setsid", "setsid sleep 300 & echo $!; wait"),
            (
                "setpgid",
                "perl -e 'setpgrp(0, 0); exec \"sleep\", \"300\"' & echo $!; wait",
            ),
            // A double fork: the grandchild is re-parented to the child.
            ("daemon", "(setsid sleep 300 & echo $!) ; sleep 300"),
        ] {
            let mut child = ChildProcess::spawn(&sh(script), &pids).unwrap();
            let escaped = printed_pid(&child).await;
            assert!(alive(escaped), "{how}");
            // It really left the child's group.
            let deadline = Instant::now() + Duration::from_secs(5);
            while group_and_session(escaped).0 == child.pid() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_ne!(group_and_session(escaped).0, child.pid(), "{how}");
            child.kill(Duration::from_millis(500)).await;
            assert!(
                gone(escaped).await,
                "{how}: {escaped} survived its parent's stop"
            );
        }
    }

    #[tokio::test]
    async fn orphans_left_by_a_child_that_exited_are_swept_when_it_is_reaped() {
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("setsid sleep 300 & echo $!"), &pids).unwrap();
        let escaped = printed_pid(&child).await;
        let exit = child.wait(Duration::from_secs(10)).await.unwrap();
        assert!(exit.status.success());
        assert!(gone(escaped).await, "{escaped} survived");
    }

    #[tokio::test]
    async fn unmarked_children_of_the_host_are_left_alone() {
        // Like the host's own redis-server: a direct child spawned without
        // the process probe.
        let mut bystander = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        let pids = ChildPids::default();
        let mut child = ChildProcess::spawn(&sh("setsid sleep 300 & echo $!"), &pids).unwrap();
        let escaped = printed_pid(&child).await;
        child.wait(Duration::from_secs(10)).await.unwrap();
        assert!(gone(escaped).await);
        reaper::sweep_orphans();
        assert!(alive(bystander.id()), "the bystander was killed");
        bystander.kill().unwrap();
        bystander.wait().unwrap();
    }
}
