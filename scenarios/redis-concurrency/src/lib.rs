//! redis-concurrency: the seed's "Concurrent Load Stress Testing" — many
//! workers issuing SET/GET at once — run natively by the host, judged on
//! throughput, latency and error rate.

use rigor_guest::load::ConnectionMode;
use rigor_guest::prelude::*;

struct RedisConcurrency;

impl Scenario for RedisConcurrency {
    fn describe() -> Info {
        Info::new(
            "redis-concurrency",
            "Concurrent SET/GET load: throughput, latency and error rate under many workers",
        )
        .param("workers", "50", "concurrent workers (connections)")
        .param("ops", "100", "measured operations per worker")
        .param(
            "warmup",
            "10",
            "untimed operations per worker before measuring",
        )
        .param("value-size", "100", "bytes per value")
        .param("pipeline", "1", "commands per write per worker (1 = none)")
        .param("connections", "per-worker", "per-worker or shared")
        .param(
            "min-throughput",
            "5000",
            "ops/s below which the scenario fails",
        )
        .param(
            "key-prefix",
            "rigor:redis-concurrency:",
            "prefix of every key written (removed at the end)",
        )
        .param("target", "default", "Redis target to use")
    }

    fn run(params: &Params) -> Result<()> {
        let workers: u32 = params.get("workers")?;
        let ops: u64 = params.get("ops")?;
        let warmup: u64 = params.get("warmup")?;
        let value_size: u32 = params.get("value-size")?;
        let pipeline: u32 = params.get("pipeline")?;
        let connections: String = params.get("connections")?;
        let min_throughput: f64 = params.get("min-throughput")?;
        let prefix: String = params.get("key-prefix")?;
        let target: String = params.get("target")?;

        let mut load = Load::new(&target)
            .workers(workers)
            .ops_per_worker(ops)
            .warmup_ops(warmup)
            .set(1)
            .get(1)
            .value_size(value_size)
            .keys(&prefix, 10_000)
            .pipeline(pipeline)
            .metric_prefix("concurrency");
        load = match connections.as_str() {
            "per-worker" => load,
            "shared" => load.shared_connection(),
            other => {
                return Err(Error::msg(format!(
                    "param `connections` is `{other}`; use `per-worker` or `shared`"
                )));
            }
        };
        let result = load.run()?;
        let mode = match result.connections {
            ConnectionMode::PerWorker => "one connection per worker",
            ConnectionMode::Shared => "one shared connection",
        };
        log::info(format!(
            "{} workers ({mode}, pipeline {pipeline}): {} ok, {} errors, {:.0} ops/s over {:.1} ms",
            result.workers,
            result.ok,
            result.errors,
            result.throughput,
            result.elapsed_ns as f64 / 1e6
        ));

        // The workers that ran: on a shard of a sharded run, its part.
        let expected = u64::from(result.workers) * ops;
        check(
            "every operation was attempted",
            result.ok + result.errors == expected,
            format!(
                "{} of {expected} operations accounted for",
                result.ok + result.errors
            ),
        );
        let throughput = threshold(
            "concurrency.throughput",
            &format!("value > {min_throughput}ops/s"),
        )?;
        threshold("concurrency.all", "avg < 10ms")?;
        threshold("concurrency.all", "max < 100ms")?;
        let errors = threshold("concurrency.error-rate", "rate < 0.01")?;
        if !throughput.passed {
            finding(
                Severity::High,
                "Throughput under concurrent load is below target",
                format!(
                    "{:.0} ops/s with {workers} workers; the target is {min_throughput} ops/s",
                    throughput.observed
                ),
                "Profile the server under load (INFO commandstats, latency doctor) and check the client-server network path.",
            );
        }
        if !errors.passed {
            let kinds: Vec<String> = result
                .ops
                .iter()
                .flat_map(|o| {
                    o.errors
                        .iter()
                        .map(move |e| format!("{} {} on {}", e.count, e.kind, o.name))
                })
                .collect();
            finding(
                Severity::High,
                "Errors under concurrent load",
                format!(
                    "error rate {:.2} %: {}",
                    errors.observed * 100.0,
                    kinds.join(", ")
                ),
                "Read the error samples in the log; check maxclients, timeouts and server memory.",
            );
        }

        let redis = Redis::open(&target)?;
        let removed = redis.clear_prefix(&prefix)?;
        log::info(format!("removed {removed} keys under `{prefix}`"));
        Ok(())
    }
}

rigor_guest::scenario!(RedisConcurrency);
