//! Per guest language (Rust, Python, JavaScript, C, Zig), the same tiny scenario
//! (`bench/languages/*`): component size, cold compile time in the host,
//! warm start (load from the compiled-component cache, instantiate, run an
//! empty `run`), and the guest→host call overhead of a loop of `clock.now`
//! calls, timed from the host as (run with N calls − run with 0) / N.
//! Rust is the reference each language is compared with. For C and Zig
//! also 20,000 timed Redis GETs of one 100 B value driven from the guest,
//! against the host-native load doing the same on one connection.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rigor::build::{BuildSource, build_sources};
use rigor::catalog::Source;
use rigor::engine::{Engine, Limits, LoadedComponent, RunSetup};
use rigor::metrics::MetricData;
use rigor::probes::Capabilities;
use rigor::probes::redis::RedisUrl;
use rigor::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};
use rigor::services::redis_server::ManagedRedis;

const COLD_COMPILES: usize = 2;
const WARM_STARTS: usize = 20;
const CALL_ROUNDS: usize = 5;
const CALLS: u64 = 200_000;
const GETS: u64 = 20_000;
const GET_ROUNDS: usize = 3;

struct Figures {
    language: &'static str,
    size_bytes: u64,
    cold_compile: Duration,
    cache_load: Duration,
    warm_start: Duration,
    ns_per_call: f64,
}

