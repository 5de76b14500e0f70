#!/usr/bin/env python3
"""A small HTTP service to practise on: the system under test of the
`production-simulation` and `service-integration` scenarios.

Standard library only. Configured through its environment:

  PORT                      port to listen on, on 127.0.0.1 (required)
  APP_ENV                   `development` (default) or `production`
  SECRET_KEY                required when APP_ENV=production; without it the
                            service prints a configuration error on stderr and
                            exits with code 1 (a failed production start)
  WARMUP_SECONDS            seconds during which /health answers 503 before
                            the service is ready (default 0); `never` keeps it
                            unready for ever (a service that never becomes ready)
  LEAK_BYTES_PER_REQUEST    bytes kept for ever per request served (default 0),
                            a deliberate memory leak for leak detection
  TLS_CERT, TLS_KEY         PEM certificate chain and key: when both are set
                            the service speaks HTTPS (HTTP/1.1 over ALPN)

Endpoints:
  GET  /health        200 {"status": "ok"} once ready, 503 before
  GET  /items         200 the list of items
  POST /items         201 the stored item (JSON object body); 400 on bad JSON
  GET  /items/<id>    200 the item, 404 if unknown
  POST /echo          200 the request body, as sent
  GET  /error         500, always
  GET  /ws/echo       WebSocket (RFC 6455): every text or binary message is
                      sent back as it came
  GET  /ws/chat?room=R  WebSocket chat room R (default `main`): every message
                      is broadcast to every member, the sender included; on
                      each join and leave every member gets the text
                      {"type": "join"|"leave", "members": N}
  anything else       404

On SIGTERM it stops accepting requests, prints `stopped` and exits with 0.
"""

import base64
import hashlib
import json
import os
import struct
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def fail(message):
    print(f"config error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def config():
    port = os.environ.get("PORT", "")
    if not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"PORT must be a port number, got {port!r}")
    env = os.environ.get("APP_ENV", "development")
    if env not in ("development", "production"):
        fail(f"APP_ENV must be development or production, got {env!r}")
    if env == "production" and not os.environ.get("SECRET_KEY"):
        fail("SECRET_KEY must be set when APP_ENV=production")
    warmup = os.environ.get("WARMUP_SECONDS", "0")
    if warmup == "never":
        ready_at = float("inf")
    else:
        try:
            ready_at = time.monotonic() + float(warmup)
        except ValueError:
            fail(f"WARMUP_SECONDS must be a number or `never`, got {warmup!r}")
    try:
        leak = int(os.environ.get("LEAK_BYTES_PER_REQUEST", "0"))
    except ValueError:
        fail("LEAK_BYTES_PER_REQUEST must be an integer")
    return int(port), env, ready_at, max(leak, 0)


