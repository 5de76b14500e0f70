//! The Markdown writer: a report a reviewer reads in a pull request or a CI
//! step summary. Executive summary with the pass ratio, one results table per
//! scenario (threshold, observed value, status), findings by severity, and
//! action items derived from what failed.

use std::fmt::Write as _;

use super::model::{ErrorKind, RunReport, ScenarioReport, Severity, Status, ThresholdResult};
use super::units;
use crate::metrics::Unit;

/// Renders the whole report as GitHub-flavoured Markdown.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Rigor report\n");
    let _ = writeln!(
        out,
        "Started {} · {} · rigor {} · {} ({} {}, {} CPUs)\n",
        report.started_at,
        units::duration_ns(report.duration_ms * 1e6),
        report.rigor_version,
        cell(&report.host.hostname),
        report.host.os,
        report.host.arch,
        report.host.cpus
    );
    summary(&mut out, report);
    let _ = writeln!(out, "## Results\n");
    for s in &report.scenarios {
        scenario(&mut out, s);
    }
    findings(&mut out, report);
    actions(&mut out, report);
    out
}

fn status_badge(status: Status) -> &'static str {
    match status {
        Status::Passed => "✅ passed",
        Status::Failed => "❌ failed",
        Status::Errored => "💥 errored",
        Status::Skipped => "⏭️ skipped",
    }
}

/// Text safe inside a table cell: no pipes, no line breaks, no HTML tags
/// (a `<` that could open a tag is escaped; `p(99) < 1ms` stays readable).
fn cell(text: &str) -> String {
    let text = code(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        if opens_tag {
            out.push_str("&lt;");
        } else {
            out.push(c);
        }
    }
    out
}

/// Text safe inside a code span in a table cell (entities would show as
/// written there, so only pipes and line breaks are replaced).
fn code(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    one_line.replace('|', "\\|")
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.0}%", part as f64 * 100.0 / whole as f64)
}

fn summary(out: &mut String, report: &RunReport) {
    let s = &report.summary;
    let verdict = if s.failed + s.errored == 0 {
        "PASSED"
    } else {
        "FAILED"
    };
    let ran = s.total - s.skipped;
    let _ = writeln!(out, "## Executive summary\n");
    let _ = writeln!(
        out,
        "**{verdict}: {} of {} scenarios passed ({})** — {} passed, {} failed, {} errored, {} skipped.\n",
        s.passed,
        ran,
        percent(s.passed, ran),
        s.passed,
        s.failed,
        s.errored,
        s.skipped
    );
    let thresholds: Vec<&ThresholdResult> = report
        .scenarios
        .iter()
        .flat_map(|s| &s.thresholds)
        .collect();
    let checks: Vec<_> = report.scenarios.iter().flat_map(|s| &s.checks).collect();
    let t_pass = thresholds.iter().filter(|t| t.passed).count();
    let c_pass = checks.iter().filter(|c| c.passed).count();
    let n_findings: usize = report.scenarios.iter().map(|s| s.findings.len()).sum();
    let _ = writeln!(
        out,
        "- Thresholds: {t_pass} of {} passed ({})",
        thresholds.len(),
        percent(t_pass, thresholds.len())
    );
    let _ = writeln!(
        out,
        "- Checks: {c_pass} of {} passed ({})",
        checks.len(),
        percent(c_pass, checks.len())
    );
    let _ = writeln!(out, "- Findings: {n_findings}");
    if report.partial {
        let _ = writeln!(
            out,
            "\n> **Partial report:** the run was interrupted; scenarios after the interruption did not run."
        );
    }
    let _ = writeln!(
        out,
        "\n| scenario | status | duration | thresholds | checks | findings |"
    );
    let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: |");
    for sc in &report.scenarios {
        let tp = sc.thresholds.iter().filter(|t| t.passed).count();
        let cp = sc.checks.iter().filter(|c| c.passed).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {tp}/{} | {cp}/{} | {} |",
            cell(&sc.name),
            status_badge(sc.status),
            units::duration_ns(sc.duration_ms * 1e6),
            sc.thresholds.len(),
            sc.checks.len(),
            sc.findings.len()
        );
    }
    out.push('\n');
}

