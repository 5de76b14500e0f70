//! The HTML writer: one self-contained page (inline CSS and SVG, no script,
//! nothing fetched) with, per scenario, the tables of the Markdown report and
//! plots drawn here in Rust:
//!
//! - latency percentile distribution of every histogram, decoded from the
//!   report's serialized HDR histogram, on a log-scaled percentile axis
//!   (`x = log10(1 / (1 - p))`, so 90 %, 99 %, 99.9 % … are evenly spaced)
//!   and a log-scaled latency axis (a tail 1000 times the median stays on
//!   the page without flattening the median);
//! - every metric that carries a `series` (throughput per sampling period,
//!   memory samples) as a line over time.
//!
//! Lines differ by colour and, past the eighth, by dash pattern as well;
//! each legend key is drawn with its line's colour and dash.

use std::fmt::Write as _;

use super::junit::xml as esc;
use super::model::{MetricReport, RunReport, ScenarioReport, Status, ThresholdResult};
use super::units::{self, Quantity};
use crate::metrics::{Distribution, Unit};

const WIDTH: f64 = 760.0;
/// Height of the plot area plus margins; a longer legend makes a plot taller.
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 200.0;
/// Longest legend label; longer names are cut (the full name is its tooltip).
const LEGEND_CHARS: usize = 24;
/// Vertical distance between legend entries.
const LEGEND_ROW: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;
const STROKE_WIDTH: f64 = 2.0;
/// Line colours, in order; past the eighth line the dash tells lines apart.
const COLOURS: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
];
/// `stroke-dasharray` of each round of the colours: lines 1–8 solid, 9–16
/// dashed, 17–24 dotted, …, so no two of the first 40 lines look alike.
const DASHES: [Option<&str>; 5] = [
    None,
    Some("8 4"),
    Some("2 3"),
    Some("10 3 2 3"),
    Some("16 4"),
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

fn observed(t: &ThresholdResult, s: &ScenarioReport) -> String {
    match (t.observed, &t.error) {
        (_, Some(e)) => e.clone(),
        (Some(v), None) => Quantity::of_threshold(t, s).format(v),
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
                esc(&observed(t, s)),
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
            let q = Quantity::of_metric(m);
            let f = |v: f64| esc(&q.format(v));
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

/// One plot per quantity holding every histogram of that quantity.
fn latency_plots(out: &mut String, s: &ScenarioReport) {
    let mut by_quantity: Vec<(Quantity, Vec<Line>)> = Vec::new();
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
        let q = Quantity::of_metric(m);
        match by_quantity.iter_mut().find(|(k, _)| *k == q) {
            Some((_, lines)) => lines.push((m.name.clone(), curve)),
            None => by_quantity.push((q, vec![(m.name.clone(), curve)])),
        }
    }
    for (quantity, lines) in by_quantity {
        out.push_str(&percentile_plot(&s.name, quantity, &lines));
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

fn percentile_plot(scenario: &str, quantity: Quantity, lines: &[Line]) -> String {
    let finite_max = lines
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|&(p, _)| nines(p)))
        .filter(|x| x.is_finite())
        .fold(2.0f64, f64::max);
    // The 100th percentile sits half a decade past the last finite tick.
    let x_max = finite_max.ceil() + 0.5;
    let values = || {
        lines
            .iter()
            .flat_map(|(_, pts)| pts.iter().map(|&(_, v)| v))
    };
    let mut x_ticks: Vec<(f64, String)> = vec![(0.0, "0%".into())];
    for k in 1..=(finite_max.ceil() as i32) {
        let p = 100.0 - 100.0 / 10f64.powi(k);
        x_ticks.push((f64::from(k), format!("{}%", trim(p))));
    }
    x_ticks.push((x_max, "max".into()));
    let plotted: Vec<Line> = lines
        .iter()
        .map(|(name, pts)| {
            let pts = pts.iter().map(|&(p, v)| (nines(p).min(x_max), v)).collect();
            (name.clone(), pts)
        })
        .collect();
    let what = match quantity {
        Quantity::Plain(Unit::Nanoseconds) => "latency",
        Quantity::Plain(Unit::Bytes) => "size",
        _ => "value",
    };
    chart(&Chart {
        class: "plot plot-latency",
        title: format!("{scenario}: {what} by percentile (log scales)"),
        x_label: "percentile".into(),
        x_range: (0.0, x_max),
        x_ticks,
        y_axis: YAxis::log(
            values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min),
            values().fold(0.0, f64::max),
        ),
        quantity,
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
    let quantity = Quantity::of_metric(m);
    let kind = match quantity {
        Quantity::Plain(Unit::Bytes) => "plot-memory",
        Quantity::Plain(Unit::OpsPerSecond) | Quantity::BytesPerSecond => "plot-throughput",
        _ => "plot-other",
    };
    chart(&Chart {
        class: &format!("plot plot-series {kind}"),
        title: format!("{} over time", m.name),
        x_label: "time since the scenario started".into(),
        x_range: (0.0, x_max),
        x_ticks,
        y_axis: YAxis::linear(y_max),
        quantity,
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
    y_axis: YAxis,
    quantity: Quantity,
    lines: Vec<Line>,
}

/// The value axis: where a value is drawn (0 at the bottom, 1 at the top)
/// and which values are labelled.
#[derive(Debug, PartialEq)]
enum YAxis {
    /// From 0 to `top`, labelled every `step`.
    Linear { top: f64, step: f64 },
    /// From `low` to `high` (both > 0) on a log scale, labelled at `ticks`.
    Log {
        low: f64,
        high: f64,
        ticks: Vec<f64>,
    },
}

impl YAxis {
    fn linear(max: f64) -> Self {
        let step = nice_step(max / 5.0);
        let top = if max > 0.0 {
            (max / step).ceil() * step
        } else {
            1.0
        };
        YAxis::Linear { top, step }
    }

    /// A log axis from the 1-2-5 step at or below `min` to the one at or
    /// above `max`, labelled at every 1-2-5 step when it spans at most three
    /// decades, else at every power of ten.
    fn log(min: f64, max: f64) -> Self {
        if !(min.is_finite() && max.is_finite() && min > 0.0) {
            return YAxis::Log {
                low: 1.0,
                high: 10.0,
                ticks: vec![1.0, 2.0, 5.0, 10.0],
            };
        }
        let low = step_125(min, false);
        let mut high = step_125(max.max(min), true);
        if high <= low {
            high = step_125(low * 1.01, true);
        }
        let fine = (high / low).log10() <= 3.0 + 1e-9;
        let mut ticks = Vec::new();
        let mut decade = 10f64.powi(low.log10().floor() as i32);
        while decade <= high * (1.0 + 1e-9) {
            for m in [1.0, 2.0, 5.0] {
                let v = decade * m;
                if v >= low * (1.0 - 1e-9) && v <= high * (1.0 + 1e-9) && (fine || m == 1.0) {
                    ticks.push(v);
                }
            }
            decade *= 10.0;
        }
        YAxis::Log { low, high, ticks }
    }

    /// `v`'s height as a fraction of the plot (values off a log axis's
    /// range are drawn at its edge).
    fn fraction(&self, v: f64) -> f64 {
        match self {
            YAxis::Linear { top, .. } => v / top,
            YAxis::Log { low, high, .. } => {
                let v = v.clamp(*low, *high);
                (v / low).log10() / (high / low).log10()
            }
        }
    }

    fn ticks(&self) -> Vec<f64> {
        match self {
            YAxis::Linear { top, step } => {
                let mut out = Vec::new();
                let mut y = 0.0;
                while y <= top + step * 1e-9 {
                    out.push(y);
                    y += step;
                }
                out
            }
            YAxis::Log { ticks, .. } => ticks.clone(),
        }
    }
}

/// The nearest value of the 1, 2, 5, 10, 20 … sequence at or below `v`
/// (`up`: at or above).
fn step_125(v: f64, up: bool) -> f64 {
    let decade = 10f64.powi(v.log10().floor() as i32);
    let candidates = [1.0, 2.0, 5.0, 10.0].map(|m| decade * m);
    let eps = 1e-9 * v;
    if up {
        candidates
            .into_iter()
            .find(|&c| c >= v - eps)
            .unwrap_or(decade * 10.0)
    } else {
        candidates
            .into_iter()
            .rev()
            .find(|&c| c <= v + eps)
            .unwrap_or(decade)
    }
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

/// The stroke of the `i`-th line: its colour and its dash pattern, as SVG
/// attributes.
fn stroke(i: usize) -> String {
    let colour = COLOURS[i % COLOURS.len()];
    match DASHES[(i / COLOURS.len()) % DASHES.len()] {
        Some(dash) => format!("stroke=\"{colour}\" stroke-dasharray=\"{dash}\""),
        None => format!("stroke=\"{colour}\""),
    }
}

fn chart(c: &Chart) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    // Every legend entry gets its row; a long legend makes the plot taller.
    let height = HEIGHT.max(TOP + 8.0 + c.lines.len() as f64 * LEGEND_ROW);
    let (x0, x1) = c.x_range;
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0).max(f64::MIN_POSITIVE) * plot_w;
    let sy = |y: f64| TOP + plot_h - c.y_axis.fraction(y) * plot_h;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        c.class,
        esc(&c.title)
    );
    let _ = writeln!(
        svg,
        "<text class=\"title\" x=\"{LEFT}\" y=\"16\">{}</text>",
        esc(&c.title)
    );
    // Horizontal grid and y labels.
    for y in c.y_axis.ticks() {
        let py = sy(y);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\"/><text class=\"y-tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            py + 4.0,
            esc(&c.quantity.format(y))
        );
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
        TOP + plot_h + BOTTOM - 6.0,
        esc(&c.x_label)
    );
    for (i, (name, pts)) in c.lines.iter().enumerate() {
        let stroke = stroke(i);
        let points: Vec<String> = pts
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline class=\"line\" data-metric=\"{}\" fill=\"none\" {stroke} stroke-width=\"{STROKE_WIDTH}\" points=\"{}\"/>",
            esc(name),
            points.join(" ")
        );
        let ly = TOP + 8.0 + i as f64 * LEGEND_ROW;
        let lx = LEFT + plot_w + 12.0;
        let _ = writeln!(
            svg,
            "<line class=\"legend-key\" data-metric=\"{}\" x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" {stroke} stroke-width=\"{STROKE_WIDTH}\"/><text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\"><title>{}</title>{}</text>",
            esc(name),
            lx + 26.0,
            lx + 31.0,
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

    #[test]
    fn the_latency_axis_is_logarithmic_between_1_2_5_steps() {
        // 40 µs to 90 µs: from 20 µs to 100 µs, labelled at 20, 50, 100 µs.
        let axis = YAxis::log(40_000.0, 90_000.0);
        let YAxis::Log { low, high, ticks } = &axis else {
            panic!("{axis:?}")
        };
        assert_eq!((*low, *high), (20_000.0, 100_000.0));
        assert_eq!(ticks, &[20_000.0, 50_000.0, 100_000.0]);
        // Equal ratios, equal distances: 20 → 40 µs as far as 50 → 100 µs.
        let d1 = axis.fraction(40_000.0) - axis.fraction(20_000.0);
        let d2 = axis.fraction(100_000.0) - axis.fraction(50_000.0);
        assert!((d1 - d2).abs() < 1e-9, "{d1} {d2}");
        assert_eq!(axis.fraction(20_000.0), 0.0);
        assert!((axis.fraction(100_000.0) - 1.0).abs() < 1e-12);
        // Off the range: drawn at the edge.
        assert_eq!(axis.fraction(1.0), 0.0);

        // 1 µs to 2 s spans more than three decades: powers of ten only.
        let YAxis::Log { ticks, .. } = YAxis::log(1_000.0, 2e9) else {
            unreachable!()
        };
        assert_eq!(ticks, [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]);
        // One value: still a range.
        let YAxis::Log { low, high, .. } = YAxis::log(2_000.0, 2_000.0) else {
            unreachable!()
        };
        assert_eq!((low, high), (2_000.0, 5_000.0));
    }

    #[test]
    fn lines_past_the_eighth_differ_by_dash() {
        let strokes: Vec<String> = (0..40).map(stroke).collect();
        let distinct: std::collections::BTreeSet<&String> = strokes.iter().collect();
        assert_eq!(distinct.len(), 40);
        assert_eq!(strokes[0], "stroke=\"#2563eb\"");
        assert_eq!(strokes[8], "stroke=\"#2563eb\" stroke-dasharray=\"8 4\"");
        assert!(strokes[..8].iter().all(|s| !s.contains("dasharray")));
        assert!(strokes[8..].iter().all(|s| s.contains("dasharray")));
    }
}
