//! Concurrent HTTP load on the hyper client: workers on kept-alive
//! HTTP/1.1 connections (one each) or multiplexed over a few HTTP/2
//! connections, closed model (send when the previous response arrived) or
//! open model (requests on a fixed timeline, latency from the intended send
//! time, so queueing in a slow server is measured rather than hidden).
//! Workers are local tasks on `threads` event-loop threads of their own
//! (each a single-threaded runtime holding its share of the connections, so
//! a connection and its users never cross threads); the workers of one
//! thread record into one set of histograms (total, first byte, and the
//! connect and TLS phases of the connections opened), merged once at the
//! end. [`reserve`] takes their number, threads, connections and host memory
//! from the scenario's budget first.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{Connection, Endpoint, HttpError, MAX_HEAD_BYTES, RequestTemplate, Version};
use super::url::Scheme;
use crate::budget::{Budget, BudgetExceeded, Reservation, Resource, size};
use crate::events::ProgressSink;
use crate::metrics::Distribution;
use crate::pacing::{RateProfile, Timeline};

/// Most concurrent workers of one load.
pub const MAX_WORKERS: u32 = 1024;
/// What one connection holds at most: hyper's read buffer (bounded by the
/// head limit), write buffer, the parsed headers, TLS buffers.
const CONNECTION_BYTES: u64 = 3 * MAX_HEAD_BYTES as u64 + 64 * 1024;
/// Histograms per load thread: total, first byte, connect, TLS.
const HISTOGRAMS_PER_THREAD: u64 = 4;
/// Highest open-model rate accepted, per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// A validated load.
#[derive(Clone)]
pub struct LoadPlan {
    pub endpoint: Endpoint,
    /// The request every send builds from.
    pub request: Arc<RequestTemplate>,
    pub workers: u32,
    /// HTTP/2 connections the workers share; 0 lets each worker have its
    /// own. HTTP/1.1 always gives each worker its own connection.
    pub connections: u32,
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
    /// Requests per second for the open model; `None` for the closed model.
    pub rate: Option<f64>,
    /// Limit of one exchange.
    pub timeout: Duration,
    /// Event-loop threads the workers run on (at most one per connection).
    pub threads: u32,
    /// Advanced once per request sent, for the live progress display.
    pub progress: ProgressSink,
}

impl LoadPlan {
    /// Checks the numbers a guest gave; the message says which is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return Err(format!(
                "workers is {}; it must be 1..={MAX_WORKERS}",
                self.workers
            ));
        }
        if self.connections > self.workers {
            return Err(format!(
                "connections is {}, more than the {} workers that would use them",
                self.connections, self.workers
            ));
        }
        if self.threads == 0 || u64::from(self.threads) > crate::budget::MAX_LOAD_THREADS {
            return Err(format!(
                "threads is {}; it must be 1..={}",
                self.threads,
                crate::budget::MAX_LOAD_THREADS
            ));
        }
        if self.requests.is_none() && self.duration.is_none() {
            return Err("give `requests`, `duration-ns` or both; the load would never end".into());
        }
        if let Some(rate) = self.rate
            && !(rate > 0.0 && rate <= MAX_RATE)
        {
            return Err(format!("rate is {rate}; it must be in (0, {MAX_RATE}]"));
        }
        Ok(())
    }
}

