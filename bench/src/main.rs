//! `cargo run --release -p rigor-bench`: Rigor's figures side by side with
//! the reference tools, in one run, against the same managed redis-server.
//!
//! 1. Single-connection SET/GET latency at 100 B: a scenario's timed calls
//!    (guest → host → Redis) vs `redis-benchmark -c 1 -n 20000 -d 100`.
//! 2. Warm start: instantiate a cached component and call an empty `run`.

mod fs;
mod host_call;
mod http;
mod languages;
mod merge;
mod outputs;
mod process;
mod redis_client;
mod redis_load;
mod redis_loops;
mod redis_policy;
mod reports;
mod vus;
mod websocket;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rigor::build::{RustSource, build_rust};
use rigor::engine::{Engine, Limits, LoadedComponent, RunSetup};
use rigor::metrics::{MetricData, Summary};
use rigor::policy::{Grants, Policy};
use rigor::probes::Capabilities;
use rigor::probes::redis::{RedisCtx, RedisUrl};
use rigor::services::redis_server::ManagedRedis;

const REQUESTS: u64 = 20_000;
const VALUE_SIZE: usize = 100;
const ROUNDS: usize = 5;
const WARM_STARTS: usize = 100;

/// A bench section: its name on the command line and what it runs.
type Section = (&'static str, fn() -> Result<()>);

/// Every section, in the order a full run prints them.
const SECTIONS: &[Section] = &[
    ("redis", redis_section),
    ("redis-policy", redis_policy::run),
    ("redis-client", redis_client::run),
    ("fs", fs::run),
    ("reports", reports::run),
    ("merge", merge::run),
    ("process", process::run),
    ("languages", languages::run),
    ("languages-gets", languages::run_gets),
    ("host-call", host_call::run),
    ("websocket", websocket::run),
    ("http", http::run),
    ("vus", vus::run),
    ("outputs", outputs::run_section),
];

/// `rigor-bench [SECTION...]`: runs the named sections, or all of them.
fn main() -> Result<()> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    for name in &wanted {
        if !SECTIONS.iter().any(|(known, _)| known == name) {
            let known: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
            bail!(
                "unknown bench section `{name}`; sections: {}",
                known.join(", ")
            );
        }
    }
    println!("{}\n", machine());
    for (name, run) in SECTIONS {
        // `languages-gets` is part of `languages`: named alone only.
        let in_full_run = *name != "languages-gets";
        if (wanted.is_empty() && in_full_run) || wanted.iter().any(|w| w == name) {
            println!("== {name}");
            run()?;
            println!();
        }
    }
    Ok(())
}

/// The single-connection rows of the `redis` section.
fn latency_table(
    rigor_rounds: &[BTreeMap<&str, Summary>],
    reference_rounds: &[BTreeMap<String, Reference>],
) {
    println!(
        "{:<6} {:>14} {:>18} {:>7}   {:>14} {:>18} {:>7}",
        "op",
        "rigor p50 µs",
        "redis-bench p50 µs",
        "ratio",
        "rigor mean µs",
        "redis-bench avg µs",
        "ratio"
    );
    for (op, key) in [("set", "SET"), ("get", "GET")] {
        let p50 = median(rigor_rounds.iter().map(|r| r[op].p50 as f64 / 1e3));
        let mean = median(rigor_rounds.iter().map(|r| r[op].mean / 1e3));
        let ref_p50 = median(reference_rounds.iter().map(|r| r[key].p50_ms * 1e3));
        let ref_avg = median(reference_rounds.iter().map(|r| r[key].avg_ms * 1e3));
        println!(
            "{:<6} {:>14.1} {:>18.1} {:>7.3}   {:>14.1} {:>18.1} {:>7.3}",
            op.to_uppercase(),
            p50,
            ref_p50,
            p50 / ref_p50,
            mean,
            ref_avg,
            mean / ref_avg
        );
    }
    let rps = |key: &str| median(reference_rounds.iter().map(|r| r[key].rps));
    println!(
        "(redis-benchmark throughput: SET {:.0} req/s, GET {:.0} req/s, i.e. {:.2} / {:.2} µs per request; \
         its latency histogram has 8 µs buckets below 16 ms)\n",
        rps("SET"),
        rps("GET"),
        1e6 / rps("SET"),
        1e6 / rps("GET")
    );
}

