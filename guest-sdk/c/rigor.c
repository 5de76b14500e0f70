/* The Rigor scenario SDK for C: conversions between plain C values and the
 * generated bindings, and the ownership rules of those bindings (results of
 * imports belong to the caller, arguments of exports to the callee, results
 * of exports must be heap memory the post-return function frees). Functions
 * a scenario does not call are removed by the linker, and with them the
 * imports they would need. */

#include "rigor.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

/* A borrowed view of a C string (NULL is the empty string). */
static scenario_string_t str(const char *s) {
    scenario_string_t out = {(uint8_t *)(s ? s : ""), s ? strlen(s) : 0};
    return out;
}

static scenario_list_u8_t bytes(const void *data, size_t len) {
    scenario_list_u8_t out = {(uint8_t *)data, len};
    return out;
}

/* A NUL-terminated heap copy of a (not terminated) string. */
static char *cstr(const uint8_t *ptr, size_t len) {
    char *out = malloc(len + 1);
    if (!out) abort();
    if (len) memcpy(out, ptr, len);
    out[len] = 0;
    return out;
}

/* The host's string as a C string; frees the host's copy. */
static char *take(scenario_string_t *s) {
    char *out = cstr(s->ptr, s->len);
    scenario_string_free(s);
    return out;
}

static void *alloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p) abort();
    return p;
}

/* Copies the host's error into `err` and frees it; returns false. */
static bool from_probe(rigor_scenario_types_probe_error_t *pe, rigor_error *err) {
    if (err) {
        err->kind = (rigor_error_kind)pe->tag;
        /* Every case carries a string at the same place. */
        scenario_string_t *m = &pe->val.denied;
        size_t n = m->len < RIGOR_ERROR_MESSAGE_MAX - 1 ? m->len : RIGOR_ERROR_MESSAGE_MAX - 1;
        memcpy(err->message, m->ptr, n);
        err->message[n] = 0;
    }
    rigor_scenario_types_probe_error_free(pe);
    return false;
}

static rigor_scenario_metrics_borrow_histogram_t *hist(const rigor_histogram *into,
                                                       rigor_scenario_metrics_borrow_histogram_t *slot) {
    if (!into) return NULL;
    slot->__handle = into->handle;
    return slot;
}

const char *rigor_error_kind_name(rigor_error_kind kind) {
    static const char *const names[] = {"denied", "timeout", "connection", "io",
                                        "invalid", "server",  "exited",     "failed"};
    return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : "failed";
}

bool rigor_fail(rigor_error *err, rigor_error_kind kind, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->kind = kind;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* --------------------------------------------------------- parameters */

const char *rigor_param(const rigor_params *p, const char *name) {
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->names[i], name) == 0) return p->values[i];
    return NULL;
}

static const char *need(const rigor_params *p, const char *name, rigor_error *err) {
    const char *v = rigor_param(p, name);
    if (!v) rigor_fail(err, RIGOR_INVALID, "no parameter `%s`: declare it in describe and the catalog", name);
    return v;
}

/* Parses a decimal number (digits, `_`, one `.`) at *s; advances *s. */
static bool number(const char **s, double *out) {
    double v = 0, scale = 0;
    bool any = false;
    while (**s == ' ') (*s)++;
    for (; **s; (*s)++) {
        char c = **s;
        if (c >= '0' && c <= '9') {
            any = true;
            if (scale) {
                v += (c - '0') * scale;
                scale /= 10;
            } else {
                v = v * 10 + (c - '0');
            }
        } else if (c == '.' && !scale) {
            scale = 0.1;
        } else if (c != '_') {
            break;
        }
    }
    *out = v;
    return any;
}

typedef struct unit_factor {
    const char *unit;
    double factor;
} unit_factor;

static bool with_unit(const char *text, const unit_factor *units, size_t n_units, bool many,
                      double *total) {
    const char *s = text;
    *total = 0;
    do {
        double v;
        if (!number(&s, &v)) return false;
        const char *u = s;
        while (*s && *s != ' ') s++;
        size_t len = (size_t)(s - u);
        size_t i = 0;
        for (; i < n_units; i++)
            if (strlen(units[i].unit) == len && strncmp(units[i].unit, u, len) == 0) break;
        if (i == n_units) return false;
        *total += v * units[i].factor;
        while (*s == ' ') s++;
    } while (many && *s);
    return *s == 0;
}

bool rigor_param_u64(const rigor_params *p, const char *name, uint64_t *out, rigor_error *err) {
    const char *v = need(p, name, err);
    if (!v) return false;
    double d;
    const char *s = v;
    if (!number(&s, &d) || *s || d != (double)(uint64_t)d)
        return rigor_fail(err, RIGOR_INVALID, "parameter `%s` = `%s` is not a whole number", name, v);
    *out = (uint64_t)d;
    return true;
}

bool rigor_param_f64(const rigor_params *p, const char *name, double *out, rigor_error *err) {
    const char *v = need(p, name, err);
    if (!v) return false;
    const char *s = v;
    bool negative = *s == '-';
    if (negative) s++;
    if (!number(&s, out) || *s)
        return rigor_fail(err, RIGOR_INVALID, "parameter `%s` = `%s` is not a number", name, v);
    if (negative) *out = -*out;
    return true;
}

