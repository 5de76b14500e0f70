"""WebSocket (`ws://`, `wss://`) through the host: connections timed per
phase (resolve, TCP, TLS, upgrade), text and binary messages, ping round
trips, close codes, and a native load that matches every answer to its
message by a correlation id. A WebSocket is granted by the `http` grant of
its host (`http = ["127.0.0.1"]`).

    from rigor.websocket import Load, WebSocket

    with WebSocket.connect(f"ws://127.0.0.1:{port}/ws/echo") as ws:
        ws.send_text("hello")
        rigor.check("echoed", ws.receive_text(timeout=1) == "hello")
        ws.close(1000, "done")
    report = Load(f"ws://127.0.0.1:{port}/ws/echo", "echo", connections=8, messages=100).run()
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple, Union

from wit_world.imports import websocket as _ws

from rigor import Histogram, _bytes, _hist, _ns, _probe

__all__ = [
    "Binary", "Closed", "ConnectTiming", "Incoming", "Load", "LoadReport", "Text", "WebSocket",
    "run_load",
]

Incoming = _ws.Incoming
Text = _ws.Incoming_Text
Binary = _ws.Incoming_Binary
Closed = _ws.Incoming_Closed
ConnectTiming = _ws.ConnectTiming
LoadReport = _ws.LoadReport


class WebSocket:
    """An open WebSocket connection. A context manager: when the block ends
    the socket is dropped without a close handshake (call `close` for a
    clean one)."""

    def __init__(self, inner: _ws.Connection) -> None:
        self._inner = inner

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        headers: Union[Mapping[str, str], Sequence[Tuple[str, str]], None] = None,
        timeout: Optional[float] = None,
        max_message_bytes: int = 0,
    ) -> "WebSocket":
        """Resolves, connects, negotiates TLS for `wss://` and upgrades, each
        phase timed (`timing`). `timeout` in seconds (default 10);
        `max_message_bytes` 0 means 1 MiB. `ProbeError`: `denied`, `invalid`,
        `connection`, `timeout`, or `server` (the upgrade was refused)."""
        pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
        options = _ws.ConnectOptions([(str(k), str(v)) for k, v in pairs], _ns(timeout), int(max_message_bytes))
        return cls(_probe(_ws.Connection.connect, url, options))

    def _c(self) -> _ws.Connection:
        if self._inner is None:
            raise ValueError("this WebSocket is closed")
        return self._inner

    @property
    def timing(self) -> ConnectTiming:
        """Where the connect's time went (`dns_ns`, `connect_ns`, `tls_ns`,
        `upgrade_ns`, `total_ns`)."""
        return self._c().timing()

    def send_text(self, text: str) -> None:
        _probe(self._c().send_text, text)

    def send_binary(self, data: Union[bytes, str]) -> None:
        _probe(self._c().send_binary, _bytes(data))

    def send(self, message: Union[str, bytes]) -> None:
        """A text message for `str`, a binary one for bytes."""
        if isinstance(message, str):
            self.send_text(message)
        else:
            self.send_binary(message)

    def receive(self, *, timeout: Optional[float] = None) -> Incoming:
        """The next message or the peer's close: `Text`, `Binary` (payload in
        `.value`) or `Closed` (`.value.code`, `.value.reason`). Waits at most
        `timeout` seconds (default 10), then `ProbeError` `timeout`."""
        return _probe(self._c().receive, _ns(timeout))

    def receive_text(self, *, timeout: Optional[float] = None) -> str:
        """The next message, which must be text; else `ValueError`."""
        got = self.receive(timeout=timeout)
        if isinstance(got, Text):
            return got.value
        if isinstance(got, Binary):
            raise ValueError(f"expected a text message, got {len(got.value)} binary bytes")
        raise ValueError(f"expected a text message, the peer closed with {got.value.code} {got.value.reason}")

    def ping(self, *, into: Optional[Histogram] = None, timeout: Optional[float] = None) -> int:
        """Sends a ping and waits for its pong; returns the round trip in ns
        (recorded into `into` when given)."""
        return _probe(self._c().ping, _hist(into), _ns(timeout))

    def close(self, code: int = 1000, reason: str = "", *, timeout: Optional[float] = None) -> int:
        """The close handshake with `code` and `reason`; returns the peer's
        close code (1005 when it gave none)."""
        return _probe(self._c().close, int(code), reason, _ns(timeout))

    def drop(self) -> None:
        """Releases the connection without a handshake; idempotent."""
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.__exit__(None, None, None)

    def __enter__(self) -> "WebSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.drop()


class Load:
    """A native load: `connections` connections each sending messages with a
    correlation id, answers matched by that id; round trips recorded into
    the histogram `metric` (plus `<metric>.connect` and the gauges
    `<metric>.sent-rate`, `<metric>.received-rate`, `<metric>.lost`).
    Defaults: 1 connection, closed model, the text template
    `{"id":"{id}"}` with the id in the JSON field `id`; give `messages`
    (per connection) or `duration` (seconds). `rate` (messages/s per
    connection) makes it an open-model load. `id_bytes=(offset, length)`
    finds the id at a byte range instead of `json_id`."""

    def __init__(
        self,
        url: str,
        metric: str,
        *,
        connections: int = 1,
        messages: int = 0,
        duration: Optional[float] = None,
        rate: Optional[float] = None,
        template: Union[str, bytes] = '{"id":"{id}"}',
        text: Optional[bool] = None,
        placeholder: str = "{id}",
        json_id: str = "id",
        id_bytes: Optional[Tuple[int, int]] = None,
        grace: Optional[float] = None,
        max_message_bytes: int = 0,
    ) -> None:
        self.url = url
        self.metric = metric
        self.connections = connections
        self.messages = messages
        self.duration = duration
        self.rate = rate
        self.template = template
        self.text = isinstance(template, str) if text is None else text
        self.placeholder = placeholder
        self.json_id = json_id
        self.id_bytes = id_bytes
        self.grace = grace
        self.max_message_bytes = max_message_bytes

    def spec(self) -> _ws.LoadSpec:
        """The contract's `load-spec` this load sends."""
        location = (
            _ws.IdLocation_ByteRange((int(self.id_bytes[0]), int(self.id_bytes[1])))
            if self.id_bytes is not None
            else _ws.IdLocation_JsonField(self.json_id)
        )
        return _ws.LoadSpec(
            url=self.url,
            connections=int(self.connections),
            messages=int(self.messages),
            duration_ns=_ns(self.duration),
            rate=None if self.rate is None else float(self.rate),
            template=_bytes(self.template),
            text=bool(self.text),
            id_placeholder=self.placeholder,
            id_location=location,
            grace_ns=_ns(self.grace),
            max_message_bytes=int(self.max_message_bytes),
            metric=self.metric,
        )

    def run(self) -> LoadReport:
        """Runs the load; `ProbeError` `denied` for an ungranted host,
        `invalid` for bad numbers or a template without the placeholder."""
        return _probe(_ws.run_load, self.spec())


def run_load(url: str, metric: str, **options) -> LoadReport:
    """`Load(url, metric, **options).run()`."""
    return Load(url, metric, **options).run()
