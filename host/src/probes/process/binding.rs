//! The WIT `process` interface: programs resolved only through the catalog's
//! `exec` grants, children kept in the scenario's resource table (so the
//! store's drop stops them), WIT conversions of exits and readiness.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::child::{ChildProcess, ExitInfo, ExitStatus};
use super::ready::{NotReady, Ready};
use super::{CommandSpec, ProcessCtx, startup};
use crate::bindings::process as wit;
use crate::events::ProgressSink;
use crate::metrics::{HistogramHandle, SharedRecorder};
use crate::probes::children::ChildPids;
use crate::probes::fs::Scratch;
use crate::probes::http::HttpCtx;
use crate::probes::{BindingResult, ProbeError};

/// What the `process` binding may touch: its grants, the scenario's live
/// children, the guest's handles, where start-up times are recorded and the
/// progress of a timing; and, read-only, two pieces the process probe shares
/// with others.
pub struct ProcessView<'a> {
    pub(crate) process: &'a ProcessCtx,
    pub(crate) children: &'a ChildPids,
    /// `{work}`: the scenario's scratch directory, which the fs probe owns.
    pub(crate) work: &'a Scratch,
    /// The HTTP grants: `wait-http` polls only a URL the scenario may reach.
    pub(crate) http: &'a HttpCtx,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
    pub(crate) events: &'a ProgressSink,
    /// What the host may hold or start for the scenario.
    pub(crate) budget: &'a crate::budget::Budget,
}

/// Links `process` to a `ProcessView` of the store's state.
pub struct ProcessBinding;

impl HasData for ProcessBinding {
    type Data<'a> = ProcessView<'a>;
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl From<ExitStatus> for wit::ExitStatus {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Code(c) => wit::ExitStatus::Code(c),
            ExitStatus::Signal(s) => wit::ExitStatus::Signal(s),
        }
    }
}

fn child_exit(child: &ChildProcess, exit: ExitInfo) -> wit::ChildExit {
    wit::ChildExit {
        status: exit.status.into(),
        after_ns: nanos(exit.after),
        stdout_tail: child.stdout().text(),
        stderr_tail: child.stderr().text(),
    }
}

fn ready(r: Result<Ready, NotReady>) -> Result<wit::Ready, wit::NotReady> {
    match r {
        Ok(r) => Ok(wit::Ready {
            after_ns: nanos(r.after),
            waited_ns: nanos(r.waited),
            line: r.line,
        }),
        Err(NotReady::Exited {
            exit,
            stdout_tail,
            stderr_tail,
        }) => Err(wit::NotReady::Exited(wit::ChildExit {
            status: exit.status.into(),
            after_ns: nanos(exit.after),
            stdout_tail,
            stderr_tail,
        })),
        Err(NotReady::Timeout {
            waited,
            last_attempt,
            stdout_tail,
            stderr_tail,
        }) => Err(wit::NotReady::Timeout(wit::ReadyTimeout {
            waited_ns: nanos(waited),
            last_attempt,
            stdout_tail,
            stderr_tail,
        })),
        Err(NotReady::Failed(e)) => Err(wit::NotReady::Failed(e.into())),
    }
}

/// The program's file name, for the progress display.
fn program_name(spec: &CommandSpec) -> String {
    spec.program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The work directory: the scenario's scratch directory, created now if
/// needed.
fn work_dir(scratch: &Scratch) -> Result<std::path::PathBuf, ProbeError> {
    scratch
        .path()
        .map_err(|e| ProbeError::Io(format!("work directory: {e}")))
}

impl ProcessView<'_> {
    fn resolve_command(&self, cmd: wit::Command) -> Result<CommandSpec, ProbeError> {
        let scratch = self.work;
        self.process.resolve(
            || work_dir(scratch),
            &cmd.program,
            cmd.args,
            cmd.env,
            cmd.inherit_env,
            cmd.cwd,
        )
    }
}

