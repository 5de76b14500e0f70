// VU bench guest (JavaScript): one pooled Redis GET, then `sleep-ms`.

import * as rigor from "./rigor.js";
import { Redis } from "./rigor/redis.js";

export const { describe, setup, iteration, teardown } = rigor.vuScenario({
  name: "bench-vu-js",
  description: "One pooled GET and a sleep per iteration",
  params: [rigor.param("sleep-ms", 1000, "pause after the GET")],
  iteration(vu, data) {
    Redis.pooled("default").command(["GET", `bench:vu:${vu.id % 1024}`]);
    rigor.sleep(data.int("sleep-ms") / 1000);
  },
});
