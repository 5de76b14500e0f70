//! The executors against VUs that sleep, fail or hang on cue: counts that
//! must be exact are asserted exactly; times get generous bounds only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::vu::config::{DEFAULT_GRACEFUL, TargetStage};
use crate::vu::{
    ExecutionStats, ExecutionSummary, ExecutorConfig, ExecutorKind, IterationContext,
    IterationOutcome, Vu, VuFactory,
};

/// Iterations seen, per VU: (iteration, scenario iteration, seed).
type Log = Arc<Mutex<BTreeMap<u32, Vec<(u64, u64, u64)>>>>;

#[derive(Clone)]
struct Fake {
    sleep: Duration,
    log: Log,
    /// (vu, iteration) that fails and loses its VU.
    trap_at: Option<(u32, u64)>,
    created: Arc<Mutex<u32>>,
}

impl Fake {
    fn new(sleep_ms: u64) -> Self {
        Self {
            sleep: Duration::from_millis(sleep_ms),
            log: Log::default(),
            trap_at: None,
            created: Arc::default(),
        }
    }

    fn per_vu(&self) -> BTreeMap<u32, Vec<(u64, u64, u64)>> {
        self.log.lock().unwrap().clone()
    }
}

struct FakeVu {
    fake: Fake,
}

impl Vu for FakeVu {
    async fn iteration(&mut self, ctx: IterationContext) -> IterationOutcome {
        self.fake
            .log
            .lock()
            .unwrap()
            .entry(ctx.vu)
            .or_default()
            .push((ctx.iteration, ctx.scenario_iteration, ctx.seed));
        tokio::time::sleep(self.fake.sleep).await;
        if self.fake.trap_at == Some((ctx.vu, ctx.iteration)) {
            return IterationOutcome::Failed {
                message: "wasm trap: unreachable".into(),
                vu_lost: true,
            };
        }
        IterationOutcome::Completed
    }
}

impl VuFactory for Fake {
    type Vu = FakeVu;
    async fn create(&self, _vu: u32) -> Result<FakeVu, String> {
        *self.created.lock().unwrap() += 1;
        Ok(FakeVu { fake: self.clone() })
    }
}

async fn execute(kind: ExecutorKind, graceful_stop: Duration, fake: &Fake) -> ExecutionSummary {
    execute_cancelled(kind, graceful_stop, fake, None).await
}

