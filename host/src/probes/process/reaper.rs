//! No descendant outlives its scenario, including those that leave their
//! process group or session (`setpgid`, `setsid`, double forks).
//!
//! Mechanism: a child subreaper, not a cgroup. cgroup v2 needs a delegated,
//! writable subtree, which an unprivileged run (and a hybrid v1/v2 host)
//! does not have; the subreaper works for any user on Linux 3.4+.
//!
//! - rigor makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`) before
//!   its first spawn, so an orphaned descendant is re-parented to rigor, not
//!   to init, and stays visible and reapable.
//! - Each spawned command is marked with `no_new_privs` (which no process
//!   can clear, and every descendant inherits): an orphan re-parented to
//!   rigor that carries the mark and is not one of the children the process
//!   probe is managing came from a scenario's child; rigor's own
//!   redis-server and build tools lack the mark and are never touched.
//!   rigor runs one scenario at a time, so such an orphan is the current
//!   scenario's.
//! - Service children (`spawn`) are subreapers themselves while they run,
//!   so whatever they start stays in their subtree and is found by walking
//!   `/proc` from them.
//! - A child's stop signals its group and its whole subtree; when its exit is
//!   collected, and when the scenario's process context drops, the marked
//!   orphans are killed and reaped ([`sweep_orphans`]), round after round
//!   until none is left.
//!
//! Processes are signalled through a pidfd opened after checking the pid's
//! start time, so a pid reused meanwhile is never hit. If rigor itself runs
//! with `no_new_privs` (some container and systemd settings), the mark
//! cannot tell anything apart and the orphan sweep is skipped; subtrees of
//! live children are still stopped.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long a sweep keeps killing and reaping before giving up (only a
/// process stuck in the kernel outlasts SIGKILL this long).
pub const SWEEP_WAIT: Duration = Duration::from_secs(5);

/// Pause between the rounds of a sweep, while killed processes exit.
const ROUND_PAUSE: Duration = Duration::from_millis(1);

/// Pids the process probe spawned and has not reaped yet, in any scenario.
/// A sweep never touches them: their owners stop and reap them.
static MANAGED: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

fn managed() -> MutexGuard<'static, BTreeSet<u32>> {
    // A set of integers stays consistent whatever panicked.
    MANAGED.lock().unwrap_or_else(|p| p.into_inner())
}

/// What was found out once about this process.
struct HostSetup {
    pid: u32,
    /// Whether marked orphans can be told apart (rigor lacks the mark).
    mark_usable: bool,
    /// Whether `/proc/PID/task/TID/children` exists on this kernel.
    children_files: bool,
}

/// Set up on the first spawn; until then rigor has no marked descendants.
static SETUP: OnceLock<HostSetup> = OnceLock::new();

fn host() -> &'static HostSetup {
    SETUP.get_or_init(|| {
        // SAFETY: prctl with these arguments only sets a flag of this process.
        unsafe {
            libc::prctl(
                libc::PR_SET_CHILD_SUBREAPER,
                1 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            );
        }
        let pid = std::process::id();
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        HostSetup {
            pid,
            mark_usable: !marked(pid),
            children_files: std::path::Path::new(&format!("/proc/{pid}/task/{tid}/children"))
                .exists(),
        }
    })
}

/// Makes rigor a child subreaper (once, before its first spawn).
pub fn ensure_subreaper() {
    host();
}

/// Runs `spawn` under the registry lock and records the pid it returns as
/// managed, so no concurrent sweep can take the new child for an orphan.
pub(crate) fn spawn_managed(spawn: impl FnOnce() -> std::io::Result<u32>) -> std::io::Result<u32> {
    ensure_subreaper();
    let mut set = managed();
    let pid = spawn()?;
    set.insert(pid);
    Ok(pid)
}

/// Forgets a managed pid once its owner reaped it.
pub(crate) fn forget(pid: u32) {
    managed().remove(&pid);
}

/// A process, identified by its pid and start time together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proc {
    pid: u32,
    start: u64,
    zombie: bool,
}

/// Reads the state and start time of `pid` from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(Proc, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last `)`.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields from 3 on: state(3) ppid(4) ... starttime(22).
    let state = fields.first()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((
        Proc {
            pid,
            start,
            zombie: *state == "Z" || *state == "X",
        },
        ppid,
    ))
}

