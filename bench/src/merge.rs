//! `rigor merge` at scale: 100 shard reports of a catalog-sized run (the
//! catalog's 14 scenarios, each with 8 latency histograms, throughput and
//! error-rate gauges, a counter, checks and thresholds) read, merged and
//! written as JSON; the time and the peak memory of that, and the merged p99
//! next to the p99 of one histogram holding every sample.

use std::time::Instant;

use anyhow::{Context, Result};
use rigor::metrics::{Direction, Distribution, Unit};
use rigor::report::merge::{ShardReport, merge};
use rigor::report::model::{
    CheckResult, MetricReport, RunIdentity, RunReport, RunSummary, SCHEMA, ScenarioReport,
    ScenarioShard, ShardInfo, Status, ThresholdResult, ThresholdSource,
};
use rigor::shard::ShardMode;

const SHARDS: u32 = 100;
const SCENARIOS: usize = 14;
const HISTOGRAMS: usize = 8;
const SAMPLES: u64 = 2_000;

/// A deterministic latency: a long-tailed spread over 50 µs..50 ms.
fn latency(shard: u32, scenario: usize, h: usize, i: u64) -> u64 {
    let mut z = u64::from(shard) << 40 ^ (scenario as u64) << 32 ^ (h as u64) << 24 ^ i;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
    (50_000.0 * (1000f64).powf(u.powi(3))) as u64
}

fn shard_report(shard: u32, all: &mut [Distribution]) -> RunReport {
    let identity = RunIdentity {
        id: "bench".into(),
        seed: 1,
        plan_digest: format!("sha256:{}", "0".repeat(64)),
        catalog_digest: None,
        shard: Some(ShardInfo {
            index: shard,
            count: SHARDS,
        }),
        wasmtime_version: "48.0.8".into(),
        cpu_model: None,
        kernel: None,
        start_at: None,
        start_late_ms: None,
        deferred: true,
        replay_of: None,
    };
    let scenarios: Vec<ScenarioReport> = (0..SCENARIOS)
        .map(|i| {
            let mut s = ScenarioReport::skipped(
                &format!("scenario-{i}"),
                "s.wasm",
                Default::default(),
                String::new(),
            );
            s.status = Status::Passed;
            s.skip_reason = None;
            s.duration_ms = 1000.0;
            s.started_at = Some("2026-01-01T00:00:00.000Z".into());
            s.shard = Some(ScenarioShard {
                mode: ShardMode::Split,
                seed: "0000000000000001".into(),
            });
            for h in 0..HISTOGRAMS {
                let mut d = Distribution::new();
                for k in 0..SAMPLES {
                    d.record(latency(shard, i, h, k));
                }
                all[i * HISTOGRAMS + h].merge(&d);
                s.metrics.push(MetricReport {
                    name: format!("op{h}"),
                    kind: "histogram".into(),
                    unit: Unit::Nanoseconds,
                    direction: Some(Direction::LowerIsBetter),
                    significance_level: None,
                    summary: Some(d.summary()),
                    value: None,
                    histogram: Some(d.to_base64()),
                    series: Vec::new(),
                });
            }
            for (name, unit, value) in [
                ("op.throughput", Unit::OpsPerSecond, 5000.0),
                ("op.error-rate", Unit::Ratio, 0.001),
                ("op.errors", Unit::Count, 3.0),
            ] {
                s.metrics.push(MetricReport {
                    name: name.into(),
                    kind: if unit == Unit::Count {
                        "counter"
                    } else {
                        "gauge"
                    }
                    .into(),
                    unit,
                    direction: None,
                    significance_level: None,
                    summary: None,
                    value: Some(value),
                    histogram: None,
                    series: (0..20).map(|t| [f64::from(t) * 0.5, value]).collect(),
                });
            }
            for (metric, expression) in [
                ("op0", "p(99) < 100ms"),
                ("op1", "avg < 10ms"),
                ("op.error-rate", "value < 0.01"),
            ] {
                s.thresholds.push(ThresholdResult {
                    metric: metric.into(),
                    expression: expression.into(),
                    source: ThresholdSource::Catalog,
                    passed: true,
                    observed: Some(1.0),
                    limit: Some(2.0),
                    unit: None,
                    error: None,
                    overrides: Vec::new(),
                    shards: Vec::new(),
                });
            }
            s.checks.push(CheckResult {
                name: "every operation answered".into(),
                passed: true,
                detail: "ok".into(),
                passes: 100,
                fails: 0,
                failure_details: Vec::new(),
            });
            s
        })
        .collect();
    RunReport {
        schema: SCHEMA.into(),
        rigor_version: "bench".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 14_000.0,
        host: rigor::report::model::HostInfo {
            hostname: "bench".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpus: 2,
            memory_bytes: 0,
        },
        partial: false,
        summary: RunSummary::from_scenarios(&scenarios),
        scenarios,
        run: Some(identity),
        merge: None,
        run_id: None,
        outputs: Vec::new(),
    }
}

