//! The conformance scenario (tests/conformance/SPEC.md) through the Zig SDK:
//! every probe of the contract, its success and its error paths. A call that
//! fails unexpectedly is a failed check with the error as its detail, and
//! the run goes on.

const std = @import("std");
const rigor = @import("rigor");

comptime {
    rigor.exportScenario(@This());
}
pub const panic = rigor.panic;

const SUT = "../../scenarios/sut/service.py";
const ms: u64 = 1_000_000;
const WAIT: u64 = 5000 * ms;

/// Passes iff `outcome` is `true`; an error fails the check with its message.
fn expect(name: []const u8, outcome: rigor.Error!bool) void {
    if (outcome) |passed| {
        rigor.check(name, passed, "", .{});
    } else |e| {
        rigor.check(name, false, "{s}: {s}", .{ @errorName(e), rigor.errorMessage() });
    }
}

/// Passes iff the call failed with `kind`.
fn expectError(name: []const u8, kind: rigor.Error, outcome: anytype) void {
    if (outcome) |_| {
        rigor.check(name, false, "the call succeeded", .{});
    } else |e| {
        rigor.check(name, e == kind, "{s}: {s}", .{ @errorName(e), rigor.errorMessage() });
    }
}

pub fn describe(info: rigor.Info) void {
    info.describe("conformance", "Every probe of the contract through the SDK, success and error paths");
    info.param("ops", "20", "operations per loop");
}

fn clockAndMetrics() void {
    const t0 = rigor.nowNs();
    rigor.sleepNs(2 * ms);
    const t1 = rigor.nowNs();
    rigor.check("clock.sleep", t1 - t0 >= 2 * ms, "{d} ns", .{t1 - t0});
    var values = rigor.Histogram.open("conf.values", .count);
    defer values.close();
    var v: u64 = 1;
    while (v <= 50) : (v += 1) values.record(v);
    var more: [50]u64 = undefined;
    for (&more, 0..) |*m, i| m.* = 51 + i;
    values.recordMany(&more);
    const s = values.summary();
    const name = values.name();
    defer rigor.free(name);
    rigor.check("metrics.histogram", s.count == 100 and s.min == 1 and s.max == 100 and std.mem.eql(u8, name, "conf.values"), "count {d} min {d} max {d} name {s}", .{ s.count, s.min, s.max, name });
    rigor.gauge("conf.gauge", 42.5, .none);
    rigor.counterAdd("conf.counter", 3);
    rigor.counterAdd("conf.counter", 4);
}

fn reportCalls() void {
    rigor.log.info("conformance: started", .{});
    expect("report.threshold", if (rigor.threshold("conf.values", "max<=100")) |verdict| verdict.passed and verdict.observed == 100 else |e| e);
    expectError("report.threshold-invalid", error.Invalid, rigor.threshold("conf.values", "p(99)<<1"));
    rigor.finding(.low, "conformance finding", "recorded by the SDK", "none");
}

fn getIs(r: rigor.Redis, key: []const u8, into: ?rigor.Histogram, want: ?[]const u8) rigor.Error!bool {
    var got = try r.get(key, into) orelse return want == null;
    defer got.deinit();
    return if (want) |w| std.mem.eql(u8, got.data, w) else false;
}

