//! redis-latency: SET and GET round-trip latency by payload size (100 B,
//! 10 KB, 100 KB and a JSON document), the "Redis Cache Performance Reality"
//! section of the seed report, with absolute figures and thresholds.

use rigor_guest::prelude::*;

/// Payloads measured, as (metric suffix, value).
fn payloads() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("100B", vec![b'x'; 100]),
        ("10KB", vec![b'x'; 10 * 1024]),
        ("100KB", vec![b'x'; 100 * 1024]),
        ("json", json_document()),
    ]
}

/// A representative cached API response: 20 user records.
fn json_document() -> Vec<u8> {
    let users: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"id":{i},"name":"user-{i}","email":"user{i}@example.com","active":{},"roles":["reader","writer"],"score":{}.5}}"#,
                i % 2 == 0,
                i * 7
            )
        })
        .collect();
    format!(r#"{{"page":1,"total":20,"users":[{}]}}"#, users.join(",")).into_bytes()
}

/// Distinct keys cycled per payload: enough to avoid a single hot key,
/// few enough to keep the server's memory small at 100 KB values.
const KEYS_PER_SIZE: u64 = 100;

struct RedisLatency;

impl Scenario for RedisLatency {
    fn describe() -> Info {
        Info::new(
            "redis-latency",
            "SET and GET round-trip latency at 100 B, 10 KB, 100 KB and a JSON document",
        )
        .param(
            "ops",
            "1000",
            "timed operations per payload size and command",
        )
        .param(
            "warmup",
            "100",
            "untimed operations per payload size before measuring",
        )
        .param(
            "key-prefix",
            "rigor:redis-latency:",
            "prefix of every key written (removed at the end)",
        )
        .param("target", "default", "Redis target to use")
        .param(
            "open-rate",
            "1000",
            "GETs per second of the open-model run (0 skips it)",
        )
        .param("open-duration-ms", "2000", "length of the open-model run")
    }

    fn run(params: &Params) -> Result<()> {
        let ops: u64 = params.get("ops")?;
        let warmup: u64 = params.get("warmup")?;
        let prefix: String = params.get("key-prefix")?;
        let target: String = params.get("target")?;
        if ops == 0 {
            return Err(Error::msg("`ops` must be at least 1"));
        }
        let redis = Redis::open(&target)?;

        for (label, value) in payloads() {
            let key = |i: u64| format!("{prefix}{label}:{}", i % KEYS_PER_SIZE);
            for i in 0..warmup {
                redis.set(&key(i), &value)?;
                redis.get(&key(i))?;
            }
            let set = Histogram::latency(&format!("set.{label}"));
            for i in 0..ops {
                redis.set_timed(&key(i), &value, &set)?;
            }
            let get = Histogram::latency(&format!("get.{label}"));
            let mut wrong = 0u64;
            for i in 0..ops {
                match redis.get_timed(&key(i), &get)? {
                    Some(v) if v.len() == value.len() => {}
                    _ => wrong += 1,
                }
            }
            check(
                &format!("get.{label} returns what was set"),
                wrong == 0,
                format!("{wrong} of {ops} GETs returned a missing or different value"),
            );
        }

        for (label, _) in payloads() {
            for op in ["set", "get"] {
                let metric = format!("{op}.{label}");
                for expr in ["avg < 1ms", "p(99) < 1ms"] {
                    let verdict = threshold(&metric, expr)?;
                    if !verdict.passed {
                        finding(
                            Severity::Medium,
                            &format!("{} {label} is slower than 1 ms", op.to_uppercase()),
                            format!(
                                "`{metric}: {expr}` failed: observed {:.0} µs",
                                verdict.observed / 1e3
                            ),
                            "Check the network path and server load; for large values consider compression or splitting the value.",
                        );
                    }
                }
            }
        }

        // Open model: GETs on a fixed timeline. `open.get` counts from each
        // request's intended send time, so a stall shows up in it;
        // `open.get.service` is the naive service time for comparison.
        let open_rate: f64 = params.get("open-rate")?;
        let open_ms: u64 = params.get("open-duration-ms")?;
        if open_rate > 0.0 {
            let result = Load::new(&target)
                .open(open_rate)
                .duration(std::time::Duration::from_millis(open_ms))
                .workers(4)
                .get(1)
                .keys(&format!("{prefix}100B:"), KEYS_PER_SIZE)
                .metric_prefix("open")
                .run()?;
            log::info(format!(
                "open model at {open_rate} GET/s: {:.1} ops/s delivered, {} errors",
                result.throughput, result.errors
            ));
            check(
                "open model delivered its rate",
                (result.throughput - open_rate).abs() / open_rate < 0.05,
                format!(
                    "{:.1} ops/s delivered for {open_rate} scheduled",
                    result.throughput
                ),
            );
        }

        let removed = redis.clear_prefix(&prefix)?;
        log::info(format!("removed {removed} keys under `{prefix}`"));
        Ok(())
    }
}

rigor_guest::scenario!(RedisLatency);
