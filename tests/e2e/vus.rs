//! Virtual users through the binary, against a real redis-server: every
//! executor's iteration counts checked in Redis itself, a trapping VU that
//! does not stop the others, deterministic seeds, arrival-rate pacing and
//! dropped iterations, a followed ramp, graceful stop, and the refusals.

use rigor_tests::{
    ManagedRedis, Run, check, command_calls, metric, read_json, redis_cli, run_rigor, scenario,
};

const CATALOG: &str = "tests/fixtures/catalogs/vu.toml";

fn value(s: &serde_json::Value, name: &str) -> f64 {
    let m = metric(s, name);
    m["value"]
        .as_f64()
        .or_else(|| m["count"].as_f64())
        .unwrap_or_else(|| panic!("metric {name} has no value: {m:#}"))
}

/// Runs one scenario of the VU catalog against `redis`; returns the run and
/// its scenario report.
fn run_vu(redis: &ManagedRedis, name: &str, extra: &[&str]) -> (Run, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let url = redis.url();
    let mut args = vec![
        "run",
        "--catalog",
        CATALOG,
        name,
        "--redis",
        &url,
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = run_rigor(&args);
    let report = read_json(&json);
    let s = scenario(&report, name).clone();
    (run, s)
}

fn redis() -> ManagedRedis {
    ManagedRedis::start().expect("redis-server must be installed for the tests")
}

#[test]
fn iteration_based_executors_run_exactly_their_iterations() {
    let redis = redis();
    let (run, s) = run_vu(&redis, "vu-shared", &[]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    assert_eq!(run.code, 0);
    // 103 iterations shared by 7 VUs: each one INCR, counted by Redis.
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-shared:count"]),
        "103"
    );
    assert_eq!(command_calls(redis.port(), "incr"), 103);
    assert_eq!(value(&s, "iterations"), 103.0);
    assert_eq!(value(&s, "vus.max"), 7.0);
    assert_eq!(metric(&s, "iteration")["summary"]["count"], 103);
    assert_eq!(metric(&s, "vus.instantiate")["summary"]["count"], 7);
    // setup ran before and teardown after the VUs.
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-shared:setup"]),
        "1"
    );
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-shared:teardown"]),
        "1"
    );

    // Parameters reach the executor.
    let (run, s) = run_vu(&redis, "vu-shared", &["-p", "vus=3", "-p", "iterations=20"]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-shared:count"]),
        "20"
    );
    assert_eq!(value(&s, "vus.max"), 3.0);

    // Each of 6 VUs runs 11 iterations.
    let (run, s) = run_vu(&redis, "vu-per-vu", &[]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-per-vu:count"]),
        "66"
    );
    assert_eq!(command_calls(redis.port(), "incr"), 103 + 20 + 66);
}

#[test]
fn a_trapping_vu_fails_its_iteration_and_the_others_go_on() {
    let redis = redis();
    let (run, s) = run_vu(&redis, "vu-trap", &[]);
    // 4 VUs × 5 iterations; VU 2's first one traps before its INCR.
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-trap:count"]),
        "19"
    );
    assert_eq!(value(&s, "iterations"), 20.0);
    assert_eq!(value(&s, "iterations.failed"), 1.0);
    // The trapped instance cannot be entered again: VU 2 was made anew.
    assert_eq!(metric(&s, "vus.instantiate")["summary"]["count"], 5);
    // A failed iteration fails the scenario, naming the VU and the cause.
    assert_eq!(s["status"], "failed", "{}", run.describe());
    assert_eq!(run.code, 1);
    let check = check(&s, "iteration completes");
    assert_eq!(check["passed"], false);
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("1 failed; the first: VU 2: the guest trapped")
            && detail.contains("VU 2 gives up"),
        "{detail}"
    );
    // teardown still ran.
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-trap:teardown"]),
        "1"
    );
}

