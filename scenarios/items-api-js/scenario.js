// items-api-js: the service under test (`sut/service.py`) checked from
// JavaScript through the process and HTTP probes. The host starts the
// service on a free port, waits until /health answers 200, and times every
// request natively; the scenario creates items, reads them back, checks the
// error answers, and stops the service with SIGTERM, expecting a clean exit.

import * as rigor from "./rigor.js";
import { Request } from "./rigor/http.js";
import { freePort, spawn } from "./rigor/process.js";

function request(method, url, body, into) {
  const res = new Request(method, url, {
    headers: { "content-type": "application/json" },
    body: body ?? "",
    timeout: 5,
  }).send({ into });
  return { status: res.status, text: res.text };
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
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn("./sut/service.py", [], { env: { PORT: String(port), PYTHONUNBUFFERED: "1" } });
    try {
      const ready = child.waitHttp(`${base}/health`, 200, { timeout: p.durationNs("ready-timeout") / 1e9 });
      rigor.gauge("service.ready", ready.afterNs, rigor.Unit.NANOSECONDS);

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
      const exit = child.kill({ grace: 3 });
      rigor.check("SIGTERM stops the service cleanly", exit.success, `${exit.describe()}; stderr: ${exit.stderrTail.slice(-200)}`);
      child.close();
    }
  },
});
