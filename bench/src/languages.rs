//! Per guest language (Rust, Python, JavaScript), the same tiny scenario
//! (`bench/languages/*`): component size, cold compile time in the host,
//! warm start (load from the compiled-component cache, instantiate, run an
//! empty `run`), and the guest→host call overhead of a loop of `clock.now`
//! calls, timed from the host as (run with N calls − run with 0) / N.
//! Rust is the reference each language is compared with.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rigor::build::{BuildSource, build_sources};
use rigor::catalog::Source;
use rigor::engine::{Engine, Limits, LoadedComponent, RunSetup};
use rigor::probes::Capabilities;

const COLD_COMPILES: usize = 2;
const WARM_STARTS: usize = 20;
const CALL_ROUNDS: usize = 5;
const CALLS: u64 = 200_000;

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
    ];
    let started = Instant::now();
    let built = build_sources(&sources)?;
    println!(
        "built the three guests in {:.1} s (toolchains cached)\n",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for language in ["rust", "python", "js"] {
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
