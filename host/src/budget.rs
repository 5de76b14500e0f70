//! Per-scenario budgets: how much of the host one scenario may hold through
//! its probes (host memory, connections, children, load workers and
//! threads), counted as it is taken and given back when it is released.
//!
//! Every probe asks *before* it allocates, opens or spawns: a request over
//! budget is refused with [`BudgetExceeded`] (a `denied` probe error naming
//! the limit and how to raise it), so no guest input can make the host
//! allocate gigabytes, open thousands of sockets or start thousands of
//! threads. What is taken is held by a [`Reservation`] that gives its share
//! back on drop (a dropped connection, a finished load), and each budget
//! keeps its peak for the report.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::probes::ProbeError;

/// Default host memory a scenario may make the host hold for it (load
/// buffers, histograms, captured output, report items). Every figure charged
/// is an upper bound of what the request can grow to, so 512 MiB beside the
/// 256 MiB linear-memory cap keeps a scenario under 1 GiB of host memory: a
/// 24 GiB host runs it with a wide margin for redis-server and the system.
/// The catalog's scenarios peak at 1–15 MiB (the 50-worker Redis load about
/// 6 MiB, the 8-worker I/O load about 15 MiB), so the default is no
/// constraint on honest use.
pub const DEFAULT_HOST_MEMORY: u64 = 512 * 1024 * 1024;
/// Default open connections (Redis connections the guest opened plus the
/// connections of a running Redis or HTTP load). Kept under the common
/// 1,024 soft limit on file descriptors, with room for the host's own files,
/// pipes and children, and far under Redis's default `maxclients` (10,000),
/// so a scenario cannot lock other clients out of a shared server. Ten times
/// the 50 connections of the reference load.
pub const DEFAULT_CONNECTIONS: u64 = 512;
/// Default live children: each holds a process, three host threads and two
/// 64 KiB output rings; 64 is far more than a service scenario starts.
pub const DEFAULT_CHILDREN: u64 = 64;
/// Default workers of the loads running at once (a scenario runs one load at
/// a time, so: workers of one load). Workers are tasks, their buffers are
/// charged to host memory and their connections to `connections`; this caps
/// the task count itself: 20 times the reference load, and the HTTP load's
/// own maximum.
pub const DEFAULT_LOAD_WORKERS: u64 = 1024;
/// Default OS threads the running load may use. A Redis load needs one
/// event loop per core it can use; an I/O load needs one blocking thread per
/// concurrent worker (the catalog's fs scenario uses 8). 16 threads cost a
/// few MiB of stacks on any host.
pub const DEFAULT_LOAD_THREADS: u64 = 16;

/// Highest `connections` a catalog may set: past it a scenario would run out
/// of ports and descriptors before it reached its budget.
pub const MAX_CONNECTIONS: u64 = 65_536;
/// Highest `children` a catalog may set.
pub const MAX_CHILDREN: u64 = 4096;
/// Highest `load-workers` a catalog may set: the most workers any load accepts.
pub const MAX_LOAD_WORKERS: u64 = 10_000;
/// Highest `load-threads` a catalog may set: the most threads any load accepts.
pub const MAX_LOAD_THREADS: u64 = 1024;

/// Event-loop threads a load (Redis, HTTP) runs on when its spec leaves
/// them open: half the cores (the server under test usually shares the
/// machine), at least one.
pub fn threads_per_load() -> usize {
    std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1)
}

/// One kind of budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    HostMemory,
    Connections,
    Children,
    LoadWorkers,
    LoadThreads,
}

impl Resource {
    pub const ALL: [Resource; 5] = [
        Resource::HostMemory,
        Resource::Connections,
        Resource::Children,
        Resource::LoadWorkers,
        Resource::LoadThreads,
    ];

