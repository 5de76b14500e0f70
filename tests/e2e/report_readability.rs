//! Reports that read right however big the run: rates of bytes print with
//! their rate unit and p-values as plain numbers in every writer (from a
//! built report and from a real run of the fs and memory probes); the HTML
//! percentile plots keep a log latency axis and, past eight lines, tell them
//! apart by dash as well as colour (rendered in headless Chromium); the
//! Markdown report of 50,000 checks stays under GitHub's 1 MiB step-summary
//! limit and still names its one failure.

use std::collections::{BTreeMap, BTreeSet};

use rigor::metrics::{Direction, Distribution, Unit};
use rigor::report::markdown::{self, MARKDOWN_BUDGET};
use rigor::report::model::{
    CapturedOutput, CheckResult, ErrorKind, HostInfo, MetricReport, RunReport, RunSummary, SCHEMA,
    ScenarioError, ScenarioReport, Status, ThresholdResult, ThresholdSource,
};
use rigor::report::units::p_value;
use rigor::report::{console, html};
use rigor_tests::{read_json, run_rigor, scenario};

use crate::reports::{chromium_dump, console_messages};

/// GitHub refuses a step summary larger than this.
const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

// ---------------------------------------------------------------- fixtures

fn gauge(name: &str, unit: Unit, value: f64) -> MetricReport {
    MetricReport {
        name: name.into(),
        kind: "gauge".into(),
        unit,
        direction: Some(Direction::default_for(unit)),
        significance_level: None,
        summary: None,
        value: Some(value),
        histogram: None,
        series: Vec::new(),
    }
}

