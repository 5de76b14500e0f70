//! The conformance scenario (tests/conformance/SPEC.md) through the Rust SDK:
//! every probe of the contract, its success and its error paths. The
//! reference the other languages' reports are compared with.

use std::time::Duration;

use rigor_guest::fs::EntryKind;
use rigor_guest::prelude::*;

struct Conformance;

const SUT: &str = "../../scenarios/sut/service.py";
const WAIT: Duration = Duration::from_secs(5);

/// Records `name` as passed iff `outcome` is `Ok(true)`; a failed call is a
/// failed check with the error as its detail, and the run goes on.
fn expect(name: &str, outcome: Result<bool>) {
    match outcome {
        Ok(passed) => check(name, passed, ""),
        Err(e) => check(name, false, e.to_string()),
    }
}

/// Passes iff the call failed with the probe error `kind`.
fn expect_error<T>(name: &str, kind: &str, outcome: Result<T>) {
    match outcome {
        Ok(_) => check(name, false, "the call succeeded"),
        Err(Error::Probe(e)) => {
            let text = e.to_string();
            check(name, text.starts_with(&format!("{kind}:")), text)
        }
        Err(e) => check(name, false, e.to_string()),
    }
}

impl Scenario for Conformance {
    fn describe() -> Info {
        Info::new(
            "conformance",
            "Every probe of the contract through the SDK, success and error paths",
        )
        .param("ops", "20", "operations per loop")
    }

    fn run(params: &Params) -> Result<()> {
        let ops: u64 = params.get("ops")?;
        check("params.ops", ops == 20, format!("ops = {ops}"));
        clock_and_metrics();
        report_calls();
        redis(ops);
        let service = process();
        if let Some((_, base)) = &service {
            http(base, ops);
            websocket(base, ops);
        }
        files(ops);
        memory(service.as_ref().map(|(child, _)| child.pid()));
        if let Some((child, _)) = service {
            let exit = child.kill(Duration::from_secs(2));
            check("process.kill", true, exit.status.to_string());
        }
        finding(Severity::Info, "conformance complete", "", "");
        Ok(())
    }
}

fn clock_and_metrics() {
    let t0 = now();
    sleep(Duration::from_millis(2));
    let t1 = now();
    check(
        "clock.sleep",
        t1 - t0 >= Duration::from_millis(2),
        format!("{:?}", t1 - t0),
    );
    let values = Histogram::new("conf.values", Unit::Count);
    for v in 1..=50 {
        values.record(v);
    }
    values.record_many(&(51..=100).collect::<Vec<u64>>());
    let s = values.summary();
    check(
        "metrics.histogram",
        s.count == 100 && s.min == 1 && s.max == 100 && values.name() == "conf.values",
        format!("{s:?}"),
    );
    gauge("conf.gauge", 42.5, Unit::None);
    counter("conf.counter", 3);
    counter("conf.counter", 4);
}

fn report_calls() {
    log::info("conformance: started");
    expect(
        "report.threshold",
        threshold("conf.values", "max<=100").map(|v| v.passed && v.observed == 100.0),
    );
    expect_error(
        "report.threshold-invalid",
        "invalid",
        threshold("conf.values", "p(99)<<1"),
    );
    finding(
        Severity::Low,
        "conformance finding",
        "recorded by the SDK",
        "none",
    );
}

fn redis(ops: u64) {
    let r = match Redis::open("default") {
        Ok(r) => r,
        Err(e) => return check("redis.open", false, e.to_string()),
    };
    let _ = r.clear_prefix("conf:");
    let h = Histogram::latency("conf.redis");
    let _ = r.set_timed("conf:key", b"value", &h);
    expect(
        "redis.get",
        r.get_timed("conf:key", &h)
            .map(|v| v.as_deref() == Some(b"value")),
    );
    expect(
        "redis.get-missing",
        r.get("conf:missing").map(|v| v.is_none()),
    );
    expect("redis.del", r.del(&["conf:key"]).map(|n| n == 1));
    expect(
        "redis.command",
        r.command(&[b"INCRBY", b"conf:n", b"5"])
            .map(|reply| matches!(reply, rigor_guest::redis::Reply::Integer(5))),
    );
    expect_error("redis.denied", "denied", r.command(&[b"FLUSHALL"]));
    expect_error("redis.target-denied", "denied", Redis::open("nowhere"));
    expect(
        "redis.run-load",
        Load::new("default")
            .workers(2)
            .ops_per_worker(ops)
            .warmup_ops(0)
            .set(1)
            .get(1)
            .value_size(16)
            .keys("conf:load:", 50)
            .metric_prefix("conf.load")
            .run()
            .map(|l| l.ok == 2 * ops && l.errors == 0),
    );
    expect(
        "redis.pooled",
        Redis::pooled("default")
            .and_then(|p| p.get("conf:n"))
            .map(|v| v.as_deref() == Some(b"5")),
    );
    expect(
        "redis.clear-prefix",
        r.clear_prefix("conf:").map(|n| n >= 1),
    );
}