bool rigor_param_size(const rigor_params *p, const char *name, uint64_t *out, rigor_error *err) {
    static const unit_factor units[] = {{"", 1},          {"B", 1},
                                        {"KB", 1e3},      {"MB", 1e6},
                                        {"GB", 1e9},      {"KiB", 1024.0},
                                        {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
    const char *v = need(p, name, err);
    if (!v) return false;
    double total;
    if (!with_unit(v, units, sizeof units / sizeof *units, false, &total))
        return rigor_fail(err, RIGOR_INVALID, "parameter `%s` = `%s` is not a size (`100B`, `10KiB`)", name, v);
    *out = (uint64_t)total;
    return true;
}

bool rigor_param_duration_ns(const rigor_params *p, const char *name, uint64_t *out,
                             rigor_error *err) {
    static const unit_factor units[] = {{"ns", 1},     {"us", 1e3},   {"\xc2\xb5s", 1e3},
                                        {"ms", 1e6},   {"s", 1e9},    {"m", 60e9},
                                        {"min", 60e9}, {"h", 3600e9}};
    const char *v = need(p, name, err);
    if (!v) return false;
    double total;
    if (!with_unit(v, units, sizeof units / sizeof *units, true, &total))
        return rigor_fail(err, RIGOR_INVALID, "parameter `%s` = `%s` is not a duration (`5s`, `250ms`)", name, v);
    *out = (uint64_t)total;
    return true;
}

bool rigor_param_bool(const rigor_params *p, const char *name, bool *out, rigor_error *err) {
    const char *v = need(p, name, err);
    if (!v) return false;
    *out = strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0;
    return true;
}

void rigor_describe(rigor_info *info, const char *name, const char *description) {
    scenario_string_dup(&info->name, name);
    scenario_string_dup(&info->description, description);
}

void rigor_describe_param(rigor_info *info, const char *name, const char *default_value,
                          const char *help) {
    rigor_scenario_types_list_param_info_t *list = &info->params;
    rigor_scenario_types_param_info_t *grown =
        realloc(list->ptr, (list->len + 1) * sizeof *list->ptr);
    if (!grown) abort();
    list->ptr = grown;
    rigor_scenario_types_param_info_t *p = &list->ptr[list->len++];
    scenario_string_dup(&p->name, name);
    scenario_string_dup(&p->default_value, default_value);
    scenario_string_dup(&p->description, help);
}

/* -------------------------------------------------------------- clock */

uint64_t rigor_now_ns(void) { return rigor_scenario_clock_now(); }
void rigor_sleep_ns(uint64_t ns) { rigor_scenario_clock_sleep(ns); }

/* ------------------------------------------------------------ metrics */

rigor_histogram rigor_histogram_open(const char *name, rigor_unit unit) {
    scenario_string_t n = str(name);
    rigor_scenario_metrics_own_histogram_t h =
        rigor_scenario_metrics_constructor_histogram(&n, (rigor_scenario_metrics_unit_t)unit);
    rigor_histogram out = {h.__handle};
    return out;
}

rigor_histogram rigor_histogram_latency(const char *name) {
    return rigor_histogram_open(name, RIGOR_NANOSECONDS);
}

static rigor_scenario_metrics_borrow_histogram_t borrow_h(rigor_histogram h) {
    rigor_scenario_metrics_borrow_histogram_t b = {h.handle};
    return b;
}

void rigor_histogram_record(rigor_histogram h, uint64_t value) {
    rigor_scenario_metrics_method_histogram_record(borrow_h(h), value);
}

void rigor_histogram_record_many(rigor_histogram h, const uint64_t *values, size_t n) {
    scenario_list_u64_t list = {(uint64_t *)values, n};
    rigor_scenario_metrics_method_histogram_record_many(borrow_h(h), &list);
}

rigor_summary rigor_histogram_summary(rigor_histogram h) {
    rigor_summary s;
    rigor_scenario_metrics_method_histogram_summary(borrow_h(h), &s);
    return s;
}

char *rigor_histogram_name(rigor_histogram h) {
    scenario_string_t s;
    rigor_scenario_metrics_method_histogram_name(borrow_h(h), &s);
    return take(&s);
}

void rigor_histogram_close(rigor_histogram *h) {
    if (h->handle) {
        rigor_scenario_metrics_own_histogram_t own = {h->handle};
        rigor_scenario_metrics_histogram_drop_own(own);
        h->handle = 0;
    }
}

void rigor_gauge(const char *name, double value, rigor_unit unit) {
    scenario_string_t n = str(name);
    rigor_scenario_metrics_gauge(&n, value, (rigor_scenario_metrics_unit_t)unit);
}

void rigor_counter_add(const char *name, uint64_t delta) {
    scenario_string_t n = str(name);
    rigor_scenario_metrics_counter_add(&n, delta);
}

/* ------------------------------------------------------------- report */

void rigor_check(const char *name, bool passed, const char *fmt, ...) {
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    scenario_string_t n = str(name), d = str(detail);
    rigor_scenario_report_check(&n, passed, &d);
}

bool rigor_threshold(const char *metric, const char *expression, rigor_verdict *out,
                     rigor_error *err) {
    scenario_string_t m = str(metric), e = str(expression);
    rigor_scenario_report_verdict_t v;
    rigor_scenario_report_probe_error_t pe;
    if (!rigor_scenario_report_threshold(&m, &e, &v, &pe)) return from_probe(&pe, err);
    if (out) {
        out->passed = v.passed;
        out->observed = v.observed;
        out->limit = v.limit;
    }
    rigor_scenario_report_verdict_free(&v);
    return true;
}

void rigor_finding(rigor_severity severity, const char *title, const char *detail,
                   const char *action) {
    rigor_scenario_report_finding_t f = {(rigor_scenario_report_severity_t)severity, str(title),
                                         str(detail), str(action)};
    rigor_scenario_report_add_finding(&f);
}

void rigor_log(rigor_level level, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    scenario_string_t m = str(line);
    rigor_scenario_report_log((rigor_scenario_report_level_t)level, &m);
}

/* -------------------------------------------------------------- redis */

static rigor_scenario_redis_borrow_connection_t borrow_r(rigor_redis r) {
    rigor_scenario_redis_borrow_connection_t b = {r.handle};
    return b;
}

bool rigor_redis_open(const char *target, rigor_redis *out, rigor_error *err) {
    scenario_string_t t = str(target);
    rigor_scenario_redis_own_connection_t c;
    rigor_scenario_redis_probe_error_t pe;
    if (!rigor_scenario_redis_static_connection_open(&t, &c, &pe)) return from_probe(&pe, err);
    out->handle = c.__handle;
    return true;
}

bool rigor_redis_open_pooled(const char *target, rigor_redis *out, rigor_error *err) {
    scenario_string_t t = str(target);
    rigor_scenario_redis_own_connection_t c;
    rigor_scenario_redis_probe_error_t pe;
    if (!rigor_scenario_redis_static_connection_open_pooled(&t, &c, &pe))
        return from_probe(&pe, err);
    out->handle = c.__handle;
    return true;
}

void rigor_redis_close(rigor_redis *r) {
    if (r->handle) {
        rigor_scenario_redis_own_connection_t own = {r->handle};
        rigor_scenario_redis_connection_drop_own(own);
        r->handle = 0;
    }
}

bool rigor_redis_set(rigor_redis r, const char *key, const void *value, size_t len,
                     const rigor_histogram *into, uint64_t *latency_ns, rigor_error *err) {
    scenario_string_t k = str(key);
    scenario_list_u8_t v = bytes(value, len);
    rigor_scenario_metrics_borrow_histogram_t slot;
    uint64_t latency;
    rigor_scenario_redis_probe_error_t pe;
    if (!rigor_scenario_redis_method_connection_set(borrow_r(r), &k, &v, hist(into, &slot),
                                                    &latency, &pe))
        return from_probe(&pe, err);
    if (latency_ns) *latency_ns = latency;
    return true;
}

bool rigor_redis_get(rigor_redis r, const char *key, const rigor_histogram *into,
                     rigor_value *out, rigor_error *err) {
    scenario_string_t k = str(key);
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_scenario_redis_got_t got;
    rigor_scenario_redis_probe_error_t pe;
    if (!rigor_scenario_redis_method_connection_get(borrow_r(r), &k, hist(into, &slot), &got, &pe))
        return from_probe(&pe, err);
    /* The value's memory is handed over as is: rigor_value_free frees it. */
    out->found = got.value.is_some;
    out->data = got.value.is_some ? got.value.val.ptr : NULL;
    out->len = got.value.is_some ? got.value.val.len : 0;
    out->latency_ns = got.latency_ns;
    return true;
}

bool rigor_value_is(const rigor_value *v, const void *data, size_t len) {
    return v->found && v->len == len && (len == 0 || memcmp(v->data, data, len) == 0);
}

void rigor_value_free(rigor_value *v) {
    free(v->data);
    v->data = NULL;
    v->len = 0;
    v->found = false;
}

bool rigor_redis_del(rigor_redis r, const char *const *keys, size_t n,
                     const rigor_histogram *into, uint64_t *removed, rigor_error *err) {
    scenario_string_t *ks = alloc(n * sizeof *ks);
    for (size_t i = 0; i < n; i++) ks[i] = str(keys[i]);
    scenario_list_string_t list = {ks, n};
    rigor_scenario_metrics_borrow_histogram_t slot;
    uint64_t count;
    rigor_scenario_redis_probe_error_t pe;
    bool ok = rigor_scenario_redis_method_connection_del(borrow_r(r), &list, hist(into, &slot),
                                                         &count, &pe);
    free(ks);
    if (!ok) return from_probe(&pe, err);
    if (removed) *removed = count;
    return true;
}

bool rigor_redis_command(rigor_redis r, const char *const *args, size_t n,
                         const rigor_histogram *into, rigor_reply *out, rigor_error *err) {
    scenario_list_u8_t *as = alloc(n * sizeof *as);
    for (size_t i = 0; i < n; i++) as[i] = bytes(args[i], strlen(args[i]));
    scenario_list_list_u8_t list = {as, n};
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_scenario_redis_probe_error_t pe;
    bool ok = rigor_scenario_redis_method_connection_command(borrow_r(r), &list,
                                                             hist(into, &slot), out, &pe);
    free(as);
    if (!ok) return from_probe(&pe, err);
    return true;
}

void rigor_reply_free(rigor_reply *reply) { rigor_scenario_redis_answered_free(reply); }

bool rigor_redis_clear_prefix(rigor_redis r, const char *prefix, uint64_t *removed,
                              rigor_error *err) {
    scenario_string_t p = str(prefix);
    uint64_t count;
    rigor_scenario_redis_probe_error_t pe;
    if (!rigor_scenario_redis_method_connection_clear_prefix(borrow_r(r), &p, &count, &pe))
        return from_probe(&pe, err);
    if (removed) *removed = count;
    return true;
}

static scenario_option_string_t opt_str(const char *s) {
    scenario_option_string_t o = {s != NULL, str(s)};
    return o;
}

static scenario_option_u32_t opt_u32(uint32_t v) {
    scenario_option_u32_t o = {v != 0, v};
    return o;
}

static rigor_scenario_redis_load_amount_t amount(uint64_t ops, uint64_t ms) {
    rigor_scenario_redis_load_amount_t a;
    if (ms) {
        a.tag = RIGOR_SCENARIO_REDIS_LOAD_AMOUNT_DURATION_MS;
        a.val.duration_ms = ms;
    } else {
        a.tag = RIGOR_SCENARIO_REDIS_LOAD_AMOUNT_OPS_PER_WORKER;
        a.val.ops_per_worker = ops;
    }
    return a;
}

bool rigor_redis_run_load(const rigor_redis_load *spec, rigor_redis_load_result *out,
                          rigor_error *err) {
    rigor_scenario_redis_load_spec_t s;
    memset(&s, 0, sizeof s);
    s.target = str(spec->target ? spec->target : "default");
    s.workers = spec->workers;
    s.amount = amount(spec->ops_per_worker, spec->duration_ms);
    s.warmup = amount(spec->warmup_ops_per_worker, spec->warmup_ms);
    if (spec->open_rate > 0) {
        s.model.tag = RIGOR_SCENARIO_REDIS_LOAD_MODEL_OPEN;
        s.model.val.open = spec->open_rate;
    } else {
        s.model.tag = RIGOR_SCENARIO_REDIS_LOAD_MODEL_CLOSED;
    }
    rigor_scenario_redis_weighted_op_t *mix = alloc(spec->mix_len * sizeof *mix);
    size_t raw_total = 0;
    for (size_t i = 0; i < spec->mix_len; i++) raw_total += spec->mix[i].raw_len;
    scenario_string_t *raw = alloc(raw_total * sizeof *raw), *next = raw;
    for (size_t i = 0; i < spec->mix_len; i++) {
        const rigor_load_op *op = &spec->mix[i];
        mix[i].op.tag = (uint8_t)op->kind;
        if (op->kind == RIGOR_OP_EXPIRE) mix[i].op.val.expire = op->expire_seconds;
        if (op->kind == RIGOR_OP_RAW) {
            for (size_t j = 0; j < op->raw_len; j++) next[j] = str(op->raw[j]);
            mix[i].op.val.raw.ptr = next;
            mix[i].op.val.raw.len = op->raw_len;
            next += op->raw_len;
        }
        mix[i].weight = op->weight;
        mix[i].name = opt_str(op->name);
    }
    s.mix.ptr = mix;
    s.mix.len = spec->mix_len;
    if (spec->document) {
        s.value.tag = RIGOR_SCENARIO_REDIS_LOAD_VALUE_DOCUMENT;
        s.value.val.document = bytes(spec->document, spec->document_len);
    } else {
        s.value.tag = RIGOR_SCENARIO_REDIS_LOAD_VALUE_BYTES;
        s.value.val.bytes = spec->value_bytes;
    }
    s.keys.prefix = str(spec->key_prefix);
    s.keys.count = spec->key_count;
    s.keys.pattern = spec->sequential_keys ? RIGOR_SCENARIO_REDIS_KEY_PATTERN_SEQUENTIAL
                                           : RIGOR_SCENARIO_REDIS_KEY_PATTERN_UNIFORM;
    s.pipeline = spec->pipeline ? spec->pipeline : 1;
    s.connections = spec->shared_connection ? RIGOR_SCENARIO_REDIS_CONNECTION_MODE_SHARED
                                            : RIGOR_SCENARIO_REDIS_CONNECTION_MODE_PER_WORKER;
    s.timeout_ms = opt_u32(spec->timeout_ms);
    s.threads = opt_u32(spec->threads);
    s.metric_prefix = opt_str(spec->metric_prefix);
    rigor_scenario_redis_probe_error_t pe;
    bool ok = rigor_scenario_redis_run_load(&s, out, &pe);
    free(mix);
    free(raw);
    if (!ok) return from_probe(&pe, err);
    return true;
}

void rigor_redis_load_result_free(rigor_redis_load_result *r) {
    rigor_scenario_redis_load_result_free(r);
}

/* ------------------------------------------------------------ process */

/* The generated command borrows the caller's strings; only the arrays are
 * allocated here (free with free_command). */
static rigor_scenario_process_command_t command(const rigor_command *c) {
    rigor_scenario_process_command_t out;
    memset(&out, 0, sizeof out);
    out.program = str(c->program);
    out.args.ptr = alloc(c->args_len * sizeof *out.args.ptr);
    out.args.len = c->args_len;
    for (size_t i = 0; i < c->args_len; i++) out.args.ptr[i] = str(c->args[i]);
    out.env.ptr = alloc(c->env_len * sizeof *out.env.ptr);
    out.env.len = c->env_len;
    for (size_t i = 0; i < c->env_len; i++) {
        out.env.ptr[i].f0 = str(c->env[i].name);
        out.env.ptr[i].f1 = str(c->env[i].value);
    }
    out.inherit_env = c->inherit_env;
    out.cwd = opt_str(c->cwd);
    return out;
}

static void free_command(rigor_scenario_process_command_t *c) {
    free(c->args.ptr);
    free(c->env.ptr);
}

static rigor_scenario_process_borrow_child_t borrow_c(rigor_child c) {
    rigor_scenario_process_borrow_child_t b = {c.handle};
    return b;
}

bool rigor_spawn(const rigor_command *cmd, rigor_child *out, rigor_error *err) {
    rigor_scenario_process_command_t c = command(cmd);
    rigor_scenario_process_own_child_t child;
    rigor_scenario_process_probe_error_t pe;
    bool ok = rigor_scenario_process_spawn(&c, &child, &pe);
    free_command(&c);
    if (!ok) return from_probe(&pe, err);
    out->handle = child.__handle;
    return true;
}

uint32_t rigor_child_pid(rigor_child c) { return rigor_scenario_process_method_child_pid(borrow_c(c)); }

uint64_t rigor_child_elapsed_ns(rigor_child c) {
    return rigor_scenario_process_method_child_elapsed_ns(borrow_c(c));
}

bool rigor_child_wait(rigor_child c, uint64_t timeout_ns, rigor_child_exit *out) {
    rigor_child_exit e;
    if (!rigor_scenario_process_method_child_wait(borrow_c(c), timeout_ns, &e)) return false;
    if (out)
        *out = e;
    else
        rigor_child_exit_free(&e);
    return true;
}

void rigor_child_kill(rigor_child c, uint64_t grace_ns, rigor_child_exit *out) {
    rigor_child_exit e;
    rigor_scenario_process_method_child_kill(borrow_c(c), grace_ns, &e);
    if (out)
        *out = e;
    else
        rigor_child_exit_free(&e);
}

char *rigor_child_tail(rigor_child c, rigor_stream stream) {
    scenario_string_t s;
    rigor_scenario_process_method_child_tail(borrow_c(c), (rigor_scenario_process_output_stream_t)stream, &s);
    return take(&s);
}

uint64_t rigor_child_output_bytes(rigor_child c, rigor_stream stream) {
    return rigor_scenario_process_method_child_output_bytes(
        borrow_c(c), (rigor_scenario_process_output_stream_t)stream);
}

/* A failed readiness wait as an error, with what the child printed last. */
static bool not_ready(rigor_scenario_process_not_ready_t *nr, rigor_error *err) {
    switch (nr->tag) {
    case RIGOR_SCENARIO_PROCESS_NOT_READY_EXITED: {
        rigor_child_exit *e = &nr->val.exited;
        bool code = e->status.tag == RIGOR_SCENARIO_PROCESS_EXIT_STATUS_CODE;
        rigor_fail(err, RIGOR_EXITED, "the child %s %d before it became ready; stderr: %.*s",
                   code ? "exited with code" : "was killed by signal", (int)e->status.val.code,
                   (int)(e->stderr_tail.len > 300 ? 300 : e->stderr_tail.len),
                   (const char *)e->stderr_tail.ptr);
        break;
    }
    case RIGOR_SCENARIO_PROCESS_NOT_READY_TIMEOUT: {
        rigor_scenario_process_ready_timeout_t *t = &nr->val.timeout;
        rigor_fail(err, RIGOR_TIMEOUT, "not ready after %llu ms (%.*s); stderr: %.*s",
                   (unsigned long long)(t->waited_ns / 1000000), (int)t->last_attempt.len,
                   (const char *)t->last_attempt.ptr,
                   (int)(t->stderr_tail.len > 300 ? 300 : t->stderr_tail.len),
                   (const char *)t->stderr_tail.ptr);
        break;
    }
    default: {
        rigor_scenario_types_probe_error_t pe = nr->val.failed;
        /* from_probe frees the error: detach it from nr first. */
        nr->tag = RIGOR_SCENARIO_PROCESS_NOT_READY_FAILED;
        memset(&nr->val.failed, 0, sizeof nr->val.failed);
        from_probe(&pe, err);
        return false;
    }
    }
    rigor_scenario_process_not_ready_free(nr);
    return false;
}

static bool ready(bool ok, rigor_ready *r, rigor_scenario_process_not_ready_t *nr,
                  rigor_ready *out, rigor_error *err) {
    if (!ok) return not_ready(nr, err);
    if (out)
        *out = *r;
    else
        rigor_ready_free(r);
    return true;
}

bool rigor_child_wait_port(rigor_child c, uint16_t port, uint64_t timeout_ns, rigor_ready *out,
                           rigor_error *err) {
    rigor_ready r;
    rigor_scenario_process_not_ready_t nr;
    bool ok = rigor_scenario_process_method_child_wait_port(borrow_c(c), port, timeout_ns, &r, &nr);
    return ready(ok, &r, &nr, out, err);
}

bool rigor_child_wait_http(rigor_child c, const char *url, uint16_t status, uint64_t timeout_ns,
                           rigor_ready *out, rigor_error *err) {
    scenario_string_t u = str(url);
    rigor_ready r;
    rigor_scenario_process_not_ready_t nr;
    bool ok = rigor_scenario_process_method_child_wait_http(borrow_c(c), &u, status, timeout_ns,
                                                            &r, &nr);
    return ready(ok, &r, &nr, out, err);
}

bool rigor_child_wait_line(rigor_child c, rigor_stream stream, const char *pattern,
                           uint64_t timeout_ns, rigor_ready *out, rigor_error *err) {
    scenario_string_t p = str(pattern);
    rigor_ready r;
    rigor_scenario_process_not_ready_t nr;
    bool ok = rigor_scenario_process_method_child_wait_line(
        borrow_c(c), (rigor_scenario_process_output_stream_t)stream, &p, timeout_ns, &r, &nr);
    return ready(ok, &r, &nr, out, err);
}

void rigor_child_close(rigor_child *c) {
    if (c->handle) {
        rigor_scenario_process_own_child_t own = {c->handle};
        rigor_scenario_process_child_drop_own(own);
        c->handle = 0;
    }
}

void rigor_child_exit_free(rigor_child_exit *e) { rigor_scenario_process_child_exit_free(e); }
void rigor_ready_free(rigor_ready *r) { rigor_scenario_process_ready_free(r); }

int rigor_child_exit_code(const rigor_child_exit *e) {
    return e->status.tag == RIGOR_SCENARIO_PROCESS_EXIT_STATUS_CODE ? e->status.val.code : -1;
}

bool rigor_time_startup(const rigor_command *cmd, uint32_t warmup, uint32_t runs,
                        const rigor_histogram *into, rigor_startup_stats *out, rigor_error *err) {
    rigor_scenario_process_command_t c = command(cmd);
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_scenario_process_probe_error_t pe;
    bool ok = rigor_scenario_process_time_startup(&c, warmup, runs, hist(into, &slot), out, &pe);
    free_command(&c);
    if (!ok) return from_probe(&pe, err);
    return true;
}

bool rigor_work_dir(char **out, rigor_error *err) {
    scenario_string_t s;
    rigor_scenario_process_probe_error_t pe;
    if (!rigor_scenario_process_work_dir(&s, &pe)) return from_probe(&pe, err);
    *out = take(&s);
    return true;
}

bool rigor_free_port(uint16_t *out, rigor_error *err) {
    rigor_scenario_process_probe_error_t pe;
    if (!rigor_scenario_process_free_port(out, &pe)) return from_probe(&pe, err);
    return true;
}

/* --------------------------------------------------------------- http */

static rigor_scenario_http_request_t request(const rigor_http_request *r) {
    rigor_scenario_http_request_t out;
    memset(&out, 0, sizeof out);
    out.method = str(r->method ? r->method : "GET");
    out.url = str(r->url);
    out.headers.ptr = alloc(r->headers_len * sizeof *out.headers.ptr);
    out.headers.len = r->headers_len;
    for (size_t i = 0; i < r->headers_len; i++) {
        out.headers.ptr[i].f0 = str(r->headers[i].name);
        out.headers.ptr[i].f1 = str(r->headers[i].value);
    }
    out.body = bytes(r->body, r->body_len);
    out.timeout_ns = r->timeout_ns;
    out.version.is_some = r->version != RIGOR_HTTP_AUTO;
    out.version.val = r->version == RIGOR_HTTP2 ? RIGOR_SCENARIO_HTTP_HTTP_VERSION_HTTP2
                                                : RIGOR_SCENARIO_HTTP_HTTP_VERSION_HTTP1;
    out.max_redirects = r->max_redirects;
    out.client_identity = opt_str(r->client_identity);
    return out;
}

bool rigor_http_send(const rigor_http_request *req, const rigor_histogram *into,
                     rigor_http_response *out, rigor_error *err) {
    rigor_scenario_http_request_t r = request(req);
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_scenario_http_probe_error_t pe;
    bool ok = rigor_scenario_http_send(&r, hist(into, &slot), out, &pe);
    free(r.headers.ptr);
    if (!ok) return from_probe(&pe, err);
    return true;
}

void rigor_http_response_free(rigor_http_response *r) { rigor_scenario_http_response_free(r); }

bool rigor_http_run_load(const rigor_http_load *spec, rigor_http_load_report *out,
                         rigor_error *err) {
    rigor_scenario_http_load_spec_t s;
    memset(&s, 0, sizeof s);
    s.request = request(&spec->request);
    s.workers = spec->workers;
    s.connections = spec->connections;
    s.threads = spec->threads;
    s.requests = spec->requests;
    s.duration_ns = spec->duration_ns;
    s.rate.is_some = spec->rate > 0;
    s.rate.val = spec->rate;
    s.metric = str(spec->metric);
    rigor_scenario_http_probe_error_t pe;
    bool ok = rigor_scenario_http_run_load(&s, out, &pe);
    free(s.request.headers.ptr);
    if (!ok) return from_probe(&pe, err);
    return true;
}

void rigor_http_load_report_free(rigor_http_load_report *r) {
    rigor_scenario_http_load_report_free(r);
}

/* ----------------------------------------------------------------- fs */

static rigor_scenario_fs_borrow_dir_t borrow_d(rigor_dir d) {
    rigor_scenario_fs_borrow_dir_t b = {d.handle};
    return b;
}

bool rigor_dir_scratch(rigor_dir *out, rigor_error *err) {
    rigor_scenario_fs_own_dir_t d;
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_static_dir_scratch(&d, &pe)) return from_probe(&pe, err);
    out->handle = d.__handle;
    return true;
}

bool rigor_dir_open(const char *name, rigor_dir *out, rigor_error *err) {
    scenario_string_t n = str(name);
    rigor_scenario_fs_own_dir_t d;
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_static_dir_open(&n, &d, &pe)) return from_probe(&pe, err);
    out->handle = d.__handle;
    return true;
}

