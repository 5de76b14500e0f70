//! WebSocket (`ws://`, `wss://`) through the host: connections timed per
//! phase (resolve, TCP, TLS, upgrade), text and binary messages, ping round
//! trips, close codes, and a native load that matches every answer to its
//! message by a correlation id. A WebSocket is granted by the `http` grant of
//! its host (`http = ["127.0.0.1"]`).
//!
//! ```no_run
//! use std::time::Duration;
//! use rigor_guest::prelude::*;
//!
//! # fn run() -> Result<()> {
//! let ws = WebSocket::connect("ws://127.0.0.1:8080/ws/echo")?;
//! ws.send_text("hello")?;
//! let echo = ws.receive(Duration::from_secs(1))?;
//! check("echoed", matches!(&echo, Incoming::Text(t) if t == "hello"), "");
//! check("closed cleanly", ws.close(1000, "done")? == 1000, "");
//!
//! let report = WsLoad::new("ws://127.0.0.1:8080/ws/echo", "echo")
//!     .connections(8)
//!     .messages(100)
//!     .text_template(r#"{"id":"{id}","body":"hi"}"#, "{id}")
//!     .json_id("id")
//!     .run()?;
//! check("nothing lost", report.lost == 0, format!("{} lost", report.lost));
//! threshold("echo", "p(99) < 20ms")?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::bindings::rigor::scenario::websocket as wit;
use crate::metrics::Histogram;
use crate::{ProbeError, Result};

pub use wit::{ConnectTiming, Incoming, LoadReport};

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn err(e: crate::bindings::rigor::scenario::types::ProbeError) -> crate::Error {
    ProbeError::from(e).into()
}

/// How to connect: extra headers, a time limit, the largest message.
#[derive(Debug, Clone)]
pub struct Connect {
    url: String,
    options: wit::ConnectOptions,
}

impl Connect {
    /// Adds an upgrade request header (`Authorization`, `Origin`, …).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.headers.push((name.into(), value.into()));
        self
    }

    /// Limit for the whole connect (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout_ns = ns(timeout).max(1);
        self
    }

    /// Largest message accepted or sent (default 1 MiB, at most 16 MiB).
    pub fn max_message_bytes(mut self, bytes: u32) -> Self {
        self.options.max_message_bytes = bytes;
        self
    }

    /// Connects.
    pub fn open(self) -> Result<WebSocket> {
        wit::Connection::connect(&self.url, &self.options)
            .map(|inner| WebSocket { inner })
            .map_err(err)
    }
}

/// An open WebSocket connection; dropping it closes the socket without a
/// close handshake (use [`WebSocket::close`] for a clean one).
#[derive(Debug)]
pub struct WebSocket {
    inner: wit::Connection,
}

impl WebSocket {
    /// Connects with the defaults.
    pub fn connect(url: &str) -> Result<WebSocket> {
        Self::builder(url).open()
    }

    /// A connect with options.
    pub fn builder(url: &str) -> Connect {
        Connect {
            url: url.to_owned(),
            options: wit::ConnectOptions {
                headers: Vec::new(),
                timeout_ns: 0,
                max_message_bytes: 0,
            },
        }
    }

    /// Where the connect's time went.
    pub fn timing(&self) -> ConnectTiming {
        self.inner.timing()
    }

