/* Languages bench guest (C): `calls` cheap host calls (`clock.now`), or with
 * `gets`, that many timed GETs of one 100 B value, the loop's time set as
 * the gauge `loop.elapsed` (ns). Given `gets` (even 0), the connection opens:
 * run(gets=0) costs everything but the GETs, which the bench subtracts. */

#include <string.h>

#include "rigor.h"

static void describe(rigor_info *info) {
    rigor_describe(info, "bench-lang-c", "Guest-to-host call overhead");
    rigor_describe_param(info, "calls", "0", "clock.now calls");
    rigor_describe_param(info, "gets", "0", "timed Redis GETs");
}

static bool get_loop(uint64_t gets, rigor_error *err) {
    rigor_redis r;
    if (!rigor_redis_open("default", &r, err)) return false;
    uint8_t value[100];
    memset(value, 'x', sizeof value);
    if (!rigor_redis_set(r, "key:0", value, sizeof value, NULL, NULL, err)) return false;
    rigor_histogram h = rigor_histogram_latency("get");
    uint64_t t0 = rigor_now_ns();
    for (uint64_t i = 0; i < gets; i++) {
        rigor_value v;
        if (!rigor_redis_get(r, "key:0", &h, &v, err)) return false;
        rigor_value_free(&v);
    }
    rigor_gauge("loop.elapsed", (double)(rigor_now_ns() - t0), RIGOR_NANOSECONDS);
    rigor_redis_close(&r);
    return true;
}

static bool run(const rigor_params *params, rigor_error *err) {
    uint64_t calls = 0, gets = 0;
    if (!rigor_param_u64(params, "calls", &calls, err)) return false;
    const char *g = rigor_param(params, "gets");
    if (g && !rigor_param_u64(params, "gets", &gets, err)) return false;
    if (g) return get_loop(gets, err);
    for (uint64_t i = 0; i < calls; i++) (void)rigor_now_ns();
    return true;
}

RIGOR_SCENARIO(describe, run)
