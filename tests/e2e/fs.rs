//! The fs probe through the `fs-io` scenario: confinement (escapes are
//! denied and nothing is created outside the scratch root), scratch clean-up
//! and `--keep-scratch`, and typed errors for a full device, a read-only
//! grant and an ungranted directory, reported by the scenario.

use std::path::Path;

use rigor_tests::{Run, read_json, repo_root, rigor, scenario};

/// Small figures so each run takes well under a second of I/O.
const SMALL: [&str; 8] = [
    "--param",
    "ops=50",
    "--param",
    "fsync-ops=10",
    "--param",
    "load-ops=2000",
    "--param",
    "workers=8",
];

fn run_fs_io(tmpdir: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    let run: Run = rigor()
        .env("TMPDIR", tmpdir)
        .args(["run", "fs-io", "--json", json.to_str().unwrap()])
        .args(SMALL)
        .args(extra)
        .output()
        .expect("running rigor")
        .into();
    let report = read_json(&json);
    (run, report)
}

fn check<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("check `{name}` missing: {:#}", s["checks"]))
}

/// A catalog holding `fs-io` with one directory grant.
fn catalog_with_grant(dir: &Path, grant: &str) -> std::path::PathBuf {
    let source = repo_root().join("scenarios/fs-io");
    let text = format!(
        r#"[[scenario]]
name = "fs-io"
source = "{}"
grants = {{ dirs = [{grant}] }}

[scenario.params]
ops = {{ default = 50 }}
fsync-ops = {{ default = 10 }}
workers = {{ default = 8 }}
load-ops = {{ default = 2000 }}
export = {{ default = "" }}
"#,
        source.display()
    );
    let path = dir.join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn fs_io_measures_and_every_escape_is_denied_with_nothing_left_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, report) = run_fs_io(tmp.path(), &[]);
    let s = scenario(&report, "fs-io");
    for what in [
        "read ../x",
        "read /etc/passwd",
        "read through a symlink to /",
        "write through a symlink to ..",
        "write ../escaped.txt",
    ] {
        let c = check(s, &format!("confined: {what}"));
        assert_eq!(c["passed"], true, "{c}\n{}", run.describe());
        assert!(c["detail"].as_str().unwrap().starts_with("denied:"), "{c}");
    }
    // `../escaped.txt` from the scratch root would land in TMPDIR itself,
    // and the scratch directory is removed at the end: TMPDIR is empty.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");

    for (name, count) in [
        ("write.1KB", 50),
        ("write.1KB.fsync", 10),
        ("json.write", 50),
        ("json.read", 50),
    ] {
        let m = s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("metric {name} missing\n{}", run.describe()));
        assert_eq!(m["summary"]["count"], count, "{name}");
        assert!(m["summary"]["p50"].as_u64().unwrap() > 0);
    }
    let reads = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "concurrent.read")
        .unwrap();
    let writes = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "concurrent.write")
        .unwrap();
    assert_eq!(
        reads["summary"]["count"].as_u64().unwrap() + writes["summary"]["count"].as_u64().unwrap(),
        2000
    );
    assert_eq!(
        check(s, "json round trip returns the document")["passed"],
        true
    );
    for f in ["json", "csv", "text"] {
        assert_eq!(
            check(s, &format!("dump as {f} holds every record"))["passed"],
            true
        );
    }
}

#[test]
fn keep_scratch_leaves_the_scratch_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, report) = run_fs_io(tmp.path(), &["--keep-scratch"]);
    let kept: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}\n{}", run.describe());
    assert!(
        kept[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("rigor-fs-io-")
    );
    assert!(kept[0].join("doc-0.json").is_file());
    let logs = scenario(&report, "fs-io")["logs"].to_string();
    assert!(logs.contains(kept[0].to_str().unwrap()), "{logs}");
}

#[test]
fn fs_a_full_device_is_reported_as_disk_full() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_with_grant(
        dir.path(),
        r#"{ name = "dev", path = "/dev", mode = "rw" }"#,
    );
    let (run, report) = run_fs_io(
        dir.path(),
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--param",
            "export=dev:full",
        ],
    );
    let s = scenario(&report, "fs-io");
    assert_eq!(s["status"], "failed", "{}", run.describe());
    assert_eq!(run.code, 1);
    let c = check(s, "export results");
    assert_eq!(c["passed"], false);
    let detail = c["detail"].as_str().unwrap();
    assert!(detail.starts_with("io: disk full"), "{detail}");
    assert!(
        s["findings"]
            .to_string()
            .contains("The export directory is full")
    );
}

#[test]
fn fs_a_read_only_grant_refuses_the_write_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let grant = format!(
        r#"{{ name = "out", path = "{}", mode = "ro" }}"#,
        out.display()
    );
    let catalog = catalog_with_grant(dir.path(), &grant);
    let (run, report) = run_fs_io(
        dir.path(),
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--param",
            "export=out:results.csv",
        ],
    );
    let s = scenario(&report, "fs-io");
    assert_eq!(s["status"], "failed", "{}", run.describe());
    let detail = check(s, "export results")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.starts_with("denied:") && detail.contains(r#"mode = "rw""#),
        "{detail}"
    );
    assert!(s["findings"].to_string().contains("cannot be written"));
    assert!(!out.join("results.csv").exists());

    // The same grant read-write: the export lands.
    let grant = format!(
        r#"{{ name = "out", path = "{}", mode = "rw" }}"#,
        out.display()
    );
    let catalog = catalog_with_grant(dir.path(), &grant);
    let (run, report) = run_fs_io(
        dir.path(),
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "--param",
            "export=out:results.csv",
        ],
    );
    assert_eq!(
        check(scenario(&report, "fs-io"), "export results")["passed"],
        true,
        "{}",
        run.describe()
    );
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(
        csv.starts_with("metric,p50_ns,p99_ns\r\nwrite.1KB,"),
        "{csv}"
    );
}

#[test]
fn fs_an_ungranted_directory_is_denied_with_the_grant_to_add() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, report) = run_fs_io(tmp.path(), &["--param", "export=results:x.csv"]);
    let detail = check(scenario(&report, "fs-io"), "export results")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.starts_with("denied:"),
        "{detail}\n{}",
        run.describe()
    );
    assert!(detail.contains(r#"dirs = [{ name = "results""#), "{detail}");
}
