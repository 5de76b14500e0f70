//! One WebSocket connection: the host resolves, connects TCP, negotiates TLS
//! (tokio-rustls, the run's `TlsTrust`) and hands the stream to
//! tokio-tungstenite for the upgrade, timing each phase on its own; then
//! sends, receives, pings and closes with bounded buffers.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::probes::net::{AuthorityError, resolve_first, split_authority};
use crate::tls::{MaybeTlsStream, TlsTrust};

/// Limit of a connect, a receive, a ping or a close when the guest gives 0.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer of a connection (tungstenite's default is 128 KiB; frames
/// larger than this are read in several steps).
pub const READ_BUFFER_BYTES: usize = 16 * 1024;
/// Bytes buffered before a write goes to the socket; every send flushes.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// What a connection holds besides its messages: the read and write
/// buffers, TLS records in both directions and the stream state.
pub const CONNECTION_OVERHEAD: u64 = (READ_BUFFER_BYTES + WRITE_BUFFER_BYTES + 64 * 1024) as u64;
/// Close code reported when the peer's close frame carried none (RFC 6455
/// §7.1.5).
pub const NO_STATUS_CODE: u16 = 1005;

/// Host memory one connection may hold with messages of up to
/// `max_message` bytes: one being reassembled, one being written, and up to
/// one message's worth kept for `receive` while a ping waits for its pong.
pub fn memory_per_connection(max_message: usize) -> u64 {
    CONNECTION_OVERHEAD + 3 * max_message as u64
}

/// Why a WebSocket operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("`{url}` is not a WebSocket URL: {reason}; write `ws://host:port/path` or `wss://…`")]
    InvalidUrl { url: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {addr}: {source}; is the server running?")]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("TLS with `{host}` failed: {reason}; for a private CA pass `--ca-file`")]
    Tls { host: String, reason: String },
    #[error("the upgrade of `{url}` was refused: {reason}")]
    Upgrade { url: String, reason: String },
    #[error("{what} on `{url}` timed out after {after:?}")]
    Timeout {
        what: &'static str,
        url: String,
        after: Duration,
    },
    #[error("a message of {size} bytes is over the limit of {limit} bytes (max-message-bytes)")]
    TooLarge { size: usize, limit: usize },
    #[error("the connection to `{url}` is closed")]
    Closed { url: String },
    #[error("the connection to `{url}` broke: {reason}")]
    Broken { url: String, reason: String },
}

impl WsError {
    /// A short kind, for a load's error counts.
    pub fn kind(&self) -> &'static str {
        match self {
            WsError::InvalidUrl { .. } | WsError::Invalid(_) => "invalid",
            WsError::Resolve { .. } | WsError::Connect { .. } => "connect",
            WsError::Tls { .. } => "tls",
            WsError::Upgrade { .. } => "upgrade",
            WsError::Timeout { .. } => "timeout",
            WsError::TooLarge { .. } => "too-large",
            WsError::Closed { .. } => "closed",
            WsError::Broken { .. } => "protocol",
        }
    }

    /// Maps a tungstenite failure on an open connection.
    pub fn from_tungstenite(url: &str, e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                WsError::Closed {
                    url: url.to_owned(),
                }
            }
            tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
                size,
                max_size,
            }) => WsError::TooLarge {
                size,
                limit: max_size,
            },
            other => WsError::Broken {
                url: url.to_owned(),
                reason: other.to_string(),
            },
        }
    }
}

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    pub tls: bool,
    /// Lowercase; an IPv6 address without brackets.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl WsUrl {
    pub fn parse(text: &str) -> Result<WsUrl, WsError> {
        let bad = |reason: &str| WsError::InvalidUrl {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (tls, rest) = if let Some(rest) = text.strip_prefix("ws://") {
            (false, rest)
        } else if let Some(rest) = text.strip_prefix("wss://") {
            (true, rest)
        } else {
            return Err(bad("only `ws://` and `wss://` URLs are supported"));
        };
        let default_port = if tls { 443 } else { 80 };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if target.contains('#') {
            return Err(bad("a WebSocket URL has no fragment"));
        }
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let port_range = "the port is not a number in 1..=65535";
        let (host, port) = split_authority(authority, default_port).map_err(|e| match e {
            AuthorityError::UnclosedBracket => bad("unclosed `[`"),
            AuthorityError::TextAfterBracket => bad("unexpected text after `]`"),
            AuthorityError::BadPort => bad(port_range),
        })?;
        if port == 0 {
            return Err(bad(port_range));
        }
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(bad("the host is empty or malformed"));
        }
        if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("the path contains spaces or control characters"));
        }
        Ok(WsUrl {
            tls,
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL as the upgrade request names it.
    pub fn text(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.authority(), self.target)
    }
}

