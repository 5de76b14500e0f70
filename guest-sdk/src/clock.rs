//! Time for pacing a scenario. To *measure* host work, use the timed probe
//! calls: the host times them natively, without the guest in the loop.

use std::time::Duration;

use crate::bindings::rigor::scenario::clock as wit;

/// Monotonic time since an origin fixed for the run.
pub fn now() -> Duration {
    Duration::from_nanos(wit::now())
}

/// Suspends the scenario; the scenario's deadline still applies.
pub fn sleep(duration: Duration) {
    wit::sleep(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
}