#[test]
fn vu_seeds_repeat_with_the_run_seed_and_differ_without_it() {
    let redis = redis();
    let seeds = |seed: &str| {
        let (run, s) = run_vu(&redis, "vu-seeds", &["--seed", seed]);
        assert_eq!(s["status"], "passed", "{}", run.describe());
        let list = redis_cli(redis.port(), &["LRANGE", "rigor:vu-seeds:seeds", "0", "-1"]);
        let mut entries: Vec<String> = list.lines().map(str::to_owned).collect();
        entries.sort();
        entries
    };
    let first = seeds("7");
    assert_eq!(first.len(), 15);
    assert_eq!(seeds("7"), first);
    let other = seeds("8");
    assert_eq!(other.len(), 15);
    assert_ne!(other, first);
    // Within a run: one seed per VU, the same for all its iterations.
    let per_vu: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        first.iter().fold(Default::default(), |mut m, e| {
            let mut parts = e.split(':');
            let (vu, _iter, seed) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
            m.entry(vu).or_default().insert(seed);
            m
        });
    assert_eq!(per_vu.len(), 5);
    assert!(per_vu.values().all(|s| s.len() == 1));
}

#[test]
fn arrival_rate_runs_the_timeline_and_counts_what_it_drops() {
    let redis = redis();
    // 200/s for 3 s: every slot of the timeline is run or counted dropped.
    let (run, s) = run_vu(&redis, "vu-arrival", &[]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    let completed = value(&s, "iterations");
    let dropped = value(&s, "dropped-iterations");
    assert_eq!(completed + dropped, 600.0, "{}", run.describe());
    assert!(completed >= 588.0, "delivered {completed} of 600");
    let count: f64 = redis_cli(redis.port(), &["GET", "rigor:vu-arrival:count"])
        .parse()
        .unwrap();
    assert_eq!(count, completed);

    // One VU that takes 20 ms per iteration cannot keep up with 200/s.
    let (run, s) = run_vu(&redis, "vu-arrival", &["-p", "pre=1", "-p", "max-vus=1"]);
    let completed = value(&s, "iterations");
    let dropped = value(&s, "dropped-iterations");
    assert_eq!(completed + dropped, 600.0, "{}", run.describe());
    assert!(dropped >= 300.0, "only {dropped} dropped");
    assert_eq!(value(&s, "vus.max"), 1.0);
}

#[test]
fn ramping_vus_follow_their_stages() {
    let redis = redis();
    let (run, s) = run_vu(&redis, "vu-ramping", &[]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    assert_eq!(value(&s, "vus.max"), 20.0);
    // 0 → 20 over 2 s, 20 for 1 s, 20 → 0 over 2 s: the sampled number of
    // active VUs follows the ramp (within a few VUs of scheduling slack).
    let series = metric(&s, "vus.active")["series"]
        .as_array()
        .unwrap()
        .clone();
    assert!(series.len() >= 10, "{series:?}");
    let expected = |t: f64| -> f64 {
        if t < 2.0 {
            10.0 * t
        } else if t < 3.0 {
            20.0
        } else {
            (20.0 - 10.0 * (t - 3.0)).max(0.0)
        }
    };
    let mut compared = 0;
    for point in &series {
        let (t, active) = (point[0].as_f64().unwrap(), point[1].as_f64().unwrap());
        // Skip the instants where the target changes fastest.
        if !(0.5..4.5).contains(&t) {
            continue;
        }
        assert!(
            (active - expected(t)).abs() <= 4.0,
            "at {t:.2}s {active} VUs active, the ramp says {}: {series:?}",
            expected(t)
        );
        compared += 1;
    }
    assert!(compared >= 8, "{series:?}");
}

#[test]
fn progress_streams_iterations_active_vus_and_drops() {
    let redis = redis();
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("events.ndjson");
    let out = format!("ndjson={}", stream.display());
    let (run, s) = run_vu(&redis, "vu-ramping", &["--out", &out]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    let text = std::fs::read_to_string(&stream).unwrap();
    let progress: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "progress")
        .collect();
    assert!(progress.len() >= 3, "{text}");
    assert!(progress.iter().all(|p| p["phase"] == "iterations"));
    let detail = |p: &serde_json::Value| p["detail"].as_str().unwrap().to_owned();
    assert!(progress.iter().all(|p| detail(p).ends_with(" dropped")));
    // Sometime during the plateau all 20 VUs were active, and the count of
    // iterations only grew.
    assert!(
        progress.iter().any(|p| detail(p).starts_with("20 VUs")),
        "{text}"
    );
    let done: Vec<u64> = progress
        .iter()
        .map(|p| p["done"].as_u64().unwrap())
        .collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
}

#[test]
fn graceful_stop_lets_iterations_finish_or_cuts_them() {
    let redis = redis();
    // Iterations of 1.5 s in a 1 s executor: with the default 30 s graceful
    // stop the running ones finish; with 100 ms they are cut off.
    let (run, s) = run_vu(
        &redis,
        "vu-constant",
        &["-p", "sleep-ms=1500", "-p", "vus=4"],
    );
    assert_eq!(s["status"], "passed", "{}", run.describe());
    assert_eq!(value(&s, "iterations"), 4.0);
    assert_eq!(value(&s, "iterations.interrupted"), 0.0);
    let (run, s) = run_vu(
        &redis,
        "vu-constant",
        &[
            "-p",
            "sleep-ms=1500",
            "-p",
            "vus=4",
            "--executor",
            "graceful-stop=100ms",
        ],
    );
    assert_eq!(value(&s, "iterations"), 0.0, "{}", run.describe());
    assert_eq!(value(&s, "iterations.interrupted"), 4.0);
}

#[test]
fn vus_get_only_their_grants_and_wrong_worlds_are_named() {
    let redis = redis();
    let (run, s) = run_vu(&redis, "vu-denied", &[]);
    assert_eq!(s["status"], "errored", "{}", run.describe());
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("setup returned an error: denied: redis target `default` is not granted to scenario `vu-denied`"),
        "{message}"
    );

    // A plain scenario given an executor: refused before anything runs.
    let run = run_rigor(&["run", "--catalog", CATALOG, "vu-plain-with-executor"]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr.contains(
            "its catalog entry has an `executor`, but it is a plain scenario (it exports `run`"
        ),
        "{}",
        run.describe()
    );
}

#[test]
fn executor_mistakes_name_the_catalog_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    let guest = rigor_tests::repo_root().join("tests/fixtures/guests/vu");
    std::fs::write(
        &catalog,
        format!(
            "[[scenario]]\nname = \"bad\"\nsource = \"{}\"\n\nexecutor = {{ type = \"constant-arrival-rate\", rate = 10, duration = \"1s\", preAllocatedVUs = 2 }}\n",
            guest.display()
        ),
    )
    .unwrap();
    let run = run_rigor(&["list", "--catalog", catalog.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr.contains("catalog.toml:5:12: scenario `bad`: executor: unknown field `preAllocatedVUs`; the catalog spells it `pre-allocated-vus`"),
        "{}",
        run.describe()
    );
    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "vu-shared",
        "--executor",
        "vus=0",
    ]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .contains("scenario `vu-shared`: executor: `vus` must be at least 1"),
        "{}",
        run.describe()
    );
}

