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

use crate::redis_loops::{self, Pattern};

const SINGLE_REQUESTS: usize = 20_000;
const CONNECTIONS: u32 = 50;
const REQUESTS: u64 = 100_000;
const ROUNDS: usize = 5;
const VALUE: usize = 100;

/// Requests of a 50-connection load: pipelined loads run as long as the
/// others (100,000 requests at `-P 16` take ~50 ms, which measured the
/// connections' start more than the load).
fn load_requests(pipeline: u32) -> u64 {
    REQUESTS * u64::from(pipeline)
}

/// A figure's name and its values per round: rigor, the crate, redis-benchmark.
type Row = (&'static str, Vec<f64>, Vec<f64>, Vec<f64>);

pub fn run() -> Result<()> {
    let redis = ManagedRedis::start()?;
    let url = RedisUrl::parse(&redis.url())?;
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let threads = rigor::budget::threads_per_load();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    current.block_on(async {
        let mut c = Client::connect(&url, Duration::from_secs(5)).await?;
        c.request(&[b"SET", b"key:0", &[b'x'; VALUE]]).await?;
        anyhow::Ok(())
    })?;

    // One connection: each tool's thread and redis-server pinned, the same
    // way for both. Left to the scheduler, a loopback round trip is ~7 µs
    // when the client runs on the server's CPU and ~70 µs when a halted
    // vCPU must wake, and which one a run gets decides the comparison.
    for (placement, client_cpu) in crate::PLACEMENTS {
        crate::pinned(&[redis.pid()], client_cpu, || {
            let single = single_connection(&current, &redis, &url)?;
            println!("{placement} (redis-server on CPU 0, client on CPU {client_cpu})");
            print_rows(single);
            gap(&current, &url, redis.port())?;
            Ok(())
        })?;
    }

    let mut rows: Vec<Row> = vec![
        ("50 conn GET ops/s", vec![], vec![], vec![]),
        ("50 conn GET -P 16 ops/s", vec![], vec![], vec![]),
    ];
    for _ in 0..ROUNDS {
        for (row, pipeline) in [(0, 1u32), (1, 16)] {
            rows[row]
                .1
                .push(ours_load(&current, &url, pipeline, threads)?);
            rows[row]
                .2
                .push(multi.block_on(crate_load(redis.url(), pipeline))?);
            let bench = crate::redis_benchmark(
                redis.port(),
                CONNECTIONS,
                load_requests(pipeline),
                VALUE,
                pipeline,
            )?;
            rows[row].3.push(bench["GET"].rps);
        }
    }
    println!("50 connections, unpinned ({threads} runtime threads for the crate)");
    print_rows(rows);
    println!(
        "\n{VALUE} B GETs, median of {ROUNDS} alternating rounds; rigor = the probe's client, crate = redis 1.8.1 \
         MultiplexedConnection. µs per request = the loop's wall time ÷ requests (redis-benchmark: 1 ÷ its \
         requests/s): a mean that every tool measures the same way. redis-benchmark's p50 and mean come \
         from its histogram, whose buckets are 8 µs wide below 16 ms (lowest discernible value 10 µs): its \
         p50 is the top of a bucket and its mean is made of bucket midpoints"
    );
    Ok(())
}

/// The single-connection rows, `ROUNDS` rounds alternating the three clients.
fn single_connection(
    current: &tokio::runtime::Runtime,
    redis: &ManagedRedis,
    url: &RedisUrl,
) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = vec![
        ("1 conn GET p50 (µs)", vec![], vec![], vec![]),
        ("1 conn GET mean (µs)", vec![], vec![], vec![]),
        ("1 conn GET µs per request", vec![], vec![], vec![]),
    ];
    for _ in 0..ROUNDS {
        for (column, (p50, mean, per_request)) in [
            current.block_on(ours_single(url))?,
            current.block_on(crate_single(&redis.url()))?,
        ]
        .into_iter()
        .enumerate()
        {
            for (row, value) in [p50, mean, per_request].into_iter().enumerate() {
                match column {
                    0 => rows[row].1.push(value),
                    _ => rows[row].2.push(value),
                }
            }
        }
        // Spawned from this thread, it inherits the thread's CPU.
        let bench = crate::redis_benchmark(redis.port(), 1, SINGLE_REQUESTS as u64, VALUE, 1)?;
        rows[0].3.push(bench["GET"].p50_ms * 1000.0);
        rows[1].3.push(bench["GET"].avg_ms * 1000.0);
        rows[2].3.push(1e6 / bench["GET"].rps);
    }
    Ok(rows)
}

