//! Languages bench guest (Zig): `calls` cheap host calls (`clock.now`), or
//! with `gets`, that many timed GETs of one 100 B value, the loop's time
//! set as the gauge `loop.elapsed` (ns).

const std = @import("std");
const rigor = @import("rigor");

comptime {
    rigor.exportScenario(@This());
}
pub const panic = rigor.panic;

pub fn describe(info: rigor.Info) void {
    info.describe("bench-lang-zig", "Guest-to-host call overhead");
    info.param("calls", "0", "clock.now calls");
    info.param("gets", "0", "timed Redis GETs");
}

fn getLoop(gets: u64) !void {
    var r = try rigor.Redis.open("default");
    defer r.close();
    const value: [100]u8 = @splat('x');
    _ = try r.set("key:0", &value, null);
    const h = rigor.Histogram.latency("get");
    const t0 = rigor.nowNs();
    var i: u64 = 0;
    while (i < gets) : (i += 1) {
        var v = (try r.get("key:0", h)) orelse continue;
        v.deinit();
    }
    rigor.gauge("loop.elapsed", @floatFromInt(rigor.nowNs() - t0), .nanoseconds);
}

pub fn run(params: rigor.Params) !void {
    const calls = try params.int("calls");
    // Given `gets` (even 0), the connection opens: run(gets=0) costs
    // everything but the GETs, which the bench subtracts.
    if (params.get("gets") != null) return getLoop(try params.int("gets"));
    var i: u64 = 0;
    while (i < calls) : (i += 1) std.mem.doNotOptimizeAway(rigor.nowNs());
}
