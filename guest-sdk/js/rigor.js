/**
 * rigor.js: write Rigor scenarios in JavaScript.
 *
 * A thin layer over the `rigor:scenario@0.1.0` imports that componentize-js
 * binds at build time. Everything timed happens in the host: pass a
 * histogram to a probe call (`redis.get(key, { into: h })`) and the host
 * records the round trip natively. There is deliberately no JS-side timer.
 *
 * This module is the core (parameters, clock, metrics, report, scenario
 * exports, virtual users). Each probe has its own module, imported when
 * used: `./rigor/redis.js`, `./rigor/process.js`, `./rigor/fs.js`,
 * `./rigor/http.js`, `./rigor/memory.js`, `./rigor/websocket.js`. The build
 * imports into the component only the contract interfaces of the modules
 * the scenario imports, so `rigor inspect` shows exactly what it can reach.
 *
 * Numbers: u64 durations, counts and sizes the host returns are plain
 * Numbers (exact below 2^53: 104 days of nanoseconds, 8 PiB); durations the
 * SDK takes are seconds. BigInt remains only where a value can be any 64-bit
 * number: Redis integer replies and a VU's `seed`.
 *
 * `rigor build` stages this file beside the scenario as `./rigor.js` and the
 * probe modules as `./rigor/*.js`.
 *
 * @module rigor
 */

import * as clock from "rigor:scenario/clock@0.1.0";
import * as metrics from "rigor:scenario/metrics@0.1.0";
import * as report from "rigor:scenario/report@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------- errors

/**
 * A probe call failed. `kind`: `denied`, `timeout`, `connection`, `io`,
 * `invalid` or `server`; `detail` says what failed and what to do.
 */
export class ProbeError extends Error {
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.name = "ProbeError";
    this.kind = kind;
    this.detail = message;
  }
}

/**
 * Calls `call()`, an import whose `err` is a `probe-error`, and throws a
 * {@link ProbeError} for it. (An import's `err` arrives as a thrown object
 * whose `payload` is the variant `{ tag, val }`.)
 * @ignore
 */
export function probe(call) {
  try {
    return call();
  } catch (e) {
    const p = e && e.payload;
    if (p && typeof p === "object" && "tag" in p) throw new ProbeError(p.tag, p.val);
    throw e;
  }
}

/** The symbol `using` and `[Symbol.dispose]()` rely on (`Symbol.dispose` where the engine has it). */
export const DISPOSE = Symbol.dispose ?? Symbol.for("dispose");

/** Drops a host resource deterministically: JS finalisers may never run. @ignore */
export function dispose(resource) {
  if (!resource) return;
  const d = resource[Symbol.dispose] || resource[Symbol.for("dispose")];
  if (d) d.call(resource);
}

/**
 * A wrapper of one host resource: `close()` releases it (idempotent), and
 * so does `[Symbol.dispose]()`, so `using` blocks and `rigor.using(...)`
 * release it too.
 */
export class Resource {
  constructor(inner) {
    this.inner = inner;
  }
  /** The host handle; throws once closed. @ignore */
  get handle() {
    if (this.inner === undefined) throw new Error(`this ${this.constructor.name} is closed`);
    return this.inner;
  }
  /** Releases the host handle; idempotent. */
  release() {
    const inner = this.inner;
    this.inner = undefined;
    dispose(inner);
  }
  /** Releases the host handle; idempotent. */
  close() {
    this.release();
  }
  [DISPOSE]() {
    this.release();
  }
}

/**
 * Calls `body(...resources)` and then releases every resource (its
 * `[Symbol.dispose]()`, else `close()`), also when `body` throws:
 * `using(a, b, (a, b) => ...)`.
 */
export function using(...args) {
  const body = args.pop();
  try {
    return body(...args);
  } finally {
    for (const r of args.reverse()) {
      if (r && typeof r[DISPOSE] === "function") r[DISPOSE]();
      else if (r && typeof r.close === "function") r.close();
      else dispose(r);
    }
  }
}

// ------------------------------------------------ helpers of the probe modules

/** A BigInt the host returned as a Number (see the module notes). @ignore */
export const num = (v) => (typeof v === "bigint" ? Number(v) : v);

/**
 * A record the host returned with its BigInt fields as Numbers, deeply
 * (byte arrays are left alone). @ignore
 */
export function plain(value) {
  if (typeof value === "bigint") return Number(value);
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(plain);
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v);
  return out;
}

