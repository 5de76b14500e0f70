//! Virtual users: density and overhead, with the product's own metrics.
//!
//! 1. Density: `constant-vus` at 1,000 / 10,000 / 50,000 Rust VUs, each
//!    iteration one pooled Redis GET and a 1 s sleep: RSS per VU
//!    (`vus.memory-per-vu-bytes`: peak RSS over the run minus RSS before the
//!    VUs, divided by the most VUs), instantiation p50/p99
//!    (`vus.instantiate`), iterations.
//!    The same at 1,000 Python and 1,000 JavaScript VUs.
//! 2. Overhead: one VU running `ITERATIONS` iterations of one pooled GET
//!    against a host-native loop doing the same GETs on one link, and of an
//!    empty iteration: what the executor and the instance add per iteration.
//!
//! k6 and Locust are not installable here (no package registry ships
//! them); their published per-VU figures are quoted in docs/benchmarks.md.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rigor::build::{BuildSource, RustSource, build_rust, build_sources};
use rigor::catalog::Source;
use rigor::engine::{Engine, RunOutcome};
use rigor::metrics::MetricData;
use rigor::probes::redis::{RedisLink, RedisUrl};
use rigor::services::redis_server::ManagedRedis;
use rigor::vu::{ExecutorConfig, ExecutorKind};

const DENSITY: &[(u32, u64)] = &[(1_000, 6), (10_000, 12), (50_000, 20)];
/// VUs and seconds of the Python and JavaScript rows.
const OTHER_LANGUAGES: (u32, u64) = (1_000, 6);
const ITERATIONS: u64 = 20_000;
const ROUNDS: usize = 3;

pub fn run() -> Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ sits in the repository")?
        .to_owned();
    let built = build_rust(&[RustSource {
        name: "bench-vu".into(),
        dir: repo.join("bench/vu-guest"),
        crate_name: "bench-vu-guest".into(),
    }])?;
    let wasm = built
        .get("bench-vu")
        .context("VU guest was not built")?
        .clone();
    let redis = ManagedRedis::start()?;
    let cache = tempfile::tempdir()?;
    let engine = Engine::new(Some(cache.path().to_owned()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    let started = Instant::now();
    let others = build_sources(&[
        BuildSource {
            name: "python".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::Python,
                dir: repo.join("bench/vu-languages/python"),
            },
        },
        BuildSource {
            name: "js".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::Js,
                dir: repo.join("bench/vu-languages/js"),
            },
        },
    ])?;
    println!(
        "built the Python and JavaScript VU guests in {:.1} s (toolchains cached)\n",
        started.elapsed().as_secs_f64()
    );
    let mut rows: Vec<(&str, &Path, u32, u64)> = DENSITY
        .iter()
        .map(|&(v, s)| ("rust", wasm.as_path(), v, s))
        .collect();
    for language in ["python", "js"] {
        let path = others
            .get(language)
            .with_context(|| format!("{language} VU guest was not built"))?;
        rows.push((
            language,
            path.as_path(),
            OTHER_LANGUAGES.0,
            OTHER_LANGUAGES.1,
        ));
    }

    println!("Density: constant-vus, each iteration one pooled Redis GET + 1 s sleep");
    println!(
        "{:<8} {:>7} {:>6} {:>14} {:>16} {:>16} {:>11} {:>10}",
        "language",
        "VUs",
        "secs",
        "RSS/VU KiB",
        "instantiate p50",
        "instantiate p99",
        "iterations",
        "failed"
    );
    for (language, path, vus, secs) in rows {
        let executor = ExecutorConfig {
            kind: ExecutorKind::ConstantVus {
                vus,
                duration: Duration::from_secs(secs),
            },
            graceful_stop: Duration::from_secs(5),
        };
        let outcome = run_vus(&runtime, &engine, path, &redis, &executor, "get-sleep")?;
        let per_vu = gauge(&outcome, "vus.memory-per-vu-bytes")?;
        let (p50, p99) = percentiles(&outcome, "vus.instantiate")?;
        println!(
            "{:<8} {:>7} {:>6} {:>14.1} {:>13.1} µs {:>13.1} µs {:>11} {:>10}",
            language,
            vus,
            secs,
            per_vu / 1024.0,
            p50 / 1e3,
            p99 / 1e3,
            counter(&outcome, "iterations")?,
            counter(&outcome, "iterations.failed")?,
        );
    }

    println!(
        "\nOverhead per iteration: 1 VU × {ITERATIONS} iterations vs a host-native loop, median of {ROUNDS}"
    );
    let one_vu = ExecutorConfig {
        kind: ExecutorKind::SharedIterations {
            vus: 1,
            iterations: ITERATIONS,
            max_duration: Duration::from_secs(600),
        },
        graceful_stop: Duration::from_secs(5),
    };
    let url = RedisUrl::parse(&redis.url())?;
    let mut vu_get = Vec::new();
    let mut vu_empty = Vec::new();
    let mut native = Vec::new();
    for _ in 0..ROUNDS {
        vu_get.push(iteration_ns(
            &runtime, &engine, &wasm, &redis, &one_vu, "get",
        )?);
        vu_empty.push(iteration_ns(
            &runtime, &engine, &wasm, &redis, &one_vu, "empty",
        )?);
        native.push(runtime.block_on(native_gets(&url))?);
    }
    let (get, empty, native) = (
        crate::median(vu_get),
        crate::median(vu_empty),
        crate::median(native),
    );
    println!("{:<40} {:>12}", "", "ns/iteration");
    println!("{:<40} {:>12.0}", "VU: one pooled GET", get);
    println!(
        "{:<40} {:>12.0}",
        "host-native loop: one GET on one link", native
    );
    println!(
        "{:<40} {:>12.0}",
        "difference (VU overhead with a call)",
        get - native
    );
    println!("{:<40} {:>12.0}", "VU: empty iteration", empty);
    Ok(())
}

