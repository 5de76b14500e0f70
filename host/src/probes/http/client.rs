//! The HTTP client on hyper 1, with the phases driven and timed here rather
//! than inside a pooled client: resolve, TCP connect, TLS handshake (rustls,
//! ALPN), then one exchange on `hyper::client::conn` (HTTP/1.1, or HTTP/2 by
//! ALPN or prior knowledge on `http://`). The first byte of an HTTP/1.1
//! response is noted by a thin IO wrapper at the first read after the
//! request was sent; on HTTP/2, whose connection also carries frames of other
//! streams, it is the arrival of the response head.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::url::{Scheme, Url};
use crate::tls::{ALPN_H2, ALPN_HTTP1, TlsError};

/// Largest response head (status line and headers) accepted.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers accepted in one response.
pub const MAX_HEADERS: usize = 128;
/// Body bytes kept for a guest; the rest is read and counted, not kept.
pub const MAX_BODY_KEPT: usize = 1024 * 1024;
/// Limit of one exchange when the caller gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http1,
    Http2,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::Http1 => "HTTP/1.1",
            Version::Http2 => "HTTP/2",
        }
    }
}

/// The ALPN identifiers to offer for a wanted version (`None`: either,
/// HTTP/2 preferred).
pub fn alpn_for(want: Option<Version>) -> &'static [&'static [u8]] {
    match want {
        None => &[ALPN_H2, ALPN_HTTP1],
        Some(Version::Http1) => &[ALPN_HTTP1],
        Some(Version::Http2) => &[ALPN_H2],
    }
}

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "TLS verification of `{host}` failed: {reason}; if its certificate comes from a private CA, trust that CA with `rigor run --ca-file CA.pem`"
    )]
    TlsVerify { host: String, reason: String },
    #[error("TLS handshake with `{host}` ({addr}) failed: {reason}")]
    Tls {
        host: String,
        addr: SocketAddr,
        reason: String,
    },
    #[error("TLS setup: {0}")]
    TlsSetup(#[from] TlsError),
    #[error(
        "`{host}` did not agree to HTTP/2 over ALPN (it chose {chose}); ask for HTTP/1.1 or let the protocol be chosen automatically"
    )]
    NoHttp2 { host: String, chose: String },
    #[error("no complete response from {target} within {after:?}")]
    Timeout { target: String, after: Duration },
    #[error("exchange with {addr} failed: {reason}")]
    Exchange { addr: SocketAddr, reason: String },
    #[error("malformed response from {addr}: {reason}")]
    Protocol { addr: SocketAddr, reason: String },
}

/// Walks an error's sources for the rustls error behind it.
fn rustls_cause<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(r);
        }
        next = e.source();
    }
    None
}

/// A TLS failure, as the user must read it: a certificate the run does not
/// trust, or another handshake problem (a client certificate the server
/// wants or refuses shows up as an alert from the server).
fn tls_failure(host: &str, addr: SocketAddr, e: &rustls::Error) -> HttpError {
    match e {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            HttpError::TlsVerify {
                host: host.to_owned(),
                reason: e.to_string(),
            }
        }
        rustls::Error::AlertReceived(_) => HttpError::Tls {
            host: host.to_owned(),
            addr,
            reason: with_alert_hint(e.to_string()),
        },
        other => HttpError::Tls {
            host: host.to_owned(),
            addr,
            reason: other.to_string(),
        },
    }
}

/// Alerts a server sends when it wants a client certificate or refuses the
/// one it got, as rustls names them.
const CLIENT_CERT_ALERTS: [&str; 4] = [
    "CertificateRequired",
    "BadCertificate",
    "UnknownCA",
    "HandshakeFailure",
];

/// Adds what to do to a message about an alert from the server.
fn with_alert_hint(reason: String) -> String {
    if CLIENT_CERT_ALERTS.iter().any(|a| reason.contains(a)) {
        format!(
            "{reason} (the server may require a client certificate: name one granted in `client-certs` as the request's `client-identity`)"
        )
    } else {
        reason
    }
}

