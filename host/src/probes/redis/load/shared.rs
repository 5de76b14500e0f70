//! One connection shared by many workers. Requests queue to a writer task
//! that sends everything waiting in one write (implicit pipelining); a
//! reader task matches replies to requests in order. A lost connection is
//! replaced on the next request.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::probes::redis::resp::{self, Reply};
use crate::probes::redis::{Client, RedisError, RedisUrl};
use crate::tls::MaybeTlsStream;

/// Largest write assembled from queued requests.
const MAX_WRITE: usize = 256 * 1024;
const READ_CHUNK: usize = 64 * 1024;

type Answer = Result<(Vec<Reply>, Instant), RedisError>;

struct Request {
    bytes: BytesMut,
    replies: usize,
    answer: oneshot::Sender<Answer>,
}

/// One live multiplexed connection.
struct Mux {
    queue: mpsc::UnboundedSender<Request>,
    broken: Arc<AtomicBool>,
    tasks: [tokio::task::AbortHandle; 2],
}

impl Drop for Mux {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The shared connection of a load, reconnecting on demand.
pub struct SharedConnection {
    url: RedisUrl,
    timeout: Duration,
    /// Most bytes of one unfinished reply the reader buffers: what the
    /// load's budget was charged for.
    reply_limit: usize,
    current: Mutex<Option<Arc<Mux>>>,
    addr: String,
}

impl SharedConnection {
    pub fn new(url: RedisUrl, timeout: Duration, reply_limit: usize) -> Self {
        let addr = url.addr();
        Self {
            url,
            timeout,
            reply_limit,
            current: Mutex::new(None),
            addr,
        }
    }

    /// Sends the encoded `request` holding `replies` commands and waits for
    /// all their replies; returns them and when the last one was read.
    pub async fn request(
        &self,
        bytes: BytesMut,
        replies: usize,
        timeout: Duration,
    ) -> Result<(Vec<Reply>, Instant), RedisError> {
        let mux = self.mux().await?;
        let (tx, rx) = oneshot::channel();
        let request = Request {
            bytes,
            replies,
            answer: tx,
        };
        if mux.queue.send(request).is_err() {
            self.discard(&mux).await;
            return Err(RedisError::Closed {
                addr: self.addr.clone(),
            });
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => {
                if answer.is_err() {
                    self.discard(&mux).await;
                }
                answer
            }
            Ok(Err(_)) => {
                self.discard(&mux).await;
                Err(RedisError::Closed {
                    addr: self.addr.clone(),
                })
            }
            Err(_) => {
                // Later replies could now be misattributed: drop the connection.
                mux.broken.store(true, Ordering::Relaxed);
                self.discard(&mux).await;
                Err(RedisError::Timeout {
                    addr: self.addr.clone(),
                    after: timeout,
                    what: "a shared-connection request",
                })
            }
        }
    }

    async fn mux(&self) -> Result<Arc<Mux>, RedisError> {
        let mut current = self.current.lock().await;
        if let Some(m) = current.as_ref()
            && !m.broken.load(Ordering::Relaxed)
        {
            return Ok(m.clone());
        }
        // Connecting under the lock: one reconnect, not one per worker.
        let mut client = Client::connect(&self.url, self.timeout).await?;
        // One connection cannot serve a cluster's slots: its requests are
        // pipelined blindly and would be answered with MOVED.
        if crate::probes::redis::link::is_cluster(&mut client).await? {
            return Err(RedisError::Command {
                addr: self.addr.clone(),
                command: "a shared-connection load",
                message: "the target is a Redis Cluster and one shared connection cannot reach its slots; use per-worker connections (`connections: per-worker`), which route every key to its node".into(),
            });
        }
        let (queue, rx) = mpsc::unbounded_channel();
        let (inflight_tx, inflight_rx) = mpsc::unbounded_channel();
        let broken = Arc::new(AtomicBool::new(false));
        let loops = Loops {
            queue: rx,
            inflight_tx,
            inflight_rx,
            broken: broken.clone(),
            addr: self.addr.clone(),
            reply_limit: self.reply_limit,
        };
        // TCP splits into owned halves without a lock; TLS shares one session.
        let (writer, reader) = match client.into_stream() {
            MaybeTlsStream::Plain(tcp) => {
                let (read, write) = tcp.into_split();
                loops.spawn(read, write)
            }
            tls @ MaybeTlsStream::Tls(_) => {
                let (read, write) = tokio::io::split(tls);
                loops.spawn(read, write)
            }
        };
        let mux = Arc::new(Mux {
            queue,
            broken,
            tasks: [writer.abort_handle(), reader.abort_handle()],
        });
        *current = Some(mux.clone());
        Ok(mux)
    }

    async fn discard(&self, mux: &Arc<Mux>) {
        mux.broken.store(true, Ordering::Relaxed);
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, mux)) {
            *current = None;
        }
    }
}