/// Where a connect's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectTiming {
    pub dns: Duration,
    pub connect: Duration,
    pub tls: Duration,
    pub upgrade: Duration,
    pub total: Duration,
}

/// The open socket tungstenite drives.
pub type Socket = WebSocketStream<MaybeTlsStream>;

/// What a connect needs besides the URL.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    pub url: WsUrl,
    pub headers: Vec<(String, String)>,
    pub max_message: usize,
    pub timeout: Duration,
    pub trust: TlsTrust,
}

/// The tungstenite limits of a connection accepting `max_message` bytes.
pub fn config(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(max_message + WRITE_BUFFER_BYTES + 1024)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// Connects, negotiates TLS for `wss://` and upgrades, each phase timed;
/// the whole is bounded by `spec.timeout`.
pub async fn connect(spec: &ConnectSpec) -> Result<(Socket, ConnectTiming), WsError> {
    let url = spec.url.text();
    // Built before the clock starts: the request and the TLS configuration.
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| WsError::InvalidUrl {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| WsError::Invalid(format!("upgrade header name `{name}`: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| WsError::Invalid(format!("upgrade header `{name}` value: {e}")))?;
        request.headers_mut().append(name, value);
    }
    let tls = if spec.url.tls {
        let config = spec
            .trust
            .client_config(None, &[])
            .map_err(|e| WsError::Tls {
                host: spec.url.host.clone(),
                reason: e.to_string(),
            })?;
        let name = crate::tls::server_name(&spec.url.host).map_err(|e| WsError::Tls {
            host: spec.url.host.clone(),
            reason: e.to_string(),
        })?;
        Some((tokio_rustls::TlsConnector::from(config), name))
    } else {
        None
    };
    let work = async {
        let mut timing = ConnectTiming::default();
        let start = Instant::now();
        let addr = resolve(&spec.url).await?;
        timing.dns = start.elapsed();

        let t = Instant::now();
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| WsError::Connect { addr, source })?;
        timing.connect = t.elapsed();
        // Messages are small and latency-bound; never wait to coalesce.
        let _ = tcp.set_nodelay(true);

        let stream = match tls {
            Some((connector, name)) => {
                let t = Instant::now();
                let tls = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| WsError::Tls {
                        host: spec.url.host.clone(),
                        reason: e.to_string(),
                    })?;
                timing.tls = t.elapsed();
                MaybeTlsStream::Tls(Box::new(tls))
            }
            None => MaybeTlsStream::Plain(tcp),
        };

        let t = Instant::now();
        let (socket, _response) = tokio_tungstenite::client_async_with_config(
            request,
            stream,
            Some(config(spec.max_message)),
        )
        .await
        .map_err(|e| WsError::Upgrade {
            url: url.clone(),
            reason: match e {
                tungstenite::Error::Http(response) => {
                    format!("the server answered {} instead of 101", response.status())
                }
                other => other.to_string(),
            },
        })?;
        timing.upgrade = t.elapsed();
        timing.total = start.elapsed();
        Ok((socket, timing))
    };
    tokio::time::timeout(spec.timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(WsError::Timeout {
                what: "connect",
                url: url.clone(),
                after: spec.timeout,
            })
        })
}

async fn resolve(url: &WsUrl) -> Result<SocketAddr, WsError> {
    resolve_first(&url.host, url.port)
        .await
        .map_err(|reason| WsError::Resolve {
            host: url.host.clone(),
            reason,
        })
}

/// A received message, or the peer's close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    Binary(Vec<u8>),
    /// The peer's close code (1005 when it gave none) and reason.
    Closed(u16, String),
}

/// Checks a close code a guest may send (RFC 6455 §7.4).
pub fn check_close_code(code: u16) -> Result<(), WsError> {
    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
        return Err(WsError::Invalid(format!(
            "close code {code} cannot be sent; use 1000 (normal), 1001..=1003, 1007..=1014 or 3000..=4999"
        )));
    }
    Ok(())
}

/// An open connection held for the guest.
pub struct Conn {
    socket: Socket,
    url: String,
    max_message: usize,
    timing: ConnectTiming,
    /// Messages that arrived while a ping waited for its pong.
    pending: VecDeque<Incoming>,
    pending_bytes: usize,
    /// The peer's close, once it came.
    closed: Option<(u16, String)>,
    /// Whether this side sent its close.
    close_sent: bool,
}

