// rigor.js: write Rigor scenarios in JavaScript.
//
// A thin layer over the `rigor:scenario@0.1.0` imports that componentize-js
// binds at build time. Everything timed happens in the host: pass a
// histogram to a probe call (`redis.get(key, { into: h })`) and the host
// records the round trip natively. There is deliberately no JS-side timer.
//
//   import * as rigor from "./rigor.js";
//
//   export const { describe, run } = rigor.scenario({
//     name: "ping",
//     description: "PING round trip",
//     params: [rigor.param("ops", 100, "timed PINGs")],
//     run(p) {
//       rigor.using(rigor.Redis.open("default"), rigor.Histogram.latency("ping"), (redis, h) => {
//         for (let i = 0; i < p.int("ops"); i++) redis.command(["PING"], { into: h });
//       });
//       rigor.threshold("ping", "p(99) < 1ms");
//     },
//   });
//
// `rigor build` puts this file beside the scenario as `./rigor.js`.

import * as clock from "rigor:scenario/clock@0.1.0";
import * as metrics from "rigor:scenario/metrics@0.1.0";
import * as report from "rigor:scenario/report@0.1.0";
import * as redis from "rigor:scenario/redis@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------- errors

/** A probe call failed. `kind`: denied, timeout, connection, io, invalid, server. */
export class ProbeError extends Error {
  constructor(kind, message) {
    super(`${kind}: ${message}`);
    this.kind = kind;
    this.detail = message;
  }
}

// An import's `err` arrives as a thrown object whose `payload` is the
// `probe-error` variant ({ tag, val }).
function probe(call) {
  try {
    return call();
  } catch (e) {
    const p = e && e.payload;
    if (p && typeof p === "object" && "tag" in p) throw new ProbeError(p.tag, p.val);
    throw e;
  }
}

/** Drops host resources deterministically: JS finalisers may never run. */
const disposed = new WeakSet();
function dispose(resource) {
  if (!resource || disposed.has(resource)) return;
  disposed.add(resource);
  const d = resource[Symbol.dispose] || resource[Symbol.for("dispose")];
  if (d) d.call(resource);
}

/**
 * Calls `body(...resources)` and then releases every resource, also when
 * `body` throws: `using(a, b, (a, b) => ...)`.
 */
export function using(...args) {
  const body = args.pop();
  try {
    return body(...args);
  } finally {
    for (const r of args.reverse()) r.close();
  }
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

/** Monotonic time (BigInt ns), for pacing only: probe calls are timed by the host. */
export const nowNs = () => clock.now();
export const sleep = (seconds) => clock.sleep(BigInt(Math.round(seconds * 1e9)));

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

/** An HDR histogram owned by the host; `close()` it (or use `using`). */
export class Histogram {
  constructor(name, unit = Unit.NANOSECONDS) {
    this.inner = new metrics.Histogram(name, unit);
  }
  static latency(name) { return new Histogram(name, Unit.NANOSECONDS); }
  record(value) { this.inner.record(BigInt(value)); }
  recordMany(values) { this.inner.recordMany(BigUint64Array.from(values, BigInt)); }
  summary() { return this.inner.summary(); }
  get name() { return this.inner.name(); }
  close() { dispose(this.inner); }
}

export const gauge = (name, value, unit = Unit.NONE) => metrics.gauge(name, Number(value), unit);
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

/** Evaluates a k6-style threshold (`p(99) < 1ms`) in the host; returns the verdict. */
export const threshold = (metric, expression) => probe(() => report.threshold(metric, expression));

export const Severity = Object.freeze({
  INFO: "info", LOW: "low", MEDIUM: "medium", HIGH: "high", CRITICAL: "critical",
});

export function finding(severity, title, detail = "", action = "") {
  report.addFinding({ severity, title, detail, action });
}

export const log = Object.freeze({
  debug: (m) => report.log("debug", String(m)),
  info: (m) => report.log("info", String(m)),
  warn: (m) => report.log("warn", String(m)),
  error: (m) => report.log("error", String(m)),
});

// ---------------------------------------------------------------- redis

const bytes = (v) => (typeof v === "string" ? encoder.encode(v) : v);

/** A connection to a Redis target granted by the catalog; every call is timed by the host. */
export class Redis {
  constructor(conn) { this.conn = conn; }
  static open(target = "default") {
    return new Redis(probe(() => redis.Connection.open(target)));
  }
  /**
   * A handle whose calls borrow a link from the scenario's shared pool: what
   * virtual users use. Connection-state and blocking commands are refused.
   */
  static pooled(target = "default") {
    return new Redis(probe(() => redis.Connection.openPooled(target)));
  }
  /** `SET`; returns the round-trip time in nanoseconds (BigInt). */
  set(key, value, { into } = {}) {
    return probe(() => this.conn.set(key, bytes(value), into ? into.inner : undefined));
  }
  /** `GET`; the value as a Uint8Array, `undefined` on a miss. */
  get(key, { into } = {}) {
    return probe(() => this.conn.get(key, into ? into.inner : undefined)).value;
  }
  /** `GET` decoded as UTF-8; `undefined` on a miss. */
  getString(key, opts = {}) {
    const v = this.get(key, opts);
    return v === undefined ? undefined : decoder.decode(v);
  }
  delete(keys, { into } = {}) {
    return probe(() => this.conn.del(keys, into ? into.inner : undefined));
  }
  command(args, { into } = {}) {
    return probe(() => this.conn.command(args.map(bytes), into ? into.inner : undefined)).reply;
  }
  /** Removes every key starting with `prefix` (never flushes the database). */
  clearPrefix(prefix) { return probe(() => this.conn.clearPrefix(prefix)); }
  close() { dispose(this.conn); }
}

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

const textEncoder = new TextEncoder();

function encodeData(params) {
  const parts = [];
  for (const [name, value] of params.values) parts.push(name, value);
  return textEncoder.encode(parts.map((p) => `${p}\0`).join(""));
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
 * `vu.scenarioIteration`, `vu.seed`); throwing fails that iteration only.
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
          { id: ctx.vu, iteration: ctx.iteration, scenarioIteration: ctx.scenarioIteration, seed: ctx.seed },
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

