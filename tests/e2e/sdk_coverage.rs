//! The Python and JavaScript SDKs cover the whole contract: one scenario in
//! each language calls every wrapped function against real things (the
//! run's redis-server, the service under test spawned through the process
//! probe, the scratch directory, the memory of the host and the child),
//! error paths included, and records the same checks and metrics. And a
//! scenario that imports one probe module of an SDK imports only that
//! probe's interface.

use std::collections::BTreeSet;
use std::path::Path;

use rigor_tests::{
    ManagedRedis, check, inspected_imports, read_json, redis_cli, run_rigor, scenario,
};

const CATALOG: &str = "tests/fixtures/catalogs/sdk.toml";

fn names(s: &serde_json::Value, key: &str) -> BTreeSet<String> {
    s[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` array in {s:#}"))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks every coverage scenario must record: one per probe function
/// group, and the refusals.
const CHECKS: &[&str] = &[
    "clock: now and sleep",
    "metrics: histogram",
    "params: typed reads",
    "report: threshold verdict",
    "redis: set and get",
    "redis: command replies",
    "redis: delete",
    "redis: run-load",
    "redis: clear_prefix",
    "redis: pooled",
    "fs: write",
    "fs: append and read",
    "fs: fill",
    "fs: rename and read_text",
    "fs: fsync",
    "fs: list",
    "fs: dump",
    "fs: delete",
    "fs: run-io-load",
    "process: running child",
    "process: readiness waits",
    "process: wait timeout is NotReady",
    "process: kill stops cleanly",
    "process: tail and output bytes",
    "process: time_startup",
    "process: output",
    "http: get",
    "http: post json",
    "http: 404 is a response",
    "http: run-load",
    "memory: sample host and child",
    "memory: watcher verdict",
    "websocket: connect timing",
    "websocket: text echo",
    "websocket: binary echo",
    "websocket: ping",
    "websocket: close",
    "websocket: run-load",
];

/// Refusals: the check, and words its detail (the probe's message) holds.
const REFUSALS: &[(&str, &[&str])] = &[
    (
        "redis: FLUSHALL is denied",
        &["denied: ", "FLUSHALL", "refused on redis target `default`"],
    ),
    ("redis: pooled refuses MULTI", &["invalid: ", "MULTI"]),
    (
        "redis: ungranted target is denied",
        &["denied: ", "elsewhere"],
    ),
    (
        "process: an ungranted program is denied",
        &["denied: program `ls` is not granted", "exec = [\"ls\"]"],
    ),
    (
        "fs: an escape is denied",
        &[
            "denied: `../outside.txt` in `scratch` is denied",
            "outside the root",
        ],
    ),
    (
        "fs: a symlink out is denied",
        &["denied: `out` in `scratch` is denied", "outside the root"],
    ),
    (
        "fs: an ungranted dir is denied",
        &["denied: directory `data` is not granted"],
    ),
    (
        "http: an ungranted host is denied",
        &[
            "denied: HTTP host `example.invalid:80` is not granted",
            "http = [\"example.invalid:80\"]",
        ],
    ),
    (
        "process: wait on an ungranted URL is denied",
        &["denied: HTTP host `example.invalid:80` is not granted"],
    ),
    (
        "websocket: an ungranted host is denied",
        &["denied: WebSocket host `example.invalid:80`", "not granted"],
    ),
    (
        "memory: an ungranted pid is denied",
        &["denied: process 1 is not granted", "pids = [1]"],
    ),
];

/// Metrics every coverage scenario must leave in its report.
const METRICS: &[&str] = &[
    "manual",
    "gauge.value",
    "counter.value",
    "redis.set",
    "redis.get",
    "redis-load.set",
    "redis-load.get",
    "redis-load.throughput",
    "fs.write",
    "fs.read",
    "io.read",
    "io.write",
    "io.ops-per-s",
    "http.send",
    "http-load",
    "http-load.throughput",
    "host-memory.leak",
    "host-memory.samples",
    "ws.ping",
    "ws-load",
    "ws-load.lost",
    "process.startup",
];

#[test]
fn python_and_js_sdks_call_every_probe_function_against_real_things() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let url = redis.url();
    let run = run_rigor(&[
        "run",
        "--catalog",
        CATALOG,
        "sdk-py",
        "sdk-js",
        "--redis",
        &url,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let report = read_json(&json);
    let mut check_sets = Vec::new();
    let mut metric_sets = Vec::new();
    for name in ["sdk-py", "sdk-js"] {
        let s = scenario(&report, name);
        assert_eq!(s["status"], "passed", "{name}: {s:#}");
        for c in s["checks"].as_array().unwrap() {
            assert_eq!(c["passed"], true, "{name}: {c}");
        }
        for want in CHECKS {
            check(s, want);
        }
        for (want, words) in REFUSALS {
            let detail = check(s, want)["detail"].as_str().unwrap().to_owned();
            for word in *words {
                assert!(
                    detail.contains(word),
                    "{name}: {want}: `{word}` not in `{detail}`"
                );
            }
        }
        let metrics = names(s, "metrics");
        for want in METRICS {
            assert!(
                metrics.contains(*want),
                "{name}: metric {want} missing: {metrics:?}"
            );
        }
        let count = |metric: &str| {
            s["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == metric)
                .unwrap()["summary"]["count"]
                .as_u64()
        };
        assert_eq!(count("redis.set"), Some(20), "{name}");
        assert_eq!(count("ws-load"), Some(40), "{name}");
        assert_eq!(count("process.startup"), Some(3), "{name}");
        assert_eq!(count("manual"), Some(4), "{name}");
        assert!(
            s["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["title"] == "SDK coverage ran"),
            "{name}: {s:#}"
        );
        check_sets.push(names(s, "checks"));
        // The host's progress-rate gauges exist only when a phase lasts two
        // samples: the machine's speed, not the SDK, decides.
        let progress_rates: BTreeSet<String> = s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| crate::conformance::is_progress_rate(m))
            .filter_map(|m| m["name"].as_str().map(str::to_owned))
            .collect();
        metric_sets.push(&metrics - &progress_rates);
    }
    assert_eq!(
        check_sets[0], check_sets[1],
        "the two SDKs record the same checks"
    );
    assert_eq!(metric_sets[0], metric_sets[1], "and the same metrics");
    // Both cleaned up their keys; the denied FLUSHALL never ran.
    assert_eq!(
        redis_cli(redis.port(), &["DBSIZE"]),
        "0",
        "{}",
        run.describe()
    );
    // The services they spawned were stopped.
    assert!(
        rigor_tests::processes_with("scenarios/sut/service.py").is_empty(),
        "{:?}",
        rigor_tests::processes_with("scenarios/sut/service.py")
    );
}

/// The contract interfaces a component imports, without package or version.
fn contract_imports(component: &str) -> BTreeSet<String> {
    inspected_imports(Path::new(component))
        .iter()
        .filter_map(|name| name.strip_prefix("rigor:scenario/"))
        .map(|n| n.trim_end_matches("@0.1.0").to_owned())
        .collect()
}

#[test]
fn a_scenario_imports_only_the_probes_of_the_sdk_modules_it_imports() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    // Python: the fs module only. JavaScript: memory, through a helper
    // module of its own.
    write(
        "p/app.py",
        "\"\"\"Uses files only (not `from rigor.redis import Redis`).\"\"\"\nimport rigor\nfrom rigor.fs import Dir\n\n\n@rigor.scenario(\"p\", \"files\")\ndef run(p):\n    with Dir.scratch() as d:\n        d.write(\"x\", \"y\")\n",
    );
    write("j/package.json", "{ \"main\": \"scenario.js\" }");
    write(
        "j/scenario.js",
        "// Not `import { Redis } from \"./rigor/redis.js\"`.\nimport * as rigor from \"./rigor.js\";\nimport { rss } from \"./lib/mem.js\";\nexport const { describe, run } = rigor.scenario({ name: \"j\", description: \"memory\", run() { rigor.gauge(\"rss\", rss()); } });\n",
    );
    write(
        "j/lib/mem.js",
        "import { sample } from \"../rigor/memory.js\";\nexport const rss = () => sample().rss;\n",
    );
    write(
        "catalog.toml",
        "[[scenario]]\nname = \"p\"\nsource = \"p\"\n[[scenario]]\nname = \"j\"\nsource = \"j\"\n",
    );
    let cat = dir.path().to_str().unwrap();
    let built = run_rigor(&["build", "--catalog", cat, "p", "j"]);
    assert_eq!(built.code, 0, "{}", built.describe());
    let core = ["clock", "metrics", "report", "types"];
    let expect = |extra: &str| -> BTreeSet<String> {
        core.iter()
            .copied()
            .chain([extra])
            .map(str::to_owned)
            .collect()
    };
    let py = dir.path().join("p/target/scenario.wasm");
    assert_eq!(contract_imports(py.to_str().unwrap()), expect("fs"));
    let js = dir.path().join("j/target/scenario.wasm");
    assert_eq!(contract_imports(js.to_str().unwrap()), expect("memory"));

    // Both still run: the SDK modules they import work without the others.
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        cat,
        "p",
        "j",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    let report = read_json(&json);
    assert_eq!(scenario(&report, "p")["status"], "passed");
    let j = scenario(&report, "j");
    assert_eq!(j["status"], "passed", "{j:#}");
    assert!(names(j, "metrics").contains("rss"), "{j:#}");
}
