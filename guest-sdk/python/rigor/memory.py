"""Memory of processes, sampled natively by the host from `/proc`, and leak
detection with statistics: a least-squares slope with its 95 % confidence
interval and R², and the Mann–Kendall trend test. The host and the
scenario's own children are always allowed; a granted Redis server's
process and granted pids too.

    from rigor import memory

    usage = memory.sample(memory.host())
    with memory.Watcher.start("server", memory.redis("default")) as w:
        for _ in range(10):
            do_1000_ops()
            w.ops_done(1000)
        verdict = w.verdict(max_bytes_per_op=64)
        rigor.check("no leak", not verdict.leak, verdict.summary)
"""

from __future__ import annotations

from typing import List, Optional, Union

from wit_world.imports import memory as _memory

from rigor import _ns, _probe

__all__ = [
    "Fit", "Measure", "Point", "Target", "Usage", "Verdict", "Watcher", "child", "host", "pid",
    "redis", "sample",
]

Target = _memory.Target
Measure = _memory.Measure
Usage = _memory.Usage
Point = _memory.Point
Fit = _memory.Fit
Verdict = _memory.Verdict


def host() -> Target:
    """The rigor host process itself."""
    return _memory.Target_Host()


def child(process) -> Target:
    """A child the scenario started (a `rigor.process.Child`, or its pid)."""
    return _memory.Target_Child(int(getattr(process, "pid", process)))


def redis(target: str = "default") -> Target:
    """The server of a granted Redis target running on this machine."""
    return _memory.Target_Redis(target)


def pid(number: int) -> Target:
    """A pid the catalog grants (`pids = [1234]`)."""
    return _memory.Target_Pid(int(number))


def sample(target: Optional[Target] = None) -> Usage:
    """Samples `target` (default: the host) once: `rss`, and `pss`, `uss`,
    `swap` where the kernel has them (else `None`), in bytes."""
    return _probe(_memory.sample, host() if target is None else target)


def _measure(measure: Union[str, Measure]) -> Measure:
    if isinstance(measure, Measure):
        return measure
    try:
        return Measure[str(measure).upper()]
    except KeyError:
        raise ValueError(f"measure `{measure}` is not rss, pss or uss") from None


class Watcher:
    """Follows one process's memory; the baseline is taken when it starts.
    Samples are added every `interval` seconds by the host (when given) and
    whenever `ops_done` is called. A context manager: the watcher is
    released when the block ends (its verdict, if taken, stays in the
    report)."""

    def __init__(self, inner: _memory.Watcher) -> None:
        self._inner = inner

    @classmethod
    def start(cls, name: str, target: Optional[Target] = None, *,
              measure: Union[str, Measure] = "rss", interval: Optional[float] = None) -> "Watcher":
        """Starts a watcher whose metrics are named `name` (`<name>.leak`,
        `<name>.slope-bytes-per-op`, …); `target` defaults to the host."""
        interval_ns = None if interval is None else _ns(interval)
        return cls(_probe(_memory.Watcher.start, name, host() if target is None else target,
                          _measure(measure), interval_ns))

    def _w(self) -> _memory.Watcher:
        if self._inner is None:
            raise ValueError("this watcher is closed")
        return self._inner

    def ops_done(self, k: int = 1) -> Point:
        """Reports `k` more operations done and samples now."""
        return _probe(self._w().ops_done, int(k))

    def series(self) -> List[Point]:
        """The series so far (`t_ns`, `ops`, `bytes` per point)."""
        return self._w().series()

    def verdict(self, *, max_bytes_per_op: Optional[float] = None,
                max_bytes_per_second: Optional[float] = None, alpha: Optional[float] = None) -> Verdict:
        """Judges the series and records it in the report. A leak is a
        significant trend (Mann–Kendall p < `alpha`, 0.05 by default) whose
        slope's lower confidence bound exceeds the limit given (any growth
        without a limit). `.leak`, `.conclusive`, `.summary` say the result."""
        criteria = _memory.Criteria(
            None if max_bytes_per_op is None else float(max_bytes_per_op),
            None if max_bytes_per_second is None else float(max_bytes_per_second),
            None if alpha is None else float(alpha),
        )
        return _probe(self._w().verdict, criteria)

    def stop(self) -> None:
        """Stops interval sampling; the series is kept."""
        self._w().stop()

    def close(self) -> None:
        """Releases the watcher; idempotent."""
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.__exit__(None, None, None)

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
