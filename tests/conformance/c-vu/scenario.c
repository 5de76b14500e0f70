/* The conformance VU scenario (tests/conformance/SPEC.md) through the C SDK:
 * setup data, the VU context, pooled Redis, teardown. */

#include <string.h>

#include "rigor.h"

static void describe(rigor_info *info) {
    rigor_describe(info, "conformance-vu", "The VU world through the SDK");
}

static bool setup(const rigor_params *params, rigor_data *out, rigor_error *err) {
    (void)params;
    rigor_redis r;
    if (!rigor_redis_open("default", &r, err)) return false;
    bool ok = rigor_redis_set(r, "conf:vu", "ready", 5, NULL, NULL, err);
    rigor_redis_close(&r);
    if (ok) rigor_data_set(out, "conf-data", 9);
    return ok;
}

static bool iteration(const rigor_vu *vu, const uint8_t *data, size_t len, rigor_error *err) {
    rigor_check("vu.data", len == 9 && memcmp(data, "conf-data", 9) == 0, "%zu bytes", len);
    rigor_check("vu.context", vu->vu >= 1 && vu->vu <= 2, "vu %u", vu->vu);
    rigor_histogram h = rigor_histogram_latency("conf.vu.get");
    rigor_redis r;
    if (!rigor_redis_open_pooled("default", &r, err)) return false;
    rigor_value got;
    bool ok = rigor_redis_get(r, "conf:vu", &h, &got, err);
    rigor_redis_close(&r);
    if (!ok) return false;
    rigor_check("vu.redis", rigor_value_is(&got, "ready", 5), "");
    rigor_value_free(&got);
    rigor_counter_add("conf.vu.iterations", 1);
    return true;
}

static bool teardown(const uint8_t *data, size_t len, rigor_error *err) {
    (void)data;
    (void)len;
    rigor_redis r;
    if (!rigor_redis_open("default", &r, err)) return false;
    const char *key[] = {"conf:vu"};
    uint64_t deleted = 0;
    bool ok = rigor_redis_del(r, key, 1, NULL, &deleted, err);
    rigor_redis_close(&r);
    if (!ok) return false;
    rigor_check("vu.teardown", deleted == 1, "deleted %llu", (unsigned long long)deleted);
    return true;
}

RIGOR_VU_SCENARIO(describe, setup, iteration, teardown)