fn print_rows(rows: Vec<Row>) {
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
    println!();
}

/// Where the single-connection mean comes from: µs per request of the
/// probe, of a bare tokio loop, of two loops with no runtime (waiting on
/// `epoll` the plain way, and making `redis-benchmark`'s system calls), and
/// of `redis-benchmark`, rounds alternating.
fn gap(runtime: &tokio::runtime::Runtime, url: &RedisUrl, port: u16) -> Result<()> {
    let names = [
        "rigor (the probe)",
        "bare tokio loop",
        "plain epoll loop",
        "redis-benchmark's calls",
        "redis-benchmark",
    ];
    let mut values: Vec<Vec<f64>> = names.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        values[0].push(runtime.block_on(ours_single(url))?.2);
        values[1].push(runtime.block_on(redis_loops::tokio_per_request_us(
            port,
            SINGLE_REQUESTS,
            VALUE,
        ))?);
        values[2].push(redis_loops::per_request_us(
            port,
            SINGLE_REQUESTS,
            VALUE,
            Pattern::Plain,
        )?);
        values[3].push(redis_loops::per_request_us(
            port,
            SINGLE_REQUESTS,
            VALUE,
            Pattern::RedisBenchmark,
        )?);
        let bench = crate::redis_benchmark(port, 1, SINGLE_REQUESTS as u64, VALUE, 1)?;
        values[4].push(1e6 / bench["GET"].rps);
    }
    let bench = crate::median(values[4].iter().copied());
    println!("{:<26} {:>14} {:>12}", "loop", "µs per request", "/ bench");
    for (name, v) in names.iter().zip(values) {
        let us = crate::median(v);
        println!("{name:<26} {us:>14.2} {:>12.3}", us / bench);
    }
    println!();
    Ok(())
}

/// p50 and mean in µs of `ns`, and µs per request of a loop that took `wall`.
fn p50_mean(mut ns: Vec<u64>, wall: Duration) -> (f64, f64, f64) {
    ns.sort_unstable();
    let p50 = ns[ns.len() / 2] as f64 / 1e3;
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e3;
    (p50, mean, wall.as_secs_f64() * 1e6 / ns.len() as f64)
}

async fn ours_single(url: &RedisUrl) -> Result<(f64, f64, f64)> {
    let mut c = Client::connect(url, Duration::from_secs(5)).await?;
    let mut ns = Vec::with_capacity(SINGLE_REQUESTS);
    let started = Instant::now();
    for _ in 0..SINGLE_REQUESTS {
        let t = Instant::now();
        c.request(&[b"GET", b"key:0"]).await?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(p50_mean(ns, started.elapsed()))
}

async fn crate_single(url: &str) -> Result<(f64, f64, f64)> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let mut ns = Vec::with_capacity(SINGLE_REQUESTS);
    let started = Instant::now();
    for _ in 0..SINGLE_REQUESTS {
        let t = Instant::now();
        let _: Option<Vec<u8>> = redis::cmd("GET").arg("key:0").query_async(&mut con).await?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(p50_mean(ns, started.elapsed()))
}

fn ours_load(
    runtime: &tokio::runtime::Runtime,
    url: &RedisUrl,
    pipeline: u32,
    threads: usize,
) -> Result<f64> {
    let spec = LoadSpec {
        workers: CONNECTIONS,
        amount: Amount::OpsPerWorker(load_requests(pipeline) / u64::from(CONNECTIONS)),
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
        first_worker: 0,
        all_workers: 0,
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
    let per_conn = load_requests(pipeline) / u64::from(CONNECTIONS);
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
    Ok(load_requests(pipeline) as f64 / start.elapsed().as_secs_f64())
}