fn redis(ops: u64) void {
    var r = rigor.Redis.open("default") catch {
        return rigor.check("redis.open", false, "{s}", .{rigor.errorMessage()});
    };
    defer r.close();
    _ = r.clearPrefix("conf:") catch 0;
    const h = rigor.Histogram.latency("conf.redis");
    _ = r.set("conf:key", "value", h) catch 0;
    expect("redis.get", getIs(r, "conf:key", h, "value"));
    expect("redis.get-missing", getIs(r, "conf:missing", null, null));
    expect("redis.del", if (r.del(&.{"conf:key"}, null)) |n| n == 1 else |e| e);
    if (r.command(&.{ "INCRBY", "conf:n", "5" }, null)) |reply| {
        var rep = reply;
        defer rep.deinit();
        expect("redis.command", rep.integer() == 5);
    } else |e| expect("redis.command", e);
    if (r.command(&.{"FLUSHALL"}, null)) |reply| {
        var rep = reply;
        rep.deinit();
        expectError("redis.denied", error.Denied, @as(rigor.Error!void, {}));
    } else |e| expectError("redis.denied", error.Denied, @as(rigor.Error!void, e));
    if (rigor.Redis.open("nowhere")) |other| {
        var o = other;
        o.close();
        expectError("redis.target-denied", error.Denied, @as(rigor.Error!void, {}));
    } else |e| expectError("redis.target-denied", error.Denied, @as(rigor.Error!void, e));

    if (rigor.Redis.runLoad(.{
        .target = "default",
        .workers = 2,
        .ops_per_worker = ops,
        .mix = &.{ .{ .op = .set }, .{ .op = .get } },
        .value_bytes = 16,
        .key_prefix = "conf:load:",
        .key_count = 50,
        .metric_prefix = "conf.load",
    })) |result| {
        var l = result;
        defer l.deinit();
        expect("redis.run-load", l.raw.ok == 2 * ops and l.raw.errors == 0);
    } else |e| expect("redis.run-load", e);

    if (rigor.Redis.openPooled("default")) |pooled| {
        var p = pooled;
        defer p.close();
        expect("redis.pooled", getIs(p, "conf:n", null, "5"));
    } else |e| expect("redis.pooled", e);
    expect("redis.clear-prefix", if (r.clearPrefix("conf:")) |n| n >= 1 else |e| e);
}

/// Starts the service under test; returns it, with its base URL in `base`.
fn process(base: *[64]u8, base_len: *usize) ?rigor.Child {
    if (rigor.workDir()) |dir| {
        rigor.free(dir);
        expect("process.work-dir", true);
    } else |e| expect("process.work-dir", e);
    const port = rigor.freePort() catch |e| {
        expect("process.free-port", e);
        return null;
    };
    rigor.check("process.free-port", port > 0, "{d}", .{port});
    var port_buf: [8]u8 = undefined;
    const port_text = std.fmt.bufPrint(&port_buf, "{d}", .{port}) catch unreachable;
    base_len.* = (std.fmt.bufPrint(base, "http://127.0.0.1:{d}", .{port}) catch unreachable).len;
    var child: ?rigor.Child = null;
    if (rigor.Child.spawn(.{
        .program = SUT,
        .env = &.{
            .{ .name = "PORT", .value = port_text },
            .{ .name = "APP_ENV", .value = "production" },
            .{ .name = "SECRET_KEY", .value = "conformance" },
            .{ .name = "PYTHONUNBUFFERED", .value = "1" },
        },
    })) |ch| {
        child = ch;
        var url_buf: [128]u8 = undefined;
        const url = std.fmt.bufPrint(&url_buf, "{s}/health", .{base[0..base_len.*]}) catch unreachable;
        expect("process.wait-http", if (ch.waitHttp(url, 200, 10000 * ms)) |_| true else |e| e);
        expect("process.wait-line", if (ch.waitLine(.stdout, "listening on", WAIT)) |_| true else |e| e);
    } else |e| {
        expect("process.wait-http", e);
        expect("process.wait-line", e);
    }
    const startup = rigor.Histogram.latency("conf.startup");
    expect("process.time-startup", if (rigor.timeStartup(.{ .program = "/bin/true" }, 1, 5, startup)) |t| t.runs == 5 and t.failed_runs == 0 else |e| e);
    expectError("process.denied", error.Denied, spawnAndClose(.{ .program = "/bin/cat" }));
    expectError("process.env-denied", error.Denied, spawnAndClose(.{ .program = "/bin/true", .env = &.{.{ .name = "LD_PRELOAD", .value = "x.so" }} }));
    return child;
}

fn spawnAndClose(cmd: rigor.Command) rigor.Error!void {
    var ch = try rigor.Child.spawn(cmd);
    ch.close();
}

fn statusIs(req: rigor.Request, into: ?rigor.Histogram, want: u16) rigor.Error!bool {
    var resp = try rigor.send(req, into);
    defer resp.deinit();
    return resp.status() == want;
}

