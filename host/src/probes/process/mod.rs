//! The process probe: children in their own process groups with bounded
//! output tails, readiness waits, hyperfine-style start-up timing, and the
//! WIT binding that resolves only programs the catalog granted.
//!
//! What a child gets: the program its grant names, opened once and executed
//! from that descriptor (`program`, `spawn`); a working directory inside the
//! work directory, entered by descriptor; an environment built by the rules
//! in `env` (empty but for the safe set and the variables granted by name).
//!
//! No orphans: a child is stopped (SIGTERM to its group and subtree, SIGKILL
//! after a grace period) and reaped when its handle drops, which happens
//! when the guest drops it and when the scenario's store is dropped (normal
//! end, error, deadline, Ctrl-C). Descendants that left the group are found
//! and killed through the child subreaper (`reaper`). Children are spawned
//! with `PR_SET_PDEATHSIG = SIGKILL`, so the kernel kills them if the host
//! dies without running any of that (SIGKILL, second Ctrl-C).

mod binding;
pub mod child;
pub mod env;
pub mod output;
pub mod program;
pub mod ready;
pub mod reaper;
pub mod spawn;
pub mod startup;

use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub use binding::{ProcessBinding, ProcessView};
pub use child::{ChildProcess, ExitInfo, ExitStatus};
pub use program::Executable;
pub use ready::{NotReady, Ready};
pub use startup::{StartupStats, time_startup};

use crate::policy::{ExecGrant, Policy};
use crate::probes::ProbeError;

/// Refuses a spawn past the scenario's `children` budget (children alive,
/// or ended but not yet reaped: each holds a process, three host threads and
/// two 64 KiB rings, so a guest spawning in a loop must not be able to
/// exhaust the host). The pid set is the count: a child leaves it when it is
/// reaped.
pub fn check_capacity(
    children: &crate::probes::children::ChildPids,
    budget: &crate::budget::Budget,
) -> Result<(), ProbeError> {
    let live = children.snapshot().len() as u64;
    budget
        .admit(crate::budget::Resource::Children, live, 1, || {
            "process.spawn".into()
        })
        .map_err(|e| e.because("wait for, kill or drop children before spawning more"))?;
    Ok(())
}

/// What `{work}` stands for in a command.
pub const WORK_PLACEHOLDER: &str = "{work}";

/// A command ready to spawn: the program and working directory opened, the
/// environment complete.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// Where the program was opened (`argv[0]`, messages).
    pub program: PathBuf,
    /// The program itself, executed from its descriptor.
    pub exe: Arc<Executable>,
    pub args: Vec<String>,
    /// The child's whole environment.
    pub env: Vec<(String, String)>,
    /// The working directory, opened; rigor's own when `None`.
    pub cwd: Option<Arc<OwnedFd>>,
}

