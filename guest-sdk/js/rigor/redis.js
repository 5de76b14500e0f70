/**
 * Redis through the host: connections to targets the catalog grants, each
 * call timed natively (`{ into: histogram }` records the round trip), and
 * {@link Load}, a concurrent load the host runs natively.
 *
 *     import { Redis, Load } from "./rigor/redis.js";
 *     const redis = Redis.open("default");   // release: redis.close(), or rigor.using(...)
 *     redis.set("k", "v");
 *     const result = new Load("default", { workers: 50, opsPerWorker: 100 }).set(1).get(1).run();
 *
 * @module rigor/redis
 */

import * as redis from "rigor:scenario/redis@0.1.0";
import { Resource, bytes, hist, num, plain, probe, text } from "../rigor.js";

/** A connection to a Redis target granted by the catalog; every call is timed by the host. */
export class Redis extends Resource {
  /** Opens a connection; {@link ProbeError} `denied` (ungranted target) or `connection`. */
  static open(target = "default") {
    return new Redis(probe(() => redis.Connection.open(target)));
  }
  /**
   * A handle whose calls borrow a link from the scenario's shared pool: what
   * virtual users use. Connection-state and blocking commands are refused
   * (`invalid`).
   */
  static pooled(target = "default") {
    return new Redis(probe(() => redis.Connection.openPooled(target)));
  }
  /** `SET key value`; returns the round-trip time in nanoseconds. */
  set(key, value, { into } = {}) {
    return num(probe(() => this.handle.set(key, bytes(value), hist(into))));
  }
  /** `GET key`; the value as a Uint8Array, `undefined` on a miss. */
  get(key, { into } = {}) {
    return probe(() => this.handle.get(key, hist(into))).value;
  }
  /** `GET key` decoded as UTF-8; `undefined` on a miss. */
  getString(key, opts = {}) {
    const v = this.get(key, opts);
    return v === undefined ? undefined : text(v);
  }
  /** `DEL keys...` (one key or an array); returns how many were removed. */
  delete(keys, { into } = {}) {
    const list = Array.isArray(keys) ? keys : [keys];
    return num(probe(() => this.handle.del(list, hist(into))));
  }
  /**
   * Any command (`["HSET", "h", "f", "v"]`, strings or bytes). Returns the
   * reply `{ tag, val }`: `nil`, `status` (string), `integer` (a BigInt: any
   * 64-bit value), `bulk` (Uint8Array), `array` (of Uint8Array or
   * `undefined`). An error reply throws {@link ProbeError} `server`.
   */
  command(args, { into } = {}) {
    return probe(() => this.handle.command(args.map(bytes), hist(into))).reply;
  }
  /** Removes every key starting with `prefix` (never flushes the database); returns how many. */
  clearPrefix(prefix) {
    return num(probe(() => this.handle.clearPrefix(prefix)));
  }
}

/** Ops of a load's mix: `Op.get()`, `Op.set(3)`, `Op.raw("hset", ["HSET", "{key}", "f", "{value}"])`. */
export const Op = Object.freeze({
  set: (weight = 1, name) => ({ op: { tag: "set" }, weight, name }),
  get: (weight = 1, name) => ({ op: { tag: "get" }, weight, name }),
  delete: (weight = 1, name) => ({ op: { tag: "del" }, weight, name }),
  incr: (weight = 1, name) => ({ op: { tag: "incr" }, weight, name }),
  expire: (seconds, weight = 1, name) => ({ op: { tag: "expire", val: seconds }, weight, name }),
  /** Any command; `{key}` and `{value}` in an argument are replaced. */
  raw: (name, args, weight = 1) => ({ op: { tag: "raw", val: args.map(String) }, weight, name }),
});

const ms = (seconds) => BigInt(Math.round(seconds * 1000));

/**
 * A native concurrent load on a Redis target, run by the host.
 *
 * Options and defaults: `workers` 1, `opsPerWorker` 1000 (or `duration` in
 * seconds), `warmupOps` 0 (or `warmup` seconds), `rate` (ops/s in total:
 * open model; default closed), `mix` [] (or the chainable `.set()`,
 * `.get()`, …), `valueSize` 100 (or `document`), `keyPrefix`
 * `"rigor:load:"`, `keyCount` 10000, `sequentialKeys` false, `pipeline` 1,
 * `sharedConnection` false, `timeout` (seconds, host default 5),
 * `threads`, `metricPrefix` (default `load`: `load.get`,
 * `load.throughput`, `load.error-rate`).
 */
export class Load {
  constructor(target = "default", options = {}) {
    this.target = target;
    this.options = { ...options };
    this.mix = [...(options.mix ?? [])];
  }
  /** Adds an {@link Op} to the mix; returns the load. */
  op(op) { this.mix.push(op); return this; }
  set(weight = 1) { return this.op(Op.set(weight)); }
  get(weight = 1) { return this.op(Op.get(weight)); }
  delete(weight = 1) { return this.op(Op.delete(weight)); }
  incr(weight = 1) { return this.op(Op.incr(weight)); }
  expire(seconds, weight = 1) { return this.op(Op.expire(seconds, weight)); }
  raw(name, args, weight = 1) { return this.op(Op.raw(name, args, weight)); }
  /** The contract's `load-spec` this load sends. */
  spec() {
    const o = this.options;
    return {
      target: this.target,
      workers: o.workers ?? 1,
      amount: o.duration !== undefined
        ? { tag: "duration-ms", val: ms(o.duration) }
        : { tag: "ops-per-worker", val: BigInt(o.opsPerWorker ?? 1000) },
      warmup: o.warmup !== undefined
        ? { tag: "duration-ms", val: ms(o.warmup) }
        : { tag: "ops-per-worker", val: BigInt(o.warmupOps ?? 0) },
      model: o.rate !== undefined ? { tag: "open", val: Number(o.rate) } : { tag: "closed" },
      mix: this.mix,
      value: o.document !== undefined
        ? { tag: "document", val: bytes(o.document) }
        : { tag: "bytes", val: o.valueSize ?? 100 },
      keys: {
        prefix: o.keyPrefix ?? "rigor:load:",
        count: BigInt(o.keyCount ?? 10000),
        pattern: o.sequentialKeys ? "sequential" : "uniform",
      },
      pipeline: o.pipeline ?? 1,
      connections: o.sharedConnection ? "shared" : "per-worker",
      timeoutMs: o.timeout !== undefined ? Math.min(Math.round(o.timeout * 1000), 2 ** 32 - 1) : undefined,
      threads: o.threads,
      metricPrefix: o.metricPrefix,
    };
  }
  /**
   * Runs the load on the host and waits for it; the result with Numbers
   * (`ok`, `errors`, `errorRate`, `throughput`, `ops` per op with their
   * latency summaries). `invalid` names a field that cannot run, `denied` an
   * ungranted target; failures during the load are counted, not thrown.
   */
  run() {
    return plain(probe(() => redis.runLoad(this.spec())));
  }
}

/** `new Load(target, options).run()`. */
export const runLoad = (target = "default", options = {}) => new Load(target, options).run();
