//! The Rigor scenario SDK for Zig: idiomatic Zig over the bindings `rigor
//! build` generates from the contract and the C SDK (`guest-sdk/c`), both
//! reachable as `rigor.c` for anything this file does not wrap.
//!
//! Conventions: probe calls return error unions (`error.Denied`,
//! `error.Timeout`, … — see `Error`), and `errorMessage()` gives the host's
//! message of the last failure; strings and bytes are slices; resources
//! (`Histogram`, `Redis`, `Child`, `Dir`, `Watcher`, `WebSocket`) have a
//! `close` (or `drop`) for `defer`; results the host allocated have a
//! `deinit`.
//!
//! A scenario file declares `pub fn describe(info: rigor.Info) void` and
//! `pub fn run(params: rigor.Params) !void`, then
//! `comptime { rigor.exportScenario(@This()); }` and
//! `pub const panic = rigor.panic;`.

const std = @import("std");
/// The generated bindings and the C SDK, translated from their headers.
pub const c = @import("c");

const allocator = std.heap.c_allocator;

// ------------------------------------------------------------- errors

/// Why a probe call failed: the contract's `probe-error` cases, plus
/// `Exited` (a child ended before it became ready) and `Failed`.
pub const Error = error{ Denied, Timeout, Connection, Io, Invalid, Server, Exited, Failed };

var last: c.rigor_error = .{};

/// The message of the last failure an SDK call returned.
pub fn errorMessage() []const u8 {
    return std.mem.sliceTo(&last.message, 0);
}

fn kindError(kind: c_uint) Error {
    return switch (kind) {
        0 => error.Denied,
        1 => error.Timeout,
        2 => error.Connection,
        3 => error.Io,
        4 => error.Invalid,
        5 => error.Server,
        6 => error.Exited,
        else => error.Failed,
    };
}

fn errorKind(e: anyerror) c_uint {
    return switch (e) {
        error.Denied => 0,
        error.Timeout => 1,
        error.Connection => 2,
        error.Io => 3,
        error.Invalid => 4,
        error.Server => 5,
        error.Exited => 6,
        else => 7,
    };
}

/// Sets the message `errorMessage()` returns and gives back `kind`: for a
/// scenario's own failures (`return rigor.fail(error.Failed, "…", .{})`).
pub fn fail(kind: Error, comptime fmt: []const u8, args: anytype) Error {
    const msg = std.fmt.bufPrint(last.message[0 .. last.message.len - 1], fmt, args) catch
        last.message[0 .. last.message.len - 1];
    last.message[msg.len] = 0;
    last.kind = errorKind(kind);
    return kind;
}

/// The C SDK's result: `ok`, or the error recorded in `last`.
fn check_(ok: bool) Error!void {
    if (!ok) return kindError(last.kind);
}

/// The host's `probe-error` as a Zig error; frees it.
fn probe(pe: *c.rigor_scenario_types_probe_error_t) Error {
    const m = pe.val.denied;
    const n = @min(m.len, last.message.len - 1);
    @memcpy(last.message[0..n], m.ptr[0..n]);
    last.message[n] = 0;
    last.kind = pe.tag;
    c.rigor_scenario_types_probe_error_free(pe);
    return kindError(pe.tag);
}

/// A borrowed view of a slice, as the bindings take strings.
fn str(s: []const u8) c.scenario_string_t {
    return .{ .ptr = @constCast(s.ptr), .len = s.len };
}

/// A NUL-terminated copy of `s` for the C SDK: on the stack when short.
const Z = struct {
    buf: [256]u8 = undefined,
    heap: ?[:0]u8 = null,

    fn of(self: *Z, s: []const u8) [*c]const u8 {
        if (s.len < self.buf.len) {
            @memcpy(self.buf[0..s.len], s);
            self.buf[s.len] = 0;
            return &self.buf;
        }
        self.heap = allocator.dupeSentinel(u8, s, 0) catch @panic("out of memory");
        return self.heap.?.ptr;
    }

    fn deinit(self: *Z) void {
        if (self.heap) |h| allocator.free(h);
    }
};

/// Per-call scratch memory for converting arguments to C.
const Scratch = struct {
    arena: std.heap.ArenaAllocator,

    fn init() Scratch {
        return .{ .arena = std.heap.ArenaAllocator.init(allocator) };
    }
    fn deinit(self: *Scratch) void {
        self.arena.deinit();
    }
    fn z(self: *Scratch, s: []const u8) [*c]const u8 {
        return (self.arena.allocator().dupeSentinel(u8, s, 0) catch @panic("out of memory")).ptr;
    }
    fn optZ(self: *Scratch, s: ?[]const u8) [*c]const u8 {
        return if (s) |v| self.z(v) else null;
    }
    fn zs(self: *Scratch, list: []const []const u8) [*c]const [*c]const u8 {
        const out = self.arena.allocator().alloc([*c]const u8, list.len) catch @panic("out of memory");
        for (list, 0..) |s, i| out[i] = self.z(s);
        return out.ptr;
    }
    fn alloc(self: *Scratch, comptime T: type, n: usize) []T {
        return self.arena.allocator().alloc(T, n) catch @panic("out of memory");
    }
};

/// The C SDK's `into`: a pointer to `slot`, which lives in the caller's frame.
fn hist(into: ?Histogram, slot: *c.rigor_histogram) [*c]const c.rigor_histogram {
    if (into) |h| {
        slot.* = h.raw;
        return slot;
    }
    return null;
}

fn borrowHist(into: ?Histogram, slot: *c.rigor_scenario_metrics_borrow_histogram_t) [*c]c.rigor_scenario_metrics_borrow_histogram_t {
    if (into) |h| {
        slot.* = .{ .__handle = h.raw.handle };
        return slot;
    }
    return null;
}

// ------------------------------------------------- parameters, describe

