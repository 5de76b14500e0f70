//! Looping VUs: a fixed set of VUs, each starting its next iteration as soon
//! as the previous one ends, while the executor says there is more to do.
//! After the executor's time (or when every VU is done) the graceful stop
//! begins: no new iteration starts, and those running get `graceful_stop`
//! before they are cut off.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::vu::VuFactory;
use crate::vu::slots::{Ran, Shared, Switch, SwitchWatch, VuSlot};

/// Whether a VU starts another iteration (called before each one).
pub(super) type More<F> = Arc<dyn Fn(&VuSlot<F>) -> bool + Send + Sync>;

pub(super) async fn run<F: VuFactory>(
    shared: Arc<Shared<F>>,
    vus: u32,
    run_for: Duration,
    graceful_stop: Duration,
    mut cancel: SwitchWatch,
    more: More<F>,
) {
    let graceful = Switch::new();
    let hard = Switch::new();
    let mut tasks = JoinSet::new();
    for id in 1..=vus {
        let shared = Arc::clone(&shared);
        let more = Arc::clone(&more);
        let stopping = graceful.watch();
        let hard = hard.watch();
        tasks.spawn(async move {
            let mut slot = VuSlot::<F>::new(id);
            while !stopping.is_on() && more(&slot) {
                let mut cut = hard.clone();
                let ran = slot
                    .iterate(&shared, Instant::now(), async move { cut.on().await })
                    .await;
                if ran != Ran::Finished {
                    break;
                }
            }
            slot.release(&shared);
        });
    }
    let phases = [(run_for, &graceful), (graceful_stop, &hard)];
    for (limit, then) in phases {
        let timer = tokio::time::sleep(limit);
        tokio::pin!(timer);
        loop {
            tokio::select! {
                () = &mut timer => break,
                () = cancel.on() => {
                    graceful.turn_on();
                    hard.turn_on();
                    while tasks.join_next().await.is_some() {}
                    return;
                }
                joined = tasks.join_next() => if joined.is_none() {
                    return;
                },
            }
        }
        then.turn_on();
    }
    while tasks.join_next().await.is_some() {}
}