fn http(base: []const u8, ops: u64) void {
    var health_buf: [128]u8 = undefined;
    var missing_buf: [128]u8 = undefined;
    const health = std.fmt.bufPrint(&health_buf, "{s}/health", .{base}) catch unreachable;
    const missing = std.fmt.bufPrint(&missing_buf, "{s}/missing", .{base}) catch unreachable;
    const h = rigor.Histogram.latency("conf.http");
    expect("http.send", statusIs(.{ .url = health, .timeout_ns = WAIT }, h, 200));
    expect("http.status", statusIs(.{ .url = missing, .timeout_ns = WAIT }, null, 404));
    expectError("http.denied", error.Denied, statusIs(.{ .url = "http://192.0.2.1/", .timeout_ns = 1000 * ms }, null, 200));
    if (rigor.httpRunLoad(.{
        .request = .{ .url = health, .timeout_ns = WAIT },
        .workers = 2,
        .connections = 2,
        .threads = 1,
        .requests = ops,
        .metric = "conf.http.load",
    })) |report| {
        var l = report;
        defer l.deinit();
        expect("http.run-load", l.raw.ok == ops and l.raw.failed == 0);
    } else |e| expect("http.run-load", e);
}

fn receiveIs(ws: rigor.WebSocket, kind: @TypeOf(@as(rigor.Message, undefined).kind), want: []const u8) rigor.Error!bool {
    var m = try ws.receive(WAIT);
    defer m.deinit();
    return m.kind == kind and std.mem.eql(u8, m.data, want);
}

fn websocket(base: []const u8, ops: u64) void {
    var url_buf: [128]u8 = undefined;
    const url = std.fmt.bufPrint(&url_buf, "ws://{s}/ws/echo", .{base["http://".len..]}) catch unreachable;
    if (rigor.WebSocket.connect(url, .{ .timeout_ns = WAIT })) |conn| {
        var ws = conn;
        defer ws.drop();
        ws.sendText("conformance") catch {};
        expect("websocket.echo", receiveIs(ws, .text, "conformance"));
        ws.sendBinary(&.{ 1, 2, 3 }) catch {};
        expect("websocket.binary", receiveIs(ws, .binary, &.{ 1, 2, 3 }));
        const ping = rigor.Histogram.latency("conf.ws.ping");
        expect("websocket.ping", if (ws.ping(ping, WAIT)) |_| true else |e| e);
        expect("websocket.close", if (ws.close(1000, "done", WAIT)) |code| code == 1000 else |e| e);
    } else |e| {
        for ([_][]const u8{ "websocket.echo", "websocket.binary", "websocket.ping", "websocket.close" }) |name| expect(name, e);
    }
    if (rigor.WebSocket.connect("ws://192.0.2.1/", .{ .timeout_ns = 1000 * ms })) |conn| {
        var ws = conn;
        ws.drop();
        expectError("websocket.denied", error.Denied, @as(rigor.Error!void, {}));
    } else |e| expectError("websocket.denied", error.Denied, @as(rigor.Error!void, e));
    if (rigor.WebSocket.runLoad(.{
        .url = url,
        .connections = 2,
        .messages = ops,
        .template = "{\"id\":\"{id}\"}",
        .text = true,
        .id_placeholder = "{id}",
        .id_json_field = "id",
        .grace_ns = 2000 * ms,
        .max_message_bytes = 65536,
        .metric = "conf.ws.load",
    })) |report| {
        var l = report;
        defer l.deinit();
        expect("websocket.run-load", l.raw.matched == l.raw.sent and l.raw.sent > 0 and l.raw.lost == 0);
    } else |e| expect("websocket.run-load", e);
}

fn readIs(d: rigor.Dir, path: []const u8, into: ?rigor.Histogram, want: []const u8) rigor.Error!bool {
    var b = try d.read(path, into);
    defer b.deinit();
    return std.mem.eql(u8, b.data, want);
}

fn readContains(d: rigor.Dir, path: []const u8, needle: []const u8) rigor.Error!bool {
    var b = try d.read(path, null);
    defer b.deinit();
    return std.mem.indexOf(u8, b.data, needle) != null;
}

fn listHas(d: rigor.Dir, present: []const [2][]const u8, absent: []const []const u8) rigor.Error!bool {
    var l = try d.list(".");
    defer l.deinit();
    for (present) |p| {
        const kind: rigor.EntryKind = if (std.mem.eql(u8, p[1], "dir")) .directory else .file;
        if (!l.has(p[0], kind)) return false;
    }
    for (absent) |name| {
        if (l.has(name, .file)) return false;
    }
    return true;
}

