/**
 * Files through the host: the scenario's scratch directory and directories
 * the catalog grants, with timed operations (`{ into: histogram }`) and a
 * native concurrent file load. Paths are relative to their root and
 * confined to it: `..`, absolute paths and symlinks leading out throw
 * {@link ProbeError} `denied`.
 *
 *     import { Dir, IoLoad } from "./rigor/fs.js";
 *     rigor.using(Dir.scratch(), rigor.Histogram.latency("write.1KB"), (dir, h) => {
 *       dir.write("f", "x".repeat(1024), { fsync: true, into: h });
 *       const report = dir.runIoLoad(new IoLoad("mixed", { workers: 4, ops: 10000 }));
 *     });
 *
 * @module rigor/fs
 */

import * as fs from "rigor:scenario/fs@0.1.0";
import { Resource, bytes, hist, num, plain, probe, text } from "../rigor.js";

function fsyncPolicy(p) {
  if (typeof p === "number") return { tag: "every", val: p };
  if (["never", "every-write", "at-end"].includes(p)) return { tag: p };
  throw new RangeError(`fsync \`${p}\` is not never, every-write, at-end or a number`);
}

/**
 * A concurrent file load. Options and defaults: `workers` 1,
 * `filesPerWorker` 1, `fileSize` 1 MiB, `blockSize` 4 KiB, `readPercent`
 * 50, `fsync` `"never"` (`"every-write"`, `"at-end"`, or n: after every
 * n-th write), `random` true, `ops` 1000 in total (or `duration` seconds).
 * Metrics: `<name>.read`, `<name>.write`, `<name>.fsync`,
 * `<name>.ops-per-s`, `<name>.read-bytes-per-s`, `<name>.write-bytes-per-s`.
 */
export class IoLoad {
  constructor(name, options = {}) {
    this.name = name;
    this.options = { ...options };
  }
  /** The contract's `io-load-spec`. */
  spec() {
    const o = this.options;
    return {
      name: this.name,
      workers: o.workers ?? 1,
      filesPerWorker: o.filesPerWorker ?? 1,
      fileSize: BigInt(o.fileSize ?? 1024 * 1024),
      blockSize: BigInt(o.blockSize ?? 4096),
      readPercent: o.readPercent ?? 50,
      fsync: fsyncPolicy(o.fsync ?? "never"),
      random: o.random ?? true,
      stop: o.duration !== undefined
        ? { tag: "duration-ns", val: BigInt(Math.max(1, Math.round(o.duration * 1e9))) }
        : { tag: "ops", val: BigInt(o.ops ?? 1000) },
    };
  }
}

/** A root directory: the scratch directory or a granted one; `close()` releases it (at most 256 at once). */
export class Dir extends Resource {
  /** The scenario's own scratch directory (read-write, removed at the end). */
  static scratch() { return new Dir(probe(() => fs.Dir.scratch())); }
  /** The directory the catalog grants as `name`; `denied` otherwise. */
  static open(name) { return new Dir(probe(() => fs.Dir.open(name))); }
  /** The root's name (`scratch`, `data`). */
  get name() { return this.handle.name(); }
  /** Whether the root may be written. */
  get writable() { return this.handle.writable(); }
  /**
   * Creates or truncates `path` with `data` (string or bytes), flushed first
   * with `fsync`; timed from open to close: `{ bytes, latencyNs }`.
   */
  write(path, data, { fsync = false, into } = {}) {
    return plain(probe(() => this.handle.write(path, { tag: "bytes", val: bytes(data) }, fsync, hist(into))));
  }
  /** Writes `size` bytes of a fixed pattern (at most 1 GiB) without sending them over. */
  fill(path, size, { fsync = false, into } = {}) {
    return plain(probe(() => this.handle.write(path, { tag: "fill", val: BigInt(size) }, fsync, hist(into))));
  }
  /** Appends to `path` (created when missing). */
  append(path, data, { fsync = false, into } = {}) {
    return plain(probe(() => this.handle.append(path, { tag: "bytes", val: bytes(data) }, fsync, hist(into))));
  }
  /** The whole file (at most 64 MiB) as a Uint8Array. */
  read(path, { into } = {}) { return probe(() => this.handle.read(path, hist(into))).data; }
  /** The whole file as UTF-8 text. */
  readText(path, opts = {}) { return text(this.read(path, opts)); }
  /** Flushes `path` to stable storage; the time in ns. */
  fsync(path, { into } = {}) { return num(probe(() => this.handle.fsync(path, hist(into)))); }
  /** Renames `from` to `to` within this root (`to` is replaced); ns. */
  rename(from, to, { into } = {}) { return num(probe(() => this.handle.rename(from, to, hist(into)))); }
  /** Deletes a file, a symlink (never its target) or an empty directory; ns. */
  delete(path, { into } = {}) { return num(probe(() => this.handle.delete(path, hist(into)))); }
  /** A listing sorted by name: `{ entries: [{ name, kind, size }], omitted }`. */
  list(path = ".") { return plain(probe(() => this.handle.list(path))); }
  /** Creates a directory and its missing parents. */
  mkdir(path) { probe(() => this.handle.mkdir(path)); }
  /** Creates the symlink `link` pointing at `target` (following it is confined like any path). */
  symlink(target, link) { probe(() => this.handle.symlink(target, link)); }
  /**
   * Writes a table as `"json"` (an array of objects), `"csv"` (RFC 4180
   * with a header) or `"text"` (aligned); cells become text. Rendering is
   * untimed, the write timed like `write`.
   */
  dump(path, columns, rows, { format = "json", fsync = false, into } = {}) {
    const records = { columns: columns.map(String), rows: rows.map((r) => r.map(String)) };
    return plain(probe(() => this.handle.dump(path, records, format, fsync, hist(into))));
  }
  /**
   * Runs a concurrent file load natively in this root (in a folder removed
   * afterwards) and records its metrics: `runIoLoad(new IoLoad(...))` or
   * `runIoLoad("name", { workers: 4 })`. The report with Numbers.
   */
  runIoLoad(load, options = {}) {
    const l = load instanceof IoLoad ? load : new IoLoad(load, options);
    return plain(probe(() => this.handle.runIoLoad(l.spec())));
  }
}
