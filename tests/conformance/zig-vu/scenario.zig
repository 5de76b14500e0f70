//! The conformance VU scenario (tests/conformance/SPEC.md) through the Zig
//! SDK: setup data, the VU context, pooled Redis, teardown.

const std = @import("std");
const rigor = @import("rigor");

comptime {
    rigor.exportVuScenario(@This());
}
pub const panic = rigor.panic;

pub fn describe(info: rigor.Info) void {
    info.describe("conformance-vu", "The VU world through the SDK");
}

pub fn setup(_: rigor.Params) ![]const u8 {
    var r = try rigor.Redis.open("default");
    defer r.close();
    _ = try r.set("conf:vu", "ready", null);
    return "conf-data";
}

pub fn iteration(vu: rigor.Vu, data: []const u8) !void {
    rigor.check("vu.data", std.mem.eql(u8, data, "conf-data"), "{d} bytes", .{data.len});
    rigor.check("vu.context", vu.vu >= 1 and vu.vu <= 2, "vu {d}", .{vu.vu});
    const h = rigor.Histogram.latency("conf.vu.get");
    var r = try rigor.Redis.openPooled("default");
    defer r.close();
    var got = try r.get("conf:vu", h) orelse return rigor.check("vu.redis", false, "missing", .{});
    defer got.deinit();
    rigor.check("vu.redis", std.mem.eql(u8, got.data, "ready"), "", .{});
    rigor.counterAdd("conf.vu.iterations", 1);
}

pub fn teardown(_: []const u8) !void {
    var r = try rigor.Redis.open("default");
    defer r.close();
    const deleted = try r.del(&.{"conf:vu"}, null);
    rigor.check("vu.teardown", deleted == 1, "deleted {d}", .{deleted});
}