/// What the writer and reader loops of one shared connection need.
struct Loops {
    queue: mpsc::UnboundedReceiver<Request>,
    inflight_tx: mpsc::UnboundedSender<(usize, oneshot::Sender<Answer>)>,
    inflight_rx: mpsc::UnboundedReceiver<(usize, oneshot::Sender<Answer>)>,
    broken: Arc<AtomicBool>,
    addr: String,
    reply_limit: usize,
}

impl Loops {
    /// Starts both loops on the connection's halves (generic, so each kind
    /// of stream keeps direct calls).
    fn spawn<R, W>(self, read: R, write: W) -> (JoinHandle<()>, JoinHandle<()>)
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        (
            tokio::spawn(write_loop(
                write,
                self.queue,
                self.inflight_tx,
                self.broken.clone(),
            )),
            tokio::spawn(read_loop(
                read,
                self.inflight_rx,
                self.broken,
                self.addr,
                self.reply_limit,
            )),
        )
    }
}

async fn write_loop(
    mut write: impl AsyncWrite + Unpin,
    mut queue: mpsc::UnboundedReceiver<Request>,
    inflight: mpsc::UnboundedSender<(usize, oneshot::Sender<Answer>)>,
    broken: Arc<AtomicBool>,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    while let Some(first) = queue.recv().await {
        buf.clear();
        let mut next = Some(first);
        while let Some(request) = next.take() {
            buf.extend_from_slice(&request.bytes);
            // Registered before the bytes go out, so the reader always knows
            // whom a reply belongs to.
            if inflight.send((request.replies, request.answer)).is_err() {
                return;
            }
            if buf.len() < MAX_WRITE {
                next = queue.try_recv().ok();
            }
        }
        // flush: a TLS writer may hold the last record back (no-op on TCP).
        if write.write_all(&buf).await.is_err() || write.flush().await.is_err() {
            broken.store(true, Ordering::Relaxed);
            return;
        }
    }
}

async fn read_loop(
    mut read: impl AsyncRead + Unpin,
    mut inflight: mpsc::UnboundedReceiver<(usize, oneshot::Sender<Answer>)>,
    broken: Arc<AtomicBool>,
    addr: String,
    reply_limit: usize,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut waiting: VecDeque<(usize, oneshot::Sender<Answer>, Vec<Reply>)> = VecDeque::new();
    let fail = |waiting: &mut VecDeque<(usize, oneshot::Sender<Answer>, Vec<Reply>)>,
                inflight: &mut mpsc::UnboundedReceiver<(usize, oneshot::Sender<Answer>)>,
                error: &dyn Fn() -> RedisError| {
        broken.store(true, Ordering::Relaxed);
        inflight.close();
        while let Ok((_, answer)) = inflight.try_recv() {
            let _ = answer.send(Err(error()));
        }
        for (_, answer, _) in waiting.drain(..) {
            let _ = answer.send(Err(error()));
        }
    };
    loop {
        if buf.capacity() - buf.len() < 4096 {
            if buf.len() >= reply_limit {
                let addr = addr.clone();
                fail(&mut waiting, &mut inflight, &|| RedisError::Protocol {
                    addr: addr.clone(),
                    source: crate::probes::redis::resp::ProtocolError::ReplyTooLarge {
                        limit: reply_limit,
                    },
                });
                return;
            }
            buf.reserve(READ_CHUNK.max(buf.len()));
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => {
                let addr = addr.clone();
                fail(&mut waiting, &mut inflight, &|| RedisError::Closed {
                    addr: addr.clone(),
                });
                return;
            }
            Ok(_) => {}
            Err(e) => {
                let kind = e.kind();
                let text = e.to_string();
                let addr = addr.clone();
                fail(&mut waiting, &mut inflight, &|| RedisError::Io {
                    addr: addr.clone(),
                    source: std::io::Error::new(kind, text.clone()),
                });
                return;
            }
        }
        loop {
            let reply = match resp::parse_reply(&mut buf) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    let text = e.to_string();
                    let addr = addr.clone();
                    fail(&mut waiting, &mut inflight, &|| RedisError::Io {
                        addr: addr.clone(),
                        source: std::io::Error::new(std::io::ErrorKind::InvalidData, text.clone()),
                    });
                    return;
                }
            };
            let done_at = Instant::now();
            if waiting.is_empty() {
                match inflight.try_recv() {
                    Ok((n, answer)) => waiting.push_back((n, answer, Vec::with_capacity(n))),
                    Err(_) => {
                        let addr = addr.clone();
                        fail(&mut waiting, &mut inflight, &|| RedisError::Io {
                            addr: addr.clone(),
                            source: std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                "a reply arrived that no request was waiting for",
                            ),
                        });
                        return;
                    }
                }
            }
            let front = waiting.front_mut().expect("filled above");
            front.2.push(reply);
            if front.2.len() == front.0 {
                let (_, answer, replies) = waiting.pop_front().expect("non-empty");
                let _ = answer.send(Ok((replies, done_at)));
            }
        }
    }
}
