//! Verdicts that cannot pass by accident: a failure after thousands of
//! passing checks, failures and thresholds past the report's bounds, and
//! thresholds on metrics that were never measured all fail the run, in
//! every report format.

use std::path::Path;

use rigor_tests::{read_json, repo_root, run_rigor, scenario};

const CATALOG: &str = "tests/fixtures/catalogs/sandbox-verdicts.toml";

/// Runs `args` against the verdicts catalog with JSON, JUnit and Markdown
/// reports in `dir`, checks the JSON against its published schema and the
/// JUnit against two JUnit schemas; returns the exit code and the reports.
fn run_with_reports(dir: &Path, args: &[&str]) -> (i32, serde_json::Value, String, String) {
    let json = dir.join("report.json");
    let junit = dir.join("junit.xml");
    let markdown = dir.join("report.md");
    let mut all = vec!["run", "--catalog", CATALOG];
    all.extend_from_slice(args);
    all.extend_from_slice(&[
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        markdown.to_str().unwrap(),
    ]);
    let run = run_rigor(&all);
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    let report = read_json(&json);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks its schema: {errors:#?}"
    );
    (
        run.code,
        report,
        std::fs::read_to_string(junit).unwrap(),
        std::fs::read_to_string(markdown).unwrap(),
    )
}

/// The `<testcase>` element named `name` in a JUnit report.
fn junit_case<'a>(junit: &'a str, name: &str) -> &'a str {
    let open = format!("<testcase name=\"{name}\"");
    let start = junit
        .find(&open)
        .unwrap_or_else(|| panic!("no test case `{name}` in\n{junit}"));
    let rest = &junit[start..];
    let tag_end = rest.find('>').unwrap() + 1;
    if rest[..tag_end].ends_with("/>") {
        return &rest[..tag_end];
    }
    let end = rest.find("</testcase>").unwrap() + "</testcase>".len();
    &rest[..end]
}

#[test]
fn one_failure_after_ten_thousand_passing_checks_fails_the_run_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, junit, markdown) = run_with_reports(dir.path(), &["verdicts-volume"]);
    assert_eq!(code, 1, "{report:#}");
    let s = scenario(&report, "verdicts-volume");
    assert_eq!(s["status"], "failed");
    assert_eq!(report["summary"]["failed"], 1);

    // Ten thousand reports of one name are one aggregated check.
    let checks = s["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{checks:#?}");
    assert_eq!(checks[0]["name"], "response is 200");
    assert_eq!(checks[0]["passed"], true);
    assert_eq!(
        (&checks[0]["passes"], &checks[0]["fails"]),
        (&10_000.into(), &0.into())
    );
    assert_eq!(checks[0]["detail"], "request 0");
    let failed = &checks[1];
    assert_eq!(failed["name"], "response body is valid");
    assert_eq!(failed["passed"], false);
    assert_eq!(
        (&failed["passes"], &failed["fails"]),
        (&0.into(), &1.into())
    );
    assert_eq!(failed["detail"], "request 10001: body truncated at byte 17");
    assert_eq!(
        failed["failure_details"],
        serde_json::json!(["request 10001: body truncated at byte 17"])
    );
    // Nothing was dropped: counters, not items.
    assert!(
        s["dropped"].as_object().unwrap().values().all(|v| v == 0),
        "{:#}",
        s["dropped"]
    );

    let case = junit_case(&junit, "check response body is valid");
    assert!(
        case.contains("<failure message=\"check `response body is valid` failed: request 10001: body truncated at byte 17\""),
        "{case}"
    );
    assert!(junit_case(&junit, "check response is 200").ends_with("/>"));

    assert!(
        markdown.contains(
            "| response body is valid | ❌ fail | request 10001: body truncated at byte 17 |"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("| response is 200 | ✅ pass (10,000 passed) | request 0 |"),
        "{markdown}"
    );
    assert!(
        markdown
            .contains("**verdicts-volume**: check `response body is valid` failed: request 10001"),
        "{markdown}"
    );
}

