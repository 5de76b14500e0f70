//! The WIT `websocket` interface: grants and bounds checked first, budget
//! reserved for every connection and load, then the native half; round trips
//! recorded into host histograms.

use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Message;
use wasmtime::component::{HasData, Resource, ResourceTable};

use super::client::{self, Conn, ConnectSpec, DEFAULT_TIMEOUT, Incoming};
use super::correlation::{IdLocation, Template};
use super::load::{self, LoadPlan};
use crate::bindings::websocket as wit;
use crate::budget::{Budget, Reservation, Resource as Budgeted, size};
use crate::events::ProgressSink;
use crate::metrics::{Distribution, HistogramHandle, SharedRecorder, Unit};
use crate::policy::Policy;
use crate::probes::{BindingResult, ProbeError};
use crate::tls::TlsTrust;

/// What the `websocket` binding may touch: the `http` grants (a WebSocket
/// is an HTTP upgrade), the run's TLS trust, its connections and histograms,
/// the recorder, a load's progress and the budget.
pub struct WebSocketView<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) tls: &'a TlsTrust,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
    pub(crate) events: &'a ProgressSink,
    pub(crate) budget: &'a Budget,
    /// This shard's part of the run: loads take their part here.
    pub(crate) shard: &'a crate::shard::ShardCtx,
}

/// Links `websocket` to a `WebSocketView` of the store's state.
pub struct WebSocketBinding;

impl HasData for WebSocketBinding {
    type Data<'a> = WebSocketView<'a>;
}

/// A guest's open connection and the budget it holds until dropped.
pub struct Connection {
    conn: Conn,
    _held: Vec<Reservation>,
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

fn timing(t: client::ConnectTiming) -> wit::ConnectTiming {
    wit::ConnectTiming {
        dns_ns: nanos(t.dns),
        connect_ns: nanos(t.connect),
        tls_ns: nanos(t.tls),
        upgrade_ns: nanos(t.upgrade),
        total_ns: nanos(t.total),
    }
}

impl WebSocketView<'_> {
    /// Everything a connect needs, checked; synchronous, so no borrow of the
    /// store's state is held across an await.
    fn connect_spec(
        &self,
        url: &str,
        headers: Vec<(String, String)>,
        max_message: u32,
        default_max: usize,
        timeout_ns: u64,
    ) -> Result<ConnectSpec, ProbeError> {
        let url = super::check_url(self.policy, url)?;
        super::check_headers(&headers)?;
        Ok(ConnectSpec {
            url,
            headers,
            max_message: super::max_message(max_message, default_max)?,
            timeout: timeout_of(timeout_ns),
            trust: self.tls.clone(),
        })
    }

    fn conn(
        &mut self,
        handle: &Resource<Connection>,
    ) -> Result<&mut Conn, wasmtime::component::ResourceTableError> {
        Ok(&mut self.table.get_mut(handle)?.conn)
    }
}