fn files(ops: u64) void {
    var d = rigor.Dir.scratch() catch {
        return rigor.check("fs.scratch", false, "{s}", .{rigor.errorMessage()});
    };
    defer d.close();
    const h = rigor.Histogram.latency("conf.fs");
    _ = d.write("a.txt", "hello", false, h) catch null;
    expect("fs.read", readIs(d, "a.txt", h, "hello"));
    _ = d.append("a.txt", "!", false, null) catch null;
    expect("fs.append", readIs(d, "a.txt", null, "hello!"));
    d.mkdir("sub") catch {};
    _ = d.writeFill("sub/b.bin", 4096, false, null) catch null;
    expect("fs.list", listHas(d, &.{ .{ "a.txt", "file" }, .{ "sub", "dir" } }, &.{}));
    _ = d.rename("a.txt", "c.txt", null) catch 0;
    _ = d.delete("c.txt", null) catch 0;
    expect("fs.rename-delete", listHas(d, &.{}, &.{ "a.txt", "c.txt" }));
    _ = d.dump("rows.csv", &.{ "name", "value" }, &.{ &.{ "a", "1" }, &.{ "b", "2" } }, .csv, false, null) catch null;
    expect("fs.dump", readContains(d, "rows.csv", "a,1"));
    expectError("fs.escape-denied", error.Denied, readIs(d, "../outside", null, ""));
    if (rigor.Dir.open("nowhere")) |other| {
        var o = other;
        o.close();
        expectError("fs.open-denied", error.Denied, @as(rigor.Error!void, {}));
    } else |e| expectError("fs.open-denied", error.Denied, @as(rigor.Error!void, e));
    if (d.runIoLoad(.{
        .name = "conf.io",
        .workers = 2,
        .files_per_worker = 1,
        .file_size = 65536,
        .block_size = 4096,
        .read_percent = 50,
        .fsync = .never,
        .random = false,
        .ops = ops * 10,
    })) |report| {
        var r = report;
        defer r.deinit();
        expect("fs.io-load", r.raw.errors == 0 and r.raw.reads + r.raw.writes == ops * 10);
    } else |e| expect("fs.io-load", e);
}

fn memory(child: ?rigor.Child) void {
    expect("memory.sample", if (rigor.sample(.host)) |u| u.rss > 0 else |e| e);
    if (child) |ch| {
        expect("memory.child", if (rigor.sample(.{ .child = ch })) |u| u.rss > 0 else |e| e);
    } else rigor.check("memory.child", false, "the service did not start", .{});
    expectError("memory.denied", error.Denied, rigor.sample(.{ .pid = 1 }));
    if (rigor.Watcher.start("conf.mem", .host, .rss, null)) |watcher| {
        var w = watcher;
        defer w.close();
        var k: u64 = 1;
        while (k <= 5) : (k += 1) _ = w.opsDone(k) catch null;
        if (w.verdict(.{})) |verdict| {
            var v = verdict;
            defer v.deinit();
            const series = w.series();
            defer rigor.freePoints(series);
            expect("memory.watcher", v.raw.samples >= 5 and series.len >= 5);
        } else |e| expect("memory.watcher", e);
        w.stop();
    } else |e| expect("memory.watcher", e);
}

pub fn run(params: rigor.Params) !void {
    const ops = try params.int("ops");
    rigor.check("params.ops", ops == 20, "ops = {d}", .{ops});
    clockAndMetrics();
    reportCalls();
    redis(ops);
    var base_buf: [64]u8 = undefined;
    var base_len: usize = 0;
    var child = process(&base_buf, &base_len);
    if (child != null) {
        http(base_buf[0..base_len], ops);
        websocket(base_buf[0..base_len], ops);
    }
    files(ops);
    memory(child);
    if (child) |*ch| {
        var exit = ch.kill(2000 * ms);
        defer exit.deinit();
        rigor.check("process.kill", true, "exit code {?d}", .{exit.code()});
        ch.close();
    }
    rigor.finding(.info, "conformance complete", "", "");
}
