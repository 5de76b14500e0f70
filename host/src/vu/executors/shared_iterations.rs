//! `shared-iterations`: a fixed number of iterations shared by a fixed
//! number of VUs; a fast VU does more of them. Ends when all are done or at
//! `max-duration`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let claimed = AtomicU64::new(0);
    let more: looping::More<F> =
        Arc::new(move |_| claimed.fetch_add(1, Ordering::Relaxed) < iterations);
    looping::run(shared, vus, max_duration, graceful_stop, cancel, more).await;
}
