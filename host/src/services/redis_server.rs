//! A throwaway `redis-server` for one run: started on a free loopback port with
//! persistence off, checked with a real PING, and always stopped and reaped.
//!
//! Throwaway means nothing is read from before the run and nothing is left
//! after it: the server's working directory and `--dir` are a private folder
//! made for it (mode 0700, a fresh random name), so a `dump.rdb` that a
//! scenario saved or another local user planted in `$TMPDIR` is never loaded;
//! the folder is removed once the server is reaped.
//!
//! Process handling is synchronous (`std::process`) so that `Drop` can stop the
//! server without an async runtime. Two mechanisms keep a server from outliving
//! the host: `Drop` sends SIGTERM (then SIGKILL) to the server's own process
//! group, and the server is spawned with `PR_SET_PDEATHSIG = SIGTERM`, which
//! the kernel delivers if the host dies without running `Drop` (SIGKILL, panic
//! with abort). PDEATHSIG fires when the *thread* that forked the child exits,
//! not the process; callers often start services from short-lived threads
//! (tokio's `spawn_blocking` pool retires idle threads), so the fork happens on
//! a dedicated keeper thread that lives exactly as long as the server.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::probes::redis::resp::{self, Reply};

/// Bytes of the server's combined stdout/stderr kept for error messages: the
/// last lines are what explain a failed start, and the bound keeps a chatty
/// server from growing memory.
pub const OUTPUT_TAIL_BYTES: usize = 8 * 1024;

/// How long the server gets to answer PING after it is spawned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long SIGTERM gets before SIGKILL when stopping.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Spawn attempts when another process takes the chosen port between our
/// probe bind and the server's bind.
const PORT_ATTEMPTS: usize = 5;

/// Pause between readiness probes and between checks for exit while stopping.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Bound on each readiness probe's connect and read.
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// Largest reply read from a readiness probe (INFO server is ~1.5 KiB).
const PROBE_MAX_REPLY: usize = 64 * 1024;

/// How long to wait for the output of an exited server to be fully drained.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

const PROGRAM: &str = "redis-server";

const NOT_INSTALLED_HINT: &str = "redis-server is not installed: install it (Debian/Ubuntu: `apt-get install redis-server`) or pass `--redis redis://HOST:PORT` to use a running server";

#[derive(Debug, thiserror::Error)]
pub enum ManagedRedisError {
    #[error("{hint}")]
    NotInstalled { hint: String },
    #[error(
        "could not start `{}`: {source}; check that it is an executable redis-server binary",
        program.display()
    )]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "redis-server exited before accepting connections ({status}); its last output:\n{output_tail}"
    )]
    ExitedEarly {
        status: ExitStatus,
        output_tail: String,
    },
    #[error(
        "redis-server did not answer PING within {after:?}; it was stopped. Its last output:\n{output_tail}"
    )]
    NotReady {
        after: Duration,
        output_tail: String,
    },
}

/// A running `redis-server` owned by this process; stopped on drop.
pub struct ManagedRedis {
    child: Child,
    pid: u32,
    port: u16,
    output: Arc<Mutex<OutputTail>>,
    keeper: Option<Keeper>,
    /// The server's private `--dir`; removed after the server is reaped.
    data_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for ManagedRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedRedis")
            .field("pid", &self.pid)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The thread that forked the server. Dropping `release` lets it exit.
struct Keeper {
    release: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// Ring of the last [`OUTPUT_TAIL_BYTES`] bytes of output.
#[derive(Default)]
struct OutputTail {
    bytes: VecDeque<u8>,
    finished: bool,
}

impl OutputTail {
    fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
        let overflow = (self.bytes.len() + data.len()).saturating_sub(OUTPUT_TAIL_BYTES);
        self.bytes.drain(..overflow.min(self.bytes.len()));
        self.bytes.extend(data);
    }

