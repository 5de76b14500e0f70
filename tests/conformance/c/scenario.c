/* The conformance scenario (tests/conformance/SPEC.md) through the C SDK:
 * every probe of the contract, its success and its error paths. A call that
 * fails unexpectedly is a failed check with the error as its detail, and
 * the run goes on. */

#include <stdio.h>
#include <string.h>

#include "rigor.h"

#define SUT "../../scenarios/sut/service.py"
#define MS 1000000ull
#define WAIT (5000 * MS)

/* Records `name` as passed iff the call succeeded and `cond` holds. */
static void expect(const char *name, bool ok, bool cond, const rigor_error *err) {
    if (ok)
        rigor_check(name, cond, "%s", cond ? "" : "condition not met");
    else
        rigor_check(name, false, "%s: %s", rigor_error_kind_name(err->kind), err->message);
}

/* Passes iff the call failed with `kind`. */
static void expect_error(const char *name, rigor_error_kind kind, bool ok, const rigor_error *err) {
    if (ok)
        rigor_check(name, false, "the call succeeded");
    else
        rigor_check(name, err->kind == kind, "%s: %s", rigor_error_kind_name(err->kind), err->message);
}

static void describe(rigor_info *info) {
    rigor_describe(info, "conformance", "Every probe of the contract through the SDK, success and error paths");
    rigor_describe_param(info, "ops", "20", "operations per loop");
}

static void clock_and_metrics(void) {
    uint64_t t0 = rigor_now_ns();
    rigor_sleep_ns(2 * MS);
    uint64_t t1 = rigor_now_ns();
    rigor_check("clock.sleep", t1 - t0 >= 2 * MS, "%llu ns", (unsigned long long)(t1 - t0));
    rigor_histogram values = rigor_histogram_open("conf.values", RIGOR_COUNT);
    for (uint64_t v = 1; v <= 50; v++) rigor_histogram_record(values, v);
    uint64_t more[50];
    for (int i = 0; i < 50; i++) more[i] = 51 + (uint64_t)i;
    rigor_histogram_record_many(values, more, 50);
    rigor_summary s = rigor_histogram_summary(values);
    char *name = rigor_histogram_name(values);
    rigor_check("metrics.histogram", s.count == 100 && s.min == 1 && s.max == 100 && strcmp(name, "conf.values") == 0,
                "count %llu min %llu max %llu name %s", (unsigned long long)s.count,
                (unsigned long long)s.min, (unsigned long long)s.max, name);
    free(name);
    rigor_histogram_close(&values);
    rigor_gauge("conf.gauge", 42.5, RIGOR_UNIT_NONE);
    rigor_counter_add("conf.counter", 3);
    rigor_counter_add("conf.counter", 4);
}

static void report_calls(void) {
    rigor_error err;
    rigor_log(RIGOR_LOG_INFO, "conformance: started");
    rigor_verdict v;
    bool ok = rigor_threshold("conf.values", "max<=100", &v, &err);
    expect("report.threshold", ok, ok && v.passed && v.observed == 100, &err);
    expect_error("report.threshold-invalid", RIGOR_INVALID, rigor_threshold("conf.values", "p(99)<<1", NULL, &err), &err);
    rigor_finding(RIGOR_LOW, "conformance finding", "recorded by the SDK", "none");
}