fn redis_section() -> Result<()> {
    // The runtime `rigor run` uses.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let built = build_rust(&[RustSource {
        name: "bench".into(),
        dir: repo.join("bench/guest"),
        crate_name: "bench-guest".into(),
    }])?;
    let wasm = built
        .get("bench")
        .context("bench guest was not built")?
        .clone();

    let redis = ManagedRedis::start()?;
    let cache = tempfile::tempdir()?;
    let engine = Engine::new(Some(cache.path().to_owned()))?;
    engine.load(&wasm, None)?; // compile once; later loads hit the cache
    let component = engine.load(&wasm, None)?;

    println!(
        "redis-server {} on 127.0.0.1:{}\n",
        redis_version(),
        redis.port()
    );

    // 1. Latency, alternating tools so drift hits both alike, with
    // redis-server and the client pinned (see `redis_client`: whether a
    // reply wakes a halted vCPU decides the round trip).
    for (placement, client_cpu) in PLACEMENTS {
        let (rigor_rounds, reference_rounds) = pinned(&[redis.pid()], client_cpu, || {
            let mut rigor_rounds: Vec<BTreeMap<&str, Summary>> = Vec::new();
            let mut reference_rounds: Vec<BTreeMap<String, Reference>> = Vec::new();
            for _ in 0..ROUNDS {
                rigor_rounds.push(runtime.block_on(rigor_latency(&engine, &component, &redis))?);
                reference_rounds.push(redis_benchmark(redis.port(), 1, REQUESTS, VALUE_SIZE, 1)?);
            }
            Ok((rigor_rounds, reference_rounds))
        })?;
        println!(
            "Single connection, {VALUE_SIZE} B values, {REQUESTS} requests per command, median of {ROUNDS} rounds; \
             {placement} (redis-server on CPU 0, client on CPU {client_cpu})"
        );
        latency_table(&rigor_rounds, &reference_rounds);
    }

    // 2. Warm start.
    let mut starts = Vec::with_capacity(WARM_STARTS);
    let mut loads = Vec::with_capacity(WARM_STARTS);
    for _ in 0..WARM_STARTS {
        let t = Instant::now();
        let loaded = engine.load(&wasm, None)?;
        loads.push(t.elapsed());
        let outcome = runtime.block_on(engine.run(
            &loaded,
            setup(&redis, &[("mode", "empty")])?,
            std::future::pending(),
        ));
        if let Err(e) = outcome.result {
            bail!("empty run failed: {}", e.message);
        }
        starts.push(outcome.duration);
    }
    println!("Warm start, median of {WARM_STARTS}:");
    println!(
        "  load from the compiled-component cache: {:>8.3} ms",
        median_duration(loads.iter().copied()).as_secs_f64() * 1e3
    );
    println!(
        "  instantiate + call an empty run:        {:>8.3} ms",
        median_duration(starts.iter().copied()).as_secs_f64() * 1e3
    );
    println!(
        "  cached load + instantiate + run:        {:>8.3} ms",
        (median_duration(loads.iter().copied()) + median_duration(starts.iter().copied()))
            .as_secs_f64()
            * 1e3
    );
    println!();

    // 3. Concurrent load next to redis-benchmark.
    redis_load::run(&engine, &component, &redis)
}

fn setup(redis: &ManagedRedis, params: &[(&str, &str)]) -> Result<RunSetup> {
    let mut targets = BTreeMap::new();
    targets.insert("default".to_owned(), RedisUrl::parse(&redis.url())?);
    Ok(RunSetup {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        limits: Limits::default(),
        probes: Capabilities {
            children: Default::default(),
            redis: RedisCtx {
                targets: Arc::new(targets),
                policy: Policy::new(
                    "bench",
                    Grants {
                        redis: ["default".to_owned()].into(),
                        ..Default::default()
                    },
                ),
                pools: Default::default(),
            },
            process: rigor::probes::process::ProcessCtx::new(Policy::deny_all("bench")),
            http: rigor::probes::http::HttpCtx {
                policy: Policy::deny_all("bench"),
            },
            fs: rigor::probes::fs::FsCtx::new("bench", Policy::deny_all("bench"), false),
            memory: rigor::probes::memory::MemoryCtx::new(Policy::deny_all("bench")),
            events: Default::default(),
            abort: Default::default(),
            budget: Default::default(),
            tls: Default::default(),
            shard: Default::default(),
            live: Default::default(),
        },
    })
}

async fn rigor_latency(
    engine: &Engine,
    component: &LoadedComponent,
    redis: &ManagedRedis,
) -> Result<BTreeMap<&'static str, Summary>> {
    let requests = REQUESTS.to_string();
    let size = VALUE_SIZE.to_string();
    let outcome = engine
        .run(
            component,
            setup(
                redis,
                &[
                    ("mode", "redis"),
                    ("requests", &requests),
                    ("value-size", &size),
                ],
            )?,
            std::future::pending(),
        )
        .await;
    if let Err(e) = outcome.result {
        bail!("bench scenario failed: {}", e.message);
    }
    let mut out = BTreeMap::new();
    for op in ["set", "get"] {
        match outcome.recorder.get(op).map(|m| &m.data) {
            Some(MetricData::Histogram(d)) => {
                out.insert(op, d.summary());
            }
            _ => bail!("metric {op} missing"),
        }
    }
    Ok(out)
}