    fn text(&self) -> String {
        let (a, b) = self.bytes.as_slices();
        let mut all = Vec::with_capacity(a.len() + b.len());
        all.extend_from_slice(a);
        all.extend_from_slice(b);
        String::from_utf8_lossy(&all).trim_end().to_string()
    }
}

/// Locks the tail even if a drain thread panicked while holding it: the data
/// is plain bytes, always consistent.
fn lock(tail: &Mutex<OutputTail>) -> std::sync::MutexGuard<'_, OutputTail> {
    tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ManagedRedis {
    /// Starts `redis-server` found on `PATH`. Blocks up to about 10 s; from async
    /// code call it in `spawn_blocking`.
    pub fn start() -> Result<ManagedRedis, ManagedRedisError> {
        match find_on_path(PROGRAM) {
            Some(program) => Self::start_with_program(&program),
            None => Err(ManagedRedisError::NotInstalled {
                hint: NOT_INSTALLED_HINT.to_string(),
            }),
        }
    }

    /// Starts the given `redis-server` binary. A bare name is looked up on `PATH`.
    pub fn start_with_program(program: &Path) -> Result<ManagedRedis, ManagedRedisError> {
        Self::start_inner(program, READY_TIMEOUT)
    }

    /// Starts `redis-server` from `PATH` on a given loopback port: brings a
    /// stopped server back at the same address.
    pub fn start_on_port(port: u16) -> Result<ManagedRedis, ManagedRedisError> {
        let Some(program) = find_on_path(PROGRAM) else {
            return Err(ManagedRedisError::NotInstalled {
                hint: NOT_INSTALLED_HINT.to_string(),
            });
        };
        let program = resolve_program(&program)?;
        Self::launch(&program, port, READY_TIMEOUT)
    }

    fn start_inner(
        program: &Path,
        ready_timeout: Duration,
    ) -> Result<ManagedRedis, ManagedRedisError> {
        let program = resolve_program(program)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_loopback_port().map_err(|source| ManagedRedisError::Spawn {
                program: program.clone(),
                source,
            })?;
            match Self::launch(&program, port, ready_timeout) {
                Err(ManagedRedisError::ExitedEarly { output_tail, .. })
                    if attempt < PORT_ATTEMPTS && lost_port_race(&output_tail) => {}
                other => return other,
            }
        }
    }

    fn launch(
        program: &Path,
        port: u16,
        ready_timeout: Duration,
    ) -> Result<ManagedRedis, ManagedRedisError> {
        let data_dir = private_data_dir().map_err(|source| ManagedRedisError::Spawn {
            program: program.to_owned(),
            source,
        })?;
        let output = Arc::new(Mutex::new(OutputTail::default()));
        let (child, keeper) =
            spawn_via_keeper(program, port, data_dir.path(), Arc::clone(&output))?;
        let mut server = ManagedRedis {
            pid: child.id(),
            child,
            port,
            output,
            keeper: Some(keeper),
            data_dir: Some(data_dir),
        };
        // On any error `server` is dropped here, which stops and reaps the child.
        server.wait_ready(program, ready_timeout)?;
        Ok(server)
    }

    fn wait_ready(&mut self, program: &Path, limit: Duration) -> Result<(), ManagedRedisError> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(ManagedRedisError::ExitedEarly {
                        status,
                        output_tail: self.final_output(),
                    });
                }
                Ok(None) => {}
                Err(source) => {
                    return Err(ManagedRedisError::Spawn {
                        program: program.to_path_buf(),
                        source,
                    });
                }
            }
            if probe(self.port, self.pid) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ManagedRedisError::NotReady {
                    after: limit,
                    output_tail: self.output_tail(),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Output of a server that has exited, once the drain thread has read it all.
    fn final_output(&self) -> String {
        let deadline = Instant::now() + DRAIN_WAIT;
        while !lock(&self.output).finished && Instant::now() < deadline {
            thread::sleep(POLL_INTERVAL);
        }
        self.output_tail()
    }

    /// Loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Process id of the server.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The server's private working directory (`--dir`), removed on stop.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_ref().map(tempfile::TempDir::path)
    }

    /// The last [`OUTPUT_TAIL_BYTES`] of the server's stdout and stderr.
    pub fn output_tail(&self) -> String {
        lock(&self.output).text()
    }

    /// Stops the server (SIGTERM, then SIGKILL after [`STOP_GRACE`]) and reaps it.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for ManagedRedis {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            // Signal the whole group: the server leads its own group, and any
            // child it forked (BGSAVE) goes too. Safe against pid reuse: the
            // server is not reaped yet, so its pid and group id are still ours.
            let group = libc::pid_t::try_from(self.pid).ok().map(|pid| -pid);
            signal(group, libc::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            loop {
                match self.child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => thread::sleep(POLL_INTERVAL),
                    _ => {
                        signal(group, libc::SIGKILL);
                        let _ = self.child.kill();
                        let _ = self.child.wait();
                        break;
                    }
                }
            }
        }
        if let Some(keeper) = self.keeper.take() {
            drop(keeper.release);
            let _ = keeper.thread.join();
        }
        // Only now that the server is reaped: nothing can write into it any more.
        if let Some(dir) = self.data_dir.take() {
            let _ = dir.close();
        }
    }
}

