//! The process probe end to end: the service under test started healthy,
//! failing at start and never ready by `production-simulation`; start-up
//! timing by `env-startup`; denial before any spawn; no process left behind,
//! also after Ctrl-C.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rigor_tests::{process_alive, read_json, repo_root, rigor, scenario};

/// Runs one scenario with params and returns its report entry and stderr.
pub fn run_scenario(name: &str, params: &[&str]) -> (serde_json::Value, String) {
    run_in_catalog(None, name, params)
}

/// Like [`run_scenario`], against the catalog in `catalog` when given.
pub fn run_in_catalog(
    catalog: Option<&Path>,
    name: &str,
    params: &[&str],
) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = rigor();
    cmd.args(["run", name, "--json"]).arg(&json);
    if let Some(catalog) = catalog {
        cmd.arg("--catalog").arg(catalog);
    }
    for p in params {
        cmd.args(["--param", p]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(json.is_file(), "no report was written:\n{stderr}");
    let report = read_json(&json);
    (scenario(&report, name).clone(), stderr)
}

/// The pids the scenario logged as `... as pid N ...`.
pub fn logged_pids(s: &serde_json::Value) -> Vec<u32> {
    s["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .filter_map(|m| m.split(" as pid ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

pub fn metric<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("metric `{name}` missing: {:#}", s["metrics"]))
}

pub fn check_named<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("check `{name}` missing: {:#}", s["checks"]))
}

/// Asserts that every pid is gone.
pub fn assert_gone(pids: &[u32]) {
    assert!(!pids.is_empty(), "the scenario logged no pid");
    for &pid in pids {
        assert!(!process_alive(pid), "process {pid} outlived its scenario");
    }
}

#[test]
fn healthy_service_is_ready_smoke_tested_and_stopped_cleanly() {
    // A generous latency limit: the tests share two cores with each other.
    let (s, stderr) = run_scenario(
        "production-simulation",
        &["health-requests=10", "health-p99-ms=2000"],
    );
    assert_eq!(s["status"], "passed", "{s:#}\n{stderr}");
    let ready = metric(&s, "time-to-ready")["value"].as_f64().unwrap();
    assert!(ready > 0.0 && ready < 5e9, "time-to-ready {ready} ns");
    assert_eq!(metric(&s, "health")["summary"]["count"], 10);
    assert_eq!(metric(&s, "smoke")["summary"]["count"], 6);
    let stop = check_named(&s, "service stops cleanly on SIGTERM");
    assert_eq!(stop["passed"], true, "{stop:#}");
    assert!(s["findings"].as_array().unwrap().is_empty(), "{s:#}");
    assert_gone(&logged_pids(&s));
}

#[test]
fn failing_start_is_a_critical_finding_with_exit_code_and_stderr() {
    let (s, stderr) = run_scenario("production-simulation", &["fixture-mode=fail-at-start"]);
    assert_eq!(s["status"], "failed", "{s:#}\n{stderr}");
    let findings = s["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["severity"], "critical");
    let detail = findings[0]["detail"].as_str().unwrap();
    assert!(detail.contains("exited with exit code 1"), "{detail}");
    assert!(
        detail.contains("config error: SECRET_KEY must be set when APP_ENV=production"),
        "{detail}"
    );
    assert_eq!(check_named(&s, "service becomes ready")["passed"], false);
    // Reported when the process died, not after the 5 s readiness timeout.
    let ran = s["duration_ms"].as_f64().unwrap();
    assert!(ran < 4000.0, "the scenario ran {ran} ms");
    assert_gone(&logged_pids(&s));
}

#[test]
fn never_ready_service_times_out_and_is_stopped() {
    let (s, stderr) = run_scenario(
        "production-simulation",
        &["fixture-mode=never-ready", "ready-timeout-ms=700"],
    );
    assert_eq!(s["status"], "failed", "{s:#}\n{stderr}");
    let finding = &s["findings"][0];
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["title"], "The service never becomes ready");
    let detail = finding["detail"].as_str().unwrap();
    assert!(detail.contains("within 0.7 s"), "{detail}");
    assert!(
        detail.contains("GET answered 503, expected 200"),
        "{detail}"
    );
    assert!(detail.contains("listening on 127.0.0.1:"), "{detail}");
    assert!(s["duration_ms"].as_f64().unwrap() >= 700.0);
    assert_gone(&logged_pids(&s));
}