static void redis(uint64_t ops) {
    rigor_error err;
    rigor_redis r;
    if (!rigor_redis_open("default", &r, &err)) {
        rigor_check("redis.open", false, "%s", err.message);
        return;
    }
    rigor_redis_clear_prefix(r, "conf:", NULL, &err);
    rigor_histogram h = rigor_histogram_latency("conf.redis");
    rigor_redis_set(r, "conf:key", "value", 5, &h, NULL, &err);
    rigor_value got;
    bool ok = rigor_redis_get(r, "conf:key", &h, &got, &err);
    expect("redis.get", ok, ok && rigor_value_is(&got, "value", 5), &err);
    if (ok) rigor_value_free(&got);
    ok = rigor_redis_get(r, "conf:missing", NULL, &got, &err);
    expect("redis.get-missing", ok, ok && !got.found, &err);
    if (ok) rigor_value_free(&got);
    const char *key[] = {"conf:key"};
    uint64_t n = 0;
    ok = rigor_redis_del(r, key, 1, NULL, &n, &err);
    expect("redis.del", ok, n == 1, &err);
    const char *incr[] = {"INCRBY", "conf:n", "5"};
    rigor_reply reply;
    ok = rigor_redis_command(r, incr, 3, NULL, &reply, &err);
    expect("redis.command", ok,
           ok && reply.reply.tag == RIGOR_REPLY_INTEGER && reply.reply.val.integer == 5, &err);
    if (ok) rigor_reply_free(&reply);
    const char *flush[] = {"FLUSHALL"};
    ok = rigor_redis_command(r, flush, 1, NULL, &reply, &err);
    if (ok) rigor_reply_free(&reply);
    expect_error("redis.denied", RIGOR_DENIED, ok, &err);
    rigor_redis other;
    ok = rigor_redis_open("nowhere", &other, &err);
    if (ok) rigor_redis_close(&other);
    expect_error("redis.target-denied", RIGOR_DENIED, ok, &err);

    rigor_load_op mix[] = {{.kind = RIGOR_OP_SET, .weight = 1}, {.kind = RIGOR_OP_GET, .weight = 1}};
    rigor_redis_load spec = {
        .target = "default",
        .workers = 2,
        .ops_per_worker = ops,
        .mix = mix,
        .mix_len = 2,
        .value_bytes = 16,
        .key_prefix = "conf:load:",
        .key_count = 50,
        .pipeline = 1,
        .metric_prefix = "conf.load",
    };
    rigor_redis_load_result load;
    ok = rigor_redis_run_load(&spec, &load, &err);
    expect("redis.run-load", ok, ok && load.ok == 2 * ops && load.errors == 0, &err);
    if (ok) rigor_redis_load_result_free(&load);

    rigor_redis pooled;
    ok = rigor_redis_open_pooled("default", &pooled, &err);
    if (ok) {
        ok = rigor_redis_get(pooled, "conf:n", NULL, &got, &err);
        expect("redis.pooled", ok, ok && rigor_value_is(&got, "5", 1), &err);
        if (ok) rigor_value_free(&got);
        rigor_redis_close(&pooled);
    } else {
        expect("redis.pooled", false, false, &err);
    }
    ok = rigor_redis_clear_prefix(r, "conf:", &n, &err);
    expect("redis.clear-prefix", ok, n >= 1, &err);
    rigor_redis_close(&r);
}

