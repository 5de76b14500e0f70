//! `ramping-vus`: the number of looping VUs follows the stages. A VU above
//! the target finishes its iteration, or is cut off `graceful-ramp-down`
//! after it fell above the target; a deactivated VU keeps its instance for
//! when the target rises again, as k6 keeps it initialised.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::vu::VuFactory;
use crate::vu::config::{TargetStage, ramping_vus_target};
use crate::vu::slots::{Ran, Shared, Switch, SwitchWatch, VuSlot, stop_gracefully};

/// How often the target is recomputed: the stages' resolution.
const RAMP_TICK: Duration = Duration::from_millis(10);

pub(super) async fn run<F: VuFactory>(
    shared: Arc<Shared<F>>,
    start_vus: u32,
    stages: Vec<TargetStage>,
    graceful_ramp_down: Duration,
    graceful_stop: Duration,
    mut cancel: SwitchWatch,
) {
    let max = stages
        .iter()
        .map(|s| u32::try_from(s.target).unwrap_or(u32::MAX))
        .chain(std::iter::once(start_vus))
        .max()
        .unwrap_or(0);
    let (target_tx, target_rx) = watch::channel(start_vus);
    let graceful = Switch::new();
    let hard = Switch::new();
    let mut tasks = JoinSet::new();
    for index in 0..max {
        let shared = Arc::clone(&shared);
        let mut target = target_rx.clone();
        let mut stopping = graceful.watch();
        let hard = hard.watch();
        tasks.spawn(async move {
            let mut slot = VuSlot::<F>::new(index + 1);
            'life: loop {
                tokio::select! {
                    biased;
                    () = stopping.on() => break 'life,
                    active = target.wait_for(|t| *t > index) => if active.is_err() {
                        break 'life;
                    },
                }
                while !stopping.is_on() && *target.borrow() > index {
                    let mut leaving = target.clone();
                    let mut cut = hard.clone();
                    let cutoff = async move {
                        tokio::select! {
                            () = async {
                                let _ = leaving.wait_for(|t| *t <= index).await;
                                tokio::time::sleep(graceful_ramp_down).await;
                            } => {},
                            () = cut.on() => {},
                        }
                    };
                    if slot.iterate(&shared, Instant::now(), cutoff).await == Ran::NoVu {
                        break 'life;
                    }
                }
            }
            slot.release(&shared);
        });
    }

    let start = Instant::now();
    let total: Duration = stages.iter().map(|s| s.duration).sum();
    let mut tick = tokio::time::interval(RAMP_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {},
            () = cancel.on() => break,
        }
        let offset = start.elapsed();
        if offset >= total {
            break;
        }
        let want = ramping_vus_target(start_vus, &stages, offset);
        target_tx.send_if_modified(|t| std::mem::replace(t, want) != want);
    }

    stop_gracefully(&mut tasks, &graceful, &hard, graceful_stop, &mut cancel).await;
    drop(target_tx);
}