/// The message of an error and all its sources.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !reason.ends_with(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = s.source();
    }
    reason
}

/// An error of hyper during an exchange, with TLS causes made explicit.
fn exchange_failure(host: &str, addr: SocketAddr, e: &hyper::Error) -> HttpError {
    if let Some(tls) = rustls_cause(e) {
        return tls_failure(host, addr, tls);
    }
    let reason = chain(e);
    // HTTP/2 keeps only the text of an IO error: a TLS alert shows there.
    if reason.contains("received fatal alert") {
        return HttpError::Tls {
            host: host.to_owned(),
            addr,
            reason: with_alert_hint(reason),
        };
    }
    if e.is_parse() || e.is_parse_status() {
        HttpError::Protocol { addr, reason }
    } else {
        HttpError::Exchange { addr, reason }
    }
}

/// The request every send of a template produces, checked once.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    pub method: Method,
    pub url: Url,
    headers: HeaderMap,
    body: Bytes,
    /// Parsed once: the origin form with `Host` (HTTP/1.1), the absolute
    /// form (HTTP/2).
    origin: http::Uri,
    absolute: http::Uri,
}

/// Headers the client sets itself; a guest's values for them are dropped.
const MANAGED: [&str; 5] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "upgrade",
];

impl RequestTemplate {
    pub fn new(
        method: &str,
        url: Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Self, HttpError> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(HttpError::InvalidRequest(format!(
                "method `{method}` is not a token of letters (GET, POST, …)"
            )));
        }
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|e| HttpError::InvalidRequest(format!("method `{method}`: {e}")))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            if MANAGED.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            let bad = || {
                HttpError::InvalidRequest(format!(
                    "header `{name}` has an invalid name or a line break in its value"
                ))
            };
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            let v = HeaderValue::from_str(value).map_err(|_| bad())?;
            map.append(n, v);
        }
        let sends_body = !body.is_empty() || matches!(method.as_str(), "POST" | "PUT" | "PATCH");
        if sends_body {
            map.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let bad_url = |e: http::uri::InvalidUri| {
            HttpError::InvalidRequest(format!("URL `{}`: {e}", url.to_text()))
        };
        let origin = url.target.parse().map_err(bad_url)?;
        let absolute = url.to_text().parse().map_err(bad_url)?;
        let host = HeaderValue::from_str(&url.authority())
            .map_err(|e| HttpError::InvalidRequest(format!("host `{}`: {e}", url.host)))?;
        // Kept for HTTP/1.1; `build` drops it for HTTP/2 (`:authority`).
        map.insert(HOST, host);
        Ok(Self {
            method,
            url,
            headers: map,
            body: Bytes::from(body),
            origin,
            absolute,
        })
    }

    /// Body bytes of the request.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The request for one send: origin-form target and `Host` on
    /// HTTP/1.1, the absolute URI (`:scheme`, `:authority`) on HTTP/2.
    pub fn build(&self, version: Version) -> http::Request<Full<Bytes>> {
        let mut req = http::Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.headers_mut() = self.headers.clone();
        match version {
            Version::Http1 => *req.uri_mut() = self.origin.clone(),
            Version::Http2 => {
                *req.uri_mut() = self.absolute.clone();
                *req.version_mut() = http::Version::HTTP_2;
                req.headers_mut().remove(HOST);
            }
        }
        req
    }
}

/// Notes when response bytes first arrive after `arm` (HTTP/1.1 only: one
/// exchange at a time, so the first read after the request is the
/// response's first byte).
#[derive(Debug, Default)]
struct FirstRead {
    mark: Mutex<(bool, Option<Instant>)>,
}

impl FirstRead {
    fn arm(&self) {
        *self.mark.lock().expect("first-read mark") = (true, None);
    }

    fn take(&self) -> Option<Instant> {
        self.mark.lock().expect("first-read mark").1.take()
    }

    fn saw_bytes(&self) {
        let mut mark = self.mark.lock().expect("first-read mark");
        if mark.0 {
            *mark = (false, Some(Instant::now()));
        }
    }
}

