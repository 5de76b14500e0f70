//! WebSocket load: N connections, each sending messages built from the
//! guest's template with a unique correlation id, either on a fixed timeline
//! (open model: the round trip counts from the intended send time, so a slow
//! server cannot hide its queueing) or one at a time (closed model: the next
//! message goes when the previous one was answered). Answers are matched by
//! id per connection, in any order. The connections are futures of one task,
//! recording into one round-trip histogram (one per connection put 50 of
//! them in the cache's way and cost a tenth of the load's CPU); [`reserve`]
//! takes the connections and their memory from the scenario's budget first.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::client::{self, ConnectSpec, ConnectTiming, NO_STATUS_CODE, WsError};
use super::correlation::{self, IdFinder, IdLocation, InFlight, Match, Template};
use crate::budget::{Budget, BudgetExceeded, Reservation, Resource, size};
use crate::events::ProgressSink;
use crate::metrics::Distribution;
use crate::pacing::{RateProfile, TIMER_SLACK, Timeline};

/// Most connections of one load.
pub const MAX_CONNECTIONS: u32 = 1024;
/// Highest open-model rate, in messages per second per connection.
pub const MAX_RATE: f64 = 100_000.0;
/// Largest message of a load when the guest does not say.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;
/// How long answers are awaited after the last send when the guest does
/// not say; in the closed model also how long one answer is awaited.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(1);
/// Shortest wait for the peer's close at the end.
pub const MIN_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A validated load.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub connect: ConnectSpec,
    pub connections: u32,
    /// Messages per connection.
    pub messages: Option<u64>,
    pub duration: Option<Duration>,
    /// Messages per second per connection (open model); `None` for closed.
    pub rate: Option<f64>,
    pub template: Arc<Template>,
    pub text: bool,
    pub location: Arc<IdLocation>,
    pub grace: Duration,
    /// Advanced once per message sent.
    pub progress: ProgressSink,
}

impl LoadPlan {
    /// Checks the numbers a guest gave; the message says which is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(format!(
                "connections is {}; it must be 1..={MAX_CONNECTIONS}",
                self.connections
            ));
        }
        if self.messages.is_none() && self.duration.is_none() {
            return Err("give `messages`, `duration-ns` or both; the load would never end".into());
        }
        if let Some(rate) = self.rate
            && !(rate > 0.0 && rate <= MAX_RATE)
        {
            return Err(format!(
                "rate is {rate}; it must be in (0, {MAX_RATE}] messages per second per connection"
            ));
        }
        let len = self.template.message_len();
        if len > self.connect.max_message {
            return Err(format!(
                "a message is {len} bytes; the limit is {} bytes (max-message-bytes)",
                self.connect.max_message
            ));
        }
        Ok(())
    }
}

/// Takes from `budget` what `plan` needs, all or nothing: a worker and a
/// connection per connection, and host memory for each connection's
/// buffers and in-flight table, plus the round-trip and phase histograms.
pub fn reserve(plan: &LoadPlan, budget: &Budget) -> Result<Vec<Reservation>, BudgetExceeded> {
    let n = u64::from(plan.connections);
    let per_connection =
        client::memory_per_connection(plan.connect.max_message) + correlation::IN_FLIGHT_BYTES;
    let memory = n
        .saturating_mul(per_connection)
        .saturating_add(6 * Distribution::max_bytes());
    let asks = [
        (Resource::LoadWorkers, n),
        (Resource::Connections, n),
        (Resource::HostMemory, memory),
    ];
    budget
        .reserve_all(&asks, |_| "websocket run-load".into())
        .map_err(|e| match e.resource {
            Resource::HostMemory => e.because(format!(
                "{n} connections × {} for buffers of {}-byte messages and answers in flight",
                size(per_connection),
                plan.connect.max_message
            )),
            Resource::Connections => e.because(format!("{n} WebSocket connections")),
            _ => e,
        })
}