impl wit::Host for ProcessView<'_> {
    async fn spawn(&mut self, cmd: wit::Command) -> BindingResult<Resource<ChildProcess>> {
        let program = cmd.program.clone();
        let spec = self.resolve_command(cmd)?;
        super::check_capacity(self.children, self.budget)?;
        match ChildProcess::spawn(&spec, self.children) {
            Ok(child) => Ok(self.table.push(child)?),
            Err(e) => Err(ProbeError::Io(format!("program `{program}`: {e}")).into()),
        }
    }

    async fn time_startup(
        &mut self,
        cmd: wit::Command,
        warmup: u32,
        runs: u32,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::StartupStats> {
        let histogram = match &into {
            Some(h) => Some(*self.table.get(h)?),
            None => None,
        };
        let spec = self.resolve_command(cmd)?;
        self.events.phase(
            &format!("time-startup `{}`", program_name(&spec)),
            Some(u64::from(warmup) + u64::from(runs)),
        );
        let timed = startup::time_startup(spec, warmup, runs, self.events.clone()).await;
        self.events.finish();
        let stats = timed?;
        if let Some(h) = histogram {
            self.recorder.record_many(h, &stats.samples);
        }
        Ok(wit::StartupStats {
            runs: stats.runs,
            mean_ns: stats.mean,
            stdev_ns: stats.stdev,
            median_ns: stats.median,
            min_ns: stats.min,
            max_ns: stats.max,
            user_ns: stats.user,
            system_ns: stats.system,
            failed_runs: stats.failed_runs,
            last_failure: stats.last_failure.map(Into::into),
        })
    }

    async fn work_dir(&mut self) -> BindingResult<String> {
        Ok(work_dir(self.work).map(|p| p.to_string_lossy().into_owned())?)
    }

    async fn free_port(&mut self) -> BindingResult<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| ProbeError::Io(format!("cannot find a free port on 127.0.0.1: {e}")))?)
    }
}

impl wit::HostChild for ProcessView<'_> {
    async fn pid(&mut self, child: Resource<ChildProcess>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&child)?.pid())
    }

    async fn elapsed_ns(&mut self, child: Resource<ChildProcess>) -> wasmtime::Result<u64> {
        Ok(nanos(self.table.get(&child)?.elapsed()))
    }

    async fn wait(
        &mut self,
        child: Resource<ChildProcess>,
        timeout_ns: u64,
    ) -> wasmtime::Result<Option<wit::ChildExit>> {
        let child = self.table.get_mut(&child)?;
        let exit = child.wait(Duration::from_nanos(timeout_ns)).await;
        Ok(exit.map(|e| child_exit(child, e)))
    }

    async fn kill(
        &mut self,
        child: Resource<ChildProcess>,
        grace_ns: u64,
    ) -> wasmtime::Result<wit::ChildExit> {
        let grace = if grace_ns == 0 {
            super::child::DEFAULT_GRACE
        } else {
            Duration::from_nanos(grace_ns)
        };
        let child = self.table.get_mut(&child)?;
        let exit = child.kill(grace).await;
        child.settle_output().await;
        Ok(child_exit(child, exit))
    }

    async fn tail(
        &mut self,
        child: Resource<ChildProcess>,
        stream: wit::OutputStream,
    ) -> wasmtime::Result<String> {
        let child = self.table.get(&child)?;
        Ok(match stream {
            wit::OutputStream::Stdout => child.stdout().text(),
            wit::OutputStream::Stderr => child.stderr().text(),
        })
    }

    async fn output_bytes(
        &mut self,
        child: Resource<ChildProcess>,
        stream: wit::OutputStream,
    ) -> wasmtime::Result<u64> {
        let child = self.table.get(&child)?;
        Ok(match stream {
            wit::OutputStream::Stdout => child.stdout().total(),
            wit::OutputStream::Stderr => child.stderr().total(),
        })
    }

    async fn wait_port(
        &mut self,
        child: Resource<ChildProcess>,
        port: u16,
        timeout_ns: u64,
    ) -> wasmtime::Result<Result<wit::Ready, wit::NotReady>> {
        let child = self.table.get_mut(&child)?;
        Ok(ready(
            child
                .wait_port(port, Duration::from_nanos(timeout_ns))
                .await,
        ))
    }

    async fn wait_http(
        &mut self,
        child: Resource<ChildProcess>,
        url: String,
        expected_status: u16,
        timeout_ns: u64,
    ) -> wasmtime::Result<Result<wit::Ready, wit::NotReady>> {
        let url = match self.http.check_url(&url) {
            Ok(u) => u,
            Err(e) => return Ok(Err(wit::NotReady::Failed(e.into()))),
        };
        let child = self.table.get_mut(&child)?;
        Ok(ready(
            child
                .wait_http(&url, expected_status, Duration::from_nanos(timeout_ns))
                .await,
        ))
    }

    async fn wait_line(
        &mut self,
        child: Resource<ChildProcess>,
        stream: wit::OutputStream,
        pattern: String,
        timeout_ns: u64,
    ) -> wasmtime::Result<Result<wit::Ready, wit::NotReady>> {
        let child = self.table.get_mut(&child)?;
        let ring = Arc::clone(match stream {
            wit::OutputStream::Stdout => child.stdout(),
            wit::OutputStream::Stderr => child.stderr(),
        });
        Ok(ready(
            child
                .wait_line(ring, &pattern, Duration::from_nanos(timeout_ns))
                .await,
        ))
    }

    async fn drop(&mut self, child: Resource<ChildProcess>) -> wasmtime::Result<()> {
        // Dropping the host object stops and reaps the child.
        self.table.delete(child)?;
        Ok(())
    }
}
