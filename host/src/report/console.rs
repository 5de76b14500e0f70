//! The console writer: a summary per scenario (metrics in readable units,
//! thresholds and checks with ✓/✗, findings) and a run total. Colour is an
//! option of the caller, which decides from the TTY and `NO_COLOR`.

use std::fmt::Write as _;

use super::model::{RunReport, ScenarioReport, Status};
use super::units::{self, Quantity};

/// Renders the run for a terminal; `color` adds ANSI colours.
pub fn render(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    for scenario in &report.scenarios {
        render_scenario(&mut out, scenario, color);
        out.push('\n');
    }
    let s = &report.summary;
    let verdict = if s.failed + s.errored == 0 {
        paint("PASSED", Style::Good, color)
    } else {
        paint("FAILED", Style::Bad, color)
    };
    let _ = writeln!(
        out,
        "{verdict}: {} scenario{}: {} passed, {} failed, {} errored, {} skipped ({}){}",
        s.total,
        if s.total == 1 { "" } else { "s" },
        s.passed,
        s.failed,
        s.errored,
        s.skipped,
        units::duration_ns(report.duration_ms * 1e6),
        if report.partial {
            " — interrupted, partial"
        } else {
            ""
        }
    );
    out
}

#[derive(Clone, Copy)]
enum Style {
    Good,
    Bad,
    Warn,
    Dim,
    Bold,
}

fn paint(text: &str, style: Style, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match style {
        Style::Good => "32",
        Style::Bad => "31",
        Style::Warn => "33",
        Style::Dim => "2",
        Style::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn mark(passed: bool, color: bool) -> String {
    if passed {
        paint("✓", Style::Good, color)
    } else {
        paint("✗", Style::Bad, color)
    }
}

fn status_text(status: Status, color: bool) -> String {
    let style = match status {
        Status::Passed => Style::Good,
        Status::Failed | Status::Errored => Style::Bad,
        Status::Skipped => Style::Warn,
    };
    paint(status.as_str(), style, color)
}

fn render_scenario(out: &mut String, s: &ScenarioReport, color: bool) {
    let _ = writeln!(
        out,
        "{} {} ({})",
        paint(&s.name, Style::Bold, color),
        status_text(s.status, color),
        units::duration_ns(s.duration_ms * 1e6)
    );
    if let Some(reason) = &s.skip_reason {
        let _ = writeln!(out, "  skipped: {reason}");
    }
    if let Some(error) = &s.error {
        let mut lines = error.message.lines();
        let first = lines.next().unwrap_or_default();
        let _ = writeln!(out, "  {}: {first}", paint("error", Style::Bad, color));
        for line in lines.take(8) {
            let _ = writeln!(out, "    {}", paint(line, Style::Dim, color));
        }
    }
    for refusal in s.budgets.iter().flat_map(|b| b.refusals()) {
        let _ = writeln!(out, "  {}: {refusal}", paint("budget", Style::Warn, color));
    }
    render_metrics(out, s);
    for t in &s.thresholds {
        let observed = match (t.observed, &t.error) {
            (_, Some(e)) => e.clone(),
            (Some(v), None) => format!("observed {}", Quantity::of_threshold(t, s).format(v)),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} {}: {}  {}  {}",
            mark(t.passed, color),
            t.metric,
            t.expression,
            observed,
            paint(&format!("[{}]", source_name(t.source)), Style::Dim, color)
        );
        if !t.overrides.is_empty() {
            let _ = writeln!(
                out,
                "      {}",
                paint(
                    &format!("replaces {}", t.overrides.join(", ")),
                    Style::Dim,
                    color
                )
            );
        }
    }
    for c in &s.checks {
        let detail = if c.detail.is_empty() {
            String::new()
        } else {
            format!(" — {}", c.detail)
        };
        let counts = c.counts();
        let _ = writeln!(
            out,
            "  {} {}{detail}{counts}",
            mark(c.passed, color),
            c.name
        );
    }
    if let Some(dropped) = s.dropped.describe(s.logs_dropped) {
        let _ = writeln!(
            out,
            "  {} {dropped}",
            paint("not kept (report bounds):", Style::Warn, color)
        );
    }
    for f in &s.findings {
        let sev = format!("{:?}", f.severity).to_uppercase();
        let style = match f.severity {
            super::model::Severity::Critical | super::model::Severity::High => Style::Bad,
            super::model::Severity::Medium => Style::Warn,
            _ => Style::Dim,
        };
        let _ = writeln!(
            out,
            "  {} {}",
            paint(&format!("[{sev}]"), style, color),
            f.title
        );
        if !f.detail.is_empty() {
            let _ = writeln!(out, "      {}", f.detail);
        }
        if !f.action.is_empty() {
            let _ = writeln!(out, "      → {}", f.action);
        }
    }
}

fn source_name(source: super::model::ThresholdSource) -> &'static str {
    match source {
        super::model::ThresholdSource::Guest => "scenario",
        super::model::ThresholdSource::Catalog => "catalog",
        super::model::ThresholdSource::Cli => "cli",
    }
}

fn render_metrics(out: &mut String, s: &ScenarioReport) {
    let mut rows: Vec<[String; 7]> = Vec::new();
    for m in &s.metrics {
        let q = Quantity::of_metric(m);
        match (&m.summary, m.value) {
            (Some(sum), _) => {
                let f = |v: f64| q.format(v);
                rows.push([
                    m.name.clone(),
                    units::thousands(sum.count as f64),
                    f(sum.mean),
                    f(sum.p50 as f64),
                    f(sum.p95 as f64),
                    f(sum.p99 as f64),
                    f(sum.max as f64),
                ]);
            }
            (None, Some(v)) => rows.push([
                m.name.clone(),
                String::new(),
                q.format(v),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]),
            (None, None) => {}
        }
    }
    if rows.is_empty() {
        return;
    }
    let header = ["metric", "count", "avg/value", "p50", "p95", "p99", "max"].map(String::from);
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::from("  ");
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
