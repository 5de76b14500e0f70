//! One async Redis connection built for latency measurement.
//!
//! The client owns a `TcpStream` (Nagle off) plus a read and a write buffer
//! that are reused across calls. A timed call encodes the command before the
//! clock starts; the timed section is then one `write_all` of the pre-encoded
//! bytes and the reads needed until the reply is complete (checked with the
//! allocation-free [`resp::reply_len`]). The clock stops before the [`Reply`]
//! is built, so building it is never part of a measurement.
//!
//! Any I/O error, protocol error, timeout or cancelled call leaves the
//! connection marked broken: replies could no longer be matched to requests,
//! so the client refuses further use and the caller reconnects.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::probes::redis::resp::{self, ProtocolError, Reply};
use crate::probes::redis::stream::{TlsConnect, TlsFailure};
use crate::tls::MaybeTlsStream;

/// Port used when a URL names none.
pub const DEFAULT_PORT: u16 = 6379;

/// Per-request timeout until [`Client::set_op_timeout`] changes it.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(30);

/// Free space guaranteed before every read: one read takes a whole typical
/// reply, and a 100 KB value needs only a handful of reads.
const READ_CHUNK: usize = 16 * 1024;

/// Below this much free space the read buffer is grown before reading, so no
/// read is wasted on a sliver of space.
const MIN_READ_SPACE: usize = 4 * 1024;

/// Most reply bytes buffered for one call before giving up: two maximal bulk
/// strings. Bounds memory if a peer streams data that never completes a reply.
pub const MAX_BUFFERED_REPLY: usize = 2 * resp::MAX_BULK_LEN;

/// Buffers that grew past this (one huge value) are given back after the call
/// instead of being kept for the connection's lifetime.
const RETAINED_BUFFER: usize = 1024 * 1024;

/// Keys per UNLINK in [`Client::clear_prefix`]: large enough to keep round
/// trips few, small enough not to block the server noticeably.
const UNLINK_BATCH: usize = 1000;

/// Parsed `redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: u32,
    /// `rediss://`: the connection is TLS, verified against `host`.
    pub tls: bool,
    /// The trust and client identity a `rediss://` target connects with,
    /// attached by the run ([`RedisUrl::with_tls`]); without it the system
    /// roots alone are trusted.
    pub tls_connect: Option<TlsConnect>,
}

/// What went wrong, where, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error(
        "invalid redis URL `{url}`: {reason}; expected redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]"
    )]
    InvalidUrl { url: String, reason: String },
    #[error(
        "could not connect to redis at {addr}: {source}; check that a Redis server is listening there and the host and port are right"
    )]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "redis at {addr} did not complete {what} within {after:?}; the server may be overloaded, blocked or unreachable (the connection was dropped; reconnect to retry)"
    )]
    Timeout {
        addr: String,
        after: Duration,
        what: &'static str,
    },
    #[error(
        "I/O error talking to redis at {addr}: {source}; the connection is unusable, reconnect (was the server stopped or restarted?)"
    )]
    Io {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "redis at {addr} sent data that is not a valid RESP2 reply: {source}; check that {addr} is a Redis server and not some other service"
    )]
    Protocol { addr: String, source: ProtocolError },
    #[error(
        "authentication to redis at {addr} failed: {message}; check the user name and password in the redis URL"
    )]
    Auth { addr: String, message: String },
    #[error(
        "the connection to redis at {addr} is closed (the server closed it, or an earlier error left it unusable); open a new connection"
    )]
    Closed { addr: String },
    #[error(
        "TLS verification failed for redis at {addr}: the server's certificate was not accepted ({reason}); if it is signed by a private CA, pass that CA with --ca-file PEM, and check that the URL's host is a name the certificate is issued for"
    )]
    TlsVerify { addr: String, reason: String },
    #[error(
        "TLS handshake with redis at {addr} failed: {reason}; if the server requires a client certificate, give one with --redis-cert NAME=CERT,KEY; check that {addr} is a TLS port (rediss://) and not a plaintext one"
    )]
    TlsHandshake { addr: String, reason: String },
    #[error("cannot set up TLS for redis at {addr}: {reason}")]
    TlsSetup { addr: String, reason: String },
    #[error(
        "CROSSSLOT the keys of this call are in different hash slots ({first} and {other}) of the redis cluster at {addr}; in a cluster every key of one command must be in one slot: give them a common hash tag, e.g. `{{user1}}:a` and `{{user1}}:b`, or send one command per key"
    )]
    CrossSlot {
        addr: String,
        first: u16,
        other: u16,
    },
    #[error(
        "refusing to follow the redis cluster at {addr} to {to}: {why}; a redirect may only lead to a node the target's cluster announced when the connection opened (open a new connection after a topology change)"
    )]
    RedirectRefused {
        addr: String,
        to: String,
        why: &'static str,
    },
    /// The server answered a command the client issues itself (SELECT, SCAN,
    /// UNLINK) with an error, or a call was refused before being sent.
    #[error("redis at {addr} could not run {command}: {message}")]
    Command {
        addr: String,
        command: &'static str,
        message: String,
    },
}

