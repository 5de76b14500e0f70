// {{name}}: SET then GET `ops` keys against Redis, each round trip timed by
// the host into the `set` and `get` histograms; checks that every GET
// returns what SET wrote and that GET stays fast.

import * as rigor from "./rigor.js";
import { Redis } from "./rigor/redis.js";

export const { describe, run } = rigor.scenario({
  name: "{{name}}",
  description: "SET then GET round trips against the default Redis target",
  params: [
    rigor.param("ops", 100, "timed SETs and GETs"),
    rigor.param("key-prefix", "rigor:{{name}}:", "prefix of every key written (removed at the end)"),
  ],
  run(p) {
    const ops = p.int("ops");
    const prefix = p.str("key-prefix");
    rigor.using(
      Redis.open("default"),
      rigor.Histogram.latency("set"),
      rigor.Histogram.latency("get"),
      (redis, setLatency, getLatency) => {
        for (let i = 0; i < ops; i++) {
          redis.set(`${prefix}${i}`, `value-${i}`, { into: setLatency });
        }
        let wrong = 0;
        for (let i = 0; i < ops; i++) {
          if (redis.getString(`${prefix}${i}`, { into: getLatency }) !== `value-${i}`) wrong++;
        }
        rigor.check("get returns what set wrote", wrong === 0, `${wrong} of ${ops} GETs differed`);
        rigor.threshold("get", "p(99) < 100ms");
        const removed = redis.clearPrefix(prefix);
        rigor.log.info(`removed ${removed} keys under ${prefix}`);
      },
    );
  },
});
