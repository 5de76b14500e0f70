//! Concurrent HTTP load: workers on keep-alive connections, closed model
//! (send when the previous response arrived) or open model (requests on a
//! fixed timeline, latency from the intended send time, so queueing in a slow
//! server is measured rather than hidden). Each worker records into its own
//! histogram; they are merged once at the end. Workers are tasks on the
//! host's runtime (no thread of their own); [`reserve`] takes their number,
//! their connections and their host memory from the scenario's budget first.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{Conn, HttpError, MAX_HEAD_BYTES};
use crate::budget::{Budget, BudgetExceeded, Reservation, Resource, size};
use crate::events::ProgressSink;
use crate::metrics::Distribution;

/// Most concurrent workers of one load.
pub const MAX_WORKERS: u32 = 1024;
/// What one worker's connection holds at most besides its histogram: the
/// read buffer (a response head of up to `MAX_HEAD_BYTES`, body chunks) and
/// the parsed headers.
const WORKER_BYTES: u64 = 2 * MAX_HEAD_BYTES as u64 + 32 * 1024;
/// Highest open-model rate accepted, per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// A validated load.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub addr: SocketAddr,
    /// The encoded request, identical for every send.
    pub request: Arc<Vec<u8>>,
    pub head_only: bool,
    pub workers: u32,
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
    /// Requests per second for the open model; `None` for the closed model.
    pub rate: Option<f64>,
    /// Limit of one exchange.
    pub timeout: Duration,
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

/// Takes from `budget` what `plan` needs, all or nothing: its workers, one
/// connection each, and host memory for the request, each worker's
/// connection and its latency histogram at its widest.
pub fn reserve(plan: &LoadPlan, budget: &Budget) -> Result<Vec<Reservation>, BudgetExceeded> {
    let workers = u64::from(plan.workers);
    let per_worker = WORKER_BYTES + Distribution::max_bytes();
    let memory = (plan.request.len() as u64).saturating_add(workers.saturating_mul(per_worker));
    let asks = [
        (Resource::LoadWorkers, workers),
        (Resource::Connections, workers),
        (Resource::HostMemory, memory),
    ];
    budget
        .reserve_all(&asks, |_| "http run-load".into())
        .map_err(|e| match e.resource {
            Resource::HostMemory => e.because(format!(
                "{workers} workers × {} for a connection and a latency histogram, plus the {} request",
                size(per_worker),
                size(plan.request.len() as u64)
            )),
            Resource::Connections => e.because(format!("{workers} workers with a connection each")),
            _ => e,
        })
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub latency: Distribution,
    pub sent: u64,
    pub ok: u64,
    pub http_errors: u64,
    pub failed: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub duration: Duration,
    pub first_error: Option<String>,
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

    fn absorb(&mut self, other: LoadOutcome) {
        self.latency.merge(&other.latency);
        self.sent += other.sent;
        self.ok += other.ok;
        self.http_errors += other.http_errors;
        self.failed += other.failed;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Runs the load. Dropping the future aborts every worker.
pub async fn run(plan: LoadPlan) -> LoadOutcome {
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let end = plan.duration.map(|d| start + d);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.workers {
        let plan = plan.clone();
        let next = Arc::clone(&next);
        workers.spawn(worker(plan, next, start, end));
    }
    let mut total = LoadOutcome::default();
    while let Some(done) = workers.join_next().await {
        match done {
            Ok(outcome) => total.absorb(outcome),
            Err(e) => {
                total
                    .first_error
                    .get_or_insert(format!("a load worker failed: {e}"));
            }
        }
    }
    total.duration = start.elapsed();
    total
}

/// How much earlier than a slot the timer is asked to wake: tokio's timer
/// has millisecond resolution and rounds up, and every microsecond a send is
/// late counts in the open model's latency.
const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Sleeps until `at`: the timer for all but the last millisecond, then
/// yielding to the runtime until the instant is reached.
async fn pace_until(at: Instant) {
    if let Some(early) = at.checked_sub(TIMER_SLACK)
        && early > Instant::now()
    {
        tokio::time::sleep_until(early.into()).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

async fn worker(
    plan: LoadPlan,
    next: Arc<AtomicU64>,
    start: Instant,
    end: Option<Instant>,
) -> LoadOutcome {
    let mut out = LoadOutcome::default();
    let mut conn: Option<Conn> = None;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if plan.requests.is_some_and(|n| i >= n) {
            break;
        }
        // Closed model: latency from the actual send. Open model: from the
        // slot on the timeline, even if this worker reaches it late.
        let begin = match plan.rate {
            None => Instant::now(),
            Some(rate) => {
                let intended = start + Duration::from_secs_f64(i as f64 / rate);
                if end.is_some_and(|e| intended >= e) {
                    break;
                }
                pace_until(intended).await;
                intended
            }
        };
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        out.sent += 1;
        let exchange = async {
            if conn.is_none() {
                conn = Some(Conn::connect(plan.addr).await?);
            }
            let c = conn.as_mut().expect("connected just above");
            c.exchange(&plan.request, plan.head_only, 0).await
        };
        let result = tokio::time::timeout(plan.timeout, exchange).await;
        plan.progress.advance(1);
        match result {
            Ok(Ok((response, _))) => {
                let ns = u64::try_from(begin.elapsed().as_nanos()).unwrap_or(u64::MAX);
                out.latency.record(ns);
                *out.statuses.entry(response.status).or_default() += 1;
                if response.status < 400 {
                    out.ok += 1;
                } else {
                    out.http_errors += 1;
                }
                if !response.keep_alive {
                    conn = None;
                }
            }
            Ok(Err(e)) => {
                out.failed += 1;
                conn = None;
                out.first_error.get_or_insert_with(|| e.to_string());
            }
            Err(_) => {
                out.failed += 1;
                conn = None;
                out.first_error.get_or_insert_with(|| {
                    HttpError::Timeout {
                        addr: plan.addr,
                        after: plan.timeout,
                    }
                    .to_string()
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::client::{Url, encode_request, tests::serve};
    use super::*;

    fn plan(addr: SocketAddr) -> LoadPlan {
        let url = Url::parse("http://127.0.0.1/").unwrap();
        LoadPlan {
            addr,
            request: Arc::new(encode_request("GET", &url, &[], b"", true).unwrap()),
            head_only: false,
            workers: 4,
            requests: Some(400),
            duration: None,
            rate: None,
            timeout: Duration::from_secs(5),
            progress: ProgressSink::detached(),
        }
    }

    #[tokio::test]
    async fn closed_load_sends_exactly_the_requests_asked_for() {
        let addr = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let out = run(plan(addr)).await;
        assert_eq!((out.sent, out.ok, out.failed), (400, 400, 0), "{out:?}");
        assert_eq!(out.latency.len(), 400);
        assert_eq!(out.statuses.get(&200), Some(&400));
        assert!(out.throughput() > 0.0);
        assert_eq!(out.error_rate(), 0.0);
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
        assert!(budget.in_use(Resource::HostMemory) > 4 * Distribution::max_bytes());
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
    }
}
