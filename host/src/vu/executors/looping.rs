//! Looping VUs: a fixed set of VUs, each starting its next iteration as soon
//! as the previous one ends, while the executor says there is more to do.
//! After the executor's time (or when every VU is done) the graceful stop
//! begins: no new iteration starts, and those running get `graceful_stop`
//! before they are cut off.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::vu::VuFactory;
use crate::vu::slots::{
    Joined, Ran, Shared, Switch, SwitchWatch, VuSlot, join_within, stop_gracefully,
};

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
    // The executor's time, unless every VU finished first.
    if join_within(&mut tasks, run_for, &mut cancel).await == Joined::All {
        return;
    }
    stop_gracefully(&mut tasks, &graceful, &hard, graceful_stop, &mut cancel).await;
}
