//! Reports for people and CI: golden files for the console, Markdown and
//! JUnit writers (from a report built here with fixed values), JUnit checked
//! against an XSD and by a JUnit parser, JSON checked against
//! docs/report.schema.json, HTML rendered by headless Chromium, Ctrl-C during
//! a long scenario, `rigor compare` exit codes, and `abort-on-fail`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p rigor-tests --test e2e reports` rewrites
//! the golden files in tests/golden/.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rigor::metrics::{Direction, Distribution, Unit};
use rigor::report::model::{
    CacheOutcome, CapturedOutput, CheckResult, ComponentInfo, ErrorKind, Finding, HostInfo,
    LogLevel, LogLine, MetricReport, RunReport, RunSummary, SCHEMA, ScenarioError, ScenarioReport,
    Severity, Status, ThresholdResult, ThresholdSource,
};
use rigor::report::{console, html, json, junit, markdown};
use rigor_tests::{ManagedRedis, read_json, repo_root, rigor, run_rigor, scenario};

// ---------------------------------------------------------------- fixtures

fn latency(values: impl IntoIterator<Item = u64>) -> MetricReport {
    let mut d = Distribution::new();
    for v in values {
        d.record(v);
    }
    MetricReport {
        name: String::new(),
        kind: "histogram".into(),
        unit: Unit::Nanoseconds,
        direction: Some(Direction::LowerIsBetter),
        significance_level: None,
        summary: Some(d.summary()),
        value: None,
        histogram: Some(d.to_base64()),
        series: Vec::new(),
    }
}

fn named(mut m: MetricReport, name: &str) -> MetricReport {
    m.name = name.into();
    m
}

fn gauge(name: &str, unit: Unit, value: f64, series: Vec<[f64; 2]>) -> MetricReport {
    MetricReport {
        name: name.into(),
        kind: "gauge".into(),
        unit,
        direction: Some(Direction::default_for(unit)),
        significance_level: None,
        summary: None,
        value: Some(value),
        histogram: None,
        series,
    }
}

/// A p-value gauge tested at `level` (the leak watcher's `mann-kendall-p`).
fn p_value(name: &str, value: f64, level: f64) -> MetricReport {
    let mut m = gauge(name, Unit::Ratio, value, Vec::new());
    m.direction = Some(Direction::HigherIsBetter);
    m.significance_level = Some(level);
    m
}

#[allow(clippy::too_many_arguments)]
fn threshold(
    metric: &str,
    expression: &str,
    source: ThresholdSource,
    passed: bool,
    observed: f64,
    limit: f64,
    unit: Unit,
) -> ThresholdResult {
    ThresholdResult {
        metric: metric.into(),
        expression: expression.into(),
        source,
        passed,
        observed: Some(observed),
        limit: Some(limit),
        unit: Some(unit),
        error: None,
        overrides: Vec::new(),
        shards: Vec::new(),
    }
}

/// A scenario that started `started` (seconds and fraction past
/// 02:41:00, the run's start) and took `duration_ms`.
fn base_scenario(name: &str, status: Status, started: &str, duration_ms: f64) -> ScenarioReport {
    ScenarioReport {
        name: name.into(),
        source: format!("target/wasm/{name}.wasm"),
        status,
        started_at: Some(format!("2026-11-23T02:41:{started}Z")),
        duration_ms,
        params: BTreeMap::from([("ops".to_owned(), "1000".to_owned())]),
        component: Some(ComponentInfo {
            sha256: "ab".repeat(32),
            cache: CacheOutcome::Hit,
            load_ms: 1.5,
        }),
        metrics: Vec::new(),
        checks: Vec::new(),
        thresholds: Vec::new(),
        findings: Vec::new(),
        logs: Vec::new(),
        logs_dropped: 0,
        dropped: Default::default(),
        output: CapturedOutput::default(),
        error: None,
        skip_reason: None,
        budgets: None,
        shard: None,
    }
}

