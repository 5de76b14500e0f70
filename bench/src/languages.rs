//! Per guest language (Rust, Python, JavaScript, C, Zig, Go), the same tiny scenario
//! (`bench/languages/*`): component size, cold compile time in the host,
//! warm start (load from the compiled-component cache, instantiate, run an
//! empty `run`), and the guest→host call overhead of a loop of `clock.now`
//! calls, timed from the host as (run with N calls − run with 0) / N.
//! Rust is the reference each language is compared with. For the guests
//! that take `gets` (Rust, C, Zig, Go), 20,000 host-timed Redis GETs of one
//! 100 B value driven from the guest, next to the host-native load doing
//! the same on one connection.

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
        BuildSource {
            name: "go".into(),
            source: Source::Folder {
                language: rigor::catalog::Language::Go,
                dir: dir("go"),
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
    for language in ["rust", "python", "js", "c", "zig", "go"] {
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
    println!();
    redis_gets(&built)
}

/// Timed GETs a guest drives, per round.
const GETS: u64 = 20_000;
const GET_ROUNDS: usize = 5;
/// The guests whose bench scenario takes `gets`; Rust is the reference.
const GET_GUESTS: &[&str] = &["rust", "c", "zig", "go"];

/// 20,000 host-timed GETs driven from each guest (`gets`) next to the same
/// GETs issued by host code on the probe's own client: wall time of the
/// loop, and the p50 of the round trips. Alternating rounds, medians.
fn redis_gets(built: &std::collections::BTreeMap<String, PathBuf>) -> Result<()> {
    use rigor::probes::redis::{Client, RedisUrl};
    // The runtime `rigor run` uses, for the guest and the host code alike.
    let runtime = &tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let redis = rigor::services::redis_server::ManagedRedis::start()?;
    let url = RedisUrl::parse(&redis.url())?;
    let native = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    native.block_on(async {
        let mut c = Client::connect(&url, Duration::from_secs(5)).await?;
        c.request(&[b"SET", b"key:0", &[b'x'; 100]]).await?;
        anyhow::Ok(())
    })?;
    println!("{GETS} GETs of a 100 B value on one connection, median of {GET_ROUNDS} rounds");
    println!(
        "{:<8} {:>14} {:>14} {:>12} {:>12} {:>16}",
        "guest", "guest ms", "native ms", "guest p50 µs", "native p50 µs", "native/guest"
    );
    for language in GET_GUESTS {
        let Some(path) = built.get(*language) else {
            continue;
        };
        let cache = tempfile::tempdir()?;
        let engine = Engine::new(Some(cache.path().to_owned()))?;
        let component = engine.load(path, None)?;
        let (mut guest_ms, mut guest_p50, mut native_ms, mut native_p50) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..GET_ROUNDS {
            let run = |gets: u64| -> Result<(Duration, u64)> {
                let gets = gets.to_string();
                let setup = crate::setup(&redis, &[("calls", "0"), ("gets", &gets)])?;
                let outcome =
                    runtime.block_on(engine.run(&component, setup, std::future::pending()));
                if let Err(e) = outcome.result {
                    anyhow::bail!("the {language} bench guest failed: {}", e.message);
                }
                let p50 = match outcome.recorder.get("get").map(|m| &m.data) {
                    Some(rigor::metrics::MetricData::Histogram(h)) => h.summary().p50,
                    _ => 0,
                };
                Ok((outcome.duration, p50))
            };
            let (empty, _) = run(0)?;
            let (full, p50) = run(GETS)?;
            guest_ms.push(full.saturating_sub(empty).as_secs_f64() * 1e3);
            guest_p50.push(p50 as f64 / 1e3);
            let (ms, p50) = native.block_on(native_gets(&url))?;
            native_ms.push(ms);
            native_p50.push(p50);
        }
        let (g, n) = (crate::median(guest_ms), crate::median(native_ms));
        println!(
            "{:<8} {:>14.1} {:>14.1} {:>12.1} {:>12.1} {:>16.3}",
            language,
            g,
            n,
            crate::median(guest_p50),
            crate::median(native_p50),
            n / g
        );
    }
    println!(
        "\nguest ms: run(gets={GETS}) − run(gets=0), each GET host-timed into a histogram; native ms: \
         the same GETs from host code on the probe's client, each timed the same way; \
         native/guest ≥ 0.95 is the target"
    );
    Ok(())
}

/// `GETS` GETs from host code, each timed around the round trip like the
/// probe does; returns the loop's wall time (ms) and the p50 (µs).
async fn native_gets(url: &rigor::probes::redis::RedisUrl) -> Result<(f64, f64)> {
    let mut c = rigor::probes::redis::Client::connect(url, Duration::from_secs(5)).await?;
    let mut samples = Vec::with_capacity(GETS as usize);
    let t = Instant::now();
    for _ in 0..GETS {
        let s = Instant::now();
        std::hint::black_box(c.request(&[b"GET", b"key:0"]).await?);
        samples.push(s.elapsed().as_nanos() as f64);
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    Ok((ms, crate::median(samples) / 1e3))
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
