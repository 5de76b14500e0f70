//! The HTML writer: one self-contained page (inline CSS and SVG, no script,
//! nothing fetched) with, per scenario, the tables of the Markdown report and
//! plots drawn here in Rust:
//!
//! - latency percentile distribution of every histogram, decoded from the
//!   report's serialized HDR histogram, on a log-scaled percentile axis
//!   (`x = log10(1 / (1 - p))`, so 90 %, 99 %, 99.9 % … are evenly spaced);
//! - every metric that carries a `series` (throughput per sampling period,
//!   memory samples) as a line over time.

use std::fmt::Write as _;

use super::junit::xml as esc;
use super::model::{MetricReport, RunReport, ScenarioReport, Status, ThresholdResult};
use super::units;
use crate::metrics::{Distribution, Unit};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 170.0;
/// Longest legend label; longer names are cut (the full name is its tooltip).
const LEGEND_CHARS: usize = 24;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;
const COLOURS: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
];

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#1f2937}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #e5e7eb;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e5e7eb;padding:.25rem .6rem;text-align:left}td.n{text-align:right}th{background:#f9fafb}
.passed{color:#15803d}.failed,.errored{color:#b91c1c}.skipped{color:#a16207}.meta{color:#6b7280}
.banner{padding:.6rem 1rem;border-radius:6px;font-weight:600}.banner.ok{background:#dcfce7}.banner.bad{background:#fee2e2}
.plot{display:block;margin:.5rem 0 1rem;max-width:100%;height:auto}.plot text{font:11px system-ui,sans-serif;fill:#374151}
.plot .grid{stroke:#e5e7eb}.plot .axis{stroke:#6b7280}.plot .title{font-weight:600;font-size:12px}
pre{background:#f3f4f6;padding:.5rem;overflow:auto}";

/// Renders the report as one self-contained HTML page.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let s = &report.summary;
    let passed = s.failed + s.errored == 0;
    let _ = writeln!(
        out,
        "<title>Rigor report — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        if passed { "passed" } else { "failed" }
    );
    let _ = writeln!(out, "<h1>Rigor report</h1>");
    let _ = writeln!(
        out,
        "<p class=\"meta\">Started {} · {} · rigor {} · {} ({} {}, {} CPUs)</p>",
        esc(&report.started_at),
        units::duration_ns(report.duration_ms * 1e6),
        esc(&report.rigor_version),
        esc(&report.host.hostname),
        esc(&report.host.os),
        esc(&report.host.arch),
        report.host.cpus
    );
    let ran = s.total - s.skipped;
    let _ = writeln!(
        out,
        "<p class=\"banner {}\">{}: {} of {} scenarios passed — {} passed, {} failed, {} errored, {} skipped{}</p>",
        if passed { "ok" } else { "bad" },
        if passed { "PASSED" } else { "FAILED" },
        s.passed,
        ran,
        s.passed,
        s.failed,
        s.errored,
        s.skipped,
        if report.partial {
            " — interrupted, partial report"
        } else {
            ""
        }
    );
    out.push_str("<table id=\"summary\"><tr><th>scenario</th><th>status</th><th>duration</th><th>thresholds</th><th>checks</th><th>findings</th></tr>\n");
    for sc in &report.scenarios {
        let tp = sc.thresholds.iter().filter(|t| t.passed).count();
        let cp = sc.checks.iter().filter(|c| c.passed).count();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#s-{id}\">{}</a></td><td class=\"{st}\">{st}</td><td class=\"n\">{}</td><td class=\"n\">{tp}/{}</td><td class=\"n\">{cp}/{}</td><td class=\"n\">{}</td></tr>",
            esc(&sc.name),
            units::duration_ns(sc.duration_ms * 1e6),
            sc.thresholds.len(),
            sc.checks.len(),
            sc.findings.len(),
            id = anchor(&sc.name),
            st = sc.status.as_str(),
        );
    }
    out.push_str("</table>\n");
    for sc in &report.scenarios {
        scenario(&mut out, sc);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn observed(t: &ThresholdResult) -> String {
    match (t.observed, &t.error) {
        (_, Some(e)) => e.clone(),
        (Some(v), None) => units::value(t.unit.unwrap_or(Unit::None), v),
        (None, None) => "-".into(),
    }
}

fn scenario(out: &mut String, s: &ScenarioReport) {
    let _ = writeln!(
        out,
        "<section class=\"scenario\" id=\"s-{}\">\n<h2>{} <span class=\"{st}\">{st}</span> <span class=\"meta\">({})</span></h2>",
        anchor(&s.name),
        esc(&s.name),
        units::duration_ns(s.duration_ms * 1e6),
        st = s.status.as_str()
    );
    if let Some(reason) = &s.skip_reason {
        let _ = writeln!(out, "<p>Skipped: {}</p>", esc(reason));
    }
    if let Some(e) = &s.error {
        let _ = writeln!(
            out,
            "<p><strong>{}:</strong></p><pre>{}</pre>",
            e.kind.as_str(),
            esc(&e.message)
        );
    }
    if !s.thresholds.is_empty() {
        out.push_str("<table class=\"thresholds\"><tr><th>metric</th><th>threshold</th><th>observed</th><th>status</th><th>source</th></tr>\n");
        for t in &s.thresholds {
            let st = if t.passed { "passed" } else { "failed" };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"{st}\">{}</td><td>{}</td></tr>",
                esc(&t.metric),
                esc(&t.expression),
                esc(&observed(t)),
                if t.passed { "✓ pass" } else { "✗ fail" },
                if t.overrides.is_empty() {
                    t.source.as_str().to_owned()
                } else {
                    format!(
                        "{} (replaces {})",
                        t.source.as_str(),
                        esc(&t.overrides.join(", "))
                    )
                }
            );
        }
        out.push_str("</table>\n");
    }
    let rows: Vec<&MetricReport> = s
        .metrics
        .iter()
        .filter(|m| m.summary.is_some() || m.value.is_some())
        .collect();
    if !rows.is_empty() {
        out.push_str("<table class=\"metrics\"><tr><th>metric</th><th>count</th><th>avg / value</th><th>p50</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n");
        for m in rows {
            let f = |v: f64| esc(&units::value(m.unit, v));
            match &m.summary {
                Some(x) => {
                    let _ = writeln!(
                        out,
                        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                        esc(&m.name),
                        units::thousands(x.count as f64),
                        f(x.mean),
                        f(x.p50 as f64),
                        f(x.p95 as f64),
                        f(x.p99 as f64),
                        f(x.p999 as f64),
                        f(x.max as f64)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<tr><td>{}</td><td></td><td class=\"n\">{}</td><td></td><td></td><td></td><td></td><td></td></tr>",
                        esc(&m.name),
                        f(m.value.unwrap_or_default())
                    );
                }
            }
        }
        out.push_str("</table>\n");
    }
    latency_plots(out, s);
    for m in s.metrics.iter().filter(|m| m.series.len() >= 2) {
        out.push_str(&series_plot(m));
    }
    if !s.checks.is_empty() {
        out.push_str(
            "<table class=\"checks\"><tr><th>check</th><th>status</th><th>detail</th></tr>\n",
        );
        for c in &s.checks {
            let st = if c.passed { "passed" } else { "failed" };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{st}\">{st}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(&c.detail)
            );
        }
        out.push_str("</table>\n");
    }
    if !s.findings.is_empty() {
        out.push_str("<table class=\"findings\"><tr><th>severity</th><th>finding</th><th>detail</th><th>action</th></tr>\n");
        let mut findings: Vec<_> = s.findings.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for f in findings {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                format!("{:?}", f.severity).to_lowercase(),
                esc(&f.title),
                esc(&f.detail),
                esc(&f.action)
            );
        }
        out.push_str("</table>\n");
    }
    if s.status == Status::Skipped {
        out.push_str("<p class=\"meta\">Nothing was measured.</p>\n");
    }
    out.push_str("</section>\n");
}

/// A named line of (x, y) points.
type Line = (String, Vec<(f64, f64)>);

/// One plot per unit holding every histogram of that unit.
fn latency_plots(out: &mut String, s: &ScenarioReport) {
    let mut by_unit: Vec<(Unit, Vec<Line>)> = Vec::new();
    for m in &s.metrics {
        let Some(encoded) = &m.histogram else {
            continue;
        };
        let Ok(d) = Distribution::from_base64(encoded) else {
            continue;
        };
        if d.is_empty() {
            continue;
        }
        let curve: Vec<(f64, f64)> = d
            .percentile_curve()
            .into_iter()
            .map(|(p, v)| (p, v as f64))
            .collect();
        match by_unit.iter_mut().find(|(u, _)| *u == m.unit) {
            Some((_, lines)) => lines.push((m.name.clone(), curve)),
            None => by_unit.push((m.unit, vec![(m.name.clone(), curve)])),
        }
    }
    for (unit, lines) in by_unit {
        out.push_str(&percentile_plot(&s.name, unit, &lines));
    }
}

/// `log10(1 / (1 - p))` for a percentile `p` in 0..100.
fn nines(p: f64) -> f64 {
    let rest = (100.0 - p) / 100.0;
    if rest <= 0.0 {
        f64::INFINITY
    } else {
        (1.0 / rest).log10()
    }
}

fn percentile_plot(scenario: &str, unit: Unit, lines: &[(String, Vec<(f64, f64)>)]) -> String {
    let finite_max = lines
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|&(p, _)| nines(p)))
        .filter(|x| x.is_finite())
        .fold(2.0f64, f64::max);
    // The 100th percentile sits half a decade past the last finite tick.
    let x_max = finite_max.ceil() + 0.5;
    let y_max = lines
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|&(_, v)| v))
        .fold(0.0f64, f64::max);
    let mut x_ticks: Vec<(f64, String)> = vec![(0.0, "0%".into())];
    for k in 1..=(finite_max.ceil() as i32) {
        let p = 100.0 - 100.0 / 10f64.powi(k);
        x_ticks.push((f64::from(k), format!("{}%", trim(p))));
    }
    x_ticks.push((x_max, "max".into()));
    let plotted: Vec<(String, Vec<(f64, f64)>)> = lines
        .iter()
        .map(|(name, pts)| {
            let pts = pts.iter().map(|&(p, v)| (nines(p).min(x_max), v)).collect();
            (name.clone(), pts)
        })
        .collect();
    chart(&Chart {
        class: "plot plot-latency",
        title: format!("{scenario}: latency by percentile (log scale)"),
        x_label: "percentile".into(),
        x_range: (0.0, x_max),
        x_ticks,
        y_max,
        unit,
        lines: plotted,
    })
}