/// A run with one scenario of every outcome, fixed values throughout.
fn fixed_report() -> RunReport {
    let mut passed = base_scenario("redis-latency", Status::Passed, "00.010", 3310.0);
    passed.metrics = vec![
        named(latency((1..=1000).map(|i| 40_000 + i * 50)), "get.100B"),
        named(latency((1..=1000).map(|i| 45_000 + i * 120)), "set.100B"),
        gauge(
            "load.throughput",
            Unit::OpsPerSecond,
            9_500.0,
            vec![
                [0.25, 9_000.0],
                [0.5, 9_800.0],
                [0.75, 9_700.0],
                [1.0, 9_500.0],
            ],
        ),
        gauge(
            "rss",
            Unit::Bytes,
            48_000_000.0,
            vec![
                [0.0, 40_000_000.0],
                [1.0, 44_000_000.0],
                [2.0, 48_000_000.0],
            ],
        ),
        // Rates of bytes and a p-value, as the fs probe and the memory
        // watcher record them: printed `12.3 MB/s`, `2.46 B/op`, `0.43`.
        gauge("io.read-bytes-per-s", Unit::Bytes, 12_345_678.0, Vec::new()),
        gauge("rss.slope-bytes-per-op", Unit::Bytes, 2.46, Vec::new()),
        p_value("rss.mann-kendall-p", 0.43, 0.05),
    ];
    let mut cli = threshold(
        "get.100B",
        "p(99) < 500us",
        ThresholdSource::Cli,
        true,
        89_500.0,
        500_000.0,
        Unit::Nanoseconds,
    );
    cli.overrides = vec!["p(99) < 1ms [catalog]".into()];
    passed.thresholds = vec![
        threshold(
            "get.100B",
            "avg < 1ms",
            ThresholdSource::Guest,
            true,
            65_025.0,
            1_000_000.0,
            Unit::Nanoseconds,
        ),
        cli,
        threshold(
            "load.throughput",
            "value > 5000ops/s",
            ThresholdSource::Catalog,
            true,
            9_500.0,
            5_000.0,
            Unit::OpsPerSecond,
        ),
    ];
    passed.checks = vec![CheckResult {
        name: "get returns what was set".into(),
        passed: true,
        detail: "0 of 1000 GETs differed".into(),
        passes: 1,
        fails: 0,
        failure_details: Vec::new(),
    }];
    passed.logs = vec![LogLine {
        level: LogLevel::Info,
        message: "warm-up done".into(),
    }];

    let mut failed = base_scenario("cache-baseline", Status::Failed, "03.330", 1250.0);
    failed.metrics = vec![
        named(latency((1..=500).map(|i| 900_000 + i * 4_000)), "get.100KB"),
        gauge("errors", Unit::Ratio, 0.025, Vec::new()),
        p_value("rss.mann-kendall-p", 1.2e-5, 0.05),
    ];
    failed.thresholds = vec![
        threshold(
            "get.100KB",
            "p(99) < 1ms",
            ThresholdSource::Catalog,
            false,
            2_880_000.0,
            1_000_000.0,
            Unit::Nanoseconds,
        ),
        threshold(
            "errors",
            "rate < 1%",
            ThresholdSource::Guest,
            false,
            0.025,
            0.01,
            Unit::Ratio,
        ),
        ThresholdResult {
            metric: "missing".into(),
            expression: "count > 0".into(),
            source: ThresholdSource::Cli,
            passed: false,
            observed: None,
            limit: None,
            unit: None,
            error: Some(
                "metric `missing` was not recorded; recorded metrics: get.100KB, errors".into(),
            ),
            overrides: Vec::new(),
            shards: Vec::new(),
        },
    ];
    failed.checks = vec![
        CheckResult {
            name: "values < 1 MB | pipes & <tags>".into(),
            passed: true,
            detail: String::new(),
            passes: 1,
            fails: 0,
            failure_details: Vec::new(),
        },
        CheckResult {
            name: "cache hit ratio".into(),
            passed: false,
            detail: "hit ratio 0.42, expected at least 0.9".into(),
            passes: 0,
            fails: 1,
            failure_details: Vec::new(),
        },
    ];
    failed.findings = vec![
        Finding {
            severity: Severity::Medium,
            title: "GET 100KB is slower than 1 ms".into(),
            detail: "p(99) 2.88 ms".into(),
            action: "Consider compressing large values.".into(),
        },
        Finding {
            severity: Severity::Critical,
            title: "Cache misses on every cold key".into(),
            detail: "the cache is cleared on each deploy".into(),
            action: "Warm the cache before switching traffic.".into(),
        },
    ];

    let mut errored = base_scenario("production-simulation", Status::Errored, "04.590", 20_000.0);
    errored.error = Some(ScenarioError {
        kind: ErrorKind::Timeout,
        message: "the scenario exceeded its deadline of 20s".into(),
    });
    errored.output = CapturedOutput {
        stdout: "starting the service\n".into(),
        stderr: "listen: address in use\n".into(),
        stdout_dropped_bytes: 0,
        stderr_dropped_bytes: 0,
    };

    let mut aborted = base_scenario("redis-concurrency", Status::Failed, "24.570", 420.0);
    aborted.metrics = vec![named(latency([2_000_000, 3_000_000]), "set")];
    aborted.thresholds = vec![threshold(
        "set",
        "max < 1ms, abort-on-fail",
        ThresholdSource::Cli,
        false,
        3_000_000.0,
        1_000_000.0,
        Unit::Nanoseconds,
    )];
    aborted.error = Some(ScenarioError {
        kind: ErrorKind::Aborted,
        message: "stopped early: threshold `set: max < 1ms, abort-on-fail` [cli] failed with 3 ms (abort-on-fail)".into(),
    });

    let mut skipped = ScenarioReport::skipped(
        "session-store-js",
        "scenarios/session-store-js",
        BTreeMap::new(),
        "redis-server is not installed (apt-get install redis-server)".into(),
    );
    skipped.started_at = Some("2026-11-23T02:41:24.995Z".into());

    let scenarios = vec![passed, failed, errored, aborted, skipped];
    RunReport {
        schema: SCHEMA.into(),
        rigor_version: "0.1.0".into(),
        started_at: "2026-11-23T02:41:00Z".into(),
        duration_ms: 25_000.0,
        host: HostInfo {
            hostname: "ci-1".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpus: 2,
            memory_bytes: 25_769_803_776,
        },
        partial: false,
        summary: RunSummary::from_scenarios(&scenarios),
        run_id: None,
        outputs: Vec::new(),
        scenarios,
        run: None,
        merge: None,
    }
}