/* Starts the service under test; returns whether it runs. */
static bool process(rigor_child *child, char *base, size_t base_len) {
    rigor_error err;
    char *work = NULL;
    bool ok = rigor_work_dir(&work, &err);
    expect("process.work-dir", ok, true, &err);
    free(work);
    uint16_t port = 0;
    ok = rigor_free_port(&port, &err);
    expect("process.free-port", ok, port > 0, &err);
    bool running = false;
    if (ok) {
        char port_text[8];
        snprintf(port_text, sizeof port_text, "%u", port);
        snprintf(base, base_len, "http://127.0.0.1:%u", port);
        rigor_env env[] = {{"PORT", port_text},
                           {"APP_ENV", "production"},
                           {"SECRET_KEY", "conformance"},
                           {"PYTHONUNBUFFERED", "1"}};
        rigor_command cmd = {.program = SUT, .env = env, .env_len = 4};
        running = rigor_spawn(&cmd, child, &err);
        if (running) {
            char url[128];
            snprintf(url, sizeof url, "%s/health", base);
            expect("process.wait-http", rigor_child_wait_http(*child, url, 200, 10000 * MS, NULL, &err), true, &err);
            expect("process.wait-line",
                   rigor_child_wait_line(*child, RIGOR_STDOUT, "listening on", WAIT, NULL, &err), true, &err);
        } else {
            expect("process.wait-http", false, false, &err);
            expect("process.wait-line", false, false, &err);
        }
    }
    rigor_histogram startup = rigor_histogram_latency("conf.startup");
    rigor_command t = {.program = "/bin/true"};
    rigor_startup_stats stats;
    ok = rigor_time_startup(&t, 1, 5, &startup, &stats, &err);
    expect("process.time-startup", ok, ok && stats.runs == 5 && stats.failed_runs == 0, &err);
    rigor_command cat = {.program = "/bin/cat"};
    rigor_child other;
    ok = rigor_spawn(&cat, &other, &err);
    if (ok) rigor_child_close(&other);
    expect_error("process.denied", RIGOR_DENIED, ok, &err);
    rigor_env preload[] = {{"LD_PRELOAD", "x.so"}};
    rigor_command envd = {.program = "/bin/true", .env = preload, .env_len = 1};
    ok = rigor_spawn(&envd, &other, &err);
    if (ok) rigor_child_close(&other);
    expect_error("process.env-denied", RIGOR_DENIED, ok, &err);
    return running;
}

static void http(const char *base, uint64_t ops) {
    rigor_error err;
    char health[128], missing[128];
    snprintf(health, sizeof health, "%s/health", base);
    snprintf(missing, sizeof missing, "%s/missing", base);
    rigor_histogram h = rigor_histogram_latency("conf.http");
    rigor_http_response resp;
    rigor_http_request req = {.url = health, .timeout_ns = WAIT};
    bool ok = rigor_http_send(&req, &h, &resp, &err);
    expect("http.send", ok, ok && resp.status == 200, &err);
    if (ok) rigor_http_response_free(&resp);
    rigor_http_request miss = {.url = missing, .timeout_ns = WAIT};
    ok = rigor_http_send(&miss, NULL, &resp, &err);
    expect("http.status", ok, ok && resp.status == 404, &err);
    if (ok) rigor_http_response_free(&resp);
    rigor_http_request far = {.url = "http://192.0.2.1/", .timeout_ns = 1000 * MS};
    ok = rigor_http_send(&far, NULL, &resp, &err);
    if (ok) rigor_http_response_free(&resp);
    expect_error("http.denied", RIGOR_DENIED, ok, &err);
    rigor_http_load spec = {.request = req, .workers = 2, .connections = 2, .threads = 1, .requests = ops, .metric = "conf.http.load"};
    rigor_http_load_report l;
    ok = rigor_http_run_load(&spec, &l, &err);
    expect("http.run-load", ok, ok && l.ok == ops && l.failed == 0, &err);
    if (ok) rigor_http_load_report_free(&l);
}

