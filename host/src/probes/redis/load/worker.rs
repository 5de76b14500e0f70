//! One worker's loop: pick ops, encode, send, time, tally; reconnect when
//! the connection is lost. Closed and open model, per-worker or shared
//! connection. The workers of one thread share its tallies: each borrows
//! them only between awaits, so the borrows never overlap.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::shared::SharedConnection;
use super::spec::{Amount, CommandMaker, Connections, Model, RECONNECT_BACKOFF_MAX};
use super::tally::{Tally, kind_of, server_kind};
use super::{Phase, Run};
use crate::probes::redis::resp::Reply;
use crate::probes::redis::{RedisError, RedisLink};

/// Where a worker sends its requests.
enum Link {
    Own(Option<RedisLink>),
    Shared(Arc<SharedConnection>),
}

/// What the workers of one thread measured, shared by them.
pub struct Tallies {
    pub measured: RefCell<Tally>,
    /// Warm-up results: discarded, except for reconnections.
    pub warmup: RefCell<Tally>,
}

/// A worker's state across its phases.
pub struct Worker {
    run: Arc<Run>,
    index: u32,
    link: Link,
    tallies: Rc<Tallies>,
    picks: Vec<usize>,
    /// Per op of the current batch: answered with an error reply.
    refused: Vec<bool>,
    /// When the connection was first seen lost and not yet restored.
    unreachable_since: Option<Instant>,
    gave_up: bool,
}

impl Worker {
    pub fn new(
        run: Arc<Run>,
        index: u32,
        shared: Option<Arc<SharedConnection>>,
        tallies: Rc<Tallies>,
    ) -> Self {
        let link = match (run.spec.connections, shared) {
            (Connections::Shared, Some(s)) => Link::Shared(s),
            _ => Link::Own(None),
        };
        Self {
            run,
            index,
            link,
            tallies,
            picks: Vec::new(),
            refused: Vec::new(),
            unreachable_since: None,
            gave_up: false,
        }
    }

    /// Runs the warm-up (tallied apart) and the measured phase.
    pub async fn run(mut self) {
        let run = self.run.clone();
        let tallies = self.tallies.clone();
        let mut maker = CommandMaker::new(&run.spec, self.index);
        match run.spec.model {
            Model::Closed => {
                if !run.spec.warmup.is_zero() {
                    self.closed(&mut maker, &tallies.warmup, Phase::Warmup)
                        .await;
                    if let Link::Own(Some(RedisLink::Cluster(c))) = &mut self.link {
                        c.reset_counts();
                    }
                }
                self.closed(&mut maker, &tallies.measured, Phase::Measure)
                    .await;
            }
            Model::Open { .. } => self.open(&mut maker, &tallies).await,
        }
        if let Link::Own(Some(link)) = &self.link {
            let mut measured = tallies.measured.borrow_mut();
            for (node, n) in link.node_ops() {
                *measured.node_ops.entry(node).or_default() += n;
            }
        }
    }

    fn stopped(&self) -> bool {
        self.run.stop.load(Ordering::Relaxed)
    }

    /// Closed model: the next batch goes out when the previous one answered.
    async fn closed(&mut self, maker: &mut CommandMaker<'_>, tally: &RefCell<Tally>, phase: Phase) {
        let run = self.run.clone();
        let spec = &run.spec;
        let amount = match phase {
            Phase::Warmup => spec.warmup,
            Phase::Measure => spec.amount,
        };
        let (mut remaining, deadline) = match amount {
            Amount::OpsPerWorker(n) => (n, None),
            Amount::Duration(d) => (u64::MAX, Some(run.phase_end(phase, d))),
        };
        let batch_max = u64::from(spec.pipeline);
        let mut wbuf_ops: Vec<usize> = std::mem::take(&mut self.picks);
        while remaining > 0 && !self.stopped() {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            if self.gave_up {
                // Everything left is counted at once, split by weight.
                fail_by_weight(spec, &mut tally.borrow_mut(), remaining);
                break;
            }
            let batch = remaining.min(batch_max) as usize;
            wbuf_ops.clear();
            for _ in 0..batch {
                wbuf_ops.push(maker.pick());
            }
            tally.borrow_mut().started(now);
            let sent = self.send(maker, &wbuf_ops, tally, None, deadline).await;
            if sent {
                remaining -= batch as u64;
            } else if deadline.is_none() {
                // Ops mode: an op that could not be sent still counts as done
                // (failed), so a dead server cannot stretch the run forever.
                remaining -= batch as u64;
            }
            tally.borrow_mut().ended(Instant::now());
            if matches!(phase, Phase::Measure) {
                run.done.fetch_add(batch as u64, Ordering::Relaxed);
            }
        }
        self.picks = wbuf_ops;
    }