// ---------------------------------------------------------------- helpers

/// Compares `actual` with tests/golden/NAME, or rewrites it when
/// `UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &str) {
    let path = repo_root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        panic!(
            "{name} differs from {} at line {}:\n  actual:   {:?}\n  expected: {:?}\n\
             (if the change is intended: UPDATE_GOLDEN=1 cargo test -p rigor-tests --test e2e reports)\n\
             --- actual ---\n{actual}",
            path.display(),
            line + 1,
            actual.lines().nth(line),
            expected.lines().nth(line),
        );
    }
}

fn xsd(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/junit").join(name)
}

/// Validates an XML file against the JUnit XSD `schema` (a file in
/// tests/fixtures/junit/) with xmllint.
fn xmllint_with(schema: &str, file: &Path) -> (bool, String) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd(schema))
        .arg(file)
        .output()
        .expect("xmllint (Debian: libxml2-utils) is needed; scripts/setup.sh installs it");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Validates against the schema written for rigor (the strictest about
/// what rigor writes, unique case names included).
fn xmllint(file: &Path) -> (bool, String) {
    xmllint_with("junit.xsd", file)
}

/// Asserts that the JUnit report `file` validates against rigor's schema
/// and the two published ones: the Jenkins xunit plugin's and Apache Ant's.
/// Ant's declares no attribute on `<testsuites>` (Ant's own aggregator
/// writes none); rigor keeps the totals there, which Jenkins' schema allows
/// and parsers read, so the Ant check sees the document without them.
pub(crate) fn assert_valid_junit(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    for schema in ["junit.xsd", "jenkins-junit.xsd"] {
        let (ok, err) = xmllint_with(schema, file);
        assert!(
            ok,
            "the JUnit report does not validate against {schema}: {err}\n{text}"
        );
    }
    let root_start = text.find("<testsuites").unwrap();
    let root_end = root_start + text[root_start..].find('>').unwrap();
    let bare_root = format!("{}<testsuites{}", &text[..root_start], &text[root_end..]);
    let ant = file.with_extension("ant.xml");
    std::fs::write(&ant, &bare_root).unwrap();
    let (ok, err) = xmllint_with("ant-junit.xsd", &ant);
    assert!(
        ok,
        "the JUnit report does not validate against ant-junit.xsd: {err}\n{bare_root}"
    );
}

pub(crate) fn parse_junit(text: &str) -> junit_parser::TestSuites {
    junit_parser::from_reader(std::io::Cursor::new(text.as_bytes()))
        .unwrap_or_else(|e| panic!("junit-parser rejects the report: {e:?}\n{text}"))
}

pub(crate) fn schema_validator() -> jsonschema::Validator {
    let path = repo_root().join("docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("docs/report.schema.json is a valid JSON Schema")
}

pub(crate) fn schema_errors(
    validator: &jsonschema::Validator,
    report: &serde_json::Value,
) -> Vec<String> {
    validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

// ---------------------------------------------------------------- goldens

#[test]
fn console_markdown_and_junit_match_their_golden_files() {
    let report = fixed_report();
    golden("console.txt", &console::render(&report, false));
    golden("report.md", &markdown::render(&report));
    golden("junit.xml", &junit::render(&report));
    // Colour is only added when asked for.
    assert!(!console::render(&report, false).contains('\x1b'));
    assert!(console::render(&report, true).contains("\x1b[31m"));
}

#[test]
fn markdown_has_the_seed_report_sections_and_counts() {
    let md = markdown::render(&fixed_report());
    let sections: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        sections,
        [
            "## Executive summary",
            "## Results",
            "## Findings",
            "## Action items"
        ]
    );
    assert!(
        md.contains("**FAILED: 1 of 4 scenarios passed (25%)**"),
        "{md}"
    );
    // Most severe finding first; pipes in names do not break the table.
    let critical = md.find("🔴 critical").unwrap();
    let medium = md.find("🟡 medium").unwrap();
    assert!(critical < medium);
    assert!(md.contains("values < 1 MB \\| pipes & &lt;tags>"));
    assert!(md.contains("| get.100KB | `p(99) < 1ms` | 2.88 ms | ❌ fail | catalog |"));
}

// ---------------------------------------------------------------- JUnit

#[test]
fn junit_validates_against_the_xsd_and_loads_in_a_junit_parser() {
    let report = fixed_report();
    let text = junit::render(&report);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, &text).unwrap();
    assert_valid_junit(&file);

    // The schema bites: a test case without its time is refused.
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, text.replacen(" time=\"0.000\"", "", 1)).unwrap();
    assert!(
        !xmllint(&broken).0,
        "the XSD accepted a testcase without time"
    );

    let parsed = parse_junit(&text);
    assert_eq!(parsed.suites.len(), 5, "one suite per scenario");
    let suite = |name: &str| parsed.suites.iter().find(|s| s.name == name).unwrap();

    let passed = suite("redis-latency");
    assert_eq!((passed.tests, passed.failures, passed.errors), (5, 0, 0));
    let names: Vec<&str> = passed
        .cases
        .iter()
        .map(|c| c.original_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "run",
            "threshold get.100B: avg < 1ms [scenario]",
            "threshold get.100B: p(99) < 500us [cli]",
            "threshold load.throughput: value > 5000ops/s [catalog]",
            "check get returns what was set",
        ]
    );
    assert!(passed.cases.iter().all(|c| c.status.is_success()));

    let failed = suite("cache-baseline");
    assert_eq!((failed.tests, failed.failures, failed.errors), (6, 4, 0));
    let p99 = failed
        .cases
        .iter()
        .find(|c| c.original_name == "threshold get.100KB: p(99) < 1ms [catalog]")
        .unwrap();
    match &p99.status {
        junit_parser::TestStatus::Failure(f) => {
            assert_eq!(
                f.message,
                "observed 2.88 ms for `get.100KB`, expected `p(99) < 1ms`"
            );
            assert_eq!(f.failure_type, "threshold");
            assert!(f.text.contains("observed: 2880000"), "{}", f.text);
        }
        other => panic!("expected a failure, got {other:?}"),
    }

    let errored = suite("production-simulation");
    assert_eq!((errored.tests, errored.errors), (1, 1));
    match &errored.cases[0].status {
        junit_parser::TestStatus::Error(e) => {
            assert_eq!(e.error_type, "timeout");
            assert!(e.message.contains("deadline of 20s"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(
        errored.system_err.as_deref(),
        Some("listen: address in use\n")
    );

    let aborted = suite("redis-concurrency");
    assert_eq!((aborted.failures, aborted.errors), (2, 0));

    let skipped = suite("session-store-js");
    assert_eq!(skipped.skipped, 1);
    assert!(matches!(
        &skipped.cases[0].status,
        junit_parser::TestStatus::Skipped(s) if s.message.contains("redis-server")
    ));
    assert_eq!(parsed.tests, 5 + 6 + 1 + 2 + 1);

    // Each suite has its scenario's own start and duration.
    let stamps: Vec<(&str, Option<&str>, f64)> = parsed
        .suites
        .iter()
        .map(|s| (s.name.as_str(), s.timestamp.as_deref(), s.time))
        .collect();
    assert_eq!(
        stamps,
        [
            ("redis-latency", Some("2026-11-23T02:41:00"), 3.31),
            ("cache-baseline", Some("2026-11-23T02:41:03"), 1.25),
            ("production-simulation", Some("2026-11-23T02:41:04"), 20.0),
            ("redis-concurrency", Some("2026-11-23T02:41:24"), 0.42),
            ("session-store-js", Some("2026-11-23T02:41:24"), 0.0),
        ]
    );
    // The schemas bite: `skipped` on the root is what Jenkins' refuses.
    let with_skipped = dir.path().join("with-skipped.xml");
    std::fs::write(
        &with_skipped,
        text.replacen(
            "<testsuites name=\"rigor\"",
            "<testsuites skipped=\"1\" name=\"rigor\"",
            1,
        ),
    )
    .unwrap();
    let (ok, err) = xmllint_with("jenkins-junit.xsd", &with_skipped);
    assert!(!ok && err.contains("skipped"), "{err}");
    // A report from before scenarios carried their start: the run's.
    let mut old = report.clone();
    for s in &mut old.scenarios {
        s.started_at = None;
    }
    let old_text = junit::render(&old);
    assert_eq!(
        old_text
            .matches("timestamp=\"2026-11-23T02:41:00\"")
            .count(),
        5,
        "{old_text}"
    );
}

#[test]
fn junit_numbers_repeated_case_names_and_still_validates() {
    let mut report = fixed_report();
    let s = &mut report.scenarios[1];
    // The failure comes second: a reader that kept only the first case of
    // a name would show this check as passed.
    s.checks = vec![
        CheckResult {
            name: "cache hit ratio".into(),
            passed: true,
            detail: "hit ratio 0.95".into(),
            passes: 1,
            fails: 0,
            failure_details: Vec::new(),
        },
        CheckResult {
            name: "cache hit ratio".into(),
            passed: false,
            detail: "hit ratio 0.42, expected at least 0.9".into(),
            passes: 0,
            fails: 1,
            failure_details: Vec::new(),
        },
        CheckResult {
            name: "cache hit ratio (2)".into(),
            passed: true,
            detail: String::new(),
            passes: 1,
            fails: 0,
            failure_details: Vec::new(),
        },
        CheckResult {
            name: "cache hit ratio".into(),
            passed: true,
            detail: String::new(),
            passes: 1,
            fails: 0,
            failure_details: Vec::new(),
        },
    ];
    let repeated = s.thresholds[0].clone();
    s.thresholds.push(repeated);
    let text = junit::render(&report);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, &text).unwrap();
    assert_valid_junit(&file);

    let parsed = parse_junit(&text);
    let suite = parsed
        .suites
        .iter()
        .find(|s| s.name == "cache-baseline")
        .unwrap();
    let names: Vec<&str> = suite
        .cases
        .iter()
        .map(|c| c.original_name.as_str())
        .collect();
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{names:#?}");
    assert_eq!(
        names[1..],
        [
            "threshold get.100KB: p(99) < 1ms [catalog]",
            "threshold errors: rate < 1% [scenario]",
            "threshold missing: count > 0 [cli]",
            "threshold get.100KB: p(99) < 1ms [catalog] (2)",
            "check cache hit ratio",
            "check cache hit ratio (3)",
            "check cache hit ratio (2)",
            "check cache hit ratio (4)",
        ]
    );
    let failing = suite
        .cases
        .iter()
        .find(|c| c.original_name == "check cache hit ratio (3)")
        .unwrap();
    assert!(failing.status.is_failure(), "{failing:?}");
    assert_eq!((suite.tests, suite.failures), (9, 5));

    // rigor's own schema refuses a repeated name.
    let repeated = dir.path().join("repeated.xml");
    std::fs::write(
        &repeated,
        text.replace("check cache hit ratio (3)", "check cache hit ratio"),
    )
    .unwrap();
    let (ok, err) = xmllint(&repeated);
    assert!(!ok && err.contains("uniqueTestCaseName"), "{err}");
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_reports_match_the_published_schema() {
    let validator = schema_validator();
    let value: serde_json::Value = serde_json::from_str(&json::render(&fixed_report())).unwrap();
    let errors = schema_errors(&validator, &value);
    assert!(errors.is_empty(), "{errors:#?}");

    // The schema bites: an unknown status and a missing field are refused.
    let mut bad = value.clone();
    bad["scenarios"][0]["status"] = "green".into();
    bad["scenarios"][1]
        .as_object_mut()
        .unwrap()
        .remove("checks");
    assert_eq!(schema_errors(&validator, &bad).len(), 2);

    // A real run, every outcome that needs no Redis.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "--catalog",
        "tests/fixtures/catalogs/hostile.toml",
        "good",
        "fail-check",
        "trap",
        "--threshold",
        "good:values:p(50) < 100",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let report = read_json(&path);
    let errors = schema_errors(&validator, &report);
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
    // Every metric says which way is better; every scenario when it started.
    let good = scenario(&report, "good");
    let values = good["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "values")
        .unwrap_or_else(|| panic!("{good:#}"));
    // A guest's count histogram: the unit's default.
    assert_eq!(values["direction"], "informational", "{values:#}");
    for s in report["scenarios"].as_array().unwrap() {
        assert!(s["started_at"].is_string(), "{s:#}");
        for m in s["metrics"].as_array().unwrap() {
            assert!(m["direction"].is_string(), "{m:#}");
        }
    }
}

// ---------------------------------------------------------------- HTML

pub(crate) fn chromium_dump(file: &Path) -> (String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium is needed for the HTML test; scripts/setup.sh installs it");
    assert!(out.status.success(), "chromium failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn html_report_renders_in_headless_chromium_with_its_plots() {
    let dir = tempfile::tempdir().unwrap();

    // The detection works: a page that logs an error is caught.
    let noisy = dir.path().join("noisy.html");
    std::fs::write(
        &noisy,
        "<!DOCTYPE html><script>console.error('rigor-test-marker')</script>",
    )
    .unwrap();
    let (_, stderr) = chromium_dump(&noisy);
    assert!(
        console_messages(&stderr)
            .iter()
            .any(|l| l.contains("rigor-test-marker")),
        "chromium did not report the console error: {stderr}"
    );

    let page = html::render(&fixed_report());
    assert!(!page.contains("http://") || !page.contains("src=\"http"));
    assert!(!page.contains("<script"), "the report needs no script");
    let file = dir.path().join("report.html");
    std::fs::write(&file, &page).unwrap();
    let (dom, stderr) = chromium_dump(&file);
    assert!(
        console_messages(&stderr).is_empty(),
        "console messages: {:#?}",
        console_messages(&stderr)
    );
    // Three scenarios with histograms: three latency plots, each with one
    // line per histogram.
    assert_eq!(dom.matches("class=\"plot plot-latency\"").count(), 3);
    assert!(dom.contains("data-metric=\"get.100B\""));
    assert!(dom.contains("data-metric=\"set.100B\""));
    assert_eq!(
        dom.matches("class=\"plot plot-series plot-throughput\"")
            .count(),
        1
    );
    assert_eq!(
        dom.matches("class=\"plot plot-series plot-memory\"")
            .count(),
        1
    );
    // 4 latency lines + 2 series lines.
    assert_eq!(dom.matches("<polyline").count(), 6, "{dom}");
    assert!(dom.contains("99.9%"), "log-scaled percentile ticks");
    assert!(dom.contains("id=\"summary\""));
}

// ---------------------------------------------------------------- Ctrl-C

/// A catalog whose middle scenario sleeps far longer than the test waits.
fn sleepy_catalog(dir: &Path) -> PathBuf {
    let guest = repo_root().join("tests/fixtures/guests/hostile");
    let catalog = dir.join("catalog.toml");
    let scenario = |name: &str, mode: &str| {
        format!(
            "[[scenario]]\nname = \"{name}\"\nsource = \"{}\"\nparams = {{ mode = {{ default = \"{mode}\" }} }}\nlimits = {{ deadline = \"10m\" }}\n\n",
            guest.display()
        )
    };
    let text = [
        scenario("first", "ok"),
        scenario("long-sleep", "sleep"),
        scenario("never", "ok"),
    ]
    .concat();
    std::fs::write(&catalog, text).unwrap();
    catalog
}

#[test]
fn ctrl_c_during_a_long_scenario_exits_130_with_complete_partial_reports() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = sleepy_catalog(dir.path());
    let out = |name: &str| dir.path().join(name);
    let mut child = rigor()
        .args(["run", "--catalog"])
        .arg(&catalog)
        .arg("--json")
        .arg(out("r.json"))
        .arg("--junit")
        .arg(out("r.xml"))
        .arg("--markdown")
        .arg(out("r.md"))
        .arg("--html")
        .arg(out("r.html"))
        .arg(format!("--out=ndjson={}", out("events.ndjson").display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting rigor");

    // Wait for the long scenario to start (the first run may build the guest).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let go = line.contains("long-sleep");
                seen.push(line);
                if go {
                    break;
                }
            }
            Err(_) if started.elapsed() > Duration::from_secs(240) => {
                let _ = child.kill();
                panic!("long-sleep never started: {seen:#?}");
            }
            Err(_) => {}
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on the child we spawned; no memory is involved.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    let interrupted_at = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if interrupted_at.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("rigor did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(status.code(), Some(130), "{seen:#?}\n{rest:#?}");

    let report = read_json(&out("r.json"));
    assert_eq!(report["partial"], true);
    assert_eq!(scenario(&report, "first")["status"], "passed");
    let sleeping = scenario(&report, "long-sleep");
    assert_eq!(sleeping["status"], "errored");
    assert_eq!(sleeping["error"]["kind"], "interrupted");
    assert!(
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "never"),
        "scenarios after the interrupt must not run"
    );
    let errors = schema_errors(&schema_validator(), &report);
    assert!(errors.is_empty(), "{errors:#?}");

    let xml = std::fs::read_to_string(out("r.xml")).unwrap();
    assert_valid_junit(&out("r.xml"));
    let junit = parse_junit(&xml);
    assert_eq!(junit.suites.len(), 2);
    assert_eq!(junit.errors, 1);
    assert!(xml.contains("<property name=\"partial\" value=\"true\"/>"));

    let md = std::fs::read_to_string(out("r.md")).unwrap();
    assert!(md.contains("**Partial report:**"), "{md}");
    assert!(md.trim_end().ends_with('.'), "the Markdown ends complete");
    let page = std::fs::read_to_string(out("r.html")).unwrap();
    assert!(page.contains("interrupted, partial report"));
    assert!(page.trim_end().ends_with("</html>"));

    let events: Vec<serde_json::Value> = std::fs::read_to_string(out("events.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] != "progress")
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "run-started",
            "scenario-started",
            "scenario-finished",
            "scenario-started",
            "scenario-finished",
            "run-finished"
        ]
    );
    assert_eq!(events.last().unwrap()["partial"], true);
    assert_eq!(events[2]["report"]["name"], "first");
}

// ---------------------------------------------------------------- compare

#[test]
fn compare_flags_regressions_beyond_the_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixed_report();
    let mut new = fixed_report();
    // get.100B's p99 doubles; throughput drops by 5 % (within 10 %).
    let get = new.scenarios[0]
        .metrics
        .iter_mut()
        .find(|m| m.name == "get.100B")
        .unwrap();
    let s = get.summary.as_mut().unwrap();
    s.p99 *= 2;
    let tp = new.scenarios[0]
        .metrics
        .iter_mut()
        .find(|m| m.name == "load.throughput")
        .unwrap();
    tp.value = Some(9_025.0);
    let write = |name: &str, r: &RunReport| {
        let p = dir.path().join(name);
        std::fs::write(&p, json::render(r)).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let base_path = write("base.json", &base);
    let new_path = write("new.json", &new);

    let same = run_rigor(&["compare", &base_path, &base_path]);
    assert_eq!(same.code, 0, "{}", same.describe());
    assert!(
        same.stdout
            .contains("OK: 0 regressions beyond 10% tolerance")
    );

    let md = dir.path().join("compare.md");
    let worse = run_rigor(&[
        "compare",
        &base_path,
        &new_path,
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(worse.code, 1, "{}", worse.describe());
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("**REGRESSED: 1 regression beyond 10% tolerance (0.1% on error rates)**"),
        "{md}"
    );
    // Regressions lead the table.
    let first_row = md
        .lines()
        .find(|l| l.starts_with("| redis-latency"))
        .unwrap();
    assert!(
        first_row.contains("get.100B p99") && first_row.ends_with("❌ regression |"),
        "{md}"
    );
    let flagged: Vec<&str> = worse
        .stdout
        .lines()
        .filter(|l| l.contains("REGRESSION"))
        .collect();
    assert_eq!(flagged.len(), 1, "{}", worse.stdout);
    assert!(flagged[0].contains("get.100B p99"), "{}", flagged[0]);
    assert!(flagged[0].contains("+100.0%"), "{}", flagged[0]);
    assert!(worse.stdout.contains("load.throughput value"));

    let lenient = run_rigor(&["compare", &base_path, &new_path, "--tolerance", "150%"]);
    assert_eq!(lenient.code, 0, "{}", lenient.describe());

    let missing = run_rigor(&["compare", &base_path, "does/not/exist.json"]);
    assert_eq!(missing.code, 2, "{}", missing.describe());
    assert!(missing.stderr.contains("does/not/exist.json"));
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"not\": \"a report\"}").unwrap();
    let bad = run_rigor(&["compare", garbage.to_str().unwrap(), &new_path]);
    assert_eq!(bad.code, 2, "{}", bad.describe());
    assert!(bad.stderr.contains("is not a rigor JSON report"));
    let bad_tolerance = run_rigor(&["compare", &base_path, &new_path, "--tolerance", "lots"]);
    assert_eq!(bad_tolerance.code, 2);
}

// ---------------------------------------------------------------- abort-on-fail

#[test]
fn abort_on_fail_stops_a_long_scenario_early_and_says_so() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let started = Instant::now();
    let run = run_rigor(&[
        "run",
        "redis-latency",
        "--redis",
        &redis.url(),
        // Far more work than the test would wait for.
        "--param",
        "ops=5000000",
        "--param",
        "warmup=0",
        "--threshold",
        "redis-latency:set.100B:p(50) < 1ns, abort-on-fail",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.describe());
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the scenario was not stopped early"
    );
    let report = read_json(&path);
    let s = scenario(&report, "redis-latency");
    assert_eq!(s["status"], "failed", "{s:#}");
    assert_eq!(s["error"]["kind"], "aborted");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("set.100B: p(50) < 1ns, abort-on-fail") && message.contains("[cli]"),
        "{message}"
    );
    let set = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "set.100B")
        .unwrap();
    assert!(
        set["summary"]["count"].as_u64().unwrap() < 5_000_000,
        "stopped before the end"
    );
    let t = s["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["source"] == "cli")
        .unwrap();
    assert_eq!(t["passed"], false);
    assert!(run.stdout.contains("aborted") || run.stdout.contains("stopped early"));
}

#[test]
fn threshold_syntax_errors_name_the_source_and_column() {
    let run = run_rigor(&[
        "run",
        "--catalog",
        "tests/fixtures/catalogs/hostile.toml",
        "good",
        "--threshold",
        "good:values:p(99) < 1xs",
    ]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr.contains("--threshold `good:values:p(99) < 1xs`")
            && run.stderr.contains("at column 10")
            && run.stderr.contains("expected a unit"),
        "{}",
        run.stderr
    );
    let run = run_rigor(&[
        "run",
        "--catalog",
        "tests/fixtures/catalogs/hostile.toml",
        "good",
        "--threshold",
        "good:values:max < 1ms, abort",
    ]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr.contains("expected `abort-on-fail` after `,`"),
        "{}",
        run.stderr
    );

    // An unknown stream format is invalid input too.
    let run = run_rigor(&[
        "run",
        "--catalog",
        "tests/fixtures/catalogs/hostile.toml",
        "good",
        "--out",
        "csv=events.csv",
    ]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .contains("unknown format `csv` (known: ndjson, prometheus, otlp)"),
        "{}",
        run.stderr
    );

    // In a catalog: file, line and column of the expression, then the column
    // within it.
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        "[[scenario]]\nname = \"a\"\nsource = \"a.wasm\"\n[scenario.thresholds]\n\"get\" = [\"p(99 < 1ms\"]\n",
    )
    .unwrap();
    let run = run_rigor(&["run", "--catalog", catalog.to_str().unwrap(), "a"]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .contains("catalog.toml:5:10: threshold on `a:get`")
            && run
                .stderr
                .contains("at column 6: expected `)` to close `p(`"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------- CI and terminal

#[test]
fn github_step_summary_is_appended_and_colour_follows_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "## An earlier step\n").unwrap();
    let out = rigor()
        .args([
            "run",
            "--catalog",
            "tests/fixtures/catalogs/hostile.toml",
            "good",
            "fail-check",
        ])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("## An earlier step\n# Rigor report\n"),
        "{text}"
    );
    assert!(text.contains("**FAILED: 1 of 2 scenarios passed (50%)**"));
    // The harness sets NO_COLOR and pipes stdout: no colour.
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));

    let run = run_rigor(&[
        "run",
        "--catalog",
        "tests/fixtures/catalogs/hostile.toml",
        "good",
        "--color",
        "always",
    ]);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(run.stdout.contains("\x1b[32m✓\x1b[0m"), "{}", run.stdout);
}

#[test]
fn a_load_reports_progress_events_and_a_throughput_series() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.ndjson");
    let report = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "redis-concurrency",
        "--redis",
        &redis.url(),
        "--param",
        "workers=8",
        "--param",
        // Long enough (about a second or more) for several progress samples.
        "ops=8000",
        "--param",
        "min-throughput=0",
        "--json",
        report.to_str().unwrap(),
        &format!("--out=ndjson={}", events.display()),
    ]);
    assert!(run.code == 0 || run.code == 1, "{}", run.describe());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let progress: Vec<&serde_json::Value> =
        lines.iter().filter(|e| e["event"] == "progress").collect();
    assert!(!progress.is_empty(), "no progress events: {lines:#?}");
    for p in &progress {
        assert_eq!(p["scenario"], "redis-concurrency");
        assert!(p["phase"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(p["expected"], 64_000, "{p}");
        assert!(p["done"].as_u64().unwrap() <= 64_000);
    }
    // The stream is ordered: progress between the scenario's start and end.
    let at = |kind: &str| lines.iter().position(|e| e["event"] == kind).unwrap();
    let first_progress = lines.iter().position(|e| e["event"] == "progress").unwrap();
    assert!(at("scenario-started") < first_progress);
    assert!(first_progress < at("scenario-finished"));

    let report = read_json(&report);
    let s = scenario(&report, "redis-concurrency");
    let with_series: Vec<&serde_json::Value> = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["unit"] == "ops-per-second" && m["series"].is_array())
        .collect();
    assert!(!with_series.is_empty(), "no throughput series: {s:#}");
    let errors = schema_errors(&schema_validator(), &report);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn on_a_terminal_the_progress_line_is_redrawn_in_place() {
    let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
    // `script` gives rigor a pseudo-terminal, as a person's shell would.
    let command = format!(
        "{} run redis-concurrency --redis {} --param workers=8 --param ops=8000 --param min-throughput=0 --color never",
        rigor_tests::rigor_bin().display(),
        redis.url()
    );
    let out = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(repo_root())
        .env("RIGOR_CACHE_DIR", rigor_tests::shared_cache_dir())
        .env_remove("RIGOR_REDIS_URL")
        .env_remove("RIGOR_CATALOG")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs rigor on a pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout);
    // Its latency thresholds may fail on a loaded machine; the display is
    // what is tested here.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}\n{screen}",
        out.status.code()
    );
    let redraws = screen.matches("\r\x1b[2K  redis-concurrency · ").count();
    assert!(redraws >= 1, "no status line redrawn in place:\n{screen:?}");
    assert!(screen.contains(" ops/s · "), "{screen:?}");
    // The status line is cleared before the scenario's result is printed.
    assert!(
        screen.contains("\r\x1b[2K  redis-concurrency passed in")
            || screen.contains("\r\x1b[2K  redis-concurrency failed in"),
        "{screen:?}"
    );
}
