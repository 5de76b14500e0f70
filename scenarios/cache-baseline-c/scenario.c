/* cache-baseline-c: the cache baseline in C. Clears the scenario's key
 * prefix, then measures the cold path (GET misses) and the warm path (GET
 * hits after a SET) with single host-timed calls into histograms, and
 * reports the difference as gauges and a finding. Same metric names as the
 * Rust `cache-baseline`, so the two can be compared run by run. */

#include <stdio.h>
#include <string.h>

#include "rigor.h"

static void describe(rigor_info *info) {
    rigor_describe(info, "cache-baseline-c",
                   "Cold (miss) and warm (hit) GET latency after clearing the cache prefix, in C");
    rigor_describe_param(info, "ops", "1000", "timed GETs per path");
    rigor_describe_param(info, "value-size", "1KiB", "size of every cached value");
    rigor_describe_param(info, "max-hit-p99", "1ms", "p99 of a warm GET above which the scenario fails");
    rigor_describe_param(info, "key-prefix", "rigor:cache-baseline-c:",
                         "prefix of every key (cleared before and after)");
    rigor_describe_param(info, "target", "default", "Redis target to use");
}

static bool measure(rigor_redis redis, const char *prefix, uint64_t ops, const uint8_t *value,
                    size_t value_size, const char *max_hit_p99, rigor_error *err) {
    rigor_histogram miss = rigor_histogram_latency("get.miss");
    rigor_histogram fill = rigor_histogram_latency("set.fill");
    rigor_histogram hit = rigor_histogram_latency("get.hit");
    char key[256];

    /* Cold path: nothing is cached, every GET misses. */
    uint64_t unexpected = 0;
    for (uint64_t i = 0; i < ops; i++) {
        snprintf(key, sizeof key, "%s%llu", prefix, (unsigned long long)i);
        rigor_value got;
        if (!rigor_redis_get(redis, key, &miss, &got, err)) return false;
        if (got.found) unexpected++;
        rigor_value_free(&got);
    }
    rigor_check("cold path misses", unexpected == 0,
                "%llu of %llu GETs found a value after the prefix was cleared",
                (unsigned long long)unexpected, (unsigned long long)ops);

    /* Warm path: populate, then every GET hits. */
    for (uint64_t i = 0; i < ops; i++) {
        snprintf(key, sizeof key, "%s%llu", prefix, (unsigned long long)i);
        if (!rigor_redis_set(redis, key, value, value_size, &fill, NULL, err)) return false;
    }
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < ops; i++) {
        snprintf(key, sizeof key, "%s%llu", prefix, (unsigned long long)i);
        rigor_value got;
        if (!rigor_redis_get(redis, key, &hit, &got, err)) return false;
        if (!rigor_value_is(&got, value, value_size)) wrong++;
        rigor_value_free(&got);
    }
    rigor_check("warm path hits", wrong == 0, "%llu of %llu GETs missed or returned a different value",
                (unsigned long long)wrong, (unsigned long long)ops);

    rigor_summary m = rigor_histogram_summary(miss), h = rigor_histogram_summary(hit);
    rigor_gauge("hit-minus-miss.mean", h.mean - m.mean, RIGOR_NANOSECONDS);
    rigor_gauge("hit-minus-miss.p99", (double)h.p99 - (double)m.p99, RIGOR_NANOSECONDS);
    char detail[512];
    snprintf(detail, sizeof detail,
             "miss: mean %.1f \xc2\xb5s, p99 %.1f \xc2\xb5s; hit (%zu B): mean %.1f \xc2\xb5s, "
             "p99 %.1f \xc2\xb5s; difference of means %+.1f \xc2\xb5s",
             m.mean / 1e3, m.p99 / 1e3, value_size, h.mean / 1e3, h.p99 / 1e3,
             (h.mean - m.mean) / 1e3);
    rigor_finding(RIGOR_INFO, "Warm hit versus cold miss", detail,
                  "A hit costs the transfer of the value; compare with the miss to size values.");

    char expression[64];
    snprintf(expression, sizeof expression, "p(99) < %s", max_hit_p99);
    rigor_verdict verdict;
    if (!rigor_threshold("get.hit", expression, &verdict, err)) return false;
    if (!verdict.passed) {
        snprintf(detail, sizeof detail, "p99 of a cache hit is %.0f \xc2\xb5s (limit %s)",
                 verdict.observed / 1e3, max_hit_p99);
        rigor_finding(RIGOR_MEDIUM, "Warm cache reads are slow", detail,
                      "Check server load and value sizes; large values cost transfer time on every hit.");
    }
    return true;
}

static bool run(const rigor_params *params, rigor_error *err) {
    uint64_t ops, value_size;
    if (!rigor_param_u64(params, "ops", &ops, err)) return false;
    if (ops < 1) return rigor_fail(err, RIGOR_INVALID, "`ops` must be at least 1");
    if (!rigor_param_size(params, "value-size", &value_size, err)) return false;
    const char *prefix = rigor_param(params, "key-prefix");
    const char *max_hit_p99 = rigor_param(params, "max-hit-p99");
    const char *target = rigor_param(params, "target");
    if (!prefix || !max_hit_p99 || !target)
        return rigor_fail(err, RIGOR_INVALID, "the catalog must declare key-prefix, max-hit-p99 and target");

    rigor_redis redis;
    if (!rigor_redis_open(target, &redis, err)) return false;
    uint64_t cleared = 0;
    bool ok = rigor_redis_clear_prefix(redis, prefix, &cleared, err);
    if (ok) {
        rigor_log(RIGOR_LOG_INFO, "cleared %llu stale keys under `%s`", (unsigned long long)cleared, prefix);
        uint8_t *value = malloc(value_size ? value_size : 1);
        memset(value, 'v', value_size);
        ok = measure(redis, prefix, ops, value, value_size, max_hit_p99, err);
        free(value);
    }
    uint64_t removed = 0;
    /* Clean up even after a failure; the first error is the one reported. */
    rigor_error cleanup;
    if (rigor_redis_clear_prefix(redis, prefix, &removed, ok ? err : &cleanup))
        rigor_log(RIGOR_LOG_INFO, "removed %llu keys under `%s`", (unsigned long long)removed, prefix);
    else
        ok = false;
    rigor_redis_close(&redis);
    return ok;
}

RIGOR_SCENARIO(describe, run)
