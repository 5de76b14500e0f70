//! The pids of the processes a scenario started and that are still alive.
//! The process probe adds and removes them; other probes (memory sampling)
//! use the set to decide whether a pid belongs to the scenario.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A set of live child pids, shared by the probes of one scenario.
#[derive(Debug, Clone, Default)]
pub struct ChildPids(Arc<Mutex<BTreeSet<u32>>>);

impl ChildPids {
    pub fn insert(&self, pid: u32) {
        self.lock().insert(pid);
    }

    pub fn remove(&self, pid: u32) {
        self.lock().remove(&pid);
    }

    pub fn contains(&self, pid: u32) -> bool {
        self.lock().contains(&pid)
    }

    pub fn snapshot(&self) -> Vec<u32> {
        self.lock().iter().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<u32>> {
        // A panic while holding this lock cannot leave the set inconsistent
        // (every operation is a single insert/remove), so poisoning is ignored.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_set() {
        let pids = ChildPids::default();
        let other = pids.clone();
        pids.insert(42);
        assert!(other.contains(42));
        other.remove(42);
        assert!(!pids.contains(42));
        assert!(pids.snapshot().is_empty());
    }
}
