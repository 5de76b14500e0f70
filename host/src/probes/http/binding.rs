//! The WIT `http` interface: policy checks (every redirect hop, the client
//! identity), request preparation outside the timed sections, the native
//! exchange or load, and latencies recorded into host histograms.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::HttpCtx;
use super::client::{
    self, DEFAULT_TIMEOUT, Endpoint, MAX_BODY_KEPT, RequestTemplate, TlsSetup, Version,
};
use super::load::{self, LoadPlan};
use super::url::{Scheme, Url};
use crate::bindings::http as wit;
use crate::events::ProgressSink;
use crate::metrics::{HistogramHandle, SharedRecorder, Unit};
use crate::probes::{BindingResult, ProbeError};
use crate::tls::{ClientIdentity, TlsTrust};

/// Largest request body a guest may send (bounds the copy the host keeps
/// for a load, where every worker reuses it).
pub const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;
/// Most redirects one `send` follows.
pub const MAX_REDIRECTS: u32 = 16;

/// What the `http` binding may touch: its grants, the run's TLS trust, the
/// guest's histogram handles, where latencies are recorded, and a load's
/// progress.
pub struct HttpView<'a> {
    pub(crate) http: &'a HttpCtx,
    pub(crate) tls: &'a TlsTrust,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
    pub(crate) events: &'a ProgressSink,
    /// What the host may hold or start for the scenario.
    pub(crate) budget: &'a crate::budget::Budget,
    /// This shard's part of the run: loads take their part here.
    pub(crate) shard: &'a crate::shard::ShardCtx,
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

fn version_of(v: wit::HttpVersion) -> Version {
    match v {
        wit::HttpVersion::Http1 => Version::Http1,
        wit::HttpVersion::Http2 => Version::Http2,
    }
}

fn wit_version(v: Version) -> wit::HttpVersion {
    match v {
        Version::Http1 => wit::HttpVersion::Http1,
        Version::Http2 => wit::HttpVersion::Http2,
    }
}

/// What both `send` and `run-load` check before any timing: the URL's
/// grant, the body's size, the client identity's grant.
struct Checked {
    url: Url,
    identity: Option<Arc<ClientIdentity>>,
    want: Option<Version>,
    timeout: Duration,
}

fn check(ctx: &HttpCtx, req: &wit::Request) -> Result<Checked, ProbeError> {
    let url = ctx.check_url(&req.url)?;
    if req.body.len() > MAX_REQUEST_BODY {
        return Err(ProbeError::Invalid(format!(
            "request body is {} bytes; the limit is {MAX_REQUEST_BODY}",
            req.body.len()
        )));
    }
    let identity = match &req.client_identity {
        Some(name) => Some(Arc::clone(ctx.policy.check_client_cert(name)?)),
        None => None,
    };
    Ok(Checked {
        url,
        identity,
        want: req.version.map(version_of),
        timeout: timeout_of(req.timeout_ns),
    })
}