/// One row of `redis-benchmark --csv`.
pub(crate) struct Reference {
    pub(crate) rps: f64,
    pub(crate) avg_ms: f64,
    pub(crate) p50_ms: f64,
}

/// Runs `redis-benchmark -t set,get --csv` with `clients`, `requests`,
/// value `size` and `pipeline` depth; rows by command.
pub(crate) fn redis_benchmark(
    port: u16,
    clients: u32,
    requests: u64,
    size: usize,
    pipeline: u32,
) -> Result<BTreeMap<String, Reference>> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-c", &clients.to_string()])
        .args(["-n", &requests.to_string(), "-d", &size.to_string()])
        .args(["-P", &pipeline.to_string(), "-t", "set,get", "--csv"])
        .output()
        .context("running redis-benchmark (apt-get install redis-tools)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cells: Vec<String> = line
            .split(',')
            .map(|c| c.trim_matches('"').to_owned())
            .collect();
        if cells.len() < 5 {
            continue;
        }
        rows.insert(
            cells[0].clone(),
            Reference {
                rps: cells[1].parse()?,
                avg_ms: cells[2].parse()?,
                p50_ms: cells[4].parse()?,
            },
        );
    }
    if !rows.contains_key("SET") || !rows.contains_key("GET") {
        bail!("unexpected redis-benchmark output:\n{text}");
    }
    Ok(rows)
}

/// Where a client runs relative to its server (on CPU 0), and its CPU: a
/// reply that must wake a halted vCPU takes ~70 µs over loopback, one that
/// need not ~7 µs, so a client/server bench measures each placement apart.
pub(crate) const PLACEMENTS: [(&str, usize); 2] = [
    ("the client on another CPU than the server", 1),
    ("the client on the server's CPU", 0),
];

/// Runs `work` with this thread on `cpu` and every thread of the processes
/// `servers` on CPU 0, then lets them all run anywhere again, whatever `work`
/// returned. Threads and processes started inside inherit `cpu`.
pub(crate) fn pinned<T>(
    servers: &[u32],
    cpu: usize,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    for &pid in servers {
        pin_process(pid, Some(0))?;
    }
    pin_thread(Some(cpu))?;
    let out = work();
    pin_thread(None)?;
    for &pid in servers {
        pin_process(pid, None)?;
    }
    out
}

/// Pins the calling thread to `cpu` (every CPU when `None`). Threads and
/// processes it starts afterwards inherit it.
fn pin_thread(cpu: Option<usize>) -> Result<()> {
    set_affinity(0, cpu)
}

/// Pins every thread of process `pid` to `cpu` (every CPU when `None`).
fn pin_process(pid: u32, cpu: Option<usize>) -> Result<()> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .with_context(|| format!("listing the threads of process {pid}"))?;
    for task in tasks {
        let name = task?.file_name();
        let tid: libc::pid_t = name
            .to_str()
            .and_then(|t| t.parse().ok())
            .with_context(|| format!("thread id {name:?} of process {pid}"))?;
        set_affinity(tid, cpu)?;
    }
    Ok(())
}

fn set_affinity(tid: libc::pid_t, cpu: Option<usize>) -> Result<()> {
    // Not `available_parallelism`: that counts only the CPUs the thread may
    // already use.
    // SAFETY: sysconf only reads a system setting.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    let cpus = usize::try_from(online).unwrap_or(1).max(1);
    if let Some(cpu) = cpu {
        anyhow::ensure!(
            cpu < cpus,
            "CPU {cpu} does not exist: this machine has {cpus}"
        );
    }
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and
    // sched_setaffinity only read and write the set they are given.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in (0..cpus).filter(|&c| cpu.is_none_or(|only| only == c)) {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        bail!(
            "pinning thread {tid} to CPU {cpu:?}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// CPU time this thread has used. On a current-thread runtime the code
/// under test and its event loop all run on the thread that drives it.
pub(crate) fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The median (upper middle for an even count); 0 for no values. Every
/// section quotes these.
pub(crate) fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub(crate) fn median_duration(values: impl IntoIterator<Item = Duration>) -> Duration {
    let mut v: Vec<Duration> = values.into_iter().collect();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn redis_version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find_map(|w| w.strip_prefix("v=").map(str::to_owned))
        })
        .unwrap_or_else(|| "?".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    format!(
        "machine: {} × {cpu}, {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::ARCH
    )
}