/// Distinguishes the payloads of successive pings of the process.
static PING_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Conn {
    pub async fn connect(spec: &ConnectSpec) -> Result<Conn, WsError> {
        let (socket, timing) = connect(spec).await?;
        Ok(Conn {
            socket,
            url: spec.url.text(),
            max_message: spec.max_message,
            timing,
            pending: VecDeque::new(),
            pending_bytes: 0,
            closed: None,
            close_sent: false,
        })
    }

    pub fn timing(&self) -> ConnectTiming {
        self.timing
    }

    fn timeout(&self, what: &'static str, after: Duration) -> WsError {
        WsError::Timeout {
            what,
            url: self.url.clone(),
            after,
        }
    }

    fn broken(&self, e: tungstenite::Error) -> WsError {
        WsError::from_tungstenite(&self.url, e)
    }

    /// Sends a text or binary message of at most `max_message` bytes.
    pub async fn send(&mut self, message: Message) -> Result<(), WsError> {
        let size = message.len();
        if size > self.max_message {
            return Err(WsError::TooLarge {
                size,
                limit: self.max_message,
            });
        }
        if self.closed.is_some() || self.close_sent {
            return Err(WsError::Closed {
                url: self.url.clone(),
            });
        }
        self.socket.send(message).await.map_err(|e| self.broken(e))
    }

    /// The next data message or close from the socket; pings are answered
    /// by tungstenite as it reads, pongs skipped.
    async fn next_frame(&mut self) -> Result<Incoming, WsError> {
        loop {
            let message = match self.socket.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => return Err(self.broken(e)),
                None => {
                    return Err(WsError::Closed {
                        url: self.url.clone(),
                    });
                }
            };
            match message {
                Message::Text(t) => return Ok(Incoming::Text(t.as_str().to_owned())),
                Message::Binary(b) => return Ok(Incoming::Binary(b.to_vec())),
                Message::Close(frame) => {
                    let (code, reason) = match frame {
                        Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
                        None => (NO_STATUS_CODE, String::new()),
                    };
                    self.closed = Some((code, reason.clone()));
                    return Ok(Incoming::Closed(code, reason));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

    /// The next message, a kept one first; the close again once closed.
    pub async fn receive(&mut self, timeout: Duration) -> Result<Incoming, WsError> {
        if let Some(m) = self.pending.pop_front() {
            self.pending_bytes -= incoming_len(&m);
            return Ok(m);
        }
        if let Some((code, reason)) = &self.closed {
            return Ok(Incoming::Closed(*code, reason.clone()));
        }
        match tokio::time::timeout(timeout, self.next_frame()).await {
            Ok(r) => r,
            Err(_) => Err(self.timeout("receive", timeout)),
        }
    }

    /// Pings and waits for the matching pong; returns the round trip.
    pub async fn ping(&mut self, timeout: Duration) -> Result<Duration, WsError> {
        if self.closed.is_some() || self.close_sent {
            return Err(WsError::Closed {
                url: self.url.clone(),
            });
        }
        let payload = PING_COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .to_be_bytes()
            .to_vec();
        let work = async {
            let start = Instant::now();
            self.socket
                .send(Message::Ping(payload.clone().into()))
                .await
                .map_err(|e| self.broken(e))?;
            loop {
                let message = match self.socket.next().await {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return Err(self.broken(e)),
                    None => {
                        return Err(WsError::Closed {
                            url: self.url.clone(),
                        });
                    }
                };
                let kept = match message {
                    Message::Pong(p) if p.as_ref() == payload.as_slice() => {
                        return Ok(start.elapsed());
                    }
                    Message::Text(t) => Incoming::Text(t.as_str().to_owned()),
                    Message::Binary(b) => Incoming::Binary(b.to_vec()),
                    Message::Close(frame) => {
                        let (code, reason) = match frame {
                            Some(f) => (u16::from(f.code), f.reason.as_str().to_owned()),
                            None => (NO_STATUS_CODE, String::new()),
                        };
                        self.closed = Some((code, reason));
                        return Err(WsError::Closed {
                            url: self.url.clone(),
                        });
                    }
                    _ => continue,
                };
                let size = incoming_len(&kept);
                if self.pending_bytes + size > self.max_message {
                    return Err(WsError::Invalid(format!(
                        "ping on `{}`: more than {} bytes of messages arrived before the pong; receive them first",
                        self.url, self.max_message
                    )));
                }
                self.pending_bytes += size;
                self.pending.push_back(kept);
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timeout("ping", timeout)),
        }
    }

    /// Sends a close with `code` and `reason` and waits for the peer's;
    /// returns the peer's code. Data that arrives meanwhile is dropped.
    pub async fn close(
        &mut self,
        code: u16,
        reason: &str,
        timeout: Duration,
    ) -> Result<u16, WsError> {
        check_close_code(code)?;
        if reason.len() > 123 {
            return Err(WsError::Invalid(format!(
                "a close reason is at most 123 bytes; this one is {}",
                reason.len()
            )));
        }
        if let Some((code, _)) = &self.closed {
            return Ok(*code);
        }
        let work = async {
            if !self.close_sent {
                self.close_sent = true;
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.to_owned().into(),
                };
                self.socket
                    .close(Some(frame))
                    .await
                    .map_err(|e| self.broken(e))?;
            }
            loop {
                match self.next_frame().await? {
                    Incoming::Closed(code, _) => return Ok(code),
                    _ => continue,
                }
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(self.timeout("close", timeout)),
        }
    }
}

fn incoming_len(m: &Incoming) -> usize {
    match m {
        Incoming::Text(t) => t.len(),
        Incoming::Binary(b) => b.len(),
        Incoming::Closed(_, r) => r.len(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A connect spec for `url` with the defaults.
    pub(crate) fn spec(url: &str) -> ConnectSpec {
        ConnectSpec {
            url: WsUrl::parse(url).unwrap(),
            headers: Vec::new(),
            max_message: 64 * 1024,
            timeout: Duration::from_secs(5),
            trust: TlsTrust::default(),
        }
    }

    /// A tokio-tungstenite echo server on loopback. `scrambled`: answers
    /// each pair of messages in reverse order and every message twice.
    pub(crate) async fn echo_server(scrambled: bool) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let mut held: Option<Message> = None;
                    while let Some(Ok(m)) = ws.next().await {
                        if !(m.is_text() || m.is_binary()) {
                            continue;
                        }
                        if !scrambled {
                            let _ = ws.send(m).await;
                            continue;
                        }
                        match held.take() {
                            None => held = Some(m),
                            Some(first) => {
                                for answer in [&m, &m, &first, &first] {
                                    let _ = ws.send(answer.clone()).await;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_connection_sends_receives_pings_and_closes() {
        let addr = echo_server(false).await;
        let mut conn = Conn::connect(&spec(&format!("ws://{addr}/echo")))
            .await
            .unwrap();
        let t = conn.timing();
        assert!(t.total >= t.upgrade && t.upgrade > Duration::ZERO, "{t:?}");
        assert_eq!(t.tls, Duration::ZERO);
        conn.send(Message::text("hello")).await.unwrap();
        conn.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        // Both echoes arrive before the pong and are kept for `receive`.
        assert!(conn.ping(Duration::from_secs(5)).await.unwrap() > Duration::ZERO);
        let wait = Duration::from_secs(5);
        assert_eq!(
            conn.receive(wait).await.unwrap(),
            Incoming::Text("hello".into())
        );
        assert_eq!(
            conn.receive(wait).await.unwrap(),
            Incoming::Binary(vec![1, 2, 3])
        );
        let err = conn
            .send(Message::binary(vec![0; 64 * 1024 + 1]))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("over the limit of 65536 bytes (max-message-bytes)"),
            "{err}"
        );
        let err = conn.receive(Duration::from_millis(50)).await.unwrap_err();
        assert!(
            matches!(
                err,
                WsError::Timeout {
                    what: "receive",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(conn.close(4001, "bye", wait).await.unwrap(), 4001);
        assert!(matches!(
            conn.send(Message::text("late")).await,
            Err(WsError::Closed { .. })
        ));
    }

    #[tokio::test]
    async fn an_incoming_message_over_the_limit_is_refused_with_the_sizes() {
        let addr = echo_server(false).await;
        let mut small = spec(&format!("ws://{addr}/"));
        small.max_message = 1024;
        let mut conn = Conn::connect(&small).await.unwrap();
        // Past the guest-facing check, so the server echoes 2048 bytes.
        conn.socket
            .send(Message::binary(vec![1u8; 2048]))
            .await
            .unwrap();
        let err = conn.receive(Duration::from_secs(5)).await.unwrap_err();
        assert!(
            matches!(
                err,
                WsError::TooLarge {
                    size: 2048,
                    limit: 1024
                }
            ),
            "{err}"
        );
        assert!(
            crate::probes::ProbeError::from(err)
                .to_string()
                .starts_with("invalid: a message of 2048 bytes is over the limit of 1024 bytes")
        );
    }

    #[test]
    fn urls_parse_with_default_ports() {
        let u = WsUrl::parse("ws://LocalHost/ws/echo?room=a").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.target.as_str()),
            (false, "localhost", 80, "/ws/echo?room=a")
        );
        let u = WsUrl::parse("wss://[::1]:8443").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port), (true, "::1", 8443));
        assert_eq!(u.text(), "wss://[::1]:8443/");
        for bad in [
            "http://h/",
            "ws://",
            "ws://h:0/",
            "ws://u@h/",
            "ws://h/a b",
            "ws://h/#x",
        ] {
            assert!(WsUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_sendable_close_codes_pass() {
        for ok in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(check_close_code(ok).is_ok(), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(check_close_code(bad).is_err(), "{bad}");
        }
    }
}
