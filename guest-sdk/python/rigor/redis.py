"""Redis through the host: connections to targets the catalog grants, each
call timed natively (pass `into=` a histogram to record the round trip),
and `Load`, a concurrent load the host runs natively.

    from rigor.redis import Load, Redis

    with Redis.open("default") as redis:
        redis.set("k", "v")
        assert redis.get("k") == b"v"
    result = Load("default", workers=50, ops_per_worker=100).set(1).get(1).run()
    rigor.threshold("load.throughput", "value > 5000ops/s")
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Union

from wit_world.imports import redis as _redis

from rigor import Histogram, _bytes, _hist, _probe

__all__ = [
    "ConnectionMode", "Load", "LoadResult", "Op", "Redis", "Reply", "run_load",
    "Nil", "Status", "Integer", "Bulk", "Array",
]

Reply = _redis.Reply
Nil = _redis.Reply_Nil
Status = _redis.Reply_Status
Integer = _redis.Reply_Integer
Bulk = _redis.Reply_Bulk
Array = _redis.Reply_Array
ConnectionMode = _redis.ConnectionMode
LoadResult = _redis.LoadResult


class Redis:
    """A connection to a Redis target granted by the catalog. Every call is
    timed by the host; pass `into=` to record the round trip in a histogram.
    A context manager: the connection closes when the block ends."""

    def __init__(self, conn: _redis.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, target: str = "default") -> "Redis":
        """Opens a connection; `ProbeError` `denied` for an ungranted target,
        `connection` when the server cannot be reached."""
        return cls(_probe(_redis.Connection.open, target))

    @classmethod
    def pooled(cls, target: str = "default") -> "Redis":
        """A handle whose calls borrow a link from the scenario's shared pool:
        what virtual users use. `MULTI`, `SELECT`, blocking pops and other
        connection-state commands are refused on it (`invalid`)."""
        return cls(_probe(_redis.Connection.open_pooled, target))

    def _c(self) -> _redis.Connection:
        if self._conn is None:
            raise ValueError("this Redis connection is closed")
        return self._conn

    def set(self, key: str, value: Union[str, bytes], *, into: Optional[Histogram] = None) -> int:
        """`SET key value`; returns the round-trip time in nanoseconds."""
        return _probe(self._c().set, key, _bytes(value), _hist(into))

    def get(self, key: str, *, into: Optional[Histogram] = None) -> Optional[bytes]:
        """`GET key`; `None` on a miss."""
        return _probe(self._c().get, key, _hist(into)).value

    def get_str(self, key: str, *, into: Optional[Histogram] = None) -> Optional[str]:
        """`GET key` decoded as UTF-8 (invalid bytes replaced); `None` on a miss."""
        value = self.get(key, into=into)
        return None if value is None else value.decode(errors="replace")

    def delete(self, *keys: str, into: Optional[Histogram] = None) -> int:
        """`DEL keys...`; returns how many keys were removed."""
        return _probe(self._c().del_, list(keys), _hist(into))

    def command(self, args: Sequence[Union[str, bytes]], *, into: Optional[Histogram] = None) -> Reply:
        """Any command (`["HSET", "h", "f", "v"]`). The reply is one of `Nil`,
        `Status`, `Integer`, `Bulk`, `Array` (its payload in `.value`); an
        error reply raises `ProbeError` `server`."""
        return _probe(self._c().command, [_bytes(a) for a in args], _hist(into)).reply

    def clear_prefix(self, prefix: str) -> int:
        """Removes every key starting with `prefix` (never flushes the database)."""
        return _probe(self._c().clear_prefix, prefix)

    def close(self) -> None:
        """Closes the connection; idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.__exit__(None, None, None)

    def __enter__(self) -> "Redis":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Op:
    """Operations of a load's mix: `Op.get()`, `Op.set(3)`, `Op.raw("hset",
    ["HSET", "{key}", "f", "{value}"])`. Each carries its weight and an
    optional metric name (default: the command)."""

    def __init__(self, op: _redis.LoadOp, weight: int = 1, name: Optional[str] = None) -> None:
        self.weighted = _redis.WeightedOp(op, int(weight), name)

    @classmethod
    def set(cls, weight: int = 1, name: Optional[str] = None) -> "Op":
        return cls(_redis.LoadOp_Set(), weight, name)

    @classmethod
    def get(cls, weight: int = 1, name: Optional[str] = None) -> "Op":
        return cls(_redis.LoadOp_Get(), weight, name)

    @classmethod
    def delete(cls, weight: int = 1, name: Optional[str] = None) -> "Op":
        return cls(_redis.LoadOp_Del(), weight, name)

    @classmethod
    def incr(cls, weight: int = 1, name: Optional[str] = None) -> "Op":
        return cls(_redis.LoadOp_Incr(), weight, name)

    @classmethod
    def expire(cls, seconds: int, weight: int = 1, name: Optional[str] = None) -> "Op":
        return cls(_redis.LoadOp_Expire(int(seconds)), weight, name)

    @classmethod
    def raw(cls, name: str, args: Sequence[str], weight: int = 1) -> "Op":
        """Any command; `{key}` and `{value}` in an argument are replaced."""
        return cls(_redis.LoadOp_Raw([str(a) for a in args]), weight, name)


