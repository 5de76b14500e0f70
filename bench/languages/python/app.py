"""Languages bench guest (Python): `calls` cheap host calls (`clock.now`)."""

import rigor


@rigor.scenario("bench-lang-python", "Guest-to-host call overhead",
                params=[rigor.param("calls", 0, "clock.now calls")])
def run(p: rigor.Params) -> None:
    now = rigor.now_ns
    for _ in range(p.int("calls")):
        now()
