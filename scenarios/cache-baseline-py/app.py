"""cache-baseline-py: the cache baseline in Python. Clears the scenario's key
prefix, then measures the cold path (GET misses) and the warm path (GET hits
after a SET) with single host-timed calls into histograms, and reports the
difference as gauges and a finding. Same metric names as the Rust
`cache-baseline`, so the two can be compared run by run."""

import rigor
from rigor.redis import Redis


@rigor.scenario(
    "cache-baseline-py",
    "Cold (miss) and warm (hit) GET latency after clearing the cache prefix, in Python",
    params=[
        rigor.param("ops", 1000, "timed GETs per path"),
        rigor.param("value-size", "1KiB", "size of every cached value"),
        rigor.param("max-hit-p99", "1ms", "p99 of a warm GET above which the scenario fails"),
        rigor.param("key-prefix", "rigor:cache-baseline-py:", "prefix of every key (cleared before and after)"),
        rigor.param("target", "default", "Redis target to use"),
    ],
)
def run(p: rigor.Params) -> None:
    ops = p.int("ops")
    if ops < 1:
        raise ValueError("`ops` must be at least 1")
    value = b"v" * p.size("value-size")
    prefix = p.str("key-prefix")
    max_hit_p99 = p.str("max-hit-p99")

    with Redis.open(p.str("target")) as redis, \
            rigor.Histogram.latency("get.miss") as miss, \
            rigor.Histogram.latency("set.fill") as fill, \
            rigor.Histogram.latency("get.hit") as hit:
        cleared = redis.clear_prefix(prefix)
        rigor.log.info(f"cleared {cleared} stale keys under `{prefix}`")

        # Cold path: nothing is cached, every GET misses.
        unexpected = sum(1 for i in range(ops) if redis.get(f"{prefix}{i}", into=miss) is not None)
        rigor.check("cold path misses", unexpected == 0,
                    f"{unexpected} of {ops} GETs found a value after the prefix was cleared")

        # Warm path: populate, then every GET hits.
        for i in range(ops):
            redis.set(f"{prefix}{i}", value, into=fill)
        wrong = sum(1 for i in range(ops) if redis.get(f"{prefix}{i}", into=hit) != value)
        rigor.check("warm path hits", wrong == 0,
                    f"{wrong} of {ops} GETs missed or returned a different value")

        m, h = miss.summary(), hit.summary()
        rigor.gauge("hit-minus-miss.mean", h.mean - m.mean, rigor.Unit.NANOSECONDS)
        rigor.gauge("hit-minus-miss.p99", h.p99 - m.p99, rigor.Unit.NANOSECONDS)
        rigor.finding(
            rigor.Severity.INFO,
            "Warm hit versus cold miss",
            f"miss: mean {m.mean / 1e3:.1f} µs, p99 {m.p99 / 1e3:.1f} µs; "
            f"hit ({len(value)} B): mean {h.mean / 1e3:.1f} µs, p99 {h.p99 / 1e3:.1f} µs; "
            f"difference of means {(h.mean - m.mean) / 1e3:+.1f} µs",
            "A hit costs the transfer of the value; compare with the miss to size values.",
        )
        verdict = rigor.threshold("get.hit", f"p(99) < {max_hit_p99}")
        if not verdict.passed:
            rigor.finding(
                rigor.Severity.MEDIUM,
                "Warm cache reads are slow",
                f"p99 of a cache hit is {verdict.observed / 1e3:.0f} µs (limit {max_hit_p99})",
                "Check server load and value sizes; large values cost transfer time on every hit.",
            )
        removed = redis.clear_prefix(prefix)
        rigor.log.info(f"removed {removed} keys under `{prefix}`")
