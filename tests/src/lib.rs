//! Harness for the end-to-end tests: the real `rigor` binary, real
//! redis-server processes on free ports, real components built by cargo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use rigor::services::redis_server::ManagedRedis;

pub mod monitoring;
pub mod pki;
pub mod redis_procs;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_owned()
}

/// The `rigor` binary, built (or confirmed up to date) once per test process.
pub fn rigor_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // A test crate cannot depend on another package's binary, so build it
        // here; cargo makes this a no-op when it is up to date.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "rigor", "--bin", "rigor"])
            .current_dir(repo_root())
            .status()
            .expect("running cargo to build the rigor binary");
        assert!(status.success(), "building the rigor binary failed");
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/e2e-… → target/<profile>/rigor
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in target/<profile>/deps")
            .join("rigor");
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// A `rigor` command run from the repository root, with colour off and a
/// private compiled-component cache unless the test sets one.
pub fn rigor() -> Command {
    let mut cmd = Command::new(rigor_bin());
    cmd.current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("RIGOR_REDIS_URL")
        .env_remove("RIGOR_CATALOG")
        // Tests never write into a real CI step summary.
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("RIGOR_CACHE_DIR", shared_cache_dir());
    cmd
}

/// A cache directory shared by the tests (so components compile once),
/// inside the build folder: a temporary one would outlive the process (a
/// static is never dropped) and leave hundreds of megabytes per test run.
/// Entries are keyed by component and engine, so runs can share it.
pub fn shared_cache_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo_root().join("target/e2e-cache");
        std::fs::create_dir_all(&dir).expect("creating target/e2e-cache");
        // The cache refuses a folder others may write to.
        let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
        dir
    })
}

/// The outcome of one `rigor` invocation, with everything a failure message needs.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `rigor` with `args` and returns its outcome.
pub fn run_rigor(args: &[&str]) -> Run {
    rigor()
        .args(args)
        .output()
        .expect("running the rigor binary")
        .into()
}

/// Reads a JSON report.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e}\n{text}", path.display()))
}

/// The scenario named `name` in a JSON report.
pub fn scenario<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["scenarios"]
        .as_array()
        .expect("scenarios array")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("scenario `{name}` not in report: {report:#}"))
}

/// The metric `name` of a scenario report.
pub fn metric<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("metric {name} missing: {s:#}"))
}

/// The check `name` of a scenario report.
pub fn check<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("check {name} missing: {s:#}"))
}

/// The names of the interfaces a component imports, as `rigor inspect
/// --json` lists them (`rigor:scenario/redis@0.1.0`, `wasi:…`).
pub fn inspected_imports(component: &Path) -> Vec<String> {
    let run = run_rigor(&["inspect", "--json", &component.to_string_lossy()]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    out["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `calls=` of `cmdstat_<command>` in the server's `INFO commandstats`.
pub fn command_calls(port: u16, command: &str) -> u64 {
    let info = redis_cli(port, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

/// Sends one command to a Redis server and returns the raw reply text.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("running redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether process `pid` still exists (zombies count as gone).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Live processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && process_alive(pid) {
            found.push((pid, cmdline));
        }
    }
    found
}
