/**
 * @file rigor.h
 * @brief The Rigor scenario SDK for C: a small layer over the bindings
 * `rigor build` generates from the contract (`scenario.h`).
 *
 * Conventions, the same for every probe:
 *  - Arguments are plain C: NUL-terminated strings, pointer + length for
 *    bytes, arrays + counts. The SDK borrows them for the call only.
 *  - A call that can fail returns `bool` (true on success) and takes a
 *    `rigor_error *err` last; on failure it fills `err` (kind + message).
 *    `err` may be NULL when the caller does not care.
 *  - Results the host allocates are handed to the caller: free them with the
 *    matching `*_free` function (or plain `free()` for `char *`).
 *  - Handles (histograms, connections, children, dirs, watchers,
 *    WebSockets) are small values; `*_close` drops them. The host also
 *    drops whatever is left when the scenario ends.
 *  - `into` arguments name a histogram the host records the call's latency
 *    into, natively; pass NULL for none.
 *
 * A scenario defines two functions and names them with RIGOR_SCENARIO; a
 * virtual-user scenario uses RIGOR_VU_SCENARIO.
 */
#ifndef RIGOR_H
#define RIGOR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- errors */

/** Why a call failed: the contract's `probe-error` cases, plus the SDK's own. */
typedef enum rigor_error_kind {
    RIGOR_DENIED = 0,     /**< not granted by the catalog */
    RIGOR_TIMEOUT = 1,    /**< ran out of time */
    RIGOR_CONNECTION = 2, /**< the remote end could not be reached */
    RIGOR_IO = 3,         /**< local I/O failure */
    RIGOR_INVALID = 4,    /**< invalid arguments */
    RIGOR_SERVER = 5,     /**< the server answered with an error */
    RIGOR_EXITED = 6,     /**< a child ended before it became ready */
    RIGOR_FAILED = 7,     /**< anything else (a missing parameter, a scenario's own failure) */
} rigor_error_kind;

/** Longest error message kept (longer ones are cut). */
#define RIGOR_ERROR_MESSAGE_MAX 512

/** A failure: its kind and the host's message (NUL-terminated, owned by the struct). */
typedef struct rigor_error {
    rigor_error_kind kind;
    char message[RIGOR_ERROR_MESSAGE_MAX];
} rigor_error;

/** `denied`, `timeout`, … as the contract spells the kind. */
const char *rigor_error_kind_name(rigor_error_kind kind);

