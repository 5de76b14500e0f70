//! `rigor compare` through the binary, on two JSON reports in temporary
//! files, written as JSON (not through the model) so the wire format is what
//! is tested: the baseline is in the format of reports written before
//! metrics carried a `direction`, the new one declares it, as a report from
//! an older rigor compared with today's would be.

use serde_json::{Value, json};

use rigor_tests::run_rigor;

fn report(scenarios: Vec<Value>) -> Value {
    json!({
        "schema": "rigor.report/v1",
        "rigor_version": "0.1.0",
        "started_at": "2026-11-23T02:41:00Z",
        "duration_ms": 1000.0,
        "host": { "hostname": "ci-1", "os": "linux", "arch": "x86_64", "cpus": 2, "memory_bytes": 0 },
        "partial": false,
        "summary": { "total": scenarios.len(), "passed": 0, "failed": 0, "errored": 0, "skipped": 0 },
        "scenarios": scenarios,
    })
}

fn scenario(name: &str, status: &str, metrics: Vec<Value>, checks: Vec<Value>) -> Value {
    json!({
        "name": name,
        "source": format!("target/wasm/{name}.wasm"),
        "status": status,
        "duration_ms": 500.0,
        "params": {},
        "metrics": metrics,
        "checks": checks,
        "thresholds": [],
        "findings": [],
        "logs": [],
        "logs_dropped": 0,
        "output": { "stdout": "", "stderr": "", "stdout_dropped_bytes": 0, "stderr_dropped_bytes": 0 },
    })
}

/// A gauge; `declared` adds the direction (and a p-value's level) a
/// current report carries.
fn gauge(name: &str, unit: &str, value: f64, declared: Option<(&str, Option<f64>)>) -> Value {
    let mut m = json!({ "name": name, "kind": "gauge", "unit": unit, "value": value });
    if let Some((direction, level)) = declared {
        m["direction"] = direction.into();
        if let Some(level) = level {
            m["significance_level"] = level.into();
        }
    }
    m
}

fn check(name: &str, passed: bool) -> Value {
    json!({ "name": name, "passed": passed, "detail": "" })
}

/// The metrics of one load and one leak watcher, in BASE's form (no
/// directions) or NEW's.
struct Values {
    error_rate: f64,
    throughput: f64,
    mk_p: f64,
    growth: f64,
    check_passes: bool,
}

fn run_report(v: &Values, declared: bool) -> Value {
    let d = |direction: &'static str, level: Option<f64>| declared.then_some((direction, level));
    let metrics = vec![
        gauge(
            "load.error-rate",
            "ratio",
            v.error_rate,
            d("lower-is-better", None),
        ),
        gauge(
            "load.throughput",
            "ops-per-second",
            v.throughput,
            d("higher-is-better", None),
        ),
        gauge(
            "rss.mann-kendall-p",
            "ratio",
            v.mk_p,
            d("higher-is-better", Some(0.05)),
        ),
        gauge(
            "rss.growth-bytes",
            "bytes",
            v.growth,
            d("lower-is-better", None),
        ),
    ];
    let checks = vec![check("responses are complete", v.check_passes)];
    report(vec![scenario("service", "passed", metrics, checks)])
}

const GOOD: Values = Values {
    error_rate: 0.0,
    throughput: 10_000.0,
    mk_p: 0.40,
    growth: 100_000.0,
    check_passes: true,
};

/// Runs `rigor compare BASE NEW` on GOOD (without directions) and `new`.
fn compare(dir: &std::path::Path, label: &str, new: &Values) -> rigor_tests::Run {
    let base_path = dir.join("base.json");
    let new_path = dir.join(format!("{label}.json"));
    std::fs::write(&base_path, run_report(&GOOD, false).to_string()).unwrap();
    std::fs::write(&new_path, run_report(new, true).to_string()).unwrap();
    run_rigor(&[
        "compare",
        base_path.to_str().unwrap(),
        new_path.to_str().unwrap(),
    ])
}

/// The output lines that flag a regression.
fn flagged(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.contains("REGRESSION") || l.starts_with('✗'))
        .collect()
}