void rigor_dir_close(rigor_dir *d) {
    if (d->handle) {
        rigor_scenario_fs_own_dir_t own = {d->handle};
        rigor_scenario_fs_dir_drop_own(own);
        d->handle = 0;
    }
}

char *rigor_dir_name(rigor_dir d) {
    scenario_string_t s;
    rigor_scenario_fs_method_dir_name(borrow_d(d), &s);
    return take(&s);
}

bool rigor_dir_writable(rigor_dir d) { return rigor_scenario_fs_method_dir_writable(borrow_d(d)); }

static bool write_content(rigor_dir d, const char *path, rigor_scenario_fs_content_t *content,
                          bool fsync, bool append, const rigor_histogram *into, rigor_timed *out,
                          rigor_error *err) {
    scenario_string_t p = str(path);
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_timed t;
    rigor_scenario_fs_probe_error_t pe;
    bool ok = append ? rigor_scenario_fs_method_dir_append(borrow_d(d), &p, content, fsync,
                                                           hist(into, &slot), &t, &pe)
                     : rigor_scenario_fs_method_dir_write(borrow_d(d), &p, content, fsync,
                                                          hist(into, &slot), &t, &pe);
    if (!ok) return from_probe(&pe, err);
    if (out) *out = t;
    return true;
}

