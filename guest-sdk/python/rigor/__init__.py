"""rigor: write Rigor scenarios in Python.

A thin layer over the `rigor:scenario@0.1.0` bindings that componentize-py
generates at build time (`wit_world`). Everything timed happens in the host:
pass a histogram to a probe call (`redis.get(key, into=hist)`) and the host
records the round trip natively. There is deliberately no Python-side timer.

This package is the core (parameters, clock, metrics, report, scenario
exports, virtual users). Each probe has its own module, imported when used:
`rigor.redis`, `rigor.process`, `rigor.fs`, `rigor.http`, `rigor.memory`,
`rigor.websocket`. The build imports into the component only the contract
interfaces of the modules the scenario imports, so `rigor inspect` shows
exactly what it can reach.

    import rigor
    from rigor.redis import Redis

    @rigor.scenario("ping", "PING round trip", params=[rigor.param("ops", 100, "timed PINGs")])
    def run(p: rigor.Params) -> None:
        with Redis.open("default") as redis, rigor.Histogram.latency("ping") as h:
            for _ in range(p.int("ops")):
                redis.command(["PING"], into=h)
        rigor.threshold("ping", "p(99) < 1ms")

Durations given to the SDK are seconds (floats); durations it returns are
nanoseconds (ints, fields ending in `_ns`), as the host measured them.
`rigor build` bundles this package with the scenario's `app.py`.
"""

from __future__ import annotations

import sys
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

import wit_world
from componentize_py_types import Err
from wit_world.imports import clock as _clock
from wit_world.imports import metrics as _metrics
from wit_world.imports import report as _report
from wit_world.imports import types as _types

__all__ = [
    "Histogram", "Level", "ParamSpec", "Params", "ProbeError", "Severity", "Summary", "Unit",
    "Verdict", "check", "checking", "counter", "finding", "gauge", "log", "now_ns", "param",
    "scenario", "sleep", "threshold", "Vu", "vu_scenario",
]

Unit = _metrics.Unit
Summary = _metrics.Summary
Severity = _report.Severity
Level = _report.Level
Verdict = _report.Verdict


# ---------------------------------------------------------------- errors


