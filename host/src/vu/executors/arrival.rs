//! `constant-arrival-rate` and `ramping-arrival-rate`: iterations start on the intended timeline
//! (`crate::pacing`), each on an idle VU, and their duration counts from the
//! slot's intended time, so a slow system under test cannot hide the
//! queueing it causes. A slot that finds no VU idle is dropped and counted
//! (k6's `dropped_iterations`); if fewer than `max-vus` exist, a VU is made
//! in the background for the slots to come, as k6 does.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::pacing::{self, RateProfile, Timeline};
use crate::vu::VuFactory;
use crate::vu::slots::{Ran, Shared, Switch, SwitchWatch, VuSlot, stop_gracefully};

/// Senders of the VUs waiting for a slot.
type Idle = Arc<Mutex<Vec<mpsc::Sender<pacing::Slot>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts VU `id`: makes its instance, then takes slots until the stop.
/// Sends `true` on `ready` once it is idle, `false` if it could not be made.
fn spawn_vu<F: VuFactory>(
    tasks: &mut JoinSet<()>,
    id: u32,
    shared: &Arc<Shared<F>>,
    idle: &Idle,
    stopping: SwitchWatch,
    hard: SwitchWatch,
    ready: Option<mpsc::UnboundedSender<bool>>,
) {
    let shared = Arc::clone(shared);
    let idle = Arc::clone(idle);
    tasks.spawn(async move {
        let mut slot = VuSlot::<F>::new(id);
        let made = slot.ensure(&shared).await;
        if let Some(ready) = ready {
            let _ = ready.send(made);
        }
        if !made {
            return;
        }
        let (tx, mut rx) = mpsc::channel::<pacing::Slot>(1);
        let mut stopping = stopping;
        loop {
            if stopping.is_on() {
                break;
            }
            lock(&idle).push(tx.clone());
            let due = tokio::select! {
                biased;
                due = rx.recv() => due,
                () = stopping.on() => None,
            };
            let Some(due) = due else { break };
            let mut cut = hard.clone();
            let ran = slot
                .iterate(&shared, due.intended, async move { cut.on().await })
                .await;
            if ran != Ran::Finished {
                break;
            }
        }
        slot.release(&shared);
    });
}

pub(super) async fn run<F: VuFactory>(
    shared: Arc<Shared<F>>,
    profile: RateProfile,
    pre_allocated: u32,
    max_vus: u32,
    graceful_stop: Duration,
    mut cancel: SwitchWatch,
) {
    let idle: Idle = Arc::new(Mutex::new(Vec::new()));
    let graceful = Switch::new();
    let hard = Switch::new();
    let mut tasks = JoinSet::new();
    // VUs made or being made; never above `max_vus`.
    let vus = AtomicU32::new(0);

    // Pre-allocated VUs are made before the timeline starts, as k6
    // initialises them before the test.
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let start_vu = |tasks: &mut JoinSet<()>, ready: Option<_>| {
        let id = vus.fetch_add(1, Ordering::Relaxed) + 1;
        spawn_vu(
            tasks,
            id,
            &shared,
            &idle,
            graceful.watch(),
            hard.watch(),
            ready,
        );
    };
    for _ in 0..pre_allocated {
        start_vu(&mut tasks, Some(ready_tx.clone()));
    }
    drop(ready_tx);
    for _ in 0..pre_allocated {
        tokio::select! {
            made = ready_rx.recv() => if made.is_none() { break },
            () = cancel.on() => break,
        }
    }

    let timeline = Timeline::new(Instant::now(), profile, None, None)
        .expect("validated with the executor's configuration");
    while let Some(slot) = timeline.claim() {
        tokio::select! {
            biased;
            () = cancel.on() => break,
            () = pacing::wait_until(slot.intended) => {}
        }
        let vu = lock(&idle).pop();
        let handed = vu.is_some_and(|tx| tx.try_send(slot).is_ok());
        if handed {
            continue;
        }
        shared.stats.dropped(1);
        if vus.load(Ordering::Relaxed) < max_vus {
            start_vu(&mut tasks, None);
        }
        // Reap VUs that already ended (failed to instantiate) as we go.
        while tasks.try_join_next().is_some() {}
    }

    stop_gracefully(&mut tasks, &graceful, &hard, graceful_stop, &mut cancel).await;
}