/// Distributions of the connect phases, in nanoseconds.
#[derive(Debug, Default)]
pub struct Phases {
    pub dns: Distribution,
    pub connect: Distribution,
    pub tls: Distribution,
    pub upgrade: Distribution,
    pub total: Distribution,
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    pub round_trip: Distribution,
    pub phases: Phases,
    pub connected: u32,
    pub sent: u64,
    pub received: u64,
    pub matched: u64,
    pub unmatched: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Connects to closes.
    pub duration: Duration,
    /// First send to the last answer awaited, over every connection.
    pub active: Duration,
    pub close_codes: BTreeMap<u16, u64>,
    pub errors: BTreeMap<&'static str, u64>,
    pub first_error: Option<String>,
}

impl LoadOutcome {
    fn per_second(&self, n: u64) -> f64 {
        let secs = self.active.as_secs_f64();
        if secs > 0.0 { n as f64 / secs } else { 0.0 }
    }

    pub fn sent_per_second(&self) -> f64 {
        self.per_second(self.sent)
    }

    pub fn received_per_second(&self) -> f64 {
        self.per_second(self.received)
    }

    /// Adds one connection's counts.
    fn add(&mut self, o: Counts) {
        self.sent += o.sent;
        self.received += o.received;
        self.matched += o.matched;
        self.unmatched += o.unmatched;
        self.duplicates += o.duplicates;
        self.lost += o.lost;
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        for (code, n) in o.close_codes {
            *self.close_codes.entry(code).or_default() += n;
        }
        for (kind, n) in o.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// One connection's counts (its round trips go to the load's histogram).
#[derive(Debug, Default)]
struct Counts {
    sent: u64,
    received: u64,
    matched: u64,
    unmatched: u64,
    duplicates: u64,
    lost: u64,
    bytes_sent: u64,
    bytes_received: u64,
    close_codes: BTreeMap<u16, u64>,
    errors: BTreeMap<&'static str, u64>,
    first_error: Option<String>,
}

impl Counts {
    fn error(&mut self, kind: &'static str, message: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }
}

/// One connection's share.
#[derive(Debug, Default)]
struct ConnOutcome {
    totals: Counts,
    timing: Option<ConnectTiming>,
    began: Option<Instant>,
    finished: Option<Instant>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs the load. Dropping the future aborts every connection.
pub async fn run(plan: LoadPlan) -> LoadOutcome {
    let start = Instant::now();
    let plan = Arc::new(plan);
    // Every connection connects first, so no connection's timeline starts
    // while others are still handshaking.
    let barrier = Arc::new(Barrier::new(plan.connections as usize));
    // A lock never contended (every connection is polled by this task), but
    // the host's futures must be `Send`.
    let round_trip = Mutex::new(Distribution::default());
    // One for every connection: it holds the template, which may be as
    // large as a message.
    let finder = IdFinder::new(&plan.template, &plan.location);
    let mut connections: FuturesUnordered<_> = (0..plan.connections)
        .map(|c| {
            AssertUnwindSafe(connection(
                Arc::clone(&plan),
                c,
                Arc::clone(&barrier),
                &round_trip,
                &finder,
            ))
            .catch_unwind()
        })
        .collect();
    let mut total = LoadOutcome::default();
    let mut began: Option<Instant> = None;
    let mut finished: Option<Instant> = None;
    while let Some(done) = connections.next().await {
        let one = match done {
            Ok(one) => one,
            Err(_) => {
                let mut failed = Counts::default();
                failed.error("task", || "a load connection failed unexpectedly".into());
                total.add(failed);
                continue;
            }
        };
        if let Some(t) = one.timing {
            total.connected += 1;
            total.phases.dns.record(nanos(t.dns));
            total.phases.connect.record(nanos(t.connect));
            total.phases.tls.record(nanos(t.tls));
            total.phases.upgrade.record(nanos(t.upgrade));
            total.phases.total.record(nanos(t.total));
        }
        began = match (began, one.began) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        finished = finished.max(one.finished);
        total.add(one.totals);
    }
    drop(connections);
    total.round_trip = round_trip.into_inner().unwrap_or_else(|e| e.into_inner());
    total.duration = start.elapsed();
    if let (Some(b), Some(f)) = (began, finished) {
        total.active = f.saturating_duration_since(b);
    }
    total
}

/// Why a connection's exchange loop ended.
enum Ended {
    /// Sending done and every answer in or given up: close from our side.
    Done,
    /// The peer closed, or the connection broke: nothing to close.
    Gone,
}

async fn connection(
    plan: Arc<LoadPlan>,
    c: u32,
    barrier: Arc<Barrier>,
    round_trip: &Mutex<Distribution>,
    finder: &IdFinder,
) -> ConnOutcome {
    let mut one = ConnOutcome::default();
    let connected = client::connect(&plan.connect).await;
    barrier.wait().await;
    let (mut socket, timing) = match connected {
        Ok(ok) => ok,
        Err(e) => {
            one.totals.error(e.kind(), || e.to_string());
            return one;
        }
    };
    one.timing = Some(timing);
    let began = Instant::now();
    one.began = Some(began);
    let url = plan.connect.url.text();
    let out = &mut one.totals;
    let send_end = plan.duration.map(|d| began + d);
    let mut flight = InFlight::new(c);
    // Open model: this connection's schedule, and its next slot (sent or
    // skipped in turn); `None` once the schedule is exhausted.
    let timeline = plan.rate.and_then(|per_second| {
        Timeline::new(
            began,
            RateProfile::Constant { per_second },
            send_end,
            plan.messages,
        )
        .ok()
    });
    let mut next = timeline.as_ref().and_then(Timeline::claim);
    // Checked once: each message is the template with digits in it.
    let as_text = plan.text && plan.template.is_utf8();
    let mut sending = true;
    let mut grace_end = began;
    let mut last_send = began;
    let mut timer = Box::pin(tokio::time::sleep_until(began.into()));
    let mut armed = began;
    // A clock reading taken at the end of the last turn (an answer's
    // arrival, a closed-model send), good enough for the next turn's
    // deadlines: one reading fewer per message.
    let mut fresh: Option<Instant> = None;

    let ended = loop {
        let now = fresh.take().unwrap_or_else(Instant::now);
        // The timeline ends at the message count and at the end of the
        // sending time on its own.
        let count_done = match plan.rate {
            Some(_) => next.is_none(),
            None => plan.messages.is_some_and(|n| flight.sent() >= n),
        };
        let due = next.map(|slot| slot.intended);
        let past_end = send_end.is_some_and(|e| now >= e);
        if sending && (count_done || past_end) {
            sending = false;
            grace_end = now + plan.grace;
        }
        if !sending && (flight.is_empty() || now >= grace_end) {
            break Ended::Done;
        }
        // What to wake for besides an answer.
        let wake = if !sending {
            grace_end
        } else if let Some(d) = due {
            d
        } else if flight.is_empty() {
            now
        } else {
            let give_up = last_send + plan.grace;
            send_end.map_or(give_up, |e| e.min(give_up))
        };
        let woke = if wake <= now {
            true
        } else {
            let early = wake.checked_sub(TIMER_SLACK).unwrap_or(wake).max(now);
            // One timer per connection, moved only when it would fire too
            // late or has fired: in the closed model the give-up deadline
            // moves with every send, and re-arming per message would cost
            // a timer-wheel update each time. Firing early is harmless: the
            // loop re-evaluates.
            if armed > early || armed <= now {
                timer.as_mut().reset(early.into());
                armed = early;
            }
            tokio::select! {
                biased;
                frame = socket.next() => {
                    let message = match frame {
                        Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => m,
                        Some(Ok(Message::Close(f))) => {
                            let code = f.map_or(NO_STATUS_CODE, |f| u16::from(f.code));
                            *out.close_codes.entry(code).or_default() += 1;
                            out.error("closed-by-peer", || {
                                format!("`{url}` closed the connection with code {code} during the load")
                            });
                            break Ended::Gone;
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => {
                            let e = WsError::from_tungstenite(&url, e);
                            out.error(receive_kind(&e), || e.to_string());
                            break Ended::Gone;
                        }
                        None => {
                            out.error("closed", || format!("`{url}` dropped the connection during the load"));
                            break Ended::Gone;
                        }
                    };
                    let payload = data(&message);
                    out.received += 1;
                    out.bytes_received += payload.len() as u64;
                    match flight.answer(finder.find(payload)) {
                        Match::Answer(from) => {
                            // Read before the lock is taken: the round trip
                            // ends at the answer, not after the lock.
                            let answered = Instant::now();
                            fresh = Some(answered);
                            let took = nanos(answered.saturating_duration_since(from));
                            out.matched += 1;
                            round_trip
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .record(took);
                        }
                        Match::Duplicate => out.duplicates += 1,
                        Match::Unmatched => out.unmatched += 1,
                    }
                    false
                }
                _ = timer.as_mut() => true,
            }
        };
        if !woke || !sending {
            continue;
        }
        // Closed model, answer overdue: give the message up and move on.
        if plan.rate.is_none() && !flight.is_empty() {
            if Instant::now() >= last_send + plan.grace {
                out.lost += flight.give_up() as u64;
            }
            continue;
        }
        if let Some(d) = due {
            if d > Instant::now() + TIMER_SLACK {
                continue; // woken for an earlier deadline
            }
            crate::pacing::yield_until(d).await;
            next = timeline.as_ref().and_then(Timeline::claim);
            if !flight.has_room() {
                out.error("in-flight-limit", || {
                    format!(
                        "{} messages on one connection to `{url}` were unanswered; a send was skipped",
                        correlation::MAX_IN_FLIGHT
                    )
                });
                continue;
            }
        }
        let id = flight.next_id();
        let bytes = bytes::Bytes::from(plan.template.build(id));
        let len = bytes.len() as u64;
        let message = if as_text {
            // SAFETY: the text around the id is UTF-8 (`as_text`) and the
            // id is ASCII digits, so the whole message is.
            Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(bytes) })
        } else {
            Message::Binary(bytes)
        };
        // Closed model: from the send, read once the message is built so
        // that building it is not timed; open model: from the slot.
        last_send = Instant::now();
        let from = due.unwrap_or(last_send);
        flight.send(from);
        if let Err(e) = socket.send(message).await {
            flight.cancel(id);
            let e = WsError::from_tungstenite(&url, e);
            out.error(send_kind(&e), || e.to_string());
            break Ended::Gone;
        }
        out.sent += 1;
        out.bytes_sent += len;
        plan.progress.advance(1);
        // The open model's next slot may be due within microseconds, so
        // it reads the clock afresh.
        if due.is_none() {
            fresh = Some(last_send);
        }
    };
    out.lost += flight.len() as u64;
    one.finished = Some(Instant::now());
    if let Ended::Done = ended {
        close(
            &mut socket,
            &url,
            plan.grace.max(MIN_CLOSE_WAIT),
            &mut one.totals,
        )
        .await;
    }
    one
}

/// The payload of a text or binary message.
fn data(message: &Message) -> &[u8] {
    match message {
        Message::Text(t) => t.as_bytes(),
        Message::Binary(b) => b,
        _ => &[],
    }
}

fn send_kind(e: &WsError) -> &'static str {
    match e {
        WsError::Broken { .. } => "send",
        other => other.kind(),
    }
}

fn receive_kind(e: &WsError) -> &'static str {
    match e {
        WsError::Broken { .. } => "receive",
        other => other.kind(),
    }
}

/// Sends a normal close and records the peer's code.
async fn close(socket: &mut client::Socket, url: &str, wait: Duration, out: &mut Counts) {
    let work = async {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "load done".into(),
        };
        socket
            .close(Some(frame))
            .await
            .map_err(|e| WsError::from_tungstenite(url, e))?;
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(f))) => {
                    return Ok(f.map_or(NO_STATUS_CODE, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(WsError::from_tungstenite(url, e)),
                None => {
                    return Err(WsError::Closed {
                        url: url.to_owned(),
                    });
                }
            }
        }
    };
    match tokio::time::timeout(wait, work).await {
        Ok(Ok(code)) => *out.close_codes.entry(code).or_default() += 1,
        Ok(Err(e)) => out.error("close", || format!("closing `{url}`: {e}")),
        Err(_) => out.error("close", || {
            format!("`{url}` did not answer the close within {wait:?}")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::tests::{echo_server, spec};
    use super::*;

    fn brief(o: &LoadOutcome) -> String {
        format!(
            "connected {} sent {} received {} matched {} unmatched {} duplicates {} lost {} closes {:?} errors {:?} first {:?}",
            o.connected,
            o.sent,
            o.received,
            o.matched,
            o.unmatched,
            o.duplicates,
            o.lost,
            o.close_codes,
            o.errors,
            o.first_error
        )
    }

    fn plan(url: &str, connections: u32) -> LoadPlan {
        LoadPlan {
            connect: spec(url),
            connections,
            messages: Some(50),
            duration: None,
            rate: None,
            template: Arc::new(Template::new(br#"{"id":"{id}","pad":"xyz"}"#, "{id}").unwrap()),
            text: true,
            location: Arc::new(IdLocation::JsonField("id".into())),
            grace: Duration::from_secs(1),
            progress: ProgressSink::detached(),
        }
    }

    #[tokio::test]
    async fn closed_load_matches_every_answer_and_closes_cleanly() {
        let addr = echo_server(false).await;
        let out = run(plan(&format!("ws://{addr}/"), 4)).await;
        assert_eq!(out.connected, 4, "{}", brief(&out));
        assert_eq!(
            (out.sent, out.matched, out.lost),
            (200, 200, 0),
            "{}",
            brief(&out)
        );
        assert_eq!((out.unmatched, out.duplicates), (0, 0));
        assert_eq!(out.round_trip.len(), 200);
        assert_eq!(out.close_codes.get(&1000), Some(&4), "{}", brief(&out));
        assert!(out.errors.is_empty(), "{}", brief(&out));
        assert_eq!(out.bytes_sent, out.bytes_received);
        assert_eq!(out.phases.total.len(), 4);
    }

    #[tokio::test]
    async fn answers_out_of_order_and_twice_are_matched_and_counted() {
        // This server answers each pair of messages in reverse order, and
        // every message twice.
        let addr = echo_server(true).await;
        let mut p = plan(&format!("ws://{addr}/"), 2);
        p.rate = Some(200.0);
        p.messages = Some(20);
        p.location = Arc::new(IdLocation::ByteRange(7, correlation::ID_DIGITS));
        let out = run(p).await;
        assert_eq!(
            (out.sent, out.matched, out.lost),
            (40, 40, 0),
            "{}",
            brief(&out)
        );
        // Each answer comes twice; the connection stops reading once every
        // message is answered, so the last duplicates may go unread.
        assert!(out.duplicates > 0, "{}", brief(&out));
        assert_eq!(out.received, out.matched + out.duplicates);
    }

    #[tokio::test]
    async fn unanswered_messages_are_lost_after_the_grace() {
        let addr = echo_server(false).await;
        let mut p = plan(&format!("ws://{addr}/"), 1);
        // The echo carries no field `nope`: nothing matches.
        p.location = Arc::new(IdLocation::JsonField("nope".into()));
        p.rate = Some(100.0);
        p.messages = Some(5);
        p.grace = Duration::from_millis(200);
        let out = run(p).await;
        assert_eq!(
            (out.sent, out.matched, out.unmatched, out.lost),
            (5, 0, 5, 5),
            "{}",
            brief(&out)
        );
    }

    #[tokio::test]
    async fn refused_connections_are_counted_by_kind() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let out = run(plan(&format!("ws://{addr}/"), 3)).await;
        assert_eq!((out.connected, out.sent), (0, 0));
        assert_eq!(out.errors.get("connect"), Some(&3), "{}", brief(&out));
        assert!(out.first_error.unwrap().contains("cannot connect"));
    }

    #[test]
    fn a_load_reserves_its_connections_and_memory() {
        let p = plan("ws://127.0.0.1:1/", 4);
        let budget = Budget::new(crate::budget::Budgets {
            connections: 5,
            ..Default::default()
        });
        let held = reserve(&p, &budget).unwrap();
        assert_eq!(budget.in_use(Resource::Connections), 4);
        let err = reserve(&p, &budget).unwrap_err().to_string();
        assert!(err.contains("websocket run-load needs 4"), "{err}");
        drop(held);
        assert_eq!(budget.in_use(Resource::Connections), 0);
        let mut big = plan("ws://127.0.0.1:1/", 2);
        big.connect.max_message = 8;
        assert!(big.validate().unwrap_err().contains("max-message-bytes"));
    }
}