/// The run's parameters, already type-checked by the host.
pub const Params = struct {
    raw: *const c.rigor_params,

    /// The value of `name`, or null when the run has no such parameter.
    pub fn get(self: Params, name: []const u8) ?[]const u8 {
        var i: usize = 0;
        while (i < self.raw.len) : (i += 1) {
            if (std.mem.eql(u8, std.mem.span(self.raw.names[i]), name)) return std.mem.span(self.raw.values[i]);
        }
        return null;
    }
    /// A text parameter.
    pub fn str(self: Params, name: []const u8) Error![]const u8 {
        return self.get(name) orelse fail(error.Invalid, "no parameter `{s}`: declare it in describe and the catalog", .{name});
    }
    /// An integer parameter (`1000`, `1_000`).
    pub fn int(self: Params, name: []const u8) Error!u64 {
        var n: Z = .{};
        defer n.deinit();
        var out: u64 = 0;
        try check_(c.rigor_param_u64(self.raw, n.of(name), &out, &last));
        return out;
    }
    /// A decimal parameter.
    pub fn float(self: Params, name: []const u8) Error!f64 {
        var n: Z = .{};
        defer n.deinit();
        var out: f64 = 0;
        try check_(c.rigor_param_f64(self.raw, n.of(name), &out, &last));
        return out;
    }
    /// A size parameter (`100B`, `10KiB`) in bytes.
    pub fn size(self: Params, name: []const u8) Error!u64 {
        var n: Z = .{};
        defer n.deinit();
        var out: u64 = 0;
        try check_(c.rigor_param_size(self.raw, n.of(name), &out, &last));
        return out;
    }
    /// A duration parameter (`5s`, `250ms`, `1m 30s`) in nanoseconds.
    pub fn durationNs(self: Params, name: []const u8) Error!u64 {
        var n: Z = .{};
        defer n.deinit();
        var out: u64 = 0;
        try check_(c.rigor_param_duration_ns(self.raw, n.of(name), &out, &last));
        return out;
    }
    /// A boolean parameter (`true`, `yes`, `1`).
    pub fn boolean(self: Params, name: []const u8) Error!bool {
        var n: Z = .{};
        defer n.deinit();
        var out = false;
        try check_(c.rigor_param_bool(self.raw, n.of(name), &out, &last));
        return out;
    }
};

/// What `describe` fills in.
pub const Info = struct {
    raw: *c.rigor_info,

    /// Sets the scenario's name and one-sentence description.
    pub fn describe(self: Info, name: []const u8, description: []const u8) void {
        c.scenario_string_dup_n(&self.raw.name, name.ptr, name.len);
        c.scenario_string_dup_n(&self.raw.description, description.ptr, description.len);
    }
    /// Declares a parameter with its default (as text) and one line of help.
    pub fn param(self: Info, name: []const u8, default_value: []const u8, help: []const u8) void {
        var s = Scratch.init();
        defer s.deinit();
        c.rigor_describe_param(self.raw, s.z(name), s.z(default_value), s.z(help));
    }
};

// -------------------------------------------------------------- clock

/// Monotonic time in ns, for pacing only: probe calls are timed by the host.
pub fn nowNs() u64 {
    return c.rigor_scenario_clock_now();
}

/// Sleeps `ns` nanoseconds.
pub fn sleepNs(ns: u64) void {
    c.rigor_scenario_clock_sleep(ns);
}

// ------------------------------------------------------------ metrics

/// Units of metrics.
pub const Unit = enum(u8) { nanoseconds = 0, bytes = 1, count = 2, ops_per_second = 3, ratio = 4, none = 5 };

/// count, min, max, mean, stdev, p50, p90, p95, p99, p999.
pub const Summary = c.rigor_summary;

/// A host-side HDR histogram.
pub const Histogram = struct {
    raw: c.rigor_histogram,

    /// Opens (or creates) the histogram `name`.
    pub fn open(metric: []const u8, unit: Unit) Histogram {
        var n = str(metric);
        const h = c.rigor_scenario_metrics_constructor_histogram(&n, @intFromEnum(unit));
        return .{ .raw = .{ .handle = h.__handle } };
    }
    /// A latency histogram (nanoseconds).
    pub fn latency(metric: []const u8) Histogram {
        return open(metric, .nanoseconds);
    }
    pub fn record(self: Histogram, value: u64) void {
        c.rigor_histogram_record(self.raw, value);
    }
    pub fn recordMany(self: Histogram, values: []const u64) void {
        c.rigor_histogram_record_many(self.raw, values.ptr, values.len);
    }
    pub fn summary(self: Histogram) Summary {
        return c.rigor_histogram_summary(self.raw);
    }
    /// The metric's name; free with `rigor.free`.
    pub fn name(self: Histogram) []u8 {
        return std.mem.span(c.rigor_histogram_name(self.raw));
    }
    /// Drops the handle (the metric stays in the report).
    pub fn close(self: *Histogram) void {
        c.rigor_histogram_close(&self.raw);
    }
};

/// Frees memory the SDK handed over as a plain slice.
pub fn free(s: []u8) void {
    std.c.free(s.ptr);
}

/// Sets the gauge `name`.
pub fn gauge(name: []const u8, value: f64, unit: Unit) void {
    var n = str(name);
    c.rigor_scenario_metrics_gauge(&n, value, @intFromEnum(unit));
}

/// Adds `delta` to the counter `name`.
pub fn counterAdd(name: []const u8, delta: u64) void {
    var n = str(name);
    c.rigor_scenario_metrics_counter_add(&n, delta);
}

// ------------------------------------------------------------- report

pub const Severity = enum(u8) { info = 0, low = 1, medium = 2, high = 3, critical = 4 };

/// A threshold's verdict.
pub const Verdict = struct { passed: bool, observed: f64, limit: f64 };

fn format(buf: []u8, comptime fmt: []const u8, args: anytype) []const u8 {
    return std.fmt.bufPrint(buf, fmt, args) catch buf;
}

/// Records a check; the detail is formatted like `std.fmt`.
pub fn check(name: []const u8, passed: bool, comptime fmt: []const u8, args: anytype) void {
    var buf: [1024]u8 = undefined;
    var n = str(name);
    var d = str(format(&buf, fmt, args));
    c.rigor_scenario_report_check(&n, passed, &d);
}

/// Evaluates a threshold (`p(99) < 1ms`) on a metric of this scenario.
pub fn threshold(metric: []const u8, expression: []const u8) Error!Verdict {
    var m = str(metric);
    var e = str(expression);
    var v: c.rigor_scenario_report_verdict_t = undefined;
    var pe: c.rigor_scenario_types_probe_error_t = undefined;
    if (!c.rigor_scenario_report_threshold(&m, &e, &v, &pe)) return probe(&pe);
    defer c.rigor_scenario_report_verdict_free(&v);
    return .{ .passed = v.passed, .observed = v.observed, .limit = v.limit };
}

/// Records a finding.
pub fn finding(severity: Severity, title: []const u8, detail: []const u8, action: []const u8) void {
    var f: c.rigor_scenario_report_finding_t = .{
        .severity = @intFromEnum(severity),
        .title = str(title),
        .detail = str(detail),
        .action = str(action),
    };
    c.rigor_scenario_report_add_finding(&f);
}