impl RedisUrl {
    /// Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`. User and password
    /// may be percent-encoded; IPv6 hosts go in brackets.
    pub fn parse(s: &str) -> Result<RedisUrl, RedisError> {
        let invalid = |reason: &str| RedisError::InvalidUrl {
            url: redact_raw_url(s),
            reason: reason.to_string(),
        };
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(invalid("it has no redis:// scheme"));
        };
        let tls = scheme.eq_ignore_ascii_case("rediss");
        if !tls && !scheme.eq_ignore_ascii_case("redis") {
            return Err(invalid("the scheme must be redis:// or rediss:// (TLS)"));
        }
        // Split user info at the last '@' first, so an unencoded '@' or '/' in
        // a password does not cut the URL in the wrong place.
        let (userinfo, rest) = match rest.rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        if rest.contains(['?', '#']) {
            return Err(invalid("query strings and fragments are not supported"));
        }
        let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));

        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let Some((user, pass)) = info.split_once(':') else {
                    return Err(invalid(
                        "a user name needs a password (write redis://:PASSWORD@HOST or redis://USER:PASSWORD@HOST)",
                    ));
                };
                let user =
                    percent_decode(user).ok_or_else(|| invalid("bad %-escape in user name"))?;
                let pass =
                    percent_decode(pass).ok_or_else(|| invalid("bad %-escape in password"))?;
                (
                    Some(user).filter(|u| !u.is_empty()),
                    Some(pass).filter(|p| !p.is_empty()),
                )
            }
        };
        if username.is_some() && password.is_none() {
            return Err(invalid("a user name needs a password"));
        }

        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let Some((host, after)) = bracketed.split_once(']') else {
                return Err(invalid("unclosed '[' in IPv6 host"));
            };
            match after {
                "" => (host, None),
                p => match p.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(invalid("unexpected text after ']'")),
                },
            }
        } else {
            match hostport.split_once(':') {
                Some((_, port)) if port.contains(':') => {
                    return Err(invalid(
                        "IPv6 hosts must be in brackets, e.g. redis://[::1]:6379",
                    ));
                }
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port != 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
                _ => return Err(invalid("the port must be a number from 1 to 65535")),
            },
        };
        let db = match path {
            "" => 0,
            p if p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u32>()
                .map_err(|_| invalid("the database number is too large"))?,
            _ => return Err(invalid("the path must be a database number, e.g. /0")),
        };
        Ok(RedisUrl {
            host: host.to_string(),
            port,
            username,
            password,
            db,
            tls,
            tls_connect: None,
        })
    }

    /// The same target, connecting over TLS with `connect` (a `redis://`
    /// URL is returned unchanged).
    pub fn with_tls(mut self, connect: TlsConnect) -> Self {
        if self.tls {
            self.tls_connect = Some(connect);
        }
        self
    }

    /// The same credentials, TLS setup and database at another node (a
    /// cluster redirect).
    pub fn at(&self, host: &str, port: u16) -> Self {
        let mut url = self.clone();
        url.host = host.to_owned();
        url.port = port;
        url
    }

    /// `host:port`, with brackets around IPv6 hosts; used to connect and in messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Shows the URL with the password replaced by `***`, so it is safe to log.
impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls { "rediss://" } else { "redis://" })?;
        match (&self.username, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (None, Some(_)) => f.write_str(":***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            (None, None) => {}
        }
        f.write_str(&self.addr())?;
        if self.db != 0 {
            write!(f, "/{}", self.db)?;
        }
        Ok(())
    }
}

