// Languages bench guest (JavaScript): `calls` cheap host calls (`clock.now`).
import * as rigor from "./rigor.js";

export const { describe, run } = rigor.scenario({
  name: "bench-lang-js",
  description: "Guest-to-host call overhead",
  params: [rigor.param("calls", 0, "clock.now calls")],
  run(p) {
    const n = p.int("calls");
    for (let i = 0; i < n; i++) rigor.nowNs();
  },
});