bool rigor_dir_write(rigor_dir d, const char *path, const void *data, size_t len, bool fsync,
                     const rigor_histogram *into, rigor_timed *out, rigor_error *err) {
    rigor_scenario_fs_content_t c;
    c.tag = RIGOR_SCENARIO_FS_CONTENT_BYTES;
    c.val.bytes = bytes(data, len);
    return write_content(d, path, &c, fsync, false, into, out, err);
}

bool rigor_dir_write_fill(rigor_dir d, const char *path, uint64_t len, bool fsync,
                          const rigor_histogram *into, rigor_timed *out, rigor_error *err) {
    rigor_scenario_fs_content_t c;
    c.tag = RIGOR_SCENARIO_FS_CONTENT_FILL;
    c.val.fill = len;
    return write_content(d, path, &c, fsync, false, into, out, err);
}

bool rigor_dir_append(rigor_dir d, const char *path, const void *data, size_t len, bool fsync,
                      const rigor_histogram *into, rigor_timed *out, rigor_error *err) {
    rigor_scenario_fs_content_t c;
    c.tag = RIGOR_SCENARIO_FS_CONTENT_BYTES;
    c.val.bytes = bytes(data, len);
    return write_content(d, path, &c, fsync, true, into, out, err);
}

bool rigor_dir_read(rigor_dir d, const char *path, const rigor_histogram *into,
                    rigor_bytes *out, rigor_error *err) {
    scenario_string_t p = str(path);
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_scenario_fs_read_result_t r;
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_method_dir_read(borrow_d(d), &p, hist(into, &slot), &r, &pe))
        return from_probe(&pe, err);
    out->data = (uint8_t *)cstr(r.data.ptr, r.data.len);
    out->len = r.data.len;
    out->latency_ns = r.latency_ns;
    rigor_scenario_fs_read_result_free(&r);
    return true;
}