/// The scenario's log in the report.
pub const log = struct {
    fn line(level: u8, comptime fmt: []const u8, args: anytype) void {
        var buf: [1024]u8 = undefined;
        var m = str(format(&buf, fmt, args));
        c.rigor_scenario_report_log(level, &m);
    }
    pub fn debug(comptime fmt: []const u8, args: anytype) void {
        line(0, fmt, args);
    }
    pub fn info(comptime fmt: []const u8, args: anytype) void {
        line(1, fmt, args);
    }
    pub fn warn(comptime fmt: []const u8, args: anytype) void {
        line(2, fmt, args);
    }
    pub fn err(comptime fmt: []const u8, args: anytype) void {
        line(3, fmt, args);
    }
};

// -------------------------------------------------------------- redis

/// Bytes the host handed over; `deinit` frees them.
pub const Bytes = struct {
    data: []u8,
    latency_ns: u64 = 0,

    pub fn deinit(self: *Bytes) void {
        if (self.data.len > 0) std.c.free(self.data.ptr);
        self.data = &.{};
    }
};

/// A command's reply; `deinit` frees it.
pub const Reply = struct {
    raw: c.rigor_reply,

    /// The integer of an integer reply.
    pub fn integer(self: *const Reply) ?i64 {
        return if (self.raw.reply.tag == c.RIGOR_SCENARIO_REDIS_REPLY_INTEGER) self.raw.reply.val.integer else null;
    }
    /// The text of a status or bulk reply.
    pub fn text(self: *const Reply) ?[]const u8 {
        const r = self.raw.reply;
        return switch (r.tag) {
            c.RIGOR_SCENARIO_REDIS_REPLY_STATUS => r.val.status.ptr[0..r.val.status.len],
            c.RIGOR_SCENARIO_REDIS_REPLY_BULK => r.val.bulk.ptr[0..r.val.bulk.len],
            else => null,
        };
    }
    pub fn latencyNs(self: *const Reply) u64 {
        return self.raw.latency_ns;
    }
    pub fn deinit(self: *Reply) void {
        c.rigor_reply_free(&self.raw);
    }
};

/// One entry of a load's op mix.
pub const LoadOp = struct {
    op: enum(c_uint) { set = 0, get = 1, del = 2, incr = 3, expire = 4, raw = 5 },
    weight: u32 = 1,
    expire_seconds: u32 = 0,
    raw: []const []const u8 = &.{},
    name: ?[]const u8 = null,
};

/// A native Redis load (the contract's `load-spec`); see the C SDK's
/// `rigor_redis_load` for the meaning of zero fields.
pub const RedisLoad = struct {
    target: []const u8 = "default",
    workers: u32 = 1,
    ops_per_worker: u64 = 0,
    duration_ms: u64 = 0,
    warmup_ops_per_worker: u64 = 0,
    warmup_ms: u64 = 0,
    open_rate: f64 = 0,
    mix: []const LoadOp,
    value_bytes: u32 = 0,
    document: ?[]const u8 = null,
    key_prefix: []const u8,
    key_count: u64,
    sequential_keys: bool = false,
    pipeline: u32 = 1,
    shared_connection: bool = false,
    timeout_ms: u32 = 0,
    threads: u32 = 0,
    metric_prefix: ?[]const u8 = null,
};

/// What a load measured; `deinit` frees it.
pub const RedisLoadResult = struct {
    raw: c.rigor_redis_load_result,
    pub fn deinit(self: *RedisLoadResult) void {
        c.rigor_redis_load_result_free(&self.raw);
    }
};

/// A connection to a granted Redis target.
pub const Redis = struct {
    raw: c.rigor_redis,

    pub fn open(target: []const u8) Error!Redis {
        var t: Z = .{};
        defer t.deinit();
        var r: c.rigor_redis = .{};
        try check_(c.rigor_redis_open(t.of(target), &r, &last));
        return .{ .raw = r };
    }
    /// A connection that shares a small pool (for virtual users).
    pub fn openPooled(target: []const u8) Error!Redis {
        var t: Z = .{};
        defer t.deinit();
        var r: c.rigor_redis = .{};
        try check_(c.rigor_redis_open_pooled(t.of(target), &r, &last));
        return .{ .raw = r };
    }
    pub fn close(self: *Redis) void {
        c.rigor_redis_close(&self.raw);
    }
    fn borrow(self: Redis) c.rigor_scenario_redis_borrow_connection_t {
        return .{ .__handle = self.raw.handle };
    }
    /// `SET key value`; returns the round trip in ns.
    pub fn set(self: Redis, key: []const u8, value: []const u8, into: ?Histogram) Error!u64 {
        var k = str(key);
        var v: c.scenario_list_u8_t = .{ .ptr = @constCast(value.ptr), .len = value.len };
        var slot: c.rigor_scenario_metrics_borrow_histogram_t = undefined;
        var latency: u64 = 0;
        var pe: c.rigor_scenario_types_probe_error_t = undefined;
        if (!c.rigor_scenario_redis_method_connection_set(self.borrow(), &k, &v, borrowHist(into, &slot), &latency, &pe)) return probe(&pe);
        return latency;
    }
    /// `GET key`: null on a miss; `deinit` the value.
    pub fn get(self: Redis, key: []const u8, into: ?Histogram) Error!?Bytes {
        var k = str(key);
        var slot: c.rigor_scenario_metrics_borrow_histogram_t = undefined;
        var got: c.rigor_scenario_redis_got_t = undefined;
        var pe: c.rigor_scenario_types_probe_error_t = undefined;
        if (!c.rigor_scenario_redis_method_connection_get(self.borrow(), &k, borrowHist(into, &slot), &got, &pe)) return probe(&pe);
        if (!got.value.is_some) return null;
        return .{ .data = got.value.val.ptr[0..got.value.val.len], .latency_ns = got.latency_ns };
    }
    /// `DEL keys...`; returns how many were removed.
    pub fn del(self: Redis, keys: []const []const u8, into: ?Histogram) Error!u64 {
        var hs: c.rigor_histogram = undefined;
        var s = Scratch.init();
        defer s.deinit();
        var removed: u64 = 0;
        try check_(c.rigor_redis_del(self.raw, s.zs(keys), keys.len, hist(into, &hs), &removed, &last));
        return removed;
    }
    /// Any command, one slice per argument.
    pub fn command(self: Redis, args: []const []const u8, into: ?Histogram) Error!Reply {
        var hs: c.rigor_histogram = undefined;
        var s = Scratch.init();
        defer s.deinit();
        var r: c.rigor_reply = undefined;
        try check_(c.rigor_redis_command(self.raw, s.zs(args), args.len, hist(into, &hs), &r, &last));
        return .{ .raw = r };
    }
    /// Removes every key under `prefix`; returns how many.
    pub fn clearPrefix(self: Redis, prefix: []const u8) Error!u64 {
        var p: Z = .{};
        defer p.deinit();
        var removed: u64 = 0;
        try check_(c.rigor_redis_clear_prefix(self.raw, p.of(prefix), &removed, &last));
        return removed;
    }

    /// Runs a native load and waits for it.
    pub fn runLoad(spec: RedisLoad) Error!RedisLoadResult {
        var s = Scratch.init();
        defer s.deinit();
        const mix = s.alloc(c.rigor_load_op, spec.mix.len);
        for (spec.mix, 0..) |op, i| mix[i] = .{
            .kind = @intFromEnum(op.op),
            .weight = op.weight,
            .expire_seconds = op.expire_seconds,
            .raw = s.zs(op.raw),
            .raw_len = op.raw.len,
            .name = s.optZ(op.name),
        };
        const cs: c.rigor_redis_load = .{
            .target = s.z(spec.target),
            .workers = spec.workers,
            .ops_per_worker = spec.ops_per_worker,
            .duration_ms = spec.duration_ms,
            .warmup_ops_per_worker = spec.warmup_ops_per_worker,
            .warmup_ms = spec.warmup_ms,
            .open_rate = spec.open_rate,
            .mix = mix.ptr,
            .mix_len = mix.len,
            .value_bytes = spec.value_bytes,
            .document = if (spec.document) |d| d.ptr else null,
            .document_len = if (spec.document) |d| d.len else 0,
            .key_prefix = s.z(spec.key_prefix),
            .key_count = spec.key_count,
            .sequential_keys = spec.sequential_keys,
            .pipeline = spec.pipeline,
            .shared_connection = spec.shared_connection,
            .timeout_ms = spec.timeout_ms,
            .threads = spec.threads,
            .metric_prefix = s.optZ(spec.metric_prefix),
        };
        var r: c.rigor_redis_load_result = undefined;
        try check_(c.rigor_redis_run_load(&cs, &r, &last));
        return .{ .raw = r };
    }
};

