//! The WIT `http` interface: policy check, request encoding outside the timed
//! section, the native exchange, and latencies recorded into host histograms.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::HttpCtx;
use super::client::{self, DEFAULT_TIMEOUT, MAX_BODY_KEPT};
use super::load::{self, LoadPlan};
use crate::bindings::http as wit;
use crate::events::ProgressSink;
use crate::metrics::{HistogramHandle, Recorder, Unit};
use crate::probes::{BindingResult, ProbeError};

/// Largest request body a guest may send (bounds the copy the host keeps
/// for a load, where every worker reuses it).
pub const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// What the `http` binding may touch: its grants, the guest's histogram
/// handles, where latencies are recorded, and a load's progress.
pub struct HttpView<'a> {
    pub(crate) http: &'a HttpCtx,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a mut Recorder,
    pub(crate) events: &'a ProgressSink,
    /// What the host may hold or start for the scenario.
    pub(crate) budget: &'a crate::budget::Budget,
}

/// Links `http` to an `HttpView` of the store's state.
pub struct HttpBinding;

impl HasData for HttpBinding {
    type Data<'a> = HttpView<'a>;
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn timeout_of(ns: u64) -> Duration {
    if ns == 0 {
        DEFAULT_TIMEOUT
    } else {
        Duration::from_nanos(ns)
    }
}

/// What both `send` and `run-load` check and prepare before any timing.
struct Prepared {
    addr: std::net::SocketAddr,
    bytes: Vec<u8>,
    head_only: bool,
    timeout: Duration,
}

/// Checks the URL against the grants and encodes the request; synchronous,
/// so no borrow of the store's state is held across an await.
fn encode(
    ctx: &HttpCtx,
    req: &wit::Request,
    keep_alive: bool,
) -> Result<(client::Url, Vec<u8>), ProbeError> {
    let url = ctx.check_url(&req.url)?;
    if req.body.len() > MAX_REQUEST_BODY {
        return Err(ProbeError::Invalid(format!(
            "request body is {} bytes; the limit is {MAX_REQUEST_BODY}",
            req.body.len()
        )));
    }
    let bytes = client::encode_request(&req.method, &url, &req.headers, &req.body, keep_alive)?;
    Ok((url, bytes))
}

async fn prepare(
    encoded: Result<(client::Url, Vec<u8>), ProbeError>,
    req: &wit::Request,
) -> Result<Prepared, ProbeError> {
    let (url, bytes) = encoded?;
    let addr = url.resolve().await?;
    Ok(Prepared {
        addr,
        bytes,
        head_only: req.method.eq_ignore_ascii_case("HEAD"),
        timeout: timeout_of(req.timeout_ns),
    })
}

impl wit::Host for HttpView<'_> {
    async fn send(
        &mut self,
        req: wit::Request,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::Response> {
        let histogram = match &into {
            Some(h) => Some(*self.table.get(h)?),
            None => None,
        };
        let encoded = encode(self.http, &req, false);
        let prepared = prepare(encoded, &req).await?;
        let result = client::send_once(
            prepared.addr,
            &prepared.bytes,
            prepared.head_only,
            MAX_BODY_KEPT,
            prepared.timeout,
        )
        .await;
        match result {
            Ok((response, timing)) => {
                if let Some(h) = histogram {
                    self.recorder.record(h, nanos(timing.total));
                }
                Ok(wit::Response {
                    status: response.status,
                    headers: response.headers,
                    body: response.body,
                    body_bytes: response.body_bytes,
                    connect_ns: nanos(timing.connect),
                    first_byte_ns: nanos(timing.first_byte),
                    total_ns: nanos(timing.total),
                })
            }
            Err(e) => Err(ProbeError::from(e).into()),
        }
    }

    async fn run_load(&mut self, spec: wit::LoadSpec) -> BindingResult<wit::LoadReport> {
        let metric = spec.metric.clone();
        let encoded = encode(self.http, &spec.request, true);
        let prepared = prepare(encoded, &spec.request).await?;
        let plan = LoadPlan {
            addr: prepared.addr,
            request: Arc::new(prepared.bytes),
            head_only: prepared.head_only,
            workers: spec.workers,
            requests: (spec.requests > 0).then_some(spec.requests),
            duration: (spec.duration_ns > 0).then(|| Duration::from_nanos(spec.duration_ns)),
            rate: spec.rate,
            timeout: prepared.timeout,
            progress: self.events.clone(),
        };
        plan.validate()
            .map_err(|message| ProbeError::Invalid(format!("run-load: {message}")))?;
        // Held until the load is over.
        let _budget = load::reserve(&plan, self.budget).map_err(ProbeError::from)?;
        let histogram = self
            .recorder
            .histogram(&metric, Unit::Nanoseconds)
            .map_err(|e| ProbeError::Invalid(format!("load metric: {e}")))?;
        let expected = match (plan.requests, plan.rate, plan.duration) {
            (Some(n), _, _) => Some(n),
            (None, Some(rate), Some(d)) => Some((rate * d.as_secs_f64()).ceil() as u64),
            _ => None,
        };
        self.events
            .phase(&format!("http load `{metric}`"), expected);
        let outcome = load::run(plan).await;
        self.events.finish();
        self.recorder.merge(histogram, &outcome.latency);
        let throughput = outcome.throughput();
        let error_rate = outcome.error_rate();
        // Both names derive from a metric name that was just accepted, so
        // they can only fail on length; the report then simply lacks them.
        let _ = self.recorder.gauge(
            &format!("{metric}.throughput"),
            throughput,
            Unit::OpsPerSecond,
        );
        let _ = self
            .recorder
            .gauge(&format!("{metric}.error-rate"), error_rate, Unit::Ratio);
        Ok(wit::LoadReport {
            sent: outcome.sent,
            ok: outcome.ok,
            http_errors: outcome.http_errors,
            failed: outcome.failed,
            statuses: outcome.statuses.iter().map(|(s, n)| (*s, *n)).collect(),
            duration_ns: nanos(outcome.duration),
            throughput,
            latency: outcome.latency.summary().into(),
            first_error: outcome.first_error,
        })
    }
}
