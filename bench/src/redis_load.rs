//! Native Redis load next to `redis-benchmark`, same server, same run:
//! throughput at 50 connections (with and without pipelining, 100 B to
//! 100 KB values), the shared-connection mode, the guest-driven loop against
//! the host-native one, and the process's peak RSS.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};
use rigor::engine::{Engine, LoadedComponent};
use rigor::metrics::MetricData;
use rigor::probes::redis::RedisUrl;
use rigor::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};
use rigor::services::redis_server::ManagedRedis;

const CONNECTIONS: u32 = 50;
const REQUESTS: u64 = 100_000;
const ROUNDS: usize = 3;
const LOOP_REQUESTS: u64 = 20_000;

/// One comparison: value size, pipeline depth, connection mode.
struct Case {
    size: usize,
    pipeline: u32,
    connections: Connections,
}

pub fn run(engine: &Engine, component: &LoadedComponent, redis: &ManagedRedis) -> Result<()> {
    let url = RedisUrl::parse(&redis.url())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rss_before = peak_rss_kib();
    let cases = [
        Case {
            size: 100,
            pipeline: 1,
            connections: Connections::PerWorker,
        },
        Case {
            size: 100,
            pipeline: 16,
            connections: Connections::PerWorker,
        },
        Case {
            size: 10 * 1024,
            pipeline: 1,
            connections: Connections::PerWorker,
        },
        Case {
            size: 100 * 1024,
            pipeline: 1,
            connections: Connections::PerWorker,
        },
        Case {
            size: 100,
            pipeline: 1,
            connections: Connections::Shared,
        },
    ];
    println!(
        "{CONNECTIONS} connections, {REQUESTS} requests per command, median of {ROUNDS} alternating rounds (ops/s)"
    );
    println!(
        "{:<34} {:>12} {:>12} {:>7}",
        "case", "rigor", "redis-bench", "ratio"
    );
    for case in &cases {
        let mut ours: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut theirs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for _ in 0..ROUNDS {
            for (name, op) in [("SET", Op::Set), ("GET", Op::Get)] {
                let spec = spec(case, op);
                let outcome =
                    runtime.block_on(async { load::start(spec, url.clone())?.finish().await })?;
                if outcome.errors() > 0 {
                    bail!("{} errors in the rigor load", outcome.errors());
                }
                ours.entry(name).or_default().push(outcome.throughput());
            }
            let reference = crate::redis_benchmark(
                redis.port(),
                CONNECTIONS,
                REQUESTS,
                case.size,
                case.pipeline,
            )?;
            for name in ["SET", "GET"] {
                theirs.entry(name).or_default().push(reference[name].rps);
            }
        }
        for name in ["SET", "GET"] {
            let (a, b) = (
                crate::median(ours[name].iter().copied()),
                crate::median(theirs[name].iter().copied()),
            );
            let label = format!(
                "{name} {} B, -P {}{}",
                case.size,
                case.pipeline,
                if case.connections == Connections::Shared {
                    ", rigor: 1 shared connection"
                } else {
                    ""
                }
            );
            println!("{label:<34} {a:>12.0} {b:>12.0} {:>7.3}", a / b);
        }
    }
    let rss_after = peak_rss_kib();
    println!(
        "peak RSS of this process: {:.1} MiB before the load runs, {:.1} MiB after",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );

    // Guest-driven loop vs host-native load, one connection, 100 B GET.
    let mut guest = Vec::new();
    let mut native = Vec::new();
    for _ in 0..ROUNDS {
        guest.push(runtime.block_on(guest_loop(engine, component, redis))?);
        let spec = LoadSpec {
            workers: 1,
            threads: 1,
            ..spec(
                &Case {
                    size: 100,
                    pipeline: 1,
                    connections: Connections::PerWorker,
                },
                Op::Get,
            )
        };
        let spec = LoadSpec {
            amount: Amount::OpsPerWorker(LOOP_REQUESTS),
            key_count: 1,
            ..spec
        };
        let outcome = runtime.block_on(async { load::start(spec, url.clone())?.finish().await })?;
        native.push(outcome.throughput());
    }
    let (g, n) = (crate::median(guest), crate::median(native));
    println!(
        "one connection, {LOOP_REQUESTS} GETs of 100 B: guest-driven loop {g:.0} ops/s, host-native load {n:.0} ops/s, ratio {:.3}",
        g / n
    );
    Ok(())
}

fn spec(case: &Case, op: Op) -> LoadSpec {
    LoadSpec {
        workers: CONNECTIONS,
        amount: Amount::OpsPerWorker(REQUESTS / u64::from(CONNECTIONS)),
        warmup: Amount::OpsPerWorker(0),
        model: Model::Closed,
        mix: vec![MixEntry {
            name: op.default_name(),
            op,
            weight: 1,
        }],
        value: vec![b'x'; case.size],
        // redis-benchmark without -r uses one key.
        key_prefix: "key:".into(),
        key_count: 1,
        key_pattern: KeyPattern::Uniform,
        pipeline: case.pipeline,
        connections: case.connections,
        timeout: Duration::from_secs(10),
        threads: rigor::budget::threads_per_load(),
        seed: 1,
        first_worker: 0,
        all_workers: 0,
    }
}

async fn guest_loop(
    engine: &Engine,
    component: &LoadedComponent,
    redis: &ManagedRedis,
) -> Result<f64> {
    let requests = LOOP_REQUESTS.to_string();
    let outcome = engine
        .run(
            component,
            crate::setup(
                redis,
                &[
                    ("mode", "get-loop"),
                    ("requests", &requests),
                    ("value-size", "100"),
                ],
            )?,
            std::future::pending(),
        )
        .await;
    if let Err(e) = outcome.result {
        bail!("guest loop failed: {}", e.message);
    }
    match outcome.recorder.get("loop.elapsed").map(|m| &m.data) {
        Some(MetricData::Gauge(ns)) => Ok(LOOP_REQUESTS as f64 / (ns / 1e9)),
        _ => bail!("the guest did not report its loop time"),
    }
}

/// VmHWM: the peak resident set of this process so far, KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