/// The threshold's source, and what it replaced.
fn source(t: &ThresholdResult) -> String {
    if t.overrides.is_empty() {
        t.source.as_str().to_owned()
    } else {
        format!(
            "{} (replaces {})",
            t.source.as_str(),
            t.overrides
                .iter()
                .map(|o| format!("`{}`", code(o)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn observed(t: &ThresholdResult) -> String {
    match (t.observed, &t.error) {
        (_, Some(e)) => cell(e),
        (Some(v), None) => units::value(t.unit.unwrap_or(Unit::None), v),
        (None, None) => "-".into(),
    }
}

fn scenario(out: &mut String, s: &ScenarioReport) {
    let _ = writeln!(
        out,
        "### {} — {} ({})\n",
        s.name,
        status_badge(s.status),
        units::duration_ns(s.duration_ms * 1e6)
    );
    if let Some(reason) = &s.skip_reason {
        let _ = writeln!(out, "Skipped: {}\n", cell(reason));
    }
    if let Some(error) = &s.error {
        let first = error.message.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            "**Error ({}):** {}\n",
            error.kind.as_str(),
            cell(first)
        );
    }
    if !s.params.is_empty() {
        let params: Vec<String> = s
            .params
            .iter()
            .map(|(k, v)| format!("`{}={}`", cell(k), cell(v)))
            .collect();
        let _ = writeln!(out, "Parameters: {}\n", params.join(" "));
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(out, "| metric | threshold | observed | status | source |");
        let _ = writeln!(out, "| --- | --- | ---: | --- | --- |");
        for t in &s.thresholds {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                cell(&t.metric),
                code(&t.expression),
                observed(t),
                if t.passed { "✅ pass" } else { "❌ fail" },
                source(t)
            );
        }
        out.push('\n');
    }
    let rows: Vec<_> = s
        .metrics
        .iter()
        .filter(|m| m.summary.is_some() || m.value.is_some())
        .collect();
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "| metric | count | avg / value | p50 | p95 | p99 | max |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for m in rows {
            let f = |v: f64| units::value(m.unit, v);
            match &m.summary {
                Some(sum) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} | {} |",
                        cell(&m.name),
                        units::thousands(sum.count as f64),
                        f(sum.mean),
                        f(sum.p50 as f64),
                        f(sum.p95 as f64),
                        f(sum.p99 as f64),
                        f(sum.max as f64)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {} |  | {} |  |  |  |  |",
                        cell(&m.name),
                        f(m.value.unwrap_or_default())
                    );
                }
            }
        }
        out.push('\n');
    }
    if !s.checks.is_empty() {
        let _ = writeln!(out, "| check | status | detail |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for c in &s.checks {
            let _ = writeln!(
                out,
                "| {} | {}{} | {} |",
                cell(&c.name),
                if c.passed { "✅ pass" } else { "❌ fail" },
                c.counts(),
                cell(&c.detail)
            );
        }
        out.push('\n');
    }
    if let Some(dropped) = s.dropped.describe(s.logs_dropped) {
        let _ = writeln!(out, "> **Not kept (report bounds):** {dropped}.\n");
    }
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🔴 critical",
        Severity::High => "🟠 high",
        Severity::Medium => "🟡 medium",
        Severity::Low => "🔵 low",
        Severity::Info => "⚪ info",
    }
}

fn findings(out: &mut String, report: &RunReport) {
    let mut all: Vec<_> = report
        .scenarios
        .iter()
        .flat_map(|s| s.findings.iter().map(move |f| (s, f)))
        .collect();
    let _ = writeln!(out, "## Findings\n");
    if all.is_empty() {
        let _ = writeln!(out, "No findings.\n");
        return;
    }
    // Most severe first; stable, so each scenario keeps its own order.
    all.sort_by_key(|(_, f)| std::cmp::Reverse(f.severity));
    let _ = writeln!(out, "| severity | scenario | finding | detail |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for (s, f) in all {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            severity_label(f.severity),
            cell(&s.name),
            cell(&f.title),
            cell(&f.detail)
        );
    }
    out.push('\n');
}

/// What to do next, most urgent first: critical findings, errored
/// scenarios, high findings, failed thresholds and checks, medium findings,
/// skipped scenarios, then the rest.
fn actions(out: &mut String, report: &RunReport) {
    let mut items: Vec<(u8, String)> = Vec::new();
    for s in &report.scenarios {
        if let Some(e) = s.error.as_ref().filter(|e| e.kind == ErrorKind::Aborted) {
            items.push((3, format!("**{}**: {}", s.name, cell(&e.message))));
        } else if let Some(e) = &s.error {
            let first = e.message.lines().next().unwrap_or_default();
            items.push((
                1,
                format!(
                    "**{}** errored ({}): {} — fix the cause, then re-run `rigor run {}`.",
                    s.name,
                    e.kind.as_str(),
                    cell(first),
                    s.name
                ),
            ));
        }
        if let Some(reason) = &s.skip_reason {
            items.push((5, format!("**{}** was skipped: {}", s.name, cell(reason))));
        }
        for t in s.thresholds.iter().filter(|t| !t.passed) {
            items.push((
                3,
                match &t.error {
                    Some(e) => format!(
                        "**{}**: threshold `{}: {}` could not be evaluated: {}",
                        s.name,
                        code(&t.metric),
                        code(&t.expression),
                        cell(e)
                    ),
                    None => format!(
                        "**{}**: `{}` is {} against `{}` ({}): investigate or adjust the limit.",
                        s.name,
                        code(&t.metric),
                        observed(t),
                        code(&t.expression),
                        t.source.as_str()
                    ),
                },
            ));
        }
        for c in s.checks.iter().filter(|c| !c.passed) {
            items.push((
                3,
                format!(
                    "**{}**: check `{}` failed{}",
                    s.name,
                    code(&c.name),
                    if c.detail.is_empty() {
                        ".".to_owned()
                    } else {
                        format!(": {}", cell(&c.detail))
                    }
                ),
            ));
        }
        if s.dropped.any_failed() {
            items.push((
                3,
                format!(
                    "**{}**: failures past the report's bounds were counted, not kept ({}): fewer distinct check names or thresholds keep every failure in the report.",
                    s.name,
                    s.dropped.describe(0).unwrap_or_default()
                ),
            ));
        }
        for f in s.findings.iter().filter(|f| !f.action.is_empty()) {
            let priority = match f.severity {
                Severity::Critical => 0,
                Severity::High => 2,
                Severity::Medium => 4,
                Severity::Low | Severity::Info => 6,
            };
            items.push((
                priority,
                format!(
                    "[{}] **{}**: {}",
                    format!("{:?}", f.severity).to_uppercase(),
                    s.name,
                    cell(&f.action)
                ),
            ));
        }
    }
    // Stable: within a priority, the run's order.
    items.sort_by_key(|(priority, _)| *priority);
    let _ = writeln!(out, "## Action items\n");
    if items.is_empty() {
        let _ = writeln!(
            out,
            "None: every scenario passed and nothing needs attention."
        );
        return;
    }
    for (i, (_, item)) in items.iter().enumerate() {
        let _ = writeln!(out, "{}. {item}", i + 1);
    }
}
