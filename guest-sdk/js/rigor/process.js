/**
 * Child processes through the host: the system under test, a client
 * script, or a command whose start-up is timed. Each child leads its own
 * process group and is stopped (SIGTERM, then SIGKILL) and reaped when its
 * handle is closed or the scenario ends.
 *
 *     import { spawn, freePort } from "./rigor/process.js";
 *     const port = freePort();
 *     rigor.using(spawn("./sut/service.py", [], { env: { PORT: String(port) } }), (service) => {
 *       const ready = service.waitHttp(`http://127.0.0.1:${port}/health`, 200, { timeout: 5 });
 *       const exit = service.kill();
 *       rigor.check("clean stop", exit.success, exit.describe());
 *     });
 *
 * @module rigor/process
 */

import * as process from "rigor:scenario/process@0.1.0";
import { ProbeError, Resource, hist, ns, num, plain, probe } from "../rigor.js";

/** How a child ended: `code` or `signal` (the other `undefined`), `afterNs`, `stdoutTail`, `stderrTail`. */
export class Exit {
  constructor(e) {
    this.code = e.status.tag === "code" ? e.status.val : undefined;
    this.signal = e.status.tag === "signal" ? e.status.val : undefined;
    this.afterNs = num(e.afterNs);
    this.stdoutTail = e.stdoutTail;
    this.stderrTail = e.stderrTail;
  }
  /** Exited with code 0. */
  get success() { return this.code === 0; }
  /** `exit code 1` or `killed by signal 9`. */
  describe() { return this.code !== undefined ? `exit code ${this.code}` : `killed by signal ${this.signal}`; }
}

/**
 * A readiness wait did not succeed: `reason` is `exited` (the child ended
 * first; `exit` says how) or `timeout` (`waitedNs`, `lastAttempt`). A
 * refused wait throws {@link ProbeError} instead.
 */
export class NotReady extends Error {
  constructor(reason, message, fields) {
    super(message);
    this.name = "NotReady";
    this.reason = reason;
    Object.assign(this, fields);
  }
}

function ready(call) {
  try {
    return plain(call());
  } catch (e) {
    const p = e && e.payload;
    if (!p || typeof p !== "object" || !("tag" in p)) throw e;
    if (p.tag === "exited") {
      const exit = new Exit(p.val);
      throw new NotReady("exited",
        `the process ended before it was ready: ${exit.describe()} after ${(exit.afterNs / 1e6).toFixed(1)} ms; stderr: ${exit.stderrTail.trim().slice(-2000)}`,
        { exit, stderrTail: exit.stderrTail });
    }
    if (p.tag === "timeout") {
      const t = plain(p.val);
      throw new NotReady("timeout",
        `not ready after ${(t.waitedNs / 1e6).toFixed(1)} ms; last attempt: ${t.lastAttempt}; stderr: ${t.stderrTail.trim().slice(-2000)}`,
        { waitedNs: t.waitedNs, lastAttempt: t.lastAttempt, stderrTail: t.stderrTail });
    }
    throw new ProbeError(p.val.tag, p.val.val);
  }
}

/** A child process started by {@link spawn}; `close()` (or `using`) stops it if it still runs. */
export class Child extends Resource {
  /** Process id (also its process group id). */
  get pid() { return this.handle.pid(); }
  /** Nanoseconds since spawn (until exit, once it has ended). */
  get elapsedNs() { return num(this.handle.elapsedNs()); }
  /** Waits up to `timeout` seconds (default 10) for the end; an {@link Exit}, or `undefined` while it runs. */
  wait({ timeout = 10 } = {}) {
    const e = this.handle.wait(ns(timeout));
    return e === undefined ? undefined : new Exit(e);
  }
  /** SIGTERM to the group, SIGKILL after `grace` seconds (default 2), reaped; how it ended. */
  kill({ grace = 2 } = {}) { return new Exit(this.handle.kill(ns(grace))); }
  /** The last bytes written to `"stdout"` or `"stderr"` (at most 64 KiB are kept). */
  tail(stream = "stdout") { return this.handle.tail(stream); }
  get stdoutTail() { return this.tail("stdout"); }
  get stderrTail() { return this.tail("stderr"); }
  /** Total bytes written to a stream, kept or not. */
  outputBytes(stream = "stdout") { return num(this.handle.outputBytes(stream)); }
  /** Waits until `127.0.0.1:port` accepts a connection: `{ afterNs, waitedNs }`; throws {@link NotReady}. */
  waitPort(port, { timeout = 10 } = {}) { return ready(() => this.handle.waitPort(port, ns(timeout))); }
  /** Waits until `GET url` answers `status` (the host must be granted); throws {@link NotReady} or `denied`. */
  waitHttp(url, status = 200, { timeout = 10 } = {}) {
    return ready(() => this.handle.waitHttp(url, status, ns(timeout)));
  }
  /** Waits until a line of `stream` matches `pattern` (Rust regex); `.line` is the line. */
  waitLine(pattern, { stream = "stdout", timeout = 10 } = {}) {
    return ready(() => this.handle.waitLine(stream, pattern, ns(timeout)));
  }
}

/**
 * A program to run: no shell; the environment is empty except for `env`
 * (an object or pairs) unless `inheritEnv` (which needs its grant); `cwd`
 * relative to the work directory. `{work}` stands for the work directory.
 */
export class Command {
  constructor(program, args = [], { env, inheritEnv = false, cwd } = {}) {
    this.program = program;
    this.args = args.map(String);
    const pairs = !env ? [] : Array.isArray(env) ? env : Object.entries(env);
    this.env = pairs.map(([k, v]) => [String(k), String(v)]);
    this.inheritEnv = inheritEnv;
    this.cwd = cwd;
  }
  /** The contract's `command`. */
  toWit() {
    return { program: this.program, args: this.args, env: this.env, inheritEnv: this.inheritEnv, cwd: this.cwd };
  }
  /** Starts it; {@link ProbeError} `denied` (not granted) or `io` (cannot run). */
  spawn() { return new Child(probe(() => process.spawn(this.toWit()))); }
  /**
   * Times the start-up like `hyperfine -N`: `warmup` untimed runs, then
   * `runs` timed ones (default 10), each run recorded into `into` if given.
   * Stats in ns as Numbers; `lastFailure` is `{ tag: "code"|"signal", val }`.
   */
  timeStartup({ warmup = 0, runs = 10, into } = {}) {
    return plain(probe(() => process.timeStartup(this.toWit(), warmup, runs, hist(into))));
  }
  /** Runs it to its end (killed after `timeout` seconds) and returns the {@link Exit}. */
  output({ timeout = 10 } = {}) {
    const child = this.spawn();
    try {
      return child.wait({ timeout }) ?? child.kill({ grace: 0.5 });
    } finally {
      child.close();
    }
  }
  toString() { return [this.program, ...this.args].join(" "); }
}

/** `new Command(program, args, options).spawn()`. */
export const spawn = (program, args = [], options = {}) => new Command(program, args, options).spawn();

/** `new Command(program, args, options).timeStartup(options)`. */
export const timeStartup = (program, args = [], options = {}) =>
  new Command(program, args, options).timeStartup(options);

/** The scenario's work directory (its scratch directory; what `{work}` stands for). */
export const workDir = () => probe(() => process.workDir());

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = () => probe(() => process.freePort());
