//! The WIT `clock` interface: monotonic time and sleep, for pacing.

use std::time::{Duration, Instant};

use wasmtime::component::HasData;

use crate::bindings::clock;

/// Longest single sleep; longer requests are clamped (the scenario deadline
/// ends a scenario that sleeps past it anyway).
pub const MAX_SLEEP: Duration = Duration::from_secs(24 * 3600);

/// Per-scenario clock state.
#[derive(Debug, Clone, Copy)]
pub struct ClockCtx {
    pub origin: Instant,
}

/// What the `clock` binding may touch: its origin, read-only.
pub struct ClockView<'a> {
    pub(crate) clock: &'a ClockCtx,
}

/// Links `clock` to a `ClockView` of the store's state.
pub struct ClockBinding;

impl HasData for ClockBinding {
    type Data<'a> = ClockView<'a>;
}

impl clock::Host for ClockView<'_> {
    async fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.clock.origin.elapsed().as_nanos() as u64)
    }

    async fn sleep(&mut self, ns: u64) -> wasmtime::Result<()> {
        tokio::time::sleep(Duration::from_nanos(ns).min(MAX_SLEEP)).await;
        Ok(())
    }
}
