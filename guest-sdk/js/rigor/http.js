/**
 * HTTP/1.1 and HTTP/2 over `http://` and `https://` through the host,
 * timed natively phase by phase, and native loads in the closed and open
 * models. URLs must name a host the catalog grants (`http = ["127.0.0.1"]`),
 * else {@link ProbeError} `denied`.
 *
 *     import { get, Request, Load } from "./rigor/http.js";
 *     const r = get(`${base}/health`, { into: latency });
 *     rigor.check("health answers 200", r.status === 200, `got ${r.status}`);
 *     new Load(new Request("GET", `${base}/items`), "items", { workers: 8, requests: 1000 }).run();
 *
 * @module rigor/http
 */

import * as http from "rigor:scenario/http@0.1.0";
import { bytes, headerPairs, hist, ns, plain, probe, text } from "../rigor.js";

/**
 * One request. Options: `headers` (object or pairs; `Host`,
 * `Content-Length`, `Connection` are the host's), `body` (string or
 * bytes) or `json` (an object, sent with its content type), `timeout`
 * seconds (default 10), `version` `"http1"` or `"http2"` (default: the
 * server chooses over TLS, else HTTP/1.1), `maxRedirects` (default 0),
 * `clientIdentity` (a client certificate the catalog grants, by name).
 */
export class Request {
  constructor(method, url, { headers, body, json, timeout, version, maxRedirects = 0, clientIdentity } = {}) {
    this.method = method;
    this.url = url;
    this.headers = headerPairs(headers);
    this.body = bytes(body ?? new Uint8Array());
    if (json !== undefined) {
      this.body = bytes(JSON.stringify(json));
      if (!this.headers.some(([k]) => k.toLowerCase() === "content-type")) {
        this.headers.push(["content-type", "application/json"]);
      }
    }
    this.timeout = timeout;
    this.version = version;
    this.maxRedirects = maxRedirects;
    this.clientIdentity = clientIdentity;
  }
  /** The contract's `request`. */
  toWit() {
    return {
      method: this.method, url: this.url, headers: this.headers, body: this.body,
      timeoutNs: ns(this.timeout), version: this.version, maxRedirects: this.maxRedirects,
      clientIdentity: this.clientIdentity,
    };
  }
  /**
   * Sends it on a new connection, timed (`into` records the total). A 4xx
   * or 5xx status is a {@link Response}; failures throw {@link ProbeError}.
   */
  send({ into } = {}) { return new Response(probe(() => http.send(this.toWit(), hist(into)))); }
}

/**
 * A response: `status`, `headers`, `body` (Uint8Array, cut at 1 MiB),
 * `bodyBytes`, `version`, `url`, `redirects`, and the times `dnsNs`,
 * `connectNs`, `tlsNs`, `firstByteNs`, `totalNs` (Numbers).
 */
export class Response {
  constructor(raw) { Object.assign(this, plain(raw)); }
  /** The body as UTF-8 text. */
  get text() { return text(this.body); }
  /** The body parsed as JSON. */
  json() { return JSON.parse(this.text); }
  /** The first header called `name` (any case), or `undefined`. */
  header(name) {
    const h = this.headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
    return h ? h[1] : undefined;
  }
}

/** `new Request(method, url, options).send(options)`. */
export const send = (method, url, options = {}) => new Request(method, url, options).send(options);
/** `GET url`. */
export const get = (url, options = {}) => send("GET", url, options);
/** `POST url` with `body` (or `json` in the options). */
export const post = (url, body, options = {}) => send("POST", url, { ...options, body });

/**
 * A native load of identical requests, recorded into the histogram
 * `metric` (plus `<metric>.first-byte`, `.connect`, `.tls`, and the gauges
 * `.throughput`, `.error-rate`). Options: `workers` 1, `connections` 0
 * (HTTP/2: connections to multiplex over), `threads` 0 (half the cores),
 * `requests` or `duration` (seconds), `rate` (requests/s: open model).
 */
export class Load {
  constructor(request, metric, options = {}) {
    this.request = request;
    this.metric = metric;
    this.options = { ...options };
  }
  /** The contract's `load-spec`. */
  spec() {
    const o = this.options;
    return {
      request: this.request.toWit(), workers: o.workers ?? 1, connections: o.connections ?? 0,
      threads: o.threads ?? 0, requests: BigInt(o.requests ?? 0), durationNs: ns(o.duration),
      rate: o.rate, metric: this.metric,
    };
  }
  /** Runs the load; the report with Numbers. `denied` for an ungranted host, `invalid` for a bad spec. */
  run() { return plain(probe(() => http.runLoad(this.spec()))); }
}

/** `new Load(request, metric, options).run()`. */
export const runLoad = (request, metric, options = {}) => new Load(request, metric, options).run();