#[test]
fn compare_judges_each_metric_by_its_meaning() {
    let dir = tempfile::tempdir().unwrap();

    // 0 % → 5 % errors: the commonest regression, undefined as a ratio.
    let errors = compare(
        dir.path(),
        "errors",
        &Values {
            error_rate: 0.05,
            ..GOOD
        },
    );
    assert_eq!(errors.code, 1, "{}", errors.describe());
    let lines = flagged(&errors.stdout);
    assert_eq!(lines.len(), 1, "{}", errors.stdout);
    assert!(
        lines[0].contains("load.error-rate value") && lines[0].contains("+5 pp"),
        "{}",
        errors.stdout
    );
    assert!(
        errors.stdout.contains("REGRESSED: 1 regression"),
        "{}",
        errors.stdout
    );

    // A leak becoming significant: the p-value falls below 0.05.
    let leak = compare(
        dir.path(),
        "leak",
        &Values {
            mk_p: 0.001,
            ..GOOD
        },
    );
    assert_eq!(leak.code, 1, "{}", leak.describe());
    let lines = flagged(&leak.stdout);
    assert_eq!(lines.len(), 1, "{}", leak.stdout);
    assert!(
        lines[0].contains("rss.mann-kendall-p value") && lines[0].contains("p fell below 0.050"),
        "{}",
        leak.stdout
    );

    // A check that passed in BASE and fails now.
    let check = compare(
        dir.path(),
        "check",
        &Values {
            check_passes: false,
            ..GOOD
        },
    );
    assert_eq!(check.code, 1, "{}", check.describe());
    assert!(
        check
            .stdout
            .contains("✗ check responses are complete of service: passed in BASE, failed in NEW"),
        "{}",
        check.stdout
    );

    // Better everywhere: fewer errors cannot go below zero, so more
    // throughput, a p-value still far from significance, less growth.
    let better = compare(
        dir.path(),
        "better",
        &Values {
            throughput: 12_000.0,
            mk_p: 0.90,
            growth: 50_000.0,
            ..GOOD
        },
    );
    assert_eq!(better.code, 0, "{}", better.describe());
    assert!(flagged(&better.stdout).is_empty(), "{}", better.stdout);
    let improved: Vec<&str> = better
        .stdout
        .lines()
        .filter(|l| l.contains("improved"))
        .collect();
    assert_eq!(improved.len(), 2, "{}", better.stdout);
    assert!(
        better
            .stdout
            .contains("OK: 0 regressions beyond 10% tolerance (0.1% on error rates)"),
        "{}",
        better.stdout
    );
}

#[test]
fn compare_shows_an_absolute_delta_across_zero_and_honours_the_error_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, growth: f64, error_rate: f64| {
        let path = dir.path().join(name);
        let metrics = vec![
            gauge(
                "rss.growth-bytes",
                "bytes",
                growth,
                Some(("lower-is-better", None)),
            ),
            gauge(
                "load.error-rate",
                "ratio",
                error_rate,
                Some(("lower-is-better", None)),
            ),
        ];
        let r = report(vec![scenario("leaky", "passed", metrics, Vec::new())]);
        std::fs::write(&path, r.to_string()).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let base = write("base.json", -2.46, 0.0);
    let new = write("new.json", 10_400.0, 0.004);

    let out = run_rigor(&["compare", &base, &new, "--error-tolerance", "0.5%"]);
    assert_eq!(out.code, 1, "{}", out.describe());
    let growth = out
        .stdout
        .lines()
        .find(|l| l.contains("rss.growth-bytes value"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    // Not "−420565 % improved": the memory grew by 10.4 KB.
    assert!(growth.contains("-2.46 B"), "{growth}");
    assert!(growth.contains("+10.4 KB"), "{growth}");
    assert!(growth.contains("REGRESSION"), "{growth}");
    assert!(!growth.contains('%'), "{growth}");
    // 0 % → 0.4 % errors is within a 0.5 point tolerance.
    let errors = out
        .stdout
        .lines()
        .find(|l| l.contains("load.error-rate value"))
        .unwrap();
    assert!(
        errors.contains("+0.4 pp") && !errors.contains("REGRESSION"),
        "{errors}"
    );
    assert!(
        out.stdout
            .contains("REGRESSED: 1 regression beyond 10% tolerance (0.5% on error rates)"),
        "{}",
        out.stdout
    );

    let bad = run_rigor(&["compare", &base, &new, "--error-tolerance", "some"]);
    assert_eq!(bad.code, 2, "{}", bad.describe());
    assert!(
        bad.stderr.contains("invalid --error-tolerance `some`"),
        "{}",
        bad.stderr
    );
}
