//! Child processes through the host: the system under test, a client script,
//! or a command whose start-up is timed. The host spawns, watches and stops
//! them natively; a scenario only sees handles.
//!
//! ```no_run
//! use std::time::Duration;
//! use rigor_guest::prelude::*;
//!
//! # fn run() -> Result<()> {
//! let port = process::free_port()?;
//! let service = Command::new("./sut/service.py")
//!     .env("PORT", port.to_string())
//!     .spawn()?;
//! match service.wait_http(&format!("http://127.0.0.1:{port}/health"), 200, Duration::from_secs(5)) {
//!     Ok(ready) => log::info(format!("ready after {:?}", ready.after())),
//!     Err(not_ready) => finding(Severity::Critical, "service did not start", not_ready.message(), "read its stderr"),
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use crate::bindings::rigor::scenario::process as wit;
use crate::metrics::Histogram;
use crate::{Error, ProbeError, Result};

pub use wit::{ChildExit, ExitStatus, NotReady, OutputStream, Ready, StartupStats};

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn err(e: crate::bindings::rigor::scenario::types::ProbeError) -> Error {
    ProbeError::from(e).into()
}

/// A program to run, with its arguments and environment. No shell is
/// involved. The environment is empty except for what [`Command::env`] adds.
/// `{work}` in the program, arguments, environment values and working
/// directory stands for the scenario's work directory.
#[derive(Debug, Clone)]
pub struct Command {
    inner: wit::Command,
}

impl Command {
    /// A command running `program`, spelled as in the catalog's `exec` grant.
    pub fn new(program: impl Into<String>) -> Self {
        Self {
            inner: wit::Command {
                program: program.into(),
                args: Vec::new(),
                env: Vec::new(),
                inherit_env: false,
                cwd: None,
            },
        }
    }

    /// Splits a command line on whitespace, honouring single and double
    /// quotes (no escapes, no variables: there is no shell).
    pub fn parse(line: &str) -> Result<Self> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if quote.is_some() {
            return Err(Error::msg(format!(
                "command `{line}` has an unclosed quote"
            )));
        }
        if in_word {
            words.push(word);
        }
        let mut words = words.into_iter();
        let program = words
            .next()
            .ok_or_else(|| Error::msg("the command line is empty"))?;
        Ok(Self::new(program).args(words))
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.inner.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.env.push((key.into(), value.into()));
        self
    }

    /// Starts from the host's environment (needs `inherit-env = true`).
    pub fn inherit_env(mut self) -> Self {
        self.inner.inherit_env = true;
        self
    }

    /// Working directory, relative to the work directory.
    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.inner.cwd = Some(dir.into());
        self
    }

    /// The program as given.
    pub fn program(&self) -> &str {
        &self.inner.program
    }

    /// The command line, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.inner.program.as_str())
            .chain(self.inner.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Starts the command in its own process group. The host stops it when
    /// the returned [`Child`] is dropped, at the latest when the scenario ends.
    pub fn spawn(&self) -> Result<Child> {
        Ok(Child {
            inner: wit::spawn(&self.inner).map_err(err)?,
        })
    }

    /// Times the start-up like `hyperfine -N`: `warmup` untimed runs, then
    /// `runs` timed ones; every run's time is recorded into `into` if given.
    pub fn time_startup(
        &self,
        warmup: u32,
        runs: u32,
        into: Option<&Histogram>,
    ) -> Result<StartupStats> {
        wit::time_startup(&self.inner, warmup, runs, into.map(Histogram::wit)).map_err(err)
    }

    /// Runs the command to its end (at most `timeout`) and returns how it
    /// ended with its output tails. A command still running after `timeout`
    /// is killed.
    pub fn output(&self, timeout: Duration) -> Result<ChildExit> {
        let child = self.spawn()?;
        Ok(match child.wait(timeout) {
            Some(exit) => exit,
            None => child.kill(Duration::from_millis(500)),
        })
    }
}

/// A child process started by [`Command::spawn`].
#[derive(Debug)]
pub struct Child {
    inner: wit::Child,
}

impl Child {
    /// Process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Time since spawn (until exit once it has ended).
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.inner.elapsed_ns())
    }

    /// Waits up to `timeout` for the child to end; `None` if still running.
    pub fn wait(&self, timeout: Duration) -> Option<ChildExit> {
        self.inner.wait(ns(timeout))
    }

    /// SIGTERM to the process group, SIGKILL after `grace`, then reaped.
    pub fn kill(&self, grace: Duration) -> ChildExit {
        self.inner.kill(ns(grace).max(1))
    }

    /// The last bytes of standard output (at most 64 KiB are kept).
    pub fn stdout_tail(&self) -> String {
        self.inner.tail(OutputStream::Stdout)
    }

    /// The last bytes of standard error.
    pub fn stderr_tail(&self) -> String {
        self.inner.tail(OutputStream::Stderr)
    }

    /// Total bytes written to a stream, kept or not.
    pub fn output_bytes(&self, stream: OutputStream) -> u64 {
        self.inner.output_bytes(stream)
    }

    /// Waits until `127.0.0.1:port` accepts connections.
    pub fn wait_port(&self, port: u16, timeout: Duration) -> Result<Ready, NotReady> {
        self.inner.wait_port(port, ns(timeout))
    }

    /// Waits until `GET url` answers `status` (the host must be granted).
    pub fn wait_http(&self, url: &str, status: u16, timeout: Duration) -> Result<Ready, NotReady> {
        self.inner.wait_http(url, status, ns(timeout))
    }

    /// Waits until a line of `stream` matches the regular expression `pattern`.
    pub fn wait_line(
        &self,
        stream: OutputStream,
        pattern: &str,
        timeout: Duration,
    ) -> Result<Ready, NotReady> {
        self.inner.wait_line(stream, pattern, ns(timeout))
    }
}

/// The scenario's work directory (what `{work}` stands for).
pub fn work_dir() -> Result<String> {
    wit::work_dir().map_err(err)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    wit::free_port().map_err(err)
}

impl ExitStatus {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        matches!(self, ExitStatus::Code(0))
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

impl ChildExit {
    /// Time from spawn to exit.
    pub fn after(&self) -> Duration {
        Duration::from_nanos(self.after_ns)
    }
}

impl Ready {
    /// Time from spawn to ready: the start-up time.
    pub fn after(&self) -> Duration {
        Duration::from_nanos(self.after_ns)
    }
}

/// The last `max` characters of `text`, on a character boundary.
fn last_chars(text: &str, max: usize) -> &str {
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(max)) {
        Some((i, _)) if count > max => &text[i..],
        _ => text,
    }
}

impl NotReady {
    /// What happened, in one message with the figures and the stderr tail.
    pub fn message(&self) -> String {
        match self {
            NotReady::Exited(e) => format!(
                "the process ended before it was ready: {} after {:.1} ms; stderr: {}",
                e.status,
                e.after_ns as f64 / 1e6,
                last_chars(e.stderr_tail.trim(), 2000)
            ),
            NotReady::Timeout(t) => format!(
                "not ready after {:.1} ms; last attempt: {}; stderr: {}",
                t.waited_ns as f64 / 1e6,
                t.last_attempt,
                last_chars(t.stderr_tail.trim(), 2000)
            ),
            NotReady::Failed(e) => ProbeError::from(e.clone()).to_string(),
        }
    }
}

impl From<NotReady> for Error {
    fn from(e: NotReady) -> Self {
        match e {
            NotReady::Failed(p) => Error::Probe(p.into()),
            other => Error::msg(other.message()),
        }
    }
}
