//! `constant-vus`: a fixed number of VUs loop for a duration.

use std::sync::Arc;
use std::time::Duration;

use super::looping;
use crate::vu::VuFactory;
use crate::vu::slots::{Shared, SwitchWatch};

pub(super) async fn run<F: VuFactory>(
    shared: Arc<Shared<F>>,
    vus: u32,
    duration: Duration,
    graceful_stop: Duration,
    cancel: SwitchWatch,
) {
    let more: looping::More<F> = Arc::new(|_| true);
    looping::run(shared, vus, duration, graceful_stop, cancel, more).await;
}
