//! Starting a child from descriptors: the program with
//! `execveat(fd, "", argv, envp, AT_EMPTY_PATH)` and the working directory
//! with `fchdir`, so the file and directory checked when the command was
//! resolved are the ones used, whatever happens to their names meanwhile.
//!
//! Why hand-rolled rather than `std::process::Command`: std can only exec a
//! path. `/proc/self/fd/N` as that path would go through the name lookup
//! again, and an `execveat` in a `pre_exec` hook forces a full `fork` of
//! the host (copying the page tables of a large wasmtime process), which
//! would bias `time-startup` against hyperfine's `posix_spawn`. So this does
//! what glibc's `posix_spawn` does: `clone(CLONE_VM | CLONE_VFORK)` onto a
//! small private stack, the calling thread suspended until the child has
//! exec'd or exited, every signal blocked around the clone; the child only
//! makes system calls on data prepared before it (no allocation, no lock).

use std::ffi::{CString, c_char, c_int, c_void};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use super::program::{Executable, ScriptStart};
use super::reaper;

/// Size of the child's stack until it execs: it only runs
/// [`child_main`], a few system-call wrappers deep.
const STACK_SIZE: usize = 64 * 1024;

/// Signals are numbered 1..KERNEL_NSIG on Linux.
const KERNEL_NSIG: c_int = 65;

/// A command prepared for spawning: argument and environment blocks built
/// once (a timed command is spawned many times), the program and working
/// directory as descriptors.
pub struct Prepared {
    exe: Arc<Executable>,
    cwd: Option<Arc<OwnedFd>>,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
}

// SAFETY: the pointers point into the CStrings owned alongside them (heap
// buffers that do not move with the struct) and are only read.
unsafe impl Send for Prepared {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for Prepared {}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("program", &self.exe.path())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Builds the blocks: `argv[0]` is the program's path. Fails on a NUL
    /// byte in an argument or variable.
    pub fn new(
        exe: Arc<Executable>,
        args: &[String],
        env: &[(String, String)],
        cwd: Option<Arc<OwnedFd>>,
    ) -> std::io::Result<Self> {
        let nul = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what} contains a NUL byte"),
            )
        };
        let mut argv = vec![exe.c_path().clone()];
        for a in args {
            argv.push(
                CString::new(a.as_bytes())
                    .map_err(|_| nul(&format!("argument `{}`", a.escape_debug())))?,
            );
        }
        let envp = env
            .iter()
            .map(|(k, v)| {
                CString::new(format!("{k}={v}")).map_err(|_| nul(&format!("variable `{k}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        Ok(Self {
            argv_ptrs: ptrs(&argv),
            envp_ptrs: ptrs(&envp),
            _argv: argv,
            _envp: envp,
            exe,
            cwd,
        })
    }

    pub fn executable(&self) -> &Executable {
        &self.exe
    }
}

/// Where the child's standard streams come from.
#[derive(Debug, Clone, Copy)]
pub struct Stdio<'a> {
    pub stdin: BorrowedFd<'a>,
    pub stdout: BorrowedFd<'a>,
    pub stderr: BorrowedFd<'a>,
}

/// Per-spawn choices.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `PR_SET_PDEATHSIG = SIGKILL`: the kernel kills the child when the
    /// spawning thread exits (for runtime threads: when rigor dies).
    pub death_signal: bool,
    /// `PR_SET_CHILD_SUBREAPER` in the child, kept across exec: whatever it
    /// starts stays in its subtree while it runs (see `reaper`).
    pub subreaper: bool,
}

/// Which step failed in the child, for the error message.
const STAGE_SETUP: i32 = 1;
const STAGE_CWD: i32 = 2;
const STAGE_ORPHANED: i32 = 3;
const STAGE_EXEC: i32 = 4;

/// What the child reads, and where it leaves an error; lives on the
/// parent's stack, shared through `CLONE_VM` while the parent waits.
struct ChildArgs {
    exe_fd: RawFd,
    path: *const c_char,
    script: ScriptStart,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: RawFd,
    stdio: [RawFd; 3],
    opts: Options,
    parent: libc::pid_t,
    errno: AtomicI32,
    stage: AtomicI32,
}

/// Spawns the prepared command; returns the child's pid. The child leads
/// its own process group, runs with `no_new_privs` (the mark the reaper
/// recognises its descendants by), an empty signal mask and default
/// handlers. The pid is registered as managed (see `reaper`) until its
/// owner calls `reaper::forget` after reaping it.
pub fn spawn(p: &Prepared, stdio: Stdio<'_>, opts: Options) -> std::io::Result<u32> {
    let args = ChildArgs {
        exe_fd: p.exe.fd().as_raw_fd(),
        path: p.exe.c_path().as_ptr(),
        script: p.exe.script_start(),
        argv: p.argv_ptrs.as_ptr(),
        envp: p.envp_ptrs.as_ptr(),
        cwd: p.cwd.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
        stdio: [
            stdio.stdin.as_raw_fd(),
            stdio.stdout.as_raw_fd(),
            stdio.stderr.as_raw_fd(),
        ],
        opts,
        // SAFETY: getpid has no preconditions.
        parent: unsafe { libc::getpid() },
        errno: AtomicI32::new(0),
        stage: AtomicI32::new(0),
    };
    reaper::spawn_managed(|| clone_and_exec(&args))
}