    /// The catalog key (`[defaults]` and `[scenario.limits]`).
    pub fn key(self) -> &'static str {
        match self {
            Resource::HostMemory => "host-memory",
            Resource::Connections => "connections",
            Resource::Children => "children",
            Resource::LoadWorkers => "load-workers",
            Resource::LoadThreads => "load-threads",
        }
    }

    /// The highest value a catalog may set.
    pub fn catalog_max(self) -> u64 {
        match self {
            Resource::HostMemory => u64::MAX,
            Resource::Connections => MAX_CONNECTIONS,
            Resource::Children => MAX_CHILDREN,
            Resource::LoadWorkers => MAX_LOAD_WORKERS,
            Resource::LoadThreads => MAX_LOAD_THREADS,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// `16.0 GiB of host memory`, `3 connections`, `1 child`.
    fn amount(self, n: u64) -> String {
        let plural = |one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match self {
            Resource::HostMemory => format!("{} of host memory", size(n)),
            Resource::Connections => plural("connection", "connections"),
            Resource::Children => plural("live child", "live children"),
            Resource::LoadWorkers => plural("load worker", "load workers"),
            Resource::LoadThreads => plural("load thread", "load threads"),
        }
    }

    /// The limit as people read it: `512 MiB` or `64`.
    fn limit_text(self, n: u64) -> String {
        match self {
            Resource::HostMemory => size(n),
            _ => n.to_string(),
        }
    }
}

/// Bytes in binary units: `512 MiB`, `16.0 GiB`, `440 KiB`, `12 B`.
pub fn size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            let text = format!("{:.1}", bytes as f64 / scale as f64);
            return format!("{} {unit}", text.trim_end_matches(".0"));
        }
    }
    format!("{bytes} B")
}

/// The budgets one scenario runs under, as configured in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub host_memory: u64,
    pub connections: u64,
    pub children: u64,
    pub load_workers: u64,
    pub load_threads: u64,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            host_memory: DEFAULT_HOST_MEMORY,
            connections: DEFAULT_CONNECTIONS,
            children: DEFAULT_CHILDREN,
            load_workers: DEFAULT_LOAD_WORKERS,
            load_threads: DEFAULT_LOAD_THREADS,
        }
    }
}

impl Budgets {
    pub fn get(&self, r: Resource) -> u64 {
        match r {
            Resource::HostMemory => self.host_memory,
            Resource::Connections => self.connections,
            Resource::Children => self.children,
            Resource::LoadWorkers => self.load_workers,
            Resource::LoadThreads => self.load_threads,
        }
    }

    pub fn set(&mut self, r: Resource, value: u64) {
        match r {
            Resource::HostMemory => self.host_memory = value,
            Resource::Connections => self.connections = value,
            Resource::Children => self.children = value,
            Resource::LoadWorkers => self.load_workers = value,
            Resource::LoadThreads => self.load_threads = value,
        }
    }
}

/// A request over budget. Its message names what asked, how much, the
/// limit, what is left and the catalog key that raises it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct BudgetExceeded {
    /// What asked: `run-load`, `redis.open`.
    pub what: String,
    /// How the amount was reached, when it is computed:
    /// `1 worker × pipeline 64 × 512 MiB per command and reply`.
    pub detail: Option<String>,
    pub resource: Resource,
    pub asked: u64,
    pub in_use: u64,
    pub limit: u64,
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.resource;
        write!(f, "{} needs {}", self.what, r.amount(self.asked))?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        write!(
            f,
            ", over the scenario's {} budget of {}",
            r.key(),
            r.limit_text(self.limit)
        )?;
        if self.in_use > 0 {
            let left = self.limit.saturating_sub(self.in_use);
            write!(
                f,
                " ({} in use, {} left)",
                r.limit_text(self.in_use),
                r.limit_text(left)
            )?;
        }
        write!(
            f,
            "; ask for less, or raise `{}` in the scenario's `limits` (or under `[defaults]`) in the catalog",
            r.key()
        )
    }
}

impl BudgetExceeded {
    /// Adds how the amount was reached.
    pub fn because(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl From<BudgetExceeded> for ProbeError {
    fn from(e: BudgetExceeded) -> Self {
        ProbeError::Denied(e.to_string())
    }
}

/// Use of one budget.
#[derive(Debug, Default)]
struct Pool {
    limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
    refused: AtomicU64,
}

impl Pool {
    /// Takes `n` if it fits and returns the use it made; one
    /// compare-and-swap loop, no lock. The caller records the peak.
    fn take(&self, n: u64) -> Result<u64, u64> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let next = used.checked_add(n).filter(|next| *next <= self.limit);
            let Some(next) = next else {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(used);
            };
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(next),
                Err(actual) => used = actual,
            }
        }
    }

    fn give_back(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

#[derive(Debug)]
struct Inner {
    limits: Budgets,
    pools: [Pool; 5],
}

/// The budgets of one scenario and their use, shared (cheaply cloned) by
/// every capability context of the scenario.
#[derive(Debug, Clone)]
pub struct Budget {
    inner: Arc<Inner>,
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(Budgets::default())
    }
}

impl Budget {
    pub fn new(limits: Budgets) -> Self {
        let pools = Resource::ALL.map(|r| Pool {
            limit: limits.get(r),
            ..Pool::default()
        });
        Self {
            inner: Arc::new(Inner { limits, pools }),
        }
    }

