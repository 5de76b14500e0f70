"""{{name}}: SET then GET `ops` keys against Redis, each round trip timed by
the host into the `set` and `get` histograms; checks that every GET returns
what SET wrote and that GET stays fast."""

import rigor
from rigor.redis import Redis


@rigor.scenario(
    "{{name}}",
    "SET then GET round trips against the default Redis target",
    params=[
        rigor.param("ops", 100, "timed SETs and GETs"),
        rigor.param("key-prefix", "rigor:{{name}}:", "prefix of every key written (removed at the end)"),
    ],
)
def run(p: rigor.Params) -> None:
    ops = p.int("ops")
    prefix = p.str("key-prefix")
    with Redis.open("default") as redis, \
            rigor.Histogram.latency("set") as set_latency, \
            rigor.Histogram.latency("get") as get_latency:
        for i in range(ops):
            redis.set(f"{prefix}{i}", f"value-{i}", into=set_latency)
        wrong = 0
        for i in range(ops):
            if redis.get(f"{prefix}{i}", into=get_latency) != f"value-{i}".encode():
                wrong += 1
        rigor.check("get returns what set wrote", wrong == 0, f"{wrong} of {ops} GETs differed")
        rigor.threshold("get", "p(99) < 100ms")
        removed = redis.clear_prefix(prefix)
        rigor.log.info(f"removed {removed} keys under {prefix}")
