// items-api-js: the service under test (`sut/service.py`) checked from
// JavaScript through the process and HTTP probes. The host starts the
// service on a free port, waits until /health answers 200, and times every
// request natively; the scenario creates items, reads them back, checks the
// error answers, and stops the service with SIGTERM, expecting a clean exit.

import * as rigor from "./rigor.js";
import { spawn, freePort } from "rigor:scenario/process@0.1.0";
import { send } from "rigor:scenario/http@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ms = (n) => BigInt(n) * 1_000_000n;

// `result<_, probe-error>` and `not-ready` errors arrive as thrown objects
// whose `payload` says why; turn them into readable errors.
function call(what, f) {
  try {
    return f();
  } catch (e) {
    const p = e && e.payload;
    if (p && typeof p === "object" && "tag" in p) {
      const detail = typeof p.val === "object" ? JSON.stringify(p.val, (_, v) => (typeof v === "bigint" ? Number(v) : v)) : p.val;
      throw new Error(`${what}: ${p.tag}: ${detail}`);
    }
    throw e;
  }
}

function request(method, url, body, into) {
  const req = { method, url, headers: [["content-type", "application/json"]], body: encoder.encode(body ?? ""), timeoutNs: ms(5000), version: undefined, maxRedirects: 0, clientIdentity: undefined };
  const res = call(`${method} ${url}`, () => send(req, into ? into.inner : undefined));
  return { status: res.status, text: decoder.decode(res.body) };
}

export const { describe, run } = rigor.scenario({
  name: "items-api-js",
  description: "The items API of the service under test: create, read back, error answers, clean stop",
  params: [
    rigor.param("items", 50, "items created and read back"),
    rigor.param("ready-timeout", "10s", "how long the service may take to answer /health"),
    rigor.param("max-get-p99", "50ms", "p99 of GET /items/<id> above which the scenario fails"),
  ],
  run(p) {
    const items = p.int("items");
    const port = call("free-port", () => freePort());
    const base = `http://127.0.0.1:${port}`;
    const child = call("spawn ./sut/service.py", () =>
      spawn({
        program: "./sut/service.py",
        args: [],
        env: [["PORT", String(port)], ["PYTHONUNBUFFERED", "1"]],
        inheritEnv: false,
        cwd: undefined,
      }),
    );
    try {
      const ready = call("waiting for /health", () =>
        child.waitHttp(`${base}/health`, 200, BigInt(Math.round(p.durationNs("ready-timeout")))),
      );
      rigor.gauge("service.ready", Number(ready.afterNs), rigor.Unit.NANOSECONDS);

      rigor.using(rigor.Histogram.latency("items.create"), rigor.Histogram.latency("items.get"), (create, get) => {
        const ids = [];
        let badCreate = 0;
        for (let i = 0; i < items; i++) {
          const r = request("POST", `${base}/items`, JSON.stringify({ name: `item-${i}`, qty: i }), create);
          if (r.status !== 201) badCreate++;
          else ids.push([i, JSON.parse(r.text).id]);
        }
        rigor.check("POST /items answers 201", badCreate === 0, `${badCreate} of ${items} creations failed`);

        let wrong = 0;
        for (const [i, id] of ids) {
          const r = request("GET", `${base}/items/${id}`, undefined, get);
          if (r.status !== 200 || JSON.parse(r.text).name !== `item-${i}`) wrong++;
        }
        rigor.check("GET /items/<id> returns what was stored", wrong === 0, `${wrong} of ${ids.length} reads differed`);
      });

      const unknown = request("GET", `${base}/items/does-not-exist`);
      rigor.check("an unknown item is 404", unknown.status === 404, `status ${unknown.status}`);
      const bad = request("POST", `${base}/items`, "{not json");
      rigor.check("a malformed body is 400", bad.status === 400, `status ${bad.status}`);

      rigor.threshold("items.get", `p(99) < ${p.str("max-get-p99")}`);
    } finally {
      const exit = child.kill(ms(3000));
      const code = exit.status.tag === "code" ? exit.status.val : undefined;
      rigor.check("SIGTERM stops the service cleanly", code === 0, `exit ${exit.status.tag} ${exit.status.val}; stderr: ${exit.stderrTail.slice(-200)}`);
      child[Symbol.dispose || Symbol.for("dispose")]?.();
    }
  },
});
