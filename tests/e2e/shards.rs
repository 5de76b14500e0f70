//! Sharded runs and `rigor merge` through the binary: four shard processes
//! with the index in the environment exactly as a Kubernetes Indexed Job
//! sets it, against one real redis-server, merged and compared with one
//! unsharded run; thresholds judged once on the merged data; reports of
//! different plans refused; a replay issuing the same keys.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rigor::metrics::Distribution;
use rigor_tests::{
    ManagedRedis, command_calls, metric, read_json, redis_cli, rigor, run_rigor, scenario,
};

const SHARDS: u32 = 4;

fn count(s: &serde_json::Value, name: &str) -> u64 {
    metric(s, name)["summary"]["count"].as_u64().unwrap()
}

fn histogram(s: &serde_json::Value, name: &str) -> Distribution {
    Distribution::from_base64(metric(s, name)["histogram"].as_str().unwrap()).unwrap()
}

/// Runs the four shards at once as separate processes, each told its
/// 0-based index by `JOB_COMPLETION_INDEX`; returns the report paths.
fn run_shards(redis: &ManagedRedis, dir: &Path, tag: &str, extra: &[&str]) -> Vec<PathBuf> {
    let children: Vec<(PathBuf, std::process::Child)> = (0..SHARDS)
        .map(|i| {
            let json = dir.join(format!("{tag}-shard-{i}.json"));
            let child = rigor()
                .args([
                    "run",
                    "redis-concurrency",
                    "--no-build",
                    "--defer-thresholds",
                ])
                .args(["--redis", &redis.url(), "--run-id", "e2e-shards", "-q"])
                .args(["--json", json.to_str().unwrap()])
                .args(extra)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("RIGOR_SHARD_COUNT", SHARDS.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting a shard");
            (json, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(json, child)| {
            let out: rigor_tests::Run = child.wait_with_output().unwrap().into();
            assert_eq!(out.code, 0, "a deferred shard exits 0: {}", out.describe());
            json
        })
        .collect()
}

fn merge(reports: &[PathBuf], json: &Path) -> rigor_tests::Run {
    let mut args = vec!["merge".to_owned(), "-q".into(), "--json".into()];
    args.push(json.display().to_string());
    args.extend(reports.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_rigor(&args)
}

#[test]
fn four_shard_processes_do_exactly_what_one_run_does() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let port = redis.port();
    let dir = tempfile::tempdir().unwrap();

    // The unsharded run (which also builds the component).
    let whole_json = dir.path().join("whole.json");
    let whole = run_rigor(&[
        "run",
        "redis-concurrency",
        "--redis",
        &redis.url(),
        "-p",
        "min-throughput=1",
        "--json",
        whole_json.to_str().unwrap(),
    ]);
    assert_eq!(whole.code, 0, "{}", whole.describe());
    let whole_calls = (command_calls(port, "set"), command_calls(port, "get"));
    let whole_report = read_json(&whole_json);
    let w = scenario(&whole_report, "redis-concurrency");
    redis_cli(port, &["CONFIG", "RESETSTAT"]);

    // Passes on every shard (about 625 GETs each), fails on the 2,500 merged.
    let reports = run_shards(
        &redis,
        dir.path(),
        "a",
        &[
            "-p",
            "min-throughput=1",
            "--threshold",
            "redis-concurrency:concurrency.get:count<2000",
        ],
    );
    let sharded_calls = (command_calls(port, "set"), command_calls(port, "get"));
    assert_eq!(
        whole_calls.0 + whole_calls.1,
        sharded_calls.0 + sharded_calls.1,
        "INFO commandstats: the shards together sent what one run sent"
    );
    assert_eq!(sharded_calls.0 + sharded_calls.1, 50 * (100 + 10));

    let merged_json = dir.path().join("merged.json");
    let run = merge(&reports, &merged_json);
    assert_eq!(
        run.code,
        1,
        "the merged threshold fails: {}",
        run.describe()
    );
    let merged = read_json(&merged_json);
    let m = scenario(&merged, "redis-concurrency");
    assert_eq!(m["status"], "failed");
    assert_eq!(merged["merge"]["count"], SHARDS);
    assert_eq!(merged["merge"]["missing"].as_array().unwrap().len(), 0);
    assert_eq!(merged["run"]["id"], "e2e-shards");

    // Shard and merged reports are valid `rigor.report/v1`.
    let validator = crate::reports::schema_validator();
    for r in [&merged, &read_json(&reports[0]), &whole_report] {
        let errors = crate::reports::schema_errors(&validator, r);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    // Counts equal the unsharded run's exactly.
    assert_eq!(count(m, "concurrency.all"), count(w, "concurrency.all"));
    assert_eq!(count(m, "concurrency.all"), 50 * 100);
    assert_eq!(
        count(m, "concurrency.set") + count(m, "concurrency.get"),
        count(w, "concurrency.set") + count(w, "concurrency.get")
    );

    // The merged histogram is the exact sum of the shards' histograms.
    let shard_reports: Vec<serde_json::Value> = reports.iter().map(|p| read_json(p)).collect();
    let mut sum = Distribution::new();
    let mut workers = 0;
    for r in &shard_reports {
        let s = scenario(r, "redis-concurrency");
        sum.merge(&histogram(s, "concurrency.all"));
        assert_eq!(r["run"]["plan_digest"], merged["run"]["plan_digest"]);
        workers += count(s, "concurrency.all") / 100;
    }
    assert_eq!(workers, 50, "12 + 13 + 12 + 13 workers of 100 operations");
    let merged_hist = histogram(m, "concurrency.all");
    assert_eq!(merged_hist.summary(), sum.summary());
    for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(
            merged_hist.value_at_quantile(q),
            sum.value_at_quantile(q),
            "q {q}"
        );
    }

    // Judged once on the merged data; every shard's verdict shown beside it.
    let t = m["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "concurrency.get" && t["source"] == "cli")
        .expect("the command-line threshold");
    assert_eq!(t["passed"], false, "{t}");
    assert_eq!(
        t["observed"].as_f64().unwrap(),
        count(m, "concurrency.get") as f64
    );
    let verdicts = t["shards"].as_array().unwrap();
    assert_eq!(verdicts.len(), SHARDS as usize);
    assert!(verdicts.iter().all(|v| v["passed"] == true), "{t}");

    // The reverse: fails on every shard (deferred), passes merged. Same run
    // id, different plan.
    redis_cli(port, &["CONFIG", "RESETSTAT"]);
    let reverse = run_shards(
        &redis,
        dir.path(),
        "b",
        &[
            "-p",
            "min-throughput=1",
            "--threshold",
            "redis-concurrency:concurrency.get:count>2000",
        ],
    );
    for r in &reverse {
        assert_eq!(
            scenario(&read_json(r), "redis-concurrency")["status"],
            "failed"
        );
    }
    let reverse_json = dir.path().join("reverse.json");
    let run = merge(&reverse, &reverse_json);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_eq!(
        scenario(&read_json(&reverse_json), "redis-concurrency")["status"],
        "passed"
    );

    // Shards of different plans are refused, naming both files.
    let mixed = [
        reports[0].clone(),
        reports[1].clone(),
        reverse[2].clone(),
        reverse[3].clone(),
    ];
    let run = merge(&mixed, &dir.path().join("mixed.json"));
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr.contains("ran a different plan than"),
        "{}",
        run.describe()
    );
    assert!(!dir.path().join("mixed.json").exists());

    // A shard missing: refused, or partial with --allow-missing.
    let run = merge(&reports[..3], &dir.path().join("three.json"));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("shard 4 of 4 missing"),
        "{}",
        run.describe()
    );
    let partial = dir.path().join("partial.json");
    let three: Vec<&str> = reports[..3].iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec![
        "merge",
        "-q",
        "--allow-missing",
        "--json",
        partial.to_str().unwrap(),
    ];
    args.extend(three);
    run_rigor(&args);
    let p = read_json(&partial);
    assert_eq!(p["partial"], true);
    assert_eq!(p["merge"]["missing"], serde_json::json!([4]));
}

/// The keys of every SET and GET a run sends, in order, read with MONITOR.
fn keys_sent(redis: &ManagedRedis, args: &[&str]) -> (Vec<String>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("monitor.log");
    let mut monitor = Command::new("redis-cli")
        .args(["-p", &redis.port().to_string(), "monitor"])
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // MONITOR is live once it answers OK.
    for _ in 0..100 {
        if std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("OK")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let json = dir.path().join("report.json");
    let run = run_rigor(&[args, &["--json", json.to_str().unwrap()]].concat());
    assert_eq!(run.code, 0, "{}", run.describe());
    redis_cli(redis.port(), &["PING"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    let keys = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (_, command) = l.split_once("] ")?;
            let mut words = command.split(' ');
            let op = words.next()?;
            let key = words.next()?;
            (op == "\"SET\"" || op == "\"GET\"").then(|| format!("{op} {key}"))
        })
        .collect();
    (keys, read_json(&json))
}

#[test]
fn a_replayed_run_issues_the_same_key_sequence() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "run",
        "redis-concurrency",
        "--redis",
        &redis.url(),
        "-p",
        "workers=1",
        "-p",
        "ops=40",
        "-p",
        "min-throughput=1",
        "-q",
    ];
    let (first, report) = keys_sent(&redis, &[&base[..], &["--seed", "1234"]].concat());
    assert_eq!(first.len(), 50, "10 warm-up and 40 measured: {first:?}");
    assert_eq!(report["run"]["seed"], 1234);
    let original = dir.path().join("original.json");
    std::fs::write(&original, report.to_string()).unwrap();

    let replay_args = [
        "run",
        "--redis",
        &redis.url(),
        "-q",
        "--replay",
        original.to_str().unwrap(),
    ];
    let (again, replayed) = keys_sent(&redis, &replay_args);
    assert_eq!(
        again, first,
        "the replay sent the same commands on the same keys"
    );
    assert_eq!(replayed["run"]["seed"], 1234);
    assert_eq!(replayed["run"]["replay_of"], report["run"]["id"]);
    assert_eq!(replayed["run"]["plan_digest"], report["run"]["plan_digest"]);

    let (other, _) = keys_sent(&redis, &[&base[..], &["--seed", "99"]].concat());
    assert_ne!(other, first, "another seed draws other keys");

    // A component that differs from the recorded one is refused.
    let mut tampered = report.clone();
    tampered["scenarios"][0]["component"]["sha256"] = "0".repeat(64).into();
    std::fs::write(&original, tampered.to_string()).unwrap();
    let run = run_rigor(&replay_args);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .contains("the component of scenario `redis-concurrency` differs"),
        "{}",
        run.describe()
    );
    let run = run_rigor(&[&replay_args[..], &["--force"]].concat());
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(
        run.stderr.contains("warning (--force)"),
        "{}",
        run.describe()
    );
}
