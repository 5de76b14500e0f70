//! The cost of the Redis command policy, which sits on every call: the check
//! alone (ns per call), a single-connection GET with and without it, and
//! `run-load` throughput at 50 connections with and without it, in one run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rigor::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};
use rigor::probes::redis::policy::{CommandGuard, RedisGrant, Rule};
use rigor::probes::redis::{Client, RedisUrl};
use rigor::services::redis_server::ManagedRedis;

/// Checks per measurement of the check alone.
const CHECKS: u32 = 2_000_000;
/// Rounds; each figure is the median.
const ROUNDS: usize = 11;
const CONNECTIONS: u32 = 50;
const LOAD_REQUESTS: u64 = 100_000;
const SINGLE_REQUESTS: usize = 20_000;

fn grant(commands: &[&str], keys: Option<&[&str]>) -> Result<RedisGrant> {
    let rules = commands
        .iter()
        .map(|r| Rule::parse(r).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let keys = match keys {
        Some(k) => Some(
            k.iter()
                .map(|p| RedisGrant::key_pattern(p))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    Ok(RedisGrant::new(rules, Vec::new(), keys))
}

/// Median ns per `guard.check(args)`.
fn per_call(guard: &CommandGuard, args: &[&[u8]], iterations: u32) -> f64 {
    let rounds = (0..ROUNDS).map(|_| {
        let start = Instant::now();
        for _ in 0..iterations {
            let _ = black_box(guard.check(black_box(args)));
        }
        start.elapsed().as_nanos() as f64 / f64::from(iterations)
    });
    crate::median(rounds)
}

pub fn run() -> Result<()> {
    let data_only = RedisGrant::data_only();
    let keyed = grant(&["+@scripting"], Some(&["shared:*", "app:*"]))?;
    let value = vec![b'x'; 100];
    let cases: [(&str, &RedisGrant, Vec<&[u8]>, u32); 7] = [
        (
            "GET k, data-only grant",
            &data_only,
            vec![b"GET", b"k"],
            CHECKS,
        ),
        (
            "SET k <100 B>, data-only grant",
            &data_only,
            vec![b"SET", b"k", &value],
            CHECKS,
        ),
        (
            "HSET h f v, data-only grant",
            &data_only,
            vec![b"HSET", b"h", b"f", b"v"],
            CHECKS,
        ),
        (
            "GET app:k, keys [shared:*, app:*]",
            &keyed,
            vec![b"GET", b"app:k"],
            CHECKS,
        ),
        (
            "MSET app:1 v app:2 v, keys [..]",
            &keyed,
            vec![b"MSET", b"app:1", b"v", b"app:2", b"v"],
            CHECKS,
        ),
        (
            "EVAL \"return 1\" 1 app:k, keys [..]",
            &keyed,
            vec![b"EVAL", b"return 1", b"1", b"app:k"],
            CHECKS,
        ),
        (
            "FLUSHALL, refused (message built)",
            &data_only,
            vec![b"FLUSHALL"],
            CHECKS / 20,
        ),
    ];
    println!("the check alone, median of {ROUNDS} rounds (ns per call)");
    for (label, grant, args, iterations) in &cases {
        let guard = grant.guard("bench", "default");
        println!("  {label:<38} {:>8.1}", per_call(&guard, args, *iterations));
    }

    let redis = ManagedRedis::start()?;
    let url = RedisUrl::parse(&redis.url())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // One connection, GET: the binding's path (check, then the timed round
    // trip) with and without the check, alternating request by request so
    // that drift in the machine's speed falls on both alike.
    let guard = data_only.guard("bench", "default");
    let mut rounds = Vec::new();
    runtime.block_on(async {
        let mut client = Client::connect(&url, Duration::from_secs(5)).await?;
        client.request(&[b"SET", b"k", &value]).await?;
        for _ in 0..ROUNDS {
            let mut total = [Duration::ZERO; 2];
            for i in 0..2 * SINGLE_REQUESTS {
                let checked = i % 2 == 0;
                let args: [&[u8]; 2] = [b"GET", b"k"];
                let start = Instant::now();
                if checked && guard.check(&args).is_err() {
                    bail!("GET was refused");
                }
                client.timed_request(&args).await?;
                total[usize::from(checked)] += start.elapsed();
            }
            let mean = total.map(|t| t.as_nanos() as f64 / SINGLE_REQUESTS as f64);
            rounds.push((mean[1], mean[0]));
        }
        Ok(())
    })?;
    let with = crate::median(rounds.iter().map(|r| r.0));
    let without = crate::median(rounds.iter().map(|r| r.1));
    let difference = crate::median(rounds.iter().map(|r| r.0 - r.1));
    println!(
        "one connection, {SINGLE_REQUESTS} GETs of 100 B each way, alternating, mean round trip (median of {ROUNDS}): with the check {:.2} µs, without {:.2} µs, difference {difference:+.0} ns",
        with / 1e3,
        without / 1e3,
    );

    // run-load: the policy checks each op once, when the spec is converted.
    println!(
        "run-load, {CONNECTIONS} connections, {LOAD_REQUESTS} requests of 100 B, median of {ROUNDS} alternating rounds (ops/s)"
    );
    println!(
        "  {:<5} {:>10} {:>18} {:>18} {:>9} {:>9}",
        "op", "no policy", "policy, data-only", "policy, keys app:*", "loss", "loss"
    );
    let key_grant = grant(&[], Some(&["app:*"]))?;
    let variants = [None, Some(&data_only), Some(&key_grant)];
    for (name, op) in [("SET", Op::Set), ("GET", Op::Get)] {
        let mut figures: [Vec<f64>; 3] = Default::default();
        let mut losses: [Vec<f64>; 2] = Default::default();
        let (mut check_ns, mut load_ns) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            // Each round runs the three variants back to back, starting
            // with a different one each time.
            let mut this_round = [0.0; 3];
            for k in 0..variants.len() {
                let variant = (round + k) % variants.len();
                let spec = spec(op.clone());
                let outcome = runtime.block_on(async {
                    if let Some(g) = variants[variant] {
                        let start = Instant::now();
                        g.check_load(&spec, "bench", "default")?;
                        check_ns.push(start.elapsed().as_nanos() as f64);
                    }
                    anyhow::Ok(load::start(spec, url.clone())?.finish().await?)
                })?;
                if outcome.errors() > 0 {
                    bail!("{} errors in the load", outcome.errors());
                }
                load_ns.push(outcome.elapsed.as_nanos() as f64);
                this_round[variant] = outcome.throughput();
                figures[variant].push(outcome.throughput());
            }
            for v in 0..2 {
                losses[v].push((this_round[0] - this_round[v + 1]) / this_round[0] * 100.0);
            }
        }
        let [none, data, keys] = figures.map(crate::median);
        let check = crate::median(check_ns);
        let [loss_data, loss_keys] = losses.map(crate::median);
        println!(
            "  {name:<5} {none:>10.0} {data:>18.0} {keys:>18.0} {loss_data:>8.2}% {loss_keys:>8.2}%   check_load {:.1} µs = {:.4}% of a load",
            check / 1e3,
            check / crate::median(load_ns) * 100.0
        );
    }
    println!(
        "  loss: median over rounds of (no policy − policy) / no policy within a round, data-only then keys"
    );
    Ok(())
}

fn spec(op: Op) -> LoadSpec {
    LoadSpec {
        workers: CONNECTIONS,
        amount: Amount::OpsPerWorker(LOAD_REQUESTS / u64::from(CONNECTIONS)),
        warmup: Amount::OpsPerWorker(0),
        model: Model::Closed,
        mix: vec![MixEntry {
            name: op.default_name(),
            op,
            weight: 1,
        }],
        value: vec![b'x'; 100],
        key_prefix: "app:bench:".into(),
        key_count: 1,
        key_pattern: KeyPattern::Uniform,
        pipeline: 1,
        connections: Connections::PerWorker,
        timeout: Duration::from_secs(10),
        threads: rigor::budget::threads_per_load(),
        seed: 1,
        first_worker: 0,
        all_workers: 0,
    }
}