    fn pool(&self, r: Resource) -> &Pool {
        &self.inner.pools[r.index()]
    }

    pub fn limits(&self) -> Budgets {
        self.inner.limits
    }

    /// What is in use now.
    pub fn in_use(&self, r: Resource) -> u64 {
        self.pool(r).used.load(Ordering::Relaxed)
    }

    /// Takes `amount` of `resource` for `what` (named in the refusal), or
    /// refuses without taking anything.
    pub fn reserve(
        &self,
        resource: Resource,
        amount: u64,
        what: impl FnOnce() -> String,
    ) -> Result<Reservation, BudgetExceeded> {
        let held = self.take(resource, amount, what)?;
        self.pool(resource)
            .peak
            .fetch_max(held.1, Ordering::Relaxed);
        Ok(held.0)
    }

    /// Takes without recording the peak: the reservation and the use it made.
    fn take(
        &self,
        resource: Resource,
        amount: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(Reservation, u64), BudgetExceeded> {
        let pool = self.pool(resource);
        match pool.take(amount) {
            Ok(used) => Ok((
                Reservation {
                    budget: Some(self.clone()),
                    resource,
                    amount,
                },
                used,
            )),
            Err(in_use) => Err(BudgetExceeded {
                what: what(),
                detail: None,
                resource,
                asked: amount,
                in_use,
                limit: pool.limit,
            }),
        }
    }

    /// Takes several amounts at once, all or nothing (a load's workers,
    /// threads, connections and memory).
    pub fn reserve_all(
        &self,
        asks: &[(Resource, u64)],
        what: impl Fn(Resource) -> String,
    ) -> Result<Vec<Reservation>, BudgetExceeded> {
        let mut held = Vec::with_capacity(asks.len());
        for &(resource, amount) in asks {
            // An error drops what was taken so far, which gives it back
            // without ever counting in a peak.
            held.push(self.take(resource, amount, || what(resource))?);
        }
        Ok(held
            .into_iter()
            .map(|(reservation, used)| {
                self.pool(reservation.resource)
                    .peak
                    .fetch_max(used, Ordering::Relaxed);
                reservation
            })
            .collect())
    }

    /// For a resource counted elsewhere (live children are the scenario's
    /// pid set): refuses when `in_use + asked` is over the limit, and
    /// records the peak otherwise.
    pub fn admit(
        &self,
        resource: Resource,
        in_use: u64,
        asked: u64,
        what: impl FnOnce() -> String,
    ) -> Result<(), BudgetExceeded> {
        let pool = self.pool(resource);
        let total = in_use.saturating_add(asked);
        if total > pool.limit {
            pool.refused.fetch_add(1, Ordering::Relaxed);
            return Err(BudgetExceeded {
                what: what(),
                detail: None,
                resource,
                asked,
                in_use,
                limit: pool.limit,
            });
        }
        pool.peak.fetch_max(total, Ordering::Relaxed);
        Ok(())
    }

    /// The budgets and how close the scenario came to each, for the report.
    pub fn usage(&self) -> BudgetsReport {
        let get = |r: Resource| {
            let pool = self.pool(r);
            BudgetUse {
                limit: pool.limit,
                peak: pool.peak.load(Ordering::Relaxed),
                refused: pool.refused.load(Ordering::Relaxed),
            }
        };
        BudgetsReport {
            host_memory: get(Resource::HostMemory),
            connections: get(Resource::Connections),
            children: get(Resource::Children),
            load_workers: get(Resource::LoadWorkers),
            load_threads: get(Resource::LoadThreads),
        }
    }
}

/// A share of a budget, given back when dropped.
#[derive(Debug)]
#[must_use = "dropping a reservation gives its share back at once"]
pub struct Reservation {
    budget: Option<Budget>,
    resource: Resource,
    amount: u64,
}

impl Reservation {
    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// Keeps the share taken for the rest of the scenario (histograms,
    /// captured output and report items live as long as the report does).
    pub fn keep(mut self) {
        self.budget = None;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.pool(self.resource).give_back(self.amount);
        }
    }
}

/// One budget in the report: the limit, the most in use at once, and how
/// many requests it refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetUse {
    pub limit: u64,
    pub peak: u64,
    pub refused: u64,
}

/// Every budget of a scenario in the report (`host_memory` in bytes, the
/// others in counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetsReport {
    pub host_memory: BudgetUse,
    pub connections: BudgetUse,
    pub children: BudgetUse,
    pub load_workers: BudgetUse,
    pub load_threads: BudgetUse,
}