/// `total_connections_received` of the server's `INFO stats`.
fn connections_received(port: u16) -> u64 {
    let info = redis_cli(port, &["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.trim().strip_prefix("total_connections_received:"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn vus_share_a_bounded_pool_of_connections() {
    let redis = redis();
    let before = connections_received(redis.port());
    let (run, s) = run_vu(&redis, "vu-pooled", &[]);
    assert_eq!(s["status"], "passed", "{}", run.describe());
    // 200 VUs × 5 INCRs through the pool: every one counted, over at most
    // the pool's 32 links, plus the connections setup and teardown open,
    // rigor's check that the target answers, and this test's GET and INFO.
    assert_eq!(
        redis_cli(redis.port(), &["GET", "rigor:vu-pooled:count"]),
        "1000"
    );
    let opened = connections_received(redis.port()) - before;
    assert!(opened <= 32 + 5, "{opened} connections for 200 VUs");

    // A command that needs one connection's state is refused on the pool.
    let (run, s) = run_vu(&redis, "vu-pooled-multi", &[]);
    assert_eq!(s["status"], "failed", "{}", run.describe());
    assert_eq!(value(&s, "iterations.failed"), 2.0);
    let check = check(&s, "iteration completes");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("`MULTI` cannot run on a pooled connection"),
        "{detail}"
    );
    assert_eq!(command_calls(redis.port(), "multi"), 0);
}

#[test]
fn python_and_javascript_vus_run_their_iterations() {
    let redis = redis();
    for (name, prefix) in [
        ("vu-python", "rigor:vu-py:"),
        ("vu-javascript", "rigor:vu-js:"),
    ] {
        let (run, s) = run_vu(&redis, name, &[]);
        // 4 VUs × 3 iterations, each one INCR through the pool; VU 3's
        // second iteration throws after its INCR.
        let count = redis_cli(redis.port(), &["GET", &format!("{prefix}count")]);
        assert_eq!(count, "12", "{name}: {}", run.describe());
        assert_eq!(value(&s, "iterations"), 12.0, "{name}");
        assert_eq!(value(&s, "iterations.failed"), 1.0, "{name}");
        assert_eq!(s["status"], "failed", "{name}");
        let check = check(&s, "iteration completes");
        assert!(
            check["detail"]
                .as_str()
                .unwrap()
                .contains("VU 3: the iteration returned an error: ")
                && check["detail"]
                    .as_str()
                    .unwrap()
                    .contains("VU 3 refuses its second iteration"),
            "{name}: {check}"
        );
        assert_eq!(
            redis_cli(redis.port(), &["GET", &format!("{prefix}setup")]),
            "1",
            "{name}"
        );
        assert_eq!(
            redis_cli(redis.port(), &["GET", &format!("{prefix}teardown")]),
            "1",
            "{name}"
        );
    }
}

#[test]
fn shards_split_vu_executors_exactly() {
    let redis = redis();
    // 103 shared iterations over 3 shards, and 200/s × 3 s of arrivals over
    // 4: the shards' parts add up to the whole, counted by Redis.
    let mut iterations = 0.0;
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let (run, s) = run_vu(
            &redis,
            "vu-shared",
            &["--shard", &shard, "--run-id", "vu-split"],
        );
        assert_eq!(s["status"], "passed", "{}", run.describe());
        iterations += value(&s, "iterations");
    }
    assert_eq!(iterations, 103.0);
    let mut slots = 0.0;
    let mut completed = 0.0;
    for i in 1..=4 {
        let shard = format!("{i}/4");
        let (run, s) = run_vu(
            &redis,
            "vu-arrival",
            &["--shard", &shard, "--run-id", "vu-split"],
        );
        assert!(
            s["status"] == "passed" || s["status"] == "failed",
            "{}",
            run.describe()
        );
        completed += value(&s, "iterations");
        slots += value(&s, "iterations") + value(&s, "dropped-iterations");
    }
    assert_eq!(slots, 600.0);
    assert!(completed >= 588.0, "{completed}");
}