// ------------------------------------------------------------ process

pub const Env = struct { name: []const u8, value: []const u8 };

/// What to run (no shell).
pub const Command = struct {
    program: []const u8,
    args: []const []const u8 = &.{},
    env: []const Env = &.{},
    inherit_env: bool = false,
    cwd: ?[]const u8 = null,

    fn toC(self: Command, s: *Scratch) c.rigor_command {
        const env = s.alloc(c.rigor_env, self.env.len);
        for (self.env, 0..) |e, i| env[i] = .{ .name = s.z(e.name), .value = s.z(e.value) };
        return .{
            .program = s.z(self.program),
            .args = s.zs(self.args),
            .args_len = self.args.len,
            .env = env.ptr,
            .env_len = env.len,
            .inherit_env = self.inherit_env,
            .cwd = s.optZ(self.cwd),
        };
    }
};

pub const Stream = enum(c_uint) { stdout = 0, stderr = 1 };

/// How a child ended; `deinit` frees the output tails.
pub const Exit = struct {
    raw: c.rigor_child_exit,
    /// The exit code, or null when a signal killed the child.
    pub fn code(self: *const Exit) ?i32 {
        const v = c.rigor_child_exit_code(&self.raw);
        return if (self.raw.status.tag == c.RIGOR_SCENARIO_PROCESS_EXIT_STATUS_CODE) v else null;
    }
    pub fn deinit(self: *Exit) void {
        c.rigor_child_exit_free(&self.raw);
    }
};

/// A successful readiness wait.
pub const Ready = struct { after_ns: u64, waited_ns: u64 };

fn ready(ok: bool, r: *c.rigor_ready) Error!Ready {
    try check_(ok);
    defer c.rigor_ready_free(r);
    return .{ .after_ns = r.after_ns, .waited_ns = r.waited_ns };
}

pub const StartupStats = c.rigor_startup_stats;

/// A child process; `close` stops and reaps it.
pub const Child = struct {
    raw: c.rigor_child,

    /// Starts `cmd`; `denied` unless the catalog grants the program.
    pub fn spawn(cmd: Command) Error!Child {
        var s = Scratch.init();
        defer s.deinit();
        const cc = cmd.toC(&s);
        var ch: c.rigor_child = .{};
        try check_(c.rigor_spawn(&cc, &ch, &last));
        return .{ .raw = ch };
    }
    pub fn pid(self: Child) u32 {
        return c.rigor_child_pid(self.raw);
    }
    pub fn elapsedNs(self: Child) u64 {
        return c.rigor_child_elapsed_ns(self.raw);
    }
    /// Waits up to `timeout_ns`; null while it still runs.
    pub fn wait(self: Child, timeout_ns: u64) ?Exit {
        var e: c.rigor_child_exit = undefined;
        if (!c.rigor_child_wait(self.raw, timeout_ns, &e)) return null;
        return .{ .raw = e };
    }
    /// SIGTERM to the group, SIGKILL after `grace_ns`; returns how it ended.
    pub fn kill(self: Child, grace_ns: u64) Exit {
        var e: c.rigor_child_exit = undefined;
        c.rigor_child_kill(self.raw, grace_ns, &e);
        return .{ .raw = e };
    }
    /// The last bytes of a stream; free with `rigor.free`.
    pub fn tail(self: Child, stream: Stream) []u8 {
        return std.mem.span(c.rigor_child_tail(self.raw, @intFromEnum(stream)));
    }
    pub fn outputBytes(self: Child, stream: Stream) u64 {
        return c.rigor_child_output_bytes(self.raw, @intFromEnum(stream));
    }
    /// Waits until 127.0.0.1:`port` accepts connections. A child that ended
    /// first is `error.Exited`, a wait that ran out `error.Timeout`.
    pub fn waitPort(self: Child, port: u16, timeout_ns: u64) Error!Ready {
        var r: c.rigor_ready = undefined;
        return ready(c.rigor_child_wait_port(self.raw, port, timeout_ns, &r, &last), &r);
    }
    /// Waits until `GET url` answers `status`.
    pub fn waitHttp(self: Child, url: []const u8, status: u16, timeout_ns: u64) Error!Ready {
        var u: Z = .{};
        defer u.deinit();
        var r: c.rigor_ready = undefined;
        return ready(c.rigor_child_wait_http(self.raw, u.of(url), status, timeout_ns, &r, &last), &r);
    }
    /// Waits until a line of `stream` matches the regular expression `pattern`.
    pub fn waitLine(self: Child, stream: Stream, pattern: []const u8, timeout_ns: u64) Error!Ready {
        var p: Z = .{};
        defer p.deinit();
        var r: c.rigor_ready = undefined;
        return ready(c.rigor_child_wait_line(self.raw, @intFromEnum(stream), p.of(pattern), timeout_ns, &r, &last), &r);
    }
    /// Drops the handle: the host stops and reaps the child.
    pub fn close(self: *Child) void {
        c.rigor_child_close(&self.raw);
    }
};

