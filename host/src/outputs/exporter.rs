//! The exporter: a thread of its own (its own small runtime, so encoding
//! and network waits never run on the thread that times probes) that turns
//! run events and periodic snapshots into batches, and one sender task per
//! endpoint with a bounded queue. The runner side ([`LiveOutputs`]) only
//! forwards events over a channel and never waits for the network.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Bytes;
use tokio::sync::mpsc;

use super::endpoint::Client;
use super::snapshot::{self, Planned, ProgressPoint, Snapshot};
use super::{
    FLUSH_TIMEOUT, Identity, OutputConfig, Protocol, QUEUE_BATCHES, SEND_TIMEOUT, otlp, prometheus,
};
use crate::events::{LiveScenario, Progress, RunEvent, RunObserver};
use crate::report::model::{OutputReport, ScenarioReport};

enum Message {
    Run(Identity),
    Started { name: String, started_ms: i64 },
    Finished(Box<ScenarioReport>),
}

/// The live outputs of one run: a [`RunObserver`] for the runner, and the
/// [`LiveScenario`] slot to hand the executor.
pub struct LiveOutputs {
    slot: LiveScenario,
    tx: Option<mpsc::UnboundedSender<Message>>,
    progress: Arc<Mutex<Option<Progress>>>,
    thread: Option<std::thread::JoinHandle<Vec<OutputReport>>>,
    tags: Vec<(String, String)>,
}

impl LiveOutputs {
    /// Starts the exporter for `outputs` (nothing when empty). `planned`:
    /// each scenario's catalog and command-line thresholds, judged live.
    /// `executors`: the k6 executor name of each VU scenario, the
    /// `executor` label of its series.
    pub fn start(
        outputs: Vec<OutputConfig>,
        tags: Vec<(String, String)>,
        planned: HashMap<String, Vec<Planned>>,
        executors: HashMap<String, String>,
        trust: crate::tls::TlsTrust,
    ) -> std::io::Result<Self> {
        let slot = LiveScenario::default();
        let progress = Arc::new(Mutex::new(None));
        if outputs.is_empty() {
            return Ok(Self {
                slot,
                tx: None,
                progress,
                thread: None,
                tags,
            });
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            outputs,
            planned,
            executors,
            slot: slot.clone(),
            progress: progress.clone(),
            client: Client::new(trust),
        };
        let thread = std::thread::Builder::new()
            .name("rigor-outputs".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime with timers and I/O starts");
                runtime.block_on(worker.run(rx))
            })?;
        Ok(Self {
            slot,
            tx: Some(tx),
            progress,
            thread: Some(thread),
            tags,
        })
    }

    /// The slot the executor publishes the running scenario in.
    pub fn slot(&self) -> LiveScenario {
        self.slot.clone()
    }

    fn send(&self, message: Message) {
        if let Some(tx) = &self.tx {
            // The exporter only stops after `finish`: a failed send means it
            // died, and the run goes on without it.
            let _ = tx.send(message);
        }
    }

    /// Ends the exporter: the last batches are sent (for at most
    /// [`FLUSH_TIMEOUT`]) and what each output did is returned for the report.
    pub fn finish(mut self) -> Vec<OutputReport> {
        self.tx = None;
        self.thread
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl RunObserver for LiveOutputs {
    fn event(&mut self, event: &RunEvent<'_>) {
        if self.tx.is_none() {
            return;
        }
        match event {
            RunEvent::RunStarted { run, .. } => self.send(Message::Run(Identity {
                run_id: run.run_id.clone().unwrap_or_default(),
                shard: run
                    .run
                    .as_ref()
                    .and_then(|r| r.shard.as_ref())
                    .map(|s| format!("{}/{}", s.index, s.count)),
                host: run.host.hostname.clone(),
                tags: self.tags.clone(),
            })),
            RunEvent::Started { name, .. } => {
                *self.progress.lock().unwrap_or_else(|e| e.into_inner()) = None;
                self.send(Message::Started {
                    name: (*name).to_owned(),
                    started_ms: snapshot::now_ms(),
                });
            }
            RunEvent::Progress { progress, .. } => {
                *self.progress.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((*progress).clone());
            }
            RunEvent::Finished { report, .. } => {
                self.send(Message::Finished(Box::new((*report).clone())));
            }
        }
    }
}

/// Counts of one output, shared by its sender task and the worker.
#[derive(Default)]
struct Stats {
    queued: u64,
    sent: u64,
    dropped: u64,
    bytes: u64,
    last_error: Option<String>,
}

struct Output {
    config: OutputConfig,
    queue: Option<mpsc::Sender<Bytes>>,
    stats: Arc<Mutex<Stats>>,
    task: tokio::task::JoinHandle<()>,
    /// When the last periodic snapshot was queued (`None`: never).
    last: Option<tokio::time::Instant>,
}

impl Output {
    fn start(config: OutputConfig, client: Client) -> Self {
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUE_BATCHES);
        let stats = Arc::new(Mutex::new(Stats::default()));
        let endpoint = config.endpoint.clone();
        let headers = match config.protocol {
            Protocol::Prometheus(_) => prometheus::HEADERS,
            Protocol::Otlp => otlp::HEADERS,
        };
        let task_stats = stats.clone();
        let task = tokio::spawn(async move {
            while let Some(body) = rx.recv().await {
                let len = body.len() as u64;
                let result = endpoint.post(&client, headers, body, SEND_TIMEOUT).await;
                let mut s = task_stats.lock().unwrap_or_else(|e| e.into_inner());
                match result {
                    Ok(_) => {
                        s.sent += 1;
                        s.bytes += len;
                    }
                    Err(e) => {
                        s.dropped += 1;
                        s.last_error = Some(e.to_string());
                    }
                }
            }
        });
        Self {
            config,
            queue: Some(tx),
            stats,
            task,
            last: None,
        }
    }

    /// Queues `snapshots`' batches; a full queue drops them, counted.
    fn enqueue(&mut self, identity: &Identity, snapshots: &[Snapshot]) {
        let bodies = match self.config.protocol {
            Protocol::Prometheus(mode) => {
                prometheus::bodies(prometheus::series(identity, snapshots, mode))
            }
            Protocol::Otlp => otlp::bodies(identity, snapshots),
        };
        let Some(queue) = &self.queue else { return };
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        for body in bodies {
            stats.queued += 1;
            if queue.try_send(Bytes::from(body)).is_err() {
                stats.dropped += 1;
                stats.last_error = Some(format!(
                    "the endpoint is slower than the run: {QUEUE_BATCHES} batches were already waiting"
                ));
            }
        }
    }

    fn report(&self) -> OutputReport {
        let s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        // Whatever was queued and neither delivered nor counted yet was cut
        // off by the flush deadline.
        let unaccounted = s.queued.saturating_sub(s.sent + s.dropped);
        OutputReport {
            kind: self.config.protocol.name().to_owned(),
            endpoint: self.config.endpoint.redacted().to_owned(),
            batches_sent: s.sent,
            batches_dropped: s.dropped + unaccounted,
            bytes_sent: s.bytes,
            last_error: match (&s.last_error, unaccounted) {
                (_, n) if n > 0 => Some(format!(
                    "{n} batches were still unsent when the {FLUSH_TIMEOUT:?} end-of-run flush ran out"
                )),
                (e, _) => e.clone(),
            },
        }
    }
}

