//! cache-baseline: the seed's "Performance Reality (Absolute Measurements)".
//! Clears the scenario's key prefix (the seed's missing `clear_cache()`),
//! then measures the cold path (GET misses) and the warm path (GET hits
//! after a SET) in absolute microseconds, and reports the difference with
//! both distributions.

use rigor_guest::prelude::*;

struct CacheBaseline;

impl Scenario for CacheBaseline {
    fn describe() -> Info {
        Info::new(
            "cache-baseline",
            "Cold (miss) and warm (hit) GET latency in absolute microseconds after clearing the cache prefix",
        )
        .param("ops", "1000", "timed GETs per path")
        .param("value-size", "1024", "bytes per cached value")
        .param("max-hit-p99", "1ms", "p99 of a warm GET above which the scenario fails")
        .param("key-prefix", "rigor:cache-baseline:", "prefix of every key (cleared before and after)")
        .param("target", "default", "Redis target to use")
    }

    fn run(params: &Params) -> Result<()> {
        let ops: u64 = params.get("ops")?;
        let value_size: usize = params.get("value-size")?;
        let max_hit_p99: String = params.get("max-hit-p99")?;
        let prefix: String = params.get("key-prefix")?;
        let target: String = params.get("target")?;
        if ops == 0 {
            return Err(Error::msg("`ops` must be at least 1"));
        }
        let redis = Redis::open(&target)?;

        let cleared = redis.clear_prefix(&prefix)?;
        log::info(format!("cleared {cleared} stale keys under `{prefix}`"));
        let key = |i: u64| format!("{prefix}{i}");

        // Cold path: nothing is cached, every GET misses.
        let miss = Histogram::latency("get.miss");
        let mut unexpected_hits = 0u64;
        for i in 0..ops {
            if redis.get_timed(&key(i), &miss)?.is_some() {
                unexpected_hits += 1;
            }
        }
        check(
            "cold path misses",
            unexpected_hits == 0,
            format!("{unexpected_hits} of {ops} GETs found a value after the prefix was cleared"),
        );

        // Warm path: populate, then every GET hits.
        let value = vec![b'v'; value_size];
        let fill = Histogram::latency("set.fill");
        for i in 0..ops {
            redis.set_timed(&key(i), &value, &fill)?;
        }
        let hit = Histogram::latency("get.hit");
        let mut wrong = 0u64;
        for i in 0..ops {
            match redis.get_timed(&key(i), &hit)? {
                Some(v) if v.len() == value_size => {}
                _ => wrong += 1,
            }
        }
        check(
            "warm path hits",
            wrong == 0,
            format!("{wrong} of {ops} GETs missed or returned a different value"),
        );

        let (m, h) = (miss.summary(), hit.summary());
        let us = |ns: f64| ns / 1e3;
        gauge("hit-minus-miss.mean", h.mean - m.mean, Unit::Nanoseconds);
        gauge(
            "hit-minus-miss.p99",
            h.p99 as f64 - m.p99 as f64,
            Unit::Nanoseconds,
        );
        log::info(format!(
            "miss: mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs | hit ({value_size} B): mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs | difference of means {:+.1} µs",
            us(m.mean),
            us(m.p50 as f64),
            us(m.p99 as f64),
            us(h.mean),
            us(h.p50 as f64),
            us(h.p99 as f64),
            us(h.mean - m.mean)
        ));
        let verdict = threshold("get.hit", &format!("p(99) < {max_hit_p99}"))?;
        if !verdict.passed {
            finding(
                Severity::Medium,
                "Warm cache reads are slow",
                format!(
                    "p99 of a cache hit is {:.0} µs (limit {max_hit_p99})",
                    us(verdict.observed)
                ),
                "Check server load and value sizes; large values cost transfer time on every hit.",
            );
        }

        let removed = redis.clear_prefix(&prefix)?;
        log::info(format!("removed {removed} keys under `{prefix}`"));
        Ok(())
    }
}

rigor_guest::scenario!(CacheBaseline);
