//! The guest the benchmarks drive: `mode=empty` returns at once (warm-start
//! cost); `mode=redis` runs timed SETs then GETs through the host.

use rigor_guest::prelude::*;

struct Bench;

impl Scenario for Bench {
    fn describe() -> Info {
        Info::new("bench", "Benchmark workloads")
            .param("mode", "empty", "empty | redis | get-loop")
            .param("requests", "20000", "requests per command (redis mode)")
            .param("value-size", "100", "value size in bytes (redis mode)")
    }

    fn run(params: &Params) -> Result<()> {
        match params.get::<String>("mode")?.as_str() {
            "empty" => Ok(()),
            "redis" => {
                let n: u64 = params.get("requests")?;
                let size: usize = params.get("value-size")?;
                let value = vec![b'x'; size];
                let redis = Redis::open("default")?;
                // Same key as redis-benchmark's default (`key:__rand_int__`
                // without -r is one key).
                let set = Histogram::latency("set");
                for _ in 0..n {
                    redis.set_timed("key:__rand_int__", &value, &set)?;
                }
                let get = Histogram::latency("get");
                for _ in 0..n {
                    redis.get_timed("key:__rand_int__", &get)?;
                }
                Ok(())
            }
            "get-loop" => {
                // The guest-driven path: one timed GET per boundary crossing.
                let n: u64 = params.get("requests")?;
                let size: usize = params.get("value-size")?;
                let redis = Redis::open("default")?;
                redis.set("bench:get-loop", &vec![b'x'; size])?;
                let get = Histogram::latency("get");
                let start = now();
                for _ in 0..n {
                    redis.get_timed("bench:get-loop", &get)?;
                }
                gauge(
                    "loop.elapsed",
                    (now() - start).as_nanos() as f64,
                    Unit::Nanoseconds,
                );
                Ok(())
            }
            other => Err(Error::msg(format!("unknown mode `{other}`"))),
        }
    }
}

rigor_guest::scenario!(Bench);