/// This process's peak resident set (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

pub fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut all: Vec<Distribution> = (0..SCENARIOS * HISTOGRAMS)
        .map(|_| Distribution::new())
        .collect();
    let mut files = Vec::new();
    let mut bytes = 0u64;
    for shard in 1..=SHARDS {
        let path = dir.path().join(format!("shard-{shard}.json"));
        let text = rigor::report::json::render(&shard_report(shard, &mut all));
        bytes += text.len() as u64;
        std::fs::write(&path, text)?;
        files.push(path);
    }
    println!(
        "  {SHARDS} shard reports: {SCENARIOS} scenarios × {HISTOGRAMS} histograms of {SAMPLES} samples each, {:.1} MiB of JSON",
        bytes as f64 / (1 << 20) as f64
    );
    // Resets the peak resident set to the current one (Linux ≥ 4.0), so the
    // figure below is the merge's own peak, not the generation's.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = peak_rss_mib();
    let t = Instant::now();
    let shards = files
        .iter()
        .zip(rigor::shard::replay::read_reports(&files))
        .map(|(p, report)| {
            let report = report.map_err(anyhow::Error::msg)?;
            Ok(ShardReport {
                file: p.display().to_string(),
                report,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = merge(shards, false).context("merging")?;
    let out = rigor::report::json::render(&merged);
    std::fs::write(dir.path().join("merged.json"), &out)?;
    let elapsed = t.elapsed();
    let peak = peak_rss_mib();
    println!(
        "  read + merge + write JSON: {:.3} s (target < 1 s)",
        elapsed.as_secs_f64()
    );
    match (reset, before, peak) {
        (true, Some(b), Some(p)) => println!(
            "  peak resident memory during the merge: {p:.1} MiB (process at start {b:.1} MiB; target < 200 MiB)"
        ),
        _ => println!(
            "  peak resident memory: not measurable here (/proc/self/clear_refs unavailable)"
        ),
    }
    // The merged p99 against one histogram of every sample.
    let mut identical = 0;
    let mut worst = 0.0f64;
    for (i, s) in merged.scenarios.iter().enumerate() {
        for h in 0..HISTOGRAMS {
            let m = s.metric(&format!("op{h}")).context("merged metric")?;
            let p99 = m.summary.as_ref().context("summary")?.p99;
            let whole = all[i * HISTOGRAMS + h].value_at_quantile(0.99);
            if p99 == whole {
                identical += 1;
            }
            worst = worst.max((p99 as f64 - whole as f64).abs() / whole as f64);
        }
    }
    println!(
        "  merged p99 = unsharded p99 in {identical} of {} histograms (largest relative difference {worst:.2e}; HDR precision 1e-3)",
        SCENARIOS * HISTOGRAMS
    );
    Ok(())
}