impl CommandSpec {
    /// The program at `path` (opened now, following symlinks: for programs
    /// rigor itself chooses), with no arguments and an empty environment.
    pub fn new(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let exe = Executable::open(path.as_ref())?;
        Ok(Self {
            program: exe.path().to_owned(),
            exe: Arc::new(exe),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        })
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts from rigor's environment, minus the injection variables
    /// (see [`env::injection`]).
    pub fn inherit_env(mut self) -> Self {
        let mut env = env::inherited(|_| false);
        env.append(&mut self.env);
        self.env = env;
        self
    }

    /// The argument and environment blocks for [`spawn::spawn`].
    pub(crate) fn prepare(&self) -> std::io::Result<spawn::Prepared> {
        spawn::Prepared::new(
            Arc::clone(&self.exe),
            &self.args,
            &self.env,
            self.cwd.clone(),
        )
    }
}

/// Kills the scenario's leftover marked orphans when the last clone of its
/// process context drops with the scenario's store (see `reaper`).
#[derive(Debug)]
struct SweepOnDrop;

impl Drop for SweepOnDrop {
    fn drop(&mut self) {
        reaper::sweep_orphans();
    }
}

/// Per-scenario process state. The work directory (`{work}`) is the
/// scenario's scratch directory, owned by the fs probe's context: one
/// directory per scenario, removed when its store drops.
#[derive(Debug, Clone)]
pub struct ProcessCtx {
    pub policy: Policy,
    _sweep: Arc<SweepOnDrop>,
}

impl ProcessCtx {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            _sweep: Arc::new(SweepOnDrop),
        }
    }

    /// Checks the program and the environment against the grants and
    /// resolves the command; `work` yields the work directory (creating it)
    /// and is called only once the program and the variable names are
    /// granted, so nothing is created or spawned for a denied command.
    pub fn resolve(
        &self,
        work: impl FnOnce() -> Result<PathBuf, ProbeError>,
        program: &str,
        args: Vec<String>,
        env: Vec<(String, String)>,
        inherit_env: bool,
        cwd: Option<String>,
    ) -> Result<CommandSpec, ProbeError> {
        let grant = self.policy.check_exec(program)?.clone();
        if inherit_env {
            self.policy.check_inherit_env()?;
        }
        env::check_names(&self.policy, &env)?;
        let work = work()?;
        let work_text = work.to_string_lossy().into_owned();
        let fill = |s: String| s.replace(WORK_PLACEHOLDER, &work_text);
        let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k, fill(v))).collect();
        env::check_values(&self.policy, &env::Writable::of(&self.policy, &work), &env)?;
        let work_dir = crate::probes::fs::Root::open(
            WORK_PLACEHOLDER,
            &work,
            crate::probes::fs::DirMode::ReadWrite,
        )
        .map_err(|e| ProbeError::Io(format!("work directory: {e}")))?;
        let host_program = |path: &Path| {
            Executable::open(path).map_err(|e| {
                ProbeError::Io(format!(
                    "program `{program}` is granted but cannot be opened at `{}`: {e}",
                    path.display()
                ))
            })
        };
        let exe = match grant {
            ExecGrant::OnPath(name) => {
                let path = find_on_path(&name).ok_or_else(|| {
                    ProbeError::Io(format!(
                        "program `{name}` is granted but not found on PATH; install it or grant its full path"
                    ))
                })?;
                host_program(&path)?
            }
            ExecGrant::Path(path) => host_program(&path)?,
            ExecGrant::InWorkDir(rel) => {
                Executable::open_in_work(work_dir.fd(), &work, &rel, program)?
            }
        };
        let cwd = fill(cwd.unwrap_or_else(|| ".".to_owned()));
        let cwd = program::open_cwd(work_dir.fd(), &work, &cwd)?;
        Ok(CommandSpec {
            program: exe.path().to_owned(),
            exe: Arc::new(exe),
            args: args.into_iter().map(fill).collect(),
            env: env::build(&self.policy, inherit_env, env),
            cwd: Some(Arc::new(cwd)),
        })
    }
}

/// Reads one `exec` grant of the catalog: `{work}/…` (inside the work
/// directory), a path with a `/` (relative to the catalog's folder `base`),
/// or a bare program name (looked up on PATH when spawned).
pub fn exec_grant(base: &Path, text: &str) -> Result<ExecGrant, String> {
    if text.trim().is_empty() || text.trim() != text {
        return Err(format!(
            "exec grant `{text}` is empty or has surrounding spaces; name one program"
        ));
    }
    if let Some(rel) = text.strip_prefix(&format!("{WORK_PLACEHOLDER}/")) {
        let rel = Path::new(rel);
        if rel.as_os_str().is_empty() || !confined(rel) {
            return Err(format!(
                "exec grant `{text}` must name a path inside the work directory, without `..`"
            ));
        }
        return Ok(ExecGrant::InWorkDir(rel.to_owned()));
    }
    if text.contains(WORK_PLACEHOLDER) {
        return Err(format!(
            "exec grant `{text}`: `{WORK_PLACEHOLDER}` may only start a path (`{WORK_PLACEHOLDER}/venv/bin/python`)"
        ));
    }
    if text.contains('/') {
        // Absolute now: children run in the work directory, and the host's
        // own working directory may not be the catalog's.
        let path = std::path::absolute(base.join(text))
            .map_err(|e| format!("exec grant `{text}`: cannot make the path absolute: {e}"))?;
        return Ok(ExecGrant::Path(path));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(format!(
            "exec grant `{text}` names a command line; grant the program alone (`{}`)",
            text.split_whitespace().next().unwrap_or_default()
        ));
    }
    Ok(ExecGrant::OnPath(text.to_owned()))
}

