"""The conformance scenario (tests/conformance/SPEC.md) through the Python
SDK: every probe of the contract, its success and its error paths."""

import rigor
from rigor import memory, process
from rigor.fs import Dir, EntryKind, IoLoad
from rigor.http import Load as HttpLoad
from rigor.http import Request
from rigor.redis import Integer, Load, Redis
from rigor.websocket import Binary, Text, WebSocket
from rigor.websocket import Load as WsLoad

SUT = "../../scenarios/sut/service.py"
WAIT = 5.0


def expect(name, outcome):
    """Records `name` as passed iff `outcome()` returns true; a failed call
    is a failed check with the error as its detail, and the run goes on."""
    try:
        passed = bool(outcome())
    except Exception as e:  # noqa: BLE001 - any failure is the check's failure
        return rigor.check(name, False, f"{type(e).__name__}: {e}")
    return rigor.check(name, passed, "")


def expect_error(name, kind, call):
    """Passes iff `call()` raised the probe error `kind`."""
    try:
        call()
    except rigor.ProbeError as e:
        return rigor.check(name, e.kind == kind, str(e))
    except Exception as e:  # noqa: BLE001
        return rigor.check(name, False, f"{type(e).__name__}: {e}")
    return rigor.check(name, False, "the call succeeded")


def clock_and_metrics():
    t0 = rigor.now_ns()
    rigor.sleep(0.002)
    t1 = rigor.now_ns()
    rigor.check("clock.sleep", t1 - t0 >= 2_000_000, f"{t1 - t0} ns")
    values = rigor.Histogram("conf.values", rigor.Unit.COUNT)
    for v in range(1, 51):
        values.record(v)
    values.record_many(range(51, 101))
    s = values.summary()
    rigor.check("metrics.histogram", s.count == 100 and s.min == 1 and s.max == 100 and values.name == "conf.values",
                str(s))
    rigor.gauge("conf.gauge", 42.5, rigor.Unit.NONE)
    rigor.counter("conf.counter", 3)
    rigor.counter("conf.counter", 4)


def report_calls():
    rigor.log.info("conformance: started")

    def threshold_passes():
        v = rigor.threshold("conf.values", "max<=100")
        return v.passed and v.observed == 100

    expect("report.threshold", threshold_passes)
    expect_error("report.threshold-invalid", "invalid", lambda: rigor.threshold("conf.values", "p(99)<<1"))
    rigor.finding(rigor.Severity.LOW, "conformance finding", "recorded by the SDK", "none")


def redis(ops):
    try:
        r = Redis.open("default")
    except Exception as e:  # noqa: BLE001
        return rigor.check("redis.open", False, str(e))
    with r:
        try:
            r.clear_prefix("conf:")
        except rigor.ProbeError:
            pass
        h = rigor.Histogram.latency("conf.redis")
        try:
            r.set("conf:key", "value", into=h)
        except rigor.ProbeError:
            pass
        expect("redis.get", lambda: r.get("conf:key", into=h) == b"value")
        expect("redis.get-missing", lambda: r.get("conf:missing") is None)
        expect("redis.del", lambda: r.delete("conf:key") == 1)
        expect("redis.command", lambda: r.command(["INCRBY", "conf:n", "5"]) == Integer(5))
        expect_error("redis.denied", "denied", lambda: r.command(["FLUSHALL"]))
        expect_error("redis.target-denied", "denied", lambda: Redis.open("nowhere"))

        def load():
            result = Load("default", workers=2, ops_per_worker=ops, warmup_ops=0, value_size=16,
                          key_prefix="conf:load:", key_count=50, metric_prefix="conf.load").set(1).get(1).run()
            return result.ok == 2 * ops and result.errors == 0

        expect("redis.run-load", load)
        expect("redis.pooled", lambda: Redis.pooled("default").get("conf:n") == b"5")
        expect("redis.clear-prefix", lambda: r.clear_prefix("conf:") >= 1)


def start_service():
    """Starts the service under test; returns it with its base URL, or None."""
    expect("process.work-dir", lambda: process.work_dir() is not None)
    try:
        port = process.free_port()
    except Exception as e:  # noqa: BLE001
        rigor.check("process.free-port", False, str(e))
        return None
    rigor.check("process.free-port", port > 0, str(port))
    base = f"http://127.0.0.1:{port}"
    service = None
    try:
        child = process.spawn(SUT, env={"PORT": str(port), "APP_ENV": "production",
                                        "SECRET_KEY": "conformance", "PYTHONUNBUFFERED": "1"})
        expect("process.wait-http", lambda: child.wait_http(f"{base}/health", 200, timeout=10) is not None)
        expect("process.wait-line", lambda: child.wait_line("listening on", timeout=WAIT) is not None)
        service = (child, base)
    except Exception as e:  # noqa: BLE001
        rigor.check("process.wait-http", False, str(e))
        rigor.check("process.wait-line", False, str(e))
    startup = rigor.Histogram.latency("conf.startup")

    def timed():
        t = process.time_startup("/bin/true", warmup=1, runs=5, into=startup)
        return t.runs == 5 and t.failed_runs == 0

    expect("process.time-startup", timed)
    expect_error("process.denied", "denied", lambda: process.spawn("/bin/cat"))
    expect_error("process.env-denied", "denied", lambda: process.spawn("/bin/true", env={"LD_PRELOAD": "x.so"}))
    return service