fn run_vus(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine,
    wasm: &Path,
    redis: &ManagedRedis,
    executor: &ExecutorConfig,
    mode: &str,
) -> Result<RunOutcome> {
    let component = engine.load(wasm, Some(executor))?;
    let setup = crate::setup(redis, &[("mode", mode), ("sleep-ms", "1000")])?;
    let outcome = runtime.block_on(engine.run(&component, setup, std::future::pending()));
    if let Err(e) = &outcome.result {
        bail!("VU bench run failed: {}", e.message);
    }
    Ok(outcome)
}

/// Wall time of the executor per iteration (`iterations.rate` is the
/// iterations over the executor's whole run, its scheduling included).
fn iteration_ns(
    runtime: &tokio::runtime::Runtime,
    engine: &Engine,
    wasm: &Path,
    redis: &ManagedRedis,
    executor: &ExecutorConfig,
    mode: &str,
) -> Result<f64> {
    let outcome = run_vus(runtime, engine, wasm, redis, executor, mode)?;
    if counter(&outcome, "iterations")? != ITERATIONS {
        bail!(
            "the VU ran {} iterations, not {ITERATIONS}",
            counter(&outcome, "iterations")?
        );
    }
    Ok(1e9 / gauge(&outcome, "iterations.rate")?)
}

/// The same GETs from a plain host loop on one link.
async fn native_gets(url: &RedisUrl) -> Result<f64> {
    let mut link = RedisLink::connect(url, Duration::from_secs(5)).await?;
    let started = Instant::now();
    for i in 0..ITERATIONS {
        let key = format!("bench:vu:{}", (i % 1024) + 1);
        link.request(&[b"GET", key.as_bytes()]).await?;
    }
    Ok(started.elapsed().as_nanos() as f64 / ITERATIONS as f64)
}

fn gauge(outcome: &RunOutcome, name: &str) -> Result<f64> {
    match outcome.recorder.get(name).map(|m| &m.data) {
        Some(MetricData::Gauge(v)) => Ok(*v),
        _ => bail!("gauge `{name}` missing"),
    }
}

fn counter(outcome: &RunOutcome, name: &str) -> Result<u64> {
    match outcome.recorder.get(name).map(|m| &m.data) {
        Some(MetricData::Counter(v)) => Ok(*v),
        _ => bail!("counter `{name}` missing"),
    }
}

fn percentiles(outcome: &RunOutcome, name: &str) -> Result<(f64, f64)> {
    match outcome.recorder.get(name).map(|m| &m.data) {
        Some(MetricData::Histogram(d)) => {
            let s = d.summary();
            Ok((s.p50 as f64, s.p99 as f64))
        }
        _ => bail!("histogram `{name}` missing"),
    }
}