/// Starts the service under test; returns it with its base URL.
fn process() -> Option<(Child, String)> {
    expect("process.work-dir", process::work_dir().map(|_| true));
    let port = match process::free_port() {
        Ok(port) => port,
        Err(e) => {
            check("process.free-port", false, e.to_string());
            return None;
        }
    };
    check("process.free-port", port > 0, port.to_string());
    let child = Command::new(SUT)
        .env("PORT", port.to_string())
        .env("APP_ENV", "production")
        .env("SECRET_KEY", "conformance")
        .env("PYTHONUNBUFFERED", "1")
        .spawn();
    let base = format!("http://127.0.0.1:{port}");
    let service = match child {
        Ok(child) => {
            expect(
                "process.wait-http",
                child
                    .wait_http(&format!("{base}/health"), 200, Duration::from_secs(10))
                    .map(|_| true)
                    .map_err(Error::from),
            );
            expect(
                "process.wait-line",
                child
                    .wait_line(OutputStream::Stdout, "listening on", WAIT)
                    .map(|_| true)
                    .map_err(Error::from),
            );
            Some((child, base))
        }
        Err(e) => {
            check("process.wait-http", false, e.to_string());
            check("process.wait-line", false, e.to_string());
            None
        }
    };
    let startup = Histogram::latency("conf.startup");
    expect(
        "process.time-startup",
        Command::new("/bin/true")
            .time_startup(1, 5, Some(&startup))
            .map(|t| t.runs == 5 && t.failed_runs == 0),
    );
    expect_error("process.denied", "denied", Command::new("/bin/cat").spawn());
    expect_error(
        "process.env-denied",
        "denied",
        Command::new("/bin/true").env("LD_PRELOAD", "x.so").spawn(),
    );
    service
}

fn http(base: &str, ops: u64) {
    let h = Histogram::latency("conf.http");
    expect(
        "http.send",
        Request::get(format!("{base}/health"))
            .timeout(WAIT)
            .send_timed(&h)
            .map(|r| r.status == 200),
    );
    expect(
        "http.status",
        Request::get(format!("{base}/missing"))
            .timeout(WAIT)
            .send()
            .map(|r| r.status == 404),
    );
    expect_error(
        "http.denied",
        "denied",
        Request::get("http://192.0.2.1/")
            .timeout(Duration::from_secs(1))
            .send(),
    );
    expect(
        "http.run-load",
        HttpLoad::new(
            Request::get(format!("{base}/health")).timeout(WAIT),
            "conf.http.load",
        )
        .workers(2)
        .connections(2)
        .threads(1)
        .requests(ops)
        .run()
        .map(|l| l.ok == ops && l.failed == 0),
    );
}