pub fn run() -> Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ sits in the repository")?
        .to_owned();
    let dir = |lang: &str| repo.join("bench/languages").join(lang);
    let sources = vec![
        BuildSource {
            name: "rust".into(),
            source: Source::Rust {
                dir: dir("rust"),
                crate_name: "bench-lang-rust".into(),
            },
        },
        BuildSource {
            name: "python".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::Python,
                dir: dir("python"),
            },
        },
        BuildSource {
            name: "js".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::Js,
                dir: dir("js"),
            },
        },
        BuildSource {
            name: "c".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::C,
                dir: dir("c"),
            },
        },
        BuildSource {
            name: "zig".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::Zig,
                dir: dir("zig"),
            },
        },
    ];
    let started = Instant::now();
    let built = build_sources(&sources)?;
    println!(
        "built the guests in {:.1} s (toolchains cached)\n",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for language in ["rust", "python", "js", "c", "zig"] {
        let path = built
            .get(language)
            .with_context(|| format!("{language} guest was not built"))?;
        rows.push(measure(&runtime, language, path)?);
    }

    let rust = &rows[0];
    println!(
        "{:<8} {:>12} {:>10} {:>16} {:>8} {:>14} {:>8} {:>14} {:>8} {:>10} {:>8}",
        "language",
        "size",
        "× rust",
        "cold compile s",
        "× rust",
        "cache load ms",
        "× rust",
        "warm start ms",
        "× rust",
        "ns/call",
        "× rust"
    );
    for r in &rows {
        println!(
            "{:<8} {:>9.1} KB {:>10.1} {:>16.2} {:>8.1} {:>14.2} {:>8.1} {:>14.2} {:>8.1} {:>10.0} {:>8.1}",
            r.language,
            r.size_bytes as f64 / 1e3,
            r.size_bytes as f64 / rust.size_bytes as f64,
            r.cold_compile.as_secs_f64(),
            r.cold_compile.as_secs_f64() / rust.cold_compile.as_secs_f64(),
            r.cache_load.as_secs_f64() * 1e3,
            r.cache_load.as_secs_f64() / rust.cache_load.as_secs_f64(),
            r.warm_start.as_secs_f64() * 1e3,
            r.warm_start.as_secs_f64() / rust.warm_start.as_secs_f64(),
            r.ns_per_call,
            r.ns_per_call / rust.ns_per_call,
        );
    }
    // The GET loops run on a current-thread runtime, as the Redis bench's
    // boundary comparison does, so both sides pay the same scheduling.
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let redis = ManagedRedis::start()?;
    let reference = build_sources(&[BuildSource {
        name: "rust".into(),
        source: Source::Rust {
            dir: repo.join("bench/guest"),
            crate_name: "bench-guest".into(),
        },
    }])?;
    println!();
    for (language, path) in [
        ("rust", &reference["rust"]),
        ("c", &built["c"]),
        ("zig", &built["zig"]),
    ] {
        let (guest, native) = get_loop(&single, path, &redis)?;
        println!(
            "{language:<8} {GETS} timed GETs of 100 B, one connection: guest-driven {guest:.0} ops/s, \
             host-native {native:.0} ops/s, ratio {:.3} (median of {GET_ROUNDS})",
            guest / native
        );
    }
    println!(
        "\ncold compile: Engine::load without a cache, best of {COLD_COMPILES}; cache load: Engine::load \
         from the compiled-component cache, median of {WARM_STARTS}; warm start: cache load + \
         instantiate + run(calls=0), median of {WARM_STARTS}; ns/call: (run(calls={CALLS}) − \
         run(calls=0)) / {CALLS}, median of {CALL_ROUNDS}"
    );
    Ok(())
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    language: &'static str,
    path: &PathBuf,
) -> Result<Figures> {
    let size_bytes = std::fs::metadata(path)?.len();

    let cold_compile = (0..COLD_COMPILES)
        .map(|_| -> Result<Duration> {
            let engine = Engine::new(None)?;
            let t = Instant::now();
            engine.load(path, None)?;
            Ok(t.elapsed())
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .min()
        .unwrap_or_default();

    let cache = tempfile::tempdir()?;
    let engine = Engine::new(Some(cache.path().to_owned()))?;
    engine.load(path, None)?; // fills the cache
    let mut loads = Vec::new();
    let mut starts = Vec::new();
    for _ in 0..WARM_STARTS {
        let t = Instant::now();
        let component = engine.load(path, None)?;
        loads.push(t.elapsed());
        runtime.block_on(run_calls(&engine, &component, 0))?;
        starts.push(t.elapsed());
    }

    let component = engine.load(path, None)?;
    let mut per_call = Vec::new();
    for _ in 0..CALL_ROUNDS {
        let empty = runtime.block_on(run_calls(&engine, &component, 0))?;
        let full = runtime.block_on(run_calls(&engine, &component, CALLS))?;
        per_call.push(full.saturating_sub(empty).as_nanos() as f64 / CALLS as f64);
    }

    Ok(Figures {
        language,
        size_bytes,
        cold_compile,
        cache_load: crate::median_duration(loads),
        warm_start: crate::median_duration(starts),
        ns_per_call: crate::median(per_call),
    })
}

/// Guest-driven GET loop and host-native load, `GET_ROUNDS` each, run
/// alternately; returns the medians in ops/s.
fn get_loop(
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    redis: &ManagedRedis,
) -> Result<(f64, f64)> {
    let engine = Engine::new(None)?;
    let component = engine.load(path, None)?;
    let url = RedisUrl::parse(&redis.url())?;
    let gets = GETS.to_string();
    let (mut guest, mut native) = (Vec::new(), Vec::new());
    for _ in 0..GET_ROUNDS {
        // The C and Zig guests read `gets`; the Rust bench guest (the
        // reference of docs/benchmarks.md) its `get-loop` mode.
        let setup = crate::setup(
            redis,
            &[
                ("calls", "0"),
                ("gets", &gets),
                ("mode", "get-loop"),
                ("requests", &gets),
                ("value-size", "100"),
            ],
        )?;
        let outcome = runtime.block_on(engine.run(&component, setup, std::future::pending()));
        if let Err(e) = outcome.result {
            anyhow::bail!("the GET loop failed: {}", e.message);
        }
        match outcome.recorder.get("loop.elapsed").map(|m| &m.data) {
            Some(MetricData::Gauge(ns)) => guest.push(GETS as f64 / (ns / 1e9)),
            _ => anyhow::bail!("the guest did not report its loop time"),
        }
        let spec = LoadSpec {
            workers: 1,
            amount: Amount::OpsPerWorker(GETS),
            warmup: Amount::OpsPerWorker(0),
            model: Model::Closed,
            mix: vec![MixEntry {
                name: Op::Get.default_name(),
                op: Op::Get,
                weight: 1,
            }],
            value: vec![b'x'; 100],
            key_prefix: "key:".into(),
            key_count: 1,
            key_pattern: KeyPattern::Uniform,
            pipeline: 1,
            connections: Connections::PerWorker,
            timeout: Duration::from_secs(10),
            threads: 1,
            seed: 1,
            first_worker: 0,
            all_workers: 0,
        };
        let outcome = runtime.block_on(async { load::start(spec, url.clone())?.finish().await })?;
        native.push(outcome.throughput());
    }
    Ok((crate::median(guest), crate::median(native)))
}

/// Instantiates and runs with `calls`; returns the wall time.
async fn run_calls(engine: &Engine, component: &LoadedComponent, calls: u64) -> Result<Duration> {
    let setup = RunSetup {
        params: vec![("calls".into(), calls.to_string())],
        limits: Limits::default(),
        probes: Capabilities::deny_all("bench"),
    };
    let t = Instant::now();
    let outcome = engine.run(component, setup, std::future::pending()).await;
    let elapsed = t.elapsed();
    if let Err(e) = outcome.result {
        anyhow::bail!("the bench guest failed: {}", e.message);
    }
    Ok(elapsed)
}