    /// Open model: slots claimed from the load's shared timeline; each
    /// request's latency counts from its slot's intended send time.
    async fn open(&mut self, maker: &mut CommandMaker<'_>, tallies: &Tallies) {
        let run = self.run.clone();
        let spec = &run.spec;
        let Some(timeline) = run.timeline.as_ref() else {
            return;
        };
        let mut ops = vec![0usize];
        loop {
            if self.stopped() {
                break;
            }
            let Some(slot) = timeline.claim() else {
                break;
            };
            crate::pacing::wait_until(slot.intended).await;
            let measured = slot.index >= run.warmup_slots;
            let target = if measured {
                &tallies.measured
            } else {
                &tallies.warmup
            };
            if self.gave_up {
                // Claim the rest of the schedule and count it at once,
                // with the slot in hand.
                let left = timeline.claim_rest() + 1;
                fail_by_weight(spec, &mut target.borrow_mut(), left);
                break;
            }
            ops[0] = maker.pick();
            target.borrow_mut().started(slot.intended);
            self.send(maker, &ops, target, Some(slot.intended), None)
                .await;
            target.borrow_mut().ended(Instant::now());
            if measured {
                run.done.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends one batch and tallies it. Returns false when no connection
    /// could be had (the ops are tallied as failed).
    async fn send(
        &mut self,
        maker: &mut CommandMaker<'_>,
        ops: &[usize],
        tally: &RefCell<Tally>,
        intended: Option<Instant>,
        deadline: Option<Instant>,
    ) -> bool {
        let began = Instant::now();
        let mut refused = std::mem::take(&mut self.refused);
        refused.clear();
        let can_give_up = deadline.is_none();
        let outcome = match &mut self.link {
            Link::Own(slot) => {
                let client = match slot {
                    Some(c) => c,
                    None => match connect(&self.run, deadline).await.map_err(|e| (e, began)) {
                        Ok(c) => {
                            if self.unreachable_since.take().is_some() {
                                tally.borrow_mut().reconnects += 1;
                            }
                            slot.insert(c)
                        }
                        Err((e, began)) => {
                            self.refused = refused;
                            self.unreachable(ops, tally, &e, began, can_give_up);
                            return false;
                        }
                    },
                };
                let result = match client {
                    RedisLink::Single(client) => {
                        let sent_at = Instant::now();
                        let mut i = 0;
                        let result = client
                            .timed_batch(
                                ops.len(),
                                |out| {
                                    for &op in ops {
                                        maker.encode(op, out);
                                    }
                                },
                                |error| {
                                    let op = &mut tally.borrow_mut().ops[ops[i]];
                                    if let Some(m) = error {
                                        op.fail(&server_kind(m), 1, || m.to_owned());
                                        refused.push(true);
                                    } else {
                                        op.ok += 1;
                                        refused.push(false);
                                    }
                                    i += 1;
                                },
                            )
                            .await;
                        result.map(|elapsed| (sent_at, elapsed))
                    }
                    RedisLink::Cluster(cluster) => {
                        // Replies come node by node, not in send order.
                        refused.resize(ops.len(), false);
                        let sent_at = Instant::now();
                        let result = cluster
                            .timed_batch(
                                ops.len(),
                                |i, out| maker.encode(ops[i], out),
                                |i, error| {
                                    let op = &mut tally.borrow_mut().ops[ops[i]];
                                    if let Some(m) = error {
                                        op.fail(&server_kind(m), 1, || m.to_owned());
                                        refused[i] = true;
                                    } else {
                                        op.ok += 1;
                                    }
                                },
                            )
                            .await;
                        result.map(|elapsed| (sent_at, elapsed))
                    }
                };
                if result.is_err() && client.is_broken() {
                    *slot = None;
                }
                result
            }
            Link::Shared(shared) => {
                let mut request = BytesMut::new();
                for &op in ops {
                    maker.encode(op, &mut request);
                }
                let sent_at = Instant::now();
                match shared
                    .request(request, ops.len(), self.run.spec.timeout)
                    .await
                {
                    Ok((replies, done_at)) => {
                        let mut tally = tally.borrow_mut();
                        for (reply, &op) in replies.iter().zip(ops) {
                            if let Reply::Error(m) = reply {
                                tally.ops[op].fail(&server_kind(m), 1, || m.clone());
                                refused.push(true);
                            } else {
                                tally.ops[op].ok += 1;
                                refused.push(false);
                            }
                        }
                        Ok((sent_at, done_at - sent_at))
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match outcome {
            Ok((sent_at, elapsed)) => {
                let service = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                let latency = match intended {
                    Some(t) => {
                        let from_intended = (sent_at + elapsed).saturating_duration_since(t);
                        u64::try_from(from_intended.as_nanos()).unwrap_or(u64::MAX)
                    }
                    None => service,
                };
                // Error replies were tallied as failures above; only served
                // requests have a latency. A batch shares one latency, so
                // runs of the same op are recorded at once.
                let mut tally = tally.borrow_mut();
                let tally = &mut *tally;
                let mut run: Option<(usize, u64)> = None;
                for (&op, &was_refused) in ops.iter().zip(&refused) {
                    if was_refused {
                        continue;
                    }
                    match &mut run {
                        Some((current, n)) if *current == op => *n += 1,
                        _ => {
                            if let Some((current, n)) = run.take() {
                                record_batch(tally, current, n, latency, service);
                            }
                            run = Some((op, 1));
                        }
                    }
                }
                if let Some((current, n)) = run {
                    record_batch(tally, current, n, latency, service);
                }
                self.refused = refused;
                true
            }
            Err(e) => {
                let kind = kind_of(&e);
                let mut tally = tally.borrow_mut();
                for &op in ops {
                    tally.ops[op].fail(kind, 1, || e.to_string());
                }
                self.refused = refused;
                true
            }
        }
    }

    /// Tallies `ops` as failed for lack of a connection; gives up for good
    /// once the server has been unreachable for the spec's timeout.
    fn unreachable(
        &mut self,
        ops: &[usize],
        tally: &RefCell<Tally>,
        e: &RedisError,
        tried_since: Instant,
        can_give_up: bool,
    ) {
        let since = *self.unreachable_since.get_or_insert(tried_since);
        let kind = kind_of(e);
        let mut tally = tally.borrow_mut();
        for &op in ops {
            tally.ops[op].fail(kind, 1, || e.to_string());
        }
        if can_give_up && since.elapsed() >= self.run.spec.timeout {
            self.gave_up = true;
        }
    }
}

/// Connects with retries and backoff until the spec's timeout, the phase
/// deadline or a stop.
async fn connect(run: &Run, deadline: Option<Instant>) -> Result<RedisLink, RedisError> {
    let give_up_at = Instant::now() + run.spec.timeout;
    let mut backoff = Duration::from_millis(10);
    loop {
        match RedisLink::connect(&run.url, run.spec.timeout).await {
            Ok(mut client) => {
                client.set_op_timeout(run.spec.timeout);
                client.set_reply_limit(run.batch_reply_limit);
                return Ok(client);
            }
            Err(e) => {
                let now = Instant::now();
                let past_deadline = deadline.is_some_and(|d| now + backoff >= d);
                if now + backoff >= give_up_at || past_deadline || run.stop.load(Ordering::Relaxed)
                {
                    return Err(e);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RECONNECT_BACKOFF_MAX);
            }
        }
    }
}

fn record_batch(tally: &mut Tally, op: usize, n: u64, latency: u64, service: u64) {
    let o = &mut tally.ops[op];
    o.latency.record_n(latency, n);
    if let Some(s) = &mut o.service {
        s.record_n(service, n);
    }
}

/// Counts `n` unsent operations as `unreachable`, split over the mix by
/// weight (the remainder goes to the first op).
fn fail_by_weight(spec: &super::LoadSpec, tally: &mut Tally, n: u64) {
    let total: u64 = spec.mix.iter().map(|m| u64::from(m.weight)).sum();
    let mut left = n;
    for (i, m) in spec.mix.iter().enumerate().rev() {
        let share = if i == 0 {
            left
        } else {
            n * u64::from(m.weight) / total
        };
        left -= share;
        if share > 0 {
            tally.ops[i].fail("unreachable", share, || unreachable_message(spec.timeout));
        }
    }
}

fn unreachable_message(after: Duration) -> String {
    format!(
        "not sent: the server was unreachable for {after:?}, so this worker stopped trying to reconnect"
    )
}