/// Takes from `budget` what `plan` needs, all or nothing: its workers, a
/// connection each at most, and host memory for the request, each
/// connection and each thread's histograms at their widest.
pub fn reserve(plan: &LoadPlan, budget: &Budget) -> Result<Vec<Reservation>, BudgetExceeded> {
    let workers = u64::from(plan.workers);
    let threads = u64::from(plan.threads.min(plan.workers));
    let histograms = HISTOGRAMS_PER_THREAD * Distribution::max_bytes();
    let request = plan.request.body_len() as u64 + 4096;
    let memory = request
        .saturating_add(workers.saturating_mul(CONNECTION_BYTES))
        .saturating_add(threads.saturating_mul(histograms));
    let asks = [
        (Resource::LoadWorkers, workers),
        (Resource::LoadThreads, threads),
        (Resource::Connections, workers),
        (Resource::HostMemory, memory),
    ];
    budget
        .reserve_all(&asks, |_| "http run-load".into())
        .map_err(|e| match e.resource {
            Resource::HostMemory => e.because(format!(
                "{workers} workers × {} for a connection, {threads} threads × {} for {HISTOGRAMS_PER_THREAD} histograms, plus the {} request",
                size(CONNECTION_BYTES),
                size(histograms),
                size(request)
            )),
            Resource::Connections => {
                e.because(format!("{workers} workers with up to a connection each"))
            }
            Resource::LoadThreads => e.because(format!(
                "its workers run as tasks on {threads} event-loop threads; ask for fewer with `threads`"
            )),
            _ => e,
        })
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// From the send (or its intended time) to the last byte.
    pub latency: Distribution,
    /// From the send (or its intended time) to the first byte.
    pub first_byte: Distribution,
    /// TCP connect of each connection opened.
    pub connect: Distribution,
    /// TLS handshake of each connection opened (empty on `http://`).
    pub tls: Distribution,
    pub sent: u64,
    pub ok: u64,
    pub http_errors: u64,
    pub failed: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub duration: Duration,
    pub first_error: Option<String>,
    /// Connections opened, reconnections included.
    pub connections_opened: u64,
    /// The version the connections spoke (`None` if none opened).
    pub version: Option<Version>,
    /// Connections the workers were spread over.
    pub connections: u32,
}

