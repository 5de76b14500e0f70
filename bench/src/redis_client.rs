//! The client decision: the probe's own RESP client next to the `redis`
//! crate (1.8.1, tokio, `MultiplexedConnection`) and `redis-benchmark`, same
//! server, same run, alternating rounds: single-request latency on one
//! connection (p50 and mean, every call timed from outside the client the
//! same way), throughput at 50 connections, and at 50 connections with 16
//! commands per write.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rigor::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};
use rigor::probes::redis::{Client, RedisUrl};
use rigor::services::redis_server::ManagedRedis;

const SINGLE_REQUESTS: usize = 20_000;
const CONNECTIONS: u32 = 50;
const REQUESTS: u64 = 100_000;
const ROUNDS: usize = 5;
const VALUE: usize = 100;

/// A figure's name and its values per round: rigor, the crate, redis-benchmark.
type Row = (&'static str, Vec<f64>, Vec<f64>, Vec<f64>);

pub fn run() -> Result<()> {
    let redis = ManagedRedis::start()?;
    let url = RedisUrl::parse(&redis.url())?;
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let threads = load::default_threads();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    current.block_on(async {
        let mut c = Client::connect(&url, Duration::from_secs(5)).await?;
        c.request(&[b"SET", b"key:0", &[b'x'; VALUE]]).await?;
        anyhow::Ok(())
    })?;

    let mut rows: Vec<Row> = vec![
        ("1 conn GET p50 (µs)", vec![], vec![], vec![]),
        ("1 conn GET mean (µs)", vec![], vec![], vec![]),
        ("50 conn GET ops/s", vec![], vec![], vec![]),
        ("50 conn GET -P 16 ops/s", vec![], vec![], vec![]),
    ];
    for _ in 0..ROUNDS {
        let (p50, mean) = current.block_on(ours_single(&url))?;
        rows[0].1.push(p50);
        rows[1].1.push(mean);
        let (p50, mean) = current.block_on(crate_single(&redis.url()))?;
        rows[0].2.push(p50);
        rows[1].2.push(mean);
        let bench = crate::redis_benchmark(redis.port(), 1, SINGLE_REQUESTS as u64, VALUE, 1)?;
        rows[0].3.push(bench["GET"].p50_ms * 1000.0);
        rows[1].3.push(bench["GET"].avg_ms * 1000.0);

        for (row, pipeline) in [(2, 1u32), (3, 16)] {
            rows[row]
                .1
                .push(ours_load(&current, &url, pipeline, threads)?);
            rows[row]
                .2
                .push(multi.block_on(crate_load(redis.url(), pipeline))?);
            let bench =
                crate::redis_benchmark(redis.port(), CONNECTIONS, REQUESTS, VALUE, pipeline)?;
            rows[row].3.push(bench["GET"].rps);
        }
    }
    println!(
        "{VALUE} B GETs, median of {ROUNDS} alternating rounds; rigor = the probe's client, crate = redis 1.8.1 MultiplexedConnection ({threads} runtime threads for 50 connections)"
    );
    println!(
        "{:<26} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "figure", "rigor", "crate", "redis-bench", "crate/rigor", "rigor/bench"
    );
    for (name, ours, theirs, bench) in rows {
        let (a, b, c) = (
            crate::median(ours),
            crate::median(theirs),
            crate::median(bench),
        );
        println!(
            "{name:<26} {a:>10.2} {b:>10.2} {c:>12.2} {:>12.3} {:>12.3}",
            b / a,
            a / c
        );
    }
    Ok(())
}

/// p50 and mean in µs of `values` (ns).
fn p50_mean(mut ns: Vec<u64>) -> (f64, f64) {
    ns.sort_unstable();
    let p50 = ns[ns.len() / 2] as f64 / 1e3;
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e3;
    (p50, mean)
}

async fn ours_single(url: &RedisUrl) -> Result<(f64, f64)> {
    let mut c = Client::connect(url, Duration::from_secs(5)).await?;
    let mut ns = Vec::with_capacity(SINGLE_REQUESTS);
    for _ in 0..SINGLE_REQUESTS {
        let t = Instant::now();
        c.request(&[b"GET", b"key:0"]).await?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(p50_mean(ns))
}

async fn crate_single(url: &str) -> Result<(f64, f64)> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let mut ns = Vec::with_capacity(SINGLE_REQUESTS);
    for _ in 0..SINGLE_REQUESTS {
        let t = Instant::now();
        let _: Option<Vec<u8>> = redis::cmd("GET").arg("key:0").query_async(&mut con).await?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(p50_mean(ns))
}

fn ours_load(
    runtime: &tokio::runtime::Runtime,
    url: &RedisUrl,
    pipeline: u32,
    threads: usize,
) -> Result<f64> {
    let spec = LoadSpec {
        workers: CONNECTIONS,
        amount: Amount::OpsPerWorker(REQUESTS / u64::from(CONNECTIONS)),
        warmup: Amount::OpsPerWorker(0),
        model: Model::Closed,
        mix: vec![MixEntry {
            name: "get".into(),
            op: Op::Get,
            weight: 1,
        }],
        value: vec![b'x'; VALUE],
        key_prefix: "key:".into(),
        key_count: 1,
        key_pattern: KeyPattern::Uniform,
        pipeline,
        connections: Connections::PerWorker,
        timeout: Duration::from_secs(10),
        threads,
        seed: 1,
    };
    let outcome = runtime.block_on(async { load::start(spec, url.clone())?.finish().await })?;
    if outcome.errors() > 0 {
        bail!("{} errors in the rigor load", outcome.errors());
    }
    Ok(outcome.throughput())
}

/// 50 tasks, one connection each, on the multi-threaded runtime: the way a
/// program using the crate would drive 50 connections.
async fn crate_load(url: String, pipeline: u32) -> Result<f64> {
    let client = redis::Client::open(url)?;
    let mut cons = Vec::new();
    for _ in 0..CONNECTIONS {
        cons.push(client.get_multiplexed_async_connection().await?);
    }
    let per_conn = REQUESTS / u64::from(CONNECTIONS);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut con in cons {
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < per_conn {
                if pipeline == 1 {
                    let _: Option<Vec<u8>> =
                        redis::cmd("GET").arg("key:0").query_async(&mut con).await?;
                    done += 1;
                } else {
                    let n = u64::from(pipeline).min(per_conn - done);
                    let mut pipe = redis::pipe();
                    for _ in 0..n {
                        pipe.cmd("GET").arg("key:0");
                    }
                    let _: Vec<Option<Vec<u8>>> = pipe.query_async(&mut con).await?;
                    done += n;
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(REQUESTS as f64 / start.elapsed().as_secs_f64())
}