/// The TLS configuration for `url` (none on `http://`), built before any
/// timing.
fn tls_for(trust: &TlsTrust, url: &Url, c: &Checked) -> Result<Option<TlsSetup>, ProbeError> {
    if url.scheme == Scheme::Http {
        return Ok(None);
    }
    let config = trust
        .client_config(c.identity.as_deref(), client::alpn_for(c.want))
        .map_err(|e| ProbeError::from(client::HttpError::from(e)))?;
    Ok(Some(TlsSetup::new(config)))
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
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
        let checked = check(self.http, &req)?;
        let max_redirects = req.max_redirects.min(MAX_REDIRECTS);
        let mut url = checked.url.clone();
        let mut method = req.method;
        let mut body = req.body;
        let mut hops = 0u32;
        // Only the hops' timed sections count, never the checks between.
        let mut before = Duration::ZERO;
        loop {
            let template = RequestTemplate::new(&method, url.clone(), &req.headers, body.clone())
                .map_err(ProbeError::from)?;
            let tls = tls_for(self.tls, &url, &checked)?;
            let left = checked.timeout.saturating_sub(before);
            let (response, timing) =
                client::send_once(&template, tls, checked.want, MAX_BODY_KEPT, left)
                    .await
                    .map_err(ProbeError::from)?;
            let location = is_redirect(response.status)
                .then(|| response.header("location"))
                .flatten();
            if let (Some(location), true) = (location, max_redirects > 0) {
                let from = url.to_text();
                if hops == max_redirects {
                    return Err(ProbeError::Server(format!(
                        "stopped after {max_redirects} redirects: `{from}` answered {} to `{location}` again; look for a redirect loop or raise `max-redirects` (at most {MAX_REDIRECTS})",
                        response.status
                    ))
                    .into());
                }
                let next = url
                    .join(location)
                    .map_err(|e| ProbeError::Invalid(format!("redirect from `{from}`: {e}")))?;
                self.http.check_url(&next.to_text()).map_err(|e| match e {
                    ProbeError::Denied(m) => {
                        ProbeError::Denied(format!("redirect from `{from}`: {m}"))
                    }
                    other => other,
                })?;
                // 303, and 301/302 after a POST, continue as GET without
                // a body, as browsers do.
                if response.status == 303
                    || (matches!(response.status, 301 | 302) && method.eq_ignore_ascii_case("POST"))
                {
                    method = "GET".to_owned();
                    body = Vec::new();
                }
                before += timing.total;
                hops += 1;
                url = next;
                continue;
            }
            let total = before + timing.total;
            if let Some(h) = histogram {
                self.recorder.record(h, nanos(total));
            }
            return Ok(wit::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
                body_bytes: response.body_bytes,
                version: wit_version(response.version),
                url: url.to_text(),
                redirects: hops,
                dns_ns: nanos(timing.dns),
                connect_ns: nanos(timing.connect),
                tls_ns: nanos(timing.tls),
                first_byte_ns: nanos(before + timing.first_byte),
                total_ns: nanos(total),
            });
        }
    }

    async fn run_load(&mut self, spec: wit::LoadSpec) -> BindingResult<wit::LoadReport> {
        let metric = spec.metric.clone();
        let checked = check(self.http, &spec.request)?;
        let template = RequestTemplate::new(
            &spec.request.method,
            checked.url.clone(),
            &spec.request.headers,
            spec.request.body,
        )
        .map_err(ProbeError::from)?;
        let tls = tls_for(self.tls, &checked.url, &checked)?;
        let addr = checked.url.resolve().await.map_err(ProbeError::from)?;
        let plan = LoadPlan {
            endpoint: Endpoint {
                url: checked.url.clone(),
                addr,
                tls,
                want: checked.want,
            },
            request: Arc::new(template),
            workers: spec.workers,
            connections: spec.connections,
            requests: (spec.requests > 0).then_some(spec.requests),
            duration: (spec.duration_ns > 0).then(|| Duration::from_nanos(spec.duration_ns)),
            rate: spec.rate,
            timeout: checked.timeout,
            threads: match spec.threads {
                0 => crate::budget::threads_per_load() as u32,
                n => n,
            },
            progress: self.events.clone(),
        };
        let plan = self.shard.share_of(plan)?;
        plan.validate()
            .map_err(|message| ProbeError::Invalid(format!("run-load: {message}")))?;
        // Held until the load is over.
        let _budget = load::reserve(&plan, self.budget).map_err(ProbeError::from)?;
        let mut handles = Vec::with_capacity(4);
        for suffix in ["", ".first-byte", ".connect", ".tls"] {
            let name = format!("{metric}{suffix}");
            let handle = self
                .recorder
                .histogram(&name, Unit::Nanoseconds)
                .map_err(|e| ProbeError::Invalid(format!("load metric `{name}`: {e}")))?;
            handles.push(handle);
        }
        let [total, first_byte, connect, tls] = handles[..] else {
            unreachable!("four histograms were just made");
        };
        let expected = match (plan.requests, plan.rate, plan.duration) {
            (Some(n), _, _) => Some(n),
            (None, Some(rate), Some(d)) => Some((rate * d.as_secs_f64()).ceil() as u64),
            _ => None,
        };
        self.events
            .phase(&format!("http load `{metric}`"), expected);
        let workers = plan.workers;
        let outcome = load::run(plan).await;
        self.events.finish();
        self.recorder.merge(total, &outcome.latency);
        self.recorder.merge(first_byte, &outcome.first_byte);
        self.recorder.merge(connect, &outcome.connect);
        self.recorder.merge(tls, &outcome.tls);
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
            first_error: outcome.first_error.clone(),
            version: outcome.version.map(wit_version),
            connections: outcome.connections,
            streams_per_connection: outcome.streams_per_connection(workers),
            connections_opened: outcome.connections_opened,
        })
    }
}