/// A relative path without `..`, root or prefix components.
pub fn confined(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The first executable file called `name` on the host's `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
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
    use crate::policy::Grants;

    /// A work directory for the tests, removed with the returned guard.
    fn workdir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        (dir, path)
    }

    fn ctx(exec: &[(&str, ExecGrant)]) -> ProcessCtx {
        let mut grants = Grants::default();
        for (name, grant) in exec {
            grants.exec.insert((*name).to_owned(), grant.clone());
        }
        ProcessCtx::new(Policy::new("proc-test", grants))
    }

    #[test]
    fn ungranted_programs_are_denied_with_the_grant_line() {
        let c = ctx(&[("true", ExecGrant::OnPath("true".into()))]);
        let mut created = false;
        let err = c
            .resolve(
                || {
                    created = true;
                    Ok(PathBuf::from("/nonexistent"))
                },
                "sh",
                vec![],
                vec![],
                false,
                None,
            )
            .unwrap_err();
        match err {
            ProbeError::Denied(m) => {
                assert!(m.contains("program `sh`"), "{m}");
                assert!(m.contains(r#"exec = ["sh"]"#), "{m}");
            }
            other => panic!("expected denied, got {other}"),
        }
        assert!(
            !created,
            "the work directory was asked for a denied command"
        );
        let (_d, work) = workdir();
        let err = c
            .resolve(|| Ok(work), "true", vec![], vec![], true, None)
            .unwrap_err();
        assert!(matches!(err, ProbeError::Denied(m) if m.contains("inherit-env = true")));
    }

    #[test]
    fn work_placeholders_and_cwd_are_resolved_and_confined() {
        let mut grants = Grants::default();
        grants
            .exec
            .insert("true".into(), ExecGrant::OnPath("true".into()));
        grants
            .exec
            .insert("{work}/bin/x".into(), ExecGrant::InWorkDir("bin/x".into()));
        grants.env.insert("D".into());
        let c = ProcessCtx::new(Policy::new("proc-test", grants));
        let (_d, work) = workdir();
        std::fs::create_dir_all(work.join("bin")).unwrap();
        std::fs::create_dir_all(work.join("sub")).unwrap();
        std::fs::copy("/bin/true", work.join("bin/x")).unwrap();
        let w = || Ok(work.clone());
        let spec = c
            .resolve(
                w,
                "{work}/bin/x",
                vec!["{work}/a".into()],
                vec![("D".into(), "{work}".into())],
                false,
                Some("sub".into()),
            )
            .unwrap();
        assert_eq!(spec.program, work.join("bin/x"));
        assert_eq!(spec.args, vec![format!("{}/a", work.display())]);
        assert_eq!(spec.env, vec![("D".into(), work.display().to_string())]);
        assert!(spec.cwd.is_some());
        let spec = c.resolve(w, "true", vec![], vec![], false, None).unwrap();
        assert!(spec.program.is_absolute());
        let escape = format!("{WORK_PLACEHOLDER}/../../../../etc");
        for bad in ["../x", "/etc", escape.as_str()] {
            let err = c
                .resolve(w, "true", vec![], vec![], false, Some(bad.into()))
                .unwrap_err();
            assert!(matches!(err, ProbeError::Denied(_)), "{bad}: {err}");
        }
        // The program under {work} swapped for a symlink leading out.
        std::fs::remove_file(work.join("bin/x")).unwrap();
        std::os::unix::fs::symlink("/bin/sh", work.join("bin/x")).unwrap();
        let err = c
            .resolve(w, "{work}/bin/x", vec![], vec![], false, None)
            .unwrap_err();
        assert!(
            matches!(&err, ProbeError::Denied(m) if m.contains("program `{work}/bin/x`")),
            "{err}"
        );
        let err = c
            .resolve(
                w,
                "true",
                vec![],
                vec![("A=B".into(), "1".into())],
                false,
                None,
            )
            .unwrap_err();
        assert!(matches!(err, ProbeError::Invalid(_)));
    }

    #[test]
    fn environment_rules_apply_before_anything_is_created() {
        let c = ctx(&[("true", ExecGrant::OnPath("true".into()))]);
        let mut created = false;
        let err = c
            .resolve(
                || {
                    created = true;
                    Ok(PathBuf::from("/nonexistent"))
                },
                "true",
                vec![],
                vec![("LD_PRELOAD".into(), "{work}/evil.so".into())],
                false,
                None,
            )
            .unwrap_err();
        assert!(
            matches!(&err, ProbeError::Denied(m) if m.contains("`LD_PRELOAD`") && m.contains(r#"env = ["LD_PRELOAD"]"#)),
            "{err}"
        );
        assert!(!created);
        // A safe variable whose value points into the work directory.
        let (_d, work) = workdir();
        let err = c
            .resolve(
                || Ok(work.clone()),
                "true",
                vec![],
                vec![("PATH".into(), "{work}:/usr/bin".into())],
                false,
                None,
            )
            .unwrap_err();
        assert!(
            matches!(&err, ProbeError::Denied(m) if m.contains("`PATH`")),
            "{err}"
        );
        let spec = c
            .resolve(
                || Ok(work.clone()),
                "true",
                vec![],
                vec![("TZ".into(), "UTC".into())],
                false,
                None,
            )
            .unwrap();
        assert_eq!(spec.env, vec![("TZ".into(), "UTC".into())]);
    }

    #[test]
    fn live_children_are_capped_by_the_budget() {
        let budget = crate::budget::Budget::default();
        let limit = crate::budget::DEFAULT_CHILDREN as u32;
        let pids = crate::probes::children::ChildPids::default();
        for pid in 0..limit - 1 {
            pids.insert(pid + 1);
        }
        assert!(check_capacity(&pids, &budget).is_ok());
        pids.insert(u32::MAX);
        let err = check_capacity(&pids, &budget).unwrap_err();
        assert!(
            matches!(err, ProbeError::Denied(ref m)
                if m.starts_with("process.spawn needs 1 live child")
                    && m.contains("children budget of 64 (64 in use, 0 left)")),
            "{err}"
        );
        assert_eq!(budget.usage().children.peak, 64);
    }

    #[test]
    fn exec_grants_are_read_by_their_form() {
        let base = Path::new("/cat");
        assert_eq!(
            exec_grant(base, "python3"),
            Ok(ExecGrant::OnPath("python3".into()))
        );
        assert_eq!(
            exec_grant(base, "./sut/service.py"),
            Ok(ExecGrant::Path("/cat/sut/service.py".into()))
        );
        assert_eq!(
            exec_grant(base, "/usr/bin/env"),
            Ok(ExecGrant::Path("/usr/bin/env".into()))
        );
        assert_eq!(
            exec_grant(base, "{work}/venv/bin/python"),
            Ok(ExecGrant::InWorkDir("venv/bin/python".into()))
        );
        for bad in [
            "",
            " x",
            "python3 -c pass",
            "{work}/../x",
            "{work}/",
            "a{work}",
        ] {
            assert!(exec_grant(base, bad).is_err(), "{bad}");
        }
    }
}