#[test]
fn past_the_bound_on_check_names_catalog_and_cli_thresholds_are_still_judged() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, junit, markdown) = run_with_reports(
        dir.path(),
        &[
            "verdicts-names",
            "--threshold",
            "verdicts-names:latency:count > 1000000",
        ],
    );
    assert_eq!(code, 1, "{:#}", report["summary"]);
    let s = scenario(&report, "verdicts-names");
    assert_eq!(s["status"], "failed");
    // 20,000 names: the first 10,000 kept, the rest counted.
    let checks = s["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 10_000);
    assert!(checks.iter().all(|c| c["passed"] == true));
    assert_eq!(s["dropped"]["checks"], 10_000);
    assert_eq!(s["dropped"]["failed_checks"], 0);

    let thresholds = s["thresholds"].as_array().unwrap();
    let shown: Vec<(&str, &str, bool)> = thresholds
        .iter()
        .map(|t| {
            (
                t["expression"].as_str().unwrap(),
                t["source"].as_str().unwrap(),
                t["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("max < 1ns", "catalog", false),
            ("count > 1000000", "cli", false)
        ]
    );
    assert_eq!(thresholds[1]["observed"], 3.0);

    assert!(junit_case(&junit, "threshold latency: max &lt; 1ns [catalog]").contains("<failure"));
    assert!(junit_case(&junit, "threshold latency: count &gt; 1000000 [cli]").contains("<failure"));
    assert!(
        markdown.contains("> **Not kept (report bounds):** 10,000 check reports."),
        "{markdown}"
    );
}

#[test]
fn a_failing_check_past_the_bound_on_names_still_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, junit, markdown) =
        run_with_reports(dir.path(), &["verdicts-names-last-fails", "verdicts-ok"]);
    assert_eq!(code, 1, "{:#}", report["summary"]);
    let s = scenario(&report, "verdicts-names-last-fails");
    assert_eq!(s["status"], "failed");
    // Every kept check passed: the failure is only in the counters.
    assert!(
        s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true)
    );
    assert_eq!(s["dropped"]["checks"], 10_001);
    assert_eq!(s["dropped"]["failed_checks"], 1);
    // The rest of the run still ran and passed.
    assert_eq!(scenario(&report, "verdicts-ok")["status"], "passed");

    let case = junit_case(&junit, "failures not kept");
    assert!(
        case.contains("counted, not kept: 10,001 check reports (1 failed)"),
        "{case}"
    );
    assert!(
        markdown.contains("> **Not kept (report bounds):** 10,001 check reports (1 failed)."),
        "{markdown}"
    );
    assert!(
        markdown.contains("**verdicts-names-last-fails**: failures past the report's bounds"),
        "{markdown}"
    );
}

#[test]
fn a_threshold_on_a_metric_never_recorded_fails_with_the_reason() {
    // The control: the same scenario passes without the misspelt threshold.
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _, _) = run_with_reports(dir.path(), &["verdicts-ok"]);
    assert_eq!(code, 0);

    let (code, report, junit, markdown) = run_with_reports(
        dir.path(),
        &[
            "verdicts-ok",
            "verdicts-guest-typo",
            "--threshold",
            "verdicts-ok:valeus:count == 5",
        ],
    );
    assert_eq!(code, 1, "{:#}", report["summary"]);
    let reason = "metric `valeus` was not recorded; recorded metrics: values";

    let cli = scenario(&report, "verdicts-ok");
    assert_eq!(cli["status"], "failed");
    let t = cli["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "valeus")
        .unwrap();
    assert_eq!((&t["source"], &t["passed"]), (&"cli".into(), &false.into()));
    assert_eq!(t["error"], reason);

    // The scenario's own threshold on a misspelt metric fails too, even
    // though the scenario ignored the error it got back.
    let guest = scenario(&report, "verdicts-guest-typo");
    assert_eq!(guest["status"], "failed");
    let t = &guest["thresholds"][0];
    assert_eq!(
        (&t["source"], &t["passed"]),
        (&"guest".into(), &false.into())
    );
    assert_eq!(t["error"], reason);
    assert_eq!(guest["checks"][0]["passed"], true);

    assert!(junit.contains(reason), "{junit}");
    assert!(
        markdown.contains(&format!(
            "**verdicts-ok**: threshold `valeus: count == 5` could not be evaluated: {reason}"
        )),
        "{markdown}"
    );
}

#[test]
fn thresholds_of_a_scenario_that_trapped_before_measuring_do_not_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, junit, _) = run_with_reports(
        dir.path(),
        &["verdicts-trap-before-measuring", "verdicts-ok"],
    );
    assert_eq!(code, 1, "{:#}", report["summary"]);
    let s = scenario(&report, "verdicts-trap-before-measuring");
    assert_eq!(s["status"], "errored");
    assert_eq!(s["error"]["kind"], "trap");

    let by_expression = |metric: &str, expression: &str| {
        s["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["metric"] == metric && t["expression"] == expression)
            .unwrap_or_else(|| panic!("no `{metric}: {expression}` in {:#}", s["thresholds"]))
            .clone()
    };
    // k6's `checks: rate>=0.9` passed at rate 0 when the script threw.
    let checks = by_expression("checks", "rate >= 0.9");
    assert_eq!(checks["passed"], false);
    assert_eq!(
        checks["error"],
        "metric `checks` was not recorded; recorded metrics: latency (the scenario ended with an error before measuring it)"
    );
    let p99 = by_expression("latency", "p(99) < 1s");
    assert_eq!(p99["passed"], false);
    assert_eq!(
        p99["error"],
        "cannot evaluate `p(99) < 1s` on `latency`: metric has no samples, so `p(99)` cannot be computed (the scenario ended with an error before measuring it)"
    );
    // A count is what was measured: zero events of an opened metric. The
    // scenario is errored all the same, and so is the run.
    assert_eq!(by_expression("latency", "count == 0")["passed"], true);
    assert_eq!(report["summary"]["errored"], 1);

    assert!(
        junit.contains("threshold checks: rate &gt;= 0.9 [catalog]"),
        "{junit}"
    );
    // The rest of the run still ran and passed.
    assert_eq!(scenario(&report, "verdicts-ok")["status"], "passed");
}
