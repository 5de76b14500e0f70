"""Languages bench guest (Python): `calls` cheap host calls (`clock.now`);
with `gets`, that many GETs of `key:0`, each timed by the host into `get`.
Given `gets` (even 0), the connection opens: run(gets=0) costs everything
but the GETs, which the bench subtracts."""

import rigor
from rigor.redis import Redis


@rigor.scenario("bench-lang-python", "Guest-to-host call overhead",
                params=[rigor.param("calls", 0, "clock.now calls"),
                        rigor.param("gets", 0, "timed Redis GETs of `key:0`")])
def run(p: rigor.Params) -> None:
    now = rigor.now_ns
    for _ in range(p.int("calls")):
        now()
    try:
        gets = p.int("gets")
    except KeyError:
        return  # the call-overhead runs give only `calls`
    h = rigor.Histogram.latency("get")
    with Redis.open("default") as redis:
        get = redis.get
        for _ in range(gets):
            get("key:0", into=h)
