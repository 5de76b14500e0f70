//! Guests that trap, loop, over-allocate, flood their output or reach for
//! what they were not granted: each ends as it should, and the run goes on.

use rigor_tests::{read_json, run_rigor, scenario};

const CATALOG: &str = "tests/fixtures/catalogs/hostile.toml";

#[test]
fn misbehaving_guests_error_with_their_cause_while_good_ones_pass() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "good",
        "trap",
        "panic",
        "loop",
        "oom",
        "sleep",
        "good-after",
        "--json",
        json.to_str().unwrap(),
    ]);
    // `good-after` is not in the catalog: the whole invocation is invalid.
    assert_eq!(run.code, 2, "{}", run.describe());

    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "trap",
        "panic",
        "loop",
        "oom",
        "sleep",
        "good",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        !run.stderr.contains("panicked at host"),
        "{}",
        run.describe()
    );
    let report = read_json(&json);

    let error = |name: &str| {
        let s = scenario(&report, name);
        assert_eq!(s["status"], "errored", "{name}: {s:#}");
        (
            s["error"]["kind"].as_str().unwrap().to_owned(),
            s["error"]["message"].as_str().unwrap().to_owned(),
        )
    };
    let (kind, message) = error("trap");
    assert_eq!(kind, "trap");
    assert!(message.contains("unreachable"), "{message}");

    let (kind, message) = error("panic");
    assert_eq!(kind, "trap");
    assert!(
        message.contains("the scenario panicked on purpose"),
        "{message}"
    );

    let (kind, message) = error("loop");
    assert_eq!(kind, "timeout");
    assert!(message.contains("deadline of 1s"), "{message}");
    let loop_ms = scenario(&report, "loop")["duration_ms"].as_f64().unwrap();
    assert!(
        loop_ms < 10_000.0,
        "the loop was stopped late: {loop_ms} ms"
    );

    let (kind, message) = error("oom");
    assert_eq!(kind, "memory-limit");
    assert!(
        message.contains("past its cap of 33554432 bytes"),
        "{message}"
    );

    // Blocked in a host call (sleep), not in wasm: the outer deadline ends it.
    let (kind, _) = error("sleep");
    assert_eq!(kind, "timeout");

    // The good scenario ran after all of them and passed.
    let good = scenario(&report, "good");
    assert_eq!(good["status"], "passed", "{good:#}");
    assert_eq!(report["summary"]["errored"], 5);
    assert_eq!(report["summary"]["passed"], 1);
}

#[test]
fn ungranted_redis_target_is_a_denied_value_not_a_trap() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "deny-redis",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let report = read_json(&json);
    let s = scenario(&report, "deny-redis");
    let check = &s["checks"][0];
    assert_eq!(check["name"], "ungranted target is denied");
    assert_eq!(check["passed"], true);
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("redis target `default` is not granted"),
        "{detail}"
    );
    assert!(detail.contains("redis = [\"default\"]"), "{detail}");
}

#[test]
fn guest_output_is_captured_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "flood",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let report = read_json(&json);
    let s = scenario(&report, "flood");
    let kept = s["output"]["stdout"].as_str().unwrap().len() as u64;
    let dropped = s["output"]["stdout_dropped_bytes"].as_u64().unwrap();
    assert_eq!(kept, 64 * 1024);
    assert_eq!(kept + dropped, 1024 * 1024);
}

#[test]
fn failed_check_fails_and_guest_error_errors() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "fail-check",
        "guest-error",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let report = read_json(&json);
    assert_eq!(scenario(&report, "fail-check")["status"], "failed");
    let e = scenario(&report, "guest-error");
    assert_eq!(e["status"], "errored");
    assert_eq!(e["error"]["kind"], "guest");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gave up on purpose")
    );
}