PORT, APP_ENV, READY_AT, LEAK = config()
ITEMS = {}
ITEMS_LOCK = threading.Lock()
LEAKED = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rigor-sut/1"
    # Headers and body are separate writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK (~40 ms) on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass  # one line per request would drown the output tail

    def setup(self):
        # With TLS the handshake runs here, in the connection's thread, so a
        # slow or failing client never blocks the accept loop.
        self.tls_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except OSError as e:
                self.tls_failed = True
                print(f"TLS handshake failed: {e}", file=sys.stderr, flush=True)
        super().setup()

    def handle(self):
        if not self.tls_failed:
            super().handle()

    def reply(self, status, body, content_type="application/json"):
        if LEAK:
            LEAKED.append(bytearray(LEAK))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        if time.monotonic() < READY_AT:
            return self.reply(503, {"status": "warming up"})
        if self.path.startswith("/ws/"):
            return websocket_route(self)
        if self.path == "/health":
            return self.reply(200, {"status": "ok", "env": APP_ENV})
        if self.path == "/items":
            with ITEMS_LOCK:
                return self.reply(200, {"items": list(ITEMS.values())})
        if self.path.startswith("/items/"):
            key = self.path[len("/items/"):]
            with ITEMS_LOCK:
                item = ITEMS.get(key)
            if item is None:
                return self.reply(404, {"error": f"no item {key}"})
            return self.reply(200, item)
        if self.path == "/error":
            return self.reply(500, {"error": "deliberate failure"})
        return self.reply(404, {"error": f"no route {self.path}"})

    def do_POST(self):
        body = self.body()
        if time.monotonic() < READY_AT:
            return self.reply(503, {"status": "warming up"})
        if self.path == "/echo":
            return self.reply(200, body, "application/octet-stream")
        if self.path == "/items":
            try:
                item = json.loads(body)
                if not isinstance(item, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                return self.reply(400, {"error": f"body must be a JSON object: {e}"})
            with ITEMS_LOCK:
                item["id"] = str(len(ITEMS) + 1)
                ITEMS[item["id"]] = item
            return self.reply(201, item)
        return self.reply(404, {"error": f"no route {self.path}"})


# --- WebSocket (RFC 6455) -------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Largest message (all fragments together) the service accepts; past it the
# connection is closed with 1009 (message too big).
WS_MAX_MESSAGE = 1 << 20
WS_TEXT, WS_BINARY, WS_CONTINUATION = 0x1, 0x2, 0x0
WS_CLOSE, WS_PING, WS_PONG = 0x8, 0x9, 0xA
CHAT_ROOMS = {}
CHAT_LOCK = threading.Lock()


class WsClosed(Exception):
    """The connection is over (close handshake done, or the peer vanished)."""


class WsProtocolError(Exception):
    """The peer broke the protocol; `code` is the close code to send."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


class WebSocket:
    """The server side of one upgraded connection: reads masked client
    frames (reassembling fragments), answers pings, does the close
    handshake, and sends unmasked frames under a lock (a chat room writes
    from other members' threads)."""

    def __init__(self, rfile, wfile):
        self.rfile = rfile
        self.wfile = wfile
        self.write_lock = threading.Lock()
        self.close_sent = False

    def read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) < n:
            raise WsClosed()
        return data

    def read_frame(self):
        b0, b1 = self.read_exact(2)
        fin, opcode = bool(b0 & 0x80), b0 & 0x0F
        if b0 & 0x70:
            raise WsProtocolError(1002, "reserved bits set")
        if not b1 & 0x80:
            raise WsProtocolError(1002, "client frames must be masked")
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.read_exact(8))
        if opcode >= 0x8 and (not fin or length > 125):
            raise WsProtocolError(1002, "bad control frame")
        if length > WS_MAX_MESSAGE:
            raise WsProtocolError(1009, "frame too big")
        mask = self.read_exact(4)
        payload = bytearray(self.read_exact(length))
        for i in range(length):
            payload[i] ^= mask[i % 4]
        return fin, opcode, bytes(payload)

    def send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        with self.write_lock:
            if self.close_sent:
                raise WsClosed()
            if opcode == WS_CLOSE:
                self.close_sent = True
            self.wfile.write(header + payload)

    def close(self, code, reason=""):
        try:
            self.send(WS_CLOSE, struct.pack("!H", code) + reason.encode()[:123])
        except (WsClosed, OSError):
            pass

    def receive(self):
        """The next message as (opcode, payload); raises WsClosed at the end."""
        kind, parts, size = None, [], 0
        while True:
            fin, opcode, payload = self.read_frame()
            if opcode == WS_PING:
                self.send(WS_PONG, payload)
                continue
            if opcode == WS_PONG:
                continue
            if opcode == WS_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                if code is None:
                    self.close(1000)
                else:
                    # Echo the peer's code, as RFC 6455 §5.5.1 suggests.
                    self.close(code)
                raise WsClosed()
            if opcode in (WS_TEXT, WS_BINARY):
                if kind is not None:
                    raise WsProtocolError(1002, "new message inside a fragmented one")
                kind = opcode
            elif opcode == WS_CONTINUATION:
                if kind is None:
                    raise WsProtocolError(1002, "continuation without a message")
            else:
                raise WsProtocolError(1002, f"unknown opcode {opcode}")
            size += len(payload)
            if size > WS_MAX_MESSAGE:
                raise WsProtocolError(1009, "message too big")
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                if kind == WS_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise WsProtocolError(1007, "text is not UTF-8")
                return kind, data


def websocket_route(handler):
    """Upgrades the request and serves /ws/echo or /ws/chat until the close."""
    path, _, query = handler.path.partition("?")
    if path not in ("/ws/echo", "/ws/chat"):
        return handler.reply(404, {"error": f"no route {handler.path}"})
    key = handler.headers.get("Sec-WebSocket-Key", "")
    if (
        "websocket" not in handler.headers.get("Upgrade", "").lower()
        or "upgrade" not in handler.headers.get("Connection", "").lower()
        or handler.headers.get("Sec-WebSocket-Version") != "13"
        or not key
    ):
        return handler.reply(400, {"error": "expected a WebSocket upgrade (version 13)"})
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.end_headers()
    handler.wfile.flush()
    handler.close_connection = True
    ws = WebSocket(handler.rfile, handler.wfile)
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    try:
        if path == "/ws/echo":
            while True:
                ws.send(*ws.receive())
        else:
            chat(ws, params.get("room") or "main")
    except WsProtocolError as e:
        ws.close(e.code, str(e))
    except (WsClosed, OSError):
        pass


def chat_broadcast(room, opcode, payload):
    with CHAT_LOCK:
        members = list(CHAT_ROOMS.get(room, ()))
    for member in members:
        try:
            member.send(opcode, payload)
        except (WsClosed, OSError):
            pass


def chat_notice(room, kind):
    with CHAT_LOCK:
        n = len(CHAT_ROOMS.get(room, ()))
    notice = json.dumps({"type": kind, "members": n}).encode()
    chat_broadcast(room, WS_TEXT, notice)


def chat(ws, room):
    with CHAT_LOCK:
        CHAT_ROOMS.setdefault(room, []).append(ws)
    try:
        chat_notice(room, "join")
        while True:
            chat_broadcast(room, *ws.receive())
    finally:
        with CHAT_LOCK:
            CHAT_ROOMS[room].remove(ws)
            if not CHAT_ROOMS[room]:
                del CHAT_ROOMS[room]
        chat_notice(room, "leave")


def main():
    # The default backlog of 5 drops connections from concurrent clients.
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    cert, key = os.environ.get("TLS_CERT"), os.environ.get("TLS_KEY")
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.set_alpn_protocols(["http/1.1"])
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    elif cert or key:
        fail("TLS_CERT and TLS_KEY go together: set both for HTTPS, or neither")

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    tls = " over TLS" if cert and key else ""
    print(f"listening on 127.0.0.1:{PORT} ({APP_ENV}){tls}", flush=True)
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
