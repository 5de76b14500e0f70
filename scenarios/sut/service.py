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
  anything else       404

On SIGTERM it stops accepting requests, prints `stopped` and exits with 0.
"""

import json
import os
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