fn histogram(name: &str, values: impl IntoIterator<Item = u64>) -> MetricReport {
    let mut d = Distribution::new();
    for v in values {
        d.record(v);
    }
    MetricReport {
        name: name.into(),
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

fn threshold(
    metric: &str,
    expression: &str,
    passed: bool,
    observed: f64,
    unit: Unit,
) -> ThresholdResult {
    ThresholdResult {
        metric: metric.into(),
        expression: expression.into(),
        source: ThresholdSource::Catalog,
        passed,
        observed: Some(observed),
        limit: None,
        unit: Some(unit),
        error: None,
        overrides: Vec::new(),
        shards: Vec::new(),
    }
}

fn check(name: String, passed: bool, detail: &str) -> CheckResult {
    CheckResult {
        name,
        passed,
        detail: detail.into(),
        passes: u64::from(passed),
        fails: u64::from(!passed),
        failure_details: Vec::new(),
    }
}

fn scenario_report(name: &str, status: Status) -> ScenarioReport {
    ScenarioReport {
        name: name.into(),
        source: format!("target/wasm/{name}.wasm"),
        status,
        started_at: Some("2026-11-23T02:41:00.000Z".into()),
        duration_ms: 1_000.0,
        params: BTreeMap::new(),
        component: None,
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

fn run_report(scenarios: Vec<ScenarioReport>) -> RunReport {
    RunReport {
        schema: SCHEMA.into(),
        rigor_version: "0.1.0".into(),
        started_at: "2026-11-23T02:41:00Z".into(),
        duration_ms: 1_000.0,
        host: HostInfo {
            hostname: "ci-1".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpus: 2,
            memory_bytes: 0,
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

/// The value attribute `name="…"` of an element's start tag `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// The start tags of every `<element` in `text`.
fn tags<'a>(text: &'a str, element: &str) -> Vec<&'a str> {
    let open = format!("<{element} ");
    text.match_indices(&open)
        .map(|(i, _)| {
            let end = text[i..].find('>').unwrap();
            &text[i..i + end]
        })
        .collect()
}

// ---------------------------------------------------------------- units

#[test]
fn rates_of_bytes_and_p_values_print_as_what_they_are_in_every_writer() {
    let mut s = scenario_report("io-and-leak", Status::Failed);
    let mut p = gauge("rss.mann-kendall-p", Unit::Ratio, 0.003);
    p.significance_level = Some(0.05);
    let mut tiny_p = gauge("heap.mann-kendall-p", Unit::Ratio, 1.2e-5);
    tiny_p.significance_level = Some(0.05);
    s.metrics = vec![
        gauge("io.read-bytes-per-s", Unit::Bytes, 12_345_678.0),
        gauge("io.write-bytes-per-s", Unit::Bytes, 512.0),
        gauge("rss.slope-bytes-per-op", Unit::Bytes, 2.46),
        gauge("rss.slope-bytes-per-s", Unit::Bytes, 10_400.0),
        gauge("rss.growth-bytes", Unit::Bytes, 10_400.0),
        gauge("io.error-rate", Unit::Ratio, 0.025),
        p,
        tiny_p,
    ];
    s.thresholds = vec![
        threshold(
            "io.read-bytes-per-s",
            "value > 10MB",
            true,
            12_345_678.0,
            Unit::Bytes,
        ),
        threshold(
            "rss.mann-kendall-p",
            "value >= 0.05",
            false,
            0.003,
            Unit::Ratio,
        ),
        threshold("io.error-rate", "rate < 1%", false, 0.025, Unit::Ratio),
    ];
    let report = run_report(vec![s]);

    let md = markdown::render(&report);
    for row in [
        "| io.read-bytes-per-s |  | 12.3 MB/s |",
        "| io.write-bytes-per-s |  | 512 B/s |",
        "| rss.slope-bytes-per-op |  | 2.46 B/op |",
        "| rss.slope-bytes-per-s |  | 10.4 KB/s |",
        // A size stays a size, an error rate a percentage.
        "| rss.growth-bytes |  | 10.4 KB |",
        "| io.error-rate |  | 2.5% |",
        "| rss.mann-kendall-p |  | 0.003 |",
        "| heap.mann-kendall-p |  | 1.2e-5 |",
        "| io.read-bytes-per-s | `value > 10MB` | 12.3 MB/s | ✅ pass |",
        "| rss.mann-kendall-p | `value >= 0.05` | 0.003 | ❌ fail |",
        "| io.error-rate | `rate < 1%` | 2.5% | ❌ fail |",
        "`rss.mann-kendall-p` is 0.003 against `value >= 0.05`",
    ] {
        assert!(md.contains(row), "missing `{row}` in:\n{md}");
    }
    assert!(!md.contains("0.3%") && !md.contains("0.0012%"), "{md}");

    let text = console::render(&report, false);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{text}"))
            .trim_end()
            .to_owned()
    };
    assert!(
        line("io.read-bytes-per-s").ends_with(" 12.3 MB/s"),
        "{text}"
    );
    assert!(
        line("rss.slope-bytes-per-op").ends_with(" 2.46 B/op"),
        "{text}"
    );
    assert!(line("rss.mann-kendall-p").ends_with(" 0.003"), "{text}");
    assert!(line("heap.mann-kendall-p").ends_with(" 1.2e-5"), "{text}");
    assert!(
        text.contains("io.read-bytes-per-s: value > 10MB  observed 12.3 MB/s"),
        "{text}"
    );
    assert!(
        text.contains("rss.mann-kendall-p: value >= 0.05  observed 0.003"),
        "{text}"
    );

    let page = html::render(&report);
    for cell in [
        "<td>io.read-bytes-per-s</td><td></td><td class=\"n\">12.3 MB/s</td>",
        "<td>rss.slope-bytes-per-op</td><td></td><td class=\"n\">2.46 B/op</td>",
        "<td>rss.mann-kendall-p</td><td></td><td class=\"n\">0.003</td>",
        "<td>heap.mann-kendall-p</td><td></td><td class=\"n\">1.2e-5</td>",
        "<td><code>value &gt;= 0.05</code></td><td class=\"n\">0.003</td>",
    ] {
        assert!(page.contains(cell), "missing `{cell}`");
    }
}

#[test]
fn a_real_run_prints_the_fs_probe_rates_in_b_per_s_and_the_leak_slope_in_b_per_op() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = run_rigor(&[
        "run",
        "fs-io",
        "memory-leak",
        "--param",
        "fs-io:ops=50",
        "--param",
        "fs-io:fsync-ops=10",
        "--param",
        "fs-io:load-ops=2000",
        "--param",
        "fs-io:workers=8",
        "--param",
        "memory-leak:target=leaky",
        "--json",
        &out("r.json"),
        "--markdown",
        &out("r.md"),
        "--html",
        &out("r.html"),
    ]);
    // Latency thresholds may fail on a loaded machine; the units are tested.
    assert!(run.code == 0 || run.code == 1, "{}", run.describe());
    let report = read_json(std::path::Path::new(&out("r.json")));
    let md = std::fs::read_to_string(out("r.md")).unwrap();
    let page = std::fs::read_to_string(out("r.html")).unwrap();
    let metric = |s: &str, suffix: &str| {
        scenario(&report, s)["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no metric *{suffix} in {s}: {report:#}"))
            .clone()
    };
    let console_value = |name: &str| {
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", run.stdout))
            .trim_end()
            .to_owned()
    };

    for (s, suffix, rate) in [
        ("fs-io", ".read-bytes-per-s", "B/s"),
        ("fs-io", ".write-bytes-per-s", "B/s"),
        ("memory-leak", ".slope-bytes-per-op", "B/op"),
        ("memory-leak", ".slope-bytes-per-s", "B/s"),
    ] {
        let m = metric(s, suffix);
        assert_eq!(m["unit"], "bytes", "{m:#}");
        let name = m["name"].as_str().unwrap();
        assert!(
            console_value(name).ends_with(rate),
            "{}",
            console_value(name)
        );
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{md}"));
        assert!(row.contains(&format!("{rate} |")), "{row}");
        assert!(
            page.contains(&format!("<td>{name}</td><td></td><td class=\"n\">"))
                && page
                    .split(&format!("<td>{name}</td>"))
                    .nth(1)
                    .is_some_and(|rest| rest[..rest.find("</tr>").unwrap()]
                        .contains(&format!("{rate}</td>"))),
            "{name} in the HTML"
        );
    }

    let p = metric("memory-leak", ".mann-kendall-p");
    assert!(p["significance_level"].is_number(), "{p:#}");
    let name = p["name"].as_str().unwrap();
    let shown = p_value(p["value"].as_f64().unwrap());
    assert!(
        console_value(name).ends_with(&format!(" {shown}")),
        "{}",
        console_value(name)
    );
    assert!(md.contains(&format!("| {name} |  | {shown} |")), "{md}");
    assert!(!shown.contains('%'));
}

// ---------------------------------------------------------------- plots

#[test]
fn percentile_plots_keep_a_log_latency_axis_and_twelve_lines_apart() {
    let mut s = scenario_report("many-endpoints", Status::Passed);
    // Twelve endpoints from about 10 µs to about 50 ms: a linear axis would
    // flatten all but the slowest against the bottom.
    s.metrics = (0..12u32)
        .map(|i| {
            let base = 10_000.0 * 2f64.powi(i as i32);
            histogram(
                &format!("endpoint-{i:02}"),
                (1..=200u64).map(move |k| (base * (1.0 + k as f64 / 50.0)) as u64),
            )
        })
        .collect();
    let report = run_report(vec![s]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, html::render(&report)).unwrap();
    let (dom, stderr) = chromium_dump(&file);
    assert!(console_messages(&stderr).is_empty(), "{stderr}");

    let plot_start = dom
        .find("class=\"plot plot-latency\"")
        .expect("a latency plot");
    let plot = &dom[plot_start..plot_start + dom[plot_start..].find("</svg>").unwrap()];
    assert!(plot.contains("by percentile (log scales)"), "{plot}");

    // Every line has its own colour and dash; 1-8 solid, 9-12 dashed; each
    // legend key is drawn like its line.
    let lines = tags(plot, "polyline");
    assert_eq!(lines.len(), 12, "{plot}");
    let strokes: Vec<(String, Option<String>)> = lines
        .iter()
        .map(|l| {
            (
                attr(l, "stroke").unwrap().to_owned(),
                attr(l, "stroke-dasharray").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        strokes.iter().collect::<BTreeSet<_>>().len(),
        12,
        "{strokes:?}"
    );
    assert!(
        strokes[..8].iter().all(|(_, dash)| dash.is_none()),
        "{strokes:?}"
    );
    assert!(
        strokes[8..].iter().all(|(_, dash)| dash.is_some()),
        "{strokes:?}"
    );
    for i in 8..12 {
        assert_eq!(
            strokes[i].0,
            strokes[i - 8].0,
            "colours repeat, dashes differ"
        );
    }
    let keys: Vec<&str> = tags(plot, "line")
        .into_iter()
        .filter(|l| attr(l, "class") == Some("legend-key"))
        .collect();
    assert_eq!(keys.len(), 12);
    for (line, key) in lines.iter().zip(&keys) {
        assert_eq!(attr(line, "data-metric"), attr(key, "data-metric"));
        assert_eq!(attr(line, "stroke"), attr(key, "stroke"));
        assert_eq!(
            attr(line, "stroke-dasharray"),
            attr(key, "stroke-dasharray")
        );
    }
    // The whole legend is inside the picture.
    let svg = tags(&dom[plot_start - 200..], "svg")[0];
    let height: f64 = attr(svg, "height").unwrap().parse().unwrap();
    let last_key_y: f64 = attr(keys[11], "y1").unwrap().parse().unwrap();
    assert!(last_key_y < height, "{last_key_y} >= {height}");

    // The latency axis is logarithmic: labelled at powers of ten (the
    // values span more than three decades), evenly spaced.
    let ticks: Vec<(String, f64)> = plot
        .match_indices("<text class=\"y-tick\"")
        .map(|(i, _)| {
            let tag = &plot[i..];
            let label = &tag[tag.find('>').unwrap() + 1..tag.find("</text>").unwrap()];
            (label.to_owned(), attr(tag, "y").unwrap().parse().unwrap())
        })
        .collect();
    let labels: Vec<&str> = ticks.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["10 µs", "100 µs", "1 ms", "10 ms", "100 ms"],
        "{ticks:?}"
    );
    let gaps: Vec<f64> = ticks.windows(2).map(|w| w[0].1 - w[1].1).collect();
    assert!(
        gaps.iter().all(|g| (g - gaps[0]).abs() < 0.3 && *g > 20.0),
        "decades are not evenly spaced: {ticks:?}"
    );
}

// ---------------------------------------------------------------- Markdown size

#[test]
fn markdown_of_50000_checks_stays_under_the_step_summary_limit_and_names_the_failure() {
    let mut big = scenario_report("per-request-checks", Status::Failed);
    big.checks = (0..50_000)
        .map(|i| {
            if i == 31_337 {
                check(
                    format!("request {i} answered 200"),
                    false,
                    "got 503 Service Unavailable",
                )
            } else {
                check(
                    format!("request {i} answered 200"),
                    true,
                    "200 OK in 1.2 ms",
                )
            }
        })
        .collect();
    let mut after = scenario_report("after", Status::Passed);
    after.checks = vec![check("still here".into(), true, "")];
    let report = run_report(vec![big, after]);

    let whole = markdown::render_within(&report, usize::MAX);
    assert!(
        whole.len() > STEP_SUMMARY_LIMIT,
        "the test needs a report over the limit"
    );
    let md = markdown::render(&report);
    assert!(
        md.len() <= MARKDOWN_BUDGET && MARKDOWN_BUDGET < STEP_SUMMARY_LIMIT,
        "{} bytes",
        md.len()
    );
    // The failure is in the table and the action items, the verdict and
    // counts are whole, every scenario is in the summary.
    assert!(
        md.contains("| request 31337 answered 200 | ❌ fail | got 503 Service Unavailable |"),
        "the failing check is missing"
    );
    assert!(md.contains("check `request 31337 answered 200` failed: got 503 Service Unavailable"));
    assert!(md.contains("**FAILED: 1 of 2 scenarios passed (50%)**"));
    assert!(
        md.contains("- Checks: 50,000 of 50,001 passed (99.99%)"),
        "{}",
        &md[..1500]
    );
    assert!(
        md.contains("| per-request-checks | ❌ failed |") && md.contains("| after | ✅ passed |")
    );
    // What was left out is said, at the top and under the table, and adds up.
    let shown = md.matches("| ✅ pass |").count();
    let left_out = 50_000 - shown;
    let note = md
        .lines()
        .find(|l| l.starts_with("> **Shortened report:**"))
        .expect("a note on the shortening");
    assert!(
        note.contains(&format!(
            "Left out: {} passing checks",
            rigor::report::units::thousands(left_out as f64)
        )) && note.contains("JSON report"),
        "{note}"
    );
    assert!(
        md.contains("passing checks; the JSON report has every one._"),
        "no note under the table"
    );
    assert!(note.find("Shortened").unwrap() < md.find("## Results").unwrap());
}

#[test]
fn when_failures_alone_overflow_every_failed_scenario_is_still_named() {
    let long = "x".repeat(400);
    let mut flood = scenario_report("flood", Status::Failed);
    flood.checks = (0..5_000)
        .map(|i| check(format!("flood {i}"), false, &long))
        .collect();
    let mut timed_out = scenario_report("timed-out", Status::Errored);
    timed_out.error = Some(ScenarioError {
        kind: ErrorKind::Timeout,
        message: "the scenario exceeded its deadline of 20s".into(),
    });
    let mut slow = scenario_report("slow", Status::Failed);
    slow.thresholds = vec![threshold(
        "get",
        "p(99) < 1ms",
        false,
        2_880_000.0,
        Unit::Nanoseconds,
    )];
    let report = run_report(vec![flood, timed_out, slow]);
    let md = markdown::render(&report);
    assert!(md.len() <= MARKDOWN_BUDGET, "{} bytes", md.len());
    for needle in [
        "| flood | ❌ failed |",
        "| timed-out | 💥 errored |",
        "| slow | ❌ failed |",
        "**Error (timeout):** the scenario exceeded its deadline of 20s",
        "| get | `p(99) < 1ms` | 2.88 ms | ❌ fail |",
        "| flood 0 | ❌ fail |",
        "failing checks; the JSON report has every one._",
    ] {
        assert!(md.contains(needle), "missing `{needle}`");
    }
}

// ---------------------------------------------------------------- percentiles

/// The rule docs/reports.md#percentiles states, on the summaries reports carry.
#[test]
fn summaries_follow_hdrhistograms_percentile_rule_as_documented() {
    let summary = |values: &[u64]| {
        let mut d = Distribution::new();
        for &v in values {
            d.record(v);
        }
        d.summary()
    };
    // Below 2,048 values are exact: p50 of 1..=10 is the ⌈0.5·10⌉ = 5th
    // value, p90 the 9th, p99 the ⌈9.9⌉ = 10th; no interpolation.
    let s = summary(&(1..=10).collect::<Vec<_>>());
    assert_eq!((s.min, s.p50, s.p90, s.p99, s.max), (1, 5, 9, 10, 10));
    // p99 of 1,000 values is the 990th smallest.
    let s = summary(&(1..=1_000).collect::<Vec<_>>());
    assert_eq!((s.p50, s.p95, s.p99, s.p999), (500, 950, 990, 999));
    // Above, the top of the bucket: 1,000,000 lies in 999,936..=1,000,447.
    let s = summary(&[1_000_000]);
    assert_eq!((s.min, s.p50, s.max), (999_936, 1_000_447, 1_000_447));
    assert_eq!(s.mean, 1_000_192.0, "the bucket's middle value");
}