async fn execute_cancelled(
    kind: ExecutorKind,
    graceful_stop: Duration,
    fake: &Fake,
    cancel_after: Option<Duration>,
) -> ExecutionSummary {
    let config = ExecutorConfig {
        kind,
        graceful_stop,
    };
    config.validate().unwrap();
    let (tx, rx) = watch::channel(false);
    if let Some(after) = cancel_after {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            tx.send_replace(true);
        });
    } else {
        std::mem::forget(tx);
    }
    super::run(
        &config,
        fake.clone(),
        42,
        Arc::new(ExecutionStats::new()),
        rx,
    )
    .await
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_iterations_run_exactly_the_total_across_vus() {
    let fake = Fake::new(1);
    let s = execute(
        ExecutorKind::SharedIterations {
            vus: 5,
            iterations: 100,
            max_duration: Duration::from_secs(60),
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    assert_eq!((s.completed, s.failed, s.interrupted), (100, 0, 0));
    assert_eq!(s.vus_max, 5);
    let log = fake.per_vu();
    let mut scenario_iterations: Vec<u64> = log.values().flatten().map(|e| e.1).collect();
    scenario_iterations.sort_unstable();
    assert_eq!(scenario_iterations, (0..100).collect::<Vec<_>>());
    assert_eq!(log.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_vu_iterations_give_every_vu_the_same_count_and_its_own_seed() {
    let fake = Fake::new(1);
    let s = execute(
        ExecutorKind::PerVuIterations {
            vus: 4,
            iterations: 7,
            max_duration: Duration::from_secs(60),
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    assert_eq!(s.completed, 28);
    for (vu, seen) in fake.per_vu() {
        let iterations: Vec<u64> = seen.iter().map(|e| e.0).collect();
        assert_eq!(iterations, (0..7).collect::<Vec<_>>(), "VU {vu}");
        assert!(seen.iter().all(|e| e.2 == crate::vu::vu_seed(42, vu)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_vus_loop_until_the_duration_then_finish_their_iteration() {
    let fake = Fake::new(20);
    let s = execute(
        ExecutorKind::ConstantVus {
            vus: 3,
            duration: ms(300),
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    assert_eq!(s.vus_active_peak, 3);
    assert_eq!(s.interrupted, 0, "the graceful stop let iterations end");
    // 3 VUs × 300 ms / 20 ms = 45 at most (+3 that began at the edge).
    assert!((6..=48).contains(&s.completed), "{}", s.completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_graceful_stop_interrupts_running_iterations() {
    let fake = Fake::new(2_000);
    let s = execute(
        ExecutorKind::ConstantVus {
            vus: 2,
            duration: ms(50),
        },
        ms(50),
        &fake,
    )
    .await;
    assert_eq!((s.completed, s.interrupted), (0, 2));
    assert!(s.duration < Duration::from_secs(2), "{:?}", s.duration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_one_iteration_and_the_vu_is_made_anew() {
    let mut fake = Fake::new(1);
    fake.trap_at = Some((2, 0));
    let s = execute(
        ExecutorKind::PerVuIterations {
            vus: 3,
            iterations: 5,
            max_duration: Duration::from_secs(60),
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    assert_eq!((s.completed, s.failed), (14, 1));
    assert_eq!(s.first_failure.as_deref(), Some("wasm trap: unreachable"));
    assert_eq!(*fake.created.lock().unwrap(), 4, "VU 2 was made twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_vus_rise_and_fall_with_the_stages() {
    let fake = Fake::new(10);
    let stage = |d, target| TargetStage {
        duration: ms(d),
        target,
    };
    let s = execute(
        ExecutorKind::RampingVus {
            start_vus: 0,
            stages: vec![stage(800, 4), stage(600, 4), stage(800, 0)],
            graceful_ramp_down: DEFAULT_GRACEFUL,
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    assert_eq!(s.vus_max, 4);
    assert_eq!(s.interrupted, 0);
    // VU 4 only exists at the top of the ramp: it ran fewer iterations
    // than VU 1, which was active longest.
    let log = fake.per_vu();
    assert_eq!(log.len(), 4);
    assert!(
        log[&4].len() < log[&1].len(),
        "{:?}",
        log.values().map(Vec::len).collect::<Vec<_>>()
    );
    let peak_at = s.active_samples.iter().max_by_key(|(_, n)| *n).unwrap().0;
    assert!(peak_at > ms(400) && peak_at < ms(2_000), "{peak_at:?}");
    assert_eq!(s.active_samples.last().unwrap().1, 0, "all gone at the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_arrival_rate_starts_every_slot_when_vus_suffice() {
    let fake = Fake::new(5);
    let s = execute(
        ExecutorKind::ConstantArrivalRate {
            rate: 100,
            time_unit: Duration::from_secs(1),
            duration: Duration::from_secs(1),
            pre_allocated_vus: 5,
            max_vus: 20,
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    // The schedule holds exactly 100 slots; on a busy machine a few may find
    // no VU free, and then they are counted, not lost.
    assert_eq!(s.completed + s.dropped + s.interrupted, 100);
    assert!(s.completed >= 90, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_without_a_free_vu_are_dropped_and_counted() {
    let fake = Fake::new(400);
    let s = execute(
        ExecutorKind::ConstantArrivalRate {
            rate: 50,
            time_unit: Duration::from_secs(1),
            duration: Duration::from_secs(1),
            pre_allocated_vus: 1,
            max_vus: 2,
        },
        DEFAULT_GRACEFUL,
        &fake,
    )
    .await;
    assert_eq!(s.vus_max, 2);
    assert!(
        s.dropped >= 40,
        "2 VUs busy 400 ms each cannot take 50 slots/s: {s:?}"
    );
    assert_eq!(s.completed + s.dropped + s.interrupted + s.failed, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_every_iteration_at_once() {
    let fake = Fake::new(60_000);
    let s = execute_cancelled(
        ExecutorKind::ConstantVus {
            vus: 10,
            duration: Duration::from_secs(60),
        },
        DEFAULT_GRACEFUL,
        &fake,
        Some(ms(100)),
    )
    .await;
    assert_eq!(s.interrupted, 10);
    assert!(s.duration < Duration::from_secs(10), "{:?}", s.duration);
}
