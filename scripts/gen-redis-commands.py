#!/usr/bin/env python3
"""Generates host/src/probes/redis/policy/table.rs, the Redis command table
of the Redis command policy, from a live redis-server.

It starts the installed `redis-server` on a free loopback port (persistence
off, its own temporary directory), reads `COMMAND` (every command with its
arity, flags, ACL categories, key specifications and subcommands), `ACL CAT`
(the category names) and `INFO server` (the version), stops the server and
writes the Rust table, formatted with rustfmt.

    python3 scripts/gen-redis-commands.py [--redis-server PATH] [--out FILE]

The table must come from Redis itself: regenerate it with the Redis version
rigor is tested against, and commit the result. The unit test
`probes::redis::policy::commands::tests::table_matches_the_live_server`
compares a sample of entries against a live server to catch drift.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "host/src/probes/redis/policy/table.rs")

# Key-specification flags, as the Rust constants in `commands.rs` name them.
KEY_SPEC_FLAGS = {
    "RO": "RO",
    "RW": "RW",
    "OW": "OW",
    "RM": "RM",
    "access": "ACCESS",
    "update": "UPDATE",
    "insert": "INSERT",
    "delete": "DELETE",
    "not_key": "NOT_KEY",
    "incomplete": "INCOMPLETE",
    "variable_flags": "VARIABLE_FLAGS",
}


class Resp:
    """A minimal RESP2 client: enough for COMMAND, ACL CAT and INFO."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("redis-server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("redis-server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("unexpected RESP type %r" % kind)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(program, workdir):
    port = free_port()
    proc = subprocess.Popen(
        [
            program,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while True:
        try:
            conn = Resp(port)
            conn.call("PING")
            return proc, conn
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                sys.exit("redis-server did not start on port %d" % port)
            time.sleep(0.05)


def as_map(flat):
    """A RESP2 flattened map (`[k1, v1, k2, v2, ...]`) as a dict."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rust_strs(items):
    return "&[" + ", ".join(rust_str(i) for i in items) + "]"


def key_spec(spec):
    spec = as_map(spec)
    flags = [KEY_SPEC_FLAGS[f] for f in spec["flags"]]
    flags = " | ".join("ks::" + f for f in flags) if flags else "0"
    bs = as_map(spec["begin_search"])
    bs_spec = as_map(bs["spec"]) if bs["spec"] else {}
    if bs["type"] == "index":
        begin = "BeginSearch::Index(%d)" % bs_spec["index"]
    elif bs["type"] == "keyword":
        begin = "BeginSearch::Keyword { keyword: %s, startfrom: %d }" % (
            rust_str(bs_spec["keyword"]),
            bs_spec["startfrom"],
        )
    else:
        begin = "BeginSearch::Unknown"
    fk = as_map(spec["find_keys"])
    fk_spec = as_map(fk["spec"]) if fk["spec"] else {}
    if fk["type"] == "range":
        find = "FindKeys::Range { lastkey: %d, keystep: %d, limit: %d }" % (
            fk_spec["lastkey"],
            fk_spec["keystep"],
            fk_spec["limit"],
        )
    elif fk["type"] == "keynum":
        find = "FindKeys::Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % (
            fk_spec["keynumidx"],
            fk_spec["firstkey"],
            fk_spec["keystep"],
        )
    else:
        find = "FindKeys::Unknown"
    return "KeySpec { flags: %s, begin: %s, find: %s }" % (flags, begin, find)


def entries(commands):
    """Top-level commands sorted by name, each followed by its subcommands
    sorted by name: (name, arity, flags, categories, specs, parent, subs)."""
    out = []
    for c in sorted(commands, key=lambda c: c[0]):
        name, arity, flags, _first, _last, _step, cats = c[:7]
        specs, subs = c[8], c[9]
        parent = len(out)
        out.append([name, arity, flags, cats, specs, None, len(subs)])
        for s in sorted(subs, key=lambda s: s[0]):
            out.append([s[0], s[1], s[2], s[6], s[8], parent, 0])
            if s[9]:
                sys.exit("nested subcommands under %s are not supported" % s[0])
    return out


def render(version, categories, table):
    lines = []
    w = lines.append
    w("//! The Redis command table: every command and subcommand of Redis %s" % version)
    w("//! with its arity, flags, ACL categories and key specifications.")
    w("//!")
    w("//! GENERATED by `scripts/gen-redis-commands.py` from the `COMMAND`, `ACL CAT`")
    w("//! and `INFO server` replies of redis-server %s. Do not edit by hand:" % version)
    w("//! run `python3 scripts/gen-redis-commands.py` with the Redis rigor is tested")
    w("//! against and commit the result.")
    w("")
    w("use super::commands::{BeginSearch, Command, FindKeys, KeySpec, ks};")
    w("")
    w("/// The Redis version the table was read from.")
    w("pub const REDIS_VERSION: &str = %s;" % rust_str(version))
    w("")
    w("/// The ACL categories of that version, without the `@`.")
    w("pub const CATEGORIES: [&str; %d] = [%s];" % (
        len(categories), ", ".join(rust_str(c) for c in categories)))
    w("")
    w("/// Entries in [`COMMANDS`].")
    w("pub const COUNT: usize = %d;" % len(table))
    w("")
    w("/// Every command; each container command is followed by its subcommands.")
    w("pub static COMMANDS: [Command; COUNT] = [")
    for name, arity, flags, cats, specs, parent, subs in table:
        w("    Command {")
        w("        name: %s," % rust_str(name))
        w("        arity: %d," % arity)
        w("        flags: %s," % rust_strs(flags))
        w("        categories: %s," % rust_strs(cats))
        w("        key_specs: &[%s]," % ", ".join(key_spec(s) for s in specs))
        w("        parent: %s," % ("None" if parent is None else "Some(%d)" % parent))
        w("        subcommands: %d," % subs)
        w("    },")
    w("];")
    w("")
    w("/// The index in [`COMMANDS`] of a lowercase command name (`get`) or")
    w("/// `container|subcommand` name (`config|get`).")
    w("pub fn lookup(name: &[u8]) -> Option<u16> {")
    w("    Some(match name {")
    for i, entry in enumerate(table):
        w("        b%s => %d," % (rust_str(entry[0]), i))
    w("        _ => return None,")
    w("    })")
    w("}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-server", default="redis-server")
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()

    program = shutil.which(args.redis_server)
    if not program:
        sys.exit("%s not found: install redis-server" % args.redis_server)
    workdir = tempfile.mkdtemp(prefix="rigor-gen-redis-")
    proc, conn = start_server(program, workdir)
    try:
        info = conn.call("INFO", "server")
        version = next(
            l.split(":", 1)[1].strip()
            for l in info.splitlines()
            if l.startswith("redis_version:")
        )
        categories = sorted(conn.call("ACL", "CAT"))
        commands = conn.call("COMMAND")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    table = entries(commands)
    with open(args.out, "w") as f:
        f.write(render(version, categories, table))
    rustfmt = shutil.which("rustfmt")
    if rustfmt:
        subprocess.run([rustfmt, "--edition", "2024", args.out], check=True)
    print("wrote %s: %d entries from Redis %s" % (args.out, len(table), version))


if __name__ == "__main__":
    main()
