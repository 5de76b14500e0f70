//! HTTP/1.1 and HTTP/2 over `http://` and `https://` through the host,
//! timed natively phase by phase (resolve, connect, TLS, first byte, last
//! byte), and concurrent loads in the closed and open models. URLs must name
//! a host granted in the catalog (`http = ["127.0.0.1"]`).
//!
//! ```no_run
//! use std::time::Duration;
//! use rigor_guest::prelude::*;
//!
//! # fn run() -> Result<()> {
//! let r = Request::get("http://127.0.0.1:8080/health").send()?;
//! check("health answers 200", r.status == 200, format!("got {}", r.status));
//! let report = HttpLoad::new(Request::get("http://127.0.0.1:8080/items"), "items")
//!     .workers(8)
//!     .requests(1000)
//!     .run()?;
//! threshold("items", "p(99) < 50ms")?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::bindings::rigor::scenario::http as wit;
use crate::metrics::Histogram;
use crate::{ProbeError, Result};

pub use wit::{HttpVersion, LoadReport, Response};

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn err(e: crate::bindings::rigor::scenario::types::ProbeError) -> crate::Error {
    ProbeError::from(e).into()
}

/// A request, built then sent.
#[derive(Debug, Clone)]
pub struct Request {
    inner: wit::Request,
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Self {
            inner: wit::Request {
                method: method.to_owned(),
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ns: 0,
                version: None,
                max_redirects: 0,
                client_identity: None,
            },
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// `POST url` with a body.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self::new("POST", url).body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = body.into();
        self
    }

    /// Limit for the whole exchange (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner.timeout_ns = ns(timeout).max(1);
        self
    }

    /// Speaks only HTTP/1.1.
    pub fn http1(mut self) -> Self {
        self.inner.version = Some(HttpVersion::Http1);
        self
    }

    /// Speaks only HTTP/2: ALPN `h2` on `https://` (an error if the server
    /// does not agree), prior knowledge (h2c) on `http://`. Without this or
    /// [`Request::http1`], `https://` lets the server choose and `http://`
    /// speaks HTTP/1.1.
    pub fn http2(mut self) -> Self {
        self.inner.version = Some(HttpVersion::Http2);
        self
    }

    /// Follows up to `hops` redirects (each hop's host must be granted);
    /// by default none is followed.
    pub fn follow_redirects(mut self, hops: u32) -> Self {
        self.inner.max_redirects = hops;
        self
    }

    /// Presents the client certificate the catalog grants as `name`
    /// (`client-certs = { name = { cert = "…", key = "…" } }`).
    pub fn client_identity(mut self, name: impl Into<String>) -> Self {
        self.inner.client_identity = Some(name.into());
        self
    }

    /// Sends it on a new connection. A 4xx or 5xx status is a response.
    pub fn send(&self) -> Result<Response> {
        wit::send(&self.inner, None).map_err(err)
    }

    /// Sends it and records the total time into `into`.
    pub fn send_timed(&self, into: &Histogram) -> Result<Response> {
        wit::send(&self.inner, Some(into.wit())).map_err(err)
    }
}

impl Response {
    /// The body as lossy UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Total time of the exchange.
    pub fn latency(&self) -> Duration {
        Duration::from_nanos(self.total_ns)
    }

    /// Whether the connection spoke HTTP/2.
    pub fn is_http2(&self) -> bool {
        self.version == HttpVersion::Http2
    }
}

/// A native load of identical requests from concurrent workers.
#[derive(Debug, Clone)]
pub struct HttpLoad {
    spec: wit::LoadSpec,
}

impl HttpLoad {
    /// A load of `request`, recorded into the latency histogram `metric`
    /// (plus the histograms `<metric>.first-byte`, `<metric>.connect`,
    /// `<metric>.tls` and the gauges `<metric>.throughput` and
    /// `<metric>.error-rate`).
    /// Defaults: 1 worker, closed model; set `requests` or `duration`.
    pub fn new(request: Request, metric: &str) -> Self {
        Self {
            spec: wit::LoadSpec {
                request: request.inner,
                workers: 1,
                requests: 0,
                duration_ns: 0,
                rate: None,
                metric: metric.to_owned(),
                connections: 0,
                threads: 0,
            },
        }
    }

    /// Concurrent requests in flight (on HTTP/1.1, one kept-alive
    /// connection each).
    pub fn workers(mut self, n: u32) -> Self {
        self.spec.workers = n;
        self
    }

    /// HTTP/2: multiplexes the workers over `n` connections (each worker
    /// has its own connection by default and always on HTTP/1.1).
    pub fn connections(mut self, n: u32) -> Self {
        self.spec.connections = n;
        self
    }

    /// Event-loop threads for the workers (default: half the cores).
    pub fn threads(mut self, n: u32) -> Self {
        self.spec.threads = n;
        self
    }

    /// Total requests.
    pub fn requests(mut self, n: u64) -> Self {
        self.spec.requests = n;
        self
    }

    /// How long to run.
    pub fn duration(mut self, d: Duration) -> Self {
        self.spec.duration_ns = ns(d).max(1);
        self
    }

    /// Open model: `per_second` requests on a fixed timeline, latency from
    /// each intended send time.
    pub fn rate(mut self, per_second: f64) -> Self {
        self.spec.rate = Some(per_second);
        self
    }

    /// Runs the load.
    pub fn run(&self) -> Result<LoadReport> {
        wit::run_load(&self.spec).map_err(err)
    }
}
