//! The run's report files and signals: targets checked before anything
//! runs (exit 2), the JSON report on disk after each scenario (valid even
//! after SIGKILL), and SIGTERM handled like Ctrl-C (exit 143, partial
//! reports in every format, scratch removed, children stopped).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use rigor_tests::{processes_with, read_json, repo_root, rigor, run_rigor, scenario};

use crate::reports::{assert_valid_junit, parse_junit, schema_errors, schema_validator};

/// Generous bound for the first build of the guest on a busy machine.
const START_WITHIN: Duration = Duration::from_secs(300);

/// A catalog of hostile-guest scenarios, `(name, mode, grants)`.
fn catalog(dir: &Path, scenarios: &[(&str, &str, &str)], marker: &str) -> PathBuf {
    let guest = repo_root().join("tests/fixtures/guests/hostile");
    let text: String = scenarios
        .iter()
        .map(|(name, mode, grants)| {
            format!(
                "[[scenario]]\nname = \"{name}\"\nsource = \"{}\"\ngrants = {{ {grants} }}\nparams = {{ mode = {{ default = \"{mode}\" }}, marker = {{ default = \"{marker}\" }} }}\nlimits = {{ deadline = \"10m\" }}\n\n",
                guest.display()
            )
        })
        .collect();
    let path = dir.join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A sleep duration no other process uses: the marker in command lines.
fn unique_marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}.{:09}", 70_000 + std::process::id() % 6_000, nanos)
}

/// Scratch directories (`rigor-<scenario>-…`) under `tmp`.
fn scratch_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("rigor-"))
        })
        .collect()
}

/// A running `rigor run` whose stderr is read line by line.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&std::ffi::OsStr], tmp: &Path) -> Self {
        let mut child = rigor()
            .args(args)
            .env("TMPDIR", tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting rigor");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_for_line(&mut self, needle: &str) {
        let started = Instant::now();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(1)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) if started.elapsed() > START_WITHIN => {
                    let _ = self.child.kill();
                    panic!("`{needle}` never appeared: {:#?}", self.seen);
                }
                Err(_) => {}
            }
        }
    }

    /// Waits (generously) until `ready` holds.
    fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let started = Instant::now();
        while !ready() {
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("{what} never happened: {:#?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the child we spawned; no memory is involved.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0);
    }

    /// Waits for the exit; returns the exit status and every stderr line.
    fn wait(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let since = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if since.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("rigor did not stop within 60 s: {:#?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.try_iter());
        (status, self.seen)
    }
}

#[test]
fn sigterm_mid_run_exits_143_with_partial_reports_no_scratch_and_no_child() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let marker = unique_marker();
    let catalog = catalog(
        dir.path(),
        &[
            ("first", "ok", ""),
            ("holding", "orch-hold", "exec = [\"sleep\"]"),
            ("never", "ok", ""),
        ],
        &marker,
    );
    let out = |name: &str| dir.path().join(name);
    let args: Vec<std::ffi::OsString> = vec![
        "run".into(),
        "--catalog".into(),
        catalog.into(),
        "--json".into(),
        out("r.json").into(),
        "--junit".into(),
        out("r.xml").into(),
        "--markdown".into(),
        out("r.md").into(),
        "--html".into(),
        out("r.html").into(),
        format!("--out=ndjson={}", out("events.ndjson").display()).into(),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let mut run = Running::start(&args, tmp.path());
    run.wait_for_line("holding");
    // The scenario holds its scratch directory and its child before the signal.
    let needle = format!("sleep {marker}");
    run.wait_until("the child's start", || !processes_with(&needle).is_empty());
    run.wait_until("the scratch directory's creation", || {
        !scratch_dirs(tmp.path()).is_empty()
    });
    run.signal(libc::SIGTERM);
    let (status, stderr) = run.wait();
    assert_eq!(status.code(), Some(143), "{stderr:#?}");
    assert!(
        stderr.iter().any(|l| l.contains("interrupted (SIGTERM)")),
        "{stderr:#?}"
    );

    assert_eq!(scratch_dirs(tmp.path()), Vec::<PathBuf>::new());
    assert_eq!(processes_with(&needle), Vec::new(), "children left behind");

    let report = read_json(&out("r.json"));
    assert_eq!(report["partial"], true);
    assert_eq!(scenario(&report, "first")["status"], "passed");
    let holding = scenario(&report, "holding");
    assert_eq!(holding["status"], "errored");
    assert_eq!(holding["error"]["kind"], "interrupted");
    assert!(
        holding["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SIGTERM"),
        "{holding:#}"
    );
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 2);
    let errors = schema_errors(&schema_validator(), &report);
    assert!(errors.is_empty(), "{errors:#?}");

    let xml = std::fs::read_to_string(out("r.xml")).unwrap();
    assert_valid_junit(&out("r.xml"));
    let junit = parse_junit(&xml);
    assert_eq!(junit.suites.len(), 2);
    assert_eq!(junit.errors, 1);
    assert!(xml.contains("<property name=\"partial\" value=\"true\"/>"));
    let md = std::fs::read_to_string(out("r.md")).unwrap();
    assert!(md.contains("**Partial report:**"), "{md}");
    let page = std::fs::read_to_string(out("r.html")).unwrap();
    assert!(page.contains("interrupted, partial report"));
    assert!(page.trim_end().ends_with("</html>"));
    let events = std::fs::read_to_string(out("events.ndjson")).unwrap();
    let last: serde_json::Value = serde_json::from_str(events.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "run-finished");
    assert_eq!(last["partial"], true);
}