void rigor_bytes_free(rigor_bytes *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

typedef bool (*path_op)(rigor_scenario_fs_borrow_dir_t, scenario_string_t *,
                        rigor_scenario_fs_borrow_histogram_t *, uint64_t *,
                        rigor_scenario_fs_probe_error_t *);

static bool timed_path(path_op op, rigor_dir d, const char *path, const rigor_histogram *into,
                       uint64_t *latency_ns, rigor_error *err) {
    scenario_string_t p = str(path);
    rigor_scenario_metrics_borrow_histogram_t slot;
    uint64_t latency;
    rigor_scenario_fs_probe_error_t pe;
    if (!op(borrow_d(d), &p, hist(into, &slot), &latency, &pe)) return from_probe(&pe, err);
    if (latency_ns) *latency_ns = latency;
    return true;
}

bool rigor_dir_fsync(rigor_dir d, const char *path, const rigor_histogram *into,
                     uint64_t *latency_ns, rigor_error *err) {
    return timed_path(rigor_scenario_fs_method_dir_fsync, d, path, into, latency_ns, err);
}

bool rigor_dir_delete(rigor_dir d, const char *path, const rigor_histogram *into,
                      uint64_t *latency_ns, rigor_error *err) {
    return timed_path(rigor_scenario_fs_method_dir_delete, d, path, into, latency_ns, err);
}

bool rigor_dir_rename(rigor_dir d, const char *from, const char *to, const rigor_histogram *into,
                      uint64_t *latency_ns, rigor_error *err) {
    scenario_string_t f = str(from), t = str(to);
    rigor_scenario_metrics_borrow_histogram_t slot;
    uint64_t latency;
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_method_dir_rename(borrow_d(d), &f, &t, hist(into, &slot), &latency, &pe))
        return from_probe(&pe, err);
    if (latency_ns) *latency_ns = latency;
    return true;
}