impl BudgetsReport {
    /// Each budget with its use, in the catalog's order.
    pub fn entries(&self) -> [(Resource, BudgetUse); 5] {
        [
            (Resource::HostMemory, self.host_memory),
            (Resource::Connections, self.connections),
            (Resource::Children, self.children),
            (Resource::LoadWorkers, self.load_workers),
            (Resource::LoadThreads, self.load_threads),
        ]
    }

    /// `host-memory refused 1 request (peak 460 B of 512 MiB)` for every
    /// budget that refused something: what a person reading a summary needs.
    pub fn refusals(&self) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|(_, u)| u.refused > 0)
            .map(|(r, u)| {
                format!(
                    "{} refused {} request{} (peak {} of {})",
                    r.key(),
                    u.refused,
                    if u.refused == 1 { "" } else { "s" },
                    r.limit_text(u.peak),
                    r.limit_text(u.limit)
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Budget {
        Budget::new(Budgets {
            host_memory: 1000,
            connections: 2,
            ..Budgets::default()
        })
    }

    #[test]
    fn reservations_are_given_back_on_drop_and_the_peak_stays() {
        let b = small();
        let a = b.reserve(Resource::HostMemory, 600, || "a".into()).unwrap();
        let c = b.reserve(Resource::HostMemory, 400, || "c".into()).unwrap();
        assert_eq!(b.in_use(Resource::HostMemory), 1000);
        let err = b
            .reserve(Resource::HostMemory, 1, || "one more byte".into())
            .unwrap_err();
        assert_eq!((err.asked, err.in_use, err.limit), (1, 1000, 1000));
        drop(a);
        assert_eq!(b.in_use(Resource::HostMemory), 400);
        c.keep();
        assert_eq!(b.in_use(Resource::HostMemory), 400);
        let usage = b.usage();
        assert_eq!(usage.host_memory.peak, 1000);
        assert_eq!(usage.host_memory.refused, 1);
        assert_eq!(
            usage.connections,
            BudgetUse {
                limit: 2,
                ..Default::default()
            }
        );
    }

    #[test]
    fn reserve_all_is_all_or_nothing() {
        let b = small();
        let err = b
            .reserve_all(
                &[(Resource::HostMemory, 10), (Resource::Connections, 3)],
                |_| "run-load".into(),
            )
            .unwrap_err();
        assert_eq!(err.resource, Resource::Connections);
        assert_eq!(b.in_use(Resource::HostMemory), 0);
        assert_eq!(
            b.usage().host_memory.peak,
            0,
            "a refused set counts in no peak"
        );
        let held = b
            .reserve_all(
                &[(Resource::HostMemory, 10), (Resource::Connections, 2)],
                |_| "run-load".into(),
            )
            .unwrap();
        assert_eq!(b.in_use(Resource::Connections), 2);
        drop(held);
        assert_eq!(b.in_use(Resource::Connections), 0);
    }

    #[test]
    fn a_refusal_names_the_limit_what_is_left_and_the_key() {
        let b = Budget::new(Budgets {
            host_memory: 512 << 20,
            ..Budgets::default()
        });
        let _held = b.reserve(Resource::HostMemory, 2 << 20, || "x".into());
        let err = b
            .reserve(Resource::HostMemory, 16 << 30, || "run-load".into())
            .unwrap_err()
            .because("value 256 MiB × pipeline 64");
        assert_eq!(
            err.to_string(),
            "run-load needs 16 GiB of host memory (value 256 MiB × pipeline 64), over the \
             scenario's host-memory budget of 512 MiB (2 MiB in use, 510 MiB left); ask for \
             less, or raise `host-memory` in the scenario's `limits` (or under `[defaults]`) \
             in the catalog"
        );
        assert!(matches!(ProbeError::from(err), ProbeError::Denied(_)));
    }

    #[test]
    fn admitted_counts_refuse_past_the_limit() {
        let b = Budget::new(Budgets {
            children: 2,
            ..Budgets::default()
        });
        b.admit(Resource::Children, 1, 1, || "spawn".into())
            .unwrap();
        let err = b
            .admit(Resource::Children, 2, 1, || "spawn".into())
            .unwrap_err();
        assert!(err.to_string().contains("needs 1 live child"), "{err}");
        assert_eq!(b.usage().children.peak, 2);
    }

    #[test]
    fn the_report_names_the_budgets_that_refused() {
        let b = small();
        let _ = b.reserve(Resource::Connections, 3, || "x".into());
        assert_eq!(
            b.usage().refusals(),
            vec!["connections refused 1 request (peak 0 of 2)"]
        );
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size(512 << 20), "512 MiB");
        assert_eq!(size(16 << 30), "16 GiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(12), "12 B");
    }
}