fn websocket(base: &str, ops: u64) {
    let url = format!("{}/ws/echo", base.replace("http://", "ws://"));
    match WebSocket::builder(&url).timeout(WAIT).open() {
        Ok(ws) => {
            let _ = ws.send_text("conformance");
            expect(
                "websocket.echo",
                ws.receive(WAIT)
                    .map(|m| matches!(m, Incoming::Text(t) if t == "conformance")),
            );
            let _ = ws.send_binary(&[1, 2, 3]);
            expect(
                "websocket.binary",
                ws.receive(WAIT)
                    .map(|m| matches!(m, Incoming::Binary(b) if b == [1, 2, 3])),
            );
            let ping = Histogram::latency("conf.ws.ping");
            expect("websocket.ping", ws.ping_timed(&ping).map(|_| true));
            expect("websocket.close", ws.close(1000, "done").map(|c| c == 1000));
        }
        Err(e) => {
            for name in [
                "websocket.echo",
                "websocket.binary",
                "websocket.ping",
                "websocket.close",
            ] {
                check(name, false, e.to_string());
            }
        }
    }
    expect_error(
        "websocket.denied",
        "denied",
        WebSocket::builder("ws://192.0.2.1/")
            .timeout(Duration::from_secs(1))
            .open(),
    );
    expect(
        "websocket.run-load",
        WsLoad::new(&url, "conf.ws.load")
            .connections(2)
            .messages(ops)
            .text_template("{\"id\":\"{id}\"}", "{id}")
            .json_id("id")
            .grace(Duration::from_secs(2))
            .max_message_bytes(65536)
            .run()
            .map(|l| l.matched == l.sent && l.sent > 0 && l.lost == 0),
    );
}

fn files(ops: u64) {
    let d = match Dir::scratch() {
        Ok(d) => d,
        Err(e) => return check("fs.scratch", false, e.to_string()),
    };
    let h = Histogram::latency("conf.fs");
    let _ = d.write_timed("a.txt", b"hello", false, &h);
    expect(
        "fs.read",
        d.read_timed("a.txt", &h).map(|data| data == b"hello"),
    );
    let _ = d.append("a.txt", b"!", false);
    expect("fs.append", d.read("a.txt").map(|data| data == b"hello!"));
    let _ = d.mkdir("sub");
    let _ = d.fill("sub/b.bin", 4096, false);
    expect(
        "fs.list",
        d.list(".").map(|l| {
            let has = |name: &str, kind: EntryKind| {
                l.entries.iter().any(|e| e.name == name && e.kind == kind)
            };
            has("a.txt", EntryKind::File) && has("sub", EntryKind::Directory)
        }),
    );
    let _ = d.rename("a.txt", "c.txt");
    let _ = d.delete("c.txt");
    expect(
        "fs.rename-delete",
        d.list(".").map(|l| {
            !l.entries
                .iter()
                .any(|e| e.name == "a.txt" || e.name == "c.txt")
        }),
    );
    let rows = RecordSet {
        columns: vec!["name".into(), "value".into()],
        rows: vec![vec!["a".into(), "1".into()], vec!["b".into(), "2".into()]],
    };
    let _ = d.dump("rows.csv", &rows, DumpFormat::Csv, None);
    expect(
        "fs.dump",
        d.read("rows.csv")
            .map(|data| String::from_utf8_lossy(&data).contains("a,1")),
    );
    expect_error("fs.escape-denied", "denied", d.read("../outside"));
    expect_error("fs.open-denied", "denied", Dir::open("nowhere"));
    expect(
        "fs.io-load",
        d.io_load(
            IoLoad::new("conf.io")
                .workers(2)
                .files_per_worker(1)
                .file_size(65536)
                .block_size(4096)
                .read_percent(50)
                .fsync(FsyncPolicy::Never)
                .random(false)
                .ops(ops * 10),
        )
        .map(|r| r.errors == 0 && r.reads + r.writes == ops * 10),
    );
}

fn memory(child: Option<u32>) {
    use rigor_guest::memory::{self, Criteria, Target};
    expect(
        "memory.sample",
        memory::sample(Target::Host).map(|u| u.rss > 0),
    );
    match child {
        Some(pid) => expect(
            "memory.child",
            memory::sample(Target::Child(pid)).map(|u| u.rss > 0),
        ),
        None => check("memory.child", false, "the service did not start"),
    }
    expect_error("memory.denied", "denied", memory::sample(Target::Pid(1)));
    match Watcher::start("conf.mem", Target::Host) {
        Ok(w) => {
            for k in 1..=5 {
                let _ = w.ops_done(k);
            }
            expect(
                "memory.watcher",
                w.verdict(Criteria {
                    max_bytes_per_op: None,
                    max_bytes_per_second: None,
                    alpha: None,
                })
                .map(|v| v.samples >= 5 && w.series().len() >= 5),
            );
            w.stop();
        }
        Err(e) => check("memory.watcher", false, e.to_string()),
    }
}

rigor_guest::scenario!(Conformance);