impl LoadOutcome {
    pub fn throughput(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            (self.ok + self.http_errors) as f64 / secs
        } else {
            0.0
        }
    }

    /// Failed requests and 5xx responses over requests sent.
    pub fn error_rate(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        let server_errors: u64 = self.statuses.range(500..).map(|(_, n)| n).sum();
        (self.failed + server_errors) as f64 / self.sent as f64
    }

    /// Concurrent requests per connection.
    pub fn streams_per_connection(&self, workers: u32) -> u32 {
        workers.div_ceil(self.connections.max(1))
    }

    fn absorb(&mut self, other: LoadOutcome) {
        self.latency.merge(&other.latency);
        self.first_byte.merge(&other.first_byte);
        self.connect.merge(&other.connect);
        self.tls.merge(&other.tls);
        self.sent += other.sent;
        self.ok += other.ok;
        self.http_errors += other.http_errors;
        self.failed += other.failed;
        self.connections_opened += other.connections_opened;
        self.version = self.version.or(other.version);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn opened(&mut self, conn: &Connection) {
        self.connections_opened += 1;
        self.version.get_or_insert(conn.version);
        self.connect.record(nanos(conn.connect));
        if !conn.tls.is_zero() {
            self.tls.record(nanos(conn.tls));
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// An HTTP/2 connection shared by the workers assigned to it, opened on
/// demand and replaced when it breaks. (An HTTP/1.1 worker owns its
/// connection outright.)
type Slot = tokio::sync::Mutex<Option<Connection>>;

/// Sets the flag when dropped: a dropped load stops its threads' workers
/// at their next request.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Counts requests for the live progress display in small batches, so two
/// load threads do not both write the one shared counter per request.
struct Progress<'p> {
    sink: &'p ProgressSink,
    pending: u64,
    since: Instant,
}

impl<'p> Progress<'p> {
    /// Most requests held back, and longest, before they are shown.
    const BATCH: u64 = 64;
    const EVERY: Duration = Duration::from_millis(50);

    fn new(sink: &'p ProgressSink) -> Self {
        Self {
            sink,
            pending: 0,
            since: Instant::now(),
        }
    }

    fn advance(&mut self) {
        self.pending += 1;
        if self.pending >= Self::BATCH || self.since.elapsed() >= Self::EVERY {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.pending > 0 {
            self.sink.advance(self.pending);
            self.pending = 0;
        }
        self.since = Instant::now();
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// What every thread of a load shares.
struct Shared {
    plan: LoadPlan,
    /// Closed model with a request count: requests claimed so far.
    next: AtomicU64,
    /// Open model: when each request is due.
    timeline: Option<Timeline>,
    stop: Arc<AtomicBool>,
    end: Option<Instant>,
    connections: u32,
    threads: u32,
    /// Workers share HTTP/2 connections through slots; on HTTP/1.1 each
    /// owns its own.
    shares: bool,
}

/// Runs the load. Dropping the future stops every worker at its next
/// request.
pub async fn run(plan: LoadPlan) -> LoadOutcome {
    let mut total = LoadOutcome::default();
    // The version decides the layout; on `https://` without a preference
    // only a handshake tells, so one connection opens (and closes) before
    // the clock starts.
    let version = match (plan.endpoint.want, plan.endpoint.url.scheme) {
        (Some(v), _) => v,
        (None, Scheme::Http) => Version::Http1,
        (None, Scheme::Https) => match super::client::connect(&plan.endpoint).await {
            Ok(conn) => conn.version,
            Err(e) => {
                total.first_error = Some(e.to_string());
                Version::Http1
            }
        },
    };
    let connections = match version {
        Version::Http2 if plan.connections > 0 => plan.connections,
        _ => plan.workers,
    };
    let threads = plan.threads.clamp(1, connections);
    total.connections = connections;
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(Arc::clone(&stop));
    let start = Instant::now();
    let end = plan.duration.map(|d| start + d);
    let timeline = plan.rate.and_then(|per_second| {
        // A rate the plan validated always makes a timeline; one that does
        // not sends nothing rather than unpaced requests.
        Timeline::new(
            start,
            RateProfile::Constant { per_second },
            end,
            plan.requests,
        )
        .ok()
    });
    let shared = Arc::new(Shared {
        end,
        timeline,
        plan,
        next: AtomicU64::new(0),
        stop,
        connections,
        threads,
        shares: version == Version::Http2,
    });
    let mut results = Vec::with_capacity(threads as usize);
    for thread in 0..threads {
        let (tx, rx) = tokio::sync::oneshot::channel();
        results.push(rx);
        let thread_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("rigor-http-{thread}"))
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return; // the receiver reports the thread as lost
                };
                let _ = tx.send(runtime.block_on(run_thread(thread_shared, thread)));
            });
        if let Err(e) = spawned {
            shared.stop.store(true, Ordering::Relaxed);
            total
                .first_error
                .get_or_insert(format!("cannot start a load thread: {e}"));
        }
    }
    for rx in results {
        match rx.await {
            Ok(outcome) => total.absorb(outcome),
            Err(_) => {
                total
                    .first_error
                    .get_or_insert("a load thread failed".to_owned());
            }
        }
    }
    total.duration = start.elapsed();
    total
}

/// One thread's share: connections `c` with `c % threads == thread`, and
/// the workers that use them, as local tasks recording into one outcome.
async fn run_thread(shared: Arc<Shared>, thread: u32) -> LoadOutcome {
    let mine: Vec<u32> = (0..shared.connections)
        .filter(|c| c % shared.threads == thread)
        .collect();
    let slots: Rc<Vec<Slot>> = Rc::new(mine.iter().map(|_| Slot::new(None)).collect());
    let out = Rc::new(RefCell::new(LoadOutcome::default()));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let mut workers = tokio::task::JoinSet::new();
            for w in 0..shared.plan.workers {
                let connection = w % shared.connections;
                if let Some(local) = mine.iter().position(|c| *c == connection) {
                    workers.spawn_local(worker(
                        Arc::clone(&shared),
                        Rc::clone(&slots),
                        local,
                        Rc::clone(&out),
                    ));
                }
            }
            while let Some(done) = workers.join_next().await {
                if let Err(e) = done {
                    // What it recorded before it failed is kept.
                    out.borrow_mut()
                        .first_error
                        .get_or_insert(format!("a load worker failed: {e}"));
                }
            }
        })
        .await;
    out.take()
}