/// Whether `pid` runs with `no_new_privs`.
fn marked(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| {
            s.lines()
                .any(|l| l.strip_prefix("NoNewPrivs:").map(str::trim) == Some("1"))
        })
        .unwrap_or(false)
}

/// The direct children of `pid` right now.
fn children(pid: u32) -> Vec<u32> {
    if host().children_files {
        let mut out = Vec::new();
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let file = task.path().join("children");
                if let Ok(list) = std::fs::read_to_string(file) {
                    out.extend(
                        list.split_whitespace()
                            .filter_map(|p| p.parse::<u32>().ok()),
                    );
                }
            }
        }
        return out;
    }
    // Without the children files: every process's parent, from /proc.
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| stat(p).is_some_and(|(_, ppid)| ppid == pid))
        .collect()
}

/// Every descendant of `root` (not `root` itself), parents before children.
fn descendants(root: u32) -> Vec<Proc> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        for pid in children(parent) {
            if !seen.insert(pid) {
                continue;
            }
            if let Some((p, ppid)) = stat(pid)
                && ppid == parent
            {
                out.push(p);
                queue.push(pid);
            }
        }
    }
    out
}

/// Sends `sig` to `p` if it is still the same process (pid and start
/// time), through a pidfd so a reused pid is never signalled.
fn signal(p: Proc, sig: libc::c_int) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, p.pid as libc::pid_t, 0) };
    if fd < 0 {
        return;
    }
    let fd = fd as libc::c_int;
    if stat(p.pid).is_some_and(|(now, _)| now.start == p.start) {
        // SAFETY: fd is the pidfd opened above; no siginfo is passed.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
    }
    // SAFETY: fd was opened above and is closed once.
    unsafe {
        libc::close(fd);
    }
}

/// Sends `sig` to every live process in `root`'s subtree, once.
pub fn signal_subtree(root: u32, sig: libc::c_int) {
    for p in descendants(root) {
        if !p.zombie {
            signal(p, sig);
        }
    }
}

/// The orphans re-parented to rigor that carry the sandbox mark and that
/// no owner manages, with their subtrees.
fn orphans() -> (Vec<Proc>, Vec<Proc>) {
    let me = host().pid;
    let mut adopted = Vec::new();
    for pid in children(me) {
        if let Some((p, ppid)) = stat(pid)
            && ppid == me
            && marked(pid)
        {
            adopted.push(p);
        }
    }
    let set = managed();
    adopted.retain(|p| !set.contains(&p.pid));
    drop(set);
    let below = adopted
        .iter()
        .filter(|p| !p.zombie)
        .flat_map(|p| descendants(p.pid))
        .collect();
    (adopted, below)
}

/// Kills every marked orphan re-parented to rigor, with its subtree, and
/// reaps them, round after round until none is left or [`SWEEP_WAIT`]
/// passed. Returns how many kill signals were sent (a process that takes a
/// while to die is counted once per round).
pub fn sweep_orphans() -> usize {
    // Nothing was ever spawned (and rigor is not a subreaper): nothing to do.
    if !SETUP.get().is_some_and(|h| h.mark_usable) {
        return 0;
    }
    let deadline = Instant::now() + SWEEP_WAIT;
    let mut killed = 0;
    loop {
        let (adopted, below) = orphans();
        if adopted.is_empty() {
            return killed;
        }
        for p in adopted.iter().chain(&below).filter(|p| !p.zombie) {
            signal(*p, libc::SIGKILL);
            killed += 1;
        }
        for p in adopted.iter().filter(|p| p.zombie) {
            reap_orphan(p.pid);
        }
        if Instant::now() >= deadline {
            return killed;
        }
        std::thread::sleep(ROUND_PAUSE);
    }
}

/// Reaps an exited orphan (a child of rigor nobody else waits for).
fn reap_orphan(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid on a specific pid, status is a plain int.
    unsafe {
        libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_reads_this_process() {
        let (me, ppid) = stat(std::process::id()).unwrap();
        assert!(!me.zombie && me.start > 0 && ppid > 0);
        assert!(stat(u32::MAX).is_none());
    }

    #[test]
    fn this_test_process_is_not_marked() {
        assert!(!marked(std::process::id()));
        assert!(host().mark_usable);
    }
}