#[test]
fn vus_together_stay_within_their_memory_total() {
    let redis = redis();
    // 4 VUs keeping 4 MiB more per iteration, 5 iterations each, against a
    // 24 MiB total: growth past it traps that VU's iteration, naming the
    // limit; the run goes on and reports.
    let (run, s) = run_vu(&redis, "vu-hog", &[]);
    assert_eq!(s["status"], "failed", "{}", run.describe());
    let failed = value(&s, "iterations.failed");
    assert!(failed >= 1.0, "{}", run.describe());
    let check = check(&s, "iteration completes");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("a VU tried to grow its memory by")
            && detail
                .contains("of their 25165824-byte total (raise `vu-memory-total` in the catalog"),
        "{detail}"
    );
    // What fit ran: every completed iteration counted its INCR.
    let count: f64 = redis_cli(redis.port(), &["GET", "rigor:vu-hog:count"])
        .parse()
        .unwrap_or(0.0);
    assert_eq!(count, value(&s, "iterations") - failed);
}

#[test]
fn setup_data_past_its_bound_is_refused_before_any_vu_runs() {
    let redis = redis();
    // Setup data is copied into every iteration: 2 MiB of it is refused,
    // and no iteration runs.
    let (run, s) = run_vu(&redis, "vu-big-setup", &[]);
    assert_eq!(s["status"], "errored", "{}", run.describe());
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("setup returned ")
            && message.contains("bytes of setup data; the limit is 1048576"),
        "{message}"
    );
    assert!(redis_cli(redis.port(), &["GET", "rigor:vu-big-setup:count"]).is_empty());
    assert!(
        s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["name"] != "iterations"),
        "{s:#}"
    );
}
