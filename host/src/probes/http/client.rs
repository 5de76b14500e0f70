//! A small HTTP/1.1 client over tokio's `TcpStream`: `http://` only,
//! `Content-Length`, chunked and close-delimited bodies, keep-alive. Like the
//! RESP client, it is hand-written so that a timed section holds the connect,
//! one write of the pre-encoded request and the read of the response, and
//! nothing else (no pool checkout, no channel to a connection task).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head (status line and headers) accepted.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers accepted in one response.
pub const MAX_HEADERS: usize = 128;
/// Body bytes kept for a guest; the rest is read and counted, not kept.
pub const MAX_BODY_KEPT: usize = 1024 * 1024;
/// Limit of one exchange when the caller gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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
    #[error("no complete response from {addr} within {after:?}")]
    Timeout { addr: SocketAddr, after: Duration },
    #[error("connection to {addr} broke: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("malformed response from {addr}: {reason}")]
    Protocol { addr: SocketAddr, reason: String },
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, HttpError> {
        let bad = |reason: &str| HttpError::InvalidUrl {
            url: text.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = text
            .strip_prefix("http://")
            .ok_or_else(|| bad("only `http://` URLs are supported"))?;
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        let target = target.split('#').next().unwrap_or("/").to_owned();
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
                None if after.is_empty() => 80,
                None => return Err(bad("unexpected text after `]`")),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_owned(),
                    p.parse().map_err(|_| bad("the port is not a number"))?,
                ),
                None => (authority.to_owned(), 80),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if port == 0 {
            return Err(bad("port 0"));
        }
        if target
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("spaces and control characters must be percent-encoded"));
        }
        Ok(Url {
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    /// The `Host` header value.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The first address the host name resolves to.
    pub async fn resolve(&self) -> Result<SocketAddr, HttpError> {
        let failed = |reason: String| HttpError::Resolve {
            host: self.host.clone(),
            reason,
        };
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| failed(e.to_string()))?;
        addrs
            .next()
            .ok_or_else(|| failed("no addresses".to_owned()))
    }
}