/// A fresh directory only this user can enter, for the server's working
/// directory and `--dir`. The mode is set at creation, not after, so there is
/// no moment when another user could open it.
fn private_data_dir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("rigor-redis-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
}

fn signal(group: Option<libc::pid_t>, sig: libc::c_int) {
    if let Some(group) = group {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(group, sig);
        }
    }
}

/// Spawns the server from a keeper thread (see the module docs for why) and
/// starts draining its output. Returns the child and the keeper.
fn spawn_via_keeper(
    program: &Path,
    port: u16,
    data_dir: &Path,
    output: Arc<Mutex<OutputTail>>,
) -> Result<(Child, Keeper), ManagedRedisError> {
    let spawn_error = |source| ManagedRedisError::Spawn {
        program: program.to_path_buf(),
        source,
    };
    let (result_tx, result_rx) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let owned_program = program.to_path_buf();
    let owned_dir = data_dir.to_path_buf();
    let thread = thread::Builder::new()
        .name(format!("redis-keeper-{port}"))
        .spawn(move || {
            let spawned = spawn_server(&owned_program, port, &owned_dir);
            let ok = spawned.is_ok();
            // If nobody receives, this thread exits and PDEATHSIG stops the server.
            if result_tx.send(spawned).is_ok() && ok {
                // Returns when ManagedRedis drops the sender.
                let _ = release_rx.recv();
            }
        })
        .map_err(spawn_error)?;
    let (child, reader) = match result_rx.recv() {
        Ok(Ok(spawned)) => spawned,
        Ok(Err(source)) => {
            let _ = thread.join();
            return Err(spawn_error(source));
        }
        Err(_) => {
            let _ = thread.join();
            return Err(spawn_error(std::io::Error::other("the keeper thread died")));
        }
    };
    let keeper = Keeper { release, thread };
    // Detached on purpose: it ends at EOF, which a forked grandchild holding
    // the pipe could delay, and nothing must wait for that.
    let drain = thread::Builder::new()
        .name(format!("redis-output-{port}"))
        .spawn(move || drain_output(reader, &output));
    if let Err(source) = drain {
        // Stop the just-spawned server before reporting.
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        drop(keeper.release);
        let _ = keeper.thread.join();
        return Err(spawn_error(source));
    }
    Ok((child, keeper))
}

fn spawn_server(
    program: &Path,
    port: u16,
    data_dir: &Path,
) -> std::io::Result<(Child, std::io::PipeReader)> {
    // One pipe for stdout and stderr keeps their lines in order.
    let (reader, writer) = std::io::pipe()?;
    let mut command = Command::new(program);
    command
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .args(["--protected-mode", "no"])
        .args(["--daemonize", "no"])
        // Persistence is off, but a dump that is loaded at start or written by
        // SAVE lives only in this run's private folder (see the module docs).
        .arg("--dir")
        .arg(data_dir)
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        // Own group: a Ctrl-C to the host's group does not reach the server
        // directly; the host stops it in order, and Drop can signal the group.
        .process_group(0);
    // SAFETY: the closure runs between fork and exec and only calls prctl(2),
    // which is async-signal-safe, and reads errno.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    // `command` (holding our copies of the write end) is dropped on return, so
    // the reader sees EOF once the server exits.
    Ok((child, reader))
}