static void websocket(const char *base, uint64_t ops) {
    rigor_error err;
    char url[128];
    snprintf(url, sizeof url, "ws://%s/ws/echo", base + strlen("http://"));
    rigor_ws_options options = {.timeout_ns = WAIT};
    rigor_ws ws;
    if (rigor_ws_connect(url, &options, &ws, &err)) {
        rigor_ws_message m;
        rigor_ws_send_text(ws, "conformance", &err);
        bool ok = rigor_ws_receive(ws, WAIT, &m, &err);
        expect("websocket.echo", ok, ok && m.kind == RIGOR_WS_TEXT && strcmp((char *)m.data, "conformance") == 0, &err);
        if (ok) rigor_ws_message_free(&m);
        const uint8_t three[] = {1, 2, 3};
        rigor_ws_send_binary(ws, three, 3, &err);
        ok = rigor_ws_receive(ws, WAIT, &m, &err);
        expect("websocket.binary", ok, ok && m.kind == RIGOR_WS_BINARY && m.len == 3 && memcmp(m.data, three, 3) == 0, &err);
        if (ok) rigor_ws_message_free(&m);
        rigor_histogram ping = rigor_histogram_latency("conf.ws.ping");
        expect("websocket.ping", rigor_ws_ping(ws, &ping, WAIT, NULL, &err), true, &err);
        uint16_t code = 0;
        ok = rigor_ws_close(ws, 1000, "done", WAIT, &code, &err);
        expect("websocket.close", ok, code == 1000, &err);
        rigor_ws_drop(&ws);
    } else {
        const char *names[] = {"websocket.echo", "websocket.binary", "websocket.ping", "websocket.close"};
        for (int i = 0; i < 4; i++) expect(names[i], false, false, &err);
    }
    rigor_ws_options quick = {.timeout_ns = 1000 * MS};
    rigor_ws far;
    bool ok = rigor_ws_connect("ws://192.0.2.1/", &quick, &far, &err);
    if (ok) rigor_ws_drop(&far);
    expect_error("websocket.denied", RIGOR_DENIED, ok, &err);
    const char template_[] = "{\"id\":\"{id}\"}";
    rigor_ws_load spec = {
        .url = url,
        .connections = 2,
        .messages = ops,
        .template_data = template_,
        .template_len = sizeof template_ - 1,
        .text = true,
        .id_placeholder = "{id}",
        .id_json_field = "id",
        .grace_ns = 2000 * MS,
        .max_message_bytes = 65536,
        .metric = "conf.ws.load",
    };
    rigor_ws_load_report l;
    ok = rigor_ws_run_load(&spec, &l, &err);
    expect("websocket.run-load", ok, ok && l.matched == l.sent && l.sent > 0 && l.lost == 0, &err);
    if (ok) rigor_ws_load_report_free(&l);
}

static void files(uint64_t ops) {
    rigor_error err;
    rigor_dir d;
    if (!rigor_dir_scratch(&d, &err)) {
        rigor_check("fs.scratch", false, "%s", err.message);
        return;
    }
    rigor_histogram h = rigor_histogram_latency("conf.fs");
    rigor_dir_write(d, "a.txt", "hello", 5, false, &h, NULL, &err);
    rigor_bytes b;
    bool ok = rigor_dir_read(d, "a.txt", &h, &b, &err);
    expect("fs.read", ok, ok && b.len == 5 && memcmp(b.data, "hello", 5) == 0, &err);
    if (ok) rigor_bytes_free(&b);
    rigor_dir_append(d, "a.txt", "!", 1, false, NULL, NULL, &err);
    ok = rigor_dir_read(d, "a.txt", NULL, &b, &err);
    expect("fs.append", ok, ok && b.len == 6 && memcmp(b.data, "hello!", 6) == 0, &err);
    if (ok) rigor_bytes_free(&b);
    rigor_dir_mkdir(d, "sub", &err);
    rigor_dir_write_fill(d, "sub/b.bin", 4096, false, NULL, NULL, &err);
    rigor_listing l;
    ok = rigor_dir_list(d, ".", &l, &err);
    expect("fs.list", ok,
           ok && rigor_listing_has(&l, "a.txt", RIGOR_ENTRY_FILE) && rigor_listing_has(&l, "sub", RIGOR_ENTRY_DIRECTORY),
           &err);
    if (ok) rigor_listing_free(&l);
    rigor_dir_rename(d, "a.txt", "c.txt", NULL, NULL, &err);
    rigor_dir_delete(d, "c.txt", NULL, NULL, &err);
    ok = rigor_dir_list(d, ".", &l, &err);
    expect("fs.rename-delete", ok,
           ok && !rigor_listing_has(&l, "a.txt", RIGOR_ENTRY_FILE) && !rigor_listing_has(&l, "c.txt", RIGOR_ENTRY_FILE),
           &err);
    if (ok) rigor_listing_free(&l);
    const char *columns[] = {"name", "value"};
    const char *cells[] = {"a", "1", "b", "2"};
    rigor_dir_dump(d, "rows.csv", columns, 2, cells, 2, RIGOR_CSV, false, NULL, NULL, &err);
    ok = rigor_dir_read(d, "rows.csv", NULL, &b, &err);
    expect("fs.dump", ok, ok && strstr((char *)b.data, "a,1") != NULL, &err);
    if (ok) rigor_bytes_free(&b);
    ok = rigor_dir_read(d, "../outside", NULL, &b, &err);
    if (ok) rigor_bytes_free(&b);
    expect_error("fs.escape-denied", RIGOR_DENIED, ok, &err);
    rigor_dir other;
    ok = rigor_dir_open("nowhere", &other, &err);
    if (ok) rigor_dir_close(&other);
    expect_error("fs.open-denied", RIGOR_DENIED, ok, &err);
    rigor_io_load spec = {
        .name = "conf.io",
        .workers = 2,
        .files_per_worker = 1,
        .file_size = 65536,
        .block_size = 4096,
        .read_percent = 50,
        .fsync = RIGOR_FSYNC_NEVER,
        .random = false,
        .ops = ops * 10,
    };
    rigor_io_load_report r;
    ok = rigor_dir_run_io_load(d, &spec, &r, &err);
    expect("fs.io-load", ok, ok && r.errors == 0 && r.reads + r.writes == ops * 10, &err);
    if (ok) rigor_io_load_report_free(&r);
    rigor_dir_close(&d);
}

