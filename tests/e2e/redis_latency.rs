//! The catalog's redis-latency scenario, built and run through the binary
//! against a real redis-server.

use rigor_tests::{ManagedRedis, read_json, redis_cli, run_rigor, scenario};

const METRICS: [&str; 8] = [
    "set.100B",
    "get.100B",
    "set.10KB",
    "get.10KB",
    "set.100KB",
    "get.100KB",
    "set.json",
    "get.json",
];

#[test]
fn redis_latency_reports_all_eight_metrics_with_sane_values() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "redis-latency",
        "--redis",
        &redis.url(),
        "--param",
        "ops=300",
        "--param",
        "warmup=20",
        "--param",
        "open-rate=500",
        "--param",
        "open-duration-ms=1000",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_json(&json);
    assert_eq!(report["schema"], "rigor.report/v1", "{}", run.describe());
    let s = scenario(&report, "redis-latency");
    let status = s["status"].as_str().unwrap();
    assert!(
        status == "passed" || status == "failed",
        "status {status}\n{}",
        run.describe()
    );
    // The exit code follows the verdict.
    assert_eq!(
        run.code,
        if status == "passed" { 0 } else { 1 },
        "{}",
        run.describe()
    );
    assert_eq!(s["params"]["ops"], "300");

    for name in METRICS {
        let m = s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("metric {name} missing\n{}", run.describe()));
        assert_eq!(m["unit"], "nanoseconds");
        let sum = &m["summary"];
        let get = |k: &str| {
            sum[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}.{k}: {sum}"))
        };
        assert_eq!(get("count"), 300, "{name}");
        let (min, p50, p99, max) = (get("min"), get("p50"), get("p99"), get("max"));
        assert!(min > 0, "{name}: min {min}");
        assert!(min <= p50 && p50 <= p99 && p99 <= max, "{name}: {sum}");
        // A loopback round trip takes microseconds, not nanoseconds or seconds.
        assert!(p50 > 1_000 && p50 < 1_000_000_000, "{name}: p50 {p50} ns");
        assert!(m["histogram"].as_str().unwrap().starts_with("HISTFAAA"));

        for expr in ["avg < 1ms", "p(99) < 1ms"] {
            let t = s["thresholds"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["metric"] == name && t["expression"] == expr)
                .unwrap_or_else(|| panic!("threshold {name} {expr} missing"));
            assert_eq!(t["source"], "guest");
            let observed = t["observed"].as_f64().unwrap();
            assert_eq!(
                t["passed"].as_bool().unwrap(),
                observed < 1_000_000.0,
                "{t}"
            );
        }
    }
    // A failing threshold comes with a finding.
    let failed = s["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["passed"] == false)
        .count();
    assert_eq!(s["findings"].as_array().unwrap().len(), failed);
    for c in s["checks"].as_array().unwrap() {
        assert_eq!(c["passed"], true, "{c}");
    }
    // The scenario cleans up after itself.
    assert_eq!(redis_cli(redis.port(), &["DBSIZE"]), "0");
    // Commands really reached this server: 8 metrics × 300 timed + warm-up.
    let info = redis_cli(redis.port(), &["INFO", "commandstats"]);
    let calls = |cmd: &str| -> u64 {
        info.lines()
            .find(|l| l.starts_with(&format!("cmdstat_{cmd}:")))
            .and_then(|l| l.split("calls=").nth(1))
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(calls("set"), 4 * (300 + 20));
    // ... plus the open-model run: 500 GET/s for 1 s.
    assert_eq!(calls("get"), 4 * (300 + 20) + 500);
    for name in ["open.get", "open.get.service"] {
        let m = s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("metric {name} missing\n{}", run.describe()));
        assert_eq!(m["summary"]["count"], 500, "{name}");
    }
}

#[test]
fn catalog_and_cli_thresholds_are_evaluated_with_their_source() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "redis-latency",
        "--redis",
        &redis.url(),
        "--param",
        "ops=50",
        "--param",
        "warmup=0",
        // Impossible on purpose: a round trip never takes under 1 ns.
        "--threshold",
        "redis-latency:get.100B:p(50)<1ns",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let report = read_json(&json);
    let s = scenario(&report, "redis-latency");
    assert_eq!(s["status"], "failed");
    let t = s["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "cli")
        .expect("the cli threshold is reported");
    assert_eq!(t["metric"], "get.100B");
    assert_eq!(t["expression"], "p(50) < 1ns");
    assert_eq!(t["passed"], false);
    assert!(t["observed"].as_f64().unwrap() > 1.0);
    assert!(
        run.stdout.contains("✗ get.100B: p(50) < 1ns"),
        "{}",
        run.describe()
    );
}
