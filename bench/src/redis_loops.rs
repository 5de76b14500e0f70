//! Single-connection GET loops with no client library, to place the probe's
//! single-connection mean: a bare tokio loop, and with no runtime, a loop
//! that waits on `epoll` the plain way (the socket registered once) and one
//! that makes the system calls `redis-benchmark` makes per request (its `ae` event loop
//! re-registers the socket for writing before each send and for reading
//! after it: five `epoll_ctl` and two `epoll_wait` per request, seen with
//! `strace -f redis-benchmark -c 1 -t get`).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

const REQUEST: &[u8] = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:0\r\n";

/// Bytes of the reply to `REQUEST` for a `value`-byte value.
fn reply_len(value: usize) -> usize {
    format!("${value}\r\n").len() + value + 2
}

/// Checks a whole reply read into `buf`.
fn check_reply(buf: &[u8], got: usize, reply_len: usize) -> Result<()> {
    ensure!(
        buf[0] == b'$' && got == reply_len,
        "unexpected reply to GET key:0"
    );
    Ok(())
}

/// Microseconds per request of `requests` requests that took since `started`.
fn per_request(started: Instant, requests: usize) -> f64 {
    started.elapsed().as_secs_f64() * 1e6 / requests as f64
}

/// Microseconds per request of GETs on a bare tokio socket: write, read to
/// the end of the reply, nothing else.
pub async fn tokio_per_request_us(port: u16, requests: usize, value: usize) -> Result<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .with_context(|| format!("connecting to redis-server on port {port}"))?;
    stream.set_nodelay(true)?;
    let reply_len = reply_len(value);
    let mut buf = vec![0u8; 16 * 1024];
    let started = Instant::now();
    for _ in 0..requests {
        stream.write_all(REQUEST).await?;
        let mut got = 0;
        while got < reply_len {
            match stream.read(&mut buf[got..]).await? {
                0 => bail!("redis-server closed the connection"),
                n => got += n,
            }
        }
        check_reply(&buf, got, reply_len)?;
    }
    Ok(per_request(started, requests))
}

/// How a loop waits for its socket.
#[derive(Clone, Copy)]
pub enum Pattern {
    /// Registered for reading once; `epoll_wait` after each send.
    Plain,
    /// `redis-benchmark`'s calls: wait writable, send, swap the interest to
    /// readable, wait, receive, swap it back.
    RedisBenchmark,
}

/// An epoll instance watching one socket, closed when dropped.
struct Epoll {
    fd: i32,
    socket: i32,
}

impl Epoll {
    fn new(socket: i32) -> Result<Self> {
        // SAFETY: plain system call; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        ensure!(
            fd >= 0,
            "epoll_create1: {}",
            std::io::Error::last_os_error()
        );
        Ok(Self { fd, socket })
    }

    fn ctl(&self, op: i32, events: i32) -> Result<()> {
        let mut event = libc::epoll_event {
            events: events as u32,
            u64: 0,
        };
        // SAFETY: both descriptors are open; `event` outlives the call.
        let done = unsafe { libc::epoll_ctl(self.fd, op, self.socket, &mut event) };
        ensure!(done == 0, "epoll_ctl: {}", std::io::Error::last_os_error());
        Ok(())
    }

    fn wait(&self) -> Result<()> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: `events` has room for the 4 events asked for at most.
        let n = unsafe { libc::epoll_wait(self.fd, events.as_mut_ptr(), 4, -1) };
        ensure!(n >= 0, "epoll_wait: {}", std::io::Error::last_os_error());
        Ok(())
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the descriptor is this value's own.
        unsafe { libc::close(self.fd) };
    }
}

/// Microseconds per request of `requests` GETs of a `value`-byte value
/// (key `key:0`) on one connection to `port`, waiting the `pattern` way.
pub fn per_request_us(port: u16, requests: usize, value: usize, pattern: Pattern) -> Result<f64> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to redis-server on port {port}"))?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    let socket = stream.as_raw_fd();
    let epoll = Epoll::new(socket)?;
    let reply_len = reply_len(value);
    let mut buf = vec![0u8; 16 * 1024];
    match pattern {
        Pattern::Plain => epoll.ctl(libc::EPOLL_CTL_ADD, libc::EPOLLIN)?,
        Pattern::RedisBenchmark => epoll.ctl(libc::EPOLL_CTL_ADD, libc::EPOLLOUT)?,
    }
    let started = Instant::now();
    for _ in 0..requests {
        if let Pattern::RedisBenchmark = pattern {
            epoll.wait()?;
        }
        stream.write_all(REQUEST)?;
        if let Pattern::RedisBenchmark = pattern {
            epoll.ctl(libc::EPOLL_CTL_DEL, 0)?;
            epoll.ctl(libc::EPOLL_CTL_ADD, libc::EPOLLIN)?;
        }
        let mut got = 0;
        while got < reply_len {
            epoll.wait()?;
            match std::io::Read::read(&mut stream, &mut buf[got..]) {
                Ok(0) => bail!("redis-server closed the connection"),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
        check_reply(&buf, got, reply_len)?;
        if let Pattern::RedisBenchmark = pattern {
            epoll.ctl(libc::EPOLL_CTL_MOD, libc::EPOLLIN)?;
            epoll.ctl(libc::EPOLL_CTL_DEL, 0)?;
            epoll.ctl(libc::EPOLL_CTL_ADD, libc::EPOLLOUT)?;
        }
    }
    Ok(per_request(started, requests))
}