/// Times `runs` start-ups of `cmd` after `warmup` untimed ones.
pub fn timeStartup(cmd: Command, warmup: u32, runs: u32, into: ?Histogram) Error!StartupStats {
    var hs: c.rigor_histogram = undefined;
    var s = Scratch.init();
    defer s.deinit();
    const cc = cmd.toC(&s);
    var out: StartupStats = undefined;
    try check_(c.rigor_time_startup(&cc, warmup, runs, hist(into, &hs), &out, &last));
    return out;
}

/// The scenario's work directory; free with `rigor.free`.
pub fn workDir() Error![]u8 {
    var out: [*c]u8 = null;
    try check_(c.rigor_work_dir(&out, &last));
    return std.mem.span(out);
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn freePort() Error!u16 {
    var out: u16 = 0;
    try check_(c.rigor_free_port(&out, &last));
    return out;
}

// --------------------------------------------------------------- http

pub const Header = struct { name: []const u8, value: []const u8 };

/// One request; defaults as in the contract.
pub const Request = struct {
    method: []const u8 = "GET",
    url: []const u8,
    headers: []const Header = &.{},
    body: []const u8 = "",
    timeout_ns: u64 = 0,
    version: enum(c_uint) { auto = 0, http1 = 1, http2 = 2 } = .auto,
    max_redirects: u32 = 0,
    client_identity: ?[]const u8 = null,

    fn toC(self: Request, s: *Scratch) c.rigor_http_request {
        const headers = s.alloc(c.rigor_header, self.headers.len);
        for (self.headers, 0..) |h, i| headers[i] = .{ .name = s.z(h.name), .value = s.z(h.value) };
        return .{
            .method = s.z(self.method),
            .url = s.z(self.url),
            .headers = headers.ptr,
            .headers_len = headers.len,
            .body = self.body.ptr,
            .body_len = self.body.len,
            .timeout_ns = self.timeout_ns,
            .version = @intFromEnum(self.version),
            .max_redirects = self.max_redirects,
            .client_identity = s.optZ(self.client_identity),
        };
    }
};

/// A response; `deinit` frees it.
pub const Response = struct {
    raw: c.rigor_http_response,
    pub fn status(self: *const Response) u16 {
        return self.raw.status;
    }
    pub fn body(self: *const Response) []const u8 {
        return self.raw.body.ptr[0..self.raw.body.len];
    }
    pub fn deinit(self: *Response) void {
        c.rigor_http_response_free(&self.raw);
    }
};

/// Sends one request, timed; 4xx and 5xx are responses, not errors.
pub fn send(req: Request, into: ?Histogram) Error!Response {
    var hs: c.rigor_histogram = undefined;
    var s = Scratch.init();
    defer s.deinit();
    const r = req.toC(&s);
    var out: c.rigor_http_response = undefined;
    try check_(c.rigor_http_send(&r, hist(into, &hs), &out, &last));
    return .{ .raw = out };
}

/// A load of identical requests.
pub const HttpLoad = struct {
    request: Request,
    workers: u32 = 1,
    connections: u32 = 0,
    threads: u32 = 0,
    requests: u64 = 0,
    duration_ns: u64 = 0,
    rate: f64 = 0,
    metric: []const u8,
};

pub const HttpLoadReport = struct {
    raw: c.rigor_http_load_report,
    pub fn deinit(self: *HttpLoadReport) void {
        c.rigor_http_load_report_free(&self.raw);
    }
};

/// Runs an HTTP load natively.
pub fn httpRunLoad(spec: HttpLoad) Error!HttpLoadReport {
    var s = Scratch.init();
    defer s.deinit();
    const cs: c.rigor_http_load = .{
        .request = spec.request.toC(&s),
        .workers = spec.workers,
        .connections = spec.connections,
        .threads = spec.threads,
        .requests = spec.requests,
        .duration_ns = spec.duration_ns,
        .rate = spec.rate,
        .metric = s.z(spec.metric),
    };
    var out: c.rigor_http_load_report = undefined;
    try check_(c.rigor_http_run_load(&cs, &out, &last));
    return .{ .raw = out };
}

// ----------------------------------------------------------------- fs

pub const Timed = c.rigor_timed;
pub const DumpFormat = enum(c_uint) { json = 0, csv = 1, text = 2 };
pub const EntryKind = enum(u8) { file = 0, directory = 1, symlink = 2, other = 3 };

/// A directory listing; `deinit` frees it.
pub const Listing = struct {
    raw: c.rigor_listing,
    /// Whether the listing has an entry `name` of `kind`.
    pub fn has(self: *const Listing, name: []const u8, kind: EntryKind) bool {
        const entries = self.raw.entries.ptr[0..self.raw.entries.len];
        for (entries) |e| {
            if (e.kind == @intFromEnum(kind) and std.mem.eql(u8, e.name.ptr[0..e.name.len], name)) return true;
        }
        return false;
    }
    pub fn deinit(self: *Listing) void {
        c.rigor_listing_free(&self.raw);
    }
};

pub const FsyncPolicy = enum(c_uint) { never = 0, every_write = 1, every = 2, at_end = 3 };

/// A concurrent file load (the contract's `io-load-spec`).
pub const IoLoad = struct {
    name: []const u8,
    workers: u32 = 1,
    files_per_worker: u32 = 1,
    file_size: u64,
    block_size: u64,
    read_percent: u8 = 0,
    fsync: FsyncPolicy = .never,
    fsync_every: u32 = 0,
    random: bool = false,
    ops: u64 = 0,
    duration_ns: u64 = 0,
};

pub const IoLoadReport = struct {
    raw: c.rigor_io_load_report,
    pub fn deinit(self: *IoLoadReport) void {
        c.rigor_io_load_report_free(&self.raw);
    }
};

/// A root directory: the scratch directory or a granted one.
pub const Dir = struct {
    raw: c.rigor_dir,

    /// The scenario's scratch directory.
    pub fn scratch() Error!Dir {
        var d: c.rigor_dir = .{};
        try check_(c.rigor_dir_scratch(&d, &last));
        return .{ .raw = d };
    }
    /// A directory the catalog grants under `name`.
    pub fn open(name: []const u8) Error!Dir {
        var n: Z = .{};
        defer n.deinit();
        var d: c.rigor_dir = .{};
        try check_(c.rigor_dir_open(n.of(name), &d, &last));
        return .{ .raw = d };
    }
    pub fn close(self: *Dir) void {
        c.rigor_dir_close(&self.raw);
    }
    pub fn writable(self: Dir) bool {
        return c.rigor_dir_writable(self.raw);
    }
    pub fn write(self: Dir, path: []const u8, data: []const u8, sync: bool, into: ?Histogram) Error!Timed {
        var hs: c.rigor_histogram = undefined;
        var p: Z = .{};
        defer p.deinit();
        var t: Timed = undefined;
        try check_(c.rigor_dir_write(self.raw, p.of(path), data.ptr, data.len, sync, hist(into, &hs), &t, &last));
        return t;
    }
    /// Writes `len` bytes of a fixed pattern generated by the host.
    pub fn writeFill(self: Dir, path: []const u8, len: u64, sync: bool, into: ?Histogram) Error!Timed {
        var hs: c.rigor_histogram = undefined;
        var p: Z = .{};
        defer p.deinit();
        var t: Timed = undefined;
        try check_(c.rigor_dir_write_fill(self.raw, p.of(path), len, sync, hist(into, &hs), &t, &last));
        return t;
    }
    pub fn append(self: Dir, path: []const u8, data: []const u8, sync: bool, into: ?Histogram) Error!Timed {
        var hs: c.rigor_histogram = undefined;
        var p: Z = .{};
        defer p.deinit();
        var t: Timed = undefined;
        try check_(c.rigor_dir_append(self.raw, p.of(path), data.ptr, data.len, sync, hist(into, &hs), &t, &last));
        return t;
    }
    /// Reads a whole file; `deinit` the result.
    pub fn read(self: Dir, path: []const u8, into: ?Histogram) Error!Bytes {
        var hs: c.rigor_histogram = undefined;
        var p: Z = .{};
        defer p.deinit();
        var b: c.rigor_bytes = undefined;
        try check_(c.rigor_dir_read(self.raw, p.of(path), hist(into, &hs), &b, &last));
        return .{ .data = b.data[0..b.len], .latency_ns = b.latency_ns };
    }
    pub fn fsync(self: Dir, path: []const u8, into: ?Histogram) Error!u64 {
        var hs: c.rigor_histogram = undefined;
        var p: Z = .{};
        defer p.deinit();
        var ns: u64 = 0;
        try check_(c.rigor_dir_fsync(self.raw, p.of(path), hist(into, &hs), &ns, &last));
        return ns;
    }
    pub fn rename(self: Dir, from: []const u8, to: []const u8, into: ?Histogram) Error!u64 {
        var hs: c.rigor_histogram = undefined;
        var f: Z = .{};
        defer f.deinit();
        var t: Z = .{};
        defer t.deinit();
        var ns: u64 = 0;
        try check_(c.rigor_dir_rename(self.raw, f.of(from), t.of(to), hist(into, &hs), &ns, &last));
        return ns;
    }
    pub fn delete(self: Dir, path: []const u8, into: ?Histogram) Error!u64 {
        var hs: c.rigor_histogram = undefined;
        var p: Z = .{};
        defer p.deinit();
        var ns: u64 = 0;
        try check_(c.rigor_dir_delete(self.raw, p.of(path), hist(into, &hs), &ns, &last));
        return ns;
    }
    /// Lists a directory (`""` for the root); `deinit` the listing.
    pub fn list(self: Dir, path: []const u8) Error!Listing {
        var p: Z = .{};
        defer p.deinit();
        var l: c.rigor_listing = undefined;
        try check_(c.rigor_dir_list(self.raw, p.of(path), &l, &last));
        return .{ .raw = l };
    }
    pub fn mkdir(self: Dir, path: []const u8) Error!void {
        var p: Z = .{};
        defer p.deinit();
        try check_(c.rigor_dir_mkdir(self.raw, p.of(path), &last));
    }
    pub fn symlink(self: Dir, target: []const u8, link: []const u8) Error!void {
        var t: Z = .{};
        defer t.deinit();
        var l: Z = .{};
        defer l.deinit();
        try check_(c.rigor_dir_symlink(self.raw, t.of(target), l.of(link), &last));
    }
    /// Dumps a table of text cells: `rows` of `columns.len` cells each.
    pub fn dump(self: Dir, path: []const u8, columns: []const []const u8, rows: []const []const []const u8, fmt: DumpFormat, sync: bool, into: ?Histogram) Error!Timed {
        var hs: c.rigor_histogram = undefined;
        var s = Scratch.init();
        defer s.deinit();
        const cells = s.alloc([*c]const u8, rows.len * columns.len);
        for (rows, 0..) |row, r| {
            if (row.len != columns.len) return fail(error.Invalid, "row {d} has {d} cells for {d} columns", .{ r, row.len, columns.len });
            for (row, 0..) |cell, i| cells[r * columns.len + i] = s.z(cell);
        }
        var t: Timed = undefined;
        try check_(c.rigor_dir_dump(self.raw, s.z(path), s.zs(columns), columns.len, cells.ptr, rows.len, @intFromEnum(fmt), sync, hist(into, &hs), &t, &last));
        return t;
    }
    /// Runs a concurrent file load in this root.
    pub fn runIoLoad(self: Dir, spec: IoLoad) Error!IoLoadReport {
        var n: Z = .{};
        defer n.deinit();
        const cs: c.rigor_io_load = .{
            .name = n.of(spec.name),
            .workers = spec.workers,
            .files_per_worker = spec.files_per_worker,
            .file_size = spec.file_size,
            .block_size = spec.block_size,
            .read_percent = spec.read_percent,
            .fsync = @intFromEnum(spec.fsync),
            .fsync_every = spec.fsync_every,
            .random = spec.random,
            .ops = spec.ops,
            .duration_ns = spec.duration_ns,
        };
        var out: c.rigor_io_load_report = undefined;
        try check_(c.rigor_dir_run_io_load(self.raw, &cs, &out, &last));
        return .{ .raw = out };
    }
};

// ------------------------------------------------------------- memory

/// Which process to measure.
pub const Target = union(enum) {
    host,
    child: Child,
    redis: []const u8,
    pid: u32,

    fn toC(self: Target, z: *Z) c.rigor_target {
        return switch (self) {
            .host => c.rigor_target_host(),
            .child => |ch| c.rigor_target_child(ch.raw),
            .redis => |name| c.rigor_target_redis(z.of(name)),
            .pid => |p| c.rigor_target_pid(p),
        };
    }
};

pub const Measure = enum(c_uint) { rss = 0, pss = 1, uss = 2 };
pub const Usage = c.rigor_usage;
pub const Point = c.rigor_point;

/// Samples a process's memory once.
pub fn sample(target: Target) Error!Usage {
    var z: Z = .{};
    defer z.deinit();
    var out: Usage = undefined;
    try check_(c.rigor_memory_sample(target.toC(&z), &out, &last));
    return out;
}

/// Leak criteria; null fields are `none`.
pub const Criteria = struct {
    max_bytes_per_op: ?f64 = null,
    max_bytes_per_second: ?f64 = null,
    alpha: ?f64 = null,
};

pub const MemoryVerdict = struct {
    raw: c.rigor_memory_verdict,
    pub fn deinit(self: *MemoryVerdict) void {
        c.rigor_memory_verdict_free(&self.raw);
    }
};

/// A memory watcher.
pub const Watcher = struct {
    raw: c.rigor_watcher,

    /// Starts watching; `interval_ns` null for the host's default.
    pub fn start(name: []const u8, target: Target, measure: Measure, interval_ns: ?u64) Error!Watcher {
        var n: Z = .{};
        defer n.deinit();
        var z: Z = .{};
        defer z.deinit();
        var w: c.rigor_watcher = .{};
        try check_(c.rigor_watcher_start(n.of(name), target.toC(&z), @intFromEnum(measure), interval_ns orelse 0, &w, &last));
        return .{ .raw = w };
    }
    pub fn opsDone(self: Watcher, k: u64) Error!Point {
        var p: Point = undefined;
        try check_(c.rigor_watcher_ops_done(self.raw, k, &p, &last));
        return p;
    }
    /// The series so far; free with `rigor.freePoints`.
    pub fn series(self: Watcher) []Point {
        const p = c.rigor_watcher_series(self.raw);
        return if (p.len == 0) &.{} else p.ptr[0..p.len];
    }
    pub fn verdict(self: Watcher, criteria: Criteria) Error!MemoryVerdict {
        const a = criteria.max_bytes_per_op;
        const b = criteria.max_bytes_per_second;
        const al = criteria.alpha;
        const cc: c.rigor_criteria = .{
            .max_bytes_per_op = if (a) |*v| v else null,
            .max_bytes_per_second = if (b) |*v| v else null,
            .alpha = if (al) |*v| v else null,
        };
        var out: c.rigor_memory_verdict = undefined;
        try check_(c.rigor_watcher_verdict(self.raw, &cc, &out, &last));
        return .{ .raw = out };
    }
    pub fn stop(self: Watcher) void {
        c.rigor_watcher_stop(self.raw);
    }
    pub fn close(self: *Watcher) void {
        c.rigor_watcher_close(&self.raw);
    }
};

/// Frees a series returned by `Watcher.series`.
pub fn freePoints(points: []Point) void {
    if (points.len > 0) std.c.free(points.ptr);
}

// ---------------------------------------------------------- websocket

/// A received message; `deinit` frees it.
pub const Message = struct {
    kind: enum(c_uint) { text = 0, binary = 1, closed = 2 },
    /// The text or bytes; for `closed`, the peer's reason.
    data: []u8,
    close_code: u16,
    pub fn deinit(self: *Message) void {
        std.c.free(self.data.ptr);
    }
};

pub const WsOptions = struct {
    headers: []const Header = &.{},
    timeout_ns: u64 = 0,
    max_message_bytes: u32 = 0,
};

pub const WsLoad = struct {
    url: []const u8,
    connections: u32 = 1,
    messages: u64 = 0,
    duration_ns: u64 = 0,
    rate: f64 = 0,
    template: []const u8,
    text: bool = true,
    id_placeholder: []const u8 = "{id}",
    /// The id is this JSON field of the answer, else the byte range.
    id_json_field: ?[]const u8 = null,
    id_offset: u32 = 0,
    id_length: u32 = 0,
    grace_ns: u64 = 0,
    max_message_bytes: u32 = 0,
    metric: []const u8,
};

pub const WsLoadReport = struct {
    raw: c.rigor_ws_load_report,
    pub fn deinit(self: *WsLoadReport) void {
        c.rigor_ws_load_report_free(&self.raw);
    }
};

/// A WebSocket connection.
pub const WebSocket = struct {
    raw: c.rigor_ws,

    pub fn connect(url: []const u8, options: WsOptions) Error!WebSocket {
        var s = Scratch.init();
        defer s.deinit();
        const headers = s.alloc(c.rigor_header, options.headers.len);
        for (options.headers, 0..) |h, i| headers[i] = .{ .name = s.z(h.name), .value = s.z(h.value) };
        const o: c.rigor_ws_options = .{
            .headers = headers.ptr,
            .headers_len = headers.len,
            .timeout_ns = options.timeout_ns,
            .max_message_bytes = options.max_message_bytes,
        };
        var ws: c.rigor_ws = .{};
        try check_(c.rigor_ws_connect(s.z(url), &o, &ws, &last));
        return .{ .raw = ws };
    }
    pub fn timing(self: WebSocket) c.rigor_ws_timing {
        return c.rigor_ws_connect_timing(self.raw);
    }
    pub fn sendText(self: WebSocket, text: []const u8) Error!void {
        var s = Scratch.init();
        defer s.deinit();
        try check_(c.rigor_ws_send_text(self.raw, s.z(text), &last));
    }
    pub fn sendBinary(self: WebSocket, data: []const u8) Error!void {
        try check_(c.rigor_ws_send_binary(self.raw, data.ptr, data.len, &last));
    }
    pub fn receive(self: WebSocket, timeout_ns: u64) Error!Message {
        var m: c.rigor_ws_message = undefined;
        try check_(c.rigor_ws_receive(self.raw, timeout_ns, &m, &last));
        return .{ .kind = @enumFromInt(m.kind), .data = m.data[0..m.len], .close_code = m.close_code };
    }
    /// Ping round trip in ns.
    pub fn ping(self: WebSocket, into: ?Histogram, timeout_ns: u64) Error!u64 {
        var hs: c.rigor_histogram = undefined;
        var rtt: u64 = 0;
        try check_(c.rigor_ws_ping(self.raw, hist(into, &hs), timeout_ns, &rtt, &last));
        return rtt;
    }
    /// Close handshake; returns the peer's close code.
    pub fn close(self: WebSocket, code: u16, reason: []const u8, timeout_ns: u64) Error!u16 {
        var r: Z = .{};
        defer r.deinit();
        var peer: u16 = 0;
        try check_(c.rigor_ws_close(self.raw, code, r.of(reason), timeout_ns, &peer, &last));
        return peer;
    }
    /// Drops the connection.
    pub fn drop(self: *WebSocket) void {
        c.rigor_ws_drop(&self.raw);
    }

    /// Runs a WebSocket load natively.
    pub fn runLoad(spec: WsLoad) Error!WsLoadReport {
        var s = Scratch.init();
        defer s.deinit();
        const cs: c.rigor_ws_load = .{
            .url = s.z(spec.url),
            .connections = spec.connections,
            .messages = spec.messages,
            .duration_ns = spec.duration_ns,
            .rate = spec.rate,
            .template_data = spec.template.ptr,
            .template_len = spec.template.len,
            .text = spec.text,
            .id_placeholder = s.z(spec.id_placeholder),
            .id_json_field = s.optZ(spec.id_json_field),
            .id_offset = spec.id_offset,
            .id_length = spec.id_length,
            .grace_ns = spec.grace_ns,
            .max_message_bytes = spec.max_message_bytes,
            .metric = s.z(spec.metric),
        };
        var out: c.rigor_ws_load_report = undefined;
        try check_(c.rigor_ws_run_load(&cs, &out, &last));
        return .{ .raw = out };
    }
};

// ------------------------------------------------------ entry points

/// The panic handler a scenario declares (`pub const panic = rigor.panic;`):
/// the message goes to the scenario's log, then the instance traps (the
/// host reports the scenario as errored). Zig's default handler would write
/// to stderr and pull WASI into a component that needs none.
pub const panic = std.debug.FullPanic(panicFn);

fn panicFn(msg: []const u8, _: ?usize) noreturn {
    var m = str(msg);
    c.rigor_scenario_report_log(3, &m);
    @trap();
}

/// A virtual user's context: `vu` (from 1), `iteration`, `scenario_iteration`, `seed`.
pub const Vu = c.rigor_vu;

/// The error a scenario function returned, handed to the C glue.
fn toC(e: anyerror, out: [*c]c.rigor_error) void {
    if (errorKind(e) == last.kind and errorKind(e) != 7 or e == error.Failed) {
        out.* = last;
        out.*.kind = errorKind(e);
        if (last.message[0] == 0) _ = std.fmt.bufPrint(&out.*.message, "{s}\x00", .{@errorName(e)}) catch {};
    } else {
        out.*.kind = errorKind(e);
        _ = std.fmt.bufPrint(&out.*.message, "{s}\x00", .{@errorName(e)}) catch {};
    }
}

/// Exports `S.describe(info: Info) void` and `S.run(params: Params) !void`
/// as the scenario's entry points (world `scenario`).
pub fn exportScenario(comptime S: type) void {
    const W = struct {
        fn describe(info: [*c]c.rigor_info) callconv(.c) void {
            S.describe(.{ .raw = info });
        }
        fn run(p: [*c]const c.rigor_params, e: [*c]c.rigor_error) callconv(.c) bool {
            last = .{};
            S.run(.{ .raw = p }) catch |err| {
                toC(err, e);
                return false;
            };
            return true;
        }
        fn exportsDescribe(ret: [*c]c.rigor_info) callconv(.c) void {
            c.rigor_export_describe(ret, &describe);
        }
        fn exportsRun(params: [*c]c.rigor_scenario_types_params_t, err: [*c]c.scenario_string_t) callconv(.c) bool {
            return c.rigor_export_run(params, err, &run);
        }
    };
    @export(&W.exportsDescribe, .{ .name = "exports_scenario_describe" });
    @export(&W.exportsRun, .{ .name = "exports_scenario_run" });
}

/// Exports a virtual-user scenario (world `vu-scenario`):
/// `S.describe(info: Info) void`, `S.setup(params: Params) ![]const u8`
/// (the data every iteration gets; copied), `S.iteration(vu: Vu, data:
/// []const u8) !void` and `S.teardown(data: []const u8) !void`.
pub fn exportVuScenario(comptime S: type) void {
    const W = struct {
        fn describe(info: [*c]c.rigor_info) callconv(.c) void {
            S.describe(.{ .raw = info });
        }
        fn setup(p: [*c]const c.rigor_params, out: [*c]c.rigor_data, e: [*c]c.rigor_error) callconv(.c) bool {
            last = .{};
            const data = S.setup(.{ .raw = p }) catch |err| {
                toC(err, e);
                return false;
            };
            c.rigor_data_set(out, data.ptr, data.len);
            return true;
        }
        fn iteration(vu: [*c]const c.rigor_vu, data: [*c]const u8, len: usize, e: [*c]c.rigor_error) callconv(.c) bool {
            last = .{};
            const d: []const u8 = if (len == 0) "" else data[0..len];
            S.iteration(vu.*, d) catch |err| {
                toC(err, e);
                return false;
            };
            return true;
        }
        fn teardown(data: [*c]const u8, len: usize, e: [*c]c.rigor_error) callconv(.c) bool {
            last = .{};
            const d: []const u8 = if (len == 0) "" else data[0..len];
            S.teardown(d) catch |err| {
                toC(err, e);
                return false;
            };
            return true;
        }
        fn exportsDescribe(ret: [*c]c.rigor_info) callconv(.c) void {
            c.rigor_export_describe(ret, &describe);
        }
        fn exportsSetup(params: [*c]c.rigor_scenario_types_params_t, ret: [*c]c.scenario_list_u8_t, err: [*c]c.scenario_string_t) callconv(.c) bool {
            return c.rigor_export_setup(params, ret, err, &setup);
        }
        fn exportsIteration(vu: [*c]c.rigor_vu, data: [*c]c.scenario_list_u8_t, err: [*c]c.scenario_string_t) callconv(.c) bool {
            return c.rigor_export_iteration(vu, data, err, &iteration);
        }
        fn exportsTeardown(data: [*c]c.scenario_list_u8_t, err: [*c]c.scenario_string_t) callconv(.c) bool {
            return c.rigor_export_teardown(data, err, &teardown);
        }
    };
    @export(&W.exportsDescribe, .{ .name = "exports_scenario_describe" });
    @export(&W.exportsSetup, .{ .name = "exports_scenario_setup" });
    @export(&W.exportsIteration, .{ .name = "exports_scenario_iteration" });
    @export(&W.exportsTeardown, .{ .name = "exports_scenario_teardown" });
}
