//! cache-baseline-zig: the cache baseline in Zig. Clears the scenario's key
//! prefix, then measures the cold path (GET misses) and the warm path (GET
//! hits after a SET) with single host-timed calls into histograms, and
//! reports the difference as gauges and a finding. Same metric names as the
//! Rust `cache-baseline`, so the two can be compared run by run.

const std = @import("std");
const rigor = @import("rigor");

comptime {
    rigor.exportScenario(@This());
}
pub const panic = rigor.panic;

pub fn describe(info: rigor.Info) void {
    info.describe("cache-baseline-zig", "Cold (miss) and warm (hit) GET latency after clearing the cache prefix, in Zig");
    info.param("ops", "1000", "timed GETs per path");
    info.param("value-size", "1KiB", "size of every cached value");
    info.param("max-hit-p99", "1ms", "p99 of a warm GET above which the scenario fails");
    info.param("key-prefix", "rigor:cache-baseline-zig:", "prefix of every key (cleared before and after)");
    info.param("target", "default", "Redis target to use");
}

pub fn run(params: rigor.Params) !void {
    const ops = try params.int("ops");
    if (ops < 1) return rigor.fail(error.Invalid, "`ops` must be at least 1", .{});
    const value_size = try params.size("value-size");
    const prefix = try params.str("key-prefix");
    const max_hit_p99 = try params.str("max-hit-p99");

    var redis = try rigor.Redis.open(try params.str("target"));
    defer redis.close();
    const cleared = try redis.clearPrefix(prefix);
    rigor.log.info("cleared {d} stale keys under `{s}`", .{ cleared, prefix });
    // Clean up on every path; a failure here must not hide the first error.
    defer if (redis.clearPrefix(prefix)) |removed| {
        rigor.log.info("removed {d} keys under `{s}`", .{ removed, prefix });
    } else |_| {};

    const len = std.math.cast(usize, value_size) orelse return rigor.fail(error.Invalid, "`value-size` {d} is too large", .{value_size});
    const value = try std.heap.c_allocator.alloc(u8, len);
    defer std.heap.c_allocator.free(value);
    @memset(value, 'v');

    const miss = rigor.Histogram.latency("get.miss");
    const fill = rigor.Histogram.latency("set.fill");
    const hit = rigor.Histogram.latency("get.hit");
    var key_buf: [256]u8 = undefined;

    // Cold path: nothing is cached, every GET misses.
    var unexpected: u64 = 0;
    var i: u64 = 0;
    while (i < ops) : (i += 1) {
        const key = try std.fmt.bufPrint(&key_buf, "{s}{d}", .{ prefix, i });
        if (try redis.get(key, miss)) |found| {
            var v = found;
            v.deinit();
            unexpected += 1;
        }
    }
    rigor.check("cold path misses", unexpected == 0, "{d} of {d} GETs found a value after the prefix was cleared", .{ unexpected, ops });

    // Warm path: populate, then every GET hits.
    i = 0;
    while (i < ops) : (i += 1) {
        const key = try std.fmt.bufPrint(&key_buf, "{s}{d}", .{ prefix, i });
        _ = try redis.set(key, value, fill);
    }
    var wrong: u64 = 0;
    i = 0;
    while (i < ops) : (i += 1) {
        const key = try std.fmt.bufPrint(&key_buf, "{s}{d}", .{ prefix, i });
        var got = try redis.get(key, hit) orelse {
            wrong += 1;
            continue;
        };
        defer got.deinit();
        if (!std.mem.eql(u8, got.data, value)) wrong += 1;
    }
    rigor.check("warm path hits", wrong == 0, "{d} of {d} GETs missed or returned a different value", .{ wrong, ops });

    const m = miss.summary();
    const h = hit.summary();
    rigor.gauge("hit-minus-miss.mean", h.mean - m.mean, .nanoseconds);
    rigor.gauge("hit-minus-miss.p99", @as(f64, @floatFromInt(h.p99)) - @as(f64, @floatFromInt(m.p99)), .nanoseconds);
    var detail_buf: [512]u8 = undefined;
    const us = struct {
        fn of(ns: f64) f64 {
            return ns / 1e3;
        }
        fn int(ns: u64) f64 {
            return @as(f64, @floatFromInt(ns)) / 1e3;
        }
    };
    const detail = std.fmt.bufPrint(&detail_buf, "miss: mean {d:.1} µs, p99 {d:.1} µs; hit ({d} B): mean {d:.1} µs, p99 {d:.1} µs; difference of means {d:.1} µs", .{
        us.of(m.mean), us.int(m.p99), value_size, us.of(h.mean), us.int(h.p99), us.of(h.mean - m.mean),
    }) catch "miss and hit distributions";
    rigor.finding(.info, "Warm hit versus cold miss", detail, "A hit costs the transfer of the value; compare with the miss to size values.");

    var expr_buf: [64]u8 = undefined;
    const verdict = try rigor.threshold("get.hit", try std.fmt.bufPrint(&expr_buf, "p(99) < {s}", .{max_hit_p99}));
    if (!verdict.passed) {
        const slow = std.fmt.bufPrint(&detail_buf, "p99 of a cache hit is {d:.0} µs (limit {s})", .{ us.of(verdict.observed), max_hit_p99 }) catch "p99 over the limit";
        rigor.finding(.medium, "Warm cache reads are slow", slow, "Check server load and value sizes; large values cost transfer time on every hit.");
    }
}