bool rigor_dir_list(rigor_dir d, const char *path, rigor_listing *out, rigor_error *err) {
    scenario_string_t p = str(path && *path ? path : ".");
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_method_dir_list(borrow_d(d), &p, out, &pe)) return from_probe(&pe, err);
    return true;
}

void rigor_listing_free(rigor_listing *l) { rigor_scenario_fs_listing_free(l); }

bool rigor_listing_has(const rigor_listing *l, const char *name, int kind) {
    size_t n = strlen(name);
    for (size_t i = 0; i < l->entries.len; i++) {
        const rigor_scenario_fs_entry_t *e = &l->entries.ptr[i];
        if (e->name.len == n && memcmp(e->name.ptr, name, n) == 0 && e->kind == kind) return true;
    }
    return false;
}

bool rigor_dir_mkdir(rigor_dir d, const char *path, rigor_error *err) {
    scenario_string_t p = str(path);
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_method_dir_mkdir(borrow_d(d), &p, &pe)) return from_probe(&pe, err);
    return true;
}

bool rigor_dir_symlink(rigor_dir d, const char *target, const char *link, rigor_error *err) {
    scenario_string_t t = str(target), l = str(link);
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_method_dir_symlink(borrow_d(d), &t, &l, &pe)) return from_probe(&pe, err);
    return true;
}

bool rigor_dir_dump(rigor_dir d, const char *path, const char *const *columns,
                    size_t columns_len, const char *const *cells, size_t rows_len,
                    rigor_dump_format format, bool fsync, const rigor_histogram *into,
                    rigor_timed *out, rigor_error *err) {
    rigor_scenario_fs_record_set_t set;
    set.columns.ptr = alloc(columns_len * sizeof *set.columns.ptr);
    set.columns.len = columns_len;
    for (size_t i = 0; i < columns_len; i++) set.columns.ptr[i] = str(columns[i]);
    scenario_string_t *all = alloc(rows_len * columns_len * sizeof *all);
    set.rows.ptr = alloc(rows_len * sizeof *set.rows.ptr);
    set.rows.len = rows_len;
    for (size_t r = 0; r < rows_len; r++) {
        for (size_t c = 0; c < columns_len; c++) all[r * columns_len + c] = str(cells[r * columns_len + c]);
        set.rows.ptr[r].ptr = &all[r * columns_len];
        set.rows.ptr[r].len = columns_len;
    }
    scenario_string_t p = str(path);
    rigor_scenario_metrics_borrow_histogram_t slot;
    rigor_timed t;
    rigor_scenario_fs_probe_error_t pe;
    bool ok = rigor_scenario_fs_method_dir_dump(borrow_d(d), &p, &set,
                                                (rigor_scenario_fs_dump_format_t)format, fsync,
                                                hist(into, &slot), &t, &pe);
    free(set.columns.ptr);
    free(set.rows.ptr);
    free(all);
    if (!ok) return from_probe(&pe, err);
    if (out) *out = t;
    return true;
}

bool rigor_dir_run_io_load(rigor_dir d, const rigor_io_load *spec, rigor_io_load_report *out,
                           rigor_error *err) {
    rigor_scenario_fs_io_load_spec_t s;
    memset(&s, 0, sizeof s);
    s.name = str(spec->name);
    s.workers = spec->workers;
    s.files_per_worker = spec->files_per_worker;
    s.file_size = spec->file_size;
    s.block_size = spec->block_size;
    s.read_percent = spec->read_percent;
    s.fsync.tag = (uint8_t)spec->fsync;
    s.fsync.val.every = spec->fsync_every;
    s.random = spec->random;
    if (spec->duration_ns) {
        s.stop.tag = RIGOR_SCENARIO_FS_IO_STOP_DURATION_NS;
        s.stop.val.duration_ns = spec->duration_ns;
    } else {
        s.stop.tag = RIGOR_SCENARIO_FS_IO_STOP_OPS;
        s.stop.val.ops = spec->ops;
    }
    rigor_scenario_fs_probe_error_t pe;
    if (!rigor_scenario_fs_method_dir_run_io_load(borrow_d(d), &s, out, &pe))
        return from_probe(&pe, err);
    return true;
}

void rigor_io_load_report_free(rigor_io_load_report *r) { rigor_scenario_fs_io_load_report_free(r); }

/* ------------------------------------------------------------- memory */

rigor_target rigor_target_host(void) {
    rigor_target t = {RIGOR_SCENARIO_MEMORY_TARGET_HOST, 0, NULL};
    return t;
}