static void memory(const rigor_child *child) {
    rigor_error err;
    rigor_usage u;
    bool ok = rigor_memory_sample(rigor_target_host(), &u, &err);
    expect("memory.sample", ok, ok && u.rss > 0, &err);
    if (child) {
        ok = rigor_memory_sample(rigor_target_child(*child), &u, &err);
        expect("memory.child", ok, ok && u.rss > 0, &err);
    } else {
        rigor_check("memory.child", false, "the service did not start");
    }
    expect_error("memory.denied", RIGOR_DENIED, rigor_memory_sample(rigor_target_pid(1), &u, &err), &err);
    rigor_watcher w;
    if (rigor_watcher_start("conf.mem", rigor_target_host(), RIGOR_RSS, 0, &w, &err)) {
        for (uint64_t k = 1; k <= 5; k++) rigor_watcher_ops_done(w, k, NULL, &err);
        rigor_memory_verdict v;
        ok = rigor_watcher_verdict(w, NULL, &v, &err);
        rigor_points series = rigor_watcher_series(w);
        expect("memory.watcher", ok, ok && v.samples >= 5 && series.len >= 5, &err);
        rigor_points_free(&series);
        if (ok) rigor_memory_verdict_free(&v);
        rigor_watcher_stop(w);
        rigor_watcher_close(&w);
    } else {
        expect("memory.watcher", false, false, &err);
    }
}

static bool run(const rigor_params *params, rigor_error *err) {
    uint64_t ops = 0;
    if (!rigor_param_u64(params, "ops", &ops, err)) return false;
    rigor_check("params.ops", ops == 20, "ops = %llu", (unsigned long long)ops);
    clock_and_metrics();
    report_calls();
    redis(ops);
    rigor_child child;
    char base[64];
    bool service = process(&child, base, sizeof base);
    if (service) {
        http(base, ops);
        websocket(base, ops);
    }
    files(ops);
    memory(service ? &child : NULL);
    if (service) {
        rigor_child_exit exit;
        rigor_child_kill(child, 2000 * MS, &exit);
        rigor_check("process.kill", true, "exit code %d", rigor_child_exit_code(&exit));
        rigor_child_exit_free(&exit);
        rigor_child_close(&child);
    }
    rigor_finding(RIGOR_INFO, "conformance complete", "", "");
    return true;
}

RIGOR_SCENARIO(describe, run)