def _ms(seconds: float) -> int:
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {seconds} s")
    return int(seconds * 1000)


class Load:
    """A native concurrent load on a Redis target, run by the host.

    Defaults: 1 worker, 1000 ops per worker, no warm-up, closed model,
    100-byte values, 10,000 uniformly drawn keys under `rigor:load:`, no
    pipelining, one connection per worker, metrics under `load`
    (`load.get`, `load.throughput`, `load.error-rate`). Add the mix with
    `mix=[Op.get(), ...]` or the chainable `.set()`, `.get()`, … Durations
    are seconds; `duration` replaces `ops_per_worker`, `rate` (ops/s in
    total) makes it an open-model load."""

    def __init__(
        self,
        target: str = "default",
        *,
        workers: int = 1,
        ops_per_worker: int = 1000,
        duration: Optional[float] = None,
        warmup_ops: int = 0,
        warmup: Optional[float] = None,
        rate: Optional[float] = None,
        mix: Sequence[Op] = (),
        value_size: int = 100,
        document: Union[str, bytes, None] = None,
        key_prefix: str = "rigor:load:",
        key_count: int = 10_000,
        sequential_keys: bool = False,
        pipeline: int = 1,
        shared_connection: bool = False,
        timeout: Optional[float] = None,
        threads: Optional[int] = None,
        metric_prefix: Optional[str] = None,
    ) -> None:
        self.target = target
        self.workers = workers
        self.ops_per_worker = ops_per_worker
        self.duration = duration
        self.warmup_ops = warmup_ops
        self.warmup = warmup
        self.rate = rate
        self.mix: List[Op] = list(mix)
        self.value_size = value_size
        self.document = document
        self.key_prefix = key_prefix
        self.key_count = key_count
        self.sequential_keys = sequential_keys
        self.pipeline = pipeline
        self.shared_connection = shared_connection
        self.timeout = timeout
        self.threads = threads
        self.metric_prefix = metric_prefix

    def op(self, op: Op) -> "Load":
        """Adds an op to the mix; returns the load, for chaining."""
        self.mix.append(op)
        return self

    def set(self, weight: int = 1) -> "Load":
        return self.op(Op.set(weight))

    def get(self, weight: int = 1) -> "Load":
        return self.op(Op.get(weight))

    def delete(self, weight: int = 1) -> "Load":
        return self.op(Op.delete(weight))

    def incr(self, weight: int = 1) -> "Load":
        return self.op(Op.incr(weight))

    def expire(self, seconds: int, weight: int = 1) -> "Load":
        return self.op(Op.expire(seconds, weight))

    def raw(self, name: str, args: Sequence[str], weight: int = 1) -> "Load":
        return self.op(Op.raw(name, args, weight))

    def spec(self) -> _redis.LoadSpec:
        """The contract's `load-spec` this load sends."""
        amount = (
            _redis.LoadAmount_DurationMs(_ms(self.duration))
            if self.duration is not None
            else _redis.LoadAmount_OpsPerWorker(int(self.ops_per_worker))
        )
        warmup = (
            _redis.LoadAmount_DurationMs(_ms(self.warmup))
            if self.warmup is not None
            else _redis.LoadAmount_OpsPerWorker(int(self.warmup_ops))
        )
        model = _redis.LoadModel_Closed() if self.rate is None else _redis.LoadModel_Open(float(self.rate))
        value = (
            _redis.LoadValue_Document(_bytes(self.document))
            if self.document is not None
            else _redis.LoadValue_Bytes(int(self.value_size))
        )
        keys = _redis.KeySpace(
            self.key_prefix,
            int(self.key_count),
            _redis.KeyPattern.SEQUENTIAL if self.sequential_keys else _redis.KeyPattern.UNIFORM,
        )
        return _redis.LoadSpec(
            target=self.target,
            workers=int(self.workers),
            amount=amount,
            warmup=warmup,
            model=model,
            mix=[op.weighted for op in self.mix],
            value=value,
            keys=keys,
            pipeline=int(self.pipeline),
            connections=ConnectionMode.SHARED if self.shared_connection else ConnectionMode.PER_WORKER,
            timeout_ms=None if self.timeout is None else min(_ms(self.timeout), 2**32 - 1),
            threads=self.threads,
            metric_prefix=self.metric_prefix,
        )

    def run(self) -> LoadResult:
        """Runs the load on the host and waits for it. `ProbeError` `invalid`
        names a field that cannot run, `denied` an ungranted target; failures
        during the load are counted in the result, not raised."""
        return _probe(_redis.run_load, self.spec())


def run_load(target: str = "default", **options) -> LoadResult:
    """`Load(target, **options).run()`."""
    return Load(target, **options).run()
