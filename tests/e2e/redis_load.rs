//! Native Redis load through the binary: the catalog's redis-concurrency
//! and cache-baseline scenarios, and a load that survives a server restart.

use std::time::{Duration, Instant};

use rigor_tests::{
    ManagedRedis, command_calls, metric, read_json, redis_cli, rigor, run_rigor, scenario,
};

#[test]
fn redis_concurrency_reports_throughput_and_exact_counts() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "redis-concurrency",
        "--redis",
        &redis.url(),
        "-p",
        "workers=20",
        "-p",
        "ops=150",
        "-p",
        "warmup=5",
        "-p",
        "min-throughput=100",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_json(&json);
    let s = scenario(&report, "redis-concurrency");
    assert_eq!(s["status"], "passed", "{}", run.describe());
    assert_eq!(run.code, 0, "{}", run.describe());

    // 20 workers × (5 warm-up + 150 measured), split between SET and GET.
    assert_eq!(
        command_calls(redis.port(), "set") + command_calls(redis.port(), "get"),
        20 * 155
    );
    let throughput = metric(s, "concurrency.throughput");
    assert_eq!(throughput["unit"], "ops-per-second");
    assert!(
        throughput["value"].as_f64().unwrap() > 100.0,
        "{throughput}"
    );
    let set = metric(s, "concurrency.set")["summary"]["count"]
        .as_u64()
        .unwrap();
    let get = metric(s, "concurrency.get")["summary"]["count"]
        .as_u64()
        .unwrap();
    assert_eq!(set + get, 20 * 150);
    assert_eq!(metric(s, "concurrency.error-rate")["value"], 0.0);
    let thresholds: Vec<&str> = s["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["metric"].as_str().unwrap())
        .collect();
    for m in [
        "concurrency.throughput",
        "concurrency.all",
        "concurrency.error-rate",
    ] {
        assert!(thresholds.contains(&m), "{m} not judged: {thresholds:?}");
    }
    // The scenario cleans up after itself.
    assert_eq!(redis_cli(redis.port(), &["DBSIZE"]), "0");
}

#[test]
fn cache_baseline_measures_miss_and_hit_paths() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    // A stale key under the prefix, which the scenario must clear first, and
    // one outside it, which must survive.
    redis_cli(redis.port(), &["SET", "rigor:cache-baseline:3", "stale"]);
    redis_cli(redis.port(), &["SET", "other:key", "keep"]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "cache-baseline",
        "--redis",
        &redis.url(),
        "-p",
        "ops=200",
        "-p",
        "max-hit-p99=1s",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = read_json(&json);
    let s = scenario(&report, "cache-baseline");
    assert_eq!(s["status"], "passed", "{}", run.describe());
    for name in ["get.miss", "get.hit"] {
        assert_eq!(metric(s, name)["summary"]["count"], 200, "{name}");
    }
    assert!(metric(s, "hit-minus-miss.mean")["value"].is_number());
    assert_eq!(redis_cli(redis.port(), &["GET", "other:key"]), "keep");
    assert_eq!(redis_cli(redis.port(), &["DBSIZE"]), "1");
}

#[test]
fn a_load_survives_a_server_restart_and_the_report_is_written() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let port = redis.port();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let began = Instant::now();
    let child = rigor()
        .args([
            "run",
            "--catalog",
            "tests/fixtures/catalogs/hostile.toml",
            "load-restart",
            "--redis",
            &url,
            "--json",
            json.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first phase to be under way, then stop the server.
    let deadline = Instant::now() + Duration::from_secs(300);
    while command_calls(port, "set") < 100 {
        assert!(Instant::now() < deadline, "the load never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    redis.stop();
    std::thread::sleep(Duration::from_millis(1000));
    let _back = ManagedRedis::start_on_port(port).expect("restarting redis-server");
    let out = child.wait_with_output().unwrap();
    let run = rigor_tests::Run::from(out);
    let report = read_json(&json);
    let s = scenario(&report, "load-restart");
    assert_eq!(s["status"], "passed", "{}", run.describe());
    let first_errors = metric(s, "first.error-rate")["value"].as_f64().unwrap();
    assert!(first_errors > 0.0, "the outage was not counted: {s:#}");
    assert_eq!(metric(s, "second.error-rate")["value"], 0.0);
    assert!(
        metric(s, "second.set")["summary"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Bounded: the guest's phases take ~3.5 s; no hang on the dead server.
    assert!(began.elapsed() < Duration::from_secs(90));
}