fn drain_output(mut reader: std::io::PipeReader, output: &Mutex<OutputTail>) {
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => lock(output).push(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    lock(output).finished = true;
}

/// Asks the OS for a free loopback port. The port is released before the
/// server binds it, so another process can take it meanwhile; the caller
/// retries when the server reports the address in use.
fn free_loopback_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn lost_port_race(output: &str) -> bool {
    output.contains("Address already in use")
}

/// True when the server on `port` answers PING with +PONG and is our process:
/// INFO's process_id guards against another server that grabbed the port.
fn probe(port: u16, pid: u32) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    if stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(PROBE_TIMEOUT)).is_err()
        || stream
            .write_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            .is_err()
    {
        return false;
    }
    let mut buf = BytesMut::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut replies = Vec::with_capacity(2);
    while replies.len() < 2 && buf.len() < PROBE_MAX_REPLY {
        match resp::parse_reply(&mut buf) {
            Ok(Some(reply)) => {
                replies.push(reply);
                continue;
            }
            Ok(None) => {}
            Err(_) => return false,
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    match replies.as_slice() {
        [Reply::Status(pong), Reply::Bulk(info)] if pong == "PONG" => {
            let expected = format!("process_id:{pid}");
            info.split(|&b| b == b'\n')
                .any(|line| line.strip_suffix(b"\r").unwrap_or(line) == expected.as_bytes())
        }
        _ => false,
    }
}

/// A path with a directory part must exist; a bare name is looked up on PATH.
fn resolve_program(program: &Path) -> Result<PathBuf, ManagedRedisError> {
    let bare = program.components().count() == 1 && !program.is_absolute();
    let found = if bare {
        program.to_str().and_then(find_on_path)
    } else if program.is_file() {
        Some(program.to_path_buf())
    } else {
        None
    };
    found.ok_or_else(|| ManagedRedisError::NotInstalled {
        hint: NOT_INSTALLED_HINT.replacen(
            "is not installed",
            &format!("is not installed (no such program: {})", program.display()),
            1,
        ),
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn ping(port: u16) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    fn proc_exists(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn starts_answers_and_drop_leaves_no_process() {
        let server = ManagedRedis::start().unwrap();
        let pid = server.pid();
        assert!(ping(server.port()));
        assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
        assert!(proc_exists(pid));
        // The drain thread may still be reading the log when PING already
        // answers.
        let until = Instant::now() + Duration::from_secs(5);
        while !server.output_tail().contains("Ready to accept connections")
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            server.output_tail().contains("Ready to accept connections"),
            "{}",
            server.output_tail()
        );
        let started = Instant::now();
        drop(server);
        assert!(!proc_exists(pid), "/proc/{pid} still exists after drop");
        assert!(started.elapsed() < STOP_GRACE, "SIGTERM should be enough");
    }

    #[test]
    fn stop_is_drop_and_two_servers_coexist() {
        let a = ManagedRedis::start().unwrap();
        let b = ManagedRedis::start().unwrap();
        assert_ne!(a.port(), b.port());
        let (pa, pb) = (a.pid(), b.pid());
        a.stop();
        assert!(!proc_exists(pa));
        assert!(ping(b.port()));
        b.stop();
        assert!(!proc_exists(pb));
    }

    #[test]
    fn survives_the_thread_that_started_it() {
        // PDEATHSIG follows the forking thread; the keeper thread makes this safe.
        let server = thread::spawn(|| ManagedRedis::start().unwrap())
            .join()
            .unwrap();
        thread::sleep(Duration::from_millis(300));
        assert!(ping(server.port()), "server died with its starting thread");
        let pid = server.pid();
        drop(server);
        assert!(!proc_exists(pid));
    }

    #[test]
    fn missing_program_is_not_installed() {
        let err =
            ManagedRedis::start_with_program(Path::new("/nonexistent/redis-server")).unwrap_err();
        assert!(matches!(err, ManagedRedisError::NotInstalled { .. }));
        let msg = err.to_string();
        assert!(msg.contains("apt-get install redis-server"), "{msg}");
        assert!(msg.contains("--redis redis://HOST:PORT"), "{msg}");
        assert!(msg.contains("/nonexistent/redis-server"), "{msg}");
        let err =
            ManagedRedis::start_with_program(Path::new("no-such-redis-server-xyz")).unwrap_err();
        assert!(matches!(err, ManagedRedisError::NotInstalled { .. }));
        assert_eq!(
            ManagedRedisError::NotInstalled {
                hint: NOT_INSTALLED_HINT.into()
            }
            .to_string(),
            "redis-server is not installed: install it (Debian/Ubuntu: `apt-get install redis-server`) or pass `--redis redis://HOST:PORT` to use a running server"
        );
    }

    #[test]
    fn early_exit_reports_status_and_output() {
        // echo prints its arguments and exits 0 without listening.
        match ManagedRedis::start_with_program(Path::new("/bin/echo")) {
            Err(ManagedRedisError::ExitedEarly {
                status,
                output_tail,
            }) => {
                assert!(status.success());
                assert!(output_tail.contains("--port"), "{output_tail}");
                assert!(output_tail.contains("--appendonly no"), "{output_tail}");
            }
            Err(other) => panic!("expected ExitedEarly, got {other}"),
            Ok(_) => panic!("expected ExitedEarly, got a server"),
        }
        match ManagedRedis::start_with_program(Path::new("false")) {
            Err(ManagedRedisError::ExitedEarly { status, .. }) => {
                assert_eq!(status.code(), Some(1))
            }
            Err(other) => panic!("expected ExitedEarly, got {other}"),
            Ok(_) => panic!("expected ExitedEarly, got a server"),
        }
    }

    /// Sends one inline command and returns the first line of the reply.
    fn inline(port: u16, command: &str) -> String {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(format!("{command}\r\n").as_bytes()).unwrap();
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while s.read_exact(&mut byte).is_ok() && byte[0] != b'\n' {
            reply.push(byte[0]);
        }
        String::from_utf8_lossy(&reply).trim_end().to_owned()
    }

    #[test]
    fn data_lives_in_a_private_folder_that_goes_with_the_server() {
        let first = ManagedRedis::start().unwrap();
        let dir = first.data_dir().unwrap().to_owned();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        assert_eq!(inline(first.port(), "CONFIG GET dir"), "*2");
        assert_eq!(inline(first.port(), "SET rigor:left-behind 1"), "+OK");
        assert_eq!(inline(first.port(), "SAVE"), "+OK");
        assert!(dir.join("dump.rdb").is_file(), "SAVE wrote elsewhere");
        drop(first);
        assert!(!dir.exists(), "{} outlived its server", dir.display());

        // The next server starts empty: the first one's dump went with it.
        let second = ManagedRedis::start().unwrap();
        assert_ne!(second.data_dir().unwrap(), dir);
        assert_eq!(inline(second.port(), "DBSIZE"), ":0");
        assert_eq!(inline(second.port(), "GET rigor:left-behind"), "$-1");
    }

    #[test]
    fn busy_port_is_reported_as_lost_race() {
        let text = "# Warning: Could not create server TCP listening socket 127.0.0.1:6379: bind: Address already in use";
        assert!(lost_port_race(text));
        assert!(!lost_port_race("Ready to accept connections"));
    }

    #[test]
    fn not_ready_is_reported_and_the_process_is_stopped() {
        let dir = std::env::temp_dir().join(format!("rigor-redis-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("silent-server");
        std::fs::write(&script, "#!/bin/sh\necho starting up\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = Instant::now();
        match ManagedRedis::start_inner(&script, Duration::from_millis(300)) {
            Err(ManagedRedisError::NotReady { after, output_tail }) => {
                assert_eq!(after, Duration::from_millis(300));
                assert!(output_tail.contains("starting up"), "{output_tail}");
            }
            Err(other) => panic!("expected NotReady, got {other}"),
            Ok(_) => panic!("expected NotReady, got a server"),
        }
        assert!(started.elapsed() < Duration::from_secs(3));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn output_tail_is_bounded() {
        let mut tail = OutputTail::default();
        for i in 0..5000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        assert_eq!(tail.bytes.len(), OUTPUT_TAIL_BYTES);
        assert!(tail.text().ends_with("line 4999"));
        tail.push(&vec![b'z'; 3 * OUTPUT_TAIL_BYTES]);
        assert_eq!(tail.bytes.len(), OUTPUT_TAIL_BYTES);
        assert!(tail.bytes.iter().all(|&b| b == b'z'));
    }
}