rigor_target rigor_target_child(rigor_child c) {
    rigor_target t = {RIGOR_SCENARIO_MEMORY_TARGET_CHILD, rigor_child_pid(c), NULL};
    return t;
}

rigor_target rigor_target_redis(const char *target) {
    rigor_target t = {RIGOR_SCENARIO_MEMORY_TARGET_REDIS, 0, target};
    return t;
}

rigor_target rigor_target_pid(uint32_t pid) {
    rigor_target t = {RIGOR_SCENARIO_MEMORY_TARGET_PID, pid, NULL};
    return t;
}

static rigor_scenario_memory_target_t target(rigor_target t) {
    rigor_scenario_memory_target_t out;
    out.tag = (uint8_t)t.kind;
    if (t.kind == RIGOR_SCENARIO_MEMORY_TARGET_REDIS)
        out.val.redis = str(t.redis);
    else
        out.val.pid = t.pid; /* child and pid share the slot */
    return out;
}

bool rigor_memory_sample(rigor_target t, rigor_usage *out, rigor_error *err) {
    rigor_scenario_memory_target_t tg = target(t);
    rigor_scenario_memory_probe_error_t pe;
    if (!rigor_scenario_memory_sample(&tg, out, &pe)) return from_probe(&pe, err);
    return true;
}

static rigor_scenario_memory_borrow_watcher_t borrow_w(rigor_watcher w) {
    rigor_scenario_memory_borrow_watcher_t b = {w.handle};
    return b;
}

bool rigor_watcher_start(const char *name, rigor_target t, rigor_measure measure,
                         uint64_t interval_ns, rigor_watcher *out, rigor_error *err) {
    scenario_string_t n = str(name);
    rigor_scenario_memory_target_t tg = target(t);
    rigor_scenario_memory_own_watcher_t w;
    rigor_scenario_memory_probe_error_t pe;
    if (!rigor_scenario_memory_static_watcher_start(&n, &tg, (rigor_scenario_memory_measure_t)measure,
                                                    interval_ns ? &interval_ns : NULL, &w, &pe))
        return from_probe(&pe, err);
    out->handle = w.__handle;
    return true;
}

bool rigor_watcher_ops_done(rigor_watcher w, uint64_t k, rigor_point *out, rigor_error *err) {
    rigor_point p;
    rigor_scenario_memory_probe_error_t pe;
    if (!rigor_scenario_memory_method_watcher_ops_done(borrow_w(w), k, &p, &pe))
        return from_probe(&pe, err);
    if (out) *out = p;
    return true;
}

rigor_points rigor_watcher_series(rigor_watcher w) {
    rigor_points p;
    rigor_scenario_memory_method_watcher_series(borrow_w(w), &p);
    return p;
}

void rigor_points_free(rigor_points *p) { rigor_scenario_memory_list_point_free(p); }

static scenario_option_f64_t opt_f64(const double *v) {
    scenario_option_f64_t o = {v != NULL, v ? *v : 0};
    return o;
}

bool rigor_watcher_verdict(rigor_watcher w, const rigor_criteria *criteria,
                           rigor_memory_verdict *out, rigor_error *err) {
    rigor_criteria none = {NULL, NULL, NULL};
    if (!criteria) criteria = &none;
    rigor_scenario_memory_criteria_t c = {opt_f64(criteria->max_bytes_per_op),
                                          opt_f64(criteria->max_bytes_per_second),
                                          opt_f64(criteria->alpha)};
    rigor_scenario_memory_probe_error_t pe;
    if (!rigor_scenario_memory_method_watcher_verdict(borrow_w(w), &c, out, &pe))
        return from_probe(&pe, err);
    return true;
}

void rigor_memory_verdict_free(rigor_memory_verdict *v) { rigor_scenario_memory_verdict_free(v); }
void rigor_watcher_stop(rigor_watcher w) { rigor_scenario_memory_method_watcher_stop(borrow_w(w)); }

void rigor_watcher_close(rigor_watcher *w) {
    if (w->handle) {
        rigor_scenario_memory_own_watcher_t own = {w->handle};
        rigor_scenario_memory_watcher_drop_own(own);
        w->handle = 0;
    }
}

/* ---------------------------------------------------------- websocket */

static rigor_scenario_websocket_borrow_connection_t borrow_ws(rigor_ws ws) {
    rigor_scenario_websocket_borrow_connection_t b = {ws.handle};
    return b;
}

bool rigor_ws_connect(const char *url, const rigor_ws_options *options, rigor_ws *out,
                      rigor_error *err) {
    rigor_ws_options none = {NULL, 0, 0, 0};
    if (!options) options = &none;
    scenario_string_t u = str(url);
    rigor_scenario_websocket_connect_options_t o;
    o.headers.ptr = alloc(options->headers_len * sizeof *o.headers.ptr);
    o.headers.len = options->headers_len;
    for (size_t i = 0; i < options->headers_len; i++) {
        o.headers.ptr[i].f0 = str(options->headers[i].name);
        o.headers.ptr[i].f1 = str(options->headers[i].value);
    }
    o.timeout_ns = options->timeout_ns;
    o.max_message_bytes = options->max_message_bytes;
    rigor_scenario_websocket_own_connection_t c;
    rigor_scenario_websocket_probe_error_t pe;
    bool ok = rigor_scenario_websocket_static_connection_connect(&u, &o, &c, &pe);
    free(o.headers.ptr);
    if (!ok) return from_probe(&pe, err);
    out->handle = c.__handle;
    return true;
}

rigor_ws_timing rigor_ws_connect_timing(rigor_ws ws) {
    rigor_ws_timing t;
    rigor_scenario_websocket_method_connection_timing(borrow_ws(ws), &t);
    return t;
}

bool rigor_ws_send_text(rigor_ws ws, const char *text, rigor_error *err) {
    scenario_string_t t = str(text);
    rigor_scenario_websocket_probe_error_t pe;
    if (!rigor_scenario_websocket_method_connection_send_text(borrow_ws(ws), &t, &pe))
        return from_probe(&pe, err);
    return true;
}

bool rigor_ws_send_binary(rigor_ws ws, const void *data, size_t len, rigor_error *err) {
    scenario_list_u8_t b = bytes(data, len);
    rigor_scenario_websocket_probe_error_t pe;
    if (!rigor_scenario_websocket_method_connection_send_binary(borrow_ws(ws), &b, &pe))
        return from_probe(&pe, err);
    return true;
}

