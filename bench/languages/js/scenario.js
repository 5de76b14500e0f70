// Languages bench guest (JavaScript): `calls` cheap host calls (`clock.now`);
// with `gets`, that many GETs of `key:0`, each timed by the host into `get`.
// Given `gets` (even 0), the connection opens: run(gets=0) costs everything
// but the GETs, which the bench subtracts.
import * as rigor from "./rigor.js";
import { Redis } from "./rigor/redis.js";

export const { describe, run } = rigor.scenario({
  name: "bench-lang-js",
  description: "Guest-to-host call overhead",
  params: [
    rigor.param("calls", 0, "clock.now calls"),
    rigor.param("gets", 0, "timed Redis GETs of `key:0`"),
  ],
  run(p) {
    const n = p.int("calls");
    for (let i = 0; i < n; i++) rigor.nowNs();
    let gets;
    try {
      gets = p.int("gets");
    } catch {
      return; // the call-overhead runs give only `calls`
    }
    const h = rigor.Histogram.latency("get");
    const redis = Redis.open("default");
    try {
      for (let i = 0; i < gets; i++) redis.get("key:0", { into: h });
    } finally {
      redis.close();
    }
  },
});
