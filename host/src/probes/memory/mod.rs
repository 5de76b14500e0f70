//! The memory probe: RSS/PSS/USS samples of a granted process (the host,
//! a child the scenario started, the local server of a granted Redis
//! target, or a pid the catalog grants), watchers that keep a bounded
//! series, and a leak verdict with its statistics.

mod binding;
pub mod sample;
pub mod stats;
pub mod watcher;

pub use binding::{MemoryBinding, MemoryView};
pub use sample::{SampleError, Usage};
pub use watcher::{Criteria, Measure, Point, Verdict, Watcher};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::policy::Policy;

/// Most watchers one scenario may hold at once.
pub const MAX_WATCHERS: usize = 64;

/// Per-scenario memory state.
#[derive(Debug, Clone)]
pub struct MemoryCtx {
    /// Grants pids (`pids = [..]`) and, for `target::redis`, Redis targets.
    pub policy: Policy,
    /// Watchers currently held by the guest.
    pub live: Arc<AtomicUsize>,
}

impl MemoryCtx {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            live: Arc::default(),
        }
    }

    pub fn watchers(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn watcher_opened(&self) {
        self.live.fetch_add(1, Ordering::Relaxed);
    }

    pub fn watcher_closed(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A watcher as the guest holds it: its metric name and the native watcher.
#[derive(Debug)]
pub struct WatcherHandle {
    pub name: String,
    pub watcher: Watcher,
}