/// Encodes a request once, before any timing starts.
pub fn encode_request(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: bool,
) -> Result<Vec<u8>, HttpError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(HttpError::InvalidRequest(format!(
            "method `{method}` is not a token of letters (GET, POST, …)"
        )));
    }
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(method.to_ascii_uppercase().as_bytes());
    out.push(b' ');
    out.extend_from_slice(url.target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(url.authority().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        let managed = ["host", "content-length", "connection", "transfer-encoding"];
        if managed.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        if name.is_empty()
            || name.bytes().any(|b| !b.is_ascii_graphic() || b == b':')
            || value.bytes().any(|b| b == b'\r' || b == b'\n')
        {
            return Err(HttpError::InvalidRequest(format!(
                "header `{name}` has an invalid name or a line break in its value"
            )));
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty()
        || matches!(
            method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        )
    {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n".as_slice()
    } else {
        b"Connection: close\r\n\r\n".as_slice()
    });
    out.extend_from_slice(body);
    Ok(out)
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
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Times of one exchange, all from the start of the connect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    pub connect: Duration,
    pub first_byte: Duration,
    pub total: Duration,
}

/// An open connection with its read buffer.
pub struct Conn {
    pub addr: SocketAddr,
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, HttpError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| HttpError::Connect { addr, source })?;
        // Requests are written in one piece; Nagle would only add delay.
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            addr,
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
        })
    }

    /// Writes the encoded request and reads the response. Returns the
    /// response and when its first byte arrived.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        head_only: bool,
        max_body: usize,
    ) -> Result<(Response, Instant), HttpError> {
        let addr = self.addr;
        let io = |source| HttpError::Io { addr, source };
        self.buf.clear();
        self.stream.write_all(request).await.map_err(io)?;
        let first = self.fill().await?;
        let first_byte = Instant::now();
        if !first {
            return Err(HttpError::Io {
                addr,
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        let response = self.read_response(head_only, max_body).await?;
        Ok((response, first_byte))
    }

    /// Reads more bytes; `false` at end of stream.
    async fn fill(&mut self) -> Result<bool, HttpError> {
        self.buf.reserve(8 * 1024);
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|source| HttpError::Io {
                addr: self.addr,
                source,
            })?;
        Ok(n > 0)
    }

    fn protocol(&self, reason: impl Into<String>) -> HttpError {
        HttpError::Protocol {
            addr: self.addr,
            reason: reason.into(),
        }
    }

    async fn need(&mut self, what: &str) -> Result<(), HttpError> {
        if self.fill().await? {
            Ok(())
        } else {
            Err(self.protocol(format!("connection closed in the middle of {what}")))
        }
    }

    async fn read_response(
        &mut self,
        head_only: bool,
        max_body: usize,
    ) -> Result<Response, HttpError> {
        // Head.
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                return Err(self.protocol(format!(
                    "the response head is longer than {MAX_HEAD_BYTES} bytes"
                )));
            }
            self.need("the response head").await?;
        };
        let head = self.buf.split_to(head_end + 4);
        let text = std::str::from_utf8(&head[..head_end])
            .map_err(|_| self.protocol("the response head is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(self.protocol(format!("unexpected status line `{status_line}`")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| (100..1000).contains(s))
            .ok_or_else(|| self.protocol(format!("unexpected status line `{status_line}`")))?;
        let mut headers = Vec::new();
        for line in lines {
            if headers.len() >= MAX_HEADERS {
                return Err(self.protocol(format!("more than {MAX_HEADERS} headers")));
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| self.protocol(format!("malformed header line `{line}`")))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        let http10 = version == "HTTP/1.0";
        let mut keep_alive = match get("connection").as_deref() {
            Some(v) if v.contains("close") => false,
            Some(v) if v.contains("keep-alive") => true,
            _ => !http10,
        };
        let chunked = get("transfer-encoding").is_some_and(|v| v.contains("chunked"));
        let length = get("content-length")
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| self.protocol(format!("bad Content-Length `{v}`")))
            })
            .transpose()?;

        // Body.
        let mut body = Vec::new();
        let mut body_bytes = 0u64;
        let mut keep = |data: &[u8], body_bytes: &mut u64| {
            *body_bytes += data.len() as u64;
            let room = max_body.saturating_sub(body.len());
            body.extend_from_slice(&data[..data.len().min(room)]);
        };
        let no_body = head_only || status < 200 || status == 204 || status == 304;
        if no_body {
        } else if chunked {
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    if self.buf.len() > 1024 {
                        return Err(self.protocol("a chunk size line is too long"));
                    }
                    self.need("a chunked body").await?;
                };
                let size_text = std::str::from_utf8(&self.buf[..line_end]).unwrap_or("?");
                let size_text = size_text.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16)
                    .map_err(|_| self.protocol(format!("bad chunk size `{size_text}`")))?;
                self.buf.advance(line_end + 2);
                if size == 0 {
                    // Trailers, up to the empty line.
                    loop {
                        if let Some(i) = find(&self.buf, b"\r\n") {
                            let empty = i == 0;
                            self.buf.advance(i + 2);
                            if empty {
                                break;
                            }
                        } else {
                            if self.buf.len() > MAX_HEAD_BYTES {
                                return Err(self.protocol("trailers are too long"));
                            }
                            self.need("the chunked trailer").await?;
                        }
                    }
                    break;
                }
                let mut left = size;
                while left > 0 {
                    if self.buf.is_empty() {
                        self.need("a chunk").await?;
                    }
                    let take = (self.buf.len() as u64).min(left) as usize;
                    keep(&self.buf[..take], &mut body_bytes);
                    self.buf.advance(take);
                    left -= take as u64;
                }
                while self.buf.len() < 2 {
                    self.need("a chunk's end").await?;
                }
                if &self.buf[..2] != b"\r\n" {
                    return Err(self.protocol("a chunk does not end with CRLF"));
                }
                self.buf.advance(2);
            }
        } else if let Some(length) = length {
            let mut left = length;
            while left > 0 {
                if self.buf.is_empty() {
                    self.need("the body").await?;
                }
                let take = (self.buf.len() as u64).min(left) as usize;
                keep(&self.buf[..take], &mut body_bytes);
                self.buf.advance(take);
                left -= take as u64;
            }
        } else {
            // Delimited by the end of the connection.
            keep_alive = false;
            loop {
                keep(&self.buf[..], &mut body_bytes);
                self.buf.clear();
                if !self.fill().await? {
                    break;
                }
            }
        }
        Ok(Response {
            status,
            headers,
            body,
            body_bytes,
            keep_alive,
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One request on a new connection, bounded by `timeout`, timed from the
/// start of the connect.
pub async fn send_once(
    addr: SocketAddr,
    request: &[u8],
    head_only: bool,
    max_body: usize,
    timeout: Duration,
) -> Result<(Response, Timing), HttpError> {
    let exchange = async {
        let start = Instant::now();
        let mut conn = Conn::connect(addr).await?;
        let connect = start.elapsed();
        let (response, first_byte) = conn.exchange(request, head_only, max_body).await?;
        let total = start.elapsed();
        Ok((
            response,
            Timing {
                connect,
                first_byte: first_byte.duration_since(start),
                total,
            },
        ))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout {
            addr,
            after: timeout,
        })?
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A loopback server answering every connection with `reply` after
    /// reading one request head. Returns its address.
    pub(crate) async fn serve(reply: &'static [u8]) -> SocketAddr {
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

    #[test]
    fn urls_parse_and_bad_ones_are_rejected() {
        let u = Url::parse("http://127.0.0.1:8080/items?id=3").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("127.0.0.1", 8080, "/items?id=3")
        );
        assert_eq!(u.authority(), "127.0.0.1:8080");
        let u = Url::parse("http://Example.com").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("example.com", 80, "/")
        );
        assert_eq!(Url::parse("http://h?q=1").unwrap().target, "/?q=1");
        assert_eq!(Url::parse("http://[::1]:81/x").unwrap().host, "::1");
        for bad in [
            "https://x/",
            "http://",
            "http://h:port/",
            "http://u@h/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_are_encoded_with_managed_headers() {
        let u = Url::parse("http://127.0.0.1:9/e").unwrap();
        let r = encode_request(
            "post",
            &u,
            &[("X-A".into(), "1".into()), ("Host".into(), "evil".into())],
            b"hi",
            false,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "POST /e HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        );
        assert!(encode_request("GE T", &u, &[], b"", true).is_err());
        assert!(encode_request("GET", &u, &[("a".into(), "b\r\nc".into())], b"", true).is_err());
    }

    #[tokio::test]
    async fn reads_length_chunked_and_close_delimited_bodies() {
        let u = Url::parse("http://127.0.0.1/").unwrap();
        let req = encode_request("GET", &u, &[], b"", true).unwrap();
        let t = Duration::from_secs(5);

        let addr = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        let (r, timing) = send_once(addr, &req, false, 3, t).await.unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.body_bytes),
            (200, &b"hel"[..], 5)
        );
        assert!(timing.connect <= timing.first_byte && timing.first_byte <= timing.total);

        let addr = serve(
            b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nboom\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
        )
        .await;
        let mut conn = Conn::connect(addr).await.unwrap();
        for _ in 0..2 {
            let (r, _) = conn.exchange(&req, false, 100).await.unwrap();
            assert_eq!((r.status, r.body.as_slice()), (500, &b"boom!"[..]));
            assert!(r.keep_alive);
        }

        let addr = serve(b"HTTP/1.0 404 Not Found\r\n\r\ngone").await;
        // The test server never closes, so a close-delimited body times out...
        let err = send_once(addr, &req, false, 100, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
        // ...but a HEAD response has no body at all.
        let (r, _) = send_once(addr, &req, true, 100, t).await.unwrap();
        assert_eq!(r.status, 404);
        assert!(!r.keep_alive);
    }

    #[tokio::test]
    async fn garbage_and_refused_connections_are_errors() {
        let u = Url::parse("http://127.0.0.1/").unwrap();
        let req = encode_request("GET", &u, &[], b"", false).unwrap();
        let addr = serve(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let err = send_once(addr, &req, false, 10, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Protocol { .. }), "{err}");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let err = send_once(addr, &req, false, 10, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
    }
}
