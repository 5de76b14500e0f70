//! The embedded default: without `--redis`, rigor starts a throwaway
//! redis-server for the run and stops it afterwards; without redis-server,
//! Redis scenarios are skipped with instructions.

use rigor_tests::{process_alive, read_json, rigor, scenario};

#[test]
fn without_a_url_a_managed_server_serves_the_run_and_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("redis.pid");
    // A wrapper that records the server's pid, then becomes the server.
    let wrapper = dir.path().join("redis-server");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec redis-server \"$@\"\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let json = dir.path().join("report.json");
    let out = rigor()
        .env("RIGOR_REDIS_SERVER", &wrapper)
        .args([
            "run",
            "redis-latency",
            "--param",
            "ops=20",
            "--param",
            "warmup=0",
            "--param",
            "open-rate=0",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let report = read_json(&json);
    let s = scenario(&report, "redis-latency");
    assert!(
        s["status"] == "passed" || s["status"] == "failed",
        "{s:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<&str> = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for size in ["100B", "10KB", "100KB", "json"] {
        for op in ["set", "get"] {
            let name = format!("{op}.{size}");
            assert!(names.contains(&name.as_str()), "{name} missing: {names:?}");
        }
    }
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !process_alive(pid),
        "managed redis-server {pid} outlived the run"
    );
}

#[test]
fn without_redis_server_redis_scenarios_are_skipped_with_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = rigor()
        .env(
            "RIGOR_REDIS_SERVER",
            dir.path().join("no-such-redis-server"),
        )
        .args(["run", "redis-latency", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = read_json(&json);
    let s = scenario(&report, "redis-latency");
    assert_eq!(s["status"], "skipped");
    let reason = s["skip_reason"].as_str().unwrap();
    assert!(reason.contains("apt-get install redis-server"), "{reason}");
    assert!(reason.contains("--redis redis://"), "{reason}");
    assert_eq!(report["summary"]["skipped"], 1);
}

/// A `dump.rdb` in `$TMPDIR` (planted by another local user, or left by an
/// earlier run) is never loaded by the throwaway server, and the server's
/// private folder is gone after the run.
#[test]
fn a_dump_planted_in_tmpdir_is_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    // A real dump holding `rigor:planted`, made by a real server.
    let maker = rigor_tests::ManagedRedis::start().unwrap();
    assert_eq!(
        rigor_tests::redis_cli(maker.port(), &["SET", "rigor:planted", "1"]),
        "OK"
    );
    assert_eq!(rigor_tests::redis_cli(maker.port(), &["SAVE"]), "OK");
    let dump = maker.data_dir().unwrap().join("dump.rdb");
    std::fs::copy(&dump, tmp.path().join("dump.rdb")).unwrap();
    drop(maker);

    let json = tmp.path().join("report.json");
    let out = rigor()
        .env("TMPDIR", tmp.path())
        .args([
            "run",
            "--catalog",
            "tests/fixtures/catalogs/hostile.toml",
            "planted-key",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    let report = read_json(&json);
    let s = scenario(&report, "planted-key");
    assert_eq!(
        s["status"],
        "passed",
        "{s:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("rigor-redis-"))
        .collect();
    assert!(left.is_empty(), "server folders left behind: {left:?}");
}
