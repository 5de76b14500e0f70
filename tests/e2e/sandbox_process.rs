//! The process probe against a hostile guest: injection variables refused
//! (and shown to be dangerous when granted), programs and working
//! directories that lead out of the work directory refused, descendants that
//! leave their group or session gone with their scenario. Each run goes on
//! to a later scenario and writes a complete report.

use std::path::{Path, PathBuf};
use std::process::Command;

use rigor_tests::{processes_with, read_json, rigor, scenario};

const CATALOG: &str = "tests/fixtures/catalogs/sandbox-process.toml";

/// Runs `scenarios` of the sandbox catalog with extra arguments and env;
/// returns the report (asserting it lists every scenario) and stderr.
fn run(scenarios: &[&str], params: &[String], env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = rigor();
    cmd.args(["run", "--catalog", CATALOG]).args(scenarios);
    for p in params {
        cmd.args(["--param", p]);
    }
    cmd.arg("--json").arg(&json);
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(json.is_file(), "no report was written:\n{stderr}");
    let report = read_json(&json);
    assert_eq!(report["partial"], false, "{stderr}");
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, scenarios, "{stderr}");
    assert_eq!(
        report["summary"]["total"].as_u64(),
        Some(scenarios.len() as u64),
        "{:#}",
        report["summary"]
    );
    (report, stderr)
}

/// The check `name` of scenario `s`: asserts it passed, returns its detail.
fn passed(s: &serde_json::Value, name: &str) -> String {
    let check = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("check `{name}` missing: {s:#}"));
    assert_eq!(check["passed"], true, "{name}: {check:#}");
    check["detail"].as_str().unwrap_or_default().to_owned()
}

/// Asserts the scenario passed with every check passing.
fn all_passed(s: &serde_json::Value) {
    assert_eq!(s["status"], "passed", "{s:#}");
    for c in s["checks"].as_array().unwrap() {
        assert_eq!(c["passed"], true, "{c:#}");
    }
}

/// Asserts a `denied` refusal message names what and the grant line.
fn assert_denied(message: &str, what: &str, grant_line: &str) {
    assert!(message.starts_with("denied: "), "{message}");
    assert!(message.contains(what), "{message}");
    if !grant_line.is_empty() {
        assert!(
            message.contains(&format!("add `{grant_line}`")),
            "{message}"
        );
    }
}

/// A shared library whose constructor creates `marker`, built with `cc`;
/// `None` when no C compiler is installed.
fn marker_library(dir: &Path, marker: &Path) -> Option<PathBuf> {
    let source = dir.join("evil.c");
    std::fs::write(
        &source,
        format!(
            "#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void evil(void) {{ int fd = open(\"{}\", O_CREAT | O_WRONLY, 0644); if (fd >= 0) close(fd); }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let library = dir.join(format!(
        "{}.so",
        marker.file_name().unwrap().to_string_lossy()
    ));
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .ok()?;
    built.success().then_some(library)
}

#[test]
fn ld_preload_from_the_guest_is_refused_and_the_library_never_loads() {
    let dir = tempfile::tempdir().unwrap();
    let refused_marker = dir.path().join("refused-ran");
    let granted_marker = dir.path().join("granted-ran");
    let refused = marker_library(dir.path(), &refused_marker);
    let granted = marker_library(dir.path(), &granted_marker);
    let library = |l: &Option<PathBuf>| {
        l.as_ref().map_or("/nonexistent/evil.so".to_owned(), |p| {
            p.display().to_string()
        })
    };
    let (report, stderr) = run(
        &["ld-preload", "ld-preload-granted", "redis-after"],
        &[
            format!("ld-preload:library={}", library(&refused)),
            format!("ld-preload-granted:library={}", library(&granted)),
        ],
        &[],
    );
    let s = scenario(&report, "ld-preload");
    all_passed(s);
    let message = passed(s, "LD_PRELOAD is refused");
    assert_denied(
        &message,
        "environment variable `LD_PRELOAD`",
        r#"env = ["LD_PRELOAD"]"#,
    );
    assert!(message.contains("dynamic loader"), "{message}");
    assert!(message.contains("scenario `ld-preload`"), "{message}");
    passed(s, "a plain spawn still runs");
    // The granted case proves the library is real native code that runs.
    let s = scenario(&report, "ld-preload-granted");
    all_passed(s);
    passed(s, "LD_PRELOAD granted by name reaches the child");
    if refused.is_some() {
        assert!(
            granted_marker.exists(),
            "the granted library did not run, so the test proves nothing:\n{stderr}"
        );
        assert!(
            !refused_marker.exists(),
            "the refused library ran: the guest got native code"
        );
    } else {
        eprintln!("no C compiler: the refusal is checked, the library's effect is not");
    }
    all_passed(scenario(&report, "redis-after"));
}

