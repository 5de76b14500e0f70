/**
 * Memory of processes, sampled natively by the host from `/proc`, and leak
 * detection with statistics (least-squares slope with its 95 % confidence
 * interval, R², Mann–Kendall trend test). The host and the scenario's own
 * children are always allowed; a granted Redis server and granted pids too.
 *
 *     import { sample, Target, Watcher } from "./rigor/memory.js";
 *     const usage = sample(Target.host());
 *     rigor.using(Watcher.start("server", Target.redis("default")), (w) => {
 *       for (let i = 0; i < 10; i++) { doOps(1000); w.opsDone(1000); }
 *       const verdict = w.verdict({ maxBytesPerOp: 64 });
 *       rigor.check("no leak", !verdict.leak, verdict.summary);
 *     });
 *
 * @module rigor/memory
 */

import * as memory from "rigor:scenario/memory@0.1.0";
import { Resource, ns, plain, probe } from "../rigor.js";

/** Which process to measure. */
export const Target = Object.freeze({
  /** The rigor host process itself. */
  host: () => ({ tag: "host" }),
  /** A child the scenario started (a `Child` of `./rigor/process.js`, or its pid). */
  child: (child) => ({ tag: "child", val: typeof child === "number" ? child : child.pid }),
  /** The server of a granted Redis target running on this machine. */
  redis: (target = "default") => ({ tag: "redis", val: target }),
  /** A pid the catalog grants (`pids = [1234]`). */
  pid: (pid) => ({ tag: "pid", val: pid }),
});

/**
 * Samples `target` (default: the host) once: `{ pid, rss, pss, uss, swap }`
 * in bytes as Numbers (`pss`, `uss`, `swap` `undefined` where the kernel
 * lacks them).
 */
export const sample = (target = Target.host()) => plain(probe(() => memory.sample(target)));

/** Follows one process's memory; the baseline is taken at start. `close()` releases it. */
export class Watcher extends Resource {
  /**
   * Starts a watcher whose metrics are named `name` (`<name>.leak`,
   * `<name>.slope-bytes-per-op`, …). Options: `measure` `"rss"` (default),
   * `"pss"` or `"uss"`; `interval` seconds for host-side sampling.
   */
  static start(name, target = Target.host(), { measure = "rss", interval } = {}) {
    const intervalNs = interval === undefined ? undefined : ns(interval);
    return new Watcher(probe(() => memory.Watcher.start(name, target, measure, intervalNs)));
  }
  /** Reports `k` more operations done and samples now: `{ tNs, ops, bytes }`. */
  opsDone(k = 1) { return plain(probe(() => this.handle.opsDone(BigInt(k)))); }
  /** The series so far. */
  series() { return plain(this.handle.series()); }
  /**
   * Judges the series and records it in the report. A leak is a significant
   * trend (Mann–Kendall p < `alpha`, default 0.05) whose slope's lower
   * bound exceeds `maxBytesPerOp` / `maxBytesPerSecond` (any growth without
   * a limit). `{ leak, conclusive, summary, … }`.
   */
  verdict({ maxBytesPerOp, maxBytesPerSecond, alpha } = {}) {
    return plain(probe(() => this.handle.verdict({ maxBytesPerOp, maxBytesPerSecond, alpha })));
  }
  /** Stops interval sampling; the series is kept. */
  stop() { this.handle.stop(); }
}
