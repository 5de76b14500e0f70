// The conformance scenario (tests/conformance/SPEC.md) through the
// JavaScript SDK: every probe of the contract, its success and its error
// paths.

import * as rigor from "./rigor.js";
import { Dir, IoLoad } from "./rigor/fs.js";
import { Load as HttpLoad, Request } from "./rigor/http.js";
import { Target, Watcher, sample } from "./rigor/memory.js";
import { freePort, spawn, timeStartup, workDir } from "./rigor/process.js";
import { Load, Redis } from "./rigor/redis.js";
import { WebSocket, Load as WsLoad } from "./rigor/websocket.js";

const SUT = "../../scenarios/sut/service.py";
const WAIT = 5;

/** Records `name` as passed iff `outcome()` returns true; a failed call is a failed check, and the run goes on. */
function expect(name, outcome) {
  try {
    return rigor.check(name, Boolean(outcome()), "");
  } catch (e) {
    return rigor.check(name, false, String(e));
  }
}

/** Passes iff `call()` threw the probe error `kind`. */
function expectError(name, kind, call) {
  try {
    call();
  } catch (e) {
    return rigor.check(name, e instanceof rigor.ProbeError && e.kind === kind, String(e));
  }
  return rigor.check(name, false, "the call succeeded");
}

/** Runs `call()`, ignoring a probe error (the checks after it see the outcome). */
function quietly(call) {
  try {
    call();
  } catch (e) {
    if (!(e instanceof rigor.ProbeError)) throw e;
  }
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function clockAndMetrics() {
  const t0 = rigor.nowNs();
  rigor.sleep(0.002);
  const t1 = rigor.nowNs();
  rigor.check("clock.sleep", t1 - t0 >= 2_000_000, `${t1 - t0} ns`);
  const values = new rigor.Histogram("conf.values", rigor.Unit.COUNT);
  for (let v = 1; v <= 50; v++) values.record(v);
  values.recordMany(Array.from({ length: 50 }, (_, i) => 51 + i));
  const s = values.summary();
  rigor.check("metrics.histogram", s.count === 100 && s.min === 1 && s.max === 100 && values.name === "conf.values",
    JSON.stringify(s));
  rigor.gauge("conf.gauge", 42.5, rigor.Unit.NONE);
  rigor.counter("conf.counter", 3);
  rigor.counter("conf.counter", 4);
}

function reportCalls() {
  rigor.log.info("conformance: started");
  expect("report.threshold", () => {
    const v = rigor.threshold("conf.values", "max<=100");
    return v.passed && v.observed === 100;
  });
  expectError("report.threshold-invalid", "invalid", () => rigor.threshold("conf.values", "p(99)<<1"));
  rigor.finding(rigor.Severity.LOW, "conformance finding", "recorded by the SDK", "none");
}

function redis(ops) {
  let r;
  try {
    r = Redis.open("default");
  } catch (e) {
    return rigor.check("redis.open", false, String(e));
  }
  quietly(() => r.clearPrefix("conf:"));
  const h = rigor.Histogram.latency("conf.redis");
  quietly(() => r.set("conf:key", "value", { into: h }));
  expect("redis.get", () => r.getString("conf:key", { into: h }) === "value");
  expect("redis.get-missing", () => r.get("conf:missing") === undefined);
  expect("redis.del", () => r.delete(["conf:key"]) === 1);
  expect("redis.command", () => {
    const reply = r.command(["INCRBY", "conf:n", "5"]);
    return reply.tag === "integer" && reply.val === 5n;
  });
  expectError("redis.denied", "denied", () => r.command(["FLUSHALL"]));
  expectError("redis.target-denied", "denied", () => Redis.open("nowhere"));
  expect("redis.run-load", () => {
    const l = new Load("default", {
      workers: 2, opsPerWorker: ops, warmupOps: 0, valueSize: 16,
      keyPrefix: "conf:load:", keyCount: 50, metricPrefix: "conf.load",
    }).set(1).get(1).run();
    return l.ok === 2 * ops && l.errors === 0;
  });
  expect("redis.pooled", () => Redis.pooled("default").getString("conf:n") === "5");
  expect("redis.clear-prefix", () => r.clearPrefix("conf:") >= 1);
  r.close();
}

/** Starts the service under test; returns `{ child, base }`, or undefined. */
function startService() {
  expect("process.work-dir", () => typeof workDir() === "string");
  let port;
  try {
    port = freePort();
  } catch (e) {
    rigor.check("process.free-port", false, String(e));
    return undefined;
  }
  rigor.check("process.free-port", port > 0, String(port));
  const base = `http://127.0.0.1:${port}`;
  let service;
  try {
    const child = spawn(SUT, [], {
      env: { PORT: String(port), APP_ENV: "production", SECRET_KEY: "conformance", PYTHONUNBUFFERED: "1" },
    });
    expect("process.wait-http", () => child.waitHttp(`${base}/health`, 200, { timeout: 10 }) !== undefined);
    expect("process.wait-line", () => child.waitLine("listening on", { timeout: WAIT }) !== undefined);
    service = { child, base };
  } catch (e) {
    rigor.check("process.wait-http", false, String(e));
    rigor.check("process.wait-line", false, String(e));
  }
  const startup = rigor.Histogram.latency("conf.startup");
  expect("process.time-startup", () => {
    const t = timeStartup("/bin/true", [], { warmup: 1, runs: 5, into: startup });
    return t.runs === 5 && t.failedRuns === 0;
  });
  expectError("process.denied", "denied", () => spawn("/bin/cat"));
  expectError("process.env-denied", "denied", () => spawn("/bin/true", [], { env: { LD_PRELOAD: "x.so" } }));
  return service;
}

function http(base, ops) {
  const h = rigor.Histogram.latency("conf.http");
  expect("http.send", () => new Request("GET", `${base}/health`, { timeout: WAIT }).send({ into: h }).status === 200);
  expect("http.status", () => new Request("GET", `${base}/missing`, { timeout: WAIT }).send().status === 404);
  expectError("http.denied", "denied", () => new Request("GET", "http://192.0.2.1/", { timeout: 1 }).send());
  expect("http.run-load", () => {
    const l = new HttpLoad(new Request("GET", `${base}/health`, { timeout: WAIT }), "conf.http.load",
      { workers: 2, connections: 2, threads: 1, requests: ops }).run();
    return l.ok === ops && l.failed === 0;
  });
}

function websocket(base, ops) {
  const url = `${base.replace("http://", "ws://")}/ws/echo`;
  let ws;
  try {
    ws = WebSocket.connect(url, { timeout: WAIT });
  } catch (e) {
    for (const name of ["websocket.echo", "websocket.binary", "websocket.ping", "websocket.close"]) {
      rigor.check(name, false, String(e));
    }
  }
  if (ws) {
    quietly(() => ws.sendText("conformance"));
    expect("websocket.echo", () => {
      const m = ws.receive({ timeout: WAIT });
      return m.tag === "text" && m.val === "conformance";
    });
    quietly(() => ws.sendBinary(new Uint8Array([1, 2, 3])));
    expect("websocket.binary", () => {
      const m = ws.receive({ timeout: WAIT });
      return m.tag === "binary" && same([...m.val], [1, 2, 3]);
    });
    const ping = rigor.Histogram.latency("conf.ws.ping");
    expect("websocket.ping", () => ws.ping({ into: ping, timeout: WAIT }) !== undefined);
    expect("websocket.close", () => ws.close(1000, "done", { timeout: WAIT }) === 1000);
  }
  expectError("websocket.denied", "denied", () => WebSocket.connect("ws://192.0.2.1/", { timeout: 1 }));
  expect("websocket.run-load", () => {
    const l = new WsLoad(url, "conf.ws.load", {
      connections: 2, messages: ops, template: '{"id":"{id}"}', text: true, placeholder: "{id}",
      jsonId: "id", grace: 2, maxMessageBytes: 65536,
    }).run();
    return l.matched === l.sent && l.sent > 0 && l.lost === 0;
  });
}

function files(ops) {
  let d;
  try {
    d = Dir.scratch();
  } catch (e) {
    return rigor.check("fs.scratch", false, String(e));
  }
  const h = rigor.Histogram.latency("conf.fs");
  quietly(() => d.write("a.txt", "hello", { into: h }));
  expect("fs.read", () => d.readText("a.txt", { into: h }) === "hello");
  quietly(() => d.append("a.txt", "!"));
  expect("fs.append", () => d.readText("a.txt") === "hello!");
  quietly(() => d.mkdir("sub"));
  quietly(() => d.fill("sub/b.bin", 4096));
  expect("fs.list", () => {
    const entries = d.list(".").entries;
    const has = (name, kind) => entries.some((e) => e.name === name && e.kind === kind);
    return has("a.txt", "file") && has("sub", "directory");
  });
  quietly(() => d.rename("a.txt", "c.txt"));
  quietly(() => d.delete("c.txt"));
  expect("fs.rename-delete", () => !d.list(".").entries.some((e) => e.name === "a.txt" || e.name === "c.txt"));
  quietly(() => d.dump("rows.csv", ["name", "value"], [["a", "1"], ["b", "2"]], { format: "csv" }));
  expect("fs.dump", () => d.readText("rows.csv").includes("a,1"));
  expectError("fs.escape-denied", "denied", () => d.read("../outside"));
  expectError("fs.open-denied", "denied", () => Dir.open("nowhere"));
  expect("fs.io-load", () => {
    const r = d.runIoLoad(new IoLoad("conf.io", {
      workers: 2, filesPerWorker: 1, fileSize: 65536, blockSize: 4096, readPercent: 50,
      fsync: "never", random: false, ops: ops * 10,
    }));
    return r.errors === 0 && r.reads + r.writes === ops * 10;
  });
  d.close();
}

function memoryCalls(childPid) {
  expect("memory.sample", () => sample(Target.host()).rss > 0);
  if (childPid === undefined) rigor.check("memory.child", false, "the service did not start");
  else expect("memory.child", () => sample(Target.child(childPid)).rss > 0);
  expectError("memory.denied", "denied", () => sample(Target.pid(1)));
  let w;
  try {
    w = Watcher.start("conf.mem", Target.host());
  } catch (e) {
    return rigor.check("memory.watcher", false, String(e));
  }
  for (let k = 1; k <= 5; k++) quietly(() => w.opsDone(k));
  expect("memory.watcher", () => {
    const v = w.verdict();
    return v.samples >= 5 && w.series().length >= 5;
  });
  w.stop();
  w.close();
}

export const { describe, run } = rigor.scenario({
  name: "conformance",
  description: "Every probe of the contract through the SDK, success and error paths",
  params: [rigor.param("ops", 20, "operations per loop")],
  run(p) {
    const ops = p.int("ops");
    rigor.check("params.ops", ops === 20, `ops = ${ops}`);
    clockAndMetrics();
    reportCalls();
    redis(ops);
    const service = startService();
    if (service) {
      http(service.base, ops);
      websocket(service.base, ops);
    }
    files(ops);
    memoryCalls(service ? service.child.pid : undefined);
    if (service) {
      const exit = service.child.kill({ grace: 2 });
      rigor.check("process.kill", true, exit.describe());
      service.child.close();
    }
    rigor.finding(rigor.Severity.INFO, "conformance complete", "", "");
  },
});