def http(base, ops):
    h = rigor.Histogram.latency("conf.http")
    expect("http.send", lambda: Request("GET", f"{base}/health", timeout=WAIT).send(into=h).status == 200)
    expect("http.status", lambda: Request("GET", f"{base}/missing", timeout=WAIT).send().status == 404)
    expect_error("http.denied", "denied", lambda: Request("GET", "http://192.0.2.1/", timeout=1).send())

    def load():
        l = HttpLoad(Request("GET", f"{base}/health", timeout=WAIT), "conf.http.load",
                     workers=2, connections=2, threads=1, requests=ops).run()
        return l.ok == ops and l.failed == 0

    expect("http.run-load", load)


def websocket(base, ops):
    url = base.replace("http://", "ws://") + "/ws/echo"
    names = ["websocket.echo", "websocket.binary", "websocket.ping", "websocket.close"]
    try:
        ws = WebSocket.connect(url, timeout=WAIT)
    except Exception as e:  # noqa: BLE001
        for name in names:
            rigor.check(name, False, str(e))
    else:
        with ws:
            try:
                ws.send_text("conformance")
            except rigor.ProbeError:
                pass
            expect("websocket.echo", lambda: ws.receive(timeout=WAIT) == Text("conformance"))
            try:
                ws.send_binary(bytes([1, 2, 3]))
            except rigor.ProbeError:
                pass
            expect("websocket.binary", lambda: ws.receive(timeout=WAIT) == Binary(bytes([1, 2, 3])))
            ping = rigor.Histogram.latency("conf.ws.ping")
            expect("websocket.ping", lambda: ws.ping(into=ping, timeout=WAIT) is not None)
            expect("websocket.close", lambda: ws.close(1000, "done", timeout=WAIT) == 1000)
    expect_error("websocket.denied", "denied", lambda: WebSocket.connect("ws://192.0.2.1/", timeout=1))

    def load():
        l = WsLoad(url, "conf.ws.load", connections=2, messages=ops, template='{"id":"{id}"}', text=True,
                   placeholder="{id}", json_id="id", grace=2, max_message_bytes=65536).run()
        return l.matched == l.sent and l.sent > 0 and l.lost == 0

    expect("websocket.run-load", load)


def files(ops):
    try:
        d = Dir.scratch()
    except Exception as e:  # noqa: BLE001
        return rigor.check("fs.scratch", False, str(e))
    with d:
        h = rigor.Histogram.latency("conf.fs")

        def quietly(call, *args, **kwargs):
            try:
                call(*args, **kwargs)
            except rigor.ProbeError:
                pass

        quietly(d.write, "a.txt", b"hello", into=h)
        expect("fs.read", lambda: d.read("a.txt", into=h) == b"hello")
        quietly(d.append, "a.txt", b"!")
        expect("fs.append", lambda: d.read("a.txt") == b"hello!")
        quietly(d.mkdir, "sub")
        quietly(d.fill, "sub/b.bin", 4096)

        def listed():
            entries = {(e.name, e.kind) for e in d.list(".").entries}
            return ("a.txt", EntryKind.FILE) in entries and ("sub", EntryKind.DIRECTORY) in entries

        expect("fs.list", listed)
        quietly(d.rename, "a.txt", "c.txt")
        quietly(d.delete, "c.txt")
        expect("fs.rename-delete", lambda: not {"a.txt", "c.txt"} & {e.name for e in d.list(".").entries})
        quietly(d.dump, "rows.csv", ["name", "value"], [["a", "1"], ["b", "2"]], "csv")
        expect("fs.dump", lambda: "a,1" in d.read_text("rows.csv"))
        expect_error("fs.escape-denied", "denied", lambda: d.read("../outside"))
        expect_error("fs.open-denied", "denied", lambda: Dir.open("nowhere"))

        def io_load():
            r = d.run_io_load(IoLoad("conf.io", workers=2, files_per_worker=1, file_size=65536, block_size=4096,
                                     read_percent=50, fsync="never", random=False, ops=ops * 10))
            return r.errors == 0 and r.reads + r.writes == ops * 10

        expect("fs.io-load", io_load)


def memory_calls(child_pid):
    expect("memory.sample", lambda: memory.sample(memory.host()).rss > 0)
    if child_pid is None:
        rigor.check("memory.child", False, "the service did not start")
    else:
        expect("memory.child", lambda: memory.sample(memory.child(child_pid)).rss > 0)
    expect_error("memory.denied", "denied", lambda: memory.sample(memory.pid(1)))
    try:
        w = memory.Watcher.start("conf.mem", memory.host())
    except Exception as e:  # noqa: BLE001
        return rigor.check("memory.watcher", False, str(e))
    with w:
        for k in range(1, 6):
            try:
                w.ops_done(k)
            except rigor.ProbeError:
                pass

        def judged():
            v = w.verdict()
            return v.samples >= 5 and len(w.series()) >= 5

        expect("memory.watcher", judged)
        w.stop()


@rigor.scenario(
    "conformance",
    "Every probe of the contract through the SDK, success and error paths",
    params=[rigor.param("ops", 20, "operations per loop")],
)
def run(p: rigor.Params) -> None:
    ops = p.int("ops")
    rigor.check("params.ops", ops == 20, f"ops = {ops}")
    clock_and_metrics()
    report_calls()
    redis(ops)
    service = start_service()
    if service is not None:
        http(service[1], ops)
        websocket(service[1], ops)
    files(ops)
    memory_calls(service[0].pid if service is not None else None)
    if service is not None:
        exit = service[0].kill(grace=2)
        rigor.check("process.kill", True, exit.describe())
        service[0].close()
    rigor.finding(rigor.Severity.INFO, "conformance complete", "", "")