bool rigor_ws_receive(rigor_ws ws, uint64_t timeout_ns, rigor_ws_message *out, rigor_error *err) {
    rigor_scenario_websocket_incoming_t in;
    rigor_scenario_websocket_probe_error_t pe;
    if (!rigor_scenario_websocket_method_connection_receive(borrow_ws(ws), timeout_ns, &in, &pe))
        return from_probe(&pe, err);
    out->kind = (rigor_ws_kind)in.tag;
    out->close_code = 0;
    switch (in.tag) {
    case RIGOR_SCENARIO_WEBSOCKET_INCOMING_TEXT:
        out->data = (uint8_t *)cstr(in.val.text.ptr, in.val.text.len);
        out->len = in.val.text.len;
        break;
    case RIGOR_SCENARIO_WEBSOCKET_INCOMING_BINARY:
        out->data = (uint8_t *)cstr(in.val.binary.ptr, in.val.binary.len);
        out->len = in.val.binary.len;
        break;
    default:
        out->close_code = in.val.closed.code;
        out->data = (uint8_t *)cstr(in.val.closed.reason.ptr, in.val.closed.reason.len);
        out->len = in.val.closed.reason.len;
    }
    rigor_scenario_websocket_incoming_free(&in);
    return true;
}

void rigor_ws_message_free(rigor_ws_message *m) {
    free(m->data);
    m->data = NULL;
    m->len = 0;
}

bool rigor_ws_ping(rigor_ws ws, const rigor_histogram *into, uint64_t timeout_ns,
                   uint64_t *rtt_ns, rigor_error *err) {
    rigor_scenario_metrics_borrow_histogram_t slot;
    uint64_t rtt;
    rigor_scenario_websocket_probe_error_t pe;
    if (!rigor_scenario_websocket_method_connection_ping(borrow_ws(ws), hist(into, &slot),
                                                         timeout_ns, &rtt, &pe))
        return from_probe(&pe, err);
    if (rtt_ns) *rtt_ns = rtt;
    return true;
}

bool rigor_ws_close(rigor_ws ws, uint16_t code, const char *reason, uint64_t timeout_ns,
                    uint16_t *peer_code, rigor_error *err) {
    scenario_string_t r = str(reason);
    uint16_t peer;
    rigor_scenario_websocket_probe_error_t pe;
    if (!rigor_scenario_websocket_method_connection_close(borrow_ws(ws), code, &r, timeout_ns,
                                                          &peer, &pe))
        return from_probe(&pe, err);
    if (peer_code) *peer_code = peer;
    return true;
}

void rigor_ws_drop(rigor_ws *ws) {
    if (ws->handle) {
        rigor_scenario_websocket_own_connection_t own = {ws->handle};
        rigor_scenario_websocket_connection_drop_own(own);
        ws->handle = 0;
    }
}

bool rigor_ws_run_load(const rigor_ws_load *spec, rigor_ws_load_report *out, rigor_error *err) {
    rigor_scenario_websocket_load_spec_t s;
    memset(&s, 0, sizeof s);
    s.url = str(spec->url);
    s.connections = spec->connections;
    s.messages = spec->messages;
    s.duration_ns = spec->duration_ns;
    s.rate.is_some = spec->rate > 0;
    s.rate.val = spec->rate;
    s.template_ = bytes(spec->template_data, spec->template_len);
    s.text = spec->text;
    s.id_placeholder = str(spec->id_placeholder);
    if (spec->id_json_field) {
        s.id_location.tag = RIGOR_SCENARIO_WEBSOCKET_ID_LOCATION_JSON_FIELD;
        s.id_location.val.json_field = str(spec->id_json_field);
    } else {
        s.id_location.tag = RIGOR_SCENARIO_WEBSOCKET_ID_LOCATION_BYTE_RANGE;
        s.id_location.val.byte_range.f0 = spec->id_offset;
        s.id_location.val.byte_range.f1 = spec->id_length;
    }
    s.grace_ns = spec->grace_ns;
    s.max_message_bytes = spec->max_message_bytes;
    s.metric = str(spec->metric);
    rigor_scenario_websocket_probe_error_t pe;
    if (!rigor_scenario_websocket_run_load(&s, out, &pe)) return from_probe(&pe, err);
    return true;
}

void rigor_ws_load_report_free(rigor_ws_load_report *r) {
    rigor_scenario_websocket_load_report_free(r);
}

/* ------------------------------------------------------ entry points */

void rigor_data_set(rigor_data *out, const void *data, size_t len) {
    free(out->data);
    out->data = alloc(len);
    if (len) memcpy(out->data, data, len);
    out->len = len;
}

void rigor_export_describe(rigor_info *ret, rigor_describe_fn describe) {
    memset(ret, 0, sizeof *ret);
    describe(ret);
}

/* The parameters as C strings (the exported list is the callee's to free). */
static rigor_params params_of(rigor_scenario_types_params_t *list) {
    rigor_params p;
    p.len = list->len;
    p.names = alloc(list->len * sizeof *p.names);
    p.values = alloc(list->len * sizeof *p.values);
    for (size_t i = 0; i < list->len; i++) {
        p.names[i] = cstr(list->ptr[i].f0.ptr, list->ptr[i].f0.len);
        p.values[i] = cstr(list->ptr[i].f1.ptr, list->ptr[i].f1.len);
    }
    rigor_scenario_types_params_free(list);
    return p;
}

static void params_free(rigor_params *p) {
    for (size_t i = 0; i < p->len; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    free(p->names);
    free(p->values);
}

/* An error returned to the host: heap memory, freed by the post-return. */
static bool export_err(const rigor_error *e, scenario_string_t *err) {
    char line[RIGOR_ERROR_MESSAGE_MAX + 32];
    snprintf(line, sizeof line, "%s: %s", rigor_error_kind_name(e->kind), e->message);
    scenario_string_dup(err, line);
    return false;
}

bool rigor_export_run(rigor_scenario_types_params_t *params, scenario_string_t *err,
                      rigor_run_fn run) {
    rigor_params p = params_of(params);
    rigor_error e = {RIGOR_FAILED, "the scenario returned false without an error"};
    bool ok = run(&p, &e);
    params_free(&p);
    return ok ? true : export_err(&e, err);
}

bool rigor_export_setup(rigor_scenario_types_params_t *params, scenario_list_u8_t *ret,
                        scenario_string_t *err, rigor_setup_fn setup) {
    rigor_params p = params_of(params);
    rigor_error e = {RIGOR_FAILED, "setup returned false without an error"};
    rigor_data data = {NULL, 0};
    bool ok = setup(&p, &data, &e);
    params_free(&p);
    if (!ok) {
        free(data.data);
        return export_err(&e, err);
    }
    ret->ptr = data.data ? data.data : alloc(1);
    ret->len = data.len;
    return true;
}

bool rigor_export_iteration(rigor_vu *vu, scenario_list_u8_t *data, scenario_string_t *err,
                            rigor_iteration_fn iteration) {
    rigor_error e = {RIGOR_FAILED, "the iteration returned false without an error"};
    bool ok = iteration(vu, data->ptr, data->len, &e);
    scenario_list_u8_free(data);
    return ok ? true : export_err(&e, err);
}

bool rigor_export_teardown(scenario_list_u8_t *data, scenario_string_t *err,
                           rigor_teardown_fn teardown) {
    rigor_error e = {RIGOR_FAILED, "teardown returned false without an error"};
    bool ok = teardown(data->ptr, data->len, &e);
    scenario_list_u8_free(data);
    return ok ? true : export_err(&e, err);
}
