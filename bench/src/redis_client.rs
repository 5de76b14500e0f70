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

    // One connection: each tool's thread and redis-server pinned, the same
    // way for both. Left to the scheduler, a loopback round trip is ~7 µs
    // when the client runs on the server's CPU and ~70 µs when a halted
    // vCPU must wake, and which one a run gets decides the comparison.
    for (placement, client_cpu) in crate::PLACEMENTS {
        crate::pinned(&[redis.pid()], client_cpu, || {
            let single = single_connection(&current, &redis, &url)?;
            println!("{placement} (redis-server on CPU 0, client on CPU {client_cpu})");
            print_rows(single);
            // Where the mean goes, on the placement where it misses.
            if client_cpu == 1 {
                tail(&current, &url, redis.port())?;
            }
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

/// Where the single-connection mean goes: the distribution's tail next to
/// redis-benchmark's, and the client without its per-call timer.
fn tail(runtime: &tokio::runtime::Runtime, url: &RedisUrl, port: u16) -> Result<()> {
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    let mut push = |name: &str, values: [f64; 5]| {
        rows.push((name.to_owned(), values.to_vec()));
    };
    for _ in 0..3 {
        for (label, timer) in [("rigor", true), ("rigor, no timer", false)] {
            let mut ns = runtime.block_on(ours_samples(url, timer))?;
            push(label, spread(&mut ns));
            let at = |q: f64| quantile_us(&ns, q);
            let slow = ns.iter().filter(|&&n| n > 100_000).count();
            let slow_share = ns.iter().filter(|&&n| n > 100_000).sum::<u64>() as f64
                / ns.iter().sum::<u64>() as f64;
            println!(
                "{label}: p99.9 {:.1} µs, max {:.1} µs, {slow} calls over 100 µs holding {:.1} % of the total time",
                at(0.999),
                at(1.0),
                slow_share * 100.0
            );
        }
        let (to_event, to_reply) = runtime.block_on(bare_samples(port))?;
        for (label, mut ns) in [("bare, to event", to_event), ("bare, to reply", to_reply)] {
            push(label, spread(&mut ns));
        }
        let out = std::process::Command::new("redis-benchmark")
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "1",
                "-n",
                "20000",
                "-d",
                "100",
            ])
            .args(["-t", "get", "--csv"])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        if let Some(line) = text.lines().find(|l| l.starts_with("\"GET")) {
            let cells: Vec<f64> = line
                .split(',')
                .skip(1)
                .filter_map(|c| c.trim_matches('"').parse().ok())
                .collect();
            if cells.len() >= 6 {
                push(
                    "redis-benchmark",
                    [
                        cells[3] * 1e3,
                        cells[4] * 1e3,
                        cells[5] * 1e3,
                        cells[1] * 1e3,
                        f64::NAN,
                    ],
                );
            }
        }
    }
    println!("single connection, 100 B GET, µs (3 rounds each; mean99 = mean of the fastest 99 %)");
    println!(
        "{:<18} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "client", "p50", "p95", "p99", "mean", "mean99"
    );
    for (name, values) in rows {
        println!(
            "{name:<18} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            values[0], values[1], values[2], values[3], values[4]
        );
    }
    println!();
    Ok(())
}

/// The `q` quantile of sorted `ns`, in µs.
fn quantile_us(sorted: &[u64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)] as f64 / 1e3
}

/// p50, p95, p99, mean and mean of the fastest 99 % of `ns` (sorted in
/// place), in µs.
fn spread(ns: &mut [u64]) -> [f64; 5] {
    ns.sort_unstable();
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e3;
    let cut = ns.len() * 99 / 100;
    let mean99 = ns[..cut].iter().sum::<u64>() as f64 / cut as f64 / 1e3;
    [
        quantile_us(ns, 0.5),
        quantile_us(ns, 0.95),
        quantile_us(ns, 0.99),
        mean,
        mean99,
    ]
}

/// GETs on a bare socket, each timed twice from just before the request is
/// written: to the read event (the socket reported readable, before the
/// reply is read: where `redis-benchmark` stops its clock) and to the reply
/// read and checked (where the probe stops it).
async fn bare_samples(port: u16) -> Result<(Vec<u64>, Vec<u64>)> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let request = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:0\r\n";
    let reply_len = format!("${VALUE}\r\n").len() + VALUE + 2;
    let mut buf = vec![0u8; 4096];
    let (mut to_event, mut to_reply) = (
        Vec::with_capacity(SINGLE_REQUESTS),
        Vec::with_capacity(SINGLE_REQUESTS),
    );
    for _ in 0..SINGLE_REQUESTS {
        let start = Instant::now();
        stream.write_all(request).await?;
        let (mut got, mut event) = (0, start);
        while got < reply_len {
            stream.readable().await?;
            event = Instant::now();
            match stream.try_read(&mut buf[got..]) {
                Ok(0) => bail!("redis-server closed the connection"),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::ensure!(buf[0] == b'$' && got == reply_len, "unexpected reply");
        to_reply.push(start.elapsed().as_nanos() as u64);
        to_event.push(event.duration_since(start).as_nanos() as u64);
    }
    Ok((to_event, to_reply))
}

async fn ours_samples(url: &RedisUrl, timer: bool) -> Result<Vec<u64>> {
    let mut c = Client::connect(url, Duration::from_secs(5)).await?;
    if !timer {
        c.set_op_timeout(Duration::MAX);
    }
    let mut ns = Vec::with_capacity(SINGLE_REQUESTS);
    for _ in 0..SINGLE_REQUESTS {
        let t = Instant::now();
        c.request(&[b"GET", b"key:0"]).await?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(ns)
}

/// p50 and mean in µs of `ns`, and µs per request of a loop that took `wall`.
fn p50_mean(mut ns: Vec<u64>, wall: Duration) -> (f64, f64, f64) {
    let [p50, _, _, mean, _] = spread(&mut ns);
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
