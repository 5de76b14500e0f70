// session-store-js: Redis as a session store, written in JavaScript. Writes
// `sessions` JSON session documents with an expiry (SET … EX), reads them
// back, refreshes their expiry (EXPIRE) and checks what a session store must
// guarantee: every session reads back intact, carries a TTL no longer than
// asked, and is gone once deleted. Every round trip is timed by the host.

import * as rigor from "./rigor.js";
import { Redis } from "./rigor/redis.js";

function session(i) {
  return JSON.stringify({
    id: `s-${i}`,
    user: { id: i, name: `user-${i}`, roles: ["reader", i % 3 === 0 ? "admin" : "writer"] },
    cart: Array.from({ length: i % 5 }, (_, n) => ({ sku: `sku-${n}`, qty: n + 1 })),
    createdAt: 1700000000 + i,
  });
}

export const { describe, run } = rigor.scenario({
  name: "session-store-js",
  description: "Session documents in Redis: write with expiry, read back, refresh, expire and delete",
  params: [
    rigor.param("sessions", 500, "session documents written and read"),
    rigor.param("ttl", "30m", "expiry given to every session"),
    rigor.param("max-read-p99", "1ms", "p99 of a session read above which the scenario fails"),
    rigor.param("key-prefix", "rigor:session-store-js:", "prefix of every key (cleared before and after)"),
    rigor.param("target", "default", "Redis target to use"),
  ],
  run(p) {
    const n = p.int("sessions");
    if (n < 1) throw new Error("`sessions` must be at least 1");
    const ttlSeconds = Math.max(1, Math.round(p.durationNs("ttl") / 1e9));
    const prefix = p.str("key-prefix");
    const key = (i) => `${prefix}${i}`;

    rigor.using(
      Redis.open(p.str("target")),
      rigor.Histogram.latency("session.write"),
      rigor.Histogram.latency("session.read"),
      rigor.Histogram.latency("session.touch"),
      (redis, write, read, touch) => {
        redis.clearPrefix(prefix);

        for (let i = 0; i < n; i++) {
          redis.command(["SET", key(i), session(i), "EX", String(ttlSeconds)], { into: write });
        }

        let corrupt = 0;
        for (let i = 0; i < n; i++) {
          const text = redis.getString(key(i), { into: read });
          if (text === undefined || JSON.parse(text).id !== `s-${i}`) corrupt++;
        }
        rigor.check("sessions read back intact", corrupt === 0, `${corrupt} of ${n} sessions missing or corrupt`);

        let badTtl = 0;
        for (let i = 0; i < n; i++) {
          redis.command(["EXPIRE", key(i), String(ttlSeconds)], { into: touch });
          const ttl = redis.command(["TTL", key(i)]);
          if (ttl.tag !== "integer" || ttl.val <= 0n || ttl.val > BigInt(ttlSeconds)) badTtl++;
        }
        rigor.check("every session expires", badTtl === 0, `${badTtl} of ${n} sessions without a TTL in 1..=${ttlSeconds} s`);

        const removed = redis.clearPrefix(prefix);
        const left = redis.getString(key(0));
        rigor.check("deleted sessions are gone", left === undefined && Number(removed) === n,
          `removed ${removed} of ${n}; first session after removal: ${left === undefined ? "absent" : "present"}`);

        const bytes = Array.from({ length: n }, (_, i) => session(i).length);
        rigor.gauge("session.size.mean", bytes.reduce((a, b) => a + b, 0) / n, rigor.Unit.BYTES);
        const verdict = rigor.threshold("session.read", `p(99) < ${p.str("max-read-p99")}`);
        if (!verdict.passed) {
          rigor.finding(rigor.Severity.MEDIUM, "Session reads are slow",
            `p99 of a session read is ${(verdict.observed / 1e3).toFixed(0)} µs (limit ${p.str("max-read-p99")})`,
            "Check server load; keep session documents small.");
        }
      },
    );
  },
});
