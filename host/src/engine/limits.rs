//! Per-scenario limits: memory cap, deadline, output capture, and the
//! budgets of what the host holds for the scenario (`crate::budget`). Every
//! bound is a named constant here or there so reviewers find them in one
//! place.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::budget::{Budget, Budgets, Resource};

/// Default cap on each linear memory of a scenario.
pub const DEFAULT_MEMORY_CAP: u64 = 256 * 1024 * 1024;
/// Default wall-clock deadline of a scenario.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(600);
/// Guest stdout and stderr are each kept up to this many bytes; the rest is
/// counted and dropped, so a chatty guest cannot exhaust host memory.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// Most table elements a guest may grow a table to.
pub const MAX_TABLE_ELEMENTS: usize = 1_000_000;
/// Most instances, tables and memories a scenario component may create.
pub const MAX_INSTANCES: usize = 64;

/// The limits one scenario runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory: u64,
    pub deadline: Duration,
    /// Linear memory all VUs of a VU scenario may hold together.
    pub vu_memory_total: u64,
    /// Host memory, connections, children, load workers and threads.
    pub budgets: Budgets,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: DEFAULT_MEMORY_CAP,
            deadline: DEFAULT_DEADLINE,
            vu_memory_total: DEFAULT_VU_MEMORY_TOTAL,
            budgets: Budgets::default(),
        }
    }
}

/// Raised (as a trap) when a guest grows a memory past its cap.
#[derive(Debug, thiserror::Error)]
#[error(
    "the scenario tried to grow its memory to {desired} bytes, past its cap of {cap} bytes (raise `limits.memory` in the catalog if it really needs more)"
)]
pub struct MemoryCapExceeded {
    pub desired: usize,
    pub cap: u64,
}

/// Raised (as a trap) when the scenario's wall-clock deadline passes.
#[derive(Debug, thiserror::Error)]
#[error(
    "the scenario exceeded its deadline of {} (raise `limits.deadline` in the catalog if it really needs longer)",
    humantime::format_duration(*.deadline)
)]
pub struct DeadlineExceeded {
    pub deadline: Duration,
}

/// Memory limiter that traps with a clear error instead of letting
/// `memory.grow` fail quietly (which guests turn into an opaque abort).
pub struct ScenarioLimiter {
    memory_cap: u64,
    /// Shared by every VU of a scenario: their linear memories together stay
    /// within its total. What this store holds is given back on drop.
    pool: Option<(LinearMemoryPool, u64)>,
}

impl ScenarioLimiter {
    pub fn new(memory_cap: u64) -> Self {
        Self {
            memory_cap,
            pool: None,
        }
    }

    /// Also charges growth to `pool`.
    pub fn pooled(mut self, pool: LinearMemoryPool) -> Self {
        self.pool = Some((pool, 0));
        self
    }
}

impl Drop for ScenarioLimiter {
    fn drop(&mut self) {
        if let Some((pool, held)) = &self.pool {
            pool.release(*held);
        }
    }
}

/// Default total of the linear memory all VUs of one scenario may hold. It
/// counts the sizes guests asked for, not resident pages (most of a VU's
/// memory is never touched): 50,000 Rust VUs of ~1.1 MiB each fit.
pub const DEFAULT_VU_MEMORY_TOTAL: u64 = 64 << 30;

/// The linear memory every VU of one scenario holds, against a total.
#[derive(Debug, Clone)]
pub struct LinearMemoryPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    total: u64,
    used: std::sync::atomic::AtomicU64,
}

impl LinearMemoryPool {
    pub fn new(total: u64) -> Self {
        Self {
            inner: Arc::new(PoolInner {
                total,
                used: Default::default(),
            }),
        }
    }