struct Worker {
    outputs: Vec<OutputConfig>,
    planned: HashMap<String, Vec<Planned>>,
    executors: HashMap<String, String>,
    slot: LiveScenario,
    progress: Arc<Mutex<Option<Progress>>>,
    client: Client,
}

/// The scenario running now, as the exporter knows it.
struct Current {
    name: String,
    started_ms: i64,
    last_at_ms: i64,
}

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Message>) -> Vec<OutputReport> {
        let mut outputs: Vec<Output> = self
            .outputs
            .iter()
            .cloned()
            .map(|c| Output::start(c, self.client.clone()))
            .collect();
        let tick_every = outputs
            .iter()
            .map(|o| o.config.interval)
            .min()
            .unwrap_or(super::DEFAULT_INTERVAL)
            .min(Duration::from_secs(1));
        let mut tick = tokio::time::interval(tick_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut identity = Identity::default();
        let mut current: Option<Current> = None;
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(Message::Run(id)) => identity = id,
                    Some(Message::Started { name, started_ms }) => {
                        current = Some(Current { name, started_ms, last_at_ms: 0 });
                        for o in &mut outputs {
                            o.last = None;
                        }
                    }
                    Some(Message::Finished(report)) => {
                        let (started_ms, last_at_ms) = match current.take() {
                            Some(c) if c.name == report.name => (c.started_ms, c.last_at_ms),
                            _ => (snapshot::now_ms(), 0),
                        };
                        let progress = self.progress_point();
                        let mut last = snapshot::finished(&report, started_ms, progress.as_ref());
                        last.executor = self.executors.get(&report.name).cloned();
                        // After every live sample of the same series.
                        last.at_ms = last.at_ms.max(last_at_ms + 1);
                        for o in &mut outputs {
                            o.enqueue(&identity, std::slice::from_ref(&last));
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    let Some(cur) = current.as_mut() else { continue };
                    let now = tokio::time::Instant::now();
                    let due: Vec<usize> = outputs
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| o.last.is_none_or(|t| now.duration_since(t) >= o.config.interval))
                        .map(|(i, _)| i)
                        .collect();
                    if due.is_empty() {
                        continue;
                    }
                    let Some(snap) = self.live_snapshot(cur) else { continue };
                    cur.last_at_ms = snap.at_ms;
                    for i in due {
                        outputs[i].last = Some(now);
                        outputs[i].enqueue(&identity, std::slice::from_ref(&snap));
                    }
                }
            }
        }
        // The run is over: close the queues and give the senders until the
        // flush deadline to deliver what is left.
        for o in &mut outputs {
            o.queue = None;
        }
        let deadline = tokio::time::Instant::now() + FLUSH_TIMEOUT;
        for o in &mut outputs {
            if tokio::time::timeout_at(deadline, &mut o.task)
                .await
                .is_err()
            {
                o.task.abort();
            }
        }
        outputs.iter().map(Output::report).collect()
    }

    fn progress_point(&self) -> Option<ProgressPoint> {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|p| ProgressPoint {
                phase: p.phase.clone(),
                done: p.done,
                ops_per_sec: p.ops_per_sec,
            })
    }

    /// The running scenario now; `None` before its store is built and after
    /// its recorder was taken for the report (the final values then come
    /// from the report).
    fn live_snapshot(&self, cur: &Current) -> Option<Snapshot> {
        let (recorder, report) = self.slot.current()?;
        if recorder.with(|r| r.iter().next().is_none()) && self.progress_point().is_none() {
            return None;
        }
        let progress = self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let planned = self.planned.get(&cur.name).map_or(&[][..], Vec::as_slice);
        let mut snap = snapshot::live(
            &cur.name,
            cur.started_ms,
            &recorder,
            &report,
            planned,
            progress.as_ref(),
        );
        snap.at_ms = snap.at_ms.max(cur.last_at_ms + 1);
        snap.executor = self.executors.get(&cur.name).cloned();
        Some(snap)
    }
}