    /// Sends a text message.
    pub fn send_text(&self, text: &str) -> Result<()> {
        self.inner.send_text(text).map_err(err)
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<()> {
        self.inner.send_binary(data).map_err(err)
    }

    /// The next message or the peer's close, waiting at most `timeout`.
    pub fn receive(&self, timeout: Duration) -> Result<Incoming> {
        self.inner.receive(ns(timeout).max(1)).map_err(err)
    }

    /// The next text message, waiting at most `timeout`; a binary message
    /// or a close is an error.
    pub fn receive_text(&self, timeout: Duration) -> Result<String> {
        match self.receive(timeout)? {
            Incoming::Text(t) => Ok(t),
            Incoming::Binary(b) => Err(crate::Error::msg(format!(
                "expected a text message, got {} binary bytes",
                b.len()
            ))),
            Incoming::Closed(f) => Err(crate::Error::msg(format!(
                "expected a text message, the peer closed with {} {}",
                f.code, f.reason
            ))),
        }
    }

    /// Pings and returns the pong's round trip (waits at most 10 s).
    pub fn ping(&self) -> Result<Duration> {
        self.inner
            .ping(None, 0)
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// Pings and records the round trip into `into`.
    pub fn ping_timed(&self, into: &Histogram) -> Result<Duration> {
        self.inner
            .ping(Some(into.wit()), 0)
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// Closes with `code` and `reason`; returns the peer's close code.
    pub fn close(&self, code: u16, reason: &str) -> Result<u16> {
        self.inner.close(code, reason, 0).map_err(err)
    }
}

/// A native load: connections sending messages with a correlation id each,
/// the answers matched by that id.
#[derive(Debug, Clone)]
pub struct WsLoad {
    spec: wit::LoadSpec,
}

impl WsLoad {
    /// A load against `url`, round trips recorded into the histogram
    /// `metric` (plus `<metric>.connect`, `<metric>.sent-rate`,
    /// `<metric>.received-rate`, `<metric>.lost`). Defaults: 1 connection,
    /// closed model, the text template `{"id":"{id}"}` with the id in the
    /// JSON field `id`; set `messages` or `duration`.
    pub fn new(url: &str, metric: &str) -> Self {
        Self {
            spec: wit::LoadSpec {
                url: url.to_owned(),
                connections: 1,
                messages: 0,
                duration_ns: 0,
                rate: None,
                template: br#"{"id":"{id}"}"#.to_vec(),
                text: true,
                id_placeholder: "{id}".to_owned(),
                id_location: wit::IdLocation::JsonField("id".to_owned()),
                grace_ns: 0,
                max_message_bytes: 0,
                metric: metric.to_owned(),
            },
        }
    }

    /// Concurrent connections.
    pub fn connections(mut self, n: u32) -> Self {
        self.spec.connections = n;
        self
    }

    /// Messages per connection.
    pub fn messages(mut self, n: u64) -> Self {
        self.spec.messages = n;
        self
    }

    /// How long to send.
    pub fn duration(mut self, d: Duration) -> Self {
        self.spec.duration_ns = ns(d).max(1);
        self
    }

    /// Open model: `per_second` messages per connection on a fixed
    /// timeline, round trips from each intended send time.
    pub fn rate(mut self, per_second: f64) -> Self {
        self.spec.rate = Some(per_second);
        self
    }

    /// A text message; the host writes the id over `placeholder`.
    pub fn text_template(mut self, template: &str, placeholder: &str) -> Self {
        self.spec.template = template.as_bytes().to_vec();
        self.spec.text = true;
        self.spec.id_placeholder = placeholder.to_owned();
        self
    }

    /// A binary message; the host writes the id over `placeholder`.
    pub fn binary_template(mut self, template: &[u8], placeholder: &str) -> Self {
        self.spec.template = template.to_vec();
        self.spec.text = false;
        self.spec.id_placeholder = placeholder.to_owned();
        self
    }

    /// The answer's id is in the top-level JSON field `field`.
    pub fn json_id(mut self, field: &str) -> Self {
        self.spec.id_location = wit::IdLocation::JsonField(field.to_owned());
        self
    }

    /// The answer's id is the `length` bytes at `offset` (16 digits).
    pub fn id_bytes(mut self, offset: u32, length: u32) -> Self {
        self.spec.id_location = wit::IdLocation::ByteRange((offset, length));
        self
    }

    /// How long answers are awaited after the last send (default 1 s).
    pub fn grace(mut self, d: Duration) -> Self {
        self.spec.grace_ns = ns(d).max(1);
        self
    }

    /// Largest message (default 64 KiB).
    pub fn max_message_bytes(mut self, bytes: u32) -> Self {
        self.spec.max_message_bytes = bytes;
        self
    }

    /// Runs the load.
    pub fn run(&self) -> Result<LoadReport> {
        wit::run_load(&self.spec).map_err(err)
    }
}
