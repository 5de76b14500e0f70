"""HTTP/1.1 and HTTP/2 over `http://` and `https://` through the host,
timed natively phase by phase (resolve, connect, TLS, first byte, last
byte), and native loads in the closed and open models. URLs must name a
host the catalog grants (`http = ["127.0.0.1"]`), else `ProbeError`
`denied`.

    from rigor import http

    r = http.get(f"{base}/health", into=latency)
    rigor.check("health answers 200", r.status == 200, f"got {r.status}")
    report = http.Load(http.Request("GET", f"{base}/items"), "items", workers=8, requests=1000).run()
    rigor.threshold("items", "p(99) < 50ms")
"""

from __future__ import annotations

import json as _json
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from wit_world.imports import http as _http

from rigor import Histogram, _bytes, _hist, _ns, _probe

__all__ = [
    "HttpVersion", "Load", "LoadReport", "Request", "Response", "get", "post", "run_load", "send",
]

HttpVersion = _http.HttpVersion
LoadReport = _http.LoadReport

Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]


def _headers(headers: Headers) -> List[Tuple[str, str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return [(str(k), str(v)) for k, v in pairs]


def _version(version: Union[str, HttpVersion, None]) -> Optional[HttpVersion]:
    if version is None or isinstance(version, HttpVersion):
        return version
    try:
        return HttpVersion[str(version).upper().replace("/", "").replace(".1", "1")]
    except KeyError:
        raise ValueError(f"HTTP version `{version}` is not http1 or http2") from None


class Request:
    """One request. `headers` is a dict or a list of pairs (`Host`,
    `Content-Length` and `Connection` are set by the host); `body` bytes or
    text; `json=` an object sent as JSON with its content type; `timeout` in
    seconds (default 10); `version` `"http1"` or `"http2"` (default: the
    server chooses over TLS, HTTP/1.1 otherwise); `max_redirects` redirects
    followed (each hop granted like the first); `client_identity` the name of
    a client certificate the catalog grants."""

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: Headers = None,
        body: Union[str, bytes] = b"",
        json: Any = None,
        timeout: Optional[float] = None,
        version: Union[str, HttpVersion, None] = None,
        max_redirects: int = 0,
        client_identity: Optional[str] = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = _headers(headers)
        self.body = _bytes(body)
        if json is not None:
            self.body = _json.dumps(json).encode()
            if not any(k.lower() == "content-type" for k, _ in self.headers):
                self.headers.append(("content-type", "application/json"))
        self.timeout = timeout
        self.version = _version(version)
        self.max_redirects = max_redirects
        self.client_identity = client_identity

    def _wit(self) -> _http.Request:
        return _http.Request(
            method=self.method,
            url=self.url,
            headers=list(self.headers),
            body=self.body,
            timeout_ns=_ns(self.timeout),
            version=self.version,
            max_redirects=int(self.max_redirects),
            client_identity=self.client_identity,
        )

    def send(self, *, into: Optional[Histogram] = None) -> "Response":
        """Sends it on a new connection, timed; `into` records the total
        time. A 4xx or 5xx status is a response; `ProbeError` is `connection`,
        `timeout`, `denied` or `invalid`."""
        return Response(_probe(_http.send, self._wit(), _hist(into)))


class Response:
    """A response with the time it took: the contract's fields (`status`,
    `headers`, `body` cut at 1 MiB, `body_bytes`, `version`, `url`,
    `redirects`, `dns_ns`, `connect_ns`, `tls_ns`, `first_byte_ns`,
    `total_ns`) plus `text`, `json()` and `header(name)`."""

    def __init__(self, raw: _http.Response) -> None:
        self.raw = raw

    def __getattr__(self, name: str):
        return getattr(self.raw, name)

    @property
    def text(self) -> str:
        """The body as UTF-8 (invalid bytes replaced)."""
        return bytes(self.raw.body).decode(errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.text)

    def header(self, name: str) -> Optional[str]:
        """The first header called `name` (any case)."""
        for k, v in self.raw.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def is_http2(self) -> bool:
        return self.raw.version == HttpVersion.HTTP2

    def __repr__(self) -> str:
        return f"Response(status={self.raw.status}, url={self.raw.url!r}, total_ns={self.raw.total_ns})"


def send(method: str, url: str, *, into: Optional[Histogram] = None, **options) -> Response:
    """`Request(method, url, **options).send(into=into)`."""
    return Request(method, url, **options).send(into=into)


def get(url: str, *, into: Optional[Histogram] = None, **options) -> Response:
    """`GET url`."""
    return send("GET", url, into=into, **options)


def post(url: str, body: Union[str, bytes] = b"", *, into: Optional[Histogram] = None, **options) -> Response:
    """`POST url` with `body` (or `json=`)."""
    return send("POST", url, body=body, into=into, **options)


class Load:
    """A native load of identical requests from concurrent workers, recorded
    into the latency histogram `metric` (plus `<metric>.first-byte`,
    `<metric>.connect`, `<metric>.tls` and the gauges `<metric>.throughput`,
    `<metric>.error-rate`). Defaults: 1 worker, closed model, each worker its
    own connection, half the cores as threads; give `requests` or
    `duration` (seconds). `rate` (requests/s) makes it an open-model load,
    latency measured from each intended send time."""

    def __init__(
        self,
        request: Request,
        metric: str,
        *,
        workers: int = 1,
        connections: int = 0,
        threads: int = 0,
        requests: int = 0,
        duration: Optional[float] = None,
        rate: Optional[float] = None,
    ) -> None:
        self.request = request
        self.metric = metric
        self.workers = workers
        self.connections = connections
        self.threads = threads
        self.requests = requests
        self.duration = duration
        self.rate = rate

    def spec(self) -> _http.LoadSpec:
        """The contract's `load-spec` this load sends."""
        return _http.LoadSpec(
            request=self.request._wit(),
            workers=int(self.workers),
            connections=int(self.connections),
            threads=int(self.threads),
            requests=int(self.requests),
            duration_ns=_ns(self.duration),
            rate=None if self.rate is None else float(self.rate),
            metric=self.metric,
        )

    def run(self) -> LoadReport:
        """Runs the load; `ProbeError` `denied` for an ungranted host,
        `invalid` for a spec that cannot run."""
        return _probe(_http.run_load, self.spec())


def run_load(request: Request, metric: str, **options) -> LoadReport:
    """`Load(request, metric, **options).run()`."""
    return Load(request, metric, **options).run()