fn series_plot(m: &MetricReport) -> String {
    let t_max = m.series.iter().map(|p| p[0]).fold(0.0f64, f64::max);
    let y_max = m.series.iter().map(|p| p[1]).fold(0.0f64, f64::max);
    let x_max = if t_max > 0.0 { t_max } else { 1.0 };
    let step = nice_step(x_max / 6.0);
    let mut x_ticks = Vec::new();
    let mut t = 0.0;
    while t <= x_max + step * 1e-9 {
        x_ticks.push((t, format!("{} s", trim(t))));
        t += step;
    }
    let kind = match m.unit {
        Unit::Bytes => "plot-memory",
        Unit::OpsPerSecond => "plot-throughput",
        _ => "plot-other",
    };
    chart(&Chart {
        class: &format!("plot plot-series {kind}"),
        title: format!("{} over time", m.name),
        x_label: "time since the scenario started".into(),
        x_range: (0.0, x_max),
        x_ticks,
        y_max,
        unit: m.unit,
        lines: vec![(
            m.name.clone(),
            m.series.iter().map(|p| (p[0], p[1])).collect(),
        )],
    })
}

struct Chart<'a> {
    class: &'a str,
    title: String,
    x_label: String,
    x_range: (f64, f64),
    x_ticks: Vec<(f64, String)>,
    y_max: f64,
    unit: Unit,
    lines: Vec<(String, Vec<(f64, f64)>)>,
}

