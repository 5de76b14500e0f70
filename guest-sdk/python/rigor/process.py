"""Child processes through the host: the system under test, a client
script, or a command whose start-up is timed. The host spawns, watches and
stops them natively (each child leads its own process group, and is
stopped and reaped when its handle closes or the scenario ends).

    from rigor import process

    port = process.free_port()
    with process.spawn("./sut/service.py", env={"PORT": str(port)}) as service:
        ready = service.wait_http(f"http://127.0.0.1:{port}/health", timeout=5)
        rigor.gauge("service.ready", ready.after_ns, rigor.Unit.NANOSECONDS)
        exit = service.kill()
        rigor.check("clean stop", exit.success, exit.describe())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from componentize_py_types import Err
from wit_world.imports import process as _process

from rigor import Histogram, ProbeError, _hist, _ns, _probe, _probe_error

__all__ = [
    "Child", "Command", "Exit", "NotReady", "OutputStream", "Ready", "StartupStats",
    "free_port", "spawn", "time_startup", "work_dir",
]

OutputStream = _process.OutputStream
STDOUT = OutputStream.STDOUT
STDERR = OutputStream.STDERR
Ready = _process.Ready
StartupStats = _process.StartupStats
ReadyTimeout = _process.ReadyTimeout


def _status(status) -> Tuple[Optional[int], Optional[int]]:
    """(code, signal) of an `exit-status`."""
    if isinstance(status, _process.ExitStatus_Code):
        return status.value, None
    return None, status.value


@dataclass
class Exit:
    """How a child ended: `code` (or `None` when killed), `signal` (or
    `None`), the time from spawn to exit and the last bytes of its output."""

    code: Optional[int]
    signal: Optional[int]
    after_ns: int
    stdout_tail: str
    stderr_tail: str

    @classmethod
    def _of(cls, e: _process.ChildExit) -> "Exit":
        code, signal = _status(e.status)
        return cls(code, signal, e.after_ns, e.stdout_tail, e.stderr_tail)

    @property
    def success(self) -> bool:
        """Exited with code 0."""
        return self.code == 0

    def describe(self) -> str:
        """`exit code 1` or `killed by signal 9`."""
        return f"exit code {self.code}" if self.code is not None else f"killed by signal {self.signal}"


class NotReady(Exception):
    """A readiness wait did not succeed: `reason` is `exited` (the child
    ended first; `exit` says how) or `timeout` (still not ready; `waited_ns`
    and `last_attempt` say why). A refused wait raises `ProbeError` instead."""

    def __init__(self, reason: str, message: str, exit: Optional[Exit] = None,
                 waited_ns: int = 0, last_attempt: str = "", stderr_tail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.exit = exit
        self.waited_ns = waited_ns
        self.last_attempt = last_attempt
        self.stderr_tail = stderr_tail


def _not_ready(value) -> Exception:
    if isinstance(value, _process.NotReady_Exited):
        e = Exit._of(value.value)
        return NotReady(
            "exited",
            f"the process ended before it was ready: {e.describe()} after {e.after_ns / 1e6:.1f} ms; "
            f"stderr: {e.stderr_tail.strip()[-2000:]}",
            exit=e, stderr_tail=e.stderr_tail,
        )
    if isinstance(value, _process.NotReady_Timeout):
        t = value.value
        return NotReady(
            "timeout",
            f"not ready after {t.waited_ns / 1e6:.1f} ms; last attempt: {t.last_attempt}; "
            f"stderr: {t.stderr_tail.strip()[-2000:]}",
            waited_ns=t.waited_ns, last_attempt=t.last_attempt, stderr_tail=t.stderr_tail,
        )
    return _probe_error(value.value)


def _ready(call, *args) -> Ready:
    try:
        return call(*args)
    except Err as e:
        raise _not_ready(e.value) from None


class Child:
    """A child process started by `spawn` or `Command.spawn`. A context
    manager: when the block ends the host stops it (SIGTERM to its group,
    SIGKILL after a grace period) unless it has ended already."""

    def __init__(self, inner: _process.Child) -> None:
        self._inner = inner

    def _c(self) -> _process.Child:
        if self._inner is None:
            raise ValueError("this child's handle is closed")
        return self._inner

    @property
    def pid(self) -> int:
        """Process id (also its process group id)."""
        return self._c().pid()

    @property
    def elapsed_ns(self) -> int:
        """Nanoseconds since spawn (until exit, once it has ended)."""
        return self._c().elapsed_ns()

    def wait(self, timeout: float = 10.0) -> Optional[Exit]:
        """Waits up to `timeout` seconds for the child to end; `None` when it
        is still running."""
        e = self._c().wait(_ns(timeout))
        return None if e is None else Exit._of(e)

    def kill(self, grace: float = 2.0) -> Exit:
        """SIGTERM to the process group, SIGKILL after `grace` seconds, then
        reaped. A child that had already ended returns that exit."""
        return Exit._of(self._c().kill(_ns(grace)))

    def tail(self, stream: OutputStream = STDOUT) -> str:
        """The last bytes written to a stream (at most 64 KiB are kept)."""
        return self._c().tail(stream)

    @property
    def stdout_tail(self) -> str:
        return self.tail(STDOUT)

    @property
    def stderr_tail(self) -> str:
        return self.tail(STDERR)

    def output_bytes(self, stream: OutputStream = STDOUT) -> int:
        """Total bytes written to a stream, kept or not."""
        return self._c().output_bytes(stream)

    def wait_port(self, port: int, *, timeout: float = 10.0) -> Ready:
        """Waits until `127.0.0.1:port` accepts a TCP connection; raises
        `NotReady`."""
        return _ready(self._c().wait_port, int(port), _ns(timeout))

    def wait_http(self, url: str, status: int = 200, *, timeout: float = 10.0) -> Ready:
        """Waits until `GET url` answers `status` (the host must be granted);
        raises `NotReady`, or `ProbeError` `denied` for an ungranted URL."""
        return _ready(self._c().wait_http, url, int(status), _ns(timeout))

    def wait_line(self, pattern: str, *, stream: OutputStream = STDOUT, timeout: float = 10.0) -> Ready:
        """Waits until a line of `stream` matches the regular expression
        `pattern` (Rust `regex` syntax); `ready.line` is the line. Raises
        `NotReady`, or `ProbeError` `invalid` for a bad pattern."""
        return _ready(self._c().wait_line, stream, pattern, _ns(timeout))

    def close(self) -> None:
        """Releases the handle: the host stops the child if it still runs."""
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.__exit__(None, None, None)

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Command:
    """A program to run. No shell is involved; the environment is empty
    except for `env` (unless `inherit_env`, which needs its grant). `{work}`
    in the program, arguments, environment values and `cwd` stands for the
    scenario's work directory."""

    def __init__(
        self,
        program: str,
        args: Sequence[str] = (),
        *,
        env: Union[Mapping[str, str], Sequence[Tuple[str, str]], None] = None,
        inherit_env: bool = False,
        cwd: Optional[str] = None,
    ) -> None:
        self.program = program
        self.args: List[str] = [str(a) for a in args]
        pairs = env.items() if isinstance(env, Mapping) else (env or ())
        self.env: List[Tuple[str, str]] = [(str(k), str(v)) for k, v in pairs]
        self.inherit_env = inherit_env
        self.cwd = cwd

    @classmethod
    def parse(cls, line: str, **options) -> "Command":
        """Splits a command line on whitespace, honouring single and double
        quotes (no escapes, no variables: there is no shell)."""
        words: List[str] = []
        word, in_word, quote = "", False, None
        for c in line:
            if quote is not None:
                if c == quote:
                    quote = None
                else:
                    word += c
            elif c in "'\"":
                quote, in_word = c, True
            elif c.isspace():
                if in_word:
                    words.append(word)
                    word, in_word = "", False
            else:
                word += c
                in_word = True
        if quote is not None:
            raise ValueError(f"command `{line}` has an unclosed quote")
        if in_word:
            words.append(word)
        if not words:
            raise ValueError("the command line is empty")
        return cls(words[0], words[1:], **options)

    def _wit(self) -> _process.Command:
        return _process.Command(self.program, list(self.args), list(self.env), self.inherit_env, self.cwd)

    def spawn(self) -> Child:
        """Starts the command in its own process group, stdin closed, output
        captured into bounded tails. `ProbeError` `denied` when the program
        is not granted, `io` when it cannot be executed."""
        return Child(_probe(_process.spawn, self._wit()))

    def time_startup(self, *, warmup: int = 0, runs: int = 10, into: Optional[Histogram] = None) -> StartupStats:
        """Times the start-up like `hyperfine -N`: `warmup` untimed runs, then
        `runs` timed ones (1..=10000), each from spawn to exit; every run's
        time is recorded into `into` when given."""
        return _probe(_process.time_startup, self._wit(), int(warmup), int(runs), _hist(into))

    def output(self, timeout: float = 10.0) -> Exit:
        """Runs the command to its end (at most `timeout` seconds, then it is
        killed) and returns how it ended with its output tails."""
        with self.spawn() as child:
            done = child.wait(timeout)
            return done if done is not None else child.kill(0.5)

    def __str__(self) -> str:
        return " ".join([self.program, *self.args])


def spawn(program: str, args: Sequence[str] = (), **options) -> Child:
    """`Command(program, args, **options).spawn()`."""
    return Command(program, args, **options).spawn()


def time_startup(program: str, args: Sequence[str] = (), *, warmup: int = 0, runs: int = 10,
                 into: Optional[Histogram] = None, **options) -> StartupStats:
    """`Command(program, args, **options).time_startup(...)`."""
    return Command(program, args, **options).time_startup(warmup=warmup, runs=runs, into=into)


def work_dir() -> str:
    """The scenario's work directory (its scratch directory; what `{work}`
    stands for and where children start)."""
    return _probe(_process.work_dir)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return _probe(_process.free_port)