impl wit::HostConnection for WebSocketView<'_> {
    async fn connect(
        &mut self,
        url: String,
        options: wit::ConnectOptions,
    ) -> BindingResult<Resource<Connection>> {
        let spec = self.connect_spec(
            &url,
            options.headers,
            options.max_message_bytes,
            super::DEFAULT_MAX_MESSAGE,
            options.timeout_ns,
        )?;
        let memory = client::memory_per_connection(spec.max_message);
        let held = self
            .budget
            .reserve_all(
                &[(Budgeted::Connections, 1), (Budgeted::HostMemory, memory)],
                |_| format!("websocket connect(\"{url}\")"),
            )
            .map_err(|e| match e.resource {
                Budgeted::HostMemory => e.because(format!(
                    "{} for buffers of {}-byte messages",
                    size(memory),
                    spec.max_message
                )),
                _ => e.because("drop connections the scenario no longer uses"),
            })
            .map_err(ProbeError::from)?;
        let conn = Conn::connect(&spec).await.map_err(ProbeError::from)?;
        Ok(self.table.push(Connection { conn, _held: held })?)
    }

    async fn timing(&mut self, this: Resource<Connection>) -> wasmtime::Result<wit::ConnectTiming> {
        Ok(timing(self.conn(&this)?.timing()))
    }

    async fn send_text(&mut self, this: Resource<Connection>, text: String) -> BindingResult<()> {
        let conn = self.conn(&this)?;
        conn.send(Message::Text(text.into()))
            .await
            .map_err(ProbeError::from)?;
        Ok(())
    }

    async fn send_binary(
        &mut self,
        this: Resource<Connection>,
        data: Vec<u8>,
    ) -> BindingResult<()> {
        let conn = self.conn(&this)?;
        conn.send(Message::Binary(data.into()))
            .await
            .map_err(ProbeError::from)?;
        Ok(())
    }

    async fn receive(
        &mut self,
        this: Resource<Connection>,
        timeout_ns: u64,
    ) -> BindingResult<wit::Incoming> {
        let conn = self.conn(&this)?;
        let got = conn
            .receive(timeout_of(timeout_ns))
            .await
            .map_err(ProbeError::from)?;
        Ok(match got {
            Incoming::Text(t) => wit::Incoming::Text(t),
            Incoming::Binary(b) => wit::Incoming::Binary(b),
            Incoming::Closed(code, reason) => {
                wit::Incoming::Closed(wit::CloseFrame { code, reason })
            }
        })
    }

    async fn ping(
        &mut self,
        this: Resource<Connection>,
        into: Option<Resource<HistogramHandle>>,
        timeout_ns: u64,
    ) -> BindingResult<u64> {
        let histogram = match &into {
            Some(h) => Some(*self.table.get(h)?),
            None => None,
        };
        let conn = self.conn(&this)?;
        let rtt = conn
            .ping(timeout_of(timeout_ns))
            .await
            .map_err(ProbeError::from)?;
        if let Some(h) = histogram {
            self.recorder.record(h, nanos(rtt));
        }
        Ok(nanos(rtt))
    }

    async fn close(
        &mut self,
        this: Resource<Connection>,
        code: u16,
        reason: String,
        timeout_ns: u64,
    ) -> BindingResult<u16> {
        let conn = self.conn(&this)?;
        Ok(conn
            .close(code, &reason, timeout_of(timeout_ns))
            .await
            .map_err(ProbeError::from)?)
    }

    async fn drop(&mut self, this: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

fn summary(d: &Distribution) -> crate::bindings::metrics::Summary {
    d.summary().into()
}

impl wit::Host for WebSocketView<'_> {
    async fn run_load(&mut self, spec: wit::LoadSpec) -> BindingResult<wit::LoadReport> {
        let metric = spec.metric.clone();
        let connect = self.connect_spec(
            &spec.url,
            Vec::new(),
            spec.max_message_bytes,
            load::DEFAULT_MAX_MESSAGE,
            0,
        )?;
        let invalid = |m: String| ProbeError::Invalid(format!("websocket run-load: {m}"));
        if spec.template.len() > connect.max_message {
            return Err(invalid(format!(
                "the template is {} bytes; the limit is {} bytes (max-message-bytes)",
                spec.template.len(),
                connect.max_message
            ))
            .into());
        }
        if spec.text && std::str::from_utf8(&spec.template).is_err() {
            return Err(invalid("a text template must be UTF-8".into()).into());
        }
        let template = Template::new(&spec.template, &spec.id_placeholder).map_err(invalid)?;
        let location = match spec.id_location {
            wit::IdLocation::JsonField(f) if f.is_empty() => {
                return Err(invalid("the JSON field name is empty".into()).into());
            }
            wit::IdLocation::JsonField(f) => IdLocation::JsonField(f),
            wit::IdLocation::ByteRange((offset, len)) => {
                IdLocation::ByteRange(offset as usize, len as usize)
            }
        };
        let plan = LoadPlan {
            connect,
            connections: spec.connections,
            messages: (spec.messages > 0).then_some(spec.messages),
            duration: (spec.duration_ns > 0).then(|| Duration::from_nanos(spec.duration_ns)),
            rate: spec.rate,
            template: Arc::new(template),
            text: spec.text,
            location: Arc::new(location),
            grace: if spec.grace_ns == 0 {
                load::DEFAULT_GRACE
            } else {
                Duration::from_nanos(spec.grace_ns)
            },
            progress: self.events.clone(),
        };
        let plan = self.shard.share_of(plan)?;
        plan.validate().map_err(invalid)?;
        // Held until the load is over.
        let _budget = load::reserve(&plan, self.budget).map_err(ProbeError::from)?;
        let histogram = self
            .recorder
            .histogram(&metric, Unit::Nanoseconds)
            .map_err(|e| ProbeError::Invalid(format!("load metric: {e}")))?;
        let connect_histogram = self
            .recorder
            .histogram(&format!("{metric}.connect"), Unit::Nanoseconds)
            .map_err(|e| ProbeError::Invalid(format!("load metric: {e}")))?;
        let expected = match (plan.messages, plan.rate, plan.duration) {
            (Some(n), _, _) => Some(n.saturating_mul(u64::from(plan.connections))),
            (None, Some(rate), Some(d)) => {
                Some((rate * d.as_secs_f64() * f64::from(plan.connections)).ceil() as u64)
            }
            _ => None,
        };
        self.events
            .phase(&format!("websocket load `{metric}`"), expected);
        let outcome = load::run(plan).await;
        self.events.finish();
        self.recorder.merge(histogram, &outcome.round_trip);
        self.recorder
            .merge(connect_histogram, &outcome.phases.total);
        let sent_rate = outcome.sent_per_second();
        let received_rate = outcome.received_per_second();
        // Derived from a metric name just accepted: they can only fail on
        // length, and the report then simply lacks them.
        let _ = self.recorder.gauge(
            &format!("{metric}.sent-rate"),
            sent_rate,
            Unit::OpsPerSecond,
        );
        let _ = self.recorder.gauge(
            &format!("{metric}.received-rate"),
            received_rate,
            Unit::OpsPerSecond,
        );
        let _ = self
            .recorder
            .gauge(&format!("{metric}.lost"), outcome.lost as f64, Unit::Count);
        let p = &outcome.phases;
        Ok(wit::LoadReport {
            connected: outcome.connected,
            sent: outcome.sent,
            received: outcome.received,
            matched: outcome.matched,
            unmatched: outcome.unmatched,
            duplicates: outcome.duplicates,
            lost: outcome.lost,
            bytes_sent: outcome.bytes_sent,
            bytes_received: outcome.bytes_received,
            duration_ns: nanos(outcome.duration),
            sent_per_second: sent_rate,
            received_per_second: received_rate,
            round_trip: summary(&outcome.round_trip),
            connect: wit::ConnectSummaries {
                dns: summary(&p.dns),
                connect: summary(&p.connect),
                tls: summary(&p.tls),
                upgrade: summary(&p.upgrade),
                total: summary(&p.total),
            },
            close_codes: outcome.close_codes.iter().map(|(c, n)| (*c, *n)).collect(),
            errors: outcome
                .errors
                .iter()
                .map(|(k, n)| ((*k).to_owned(), *n))
                .collect(),
            first_error: outcome.first_error,
        })
    }
}
