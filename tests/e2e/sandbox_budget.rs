//! Guests that try to exhaust the host through what it holds for them: each
//! is refused past its budget with a `denied` error (or, for histograms, a
//! trap) that names the budget, the next scenario of the same run still runs
//! and passes, and the JSON report is complete, with every budget's peak.

use std::time::{Duration, Instant};

use rigor_tests::{ManagedRedis, read_json, redis_cli, rigor, run_rigor, scenario};

const CATALOG: &str = "tests/fixtures/catalogs/sandbox-budget.toml";

/// Runs `scenarios` of the budget catalog against `redis`; returns the
/// outcome and the JSON report.
fn run(redis: Option<&ManagedRedis>, scenarios: &[&str]) -> (rigor_tests::Run, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let url = redis.map(ManagedRedis::url);
    let mut args = vec!["run", "--catalog", CATALOG];
    args.extend_from_slice(scenarios);
    if let Some(url) = &url {
        args.extend(["--redis", url.as_str()]);
    }
    args.extend(["--json", json.to_str().unwrap()]);
    let run = run_rigor(&args);
    let report = read_json(&json);
    (run, report)
}

/// The detail of the check named `name` in scenario `s`.
fn check_detail(s: &serde_json::Value, name: &str) -> String {
    s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}`: {s:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The report is whole: every scenario asked for, in order, with its
/// budgets; the summary counts them all.
fn assert_complete(report: &serde_json::Value, names: &[&str]) {
    let scenarios = report["scenarios"].as_array().unwrap();
    let got: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, names, "{report:#}");
    assert_eq!(report["summary"]["total"], names.len());
    assert_eq!(report["partial"], false);
    for s in scenarios {
        for budget in [
            "host_memory",
            "connections",
            "children",
            "load_workers",
            "load_threads",
        ] {
            assert!(
                s["budgets"][budget]["limit"].is_u64(),
                "{}: no `{budget}` budget: {s:#}",
                s["name"]
            );
        }
    }
    // The scenario that ran last is a good one and passed.
    let after = scenario(report, "budget-after");
    assert_eq!(after["status"], "passed", "{after:#}");
}

#[test]
fn an_oversized_load_is_refused_before_anything_is_allocated() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let (run, report) = run(
        Some(&redis),
        &[
            "budget-huge-load",
            "budget-huge-load-default",
            "budget-after",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_complete(
        &report,
        &[
            "budget-huge-load",
            "budget-huge-load-default",
            "budget-after",
        ],
    );
    for (name, limit, limit_text) in [
        ("budget-huge-load", 64u64 << 20, "64 MiB"),
        ("budget-huge-load-default", 512 << 20, "512 MiB"),
    ] {
        let s = scenario(&report, name);
        assert_eq!(
            s["status"], "passed",
            "the guest handled the refusal: {s:#}"
        );
        let message = check_detail(s, "run-load of 256 MiB values × pipeline 64 is denied");
        assert!(
            message.starts_with(
                "run-load needs 32.3 GiB of host memory (1 worker × pipeline 64 × 512 MiB per command and reply, plus 256 MiB for the value,"
            ),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "over the scenario's host-memory budget of {limit_text}"
            )) && message.contains("raise `host-memory` in the scenario's `limits`"),
            "{message}"
        );
        let budget = &s["budgets"]["host_memory"];
        assert_eq!(budget["limit"], limit);
        assert_eq!(budget["refused"], 1);
        // Nothing of the load was taken: the peak is the report's own items.
        assert!(budget["peak"].as_u64().unwrap() < 1 << 20, "{budget}");
        assert_eq!(s["budgets"]["connections"]["peak"], 0);
    }
    // The console summary says which budget refused.
    assert!(
        run.stdout.lines().any(|l| l
            .trim_start()
            .starts_with("budget: host-memory refused 1 request (peak ")
            && l.ends_with(" of 512 MiB)")),
        "{}",
        run.describe()
    );
    // Nothing was written under the load's prefix.
    assert_eq!(
        redis_cli(redis.port(), &["EXISTS", "rigor:fixture:budget:0"]),
        "0"
    );
}

/// The most threads `pid` had while it ran, sampled from /proc.
fn peak_threads_while(child: &mut std::process::Child) -> u64 {
    let pid = child.id();
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "rigor did not finish");
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(n) = status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        {
            peak = peak.max(n);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    peak
}

#[test]
fn ten_thousand_load_workers_are_tasks_on_a_few_threads() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    // Build first, so the sampled process is the run alone.
    let built = run_rigor(&["build", "--catalog", CATALOG, "budget-after"]);
    assert_eq!(built.code, 0, "{}", built.describe());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut child = rigor()
        .args([
            "run",
            "--catalog",
            CATALOG,
            "budget-many-workers",
            "budget-many-workers-default",
            "budget-many-threads",
            "budget-after",
            "--redis",
            &redis.url(),
            "--json",
            json.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let peak = peak_threads_while(&mut child);
    assert!(child.wait().unwrap().success());
    // The engine's runtime, its epoch ticker, a few blocking-pool threads,
    // the compiler's pool (one per core) and one event loop for the load:
    // nowhere near one per worker.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let bound = 32 + 2 * cores;
    assert!(
        peak > 0 && peak < bound,
        "rigor had {peak} threads at once (bound {bound})"
    );

    let report = read_json(&json);
    assert_complete(
        &report,
        &[
            "budget-many-workers",
            "budget-many-workers-default",
            "budget-many-threads",
            "budget-after",
        ],
    );
    let s = scenario(&report, "budget-many-workers");
    assert_eq!(s["status"], "passed", "{s:#}");
    let detail = check_detail(s, "10000 workers ran");
    assert!(
        detail.starts_with("10000 workers on 1 thread(s)"),
        "{detail}"
    );
    assert_eq!(s["budgets"]["load_workers"]["peak"], 10_000);
    assert_eq!(s["budgets"]["load_threads"]["peak"], 1);
    assert_eq!(s["budgets"]["connections"]["peak"], 1);

    let s = scenario(&report, "budget-many-workers-default");
    assert_eq!(s["status"], "passed", "{s:#}");
    let message = check_detail(s, "run-load with 10000 workers is denied");
    assert!(
        message.starts_with(
            "run-load needs 10000 load workers, over the scenario's load-workers budget of 1024;"
        ) && message.contains("raise `load-workers`"),
        "{message}"
    );
    assert_eq!(s["budgets"]["load_workers"]["refused"], 1);

    // A thread per worker is refused by the thread budget, before any
    // thread or connection exists.
    let s = scenario(&report, "budget-many-threads");
    assert_eq!(s["status"], "passed", "{s:#}");
    let message = check_detail(s, "run-load with 10000 workers on 1000 threads is denied");
    assert!(
        message.starts_with(
            "run-load needs 1000 load threads (its workers run as tasks on 1000 event-loop threads; ask for fewer with `threads`), over the scenario's load-threads budget of 16;"
        ),
        "{message}"
    );
    assert_eq!(s["budgets"]["load_threads"]["refused"], 1);
    assert_eq!(s["budgets"]["connections"]["peak"], 0);
}

#[test]
fn wide_histograms_are_refused_past_the_host_memory_budget() {
    let (run, report) = run(
        None,
        &[
            "budget-histograms",
            "budget-histograms-default",
            "budget-after",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.describe());
    assert_complete(
        &report,
        &[
            "budget-histograms",
            "budget-histograms-default",
            "budget-after",
        ],
    );
    let s = scenario(&report, "budget-histograms");
    assert_eq!(s["status"], "errored", "{s:#}");
    assert_eq!(s["error"]["kind"], "trap");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("metrics.histogram: histogram `wide-")
            && message.contains("KiB of host memory")
            && message.contains("over the scenario's host-memory budget of 16 MiB"),
        "{message}"
    );
    let memory = &s["budgets"]["host_memory"];
    assert_eq!(memory["limit"], 16u64 << 20);
    assert!(memory["peak"].as_u64().unwrap() <= 16 << 20, "{memory}");
    assert_eq!(memory["refused"], 1);

    // With the defaults, the count of histograms binds first.
    let s = scenario(&report, "budget-histograms-default");
    assert_eq!(s["status"], "errored", "{s:#}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("too many histograms: a scenario may create at most 512"),
        "{message}"
    );
    let peak = s["budgets"]["host_memory"]["peak"].as_u64().unwrap();
    assert!(peak <= 512 << 20, "{peak}");
}