#[test]
fn after_sigkill_the_json_on_disk_is_valid_and_holds_the_finished_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let catalog = catalog(
        dir.path(),
        &[("first", "ok", ""), ("long-sleep", "sleep", "")],
        "0",
    );
    let json = dir.path().join("r.json");
    let args = [
        "run".as_ref(),
        "--catalog".as_ref(),
        catalog.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
    ];
    let mut run = Running::start(&args, tmp.path());
    // The JSON is rewritten before the display reports the scenario.
    run.wait_for_line("first passed");
    run.wait_for_line("long-sleep");
    run.signal(libc::SIGKILL);
    let (status, stderr) = run.wait();
    assert_eq!(status.code(), None, "killed by the signal: {stderr:#?}");

    let report = read_json(&json);
    assert_eq!(report["partial"], true, "{report:#}");
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 1);
    assert_eq!(scenario(&report, "first")["status"], "passed");
    assert_eq!(report["summary"]["passed"], 1);
    let errors = schema_errors(&schema_validator(), &report);
    assert!(errors.is_empty(), "{errors:#?}");
    // No temporary file of the atomic writes is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// Runs rigor on a catalog whose guest has to be built, with `args`
/// added; asserts that it exits 2 at once with one `error:` line containing
/// every `needles`, having run and built nothing.
fn assert_refused_before_the_run(dir: &Path, args: &[&str], needles: &[&str]) {
    let catalog = catalog(dir, &[("first", "ok", "")], "0");
    let started = Instant::now();
    let mut all = vec!["run", "--catalog", catalog.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = run_rigor(&all);
    // Generous: the check is before the build, which alone takes longer.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{}",
        run.describe()
    );
    assert_eq!(run.code, 2, "{}", run.describe());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.describe());
    assert!(lines[0].starts_with("error: "), "{}", run.describe());
    for needle in needles {
        assert!(lines[0].contains(needle), "`{needle}`: {}", run.describe());
    }
    assert!(run.stdout.is_empty(), "{}", run.describe());
}

#[test]
fn json_to_a_directory_exits_2_before_any_scenario_runs() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let events = dir.path().join("events.ndjson");
    assert_refused_before_the_run(
        dir.path(),
        &[
            "--json",
            reports.to_str().unwrap(),
            "--out",
            &format!("ndjson={}", events.display()),
        ],
        &["--json", reports.to_str().unwrap(), "is a directory"],
    );
    assert!(!events.exists(), "no stream is opened when a target is bad");
    assert_eq!(std::fs::read_dir(&reports).unwrap().count(), 0);
}

#[test]
fn a_missing_folder_or_an_unwritable_one_exits_2_before_any_scenario_runs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder/r.xml");
    assert_refused_before_the_run(
        dir.path(),
        &["--junit", missing.to_str().unwrap()],
        &["--junit", "no-such-folder", "does not exist"],
    );
    // Nothing can be created in /proc, not even by root.
    assert_refused_before_the_run(
        dir.path(),
        &["--html", "/proc/rigor-report.html"],
        &[
            "--html",
            "/proc/rigor-report.html",
            "cannot write in `/proc`",
        ],
    );
}

#[test]
fn the_same_path_for_two_formats_exits_2_also_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("report.out");
    assert_refused_before_the_run(
        dir.path(),
        &[
            "--json",
            same.to_str().unwrap(),
            "--markdown",
            same.to_str().unwrap(),
        ],
        &["--markdown", "--json", "same file"],
    );
    assert!(!same.exists());

    std::fs::write(&same, "kept").unwrap();
    let link = dir.path().join("link.out");
    std::os::unix::fs::symlink(&same, &link).unwrap();
    assert_refused_before_the_run(
        dir.path(),
        &[
            "--junit",
            link.to_str().unwrap(),
            "--out",
            &format!("ndjson={}", same.display()),
        ],
        &["--out ndjson", "--junit", "same file"],
    );
    assert_eq!(std::fs::read_to_string(&same).unwrap(), "kept");
}
