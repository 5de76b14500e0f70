/* {{name}}: SET then GET `ops` keys against Redis, each round trip timed by
 * the host into the `set` and `get` histograms; checks that every GET
 * returns what SET wrote and that GET stays fast. */

#include <stdio.h>
#include <string.h>

#include "rigor.h"

static void describe(rigor_info *info) {
    rigor_describe(info, "{{name}}", "SET then GET round trips against the default Redis target");
    rigor_describe_param(info, "ops", "100", "timed SETs and GETs");
    rigor_describe_param(info, "key-prefix", "rigor:{{name}}:",
                         "prefix of every key written (removed at the end)");
}

static bool run(const rigor_params *params, rigor_error *err) {
    uint64_t ops;
    if (!rigor_param_u64(params, "ops", &ops, err)) return false;
    const char *prefix = rigor_param(params, "key-prefix");
    rigor_redis redis;
    if (!rigor_redis_open("default", &redis, err)) return false;
    rigor_histogram set_latency = rigor_histogram_latency("set");
    rigor_histogram get_latency = rigor_histogram_latency("get");
    char key[256], value[32];
    for (uint64_t i = 0; i < ops; i++) {
        snprintf(key, sizeof key, "%s%llu", prefix, (unsigned long long)i);
        int len = snprintf(value, sizeof value, "value-%llu", (unsigned long long)i);
        if (!rigor_redis_set(redis, key, value, (size_t)len, &set_latency, NULL, err)) return false;
    }
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < ops; i++) {
        snprintf(key, sizeof key, "%s%llu", prefix, (unsigned long long)i);
        int len = snprintf(value, sizeof value, "value-%llu", (unsigned long long)i);
        rigor_value got;
        if (!rigor_redis_get(redis, key, &get_latency, &got, err)) return false;
        if (!rigor_value_is(&got, value, (size_t)len)) wrong++;
        rigor_value_free(&got);
    }
    rigor_check("get returns what set wrote", wrong == 0, "%llu of %llu GETs differed",
                (unsigned long long)wrong, (unsigned long long)ops);
    if (!rigor_threshold("get", "p(99) < 100ms", NULL, err)) return false;
    uint64_t removed;
    if (!rigor_redis_clear_prefix(redis, prefix, &removed, err)) return false;
    rigor_log(RIGOR_LOG_INFO, "removed %llu keys under %s", (unsigned long long)removed, prefix);
    return true;
}

RIGOR_SCENARIO(describe, run)
