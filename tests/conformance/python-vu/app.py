"""The conformance VU scenario (tests/conformance/SPEC.md) through the
Python SDK: setup data, the VU context, pooled Redis, teardown."""

import rigor
from rigor.redis import Redis


def setup(p: rigor.Params) -> rigor.Params:
    with Redis.open("default") as r:
        r.set("conf:vu", "ready")
    return rigor.Params([("conf", "conf-data")])


def teardown(data: rigor.Params) -> None:
    with Redis.open("default") as r:
        deleted = r.delete("conf:vu")
    rigor.check("vu.teardown", deleted == 1, f"deleted {deleted}")


@rigor.vu_scenario("conformance-vu", "The VU world through the SDK", setup=setup, teardown=teardown)
def iteration(vu: rigor.Vu, data: rigor.Params) -> None:
    rigor.check("vu.data", dict(data.items()).get("conf") == "conf-data", "")
    rigor.check("vu.context", 1 <= vu.id <= 2, f"vu {vu.id}")
    with rigor.Histogram.latency("conf.vu.get") as h:
        value = Redis.pooled("default").get("conf:vu", into=h)
    rigor.check("vu.redis", value == b"ready", "")
    rigor.counter("conf.vu.iterations", 1)
