"""VU bench guest (Python): one pooled Redis GET, then `sleep-ms`."""

import rigor
from rigor.redis import Redis


@rigor.vu_scenario("bench-vu-python", "One pooled GET and a sleep per iteration",
                   params=[rigor.param("sleep-ms", 1000, "pause after the GET")])
def iteration(vu: rigor.Vu, data: rigor.Params) -> None:
    Redis.pooled("default").command(["GET", f"bench:vu:{vu.id % 1024}"])
    rigor.sleep(data.int("sleep-ms") / 1000)
