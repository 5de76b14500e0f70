// The conformance VU scenario (tests/conformance/SPEC.md) through the
// JavaScript SDK: setup data, the VU context, pooled Redis, teardown.

import * as rigor from "./rigor.js";
import { Redis } from "./rigor/redis.js";

export const { describe, setup, iteration, teardown } = rigor.vuScenario({
  name: "conformance-vu",
  description: "The VU world through the SDK",
  params: [],
  setup() {
    rigor.using(Redis.open("default"), (r) => r.set("conf:vu", "ready"));
    return new rigor.Params([["conf", "conf-data"]]);
  },
  iteration(vu, data) {
    rigor.check("vu.data", data.values.get("conf") === "conf-data", "");
    rigor.check("vu.context", vu.id >= 1 && vu.id <= 2, `vu ${vu.id}`);
    rigor.using(rigor.Histogram.latency("conf.vu.get"), (h) => {
      rigor.check("vu.redis", Redis.pooled("default").getString("conf:vu", { into: h }) === "ready", "");
    });
    rigor.counter("conf.vu.iterations", 1);
  },
  teardown() {
    const deleted = rigor.using(Redis.open("default"), (r) => r.delete(["conf:vu"]));
    rigor.check("vu.teardown", deleted === 1, `deleted ${deleted}`);
  },
});