    /// Takes `bytes` if they fit; returns what is in use otherwise.
    fn take(&self, bytes: u64) -> Result<(), u64> {
        use std::sync::atomic::Ordering;
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&n| n <= self.inner.total)
            })
            .map(|_| ())
    }

    fn release(&self, bytes: u64) {
        self.inner
            .used
            .fetch_sub(bytes, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn total(&self) -> u64 {
        self.inner.total
    }
}

/// Raised (as a trap) when a VU's memory growth would take the scenario's
/// VUs past their total.
#[derive(Debug, thiserror::Error)]
#[error(
    "a VU tried to grow its memory by {wanted} bytes, but the scenario's VUs already hold {in_use} of their {total}-byte total (raise `vu-memory-total` in the catalog, or run fewer VUs)"
)]
pub struct VuMemoryTotalExceeded {
    pub wanted: u64,
    pub in_use: u64,
    pub total: u64,
}

impl ResourceLimiter for ScenarioLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_cap {
            return Err(wasmtime::Error::new(MemoryCapExceeded {
                desired,
                cap: self.memory_cap,
            }));
        }
        if let Some((pool, held)) = &mut self.pool {
            let wanted = (desired as u64).saturating_sub(current as u64);
            if let Err(in_use) = pool.take(wanted) {
                return Err(wasmtime::Error::new(VuMemoryTotalExceeded {
                    wanted,
                    in_use,
                    total: pool.total(),
                }));
            }
            *held += wanted;
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        MAX_INSTANCES
    }
    fn memories(&self) -> usize {
        MAX_INSTANCES
    }
}

/// Captured guest output: the first `OUTPUT_CAP` bytes and a count of the rest.
#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

/// A WASI stdout/stderr that keeps a bounded prefix of what the guest writes
/// and always accepts writes (a full buffer must not make the guest fail).
/// What it keeps is charged to the scenario's host-memory budget; past the
/// budget, output is counted as dropped.
#[derive(Debug, Clone, Default)]
pub struct BoundedOutput {
    inner: Arc<Mutex<Captured>>,
    budget: Option<Budget>,
}

impl BoundedOutput {
    pub fn new() -> Self {
        Self::default()
    }

    /// Output whose kept bytes are charged to `budget`.
    pub fn charged_to(budget: Budget) -> Self {
        Self {
            inner: Arc::default(),
            budget: Some(budget),
        }
    }

    /// The kept text (lossy UTF-8) and the number of bytes dropped.
    pub fn take(&self) -> (String, u64) {
        let captured = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (
            String::from_utf8_lossy(&captured.kept).into_owned(),
            captured.dropped,
        )
    }

    fn write(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let room = OUTPUT_CAP.saturating_sub(captured.kept.len());
        let mut keep = room.min(bytes.len());
        if keep > 0
            && let Some(budget) = &self.budget
        {
            match budget.reserve(Resource::HostMemory, keep as u64, || {
                "captured output".into()
            }) {
                Ok(charge) => charge.keep(),
                Err(_) => keep = 0,
            }
        }
        captured.kept.extend_from_slice(&bytes[..keep]);
        captured.dropped += (bytes.len() - keep) as u64;
    }
}

impl tokio::io::AsyncWrite for BoundedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl wasmtime_wasi::cli::IsTerminal for BoundedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for BoundedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_a_bounded_prefix_and_counts_the_rest() {
        let out = BoundedOutput::new();
        out.write(&vec![b'a'; OUTPUT_CAP - 10]);
        out.write(&[b'b'; 25]);
        out.write(b"more");
        let (text, dropped) = out.take();
        assert_eq!(text.len(), OUTPUT_CAP);
        assert!(text.ends_with("bbbbbbbbbb"));
        assert_eq!(dropped, 15 + 4);
    }

    #[test]
    fn kept_output_is_charged_and_dropped_past_the_budget() {
        let budget = Budget::new(Budgets {
            host_memory: 100,
            ..Budgets::default()
        });
        let out = BoundedOutput::charged_to(budget.clone());
        out.write(&[b'a'; 60]);
        out.write(&[b'b'; 60]);
        let (text, dropped) = out.take();
        assert_eq!((text.len(), dropped), (60, 60));
        assert_eq!(budget.usage().host_memory.peak, 60);
    }

    #[test]
    fn memory_growth_past_the_cap_is_an_error() {
        let mut limiter = ScenarioLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 19, None).unwrap());
        let err = limiter.memory_growing(0, 2 << 20, None).unwrap_err();
        assert!(err.downcast_ref::<MemoryCapExceeded>().is_some());
    }
}
