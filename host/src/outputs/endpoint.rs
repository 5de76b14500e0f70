//! Where a live output sends: the endpoint URL split into what is dialled
//! and what authenticates, a redacted form for reports and logs, and one
//! bounded HTTP/1.1 POST over TCP or TLS.
//!
//! Credentials (`user:password@` in the URL, the query string, which often
//! carries an API key) are kept out of everything printed: the only text
//! form of an [`Endpoint`] is [`Endpoint::redacted`], and transport errors
//! are worded from their kind, never from the URL.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::net::TcpStream;

use crate::tls::{MaybeTlsStream, TlsTrust};

/// Longest endpoint URL accepted (bytes).
pub const MAX_URL_LEN: usize = 4096;
/// Most of a response body read (for an error message); the rest is discarded.
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// Why an endpoint URL was refused. No variant carries the URL itself: it
/// may hold credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("the URL is empty")]
    Empty,
    #[error("the URL is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    #[error("the URL must start with http:// or https://")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL's port is not a number from 1 to 65535")]
    Port,
    #[error("the URL's host has an unclosed `[`")]
    Bracket,
}

/// A parsed endpoint. Its `Debug` and `Display` print the redacted form.
#[derive(Clone)]
pub struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query, as sent in the request line.
    target: String,
    /// `Authorization: Basic …` value, from the URL's user information.
    authorization: Option<String>,
    redacted: String,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl Endpoint {
    /// Parses `http[s]://[user[:password]@]host[:port][/path][?query]`.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(EndpointError::Empty);
        }
        if url.len() > MAX_URL_LEN {
            return Err(EndpointError::TooLong);
        }
        let (tls, rest) = match url.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => (false, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => (true, rest),
            _ => return Err(EndpointError::Scheme),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let cut = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(cut);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let default_port = if tls { 443 } else { 80 };
        let (host, port) =
            crate::probes::net::split_authority(hostport, default_port).map_err(|e| match e {
                crate::probes::net::AuthorityError::UnclosedBracket
                | crate::probes::net::AuthorityError::TextAfterBracket => EndpointError::Bracket,
                crate::probes::net::AuthorityError::BadPort => EndpointError::Port,
            })?;
        if host.is_empty() {
            return Err(EndpointError::NoHost);
        }
        if port == 0 {
            return Err(EndpointError::Port);
        }
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        let authorization = userinfo.map(|u| {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            let pair = format!("{}:{}", percent_decode(user), percent_decode(password));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let shown_host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let (path, query) = match target.split_once('?') {
            Some((p, _)) => (p, "?…"),
            None => (target.as_str(), ""),
        };
        let redacted = format!(
            "{}://{}{shown_host}:{port}{path}{query}",
            if tls { "https" } else { "http" },
            if userinfo.is_some() { "…@" } else { "" },
        );
        Ok(Self {
            tls,
            host,
            port,
            target,
            authorization,
            redacted,
        })
    }

    /// The URL with its credentials and query string replaced by `…`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// POSTs `body` with `headers`, the whole exchange bounded by `timeout`.
    /// Returns the response status; a non-2xx status is an error carrying
    /// the start of the response body.
    pub async fn post(
        &self,
        client: &Client,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<u16, SendError> {
        tokio::time::timeout(timeout, self.exchange(client, headers, body))
            .await
            .map_err(|_| SendError::Timeout(timeout))?
    }

    async fn exchange(
        &self,
        client: &Client,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<u16, SendError> {
        let addr = crate::probes::net::resolve_first(&self.host, self.port)
            .await
            .map_err(|_| SendError::Resolve)?;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| SendError::Connect(e.kind()))?;
        let _ = tcp.set_nodelay(true);
        let stream = if self.tls {
            let config = client.tls_config()?;
            let name = crate::tls::server_name(&self.host).map_err(|_| SendError::Tls)?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|_| SendError::Tls)?;
            MaybeTlsStream::Tls(Box::new(tls))
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|_| SendError::Http)?;
        let conn = tokio::spawn(conn);
        let authority = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut request = http::Request::post(self.target.as_str())
            .header(http::header::HOST, authority)
            .header(
                http::header::USER_AGENT,
                concat!("rigor/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(auth) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, auth.as_str());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body)).map_err(|_| SendError::Http)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| SendError::Http)?;
        let status = response.status().as_u16();
        let mut text = Vec::new();
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Some(data) = frame.data_ref() {
                let room = MAX_RESPONSE_BYTES.saturating_sub(text.len());
                text.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        conn.abort();
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            let text = String::from_utf8_lossy(&text);
            Err(SendError::Status {
                status,
                body: text.trim().chars().take(200).collect(),
            })
        }
    }
}

/// What a live output keeps between sends: the TLS configuration, built on
/// the first `https://` send.
#[derive(Clone, Default)]
pub struct Client {
    trust: TlsTrust,
    config: Arc<std::sync::OnceLock<Arc<rustls::ClientConfig>>>,
}

impl Client {
    pub fn new(trust: TlsTrust) -> Self {
        Self {
            trust,
            config: Default::default(),
        }
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, SendError> {
        if let Some(c) = self.config.get() {
            return Ok(c.clone());
        }
        let config = self
            .trust
            .client_config(None, &[crate::tls::ALPN_HTTP1])
            .map_err(|_| SendError::Tls)?;
        Ok(self.config.get_or_init(|| config).clone())
    }
}

/// Why one batch was not delivered. Worded from the failure's kind only, so
/// nothing of the URL can leak into a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the endpoint's host name did not resolve")]
    Resolve,
    #[error("cannot connect to the endpoint ({0})")]
    Connect(std::io::ErrorKind),
    #[error("the TLS handshake with the endpoint failed")]
    Tls,
    #[error("the HTTP exchange with the endpoint failed")]
    Http,
    #[error("the endpoint did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the endpoint answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
}

/// Decodes `%XX` escapes (user information may hold reserved characters).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_query_never_show_in_the_redacted_form() {
        let e = Endpoint::parse("https://alice:s3cr%40t@prom.example:9443/api/v1/write?token=k3y")
            .unwrap();
        let shown = format!("{e} {e:?} {}", e.redacted());
        for secret in ["alice", "s3cr", "k3y", "token"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(e.redacted(), "https://…@prom.example:9443/api/v1/write?…");
        assert_eq!(e.target, "/api/v1/write?token=k3y");
        let expected = base64::engine::general_purpose::STANDARD.encode("alice:s3cr@t");
        assert_eq!(e.authorization, Some(format!("Basic {expected}")));
    }

    #[test]
    fn defaults_and_refusals() {
        let e = Endpoint::parse("http://[::1]").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.target.as_str()),
            ("::1", 80, "/")
        );
        assert_eq!(e.redacted(), "http://[::1]:80/");
        assert!(matches!(
            Endpoint::parse("ftp://x"),
            Err(EndpointError::Scheme)
        ));
        assert!(matches!(
            Endpoint::parse("http://:9/"),
            Err(EndpointError::NoHost)
        ));
        assert!(matches!(
            Endpoint::parse("http://h:0/"),
            Err(EndpointError::Port)
        ));
        assert!(matches!(
            Endpoint::parse("http://h:99999/"),
            Err(EndpointError::Port)
        ));
        assert!(matches!(Endpoint::parse(""), Err(EndpointError::Empty)));
        let long = format!("http://h/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(
            Endpoint::parse(&long),
            Err(EndpointError::TooLong)
        ));
    }
}