#[test]
fn env_startup_reports_both_means_and_their_ratio() {
    let (s, stderr) = run_scenario(
        "env-startup",
        &["runs=5", "warmup=1", "max-difference-pct=1000.0"],
    );
    assert_eq!(s["status"], "passed", "{s:#}\n{stderr}");
    let a = metric(&s, "a.mean")["value"].as_f64().unwrap();
    let b = metric(&s, "b.mean")["value"].as_f64().unwrap();
    let ratio = metric(&s, "ratio")["value"].as_f64().unwrap();
    assert!(a > 0.0 && b > 0.0);
    assert!((ratio - b / a).abs() < 1e-6 * ratio, "{ratio} vs {b}/{a}");
    assert_eq!(metric(&s, "a.startup")["summary"]["count"], 5);
    assert_eq!(metric(&s, "b.startup")["summary"]["count"], 5);
    let finding = &s["findings"][0];
    assert_eq!(finding["severity"], "info", "{finding:#}");
    assert!(finding["detail"].as_str().unwrap().contains("B/A = "));
}

/// The parameters of `env-startup`, for catalogs written by the tests.
const ENV_STARTUP_PARAMS: &str = r#"[scenario.params]
command-a = { default = "python3 -c pass" }
command-b = { default = "{work}/venv/bin/python -c pass" }
setup-b = { default = "python3 -m venv --copies --without-pip {work}/venv" }
runs = { default = 30 }
warmup = { default = 3 }
max-difference-pct = { default = 25.0 }
"#;

#[test]
fn env_startup_raises_a_finding_when_the_gap_exceeds_the_limit() {
    // `true` against a Python interpreter: far more than 1% apart.
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    let source = repo_root().join("scenarios/env-startup");
    std::fs::write(
        &catalog,
        format!(
            "[[scenario]]\nname = \"env-startup\"\nsource = \"{}\"\ngrants = {{ exec = [\"true\", \"python3\"] }}\n{ENV_STARTUP_PARAMS}",
            source.display()
        ),
    )
    .unwrap();
    let (s, stderr) = run_in_catalog(
        Some(&catalog),
        "env-startup",
        &[
            "command-a=true",
            "command-b=python3 -c pass",
            "setup-b=",
            "runs=3",
            "warmup=0",
            "max-difference-pct=1",
        ],
    );
    assert_eq!(s["status"], "passed", "{s:#}\n{stderr}");
    let finding = &s["findings"][0];
    assert_eq!(finding["severity"], "medium", "{finding:#}");
    assert!(
        finding["title"]
            .as_str()
            .unwrap()
            .starts_with("Start-up differs by"),
        "{finding:#}"
    );
}

#[test]
fn a_program_that_is_not_granted_is_denied_not_spawned() {
    let (s, stderr) = run_scenario(
        "env-startup",
        &["command-a=sh -c true", "setup-b=", "runs=1", "warmup=0"],
    );
    assert_eq!(s["status"], "errored", "{s:#}\n{stderr}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(message.contains("denied: program `sh`"), "{message}");
    assert!(message.contains(r#"add `exec = ["sh"]`"#), "{message}");
    // Denied before anything ran: no start-up figure was recorded.
    assert!(
        s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["name"] != "a.mean"),
        "{s:#}"
    );
}

/// Children of `parent` whose command line contains `needle`.
fn children_of(parent: u32, needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent) && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn ctrl_c_during_a_scenario_with_a_live_child_leaves_no_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    // Build first, so the scenario is running (not compiling) when we look.
    let built = rigor()
        .args(["build", "production-simulation"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut run = rigor()
        .args([
            "run",
            "production-simulation",
            "--param",
            "fixture-mode=never-ready",
            "--param",
            "ready-timeout-ms=60000",
            "--json",
        ])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rigor_pid = run.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let service = loop {
        if let Some(&pid) = children_of(rigor_pid, "service.py").first() {
            break pid;
        }
        assert!(Instant::now() < deadline, "the service never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(process_alive(service));
    // What a terminal's Ctrl-C does to rigor (the service leads its own
    // process group, so the terminal's SIGINT would not reach it).
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(rigor_pid as libc::pid_t, libc::SIGINT);
    }
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(130), "rigor should exit as interrupted");
    assert!(!process_alive(service), "service {service} outlived Ctrl-C");
    let report = read_json(&json);
    assert_eq!(report["partial"], true);
    assert_eq!(
        scenario(&report, "production-simulation")["error"]["kind"],
        "interrupted"
    );
}
