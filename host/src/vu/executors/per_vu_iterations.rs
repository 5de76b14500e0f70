//! `per-vu-iterations`: every VU runs the same number of iterations. Ends
//! when all VUs are done or at `max-duration`.

use std::sync::Arc;
use std::time::Duration;

use super::looping;
use crate::vu::VuFactory;
use crate::vu::slots::{Shared, SwitchWatch};

pub(super) async fn run<F: VuFactory>(
    shared: Arc<Shared<F>>,
    vus: u32,
    iterations: u64,
    max_duration: Duration,
    graceful_stop: Duration,
    cancel: SwitchWatch,
) {
    let more: looping::More<F> = Arc::new(move |slot| slot.iterations < iterations);
    looping::run(shared, vus, max_duration, graceful_stop, cancel, more).await;
}