/// Debug shows the same redacted form as Display.
impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// Hides whatever may be a password in a URL we failed to parse.
fn redact_raw_url(s: &str) -> String {
    let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
        // Not URL-shaped: it might be a bare password, so show none of it.
        return "<not shown>".to_string();
    };
    let rest = &s[scheme_end..];
    match rest.rfind('@') {
        None => s.to_string(),
        Some(at) => {
            let info = &rest[..at];
            let shown = match info.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => "***".to_string(),
            };
            format!("{}{shown}{}", &s[..scheme_end], &rest[at..])
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Why the timed exchange failed; turned into a [`RedisError`] with the address.
enum Failure {
    Io(std::io::Error),
    Closed,
    Protocol(ProtocolError),
    Timeout,
}

/// One connection. Not shareable: one request at a time, like redis-benchmark's `-c 1`.
pub struct Client {
    stream: MaybeTlsStream,
    addr: String,
    rbuf: BytesMut,
    wbuf: BytesMut,
    op_timeout: Duration,
    /// Most reply bytes buffered for one exchange.
    reply_limit: usize,
    broken: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr)
            .field("op_timeout", &self.op_timeout)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects, then sends AUTH (if the URL has a password) and SELECT (if
    /// the database is not 0). `timeout` bounds each of those steps.
    pub async fn connect(url: &RedisUrl, timeout: Duration) -> Result<Client, RedisError> {
        let addr = url.addr();
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr.as_str())).await {
            Err(_) => {
                return Err(RedisError::Timeout {
                    addr,
                    after: timeout,
                    what: "connect",
                });
            }
            Ok(Err(source)) => return Err(RedisError::Connect { addr, source }),
            Ok(Ok(stream)) => stream,
        };
        // Without this, Nagle's algorithm can hold small requests back and add
        // tens of milliseconds to a measurement.
        if let Err(source) = stream.set_nodelay(true) {
            return Err(RedisError::Connect { addr, source });
        }
        let stream = if url.tls {
            let connect = url.tls_connect.clone().unwrap_or_else(system_trust);
            match tokio::time::timeout(timeout, connect.handshake(stream, &url.host)).await {
                Err(_) => {
                    return Err(RedisError::Timeout {
                        addr,
                        after: timeout,
                        what: "the TLS handshake",
                    });
                }
                Ok(Err(failure)) => return Err(tls_error(addr, failure)),
                Ok(Ok(tls)) => MaybeTlsStream::Tls(Box::new(tls)),
            }
        } else {
            MaybeTlsStream::Plain(stream)
        };
        let mut client = Client {
            stream,
            addr,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::with_capacity(READ_CHUNK),
            op_timeout: timeout,
            reply_limit: MAX_BUFFERED_REPLY,
            broken: false,
        };
        if let Some(password) = &url.password {
            let reply = match &url.username {
                Some(user) => {
                    client
                        .request(&[b"AUTH", user.as_bytes(), password.as_bytes()])
                        .await?
                }
                None => client.request(&[b"AUTH", password.as_bytes()]).await?,
            };
            match reply {
                Reply::Status(_) => {}
                Reply::Error(message) => {
                    return Err(RedisError::Auth {
                        addr: client.addr,
                        message,
                    });
                }
                other => {
                    return Err(RedisError::Auth {
                        addr: client.addr,
                        message: format!("unexpected reply {other:?}"),
                    });
                }
            }
        }
        if url.db != 0 {
            let db = url.db.to_string();
            match client.request(&[b"SELECT", db.as_bytes()]).await? {
                Reply::Status(_) => {}
                Reply::Error(message) => return Err(client.command_error("SELECT", message)),
                other => return Err(client.unexpected("SELECT", &other)),
            }
        }
        if url.tls && url.password.is_none() && url.db == 0 {
            // TLS 1.3 completes the client's side of the handshake before
            // the server has checked our certificate: a refusal (a client
            // certificate required and not given) arrives with the first
            // reply. One PING here makes it a connect error, not the failure
            // of the guest's first timed command.
            match client.request(&[b"PING"]).await? {
                Reply::Status(_) | Reply::Error(_) => {}
                other => return Err(client.unexpected("PING", &other)),
            }
        }
        client.op_timeout = DEFAULT_OP_TIMEOUT;
        Ok(client)
    }

    /// The connection, after AUTH/SELECT, for a caller that drives the
    /// protocol itself (the shared connection of a load).
    pub fn into_stream(self) -> MaybeTlsStream {
        self.stream
    }

    /// Address this client talks to (`host:port`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one command and returns its reply. Error replies are `Ok(Reply::Error)`.
    pub async fn request(&mut self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        self.timed_request(args).await.map(|(reply, _)| reply)
    }

    /// Encodes first, then times ONLY the write and the reads until the reply is
    /// complete; returns the reply and that elapsed time.
    pub async fn timed_request(&mut self, args: &[&[u8]]) -> Result<(Reply, Duration), RedisError> {
        if args.is_empty() {
            // Redis silently ignores an empty command, so we would wait for a
            // reply that never comes.
            return Err(self.command_error("an empty command", "nothing to send".into()));
        }
        self.wbuf.clear();
        resp::encode_command(&mut self.wbuf, args);
        let elapsed = self.exchange(1, "a request").await?;
        let reply = self.take_reply()?;
        self.release_large_buffers();
        Ok((reply, elapsed))
    }

    /// Sends all commands in one write and reads all replies; one duration for
    /// the whole batch, timed like [`Client::timed_request`].
    pub async fn pipeline(
        &mut self,
        commands: &[Vec<&[u8]>],
    ) -> Result<(Vec<Reply>, Duration), RedisError> {
        if commands.is_empty() {
            return Ok((Vec::new(), Duration::ZERO));
        }
        if commands.iter().any(|c| c.is_empty()) {
            return Err(self.command_error("a pipeline", "it contains an empty command".into()));
        }
        self.wbuf.clear();
        for command in commands {
            resp::encode_command(&mut self.wbuf, command);
        }
        let elapsed = self.exchange(commands.len(), "a pipeline").await?;
        let mut replies = Vec::with_capacity(commands.len());
        for _ in 0..commands.len() {
            replies.push(self.take_reply()?);
        }
        self.release_large_buffers();
        Ok((replies, elapsed))
    }

    /// Sends the `count` commands that `encode` appends to the request
    /// buffer in one write, times until all `count` replies are in (the
    /// timed section holds nothing else), then hands each reply to `each`
    /// in order. The load generator's hot path: no per-command allocation.
    pub async fn timed_batch(
        &mut self,
        count: usize,
        encode: impl FnOnce(&mut BytesMut),
        mut each: impl FnMut(Option<&str>),
    ) -> Result<Duration, RedisError> {
        if count == 0 {
            return Ok(Duration::ZERO);
        }
        self.wbuf.clear();
        encode(&mut self.wbuf);
        if self.wbuf.is_empty() {
            return Err(self.command_error("a batch", "nothing was encoded".into()));
        }
        let elapsed = self.exchange(count, "a batch").await?;
        // The replies were validated by the exchange; a load only needs to
        // know which ones are errors, so nothing is decoded or copied.
        let mut pos = 0;
        for _ in 0..count {
            let len = match resp::reply_len(&self.rbuf[pos..]) {
                Ok(Some(len)) => len,
                _ => {
                    let failure = Failure::Protocol(ProtocolError::UnexpectedReply {
                        command: "a batch",
                        got: "fewer complete replies than the exchange counted".into(),
                    });
                    return Err(self.fail(failure, "a batch"));
                }
            };
            if self.rbuf[pos] == b'-' {
                let line = &self.rbuf[pos + 1..pos + len - 2];
                each(Some(&String::from_utf8_lossy(line)));
            } else {
                each(None);
            }
            pos += len;
        }
        self.rbuf.clear();
        self.release_large_buffers();
        Ok(elapsed)
    }

    /// The first half of a batch spread over several connections (a
    /// cluster's nodes): writes the `count` commands `encode` appends,
    /// without waiting. [`Client::receive_batch`] completes it; until then
    /// the connection counts as broken, so an abandoned batch is never
    /// mistaken for a finished one.
    pub async fn send_batch(
        &mut self,
        count: usize,
        encode: impl FnOnce(&mut BytesMut),
    ) -> Result<(), RedisError> {
        if self.broken {
            return Err(RedisError::Closed {
                addr: self.addr.clone(),
            });
        }
        self.wbuf.clear();
        encode(&mut self.wbuf);
        if count == 0 || self.wbuf.is_empty() {
            return Err(self.command_error("a batch", "nothing was encoded".into()));
        }
        self.rbuf.reserve(READ_CHUNK);
        self.broken = true;
        let write = write_request(&mut self.stream, &self.wbuf);
        let result = match tokio::time::timeout(self.op_timeout, write).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Timeout),
        };
        result.map_err(|f| self.fail(f, "a batch"))
    }

    /// Reads the `count` replies of [`Client::send_batch`] and hands each to
    /// `each` in order (the error line of an error reply, `None` otherwise).
    pub async fn receive_batch(
        &mut self,
        count: usize,
        mut each: impl FnMut(Option<&str>),
    ) -> Result<(), RedisError> {
        let read = read_replies(&mut self.stream, &mut self.rbuf, count, self.reply_limit);
        let result = match tokio::time::timeout(self.op_timeout, read).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Timeout),
        };
        if let Err(f) = result {
            return Err(self.fail(f, "a batch"));
        }
        self.broken = false;
        let mut pos = 0;
        for _ in 0..count {
            let Ok(Some(len)) = resp::reply_len(&self.rbuf[pos..]) else {
                let failure = Failure::Protocol(ProtocolError::UnexpectedReply {
                    command: "a batch",
                    got: "fewer complete replies than were read".into(),
                });
                return Err(self.fail(failure, "a batch"));
            };
            if self.rbuf[pos] == b'-' {
                each(Some(&String::from_utf8_lossy(
                    &self.rbuf[pos + 1..pos + len - 2],
                )));
            } else {
                each(None);
            }
            pos += len;
        }
        self.rbuf.clear();
        self.release_large_buffers();
        Ok(())
    }

    /// Deletes every key starting with `prefix` (SCAN MATCH + UNLINK in
    /// batches) and returns how many were removed. Glob metacharacters in the
    /// prefix are escaped, and each key is checked against the prefix again
    /// before it is deleted. Never uses FLUSHALL/FLUSHDB; refuses an empty
    /// prefix, which would delete everything.
    pub async fn clear_prefix(&mut self, prefix: &str) -> Result<u64, RedisError> {
        self.clear_prefix_on(prefix, false).await
    }

    /// [`Client::clear_prefix`] on one master of a cluster, where one
    /// UNLINK may only name keys of one hash slot.
    pub async fn clear_prefix_per_slot(&mut self, prefix: &str) -> Result<u64, RedisError> {
        self.clear_prefix_on(prefix, true).await
    }

    async fn clear_prefix_on(&mut self, prefix: &str, per_slot: bool) -> Result<u64, RedisError> {
        if prefix.is_empty() {
            return Err(self.command_error(
                "clear_prefix",
                "refusing an empty prefix, which would delete every key".into(),
            ));
        }
        let pattern = glob_pattern_for_prefix(prefix);
        let mut cursor = Bytes::from_static(b"0");
        let mut removed = 0u64;
        let mut delete_command: &'static [u8] = b"UNLINK";
        loop {
            let reply = self
                .request(&[
                    b"SCAN",
                    &cursor,
                    b"MATCH",
                    pattern.as_bytes(),
                    b"COUNT",
                    b"1000",
                ])
                .await?;
            let (next, keys) = match reply {
                Reply::Array(mut items) if items.len() == 2 => match (items.pop(), items.pop()) {
                    (Some(Reply::Array(keys)), Some(Reply::Bulk(next))) => (next, keys),
                    (keys, next) => {
                        let got = format!("cursor {next:?}, keys {keys:?}");
                        return Err(self.unexpected_text("SCAN", got));
                    }
                },
                Reply::Error(message) => return Err(self.command_error("SCAN", message)),
                other => return Err(self.unexpected("SCAN", &other)),
            };
            let mut batch: Vec<Bytes> = Vec::with_capacity(keys.len());
            for key in keys {
                match key {
                    Reply::Bulk(k) if k.starts_with(prefix.as_bytes()) => batch.push(k),
                    Reply::Bulk(_) => {}
                    other => return Err(self.unexpected("SCAN", &other)),
                }
            }
            if per_slot {
                removed += self.unlink_per_slot(batch).await?;
                if &next[..] == b"0" {
                    return Ok(removed);
                }
                cursor = next;
                continue;
            }
            for chunk in batch.chunks(UNLINK_BATCH) {
                let mut args: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 1);
                args.push(delete_command);
                args.extend(chunk.iter().map(|k| k.as_ref()));
                let mut reply = self.request(&args).await?;
                if matches!(&reply, Reply::Error(m) if m.starts_with("ERR unknown command")) {
                    // Redis before 4.0 has no UNLINK.
                    delete_command = b"DEL";
                    args[0] = delete_command;
                    reply = self.request(&args).await?;
                }
                match reply {
                    Reply::Integer(n) => removed += u64::try_from(n).unwrap_or(0),
                    Reply::Error(message) => return Err(self.command_error("UNLINK", message)),
                    other => return Err(self.unexpected("UNLINK", &other)),
                }
            }
            if &next[..] == b"0" {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// UNLINKs `keys` grouped by hash slot, the groups in one pipeline.
    async fn unlink_per_slot(&mut self, mut keys: Vec<Bytes>) -> Result<u64, RedisError> {
        use crate::probes::redis::cluster::slots::key_slot;
        keys.sort_by_key(|k| key_slot(k));
        let mut commands: Vec<Vec<&[u8]>> = Vec::new();
        let mut current = None;
        for key in &keys {
            let slot = key_slot(key);
            if current != Some(slot) || commands.last().is_some_and(|c| c.len() > UNLINK_BATCH) {
                commands.push(vec![b"UNLINK"]);
                current = Some(slot);
            }
            commands.last_mut().expect("pushed above").push(key);
        }
        let mut removed = 0;
        let (replies, _) = self.pipeline(&commands).await?;
        for reply in replies {
            match reply {
                Reply::Integer(n) => removed += u64::try_from(n).unwrap_or(0),
                Reply::Error(message) => return Err(self.command_error("UNLINK", message)),
                other => return Err(self.unexpected("UNLINK", &other)),
            }
        }
        Ok(removed)
    }

    /// Most reply bytes one exchange may buffer (default
    /// [`MAX_BUFFERED_REPLY`]): a load sets what its budget was charged for,
    /// so a server answering with more than that is an error, not memory.
    pub fn set_reply_limit(&mut self, bytes: usize) {
        self.reply_limit = bytes.clamp(READ_CHUNK, MAX_BUFFERED_REPLY);
    }

    /// Per-request timeout (default 30 s). On timeout the connection is marked
    /// broken. `Duration::MAX` disables the timer entirely.
    pub fn set_op_timeout(&mut self, t: Duration) {
        self.op_timeout = t;
    }

    /// True after an I/O error, protocol error, timeout or cancelled call: the
    /// next reply could belong to an earlier request, so the connection must
    /// not be used again.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Runs the timed exchange for `replies` replies to the encoded `wbuf`.
    async fn exchange(
        &mut self,
        replies: usize,
        what: &'static str,
    ) -> Result<Duration, RedisError> {
        if self.broken {
            return Err(RedisError::Closed {
                addr: self.addr.clone(),
            });
        }
        if !self.rbuf.is_empty() {
            let len = self.rbuf.len();
            return Err(self.fail(Failure::Protocol(ProtocolError::Unsolicited { len }), what));
        }
        // Room for the first read before the clock starts.
        self.rbuf.reserve(READ_CHUNK);
        // Marked broken until the exchange completes, so a caller that drops
        // this future half-way (its own timeout) cannot reuse a misaligned
        // connection.
        self.broken = true;
        let io = timed_exchange(
            &mut self.stream,
            &self.wbuf,
            &mut self.rbuf,
            replies,
            self.reply_limit,
        );
        let result = if self.op_timeout == Duration::MAX {
            io.await
        } else {
            // Measured on GETs (p50 ~9 µs on loopback): a pending timer adds
            // ~0.3-0.4 µs, within run-to-run noise, and keeping one timer per
            // connection instead of one per call did not reduce that. The
            // timer is registered only once the first read pends and
            // `timed_exchange` reads the clock itself, so registering and
            // removing it stay out of the measurement. `Duration::MAX` skips it.
            match tokio::time::timeout(self.op_timeout, io).await {
                Ok(result) => result,
                Err(_) => Err(Failure::Timeout),
            }
        };
        match result {
            Ok(elapsed) => {
                self.broken = false;
                Ok(elapsed)
            }
            Err(failure) => Err(self.fail(failure, what)),
        }
    }

    /// Decodes one reply that `timed_exchange` has already seen complete.
    fn take_reply(&mut self) -> Result<Reply, RedisError> {
        match resp::parse_reply(&mut self.rbuf) {
            Ok(Some(reply)) => Ok(reply),
            // reply_len accepted these bytes, so this is unreachable in
            // practice; still no panic.
            Ok(None) => Err(self.fail(
                Failure::Protocol(ProtocolError::UnexpectedReply {
                    command: "a request",
                    got: "an incomplete reply after a complete one was seen".into(),
                }),
                "a request",
            )),
            Err(e) => Err(self.fail(Failure::Protocol(e), "a request")),
        }
    }

    /// Gives back buffers that one huge value made big, so an idle connection
    /// does not keep hundreds of MiB.
    fn release_large_buffers(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > RETAINED_BUFFER {
            self.rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        if self.wbuf.capacity() > RETAINED_BUFFER {
            self.wbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }

    fn fail(&mut self, failure: Failure, what: &'static str) -> RedisError {
        self.broken = true;
        self.rbuf.clear();
        let addr = self.addr.clone();
        match failure {
            Failure::Io(source) if self.stream.is_tls() => {
                tls_error(addr, crate::probes::redis::stream::classify(source))
            }
            Failure::Io(source) => RedisError::Io { addr, source },
            Failure::Closed => RedisError::Closed { addr },
            Failure::Protocol(source) => RedisError::Protocol { addr, source },
            Failure::Timeout => RedisError::Timeout {
                addr,
                after: self.op_timeout,
                what,
            },
        }
    }

    fn command_error(&self, command: &'static str, message: String) -> RedisError {
        RedisError::Command {
            addr: self.addr.clone(),
            command,
            message,
        }
    }

    /// A well-formed reply of the wrong shape: framing is intact, so the
    /// connection stays usable.
    fn unexpected(&self, command: &'static str, got: &Reply) -> RedisError {
        self.unexpected_text(command, format!("{got:?}"))
    }

    fn unexpected_text(&self, command: &'static str, mut got: String) -> RedisError {
        // Replies can be huge; the message only needs a glimpse.
        if got.len() > 200 {
            let mut cut = 200;
            while !got.is_char_boundary(cut) {
                cut -= 1;
            }
            got.truncate(cut);
            got.push('…');
        }
        RedisError::Protocol {
            addr: self.addr.clone(),
            source: ProtocolError::UnexpectedReply { command, got },
        }
    }
}

/// The timed section: one write of the pre-encoded request, then reads into
/// the reused buffer until `replies` complete replies are there. Returns the
/// elapsed time, taken before anything is decoded.
async fn timed_exchange(
    stream: &mut MaybeTlsStream,
    request: &[u8],
    rbuf: &mut BytesMut,
    replies: usize,
    limit: usize,
) -> Result<Duration, Failure> {
    let start = Instant::now();
    write_request(stream, request).await?;
    read_replies(stream, rbuf, replies, limit).await?;
    Ok(start.elapsed())
}

/// One write of the pre-encoded request (flushed on TLS).
#[inline]
async fn write_request(stream: &mut MaybeTlsStream, request: &[u8]) -> Result<(), Failure> {
    stream.write_all(request).await.map_err(Failure::Io)?;
    if stream.is_tls() {
        // rustls may hold the last record back until flushed; TCP has no
        // buffer to flush.
        stream.flush().await.map_err(Failure::Io)?;
    }
    Ok(())
}

/// Reads into the reused buffer until `replies` complete replies are there.
#[inline]
async fn read_replies(
    stream: &mut MaybeTlsStream,
    rbuf: &mut BytesMut,
    replies: usize,
    limit: usize,
) -> Result<(), Failure> {
    let mut complete = 0; // replies seen complete so far
    let mut scanned = 0; // bytes those replies take
    loop {
        if rbuf.capacity() - rbuf.len() < MIN_READ_SPACE {
            if rbuf.len() >= limit {
                return Err(Failure::Protocol(ProtocolError::ReplyTooLarge { limit }));
            }
            // Grow geometrically: BytesMut grows to exactly what is asked when
            // its storage is shared with replies the caller still holds.
            rbuf.reserve(READ_CHUNK.max(rbuf.len()));
        }
        let n = stream.read_buf(rbuf).await.map_err(Failure::Io)?;
        if n == 0 {
            return Err(Failure::Closed);
        }
        while complete < replies {
            match resp::reply_len(&rbuf[scanned..]).map_err(Failure::Protocol)? {
                Some(len) => {
                    scanned += len;
                    complete += 1;
                }
                None => break,
            }
        }
        if complete == replies {
            if rbuf.len() > scanned {
                // RESP2 without pub/sub never sends unasked data; if it did,
                // later replies would be misattributed.
                return Err(Failure::Protocol(ProtocolError::Unsolicited {
                    len: rbuf.len() - scanned,
                }));
            }
            return Ok(());
        }
    }
}

/// The trust of a `rediss://` URL that the run attached none to: the
/// system's roots, loaded once per process.
fn system_trust() -> TlsConnect {
    static SYSTEM: std::sync::OnceLock<TlsConnect> = std::sync::OnceLock::new();
    SYSTEM.get_or_init(TlsConnect::default).clone()
}

fn tls_error(addr: String, failure: TlsFailure) -> RedisError {
    match failure {
        TlsFailure::Setup(reason) => RedisError::TlsSetup { addr, reason },
        TlsFailure::Verify(reason) => RedisError::TlsVerify { addr, reason },
        TlsFailure::Handshake(reason) => RedisError::TlsHandshake { addr, reason },
        TlsFailure::Io(source) => RedisError::Io { addr, source },
    }
}

/// `SCAN MATCH` pattern for keys starting with `prefix`: glob metacharacters
/// are backslash-escaped so they match literally.
fn glob_pattern_for_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() * 2 + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::redis_server::ManagedRedis;

    const T: Duration = Duration::from_secs(5);

    async fn client_for(server: &ManagedRedis) -> Client {
        let url = RedisUrl::parse(&server.url()).expect("managed url parses");
        Client::connect(&url, T).await.expect("connect")
    }

    fn bulk(s: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s))
    }

    fn ok() -> Reply {
        Reply::Status("OK".into())
    }

    #[test]
    fn url_parsing() {
        let u = RedisUrl::parse("redis://localhost").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.db), ("localhost", 6379, 0));
        assert_eq!((u.username, u.password), (None, None));

        let u = RedisUrl::parse("redis://:s3cret@10.0.0.1:7000/3").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.db), ("10.0.0.1", 7000, 3));
        assert_eq!(u.password.as_deref(), Some("s3cret"));
        assert_eq!(u.username, None);

        let u = RedisUrl::parse("redis://alice:p%40ss:w@rd/x@host:1/").unwrap();
        assert_eq!(u.username.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("p@ss:w@rd/x"));
        assert_eq!((u.host.as_str(), u.port, u.db), ("host", 1, 0));

        let u = RedisUrl::parse("REDIS://[::1]:6380").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 6380));
        assert_eq!(u.addr(), "[::1]:6380");
        assert_eq!(RedisUrl::parse("redis://[::1]").unwrap().port, 6379);

        for bad in [
            "localhost:6379",
            "http://x",
            "redis://",
            "redis://:6379",
            "redis://h:0",
            "redis://h:70000",
            "redis://h:+1",
            "redis://h:abc",
            "redis://h/abc",
            "redis://h/-1",
            "redis://h/99999999999",
            "redis://h?db=1",
            "redis://::1",
            "redis://[::1",
            "redis://[::1]x",
            "redis://user@h",
            "redis://user:@h",
            "redis://:%zz@h",
        ] {
            match RedisUrl::parse(bad) {
                Err(RedisError::InvalidUrl { .. }) => {}
                other => panic!("{bad} should be invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn url_display_hides_password() {
        let u = RedisUrl::parse("redis://alice:topsecret@h:1/2").unwrap();
        assert_eq!(u.to_string(), "redis://alice:***@h:1/2");
        assert!(!format!("{u:?}").contains("topsecret"));
        let u = RedisUrl::parse("redis://:topsecret@h").unwrap();
        assert_eq!(u.to_string(), "redis://:***@h:6379");
        assert_eq!(
            RedisUrl::parse("redis://h").unwrap().to_string(),
            "redis://h:6379"
        );
        let e = RedisUrl::parse("redis://:topsecret@h:notaport").unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
        let e = RedisUrl::parse("redis://topsecret@h").unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }

    #[test]
    fn glob_escaping() {
        assert_eq!(glob_pattern_for_prefix("run:1:"), "run:1:*");
        assert_eq!(
            glob_pattern_for_prefix(r"a*b?c[d]e\f"),
            r"a\*b\?c\[d\]e\\f*"
        );
    }

    #[tokio::test]
    async fn set_get_del_incr_round_trips() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        assert_eq!(c.request(&[b"SET", b"k", b"v1"]).await.unwrap(), ok());
        assert_eq!(c.request(&[b"GET", b"k"]).await.unwrap(), bulk(b"v1"));
        assert_eq!(c.request(&[b"DEL", b"k"]).await.unwrap(), Reply::Integer(1));
        assert_eq!(c.request(&[b"GET", b"k"]).await.unwrap(), Reply::Nil);
        assert_eq!(
            c.request(&[b"INCR", b"n"]).await.unwrap(),
            Reply::Integer(1)
        );
        assert_eq!(
            c.request(&[b"INCRBY", b"n", b"-5"]).await.unwrap(),
            Reply::Integer(-4)
        );
        assert_eq!(
            c.request(&[b"PING"]).await.unwrap(),
            Reply::Status("PONG".into())
        );
        assert_eq!(
            c.request(&[b"MGET", b"n", b"missing"]).await.unwrap(),
            Reply::Array(vec![bulk(b"-4"), Reply::Nil])
        );
        let (reply, elapsed) = c.timed_request(&[b"GET", b"n"]).await.unwrap();
        assert_eq!(reply, bulk(b"-4"));
        assert!(elapsed > Duration::ZERO && elapsed < T);
        assert!(!c.is_broken());
    }

    #[tokio::test]
    async fn large_and_binary_values() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(c.request(&[b"SET", b"big", &big]).await.unwrap(), ok());
        assert_eq!(c.request(&[b"GET", b"big"]).await.unwrap(), bulk(&big));
        let tricky = b"line1\r\nline2\r\n$5\r\n*1\r\n\0\xff+OK\r\n";
        let key = b"key\r\nwith\0crlf";
        assert_eq!(c.request(&[b"SET", key, tricky]).await.unwrap(), ok());
        assert_eq!(c.request(&[b"GET", key]).await.unwrap(), bulk(tricky));
        assert_eq!(
            c.request(&[b"STRLEN", key]).await.unwrap(),
            Reply::Integer(tricky.len() as i64)
        );
        // Several large values in a row reuse (and then give back) the buffer.
        for _ in 0..3 {
            assert_eq!(c.request(&[b"GET", b"big"]).await.unwrap(), bulk(&big));
        }
        let huge = vec![b'x'; 3 * 1024 * 1024];
        assert_eq!(c.request(&[b"SET", b"huge", &huge]).await.unwrap(), ok());
        assert_eq!(c.request(&[b"GET", b"huge"]).await.unwrap(), bulk(&huge));
        assert!(c.rbuf.capacity() <= RETAINED_BUFFER);
    }

    #[tokio::test]
    async fn pipeline_of_100_commands() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        let keys: Vec<String> = (0..50).map(|i| format!("pk:{i}")).collect();
        let values: Vec<String> = (0..50).map(|i| format!("value-{i}\r\n")).collect();
        let mut commands: Vec<Vec<&[u8]>> = Vec::new();
        for (k, v) in keys.iter().zip(&values) {
            commands.push(vec![b"SET", k.as_bytes(), v.as_bytes()]);
            commands.push(vec![b"GET", k.as_bytes()]);
        }
        assert_eq!(commands.len(), 100);
        let (replies, elapsed) = c.pipeline(&commands).await.unwrap();
        assert!(elapsed > Duration::ZERO);
        assert_eq!(replies.len(), 100);
        for (i, pair) in replies.chunks(2).enumerate() {
            assert_eq!(pair[0], ok());
            assert_eq!(pair[1], bulk(values[i].as_bytes()));
        }
        let (none, d) = c.pipeline(&[]).await.unwrap();
        assert!(none.is_empty() && d == Duration::ZERO);
        // An error inside a pipeline is just one of the replies.
        let (replies, _) = c
            .pipeline(&[vec![b"INCR", b"pk:0"], vec![b"DBSIZE"]])
            .await
            .unwrap();
        assert!(matches!(&replies[0], Reply::Error(m) if m.starts_with("ERR")));
        assert_eq!(replies[1], Reply::Integer(50));
        assert!(!c.is_broken());
    }

    #[tokio::test]
    async fn error_reply_is_ok_and_connection_stays_usable() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        c.request(&[b"SET", b"s", b"not a number"]).await.unwrap();
        match c.request(&[b"INCR", b"s"]).await.unwrap() {
            Reply::Error(m) => assert!(m.contains("not an integer"), "{m}"),
            other => panic!("expected an error reply, got {other:?}"),
        }
        match c.request(&[b"NOSUCHCOMMAND"]).await.unwrap() {
            Reply::Error(m) => assert!(m.starts_with("ERR unknown command"), "{m}"),
            other => panic!("expected an error reply, got {other:?}"),
        }
        assert!(!c.is_broken());
        assert_eq!(
            c.request(&[b"GET", b"s"]).await.unwrap(),
            bulk(b"not a number")
        );
        assert!(matches!(
            c.request(&[]).await,
            Err(RedisError::Command { .. })
        ));
        assert!(!c.is_broken());
    }

    #[tokio::test]
    async fn auth_and_select() {
        let server = ManagedRedis::start().unwrap();
        let mut admin = client_for(&server).await;
        let addr = format!("127.0.0.1:{}", server.port());
        assert_eq!(
            admin
                .request(&[
                    b"ACL",
                    b"SETUSER",
                    b"alice",
                    b"on",
                    b">alicepw",
                    b"~*",
                    b"+@all"
                ])
                .await
                .unwrap(),
            ok()
        );
        assert_eq!(
            admin
                .request(&[b"CONFIG", b"SET", b"requirepass", b"s3cret"])
                .await
                .unwrap(),
            ok()
        );

        let url =
            |s: &str| RedisUrl::parse(&format!("redis://{s}127.0.0.1:{}", server.port())).unwrap();
        match Client::connect(&url(":wrong@"), T).await {
            Err(e @ RedisError::Auth { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&addr), "{msg}");
                assert!(
                    msg.contains("WRONGPASS") || msg.contains("invalid"),
                    "{msg}"
                );
                assert!(msg.contains("check the user name and password"), "{msg}");
                assert!(!msg.contains("wrong@"), "{msg}");
            }
            other => panic!("expected Auth error, got {other:?}"),
        }
        match Client::connect(&url("alice:nope@"), T).await {
            Err(RedisError::Auth { .. }) => {}
            other => panic!("expected Auth error, got {other:?}"),
        }
        let mut c = Client::connect(&url(":s3cret@"), T).await.unwrap();
        assert_eq!(
            c.request(&[b"SET", b"who", b"default"]).await.unwrap(),
            ok()
        );
        let mut alice = Client::connect(&url("alice:alicepw@"), T).await.unwrap();
        assert_eq!(
            alice.request(&[b"ACL", b"WHOAMI"]).await.unwrap(),
            bulk(b"alice")
        );

        // Without a password the server refuses commands, as an error reply.
        let mut anon = Client::connect(&url(""), T).await.unwrap();
        assert!(
            matches!(anon.request(&[b"GET", b"who"]).await.unwrap(), Reply::Error(m) if m.starts_with("NOAUTH"))
        );

        // SELECT: a key set in db 3 is not in db 0.
        let base = format!("redis://:s3cret@127.0.0.1:{}", server.port());
        let mut db3 = Client::connect(&RedisUrl::parse(&format!("{base}/3")).unwrap(), T)
            .await
            .unwrap();
        assert_eq!(db3.request(&[b"SET", b"only3", b"x"]).await.unwrap(), ok());
        assert_eq!(
            c.request(&[b"EXISTS", b"only3"]).await.unwrap(),
            Reply::Integer(0)
        );
        assert_eq!(
            db3.request(&[b"EXISTS", b"only3"]).await.unwrap(),
            Reply::Integer(1)
        );
        match Client::connect(&RedisUrl::parse(&format!("{base}/999")).unwrap(), T).await {
            Err(RedisError::Command {
                command: "SELECT", ..
            }) => {}
            other => panic!("expected SELECT error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn clear_prefix_removes_exactly_the_prefix() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        let prefix = "t*e[s]t?\\:";
        let mut commands: Vec<Vec<u8>> = Vec::new();
        for i in 0..2500 {
            commands.push(format!("{prefix}{i}").into_bytes());
        }
        // Keys an unescaped glob of the prefix would match, or that share part of it.
        let decoys = [
            "tXXest1\\:a", // t*e[s]t?\: read as a glob
            "t*e[s]t?",    // prefix without its last character
            "t*e[s]t?:x",  // no backslash
            "other:t*e[s]t?\\:x",
            "T*e[s]t?\\:x", // different case
        ];
        for chunk in commands.chunks(500) {
            let mut args: Vec<&[u8]> = vec![b"MSET"];
            for k in chunk {
                args.push(k);
                args.push(b"v");
            }
            assert_eq!(c.request(&args).await.unwrap(), ok());
        }
        for d in decoys {
            c.request(&[b"SET", d.as_bytes(), b"keep"]).await.unwrap();
        }
        c.request(&[b"SADD", format!("{prefix}set").as_bytes(), b"m"])
            .await
            .unwrap();

        assert_eq!(c.clear_prefix(prefix).await.unwrap(), 2501);
        assert_eq!(
            c.request(&[b"DBSIZE"]).await.unwrap(),
            Reply::Integer(decoys.len() as i64)
        );
        for d in decoys {
            assert_eq!(
                c.request(&[b"GET", d.as_bytes()]).await.unwrap(),
                bulk(b"keep"),
                "{d}"
            );
        }
        // Second run: nothing left.
        assert_eq!(c.clear_prefix(prefix).await.unwrap(), 0);
        // A simple prefix with a bracket only.
        c.request(&[b"SET", b"a[1]:x", b"v"]).await.unwrap();
        c.request(&[b"SET", b"a1:x", b"v"]).await.unwrap();
        assert_eq!(c.clear_prefix("a[1]").await.unwrap(), 1);
        assert_eq!(
            c.request(&[b"EXISTS", b"a1:x"]).await.unwrap(),
            Reply::Integer(1)
        );
        assert!(matches!(
            c.clear_prefix("").await,
            Err(RedisError::Command { .. })
        ));
        assert_eq!(
            c.request(&[b"DBSIZE"]).await.unwrap(),
            Reply::Integer(decoys.len() as i64 + 1)
        );
    }

    #[tokio::test]
    async fn closed_port_gives_connect_error_naming_the_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = RedisUrl::parse(&format!("redis://127.0.0.1:{port}")).unwrap();
        match Client::connect(&url, T).await {
            Err(e @ RedisError::Connect { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
                assert!(
                    msg.contains("check that a Redis server is listening"),
                    "{msg}"
                );
            }
            other => panic!("expected Connect error, got {other:?}"),
        }
    }

    async fn assert_dead(c: &mut Client) {
        match c.request(&[b"GET", b"k"]).await {
            Err(RedisError::Io { .. } | RedisError::Closed { .. }) => {}
            other => panic!("expected Io or Closed, got {other:?}"),
        }
        assert!(c.is_broken());
        // And it stays refused.
        assert!(matches!(
            c.request(&[b"PING"]).await,
            Err(RedisError::Closed { .. })
        ));
    }

    #[tokio::test]
    async fn server_stopped_mid_use_breaks_the_connection() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        assert_eq!(c.request(&[b"SET", b"k", b"v"]).await.unwrap(), ok());
        server.stop();
        assert_dead(&mut c).await;
    }

    #[tokio::test]
    async fn server_killed_mid_use_breaks_the_connection() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        let mut other = client_for(&server).await;
        assert_eq!(c.request(&[b"SET", b"k", b"v"]).await.unwrap(), ok());
        // Kill while a request is in flight.
        let pid = libc::pid_t::try_from(server.pid()).unwrap();
        let in_flight = tokio::spawn(async move {
            let r = other.request(&[b"BLPOP", b"never", b"0"]).await;
            (r.is_err(), other.is_broken())
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SAFETY: plain kill(2) on our own child, which is not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        assert_eq!(in_flight.await.unwrap(), (true, true));
        assert_dead(&mut c).await;
        drop(server);
    }

    #[tokio::test]
    async fn timeout_marks_the_connection_broken() {
        let server = ManagedRedis::start().unwrap();
        let mut c = client_for(&server).await;
        c.set_op_timeout(Duration::from_millis(100));
        match c.request(&[b"BLPOP", b"never", b"2"]).await {
            Err(e @ RedisError::Timeout { .. }) => {
                assert!(e.to_string().contains(&server.port().to_string()), "{e}");
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
        assert!(c.is_broken());
        assert!(matches!(
            c.request(&[b"PING"]).await,
            Err(RedisError::Closed { .. })
        ));

        // With the timer disabled requests still work.
        let mut c = client_for(&server).await;
        c.set_op_timeout(Duration::MAX);
        assert_eq!(
            c.request(&[b"PING"]).await.unwrap(),
            Reply::Status("PONG".into())
        );

        // A caller dropping a request half-way leaves the connection broken.
        let mut c = client_for(&server).await;
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            c.request(&[b"BLPOP", b"never", b"2"]),
        )
        .await;
        assert!(cancelled.is_err());
        assert!(c.is_broken());
    }
}