/// The worker's connection: the one it holds if still open, else (on
/// HTTP/2) the slot's if open, else a new one (its phases recorded).
async fn connection<'c>(
    held: &'c mut Option<Connection>,
    slot: Option<&Slot>,
    endpoint: &Endpoint,
    out: &RefCell<LoadOutcome>,
) -> Result<&'c mut Connection, HttpError> {
    let reuse = match held.as_mut() {
        Some(conn) => conn.is_open().await,
        None => false,
    };
    let conn = match held.take().filter(|_| reuse) {
        Some(conn) => conn,
        None => fresh(slot, endpoint, out).await?,
    };
    Ok(held.insert(conn))
}

/// A connection for a worker that has none open: its own on HTTP/1.1; on
/// HTTP/2 the slot's, opened if the slot has none open.
async fn fresh(
    slot: Option<&Slot>,
    endpoint: &Endpoint,
    out: &RefCell<LoadOutcome>,
) -> Result<Connection, HttpError> {
    let Some(slot) = slot else {
        let conn = super::client::connect(endpoint).await?;
        out.borrow_mut().opened(&conn);
        return Ok(conn);
    };
    let mut shared = slot.lock().await;
    if let Some(conn) = shared.as_mut()
        && conn.is_open().await
        && let Some(mine) = conn.share()
    {
        return Ok(mine);
    }
    *shared = None;
    let conn = super::client::connect(endpoint).await?;
    out.borrow_mut().opened(&conn);
    // An HTTP/1.1 connection (a server that refused HTTP/2 this time) is
    // the worker's alone.
    match conn.share() {
        Some(mine) => {
            *shared = Some(conn);
            Ok(mine)
        }
        None => Ok(conn),
    }
}

