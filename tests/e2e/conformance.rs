//! The SDK conformance suite (tests/conformance/SPEC.md): each language's
//! implementation of the `conformance` and `conformance-vu` scenarios is
//! built by `rigor run` with that language's toolchain, run against a real
//! redis-server and the service under test, and its report compared item by
//! item with the Rust reference. A language is supported when it passes.

use std::collections::BTreeMap;

use rigor_tests::{ManagedRedis, read_json, repo_root, run_rigor, scenario};
use serde_json::{Value, json};

/// Every language with an SDK. A new one is added here and in the suite's
/// catalog when its implementation passes.
const LANGUAGES: &[&str] = &["rust", "python", "js", "c", "zig", "go"];

/// Metrics whose value the spec fixes, whatever the language.
const FIXED: &[(&str, f64)] = &[
    ("conf.values", 100.0),
    ("conf.counter", 7.0),
    ("conf.gauge", 42.5),
    ("conf.startup", 5.0),
    ("conf.vu.iterations", 10.0),
    ("conf.vu.get", 10.0),
];

/// The host's `<phase>.throughput` gauge, made from the progress samples
/// only when a phase lasts two samples (500 ms): its presence follows the
/// machine's speed, not the SDK (a slow instantiation stretches a VU run).
pub(crate) fn is_progress_rate(m: &Value) -> bool {
    m["name"]
        .as_str()
        .is_some_and(|n| !n.starts_with("conf.") && n.ends_with(".throughput"))
}

/// What the suite compares: status, checks with their counts, metric names
/// with kind and unit (plus the fixed values), findings, threshold verdicts.
fn conformance_shape(s: &Value) -> Value {
    let list = |key: &str| s[key].as_array().cloned().unwrap_or_default();
    let mut checks: Vec<Value> = list("checks")
        .iter()
        .map(|c| json!([c["name"], c["passes"], c["fails"]]))
        .collect();
    checks.sort_by_key(Value::to_string);
    let mut metrics: Vec<Value> = list("metrics")
        .iter()
        .filter(|m| !is_progress_rate(m))
        .map(|m| json!([m["name"], m["kind"], m["unit"]]))
        .collect();
    metrics.sort_by_key(Value::to_string);
    let fixed: BTreeMap<String, Value> = list("metrics")
        .iter()
        .filter(|m| FIXED.iter().any(|(name, _)| m["name"] == *name))
        .map(|m| {
            let value = if m["kind"] == "histogram" {
                m["summary"]["count"].clone()
            } else {
                m["value"].clone()
            };
            (m["name"].as_str().unwrap_or_default().to_owned(), value)
        })
        .collect();
    let mut findings: Vec<Value> = list("findings")
        .iter()
        .map(|f| json!([f["severity"], f["title"]]))
        .collect();
    findings.sort_by_key(Value::to_string);
    let mut thresholds: Vec<Value> = list("thresholds")
        .iter()
        .map(|t| json!([t["metric"], t["expression"], t["passed"], t["source"]]))
        .collect();
    thresholds.sort_by_key(Value::to_string);
    json!({
        "status": s["status"],
        "checks": checks,
        "metrics": metrics,
        "fixed": fixed,
        "findings": findings,
        "thresholds": thresholds,
    })
}

/// The first differing item of two shapes, for a readable failure.
fn difference(reference: &Value, other: &Value) -> String {
    let (Some(a), Some(b)) = (reference.as_object(), other.as_object()) else {
        return format!("{reference} vs {other}");
    };
    for (key, want) in a {
        let got = &b[key];
        if want == got {
            continue;
        }
        if let (Some(want), Some(got)) = (want.as_array(), got.as_array()) {
            let missing: Vec<&Value> = want.iter().filter(|w| !got.contains(w)).collect();
            let extra: Vec<&Value> = got.iter().filter(|g| !want.contains(g)).collect();
            return format!("{key}: missing {missing:?}, unexpected {extra:?}");
        }
        return format!("{key}: expected {want}, got {got}");
    }
    "no difference".into()
}

#[test]
fn every_sdk_passes_the_conformance_suite_with_the_report_of_rust() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let catalog = repo_root().join("tests/conformance");
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("conformance.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        catalog.to_str().unwrap(),
        "--redis",
        &redis.url(),
        "--json",
        json_path.to_str().unwrap(),
    ]);
    let report = read_json(&json_path);
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for lang in LANGUAGES {
        for name in [
            format!("conformance-{lang}"),
            format!("conformance-vu-{lang}"),
        ] {
            assert!(
                names.contains(&name.as_str()),
                "{name} is not in the suite's catalog: {names:?}"
            );
        }
    }

    let mut failures = Vec::new();
    for (kind, prefix) in [
        ("conformance", "conformance"),
        ("conformance-vu", "conformance-vu"),
    ] {
        let reference = conformance_shape(scenario(&report, &format!("{prefix}-rust")));
        assert_eq!(
            reference["status"],
            "passed",
            "the Rust reference of {kind} must pass: {:#}\n{}",
            scenario(&report, &format!("{prefix}-rust")),
            run.describe()
        );
        for (name, value) in FIXED {
            if let Some(got) = reference["fixed"].get(*name) {
                assert_eq!(got.as_f64(), Some(*value), "{kind}: {name}");
            }
        }
        for lang in &LANGUAGES[1..] {
            let s = scenario(&report, &format!("{prefix}-{lang}"));
            let shape = conformance_shape(s);
            if shape != reference {
                let failed: Vec<&Value> = s["checks"]
                    .as_array()
                    .map(|c| c.iter().filter(|c| c["fails"] != 0).collect())
                    .unwrap_or_default();
                failures.push(format!(
                    "{prefix}-{lang}: {}\n  failed checks: {failed:?}\n  error: {}",
                    difference(&reference, &shape),
                    s["error"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "not conformant:\n{}\n{}",
        failures.join("\n"),
        run.describe()
    );
    // Every implementation cleans up its keys.
    assert_eq!(rigor_tests::redis_cli(redis.port(), &["DBSIZE"]), "0");
}