/// The clone itself. Returns the pid of a child that exec'd, or the error
/// of one that did not (after reaping it).
fn clone_and_exec(args: &ChildArgs) -> std::io::Result<u32> {
    let stack = Stack::new()?;
    // Block every signal so no handler of the host runs in the child while
    // it shares the host's memory; the child resets them before unblocking.
    // SAFETY: sigset_t is plain data initialised by sigfillset.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are valid for the calls.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // SAFETY: child_main only reads `args` (alive: this thread is suspended
    // until the child execs or exits, CLONE_VFORK) and writes its atomics;
    // the stack is ours and unused by anyone else.
    let pid = unsafe {
        libc::clone(
            child_main,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            args as *const ChildArgs as *mut c_void,
        )
    };
    let clone_error = std::io::Error::last_os_error();
    // SAFETY: restores the mask saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    drop(stack);
    if pid < 0 {
        return Err(clone_error);
    }
    let errno = args.errno.load(Ordering::SeqCst);
    if errno == 0 {
        return Ok(pid as u32);
    }
    // The child exited with 127 before exec: reap it and report why.
    let mut status = 0;
    // SAFETY: waitpid on our own child; status is a plain int.
    unsafe {
        while libc::waitpid(pid, &mut status, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
    let cause = std::io::Error::from_raw_os_error(errno);
    Err(match args.stage.load(Ordering::SeqCst) {
        STAGE_CWD => std::io::Error::new(
            cause.kind(),
            format!("cannot enter the working directory: {cause}"),
        ),
        STAGE_ORPHANED => std::io::Error::other("rigor was exiting during the spawn"),
        STAGE_SETUP => {
            std::io::Error::new(cause.kind(), format!("cannot set the child up: {cause}"))
        }
        _ => cause,
    })
}

/// The child's stack: an anonymous mapping with a guard page below it.
struct Stack {
    base: *mut c_void,
    len: usize,
}

impl Stack {
    fn new() -> std::io::Result<Self> {
        let page = 4096;
        let len = STACK_SIZE + page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let stack = Self { base, len };
        // The stack grows down: an overflow hits this page and faults
        // instead of writing over other memory.
        // SAFETY: the first page of the mapping made above.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The initial stack pointer: the end of the mapping, 16-byte aligned.
    fn top(&self) -> *mut c_void {
        let end = self.base as usize + self.len;
        (end & !15) as *mut c_void
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `new`, which nothing uses any
        // more (the child has exec'd or exited).
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}

/// Records the failure and exits without running any of the host's exit
/// code (the child shares the host's memory).
unsafe fn fail(a: &ChildArgs, stage: i32) -> ! {
    // SAFETY: __errno_location returns this thread's errno slot.
    let errno = unsafe { *libc::__errno_location() };
    a.stage.store(stage, Ordering::SeqCst);
    a.errno.store(
        if errno == 0 { libc::EINVAL } else { errno },
        Ordering::SeqCst,
    );
    // SAFETY: _exit ends this process at once.
    unsafe { libc::_exit(127) }
}

/// `prctl(option, value, 0, 0, 0)` with every argument a full `unsigned
/// long`, as the kernel reads them (some options refuse non-zero extras).
unsafe fn prctl(option: c_int, value: libc::c_ulong) -> c_int {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(
            option,
            value,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    }
}

/// Runs in the child, on its own stack, sharing the host's memory until
/// exec: system calls only.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the ChildArgs the parent keeps alive meanwhile.
    let a = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY: every call below is a system-call wrapper that is
    // async-signal-safe; pointers come from the prepared blocks.
    unsafe {
        // Handlers of the host must not run here; default dispositions for
        // them. SIGPIPE, which Rust's runtime ignores, goes back to its
        // default as std's Command does.
        for sig in 1..KERNEL_NSIG {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                continue;
            }
            let handled = old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN;
            if handled || (sig == libc::SIGPIPE && old.sa_sigaction == libc::SIG_IGN) {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0
            || libc::setpgid(0, 0) != 0
        {
            fail(a, STAGE_SETUP);
        }
        for (target, &fd) in a.stdio.iter().enumerate() {
            let target = target as c_int;
            let ok = if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, target) == target
            };
            if !ok {
                fail(a, STAGE_SETUP);
            }
        }
        if a.cwd >= 0 && libc::fchdir(a.cwd) != 0 {
            fail(a, STAGE_CWD);
        }
        if prctl(libc::PR_SET_NO_NEW_PRIVS, 1) != 0 {
            fail(a, STAGE_SETUP);
        }
        if a.opts.death_signal {
            if prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                fail(a, STAGE_SETUP);
            }
            // The host died between clone and prctl: do not run orphaned.
            if libc::getppid() != a.parent {
                fail(a, STAGE_ORPHANED);
            }
        }
        if a.opts.subreaper && prctl(libc::PR_SET_CHILD_SUBREAPER, 1) != 0 {
            fail(a, STAGE_SETUP);
        }
        let empty_path = c"".as_ptr();
        libc::syscall(
            libc::SYS_execveat,
            a.exe_fd,
            empty_path,
            a.argv,
            a.envp,
            libc::AT_EMPTY_PATH,
        );
        // A `#!` script executed from a close-on-exec descriptor fails with
        // ENOENT: its interpreter could not open /dev/fd/N after the exec.
        if *libc::__errno_location() == libc::ENOENT {
            match a.script {
                ScriptStart::FromFd => {
                    if libc::fcntl(a.exe_fd, libc::F_SETFD, 0) == 0 {
                        libc::syscall(
                            libc::SYS_execveat,
                            a.exe_fd,
                            empty_path,
                            a.argv,
                            a.envp,
                            libc::AT_EMPTY_PATH,
                        );
                    }
                }
                ScriptStart::ByPath => {
                    libc::execve(a.path, a.argv, a.envp);
                }
            }
        }
        fail(a, STAGE_EXEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::path::Path;

    /// A directory descriptor, as the process probe holds the work directory.
    fn open_dir(path: &Path) -> rustix::fd::OwnedFd {
        rustix::fs::open(
            path,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap()
    }

    fn run(p: &Prepared) -> (String, i32) {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        let pid = spawn(
            p,
            Stdio {
                stdin: null.as_fd(),
                stdout: writer.as_fd(),
                stderr: writer.as_fd(),
            },
            Options {
                death_signal: true,
                subreaper: false,
            },
        )
        .unwrap();
        drop(writer);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        reaper::forget(pid);
        (out, libc::WEXITSTATUS(status))
    }

    fn exe(path: &str) -> Arc<Executable> {
        Arc::new(Executable::open(Path::new(path)).unwrap())
    }

    #[test]
    fn runs_with_exactly_the_given_arguments_environment_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = open_dir(dir.path());
        let p = Prepared::new(
            exe("/bin/sh"),
            &[
                "-c".into(),
                "echo \"$0 $1\"; pwd; env; grep NoNewPrivs /proc/self/status".into(),
                "zero".into(),
                "one".into(),
            ],
            &[("ONLY".into(), "this".into())],
            Some(Arc::new(cwd)),
        )
        .unwrap();
        let (out, code) = run(&p);
        assert_eq!(code, 0, "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "zero one");
        assert_eq!(lines[1], dir.path().display().to_string());
        // dash adds PWD to what it was given.
        assert!(lines.contains(&"ONLY=this"), "{out}");
        assert!(!out.contains("PATH="), "{out}");
        assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    }

    #[test]
    fn scripts_run_from_their_descriptor_or_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.sh");
        std::fs::write(&script, "#!/bin/sh\necho \"ran as $0\"\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        // By path (a host program): $0 is its path.
        let p = Prepared::new(exe(script.to_str().unwrap()), &[], &[], None).unwrap();
        let (out, code) = run(&p);
        assert_eq!(
            (out.trim(), code),
            (format!("ran as {}", script.display()).as_str(), 0)
        );
        // From the descriptor (a work-directory program): /dev/fd/N.
        let work = open_dir(dir.path());
        let in_work =
            Executable::open_in_work(&work, dir.path(), Path::new("s.sh"), "{work}/s.sh").unwrap();
        let p = Prepared::new(Arc::new(in_work), &[], &[], None).unwrap();
        let (out, code) = run(&p);
        assert_eq!(code, 0, "{out}");
        assert!(out.trim().starts_with("ran as /dev/fd/"), "{out}");
    }

    #[test]
    fn the_opened_file_runs_even_if_its_name_is_swapped_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let prog = dir.path().join("prog");
        std::fs::copy("/bin/true", &prog).unwrap();
        let work = open_dir(dir.path());
        let checked =
            Executable::open_in_work(&work, dir.path(), Path::new("prog"), "{work}/prog").unwrap();
        // Swapped for a symlink to a shell after the check.
        std::fs::remove_file(&prog).unwrap();
        std::os::unix::fs::symlink("/bin/echo", &prog).unwrap();
        let p = Prepared::new(Arc::new(checked), &["swapped".into()], &[], None).unwrap();
        let (out, code) = run(&p);
        assert_eq!((out.as_str(), code), ("", 0), "echo ran instead of true");
    }

    #[test]
    fn failures_before_exec_are_reported_and_reaped() {
        let p = Prepared::new(exe("/bin/true"), &[], &[], None).unwrap();
        let null = std::fs::File::open("/dev/null").unwrap();
        // A descriptor that is not a directory as the working directory.
        let not_dir = rustix::fs::open(
            "/bin/true",
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let p = Prepared::new(Arc::clone(&p.exe), &[], &[], Some(Arc::new(not_dir))).unwrap();
        let err = spawn(
            &p,
            Stdio {
                stdin: null.as_fd(),
                stdout: null.as_fd(),
                stderr: null.as_fd(),
            },
            Options {
                death_signal: false,
                subreaper: false,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("working directory"), "{err}");
        assert!(Prepared::new(exe("/bin/true"), &["a\0b".into()], &[], None).is_err());
    }
}