/// A step of 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let mut cut: String = name.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn chart(c: &Chart) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let (x0, x1) = c.x_range;
    let y_step = nice_step(c.y_max / 5.0);
    let y_top = if c.y_max > 0.0 {
        (c.y_max / y_step).ceil() * y_step
    } else {
        1.0
    };
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0).max(f64::MIN_POSITIVE) * plot_w;
    let sy = |y: f64| TOP + plot_h - y / y_top * plot_h;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\">",
        c.class,
        esc(&c.title)
    );
    let _ = writeln!(
        svg,
        "<text class=\"title\" x=\"{LEFT}\" y=\"16\">{}</text>",
        esc(&c.title)
    );
    // Horizontal grid and y labels.
    let mut y = 0.0;
    while y <= y_top + y_step * 1e-9 {
        let py = sy(y);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            py + 4.0,
            esc(&units::value(c.unit, y))
        );
        y += y_step;
    }
    for (x, label) in &c.x_ticks {
        let px = sx(*x);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"/><text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h,
            TOP + plot_h + 16.0,
            esc(label)
        );
    }
    let _ = writeln!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h,
        TOP + plot_h
    );
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0,
        esc(&c.x_label)
    );
    for (i, (name, pts)) in c.lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = pts
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline class=\"line\" data-metric=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\" points=\"{}\"/>",
            esc(name),
            points.join(" ")
        );
        let ly = TOP + 8.0 + i as f64 * 16.0;
        let lx = LEFT + plot_w + 12.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/><text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\"><title>{}</title>{}</text>",
            lx + 14.0,
            lx + 18.0,
            ly + 4.0,
            esc(name),
            esc(&short(name, LEGEND_CHARS))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_axis_spaces_nines_evenly() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-12);
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert!(nines(100.0).is_infinite());
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.5), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(230.0), 500.0);
        assert_eq!(nice_step(0.0), 1.0);
    }
}