/** Seconds as BigInt nanoseconds for a timeout; `undefined` is 0n (the host's default). @ignore */
export function ns(seconds) {
  if (seconds === undefined || seconds === null) return 0n;
  if (!(seconds >= 0)) throw new RangeError(`a duration must be seconds >= 0, got ${seconds}`);
  const n = BigInt(Math.round(seconds * 1e9));
  return n > 0n ? n : 1n;
}

/** Text as UTF-8 bytes; bytes as they are. @ignore */
export const bytes = (v) => (typeof v === "string" ? encoder.encode(v) : v);

/** UTF-8 bytes as text. @ignore */
export const text = (b) => decoder.decode(b);

/** The host handle of an `{ into: histogram }` option. @ignore */
export const hist = (into) => (into ? into.handle : undefined);

/** A header list from an object or an array of pairs. @ignore */
export function headerPairs(headers) {
  if (!headers) return [];
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([k, v]) => [String(k), String(v)]);
}

// ---------------------------------------------------------------- params

/** Declares a parameter for `describe()`; the catalog declares its type. */
export function param(name, defaultValue, help = "") {
  const text = Array.isArray(defaultValue) ? defaultValue.join(",") : String(defaultValue);
  return { name, defaultValue: text, description: help };
}

const DURATION_NS = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9, h: 3600e9 };
const SIZE_BYTES = { "": 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

function splitNumber(text) {
  const m = /^\s*([0-9.]+)\s*(\S*)\s*$/.exec(text);
  if (!m) throw new Error(`cannot parse \`${text}\``);
  return [Number(m[1]), m[2]];
}

/** The run's parameters, type-checked by the host and completed with defaults. */
export class Params {
  constructor(pairs) {
    this.values = new Map(pairs);
  }
  raw(name) {
    if (!this.values.has(name)) {
      throw new Error(`parameter \`${name}\` is missing: declare it in the catalog with a default`);
    }
    return this.values.get(name);
  }
  str(name) { return this.raw(name); }
  int(name) { return Number.parseInt(this.raw(name).replaceAll("_", ""), 10); }
  float(name) { return Number.parseFloat(this.raw(name)); }
  bool(name) { return ["true", "yes", "1"].includes(this.raw(name).trim().toLowerCase()); }
  list(name) { return this.raw(name).split(",").map((s) => s.trim()).filter((s) => s); }
  /** A duration parameter (`5s`, `250ms`, `1m 30s`) in nanoseconds. */
  durationNs(name) {
    return this.raw(name).trim().split(/\s+/).reduce((total, part) => {
      const [n, unit] = splitNumber(part);
      return total + n * DURATION_NS[unit];
    }, 0);
  }
  /** A size parameter (`100B`, `10KiB`) in bytes. */
  size(name) {
    const [n, unit] = splitNumber(this.raw(name));
    return n * SIZE_BYTES[unit];
  }
}

// ---------------------------------------------------------------- clock

/** Monotonic nanoseconds since the run's start (a Number), for pacing only: probe calls are timed by the host. */
export const nowNs = () => Number(clock.now());

/** Suspends the scenario for `seconds` (the scenario's deadline still applies). */
export const sleep = (seconds) => clock.sleep(BigInt(Math.max(0, Math.round(seconds * 1e9))));

// ---------------------------------------------------------------- metrics

/** Units of metric values, as the host names them. */
export const Unit = Object.freeze({
  NANOSECONDS: "nanoseconds",
  BYTES: "bytes",
  COUNT: "count",
  OPS_PER_SECOND: "ops-per-second",
  RATIO: "ratio",
  NONE: "none",
});

/**
 * An HDR histogram owned by the host; `close()` it (or use `using`). The
 * data stays in the report.
 */
export class Histogram extends Resource {
  /** Opens (creating on first use) the histogram `name` of this scenario. */
  constructor(name, unit = Unit.NANOSECONDS) {
    super(new metrics.Histogram(name, unit));
  }
  /** A histogram of durations in nanoseconds: what timed probe calls record. */
  static latency(name) { return new Histogram(name, Unit.NANOSECONDS); }
  /** Records one value (0 is recorded as 1). */
  record(value) { this.handle.record(BigInt(value)); }
  /** Records many values in one host call. */
  recordMany(values) { this.handle.recordMany(BigUint64Array.from(values, (v) => BigInt(v))); }
  /** Current statistics (`count`, `min`, `max`, `mean`, `stdev`, `p50` … `p999`) as Numbers. */
  summary() { return plain(this.handle.summary()); }
  /** The metric name. */
  get name() { return this.handle.name(); }
}

/** Sets the gauge `name` (setting it again replaces the value). */
export const gauge = (name, value, unit = Unit.NONE) => metrics.gauge(name, Number(value), unit);
/** Adds `delta` (>= 0, a Number or BigInt) to the counter `name`. */
export const counter = (name, delta = 1) => metrics.counterAdd(name, BigInt(delta));

// ---------------------------------------------------------------- report

/** Records a pass/fail check and returns `passed`. */
export function check(name, passed, detail = "") {
  report.check(name, Boolean(passed), String(detail));
  return Boolean(passed);
}

/**
 * A check as a block: passes when `body` returns, fails with the message of
 * what it throws (the error is swallowed so the scenario goes on).
 */
export function checking(name, body) {
  try {
    body();
    return check(name, true, "");
  } catch (e) {
    return check(name, false, e && e.message ? e.message : String(e));
  }
}

/**
 * Evaluates a k6-style threshold (`p(99) < 1ms`) in the host, now; the
 * verdict (`metric`, `expression`, `observed`, `limit`, `passed`) is
 * recorded in the report and returned. Unknown metric or bad expression:
 * {@link ProbeError} `invalid`.
 */
export const threshold = (metric, expression) => probe(() => report.threshold(metric, expression));

export const Severity = Object.freeze({
  INFO: "info", LOW: "low", MEDIUM: "medium", HIGH: "high", CRITICAL: "critical",
});

/** Records a finding: a bug, a risk or an observation for a reviewer. */
export function finding(severity, title, detail = "", action = "") {
  report.addFinding({ severity, title, detail, action });
}

/** Lines in the scenario's log in the report: `log.info("...")`. */
export const log = Object.freeze({
  debug: (m) => report.log("debug", String(m)),
  info: (m) => report.log("info", String(m)),
  warn: (m) => report.log("warn", String(m)),
  error: (m) => report.log("error", String(m)),
});

// ---------------------------------------------------------------- export

/**
 * The scenario's exports: `export const { describe, run } = scenario({...})`.
 * `run(params)` returning means the scenario ran to the end (checks and
 * thresholds decide pass or fail); throwing ends it as errored.
 */
export function scenario({ name, description, params = [], run }) {
  return {
    describe: () => ({ name, description, params }),
    run: (pairs) => {
      try {
        run(new Params(pairs));
      } catch (e) {
        // A thrown string becomes the run's `err(string)`.
        throw e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
    },
  };
}

// ---------------------------------------------------------- virtual users

function encodeData(params) {
  const parts = [];
  for (const [name, value] of params.values) parts.push(name, value);
  return encoder.encode(parts.map((p) => `${p}\0`).join(""));
}

function decodeData(data) {
  const fields = decoder.decode(data).split("\0");
  const pairs = [];
  for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([fields[i], fields[i + 1]]);
  return new Params(pairs);
}

function asErr(e) {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A virtual-user scenario's exports:
 * `export const { describe, setup, iteration, teardown } = vuScenario({...})`.
 * `iteration(vu, data)` is one user's behaviour (`vu.id`, `vu.iteration`,
 * `vu.scenarioIteration` as Numbers, `vu.seed` a BigInt: any 64-bit
 * value); throwing fails that iteration only.
 * `setup(params)` returns the data every iteration gets (default: the
 * parameters); `teardown(data)` runs once at the end.
 */
export function vuScenario({ name, description, params = [], setup, iteration, teardown }) {
  let cachedRaw;
  let cached;
  const dataOf = (raw) => {
    if (cachedRaw === undefined || raw.length !== cachedRaw.length || !raw.every((b, i) => b === cachedRaw[i])) {
      cachedRaw = raw;
      cached = decodeData(raw);
    }
    return cached;
  };
  return {
    describe: () => ({ name, description, params }),
    setup: (pairs) => {
      try {
        const given = new Params(pairs);
        return encodeData(setup ? setup(given) : given);
      } catch (e) {
        throw asErr(e);
      }
    },
    iteration: (ctx, data) => {
      try {
        iteration(
          { id: ctx.vu, iteration: Number(ctx.iteration), scenarioIteration: Number(ctx.scenarioIteration), seed: ctx.seed },
          dataOf(data),
        );
      } catch (e) {
        throw asErr(e);
      }
    },
    teardown: (data) => {
      try {
        if (teardown) teardown(dataOf(data));
      } catch (e) {
        throw asErr(e);
      }
    },
  };
}