class ProbeError(Exception):
    """A probe call failed. `kind` is one of `denied`, `timeout`, `connection`,
    `io`, `invalid`, `server`; the message says what to do about it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _probe_error(value) -> ProbeError:
    """The `ProbeError` of a `probe-error` value (`ProbeError_Denied(...)`)."""
    kind = type(value).__name__.split("_", 1)[-1].lower()
    return ProbeError(kind, str(getattr(value, "value", value)))


def _probe(call: Callable, *args):
    """Calls an import whose `err` is a `probe-error`, raising `ProbeError`."""
    try:
        return call(*args)
    except Err as e:
        raise _probe_error(e.value) from None


# ---------------------------------------------------------------- params


class ParamSpec:
    """A parameter the scenario reads: name, default (as text) and help."""

    def __init__(self, name: str, default: object, help: str = "") -> None:
        self.name = name
        if isinstance(default, (list, tuple)):
            default = ",".join(str(v) for v in default)
        elif isinstance(default, bool):
            default = "true" if default else "false"
        self.default = str(default)
        self.help = help


def param(name: str, default: object, help: str = "") -> ParamSpec:
    """Declares a parameter for `describe()`; the catalog declares its type."""
    return ParamSpec(name, default, help)


_DURATION_UNITS = {
    "ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
    "m": 60_000_000_000, "min": 60_000_000_000, "h": 3_600_000_000_000,
}
_SIZE_UNITS = {
    "": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3,
}


def _split_number(text: str) -> Tuple[float, str]:
    text = text.strip()
    i = 0
    while i < len(text) and (text[i].isdigit() or text[i] == "."):
        i += 1
    return float(text[:i]), text[i:].strip()


class Params:
    """The run's parameters: already type-checked by the host against the
    catalog and completed with defaults, so reading them rarely fails."""

    def __init__(self, pairs: Sequence[Tuple[str, str]]) -> None:
        self._values = dict(pairs)

    def raw(self, name: str) -> str:
        if name not in self._values:
            raise KeyError(f"parameter `{name}` is missing: declare it in the catalog with a default")
        return self._values[name]

    def str(self, name: str) -> str:
        return self.raw(name)

    def int(self, name: str) -> int:
        return int(self.raw(name).replace("_", ""))

    def float(self, name: str) -> float:
        return float(self.raw(name))

    def bool(self, name: str) -> bool:
        return self.raw(name).strip().lower() in ("true", "yes", "1")

    def list(self, name: str) -> List[str]:
        return [v.strip() for v in self.raw(name).split(",") if v.strip()]

    def duration_ns(self, name: str) -> int:
        """A duration parameter (`5s`, `250ms`, `1m 30s`) in nanoseconds."""
        total = 0
        for part in self.raw(name).split():
            number, unit = _split_number(part)
            total += int(number * _DURATION_UNITS[unit])
        return total

    def size(self, name: str) -> int:
        """A size parameter (`100B`, `10KiB`) in bytes."""
        number, unit = _split_number(self.raw(name))
        return int(number * _SIZE_UNITS[unit])

    def items(self) -> Iterable[Tuple[str, str]]:
        return self._values.items()


# ---------------------------------------------------------------- clock


def now_ns() -> int:
    """Monotonic time, for pacing only: probe calls are timed by the host."""
    return _clock.now()


def sleep(seconds: float) -> None:
    """Suspends the scenario for `seconds` (the scenario's deadline still applies)."""
    _clock.sleep(max(0, int(seconds * 1e9)))


# ---------------------------------------------------------------- metrics


class Histogram:
    """An HDR histogram owned by the host. Use it as a context manager so the
    handle is released as soon as the block ends."""

    def __init__(self, name: str, unit: Unit = Unit.NANOSECONDS) -> None:
        self._inner = _metrics.Histogram(name, unit)

    @classmethod
    def latency(cls, name: str) -> "Histogram":
        """A histogram of durations in nanoseconds: what timed probe calls record."""
        return cls(name, Unit.NANOSECONDS)

    def record(self, value: int) -> None:
        """Records one value (0 is recorded as 1)."""
        self._inner.record(int(value))

    def record_many(self, values: Sequence[int]) -> None:
        """Records many values in one host call."""
        self._inner.record_many([int(v) for v in values])

    def summary(self) -> _metrics.Summary:
        """Current statistics: `count`, `min`, `max`, `mean`, `stdev`, `p50` … `p999`."""
        return self._inner.summary()

    @property
    def name(self) -> str:
        return self._inner.name()

    def close(self) -> None:
        """Releases the host handle (the data stays in the report); idempotent."""
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.__exit__(None, None, None)

    def __enter__(self) -> "Histogram":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def gauge(name: str, value: float, unit: Unit = Unit.NONE) -> None:
    """Sets the gauge `name` (setting it again replaces the value)."""
    _metrics.gauge(name, float(value), unit)


def counter(name: str, delta: int = 1) -> None:
    """Adds `delta` (at least 0) to the counter `name`."""
    _metrics.counter_add(name, int(delta))


# ---------------------------------------------------------------- report


def check(name: str, passed: bool, detail: str = "") -> bool:
    """Records a pass/fail check and returns `passed`."""
    _report.check(name, bool(passed), detail)
    return bool(passed)


class checking:
    """A check as a block: passes when the block ends normally, fails with the
    message of an `AssertionError` raised inside it (which is swallowed so the
    scenario goes on). Other exceptions propagate after failing the check.

        with rigor.checking("GET returns what SET wrote"):
            assert value == expected, f"got {value!r}"
    """

    def __init__(self, name: str, detail: str = "") -> None:
        self.name = name
        self.detail = detail

    def __enter__(self) -> "checking":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            check(self.name, True, self.detail)
            return False
        check(self.name, False, str(exc) or exc_type.__name__)
        return isinstance(exc, AssertionError)


def threshold(metric: str, expression: str) -> _report.Verdict:
    """Evaluates a k6-style threshold (`p(99) < 1ms`) in the host, now; the
    verdict is recorded in the report and returned."""
    return _probe(_report.threshold, metric, expression)


def finding(severity: Severity, title: str, detail: str = "", action: str = "") -> None:
    """Records a finding: a bug, a risk or an observation for a reviewer."""
    _report.add_finding(_report.Finding(severity, title, detail, action))


class log:
    """Lines in the scenario's log in the report."""

    @staticmethod
    def debug(message: str) -> None:
        _report.log(_report.Level.DEBUG, message)

    @staticmethod
    def info(message: str) -> None:
        _report.log(_report.Level.INFO, message)

    @staticmethod
    def warn(message: str) -> None:
        _report.log(_report.Level.WARN, message)

    @staticmethod
    def error(message: str) -> None:
        _report.log(_report.Level.ERROR, message)


# ---------------------------------------------------------------- helpers for the probe modules


def _bytes(value: Union[str, bytes]) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _hist(into: Optional[Histogram]):
    """The host handle of `into`, for a probe's `into=` argument."""
    return None if into is None else into._inner


def _ns(seconds: Optional[float]) -> int:
    """Seconds as nanoseconds for a probe's timeout; `None` is 0, which the
    host reads as its default."""
    if seconds is None:
        return 0
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {seconds} s")
    return max(1, int(seconds * 1e9))


# ---------------------------------------------------------------- export


def scenario(name: str, description: str, params: Sequence[ParamSpec] = ()):
    """Exports the decorated `run(params: Params)` function as the component's
    scenario. Returning normally means the scenario ran to the end (checks and
    thresholds decide pass or fail); an exception ends it as errored."""

    def decorate(run: Callable[[Params], None]) -> Callable[[Params], None]:
        info = _types.ScenarioInfo(
            name, description, [_types.ParamInfo(p.name, p.default, p.help) for p in params]
        )

        class _Export(wit_world.WitWorld):
            def describe(self) -> _types.ScenarioInfo:
                return info

            def run(self, pairs: List[Tuple[str, str]]) -> None:
                try:
                    run(Params(pairs))
                except Err:
                    raise
                except Exception as e:  # noqa: BLE001 - every failure becomes the run's err
                    raise Err(f"{type(e).__name__}: {e}") from None

        # componentize-py looks for `WitWorld` in the application module.
        sys.modules[run.__module__].WitWorld = _Export
        return run

    return decorate


# ------------------------------------------------------------ virtual users


class Vu:
    """What one iteration of a virtual user is told about itself."""

    __slots__ = ("id", "iteration", "scenario_iteration", "seed")

    def __init__(self, ctx) -> None:
        self.id = ctx.vu
        self.iteration = ctx.iteration
        self.scenario_iteration = ctx.scenario_iteration
        self.seed = ctx.seed


def _encode(params: "Params") -> bytes:
    out = bytearray()
    for name, value in params.items():
        out += name.encode() + b"\0" + value.encode() + b"\0"
    return bytes(out)


def _decode(data: bytes) -> "Params":
    fields = bytes(data).split(b"\0")
    pairs = [
        (fields[i].decode(errors="replace"), fields[i + 1].decode(errors="replace"))
        for i in range(0, len(fields) - 1, 2)
    ]
    return Params(pairs)


def vu_scenario(
    name: str,
    description: str,
    params: Sequence[ParamSpec] = (),
    setup: Optional[Callable[["Params"], "Params"]] = None,
    teardown: Optional[Callable[["Params"], None]] = None,
):
    """Exports the decorated `iteration(vu: Vu, data: Params)` as a
    virtual-user scenario (the `vu-scenario` world): many VUs run it under
    the executor the catalog gives. `setup(params)` runs once first and
    returns the data every iteration gets (default: the parameters);
    `teardown(data)` runs once at the end. An exception fails that
    iteration only."""

    def wrap(body):
        try:
            return body()
        except Err:
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes the call's err
            raise Err(f"{type(e).__name__}: {e}") from None

    def decorate(iteration: Callable[[Vu, "Params"], None]):
        info = _types.ScenarioInfo(
            name, description, [_types.ParamInfo(p.name, p.default, p.help) for p in params]
        )
        # Decoded once per instance: the data is the same for every call.
        cache: dict = {}

        def data_of(raw: bytes) -> "Params":
            key = bytes(raw)
            if cache.get("key") != key:
                cache["key"], cache["data"] = key, _decode(key)
            return cache["data"]

        class _Export(wit_world.WitWorld):
            def describe(self) -> _types.ScenarioInfo:
                return info

            def setup(self, pairs: List[Tuple[str, str]]) -> bytes:
                given = Params(pairs)
                return wrap(lambda: _encode(setup(given) if setup else given))

            def iteration(self, vu, data: bytes) -> None:
                wrap(lambda: iteration(Vu(vu), data_of(data)))

            def teardown(self, data: bytes) -> None:
                if teardown:
                    wrap(lambda: teardown(data_of(data)))

        sys.modules[iteration.__module__].WitWorld = _Export
        return iteration

    return decorate

