/**
 * WebSocket (`ws://`, `wss://`) through the host: connections timed per
 * phase, text and binary messages, ping round trips, close codes, and a
 * native load matching every answer to its message by a correlation id. A
 * WebSocket is granted by the `http` grant of its host.
 *
 *     import { WebSocket, Load } from "./rigor/websocket.js";
 *     rigor.using(WebSocket.connect(`ws://127.0.0.1:${port}/ws/echo`), (ws) => {
 *       ws.sendText("hello");
 *       rigor.check("echoed", ws.receiveText({ timeout: 1 }) === "hello");
 *       ws.close(1000, "done");
 *     });
 *     new Load(`ws://127.0.0.1:${port}/ws/echo`, "echo", { connections: 8, messages: 100 }).run();
 *
 * @module rigor/websocket
 */

import * as websocket from "rigor:scenario/websocket@0.1.0";
import { Resource, bytes, headerPairs, hist, ns, num, plain, probe } from "../rigor.js";

/**
 * An open connection. `close()` is the close handshake; `drop()` (also
 * what `using` and `[Symbol.dispose]` do) releases it without one.
 */
export class WebSocket extends Resource {
  /**
   * Resolves, connects, negotiates TLS for `wss://` and upgrades, each phase
   * timed (`timing`). Options: `headers`, `timeout` seconds (default 10),
   * `maxMessageBytes` (0: 1 MiB). Throws {@link ProbeError} `denied`,
   * `invalid`, `connection`, `timeout` or `server` (upgrade refused).
   */
  static connect(url, { headers, timeout, maxMessageBytes = 0 } = {}) {
    const options = { headers: headerPairs(headers), timeoutNs: ns(timeout), maxMessageBytes };
    return new WebSocket(probe(() => websocket.Connection.connect(url, options)));
  }
  /** Where the connect's time went: `{ dnsNs, connectNs, tlsNs, upgradeNs, totalNs }`. */
  get timing() { return plain(this.handle.timing()); }
  sendText(text) { probe(() => this.handle.sendText(text)); }
  sendBinary(data) { probe(() => this.handle.sendBinary(bytes(data))); }
  /** A text message for a string, a binary one for bytes. */
  send(message) { return typeof message === "string" ? this.sendText(message) : this.sendBinary(message); }
  /**
   * The next message or the peer's close: `{ tag: "text", val }`,
   * `{ tag: "binary", val: Uint8Array }` or `{ tag: "closed", val: { code,
   * reason } }`; `timeout` seconds (default 10), then `ProbeError` `timeout`.
   */
  receive({ timeout } = {}) { return probe(() => this.handle.receive(ns(timeout))); }
  /** The next message, which must be text. */
  receiveText(options = {}) {
    const m = this.receive(options);
    if (m.tag === "text") return m.val;
    if (m.tag === "binary") throw new Error(`expected a text message, got ${m.val.length} binary bytes`);
    throw new Error(`expected a text message, the peer closed with ${m.val.code} ${m.val.reason}`);
  }
  /** Pings and waits for the pong; the round trip in ns (recorded into `into`). */
  ping({ into, timeout } = {}) { return num(probe(() => this.handle.ping(hist(into), ns(timeout)))); }
  /** The close handshake; returns the peer's close code (1005 when it gave none). Releases the handle. */
  close(code = 1000, reason = "", { timeout } = {}) {
    if (this.inner === undefined) return undefined;
    try {
      return probe(() => this.handle.close(code, reason, ns(timeout)));
    } finally {
      this.release();
    }
  }
  /** Releases the connection without a handshake; idempotent. */
  drop() { this.release(); }
}

/**
 * A native load: `connections` connections sending messages with a
 * correlation id, answers matched by it; round trips into the histogram
 * `metric` (plus `<metric>.connect`, `.sent-rate`, `.received-rate`,
 * `.lost`). Options: `connections` 1, `messages` per connection or
 * `duration` seconds, `rate` (per connection: open model), `template`
 * `'{"id":"{id}"}'` (a string is sent as text, bytes as binary),
 * `placeholder` `"{id}"`, `jsonId` `"id"` or `idBytes` `[offset, length]`,
 * `grace` seconds (default 1), `maxMessageBytes` (0: 64 KiB).
 */
export class Load {
  constructor(url, metric, options = {}) {
    this.url = url;
    this.metric = metric;
    this.options = { ...options };
  }
  /** The contract's `load-spec`. */
  spec() {
    const o = this.options;
    const template = o.template ?? '{"id":"{id}"}';
    return {
      url: this.url, connections: o.connections ?? 1, messages: BigInt(o.messages ?? 0),
      durationNs: ns(o.duration), rate: o.rate, template: bytes(template),
      text: o.text ?? typeof template === "string", idPlaceholder: o.placeholder ?? "{id}",
      idLocation: o.idBytes ? { tag: "byte-range", val: o.idBytes } : { tag: "json-field", val: o.jsonId ?? "id" },
      graceNs: ns(o.grace), maxMessageBytes: o.maxMessageBytes ?? 0, metric: this.metric,
    };
  }
  /** Runs the load; the report with Numbers. `denied` / `invalid` for a spec that cannot run. */
  run() { return plain(probe(() => websocket.runLoad(this.spec()))); }
}

/** `new Load(url, metric, options).run()`. */
export const runLoad = (url, metric, options = {}) => new Load(url, metric, options).run();
