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

/// Every language's bench guest.
fn sources() -> Result<Vec<BuildSource>> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ sits in the repository")?
        .to_owned();
    let dir = |lang: &str| repo.join("bench/languages").join(lang);
    Ok(vec![
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
    ])
}

/// Builds the guests named `only` (every one when `None`).
fn build(only: Option<&[&str]>) -> Result<std::collections::BTreeMap<String, PathBuf>> {
    let mut sources = sources()?;
    if let Some(only) = only {
        sources.retain(|s| only.contains(&s.name.as_str()));
    }
    let started = Instant::now();
    let built = build_sources(&sources)?;
    println!(
        "built the guests in {:.1} s (toolchains cached)\n",
        started.elapsed().as_secs_f64()
    );
    Ok(built)
}

/// The `languages-gets` section: only the guest-driven GETs.
pub fn run_gets() -> Result<()> {
    redis_gets(&build(Some(GET_GUESTS))?)
}

pub fn run() -> Result<()> {
    let built = build(None)?;
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
/// Each round's GETs, guest and native, run in this many alternating chunks.
const GET_CHUNKS: u64 = 20;
/// The guests whose bench scenario takes `gets`: the target is for C, Zig
/// and Go; Python and JavaScript are reported as they are.
const GET_GUESTS: &[&str] = &["rust", "c", "zig", "go", "python", "js"];

/// Wall and CPU time of `work` on this thread.
fn timed<T>(work: impl FnOnce() -> Result<T>) -> Result<(T, Duration, Duration)> {
    let (wall, cpu) = (Instant::now(), crate::thread_cpu());
    let out = work()?;
    Ok((out, wall.elapsed(), crate::thread_cpu().saturating_sub(cpu)))
}

/// 20,000 host-timed GETs driven from each guest (`gets`) next to the same
/// GETs issued by host code on the probe's own client: wall time of the
/// loop, and the CPU time per GET of the thread that runs it (on an idle
/// machine a loopback round trip is mostly the wake-up of a sleeping vCPU,
/// which varies more between rounds than the guest's cost; the CPU time
/// shows that cost on its own). Alternating rounds; the ratio is the median
/// of the rounds' ratios.
fn redis_gets(built: &std::collections::BTreeMap<String, PathBuf>) -> Result<()> {
    use rigor::probes::redis::{Client, RedisUrl};
    // The runtime `rigor run` uses, for the guest and the host code alike.
    let runtime = &tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let redis = rigor::services::redis_server::ManagedRedis::start()?;
    let url = RedisUrl::parse(&redis.url())?;
    runtime.block_on(async {
        let mut c = Client::connect(&url, Duration::from_secs(5)).await?;
        c.request(&[b"SET", b"key:0", &[b'x'; 100]]).await?;
        anyhow::Ok(())
    })?;
    println!(
        "{GETS} GETs of a 100 B value on one connection per round, guest and native alternating \
         in {GET_CHUNKS} chunks; {GET_ROUNDS} rounds, medians"
    );
    // redis-server and the loop's thread pinned (see `crate::PLACEMENTS`).
    for (placement, loop_cpu) in crate::PLACEMENTS {
        println!("\n{placement} (redis-server on CPU 0, the loop on CPU {loop_cpu})");
        crate::pinned(&[redis.pid()], loop_cpu, || {
            gets_table(runtime, &redis, &url, built)
        })?;
    }
    println!(
        "\nguest ms: Σ over the chunks of run(gets=n) − run(gets=0), each GET host-timed into a histogram; native ms: \
         the same GETs from host code on the probe's client, timed the same way; native/guest ≥ 0.95 \
         is the target. CPU µs: CPU time per GET of the thread running the loop (guest, host calls, \
         event loop, system calls); guest extra: guest minus native, per round. \
         run(gets=0) opens the guest's connection too, so the difference is the GETs alone"
    );
    Ok(())
}

/// One table of `redis_gets`: every guest next to the host-native loop.
fn gets_table(
    runtime: &tokio::runtime::Runtime,
    redis: &rigor::services::redis_server::ManagedRedis,
    url: &rigor::probes::redis::RedisUrl,
    built: &std::collections::BTreeMap<String, PathBuf>,
) -> Result<()> {
    use rigor::probes::redis::Client;
    println!(
        "{:<8} {:>10} {:>10} {:>13} {:>14} {:>15} {:>14}",
        "guest",
        "guest ms",
        "native ms",
        "native/guest",
        "guest CPU µs",
        "native CPU µs",
        "guest extra µs"
    );
    for language in GET_GUESTS {
        let Some(path) = built.get(*language) else {
            continue;
        };
        let cache = tempfile::tempdir()?;
        let engine = Engine::new(Some(cache.path().to_owned()))?;
        let component = engine.load(path, None)?;
        let run = |gets: u64| -> Result<((), Duration, Duration)> {
            let gets = gets.to_string();
            let setup = crate::setup(redis, &[("calls", "0"), ("gets", &gets)])?;
            timed(|| {
                let outcome =
                    runtime.block_on(engine.run(&component, setup, std::future::pending()));
                match outcome.result {
                    Err(e) => anyhow::bail!("the {language} bench guest failed: {}", e.message),
                    Ok(()) => Ok(()),
                }
            })
        };
        let (mut guest_ms, mut native_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut guest_cpu, mut native_cpu) = (Vec::new(), Vec::new());
        let mut client = runtime.block_on(Client::connect(url, Duration::from_secs(5)))?;
        for _ in 0..GET_ROUNDS {
            // The two loops alternate in chunks, so that both meet the same
            // machine: a shared host's vCPUs change speed within seconds.
            let (mut wall, mut cpu, mut n_wall, mut n_cpu) = (
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
            );
            for _ in 0..GET_CHUNKS {
                let (_, empty_wall, empty_cpu) = run(0)?;
                let (_, full_wall, full_cpu) = run(GETS / GET_CHUNKS)?;
                wall += full_wall.saturating_sub(empty_wall);
                cpu += full_cpu.saturating_sub(empty_cpu);
                let (_, w, c) =
                    timed(|| runtime.block_on(native_gets(&mut client, GETS / GET_CHUNKS)))?;
                n_wall += w;
                n_cpu += c;
            }
            guest_ms.push(wall.as_secs_f64() * 1e3);
            native_ms.push(n_wall.as_secs_f64() * 1e3);
            ratios.push(n_wall.as_secs_f64() / wall.as_secs_f64());
            guest_cpu.push(cpu.as_secs_f64() * 1e6 / GETS as f64);
            native_cpu.push(n_cpu.as_secs_f64() * 1e6 / GETS as f64);
        }
        let extra: Vec<f64> = guest_cpu
            .iter()
            .zip(&native_cpu)
            .map(|(g, n)| g - n)
            .collect();
        println!(
            "{:<8} {:>10.1} {:>10.1} {:>13.3} {:>14.2} {:>15.2} {:>14.2}",
            language,
            crate::median(guest_ms),
            crate::median(native_ms),
            crate::median(ratios),
            crate::median(guest_cpu),
            crate::median(native_cpu),
            crate::median(extra),
        );
    }
    Ok(())
}

/// `gets` GETs from host code, each timed around the round trip like the
/// probe does and recorded into a histogram like the probe's.
async fn native_gets(client: &mut rigor::probes::redis::Client, gets: u64) -> Result<()> {
    let mut histogram = rigor::metrics::Distribution::default();
    for _ in 0..gets {
        let (reply, elapsed) = client.timed_request(&[b"GET", b"key:0"]).await?;
        std::hint::black_box(reply);
        histogram.record(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    std::hint::black_box(histogram);
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
