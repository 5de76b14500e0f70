//! The cost of what runs while a scenario runs (progress reporting, the
//! `abort-on-fail` check) next to the bare operation it adds to, and the time
//! to render each report format for a catalog-sized run.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Result;
use rigor::events::ProgressSink;
use rigor::metrics::{Distribution, Recorder, Unit};
use rigor::report::model::{
    MetricReport, RunReport, RunSummary, SCHEMA, ScenarioReport, Status, ThresholdResult,
    ThresholdSource,
};
use rigor::report::{console, html, json, junit, markdown};
use rigor::thresholds::{AbortWatch, parse};

const ROUNDS: usize = 5;
const CALLS: u64 = 10_000_000;

/// Median over `ROUNDS` of the nanoseconds per call of `f` run `calls` times.
fn ns_per_call(calls: u64, mut f: impl FnMut()) -> f64 {
    crate::median((0..ROUNDS).map(|_| {
        let t = Instant::now();
        for _ in 0..calls {
            f();
        }
        t.elapsed().as_nanos() as f64 / calls as f64
    }))
}

fn ms(f: impl Fn() -> String) -> (f64, usize) {
    let mut len = 0;
    let t = crate::median((0..ROUNDS).map(|_| {
        let t = Instant::now();
        len = black_box(f()).len();
        t.elapsed().as_secs_f64() * 1e3
    }));
    (t, len)
}

fn row(what: &str, rigor: f64, reference: Option<(&str, f64)>, unit: &str) {
    match reference {
        Some((name, r)) => println!(
            "  {what:<44} {rigor:>9.2} {unit}   {name:<26} {r:>9.2} {unit}   ratio {:>5.2}",
            rigor / r
        ),
        None => println!("  {what:<44} {rigor:>9.2} {unit}"),
    }
}

/// A run of 10 scenarios with 8 latency histograms of 10,000 samples each.
fn big_report() -> RunReport {
    let scenarios: Vec<ScenarioReport> = (0..10)
        .map(|i| {
            let mut s = ScenarioReport::skipped(
                &format!("scenario-{i}"),
                "s.wasm",
                Default::default(),
                String::new(),
            );
            s.status = Status::Passed;
            s.skip_reason = None;
            for m in 0..8u64 {
                let mut d = Distribution::new();
                for v in 0..10_000u64 {
                    d.record(30_000 + (v * 7_919 + m * 131) % 200_000);
                }
                let name = format!("op{m}.100B");
                s.thresholds.push(ThresholdResult {
                    metric: name.clone(),
                    expression: "p(99) < 1ms".into(),
                    source: ThresholdSource::Catalog,
                    passed: true,
                    observed: Some(d.summary().p99 as f64),
                    limit: Some(1e6),
                    unit: Some(Unit::Nanoseconds),
                    error: None,
                    overrides: Vec::new(),
                    shards: Vec::new(),
                });
                s.metrics.push(MetricReport {
                    name,
                    kind: "histogram".into(),
                    unit: Unit::Nanoseconds,
                    direction: None,
                    significance_level: None,
                    summary: Some(d.summary()),
                    value: None,
                    histogram: Some(d.to_base64()),
                    series: Vec::new(),
                });
            }
            s
        })
        .collect();
    RunReport {
        schema: SCHEMA.into(),
        rigor_version: "bench".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 1.0,
        host: rigor::report::model::HostInfo {
            hostname: "bench".into(),
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

pub fn run() -> Result<()> {
    println!("  (medians of {ROUNDS} rounds)");
    // Progress: one call per operation in a probe's hot loop.
    let sink = ProgressSink::detached();
    sink.phase("bench", Some(CALLS));
    let advance = ns_per_call(CALLS, || sink.advance(black_box(1)));
    let bare = Arc::new(AtomicU64::new(0));
    let fetch_add = ns_per_call(CALLS, || {
        bare.fetch_add(black_box(1), Ordering::Relaxed);
    });
    row(
        "progress: advance(1)",
        advance,
        Some(("AtomicU64::fetch_add", fetch_add)),
        "ns",
    );

    // abort-on-fail: the engine asks every epoch tick; most calls are not due.
    let mut recorder = Recorder::new();
    let h = recorder.histogram("get", Unit::Nanoseconds)?;
    for v in 0..100_000u64 {
        recorder.record(h, 40_000 + v % 50_000);
    }
    let expr = parse("p(99) < 1s, abort-on-fail")?;
    let mut watch = AbortWatch::new([("get", &expr, ThresholdSource::Cli)]);
    let _ = watch.abort_now(&recorder);
    let not_due = ns_per_call(CALLS, || {
        black_box(watch.abort_now(&recorder));
    });
    let now = ns_per_call(CALLS, || {
        black_box(Instant::now());
    });
    row(
        "abort-on-fail: check, not due",
        not_due,
        Some(("Instant::now()", now)),
        "ns",
    );
    let evals = 2_000;
    let due = ns_per_call(evals, || {
        black_box(watch.check_now(&recorder));
    }) / 1e3;
    let summary = match &recorder.get("get").unwrap().data {
        rigor::metrics::MetricData::Histogram(d) => d.clone(),
        _ => unreachable!("a histogram was recorded"),
    };
    let bare_summary = ns_per_call(evals, || {
        black_box(summary.summary());
    }) / 1e3;
    row(
        "abort-on-fail: one evaluation (100k samples)",
        due,
        Some(("Distribution::summary()", bare_summary)),
        "µs",
    );
    let per_second = due * 1e-6 / (rigor::thresholds::watch::CHECK_EVERY.as_secs_f64());
    println!(
        "  abort-on-fail share of one core, evaluated every {:?}: {:.4}%",
        rigor::thresholds::watch::CHECK_EVERY,
        per_second * 100.0
    );

    // Writers, for 10 scenarios × 8 histograms of 10,000 samples.
    let report = big_report();
    let (json_ms, json_len) = ms(|| json::render(&report));
    row("render JSON", json_ms, None, "ms");
    for (name, f) in [
        (
            "render console",
            (|r: &RunReport| console::render(r, false)) as fn(&RunReport) -> String,
        ),
        ("render Markdown", markdown::render),
        ("render JUnit", junit::render),
        ("render HTML (80 decoded histograms)", html::render),
    ] {
        let (t, _) = ms(|| f(&report));
        row(name, t, Some(("render JSON", json_ms)), "ms");
    }
    println!("  JSON report size: {} KiB", json_len / 1024);
    Ok(())
}