#[test]
fn twenty_thousand_opens_are_refused_past_the_connection_budget() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let (run, report) = run(Some(&redis), &["budget-connections", "budget-after"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_complete(&report, &["budget-connections", "budget-after"]);
    let s = scenario(&report, "budget-connections");
    assert_eq!(s["status"], "passed", "{s:#}");
    assert_eq!(
        check_detail(s, "connections opened"),
        "512 opened, 19488 refused"
    );
    let message = check_detail(s, "the first refusal");
    assert!(
        message.starts_with(
            "redis.open(\"default\") needs 1 connection (drop connections the scenario no longer uses), over the scenario's connections budget of 512 (512 in use, 0 left)"
        ) && message.contains("raise `connections`"),
        "{message}"
    );
    let budget = &s["budgets"]["connections"];
    assert_eq!(
        (budget["peak"].as_u64(), budget["refused"].as_u64()),
        (Some(512), Some(19_488))
    );
    let again = check_detail(s, "a connection opens again once the others are dropped");
    assert!(again.starts_with("Ok("), "{again}");
    // The server was never flooded: it still takes a new client, and the
    // scenario's connections are gone.
    assert_eq!(redis_cli(redis.port(), &["PING"]), "PONG");
    let clients = redis_cli(redis.port(), &["INFO", "clients"]);
    let connected: u64 = clients
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{clients}"));
    assert!(connected < 10, "{connected} clients still connected");
}

#[test]
fn spawns_past_the_children_budget_are_refused_and_running_children_unharmed() {
    let (run, report) = run(None, &["budget-children", "budget-after"]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert_complete(&report, &["budget-children", "budget-after"]);
    let s = scenario(&report, "budget-children");
    assert_eq!(s["status"], "passed", "{s:#}");
    let message = check_detail(s, "a spawn past the children budget is denied");
    assert!(
        message.starts_with("process.spawn needs 1 live child")
            && message.contains("children budget of 3")
            && message.contains("raise `children`"),
        "{message}"
    );
    let budget = &s["budgets"]["children"];
    assert_eq!(
        (
            budget["limit"].as_u64(),
            budget["peak"].as_u64(),
            budget["refused"].as_u64()
        ),
        (Some(3), Some(3), Some(1)),
        "{budget:#}"
    );
}