/// The stream under hyper, noting the first read after a request.
struct Marked<T> {
    inner: T,
    first: Arc<FirstRead>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Marked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.first.saw_bytes();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Marked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Notes that a server asked for a client certificate when the client has
/// none: under TLS 1.3 the server's refusal arrives after the handshake,
/// often lost to a broken pipe, and this is what lets the error say why.
#[derive(Debug, Default)]
struct NoteCertRequest {
    asked: std::sync::atomic::AtomicBool,
}

impl rustls::client::ResolvesClientCert for NoteCertRequest {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, std::sync::atomic::Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// A TLS client configuration, shared by every connection of a load.
#[derive(Clone)]
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    /// Set when the configuration has no client certificate.
    note: Option<Arc<NoteCertRequest>>,
}

impl TlsSetup {
    pub fn new(config: Arc<ClientConfig>) -> Self {
        if config.client_auth_cert_resolver.has_certs() {
            return Self { config, note: None };
        }
        let note = Arc::new(NoteCertRequest::default());
        let mut watched = (*config).clone();
        watched.client_auth_cert_resolver = note.clone();
        Self {
            config: Arc::new(watched),
            note: Some(note),
        }
    }

    fn cert_requested(&self) -> bool {
        self.note
            .as_ref()
            .is_some_and(|n| n.asked.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Where and how to connect: the address resolved, the TLS configuration
/// for `https://`, and the version wanted (`None`: ALPN decides on TLS,
/// HTTP/1.1 in clear).
#[derive(Clone)]
pub struct Endpoint {
    pub url: Url,
    pub addr: SocketAddr,
    pub tls: Option<TlsSetup>,
    pub want: Option<Version>,
}

impl Endpoint {
    /// `host:port` for messages.
    pub fn target(&self) -> String {
        format!("{} ({})", self.url.authority(), self.addr)
    }
}

/// The future that runs an HTTP/1.1 connection (reads, writes, parses),
/// boxed over the stream type (TCP or TLS).
type H1Conn = Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;

/// An HTTP/1.1 connection run by the task that sends on it: the exchange
/// polls the connection itself, so a request needs no lock, no task of its
/// own and no wake-up crossing tasks (one exchange at a time anyway).
struct H1 {
    sender: http1::SendRequest<Full<Bytes>>,
    /// `None` once it ended.
    conn: Option<H1Conn>,
    /// How it ended: its error explains a request that only saw it close.
    ended: Option<Result<(), hyper::Error>>,
}

/// Gives an HTTP/1.1 connection a turn; notes how it ended if it did.
fn poll_h1(
    conn: &mut Option<H1Conn>,
    ended: &mut Option<Result<(), hyper::Error>>,
    cx: &mut Context<'_>,
) {
    if let Some(c) = conn.as_mut()
        && let Poll::Ready(result) = c.as_mut().poll(cx)
    {
        // Dropping it cancels whatever still waited on it.
        *conn = None;
        *ended = Some(result);
    }
}

/// One side of a connection that sends requests.
enum Sender {
    H1(H1),
    /// HTTP/2 multiplexes: its connection runs as a task of its own, which
    /// every clone of the sender shares.
    H2 {
        sender: http2::SendRequest<Full<Bytes>>,
        driver: Driver,
    },
}

/// The task driving an HTTP/2 connection; its error explains a request
/// that only saw the connection close (a TLS alert after a TLS 1.3
/// handshake).
type Driver = Arc<Mutex<Option<tokio::task::JoinHandle<Result<(), hyper::Error>>>>>;

/// How long a failed exchange waits for its connection's own error.
const DRIVER_GRACE: Duration = Duration::from_millis(500);

/// An open connection and how long opening it took.
pub struct Connection {
    sender: Sender,
    /// The server asked for a client certificate and got none.
    cert_refused: bool,
    first: Arc<FirstRead>,
    pub version: Version,
    pub addr: SocketAddr,
    host: Arc<str>,
    /// TCP connect.
    pub connect: Duration,
    /// TLS handshake (zero on `http://`).
    pub tls: Duration,
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// At most the `max_body` asked for.
    pub body: Vec<u8>,
    /// Body bytes received, kept or not.
    pub body_bytes: u64,
    pub version: Version,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Opens a connection: TCP connect, TLS handshake, then the HTTP handshake
/// (HTTP/2's preface) outside both timed phases.
pub async fn connect(ep: &Endpoint) -> Result<Connection, HttpError> {
    let addr = ep.addr;
    let start = Instant::now();
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|source| HttpError::Connect { addr, source })?;
    let connect = start.elapsed();
    // Requests are written in one piece; Nagle would only add delay.
    let _ = tcp.set_nodelay(true);
    let host = ep.url.host.clone();
    let first = Arc::new(FirstRead::default());
    match (&ep.tls, ep.url.scheme) {
        (Some(setup), Scheme::Https) => {
            let name = crate::tls::server_name(&host)?;
            let started = Instant::now();
            let stream = tokio_rustls::TlsConnector::from(Arc::clone(&setup.config))
                .connect(name, tcp)
                .await
                .map_err(|e| match rustls_cause(&e) {
                    Some(r) => tls_failure(&host, addr, r),
                    None => HttpError::Tls {
                        host: host.clone(),
                        addr,
                        reason: e.to_string(),
                    },
                })?;
            let tls = started.elapsed();
            let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            let version = match (ep.want, alpn.as_deref()) {
                (Some(Version::Http2), Some(ALPN_H2)) | (None, Some(ALPN_H2)) => Version::Http2,
                (Some(Version::Http2), other) => {
                    return Err(HttpError::NoHttp2 {
                        host,
                        chose: other.map_or("no protocol".to_owned(), |p| {
                            format!("`{}`", String::from_utf8_lossy(p))
                        }),
                    });
                }
                _ => Version::Http1,
            };
            let io = Marked {
                inner: stream,
                first: Arc::clone(&first),
            };
            let sender = handshake(io, version, &host, addr).await?;
            Ok(Connection {
                sender,
                cert_refused: setup.cert_requested(),
                first,
                version,
                addr,
                host: host.into(),
                connect,
                tls,
            })
        }
        (None, Scheme::Https) => Err(HttpError::InvalidRequest(
            "an https:// endpoint without a TLS configuration".into(),
        )),
        (_, Scheme::Http) => {
            let version = ep.want.unwrap_or(Version::Http1);
            let io = Marked {
                inner: tcp,
                first: Arc::clone(&first),
            };
            let sender = handshake(io, version, &host, addr).await?;
            Ok(Connection {
                sender,
                cert_refused: false,
                first,
                version,
                addr,
                host: host.into(),
                connect,
                tls: Duration::ZERO,
            })
        }
    }
}

async fn handshake<T>(
    io: Marked<T>,
    version: Version,
    host: &str,
    addr: SocketAddr,
) -> Result<Sender, HttpError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    match version {
        Version::Http1 => {
            let (sender, conn) = http1::Builder::new()
                .max_headers(MAX_HEADERS)
                .max_buf_size(MAX_HEAD_BYTES)
                .handshake(io)
                .await
                .map_err(|e| exchange_failure(host, addr, &e))?;
            // Ends when the sender is dropped or the peer closes.
            Ok(Sender::H1(H1 {
                sender,
                conn: Some(Box::pin(conn)),
                ended: None,
            }))
        }
        Version::Http2 => {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .max_header_list_size(MAX_HEAD_BYTES as u32)
                .handshake(io)
                .await
                .map_err(|e| exchange_failure(host, addr, &e))?;
            let driver = Arc::new(Mutex::new(Some(tokio::spawn(conn))));
            Ok(Sender::H2 { sender, driver })
        }
    }
}

impl Connection {
    /// Whether another request may be sent on it. An HTTP/1.1 connection is
    /// given a turn first, so that one the server closed while it was idle
    /// is seen as closed rather than failing the next request.
    pub async fn is_open(&mut self) -> bool {
        match &mut self.sender {
            Sender::H1(h1) => {
                std::future::poll_fn(|cx| {
                    poll_h1(&mut h1.conn, &mut h1.ended, cx);
                    Poll::Ready(())
                })
                .await;
                h1.conn.is_some() && !h1.sender.is_closed()
            }
            Sender::H2 { sender, .. } => !sender.is_closed(),
        }
    }

    /// Another handle on the same connection, for an HTTP/2 connection
    /// (which multiplexes its users); `None` for HTTP/1.1, which serves
    /// one exchange at a time and belongs to one user.
    pub fn share(&self) -> Option<Connection> {
        match &self.sender {
            Sender::H1(_) => None,
            Sender::H2 { sender, driver } => Some(Connection {
                sender: Sender::H2 {
                    sender: sender.clone(),
                    driver: Arc::clone(driver),
                },
                cert_refused: self.cert_refused,
                first: Arc::clone(&self.first),
                version: self.version,
                addr: self.addr,
                host: Arc::clone(&self.host),
                connect: self.connect,
                tls: self.tls,
            }),
        }
    }

    /// Sends one request and reads the whole response, keeping at most
    /// `max_body` bytes of its body. Returns the response and the instants
    /// of its first and last byte.
    pub async fn exchange(
        &mut self,
        template: &RequestTemplate,
        max_body: usize,
    ) -> Result<(Response, Instant, Instant), HttpError> {
        let result = self.roundtrip(template, max_body).await;
        let (parts, kept, body_bytes, first_byte, last_byte) = self.checked(result).await?;
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok((
            Response {
                status: parts.status.as_u16(),
                headers,
                body: kept,
                body_bytes,
                version: self.version,
            },
            first_byte,
            last_byte,
        ))
    }

    /// What a load needs of one exchange: the status and the instants of
    /// the first and last byte. The body is read to its end and dropped,
    /// and the headers are not copied out.
    pub async fn exchange_status(
        &mut self,
        template: &RequestTemplate,
    ) -> Result<(u16, Instant, Instant), HttpError> {
        let result = self.roundtrip(template, 0).await;
        let (parts, _, _, first_byte, last_byte) = self.checked(result).await?;
        Ok((parts.status.as_u16(), first_byte, last_byte))
    }

    /// Turns hyper's outcome of an exchange into ours: the header limit
    /// checked, a closed connection explained by its own error.
    async fn checked(
        &mut self,
        result: Result<Exchanged, hyper::Error>,
    ) -> Result<Exchanged, HttpError> {
        match result {
            Ok((parts, ..)) if parts.headers.len() > MAX_HEADERS => Err(HttpError::Protocol {
                addr: self.addr,
                reason: format!("more than {MAX_HEADERS} headers"),
            }),
            Ok(done) => Ok(done),
            Err(e) if e.is_canceled() || e.is_closed() || e.is_incomplete_message() => {
                Err(self.closed_because(e).await)
            }
            // HTTP/2 reports the same refusal as a stream error (a broken
            // pipe under the stream), not as a closed connection.
            Err(e) => Err(self.explained(exchange_failure(&self.host, self.addr, &e))),
        }
    }

    /// The connection's own error when it has one (the request only saw
    /// the connection go away), else `seen`.
    async fn closed_because(&mut self, seen: hyper::Error) -> HttpError {
        let own = match &mut self.sender {
            Sender::H1(h1) => {
                // It may have more to say (a TLS alert still to read).
                if let Some(conn) = h1.conn.take() {
                    h1.ended = tokio::time::timeout(DRIVER_GRACE, conn).await.ok();
                }
                match h1.ended.take() {
                    Some(Err(own)) => Some(own),
                    _ => None,
                }
            }
            Sender::H2 { driver, .. } => {
                let driver = driver.lock().expect("driver slot").take();
                match driver {
                    Some(driver) => match tokio::time::timeout(DRIVER_GRACE, driver).await {
                        Ok(Ok(Err(own))) => Some(own),
                        _ => None,
                    },
                    None => None,
                }
            }
        };
        let failure = exchange_failure(&self.host, self.addr, own.as_ref().unwrap_or(&seen));
        self.explained(failure)
    }

    /// A transport failure on a connection whose server asked for a client
    /// certificate and got none is that refusal: say so, and what to do.
    fn explained(&self, failure: HttpError) -> HttpError {
        match failure {
            HttpError::Exchange { reason, .. } if self.cert_refused => HttpError::Tls {
                host: self.host.to_string(),
                addr: self.addr,
                reason: format!(
                    "the server asked for a client certificate, none was presented, and it closed the connection ({reason}): name one granted in `client-certs` as the request's `client-identity`"
                ),
            },
            other => other,
        }
    }

    /// Sends the request and reads its response: the head, at most
    /// `max_body` bytes of the body and the count of all of them, and the
    /// instants of the first and last byte.
    async fn roundtrip(
        &mut self,
        template: &RequestTemplate,
        max_body: usize,
    ) -> Result<Exchanged, hyper::Error> {
        let req = template.build(self.version);
        match &mut self.sender {
            Sender::H1(H1 {
                sender,
                conn,
                ended,
            }) => {
                let first = &self.first;
                let exchange = async {
                    sender.ready().await?;
                    first.arm();
                    let head = sender.send_request(req).await?;
                    let first_byte = first.take().unwrap_or_else(Instant::now);
                    let (parts, body) = head.into_parts();
                    let (kept, body_bytes) = read_body(body, max_body).await?;
                    Ok((parts, kept, body_bytes, first_byte, Instant::now()))
                };
                // The exchange runs while this task drives the connection.
                let mut exchange = std::pin::pin!(exchange);
                std::future::poll_fn(|cx| {
                    poll_h1(conn, ended, cx);
                    exchange.as_mut().poll(cx)
                })
                .await
            }
            Sender::H2 { sender, .. } => {
                let mut sender = sender.clone();
                sender.ready().await?;
                let head = sender.send_request(req).await?;
                let first_byte = Instant::now();
                let (parts, body) = head.into_parts();
                let (kept, body_bytes) = read_body(body, max_body).await?;
                Ok((parts, kept, body_bytes, first_byte, Instant::now()))
            }
        }
    }
}

/// A response as read: head, body kept, body bytes, first and last byte.
type Exchanged = (http::response::Parts, Vec<u8>, u64, Instant, Instant);

/// Reads a body to its end, keeping at most `max_body` bytes.
async fn read_body(mut body: Incoming, max_body: usize) -> Result<(Vec<u8>, u64), hyper::Error> {
    let mut kept = Vec::new();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            total += data.len() as u64;
            let room = max_body.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok((kept, total))
}

/// Times of one exchange on a new connection. The phases are lengths;
/// `first_byte` and `total` run from the start of the resolve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    pub dns: Duration,
    pub connect: Duration,
    pub tls: Duration,
    pub first_byte: Duration,
    pub total: Duration,
}

/// One request on a new connection, bounded by `timeout`: resolve,
/// connect, handshake, exchange, each timed.
pub async fn send_once(
    template: &RequestTemplate,
    tls: Option<TlsSetup>,
    want: Option<Version>,
    max_body: usize,
    timeout: Duration,
) -> Result<(Response, Timing), HttpError> {
    let exchange = async {
        let start = Instant::now();
        let addr = template.url.resolve().await?;
        let dns = start.elapsed();
        let ep = Endpoint {
            url: template.url.clone(),
            addr,
            tls,
            want,
        };
        let mut conn = connect(&ep).await?;
        let (response, first, last) = conn.exchange(template, max_body).await?;
        Ok((
            response,
            Timing {
                dns,
                connect: conn.connect,
                tls: conn.tls,
                first_byte: first.duration_since(start),
                total: last.duration_since(start),
            },
        ))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout {
            target: template.url.authority(),
            after: timeout,
        })?
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// A loopback server answering every request head with `reply`, after
    /// `delay`. Returns its address.
    pub(crate) async fn serve_after(reply: &'static [u8], delay: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Ok(n) = s.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        while let Some(i) = find(&buf, b"\r\n\r\n") {
                            buf.drain(..i + 4);
                            tokio::time::sleep(delay).await;
                            if s.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    pub(crate) async fn serve(reply: &'static [u8]) -> SocketAddr {
        serve_after(reply, Duration::ZERO).await
    }

    fn get(addr: SocketAddr) -> RequestTemplate {
        let url = Url::parse(&format!("http://127.0.0.1:{}/", addr.port())).unwrap();
        RequestTemplate::new("GET", url, &[], Vec::new()).unwrap()
    }

    #[test]
    fn requests_are_built_with_managed_headers() {
        let url = Url::parse("http://127.0.0.1:9/e?q").unwrap();
        let t = RequestTemplate::new(
            "post",
            url,
            &[("X-A".into(), "1".into()), ("Host".into(), "evil".into())],
            b"hi".to_vec(),
        )
        .unwrap();
        let r = t.build(Version::Http1);
        assert_eq!(
            (r.method().as_str(), r.uri().to_string()),
            ("POST", "/e?q".into())
        );
        assert_eq!(r.headers()["host"], "127.0.0.1:9");
        assert_eq!(r.headers()["content-length"], "2");
        assert_eq!(r.headers()["x-a"], "1");
        let r = t.build(Version::Http2);
        assert_eq!(r.uri().to_string(), "http://127.0.0.1:9/e?q");
        assert!(r.headers().get("host").is_none());
        let url = Url::parse("http://h/").unwrap();
        assert!(RequestTemplate::new("GE T", url.clone(), &[], vec![]).is_err());
        let split = [("a".into(), "b\r\nc".into())];
        assert!(RequestTemplate::new("GET", url, &split, vec![]).is_err());
    }

    #[tokio::test]
    async fn reads_length_chunked_bodies_and_cuts_what_is_kept() {
        let t = Duration::from_secs(5);
        let addr = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        let (r, timing) = send_once(&get(addr), None, None, 3, t).await.unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.body_bytes, r.version),
            (200, &b"hel"[..], 5, Version::Http1)
        );
        assert_eq!(timing.tls, Duration::ZERO);

        let addr = serve(
            b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nboom\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
        )
        .await;
        let ep = Endpoint {
            url: get(addr).url,
            addr,
            tls: None,
            want: None,
        };
        let mut conn = connect(&ep).await.unwrap();
        for _ in 0..2 {
            let (r, _, _) = conn.exchange(&get(addr), 100).await.unwrap();
            assert_eq!((r.status, r.body.as_slice()), (500, &b"boom!"[..]));
            assert!(conn.is_open().await);
        }
    }

    #[tokio::test]
    async fn an_interim_response_is_not_final() {
        let addr = serve(
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        )
        .await;
        let (r, _) = send_once(&get(addr), None, None, 10, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    }

    /// The phases are nested the way they are reported: a server that waits
    /// before answering moves the first byte, never the connect.
    #[tokio::test]
    async fn phases_add_up_and_a_slow_answer_shows_in_the_first_byte() {
        let delay = Duration::from_millis(200);
        let addr = serve_after(b"HTTP/1.1 204 No Content\r\n\r\n", delay).await;
        let (_, t) = send_once(&get(addr), None, None, 10, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(t.dns + t.connect + t.tls <= t.first_byte, "{t:?}");
        assert!(t.first_byte <= t.total, "{t:?}");
        // Measured at the request's write instead, it would be shorter.
        assert!(t.first_byte >= delay, "{t:?}");
    }

    #[tokio::test]
    async fn garbage_refused_connections_and_silence_are_errors() {
        let addr = serve(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let err = send_once(&get(addr), None, None, 10, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Protocol { .. }), "{err}");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = send_once(&get(addr), None, None, 10, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
        let addr = serve_after(b"", Duration::from_secs(30)).await;
        let err = send_once(&get(addr), None, None, 10, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
    }
}