/** Fills `err` (when not NULL) with `kind` and a printf-style message; returns false. */
bool rigor_fail(rigor_error *err, rigor_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------- parameters, describe */

/** The run's parameters, as NUL-terminated names and values. */
typedef struct rigor_params {
    size_t len;
    char **names;
    char **values;
} rigor_params;

/** The value of `name`, or NULL when the run has no such parameter. */
const char *rigor_param(const rigor_params *p, const char *name);
/** An integer parameter (`1000`, `1_000`). */
bool rigor_param_u64(const rigor_params *p, const char *name, uint64_t *out, rigor_error *err);
/** A decimal parameter. */
bool rigor_param_f64(const rigor_params *p, const char *name, double *out, rigor_error *err);
/** A size parameter (`100B`, `10KiB`, `1MB`) in bytes. */
bool rigor_param_size(const rigor_params *p, const char *name, uint64_t *out, rigor_error *err);
/** A duration parameter (`5s`, `250ms`, `1m 30s`) in nanoseconds. */
bool rigor_param_duration_ns(const rigor_params *p, const char *name, uint64_t *out, rigor_error *err);
/** A boolean parameter (`true`, `yes`, `1`). */
bool rigor_param_bool(const rigor_params *p, const char *name, bool *out, rigor_error *err);

/** What `describe` fills in (the generated `scenario-info`). */
typedef rigor_scenario_types_scenario_info_t rigor_info;
/** Sets the scenario's name and one-sentence description. */
void rigor_describe(rigor_info *info, const char *name, const char *description);
/** Declares a parameter with its default value (as text) and one line of help. */
void rigor_describe_param(rigor_info *info, const char *name, const char *default_value,
                          const char *help);

/* -------------------------------------------------------------- clock */

/** Monotonic time in ns, for pacing only: probe calls are timed by the host. */
uint64_t rigor_now_ns(void);
/** Sleeps `ns` nanoseconds. */
void rigor_sleep_ns(uint64_t ns);

/* ------------------------------------------------------------ metrics */

/** Units of metrics (the contract's `unit`). */
typedef enum rigor_unit {
    RIGOR_NANOSECONDS = 0,
    RIGOR_BYTES = 1,
    RIGOR_COUNT = 2,
    RIGOR_OPS_PER_SECOND = 3,
    RIGOR_RATIO = 4,
    RIGOR_UNIT_NONE = 5,
} rigor_unit;

/** A host-side HDR histogram. */
typedef struct rigor_histogram {
    int32_t handle;
} rigor_histogram;

/** count, min, max, mean, stdev, p50, p90, p95, p99, p999. */
typedef rigor_scenario_metrics_summary_t rigor_summary;

/** Opens (or creates) the histogram `name`. */
rigor_histogram rigor_histogram_open(const char *name, rigor_unit unit);
/** A latency histogram (nanoseconds). */
rigor_histogram rigor_histogram_latency(const char *name);
void rigor_histogram_record(rigor_histogram h, uint64_t value);
void rigor_histogram_record_many(rigor_histogram h, const uint64_t *values, size_t n);
rigor_summary rigor_histogram_summary(rigor_histogram h);
/** The metric's name; free() it. */
char *rigor_histogram_name(rigor_histogram h);
/** Drops the handle (the metric stays in the report). */
void rigor_histogram_close(rigor_histogram *h);

/** Sets the gauge `name`. */
void rigor_gauge(const char *name, double value, rigor_unit unit);
/** Adds `delta` to the counter `name`. */
void rigor_counter_add(const char *name, uint64_t delta);

/* ------------------------------------------------------------- report */

typedef enum rigor_severity {
    RIGOR_INFO = 0,
    RIGOR_LOW = 1,
    RIGOR_MEDIUM = 2,
    RIGOR_HIGH = 3,
    RIGOR_CRITICAL = 4,
} rigor_severity;

typedef enum rigor_level {
    RIGOR_LOG_DEBUG = 0,
    RIGOR_LOG_INFO = 1,
    RIGOR_LOG_WARN = 2,
    RIGOR_LOG_ERROR = 3,
} rigor_level;

/** A threshold's verdict. */
typedef struct rigor_verdict {
    bool passed;
    double observed;
    double limit;
} rigor_verdict;

/** Records a check; `fmt` (printf-style) is the detail. */
void rigor_check(const char *name, bool passed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Evaluates a threshold (`p(99) < 1ms`) on a metric of this scenario; `out` may be NULL. */
bool rigor_threshold(const char *metric, const char *expression, rigor_verdict *out,
                     rigor_error *err);
/** Records a finding. */
void rigor_finding(rigor_severity severity, const char *title, const char *detail,
                   const char *action);
/** Appends a printf-style line to the scenario's log. */
void rigor_log(rigor_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* -------------------------------------------------------------- redis */

/** A connection to a granted Redis target. */
typedef struct rigor_redis {
    int32_t handle;
} rigor_redis;

/** A value read by GET: `found` is false on a miss. free with rigor_value_free. */
typedef struct rigor_value {
    bool found;
    uint8_t *data;
    size_t len;
    uint64_t latency_ns;
} rigor_value;

/** A command's reply with its latency (the generated `answered`). */
typedef rigor_scenario_redis_answered_t rigor_reply;
#define RIGOR_REPLY_NIL RIGOR_SCENARIO_REDIS_REPLY_NIL
#define RIGOR_REPLY_STATUS RIGOR_SCENARIO_REDIS_REPLY_STATUS
#define RIGOR_REPLY_INTEGER RIGOR_SCENARIO_REDIS_REPLY_INTEGER
#define RIGOR_REPLY_BULK RIGOR_SCENARIO_REDIS_REPLY_BULK
#define RIGOR_REPLY_ARRAY RIGOR_SCENARIO_REDIS_REPLY_ARRAY

bool rigor_redis_open(const char *target, rigor_redis *out, rigor_error *err);
/** A connection that shares a small pool (for virtual users). */
bool rigor_redis_open_pooled(const char *target, rigor_redis *out, rigor_error *err);
void rigor_redis_close(rigor_redis *r);
/** `SET key value`; `latency_ns` may be NULL. */
bool rigor_redis_set(rigor_redis r, const char *key, const void *value, size_t len,
                     const rigor_histogram *into, uint64_t *latency_ns, rigor_error *err);
/** `GET key`; free `out` with rigor_value_free. */
bool rigor_redis_get(rigor_redis r, const char *key, const rigor_histogram *into,
                     rigor_value *out, rigor_error *err);
/** Whether a value is exactly these bytes. */
bool rigor_value_is(const rigor_value *v, const void *data, size_t len);
void rigor_value_free(rigor_value *v);
/** `DEL keys...`; `removed` may be NULL. */
bool rigor_redis_del(rigor_redis r, const char *const *keys, size_t n,
                     const rigor_histogram *into, uint64_t *removed, rigor_error *err);
/** Any command, one C string per argument; free `out` with rigor_reply_free. */
bool rigor_redis_command(rigor_redis r, const char *const *args, size_t n,
                         const rigor_histogram *into, rigor_reply *out, rigor_error *err);
void rigor_reply_free(rigor_reply *reply);
/** Removes every key under `prefix`. */
bool rigor_redis_clear_prefix(rigor_redis r, const char *prefix, uint64_t *removed,
                              rigor_error *err);

typedef enum rigor_load_op_kind {
    RIGOR_OP_SET = 0,
    RIGOR_OP_GET = 1,
    RIGOR_OP_DEL = 2,
    RIGOR_OP_INCR = 3,
    RIGOR_OP_EXPIRE = 4,
    RIGOR_OP_RAW = 5,
} rigor_load_op_kind;

/** One entry of a load's op mix. */
typedef struct rigor_load_op {
    rigor_load_op_kind kind;
    uint32_t weight;
    /** RIGOR_OP_EXPIRE: seconds. */
    uint32_t expire_seconds;
    /** RIGOR_OP_RAW: the arguments (`{key}`, `{value}` are replaced). */
    const char *const *raw;
    size_t raw_len;
    /** Name in metrics; NULL for the command's name. */
    const char *name;
} rigor_load_op;

/** A native Redis load (the contract's `load-spec`); zero means the default. */
typedef struct rigor_redis_load {
    const char *target;
    uint32_t workers;
    /** Closed amount: operations per worker; or `duration_ms` when non-zero. */
    uint64_t ops_per_worker;
    uint64_t duration_ms;
    uint64_t warmup_ops_per_worker;
    uint64_t warmup_ms;
    /** Open model at this many ops/s; 0 for the closed model. */
    double open_rate;
    const rigor_load_op *mix;
    size_t mix_len;
    /** `value_bytes` of `x`, or `document` when not NULL. */
    uint32_t value_bytes;
    const void *document;
    size_t document_len;
    const char *key_prefix;
    uint64_t key_count;
    bool sequential_keys;
    /** Commands per write; 0 means 1. */
    uint32_t pipeline;
    bool shared_connection;
    uint32_t timeout_ms;
    uint32_t threads;
    const char *metric_prefix;
} rigor_redis_load;

/** The outcome of a load (the generated `load-result`). */
typedef rigor_scenario_redis_load_result_t rigor_redis_load_result;
bool rigor_redis_run_load(const rigor_redis_load *spec, rigor_redis_load_result *out,
                          rigor_error *err);
void rigor_redis_load_result_free(rigor_redis_load_result *r);

/* ------------------------------------------------------------ process */

/** One environment variable. */
typedef struct rigor_env {
    const char *name;
    const char *value;
} rigor_env;

/** What to run (no shell). */
typedef struct rigor_command {
    const char *program;
    const char *const *args;
    size_t args_len;
    const rigor_env *env;
    size_t env_len;
    bool inherit_env;
    /** NULL: the work directory. */
    const char *cwd;
} rigor_command;

typedef struct rigor_child {
    int32_t handle;
} rigor_child;

typedef enum rigor_stream { RIGOR_STDOUT = 0, RIGOR_STDERR = 1 } rigor_stream;

/** How a child ended; free with rigor_child_exit_free. */
typedef rigor_scenario_process_child_exit_t rigor_child_exit;
/** A readiness wait that succeeded; free with rigor_ready_free. */
typedef rigor_scenario_process_ready_t rigor_ready;
typedef rigor_scenario_process_startup_stats_t rigor_startup_stats;

bool rigor_spawn(const rigor_command *cmd, rigor_child *out, rigor_error *err);
uint32_t rigor_child_pid(rigor_child c);
uint64_t rigor_child_elapsed_ns(rigor_child c);
/** Waits up to `timeout_ns`; returns true (and fills `out`) when the child has ended. */
bool rigor_child_wait(rigor_child c, uint64_t timeout_ns, rigor_child_exit *out);
/** Stops the child (SIGTERM, SIGKILL after `grace_ns`); `out` may be NULL. */
void rigor_child_kill(rigor_child c, uint64_t grace_ns, rigor_child_exit *out);
/** The last bytes of a stream; free() it. */
char *rigor_child_tail(rigor_child c, rigor_stream stream);
uint64_t rigor_child_output_bytes(rigor_child c, rigor_stream stream);
/** Readiness waits: a child that ended is RIGOR_EXITED, a wait that ran out RIGOR_TIMEOUT;
 *  both messages carry the child's output tail. `out` may be NULL. */
bool rigor_child_wait_port(rigor_child c, uint16_t port, uint64_t timeout_ns, rigor_ready *out,
                           rigor_error *err);
bool rigor_child_wait_http(rigor_child c, const char *url, uint16_t status, uint64_t timeout_ns,
                           rigor_ready *out, rigor_error *err);
bool rigor_child_wait_line(rigor_child c, rigor_stream stream, const char *pattern,
                           uint64_t timeout_ns, rigor_ready *out, rigor_error *err);
/** Drops the handle: the host stops and reaps the child. */
void rigor_child_close(rigor_child *c);
void rigor_child_exit_free(rigor_child_exit *e);
void rigor_ready_free(rigor_ready *r);
/** Exit code, or -1 when the child was killed by a signal. */
int rigor_child_exit_code(const rigor_child_exit *e);
/** Times `runs` start-ups of `cmd` after `warmup` untimed ones. */
bool rigor_time_startup(const rigor_command *cmd, uint32_t warmup, uint32_t runs,
                        const rigor_histogram *into, rigor_startup_stats *out, rigor_error *err);
/** The scenario's work directory; free() `*out`. */
bool rigor_work_dir(char **out, rigor_error *err);
bool rigor_free_port(uint16_t *out, rigor_error *err);

/* --------------------------------------------------------------- http */

typedef struct rigor_header {
    const char *name;
    const char *value;
} rigor_header;

typedef enum rigor_http_version {
    RIGOR_HTTP_AUTO = 0,
    RIGOR_HTTP1 = 1,
    RIGOR_HTTP2 = 2,
} rigor_http_version;

/** One request; zero fields take the contract's defaults. */
typedef struct rigor_http_request {
    /** NULL means GET. */
    const char *method;
    const char *url;
    const rigor_header *headers;
    size_t headers_len;
    const void *body;
    size_t body_len;
    uint64_t timeout_ns;
    rigor_http_version version;
    uint32_t max_redirects;
    const char *client_identity;
} rigor_http_request;

/** A response (status, headers, body, phase timings); free with rigor_http_response_free. */
typedef rigor_scenario_http_response_t rigor_http_response;

bool rigor_http_send(const rigor_http_request *req, const rigor_histogram *into,
                     rigor_http_response *out, rigor_error *err);
void rigor_http_response_free(rigor_http_response *r);

/** A load of identical requests. */
typedef struct rigor_http_load {
    rigor_http_request request;
    uint32_t workers;
    uint32_t connections;
    uint32_t threads;
    uint64_t requests;
    uint64_t duration_ns;
    /** Open model at this many requests/s; 0 for the closed model. */
    double rate;
    const char *metric;
} rigor_http_load;

typedef rigor_scenario_http_load_report_t rigor_http_load_report;
bool rigor_http_run_load(const rigor_http_load *spec, rigor_http_load_report *out,
                         rigor_error *err);
void rigor_http_load_report_free(rigor_http_load_report *r);

/* ----------------------------------------------------------------- fs */

/** A root directory: the scratch directory or a granted one. */
typedef struct rigor_dir {
    int32_t handle;
} rigor_dir;

/** Bytes written or read and the time the system calls took. */
typedef rigor_scenario_fs_timed_t rigor_timed;

/** Bytes read; free with rigor_bytes_free. */
typedef struct rigor_bytes {
    uint8_t *data;
    size_t len;
    uint64_t latency_ns;
} rigor_bytes;

typedef rigor_scenario_fs_listing_t rigor_listing;
#define RIGOR_ENTRY_FILE RIGOR_SCENARIO_FS_ENTRY_KIND_FILE
#define RIGOR_ENTRY_DIRECTORY RIGOR_SCENARIO_FS_ENTRY_KIND_DIRECTORY
#define RIGOR_ENTRY_SYMLINK RIGOR_SCENARIO_FS_ENTRY_KIND_SYMLINK

typedef enum rigor_dump_format { RIGOR_JSON = 0, RIGOR_CSV = 1, RIGOR_TEXT = 2 } rigor_dump_format;

bool rigor_dir_scratch(rigor_dir *out, rigor_error *err);
bool rigor_dir_open(const char *name, rigor_dir *out, rigor_error *err);
void rigor_dir_close(rigor_dir *d);
/** The root's name; free() it. */
char *rigor_dir_name(rigor_dir d);
bool rigor_dir_writable(rigor_dir d);
/** Writes `len` bytes (creating or truncating); `out` may be NULL. */
bool rigor_dir_write(rigor_dir d, const char *path, const void *data, size_t len, bool fsync,
                     const rigor_histogram *into, rigor_timed *out, rigor_error *err);
/** Writes `len` bytes of a fixed pattern, generated by the host. */
bool rigor_dir_write_fill(rigor_dir d, const char *path, uint64_t len, bool fsync,
                          const rigor_histogram *into, rigor_timed *out, rigor_error *err);
bool rigor_dir_append(rigor_dir d, const char *path, const void *data, size_t len, bool fsync,
                      const rigor_histogram *into, rigor_timed *out, rigor_error *err);
/** Reads a whole file; free `out` with rigor_bytes_free (data is NUL-terminated). */
bool rigor_dir_read(rigor_dir d, const char *path, const rigor_histogram *into,
                    rigor_bytes *out, rigor_error *err);
void rigor_bytes_free(rigor_bytes *b);
bool rigor_dir_fsync(rigor_dir d, const char *path, const rigor_histogram *into,
                     uint64_t *latency_ns, rigor_error *err);
bool rigor_dir_rename(rigor_dir d, const char *from, const char *to, const rigor_histogram *into,
                      uint64_t *latency_ns, rigor_error *err);
bool rigor_dir_delete(rigor_dir d, const char *path, const rigor_histogram *into,
                      uint64_t *latency_ns, rigor_error *err);
/** Lists a directory (`""` or `.` for the root); free with rigor_listing_free. */
bool rigor_dir_list(rigor_dir d, const char *path, rigor_listing *out, rigor_error *err);
void rigor_listing_free(rigor_listing *l);
/** Whether a listing has an entry `name` of `kind`. */
bool rigor_listing_has(const rigor_listing *l, const char *name, int kind);
bool rigor_dir_mkdir(rigor_dir d, const char *path, rigor_error *err);
bool rigor_dir_symlink(rigor_dir d, const char *target, const char *link, rigor_error *err);
/** Dumps a table: `cells` holds `rows_len` rows of `columns_len` cells, row after row. */
bool rigor_dir_dump(rigor_dir d, const char *path, const char *const *columns,
                    size_t columns_len, const char *const *cells, size_t rows_len,
                    rigor_dump_format format, bool fsync, const rigor_histogram *into,
                    rigor_timed *out, rigor_error *err);

typedef enum rigor_fsync_policy {
    RIGOR_FSYNC_NEVER = 0,
    RIGOR_FSYNC_EVERY_WRITE = 1,
    RIGOR_FSYNC_EVERY = 2,
    RIGOR_FSYNC_AT_END = 3,
} rigor_fsync_policy;

/** A concurrent file load (the contract's `io-load-spec`). */
typedef struct rigor_io_load {
    const char *name;
    uint32_t workers;
    uint32_t files_per_worker;
    uint64_t file_size;
    uint64_t block_size;
    uint8_t read_percent;
    rigor_fsync_policy fsync;
    /** RIGOR_FSYNC_EVERY: every n-th write. */
    uint32_t fsync_every;
    bool random;
    /** Stop after `ops` operations, or after `duration_ns` when non-zero. */
    uint64_t ops;
    uint64_t duration_ns;
} rigor_io_load;

typedef rigor_scenario_fs_io_load_report_t rigor_io_load_report;
bool rigor_dir_run_io_load(rigor_dir d, const rigor_io_load *spec, rigor_io_load_report *out,
                           rigor_error *err);
void rigor_io_load_report_free(rigor_io_load_report *r);

/* ------------------------------------------------------------- memory */

/** Which process to measure; build with the rigor_target_* functions. */
typedef struct rigor_target {
    int kind;
    uint32_t pid;
    const char *redis;
} rigor_target;

rigor_target rigor_target_host(void);
rigor_target rigor_target_child(rigor_child c);
rigor_target rigor_target_redis(const char *target);
rigor_target rigor_target_pid(uint32_t pid);

typedef enum rigor_measure { RIGOR_RSS = 0, RIGOR_PSS = 1, RIGOR_USS = 2 } rigor_measure;

typedef rigor_scenario_memory_usage_t rigor_usage;
typedef rigor_scenario_memory_point_t rigor_point;
typedef rigor_scenario_memory_list_point_t rigor_points;
typedef rigor_scenario_memory_verdict_t rigor_memory_verdict;

/** Leak criteria; NULL fields are `none`. */
typedef struct rigor_criteria {
    const double *max_bytes_per_op;
    const double *max_bytes_per_second;
    const double *alpha;
} rigor_criteria;

typedef struct rigor_watcher {
    int32_t handle;
} rigor_watcher;

bool rigor_memory_sample(rigor_target target, rigor_usage *out, rigor_error *err);
/** Starts a watcher; `interval_ns` 0 means the host's default. */
bool rigor_watcher_start(const char *name, rigor_target target, rigor_measure measure,
                         uint64_t interval_ns, rigor_watcher *out, rigor_error *err);
bool rigor_watcher_ops_done(rigor_watcher w, uint64_t k, rigor_point *out, rigor_error *err);
/** The series so far; free with rigor_points_free. */
rigor_points rigor_watcher_series(rigor_watcher w);
void rigor_points_free(rigor_points *p);
/** Judges the series (`criteria` may be NULL); free with rigor_memory_verdict_free. */
bool rigor_watcher_verdict(rigor_watcher w, const rigor_criteria *criteria,
                           rigor_memory_verdict *out, rigor_error *err);
void rigor_memory_verdict_free(rigor_memory_verdict *v);
void rigor_watcher_stop(rigor_watcher w);
void rigor_watcher_close(rigor_watcher *w);

/* ---------------------------------------------------------- websocket */

typedef struct rigor_ws {
    int32_t handle;
} rigor_ws;

/** Connect options; NULL or zero fields take the defaults. */
typedef struct rigor_ws_options {
    const rigor_header *headers;
    size_t headers_len;
    uint64_t timeout_ns;
    uint32_t max_message_bytes;
} rigor_ws_options;

typedef enum rigor_ws_kind { RIGOR_WS_TEXT = 0, RIGOR_WS_BINARY = 1, RIGOR_WS_CLOSED = 2 } rigor_ws_kind;

/** A received message; `data` is NUL-terminated. free with rigor_ws_message_free. */
typedef struct rigor_ws_message {
    rigor_ws_kind kind;
    uint8_t *data;
    size_t len;
    /** RIGOR_WS_CLOSED: the peer's close code (its reason is in data). */
    uint16_t close_code;
} rigor_ws_message;

typedef rigor_scenario_websocket_connect_timing_t rigor_ws_timing;

bool rigor_ws_connect(const char *url, const rigor_ws_options *options, rigor_ws *out,
                      rigor_error *err);
rigor_ws_timing rigor_ws_connect_timing(rigor_ws ws);
bool rigor_ws_send_text(rigor_ws ws, const char *text, rigor_error *err);
bool rigor_ws_send_binary(rigor_ws ws, const void *data, size_t len, rigor_error *err);
bool rigor_ws_receive(rigor_ws ws, uint64_t timeout_ns, rigor_ws_message *out, rigor_error *err);
void rigor_ws_message_free(rigor_ws_message *m);
bool rigor_ws_ping(rigor_ws ws, const rigor_histogram *into, uint64_t timeout_ns,
                   uint64_t *rtt_ns, rigor_error *err);
/** Close handshake; `peer_code` may be NULL. */
bool rigor_ws_close(rigor_ws ws, uint16_t code, const char *reason, uint64_t timeout_ns,
                    uint16_t *peer_code, rigor_error *err);
/** Drops the connection. */
void rigor_ws_drop(rigor_ws *ws);

/** A WebSocket load (the contract's `load-spec`). */
typedef struct rigor_ws_load {
    const char *url;
    uint32_t connections;
    uint64_t messages;
    uint64_t duration_ns;
    /** Open model at this many messages/s per connection; 0 for closed. */
    double rate;
    const void *template_data;
    size_t template_len;
    bool text;
    const char *id_placeholder;
    /** The id is this JSON field of the answer, or when NULL the byte range below. */
    const char *id_json_field;
    uint32_t id_offset;
    uint32_t id_length;
    uint64_t grace_ns;
    uint32_t max_message_bytes;
    const char *metric;
} rigor_ws_load;

typedef rigor_scenario_websocket_load_report_t rigor_ws_load_report;
bool rigor_ws_run_load(const rigor_ws_load *spec, rigor_ws_load_report *out, rigor_error *err);
void rigor_ws_load_report_free(rigor_ws_load_report *r);

/* ------------------------------------------------------ entry points */

/** A virtual user's context: vu (from 1), iteration, scenario_iteration, seed. */
typedef rigor_scenario_types_vu_context_t rigor_vu;

/** The buffer `setup` returns to every iteration. */
typedef struct rigor_data {
    uint8_t *data;
    size_t len;
} rigor_data;

/** Copies `len` bytes into the setup data. */
void rigor_data_set(rigor_data *out, const void *data, size_t len);

typedef void (*rigor_describe_fn)(rigor_info *info);
typedef bool (*rigor_run_fn)(const rigor_params *params, rigor_error *err);
typedef bool (*rigor_setup_fn)(const rigor_params *params, rigor_data *out, rigor_error *err);
typedef bool (*rigor_iteration_fn)(const rigor_vu *vu, const uint8_t *data, size_t len,
                                   rigor_error *err);
typedef bool (*rigor_teardown_fn)(const uint8_t *data, size_t len, rigor_error *err);

/* The glue between the generated exports and the author's functions. */
void rigor_export_describe(rigor_info *ret, rigor_describe_fn describe);
bool rigor_export_run(rigor_scenario_types_params_t *params, scenario_string_t *err,
                      rigor_run_fn run);
bool rigor_export_setup(rigor_scenario_types_params_t *params, scenario_list_u8_t *ret,
                        scenario_string_t *err, rigor_setup_fn setup);
bool rigor_export_iteration(rigor_vu *vu, scenario_list_u8_t *data, scenario_string_t *err,
                            rigor_iteration_fn iteration);
bool rigor_export_teardown(scenario_list_u8_t *data, scenario_string_t *err,
                           rigor_teardown_fn teardown);

/**
 * Makes `describe` and `run` the scenario's entry points (world `scenario`):
 *   static void describe(rigor_info *info);
 *   static bool run(const rigor_params *params, rigor_error *err);
 * `run` returning false ends the scenario as errored with err's message.
 */
#define RIGOR_SCENARIO(describe, run)                                                      \
    void exports_scenario_describe(rigor_info *ret) { rigor_export_describe(ret, describe); } \
    bool exports_scenario_run(rigor_scenario_types_params_t *params, scenario_string_t *err) { \
        return rigor_export_run(params, err, run);                                          \
    }

/**
 * Makes the four functions a virtual-user scenario's entry points (world
 * `vu-scenario`):
 *   static void describe(rigor_info *info);
 *   static bool setup(const rigor_params *params, rigor_data *out, rigor_error *err);
 *   static bool iteration(const rigor_vu *vu, const uint8_t *data, size_t len, rigor_error *err);
 *   static bool teardown(const uint8_t *data, size_t len, rigor_error *err);
 */
#define RIGOR_VU_SCENARIO(describe, setup, iteration, teardown)                               \
    void exports_scenario_describe(rigor_info *ret) { rigor_export_describe(ret, describe); } \
    bool exports_scenario_setup(rigor_scenario_types_params_t *params, scenario_list_u8_t *ret, \
                                scenario_string_t *err) {                                    \
        return rigor_export_setup(params, ret, err, setup);                                   \
    }                                                                                         \
    bool exports_scenario_iteration(rigor_vu *vu, scenario_list_u8_t *data,                   \
                                    scenario_string_t *err) {                                \
        return rigor_export_iteration(vu, data, err, iteration);                              \
    }                                                                                         \
    bool exports_scenario_teardown(scenario_list_u8_t *data, scenario_string_t *err) {        \
        return rigor_export_teardown(data, err, teardown);                                    \
    }

#ifdef __cplusplus
}
#endif

#endif /* RIGOR_H */