async fn worker(
    shared: Arc<Shared>,
    slots: Rc<Vec<Slot>>,
    slot: usize,
    out: Rc<RefCell<LoadOutcome>>,
) {
    let slot = shared.shares.then(|| &slots[slot]);
    let mut held: Option<Connection> = None;
    let (plan, end) = (&shared.plan, shared.end);
    let mut progress = Progress::new(&plan.progress);
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        // Closed model: latency from the actual send. Open model: from the
        // slot on the timeline, even if this worker reaches it late.
        let begin = match (&shared.timeline, plan.rate) {
            (Some(timeline), _) => {
                let Some(slot) = timeline.claim() else {
                    break;
                };
                crate::pacing::wait_until(slot.intended).await;
                slot.intended
            }
            (None, Some(_)) => break,
            (None, None) => {
                if let Some(n) = plan.requests
                    && shared.next.fetch_add(1, Ordering::Relaxed) >= n
                {
                    break;
                }
                Instant::now()
            }
        };
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        let exchange = async {
            let conn = connection(&mut held, slot, &plan.endpoint, &out).await?;
            conn.exchange_status(&plan.request).await
        };
        let result = tokio::time::timeout(plan.timeout, exchange).await;
        progress.advance();
        let error = {
            let mut out = out.borrow_mut();
            out.sent += 1;
            match result {
                Ok(Ok((status, first_byte, last_byte))) => {
                    out.latency.record(nanos(last_byte.duration_since(begin)));
                    out.first_byte
                        .record(nanos(first_byte.saturating_duration_since(begin)));
                    *out.statuses.entry(status).or_default() += 1;
                    if status < 400 {
                        out.ok += 1;
                    } else {
                        out.http_errors += 1;
                    }
                    continue;
                }
                Ok(Err(e)) => e,
                Err(_) => HttpError::Timeout {
                    target: plan.endpoint.target(),
                    after: plan.timeout,
                },
            }
        };
        {
            let mut out = out.borrow_mut();
            out.failed += 1;
            out.first_error.get_or_insert_with(|| error.to_string());
        }
        // A broken or stuck connection is not reused.
        held = None;
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::tests::serve;
    use super::super::url::Url;
    use super::*;
    use std::net::SocketAddr;

    fn plan(addr: SocketAddr) -> LoadPlan {
        let url = Url::parse(&format!("http://127.0.0.1:{}/", addr.port())).unwrap();
        LoadPlan {
            endpoint: Endpoint {
                url: url.clone(),
                addr,
                tls: None,
                want: None,
            },
            request: Arc::new(RequestTemplate::new("GET", url, &[], Vec::new()).unwrap()),
            workers: 4,
            connections: 0,
            requests: Some(400),
            duration: None,
            rate: None,
            timeout: Duration::from_secs(5),
            threads: 2,
            progress: ProgressSink::detached(),
        }
    }

    #[tokio::test]
    async fn closed_load_sends_exactly_the_requests_asked_for_on_kept_connections() {
        let addr = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let out = run(plan(addr)).await;
        assert_eq!((out.sent, out.ok, out.failed), (400, 400, 0), "{out:?}");
        assert_eq!(out.latency.len(), 400);
        assert_eq!(out.first_byte.len(), 400);
        assert_eq!(out.statuses.get(&200), Some(&400));
        // Kept alive: one connection per worker, each opened once.
        assert_eq!((out.connections, out.connections_opened), (4, 4));
        assert_eq!(out.connect.len(), 4);
        assert!(out.tls.is_empty());
        assert_eq!(out.version, Some(Version::Http1));
        assert!(out.throughput() > 0.0);
        assert_eq!(out.error_rate(), 0.0);
        // No request's first byte comes after its last.
        assert!(out.first_byte.summary().max <= out.latency.summary().max);
    }

    #[tokio::test]
    async fn open_load_follows_the_timeline() {
        let addr = serve(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n").await;
        let mut p = plan(addr);
        p.requests = None;
        p.duration = Some(Duration::from_millis(500));
        p.rate = Some(200.0);
        let out = run(p).await;
        // 200/s for 0.5 s is 100 slots; allow for the last slot's boundary.
        assert!((99..=100).contains(&out.sent), "{out:?}");
        assert_eq!(out.http_errors, out.sent);
        assert_eq!(out.error_rate(), 1.0);
        assert!(out.duration >= Duration::from_millis(490));
    }

    #[tokio::test]
    async fn refused_connections_are_counted_not_fatal() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let mut p = plan(addr);
        p.requests = Some(10);
        let out = run(p).await;
        assert_eq!((out.sent, out.failed), (10, 10));
        assert!(out.first_error.unwrap().contains("cannot connect"));
        assert!(out.latency.is_empty());
        assert_eq!(out.connections_opened, 0);
    }

    #[test]
    fn a_load_reserves_its_workers_connections_and_memory_until_dropped() {
        let p = plan("127.0.0.1:1".parse().unwrap());
        let budget = Budget::new(crate::budget::Budgets {
            connections: 5,
            ..Default::default()
        });
        let held = reserve(&p, &budget).unwrap();
        assert_eq!(budget.in_use(Resource::Connections), 4);
        assert_eq!(budget.in_use(Resource::LoadThreads), 2);
        assert!(budget.in_use(Resource::HostMemory) > 2 * 4 * Distribution::max_bytes());
        let err = reserve(&p, &budget).unwrap_err().to_string();
        assert!(
            err.starts_with("http run-load needs 4 load workers")
                || err.starts_with("http run-load needs 4 connections"),
            "{err}"
        );
        drop(held);
        assert_eq!(budget.in_use(Resource::Connections), 0);
        assert_eq!(budget.in_use(Resource::LoadWorkers), 0);
    }

    #[test]
    fn bad_plans_are_rejected() {
        let addr = "127.0.0.1:1".parse().unwrap();
        let mut p = plan(addr);
        p.workers = 0;
        assert!(p.validate().unwrap_err().contains("workers"));
        let mut p = plan(addr);
        p.requests = None;
        assert!(p.validate().unwrap_err().contains("never end"));
        let mut p = plan(addr);
        p.rate = Some(-1.0);
        assert!(p.validate().unwrap_err().contains("rate"));
        let mut p = plan(addr);
        p.connections = 5;
        assert!(p.validate().unwrap_err().contains("connections"));
        let mut p = plan(addr);
        p.threads = 0;
        assert!(p.validate().unwrap_err().contains("threads"));
    }
}
