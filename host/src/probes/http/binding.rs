//! The WIT `http` interface: policy check, request encoding outside the timed
//! section, the native exchange, and latencies recorded into host histograms.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Resource;

use super::client::{self, DEFAULT_TIMEOUT, MAX_BODY_KEPT};
use super::load::{self, LoadPlan};
use crate::bindings::http as wit;
use crate::bindings::types::ProbeError as WitProbeError;
use crate::engine::HostState;
use crate::metrics::{HistogramHandle, Unit};
use crate::probes::ProbeError;

/// Largest request body a guest may send (bounds the copy the host keeps
/// for a load, where every worker reuses it).
pub const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

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
    ctx: &super::HttpCtx,
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

impl wit::Host for HostState {
    async fn send(
        &mut self,
        req: wit::Request,
        into: Option<Resource<HistogramHandle>>,
    ) -> wasmtime::Result<Result<wit::Response, WitProbeError>> {
        let histogram = match &into {
            Some(h) => Some(*self.table.get(h)?),
            None => None,
        };
        let encoded = encode(&self.probes.http, &req, false);
        let prepared = match prepare(encoded, &req).await {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.into())),
        };
        let result = client::send_once(
            prepared.addr,
            &prepared.bytes,
            prepared.head_only,
            MAX_BODY_KEPT,
            prepared.timeout,
        )
        .await;
        Ok(match result {
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
        })
    }

    async fn run_load(
        &mut self,
        spec: wit::LoadSpec,
    ) -> wasmtime::Result<Result<wit::LoadReport, WitProbeError>> {
        let metric = spec.metric.clone();
        let encoded = encode(&self.probes.http, &spec.request, true);
        let prepared = match prepare(encoded, &spec.request).await {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.into())),
        };
        let plan = LoadPlan {
            addr: prepared.addr,
            request: Arc::new(prepared.bytes),
            head_only: prepared.head_only,
            workers: spec.workers,
            requests: (spec.requests > 0).then_some(spec.requests),
            duration: (spec.duration_ns > 0).then(|| Duration::from_nanos(spec.duration_ns)),
            rate: spec.rate,
            timeout: prepared.timeout,
            progress: self.probes.events.clone(),
        };
        if let Err(message) = plan.validate() {
            return Ok(Err(
                ProbeError::Invalid(format!("run-load: {message}")).into()
            ));
        }
        // Held until the load is over.
        let _budget = match load::reserve(&plan, &self.probes.budget) {
            Ok(held) => held,
            Err(e) => return Ok(Err(ProbeError::from(e).into())),
        };
        let histogram = match self.recorder.histogram(&metric, Unit::Nanoseconds) {
            Ok(h) => h,
            Err(e) => {
                return Ok(Err(ProbeError::Invalid(format!("load metric: {e}")).into()));
            }
        };
        let expected = match (plan.requests, plan.rate, plan.duration) {
            (Some(n), _, _) => Some(n),
            (None, Some(rate), Some(d)) => Some((rate * d.as_secs_f64()).ceil() as u64),
            _ => None,
        };
        self.probes
            .events
            .phase(&format!("http load `{metric}`"), expected);
        let outcome = load::run(plan).await;
        self.probes.events.finish();
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
        Ok(Ok(wit::LoadReport {
            sent: outcome.sent,
            ok: outcome.ok,
            http_errors: outcome.http_errors,
            failed: outcome.failed,
            statuses: outcome.statuses.iter().map(|(s, n)| (*s, *n)).collect(),
            duration_ns: nanos(outcome.duration),
            throughput,
            latency: outcome.latency.summary().into(),
            first_error: outcome.first_error,
        }))
    }
}
