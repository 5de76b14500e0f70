//! {{name}}: SET then GET `ops` keys against Redis, each round trip timed by
//! the host into the `set` and `get` histograms; checks that every GET
//! returns what SET wrote and that GET stays fast.

const std = @import("std");
const rigor = @import("rigor");

comptime {
    rigor.exportScenario(@This());
}
/// Panics go to the scenario's log; the scenario ends as errored.
pub const panic = rigor.panic;

pub fn describe(info: rigor.Info) void {
    info.describe("{{name}}", "SET then GET round trips against the default Redis target");
    info.param("ops", "100", "timed SETs and GETs");
    info.param("key-prefix", "rigor:{{name}}:", "prefix of every key written (removed at the end)");
}

pub fn run(params: rigor.Params) !void {
    const ops = try params.int("ops");
    const prefix = try params.str("key-prefix");
    var redis = try rigor.Redis.open("default");
    defer redis.close();
    const set_latency = rigor.Histogram.latency("set");
    const get_latency = rigor.Histogram.latency("get");
    var key_buf: [256]u8 = undefined;
    var value_buf: [32]u8 = undefined;
    var i: u64 = 0;
    while (i < ops) : (i += 1) {
        const key = try std.fmt.bufPrint(&key_buf, "{s}{d}", .{ prefix, i });
        const value = try std.fmt.bufPrint(&value_buf, "value-{d}", .{i});
        _ = try redis.set(key, value, set_latency);
    }
    var wrong: u64 = 0;
    i = 0;
    while (i < ops) : (i += 1) {
        const key = try std.fmt.bufPrint(&key_buf, "{s}{d}", .{ prefix, i });
        const value = try std.fmt.bufPrint(&value_buf, "value-{d}", .{i});
        var got = try redis.get(key, get_latency) orelse {
            wrong += 1;
            continue;
        };
        defer got.deinit();
        if (!std.mem.eql(u8, got.data, value)) wrong += 1;
    }
    rigor.check("get returns what set wrote", wrong == 0, "{d} of {d} GETs differed", .{ wrong, ops });
    _ = try rigor.threshold("get", "p(99) < 100ms");
    const removed = try redis.clearPrefix(prefix);
    rigor.log.info("removed {d} keys under {s}", .{ removed, prefix });
}