#[test]
fn unknown_variables_are_refused_and_granted_and_safe_ones_pass() {
    let (report, _) = run(&["env-rules", "redis-after"], &[], &[]);
    let s = scenario(&report, "env-rules");
    all_passed(s);
    assert_denied(
        &passed(s, "an unknown variable is refused"),
        "environment variable `SOME_UNKNOWN_VAR`",
        r#"env = ["SOME_UNKNOWN_VAR"]"#,
    );
    let message = passed(s, "BASH_ENV is refused");
    assert_denied(
        &message,
        "environment variable `BASH_ENV`",
        r#"env = ["BASH_ENV"]"#,
    );
    let message = passed(s, "PATH into the work directory is refused");
    assert_denied(&message, "environment variable `PATH`", r#"env = ["PATH"]"#);
    assert!(
        message.contains("which the scenario can write"),
        "{message}"
    );
    passed(
        s,
        "granted and safe variables reach the child, and nothing else",
    );
    all_passed(scenario(&report, "redis-after"));
}

#[test]
fn inherited_environment_loses_rigors_own_injection_variables() {
    // Harmless for rigor itself: libc is loaded anyway; the directories and
    // files named do not exist.
    let libc = std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("/libc.so"))
        .unwrap_or("libc.so.6")
        .to_owned();
    let (report, stderr) = run(
        &["inherit-env", "redis-after"],
        &[],
        &[
            ("LD_PRELOAD", libc.as_str()),
            ("LD_LIBRARY_PATH", "/nonexistent-rigor-test"),
            ("PYTHONPATH", "/nonexistent-rigor-test"),
            ("BASH_ENV", "/nonexistent-rigor-test"),
            ("RIGOR_SANDBOX_INHERITED", "yes"),
        ],
    );
    let s = scenario(&report, "inherit-env");
    all_passed(s);
    let detail = passed(s, "injection variables are not inherited");
    assert_eq!(detail, "leaked: []", "{stderr}");
    passed(s, "other variables are inherited");
    all_passed(scenario(&report, "redis-after"));
}

#[test]
fn work_directory_programs_and_directories_cannot_lead_out() {
    let (report, _) = run(&["symlink-program", "cwd-escape", "redis-after"], &[], &[]);
    let s = scenario(&report, "symlink-program");
    all_passed(s);
    for name in [
        "a granted work-directory program that is a symlink leading out is refused",
        "a relative symlink climbing out is refused",
    ] {
        let message = passed(s, name);
        assert_denied(&message, "program `{work}/prog` is refused", "");
        assert!(message.contains("resolves outside the root"), "{message}");
    }
    passed(s, "a regular file in the work directory runs");

    let s = scenario(&report, "cwd-escape");
    all_passed(s);
    for dir in [
        "../../etc",
        "{work}/../../../../etc",
        "/etc",
        "rootlink",
        "sub/../../etc",
    ] {
        let message = passed(s, &format!("working directory `{dir}` is refused"));
        assert_denied(&message, "working directory `", "");
    }
    passed(s, "a working directory inside the work directory is used");
    all_passed(scenario(&report, "redis-after"));
}

#[test]
fn grandchildren_that_leave_their_group_or_session_die_with_the_scenario() {
    // A sleep duration no other process uses: the marker in their command lines.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let marker = format!("{}.{:09}", 80_000 + std::process::id() % 6_000, nanos);
    let (report, stderr) = run(
        &["escape", "redis-after"],
        &[format!("escape:marker={marker}")],
        &[],
    );
    let s = scenario(&report, "escape");
    all_passed(s);
    for name in [
        "a setsid grandchild is gone once its parent's exit is collected",
        "a setpgid grandchild is stopped with its parent",
        "timed runs with escaping grandchildren still report",
        "the scenario reached its end",
    ] {
        passed(s, name);
    }
    let left = processes_with(&format!("sleep {marker}"));
    assert!(
        left.is_empty(),
        "processes outlived the scenario: {left:?}\n{stderr}"
    );
    // The managed redis-server, also rigor's child, was not touched.
    all_passed(scenario(&report, "redis-after"));
}
