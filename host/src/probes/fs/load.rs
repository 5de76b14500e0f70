//! `run-io-load`: N workers doing block reads and writes on their own files,
//! each on a blocking thread, with per-operation HDR latencies. Files are
//! laid out (filled) before the clock starts, as fio does; reads and writes
//! are `pread`/`pwrite` of one block; `fsync` is timed on its own.
//!
//! A blocking `pread` needs a thread of its own to run concurrently with
//! another, so a worker is a thread: [`reserve`] takes the workers from both
//! the scenario's `load-workers` and `load-threads` budgets (which bounds
//! the load's use of the blocking pool) and their buffers and histograms
//! from `host-memory`.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::fs::OFlags;
use rustix::io::Errno;

use super::ops::{Content, fill_pattern};
use super::path::open_beneath;
use super::{FsError, Root, ops};
use crate::budget::{Budget, Reservation, Resource, size};
use crate::metrics::Distribution;
use crate::probes::ProbeError;

/// Most workers one load may start.
pub const MAX_WORKERS: u32 = 64;
/// Most files per worker.
pub const MAX_FILES_PER_WORKER: u32 = 1024;
/// Most files one load holds open at once (workers × files per worker):
/// each is a descriptor, and the common soft limit is 1,024 per process.
pub const MAX_OPEN_FILES: u32 = 512;
/// Largest block (bytes).
pub const MAX_BLOCK: u64 = 16 * 1024 * 1024;
/// Most bytes a load may lay out on disk (workers × files × file size).
pub const MAX_LOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Longest duration of one load.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// When written data is flushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Never,
    /// After every write (fio `--fsync=1`).
    EveryWrite,
    /// After every n-th write of a worker.
    Every(u32),
    /// Once per file when the worker ends.
    AtEnd,
}

/// When the load stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// This many operations in total, shared among the workers.
    Ops(u64),
    Duration(Duration),
}

/// What a load does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoLoadSpec {
    pub workers: u32,
    pub files_per_worker: u32,
    pub file_size: u64,
    pub block_size: u64,
    /// Share of operations that are reads, 0..=100.
    pub read_percent: u8,
    pub fsync: FsyncPolicy,
    /// Random block offsets (`true`) or sequential, wrapping per file.
    pub random: bool,
    pub stop: Stop,
    /// Folder (in the root) that holds the load's files; removed at the end.
    pub dir: String,
    /// Drop the laid-out files from the page cache before measuring (fio's
    /// `invalidate=1`), so reads start from the device.
    pub invalidate: bool,
}

impl IoLoadSpec {
    /// Rejects specs outside the documented bounds, naming the field.
    pub fn validate(&self) -> Result<(), FsError> {
        let bad = |m: String| Err(FsError::Invalid(format!("io-load spec: {m}")));
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return bad(format!(
                "`workers` is {}; use 1..={MAX_WORKERS}",
                self.workers
            ));
        }
        if self.files_per_worker == 0 || self.files_per_worker > MAX_FILES_PER_WORKER {
            return bad(format!(
                "`files-per-worker` is {}; use 1..={MAX_FILES_PER_WORKER}",
                self.files_per_worker
            ));
        }
        let open = self.workers.saturating_mul(self.files_per_worker);
        if open > MAX_OPEN_FILES {
            return bad(format!(
                "workers × files-per-worker is {open} open files; the limit is {MAX_OPEN_FILES}"
            ));
        }
        if self.block_size == 0 || self.block_size > MAX_BLOCK {
            return bad(format!(
                "`block-size` is {}; use 1..={MAX_BLOCK} bytes",
                self.block_size
            ));
        }
        if self.file_size < self.block_size {
            return bad(format!(
                "`file-size` ({}) is smaller than `block-size` ({})",
                self.file_size, self.block_size
            ));
        }
        let total = u64::from(self.workers)
            .saturating_mul(u64::from(self.files_per_worker))
            .saturating_mul(self.file_size);
        if total > MAX_LOAD_BYTES {
            return bad(format!(
                "workers × files-per-worker × file-size is {total} bytes; the limit is {MAX_LOAD_BYTES}"
            ));
        }
        if self.read_percent > 100 {
            return bad(format!(
                "`read-percent` is {}; use 0..=100",
                self.read_percent
            ));
        }
        if matches!(self.fsync, FsyncPolicy::Every(0)) {
            return bad("`fsync` every 0 writes; use 1 or more".into());
        }
        match self.stop {
            Stop::Ops(0) => return bad("`ops` is 0".into()),
            Stop::Duration(d) if d.is_zero() || d > MAX_DURATION => {
                return bad(format!(
                    "`duration` is {d:?}; use more than 0 and at most {MAX_DURATION:?}"
                ));
            }
            _ => {}
        }
        if self.dir.is_empty() {
            return bad("`dir` is empty".into());
        }
        Ok(())
    }
}

/// Checks `spec`, then takes from `budget` what it needs, all or nothing:
/// a worker and a thread per worker, and host memory for each worker's two
/// block buffers and three latency histograms at their widest.
pub fn reserve(spec: &IoLoadSpec, budget: &Budget) -> Result<Vec<Reservation>, ProbeError> {
    spec.validate()?;
    let workers = u64::from(spec.workers);
    let per_worker =
        2 * spec.block_size + 3 * Distribution::max_bytes() + 8 * u64::from(spec.files_per_worker);
    let asks = [
        (Resource::LoadWorkers, workers),
        (Resource::LoadThreads, workers),
        (Resource::HostMemory, workers.saturating_mul(per_worker)),
    ];
    budget
        .reserve_all(&asks, |_| "run-io-load".into())
        .map_err(|e| match e.resource {
            Resource::LoadThreads => {
                e.because("each worker blocks in its own thread; ask for fewer `workers`")
            }
            Resource::HostMemory => e.because(format!(
                "{workers} workers × ({} block buffers + latency histograms)",
                size(2 * spec.block_size)
            )),
            _ => e,
        })
        .map_err(ProbeError::from)
}

/// What a load measured.
#[derive(Debug, Clone, Default)]
pub struct IoLoadReport {
    pub read: Distribution,
    pub write: Distribution,
    pub fsync: Distribution,
    pub reads: u64,
    pub writes: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Wall-clock time of the measured phase (all workers).
    pub elapsed: Duration,
    pub errors: u64,
    /// The first failure, when any operation failed (the load then stops).
    pub first_error: Option<String>,
}

impl IoLoadReport {
    pub fn ops(&self) -> u64 {
        self.reads + self.writes
    }

    fn per_second(&self, n: u64) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { n as f64 / secs } else { 0.0 }
    }

    pub fn ops_per_second(&self) -> f64 {
        self.per_second(self.ops())
    }

    pub fn read_bytes_per_second(&self) -> f64 {
        self.per_second(self.bytes_read)
    }

    pub fn write_bytes_per_second(&self) -> f64 {
        self.per_second(self.bytes_written)
    }

    fn merge(&mut self, other: WorkerReport) {
        self.read.merge(&other.read);
        self.write.merge(&other.write);
        self.fsync.merge(&other.fsync);
        self.reads += other.reads;
        self.writes += other.writes;
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
        if let Some(e) = other.error {
            self.errors += 1;
            self.first_error.get_or_insert(e);
        }
    }
}

#[derive(Default)]
struct WorkerReport {
    read: Distribution,
    write: Distribution,
    fsync: Distribution,
    reads: u64,
    writes: u64,
    bytes_read: u64,
    bytes_written: u64,
    error: Option<String>,
}

/// splitmix64: a tiny, good-enough generator for offsets and the op mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Sets the flag when dropped: a load whose caller went away (deadline,
/// Ctrl-C) stops its workers.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn file_name(spec: &IoLoadSpec, worker: u32, file: u32) -> String {
    format!("{}/w{worker}-f{file}", spec.dir)
}

fn ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn retry<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Lays out one worker's files (untimed): written and flushed (so the first
/// measured fsync does not flush the layout) and, with `invalidate`, dropped
/// from the page cache, as fio does by default.
fn prepare(root: &Root, spec: &IoLoadSpec, worker: u32) -> Result<Vec<OwnedFd>, FsError> {
    let flags = if spec.read_percent == 100 {
        OFlags::RDONLY
    } else {
        OFlags::RDWR
    };
    (0..spec.files_per_worker)
        .map(|f| {
            let name = file_name(spec, worker, f);
            ops::write(root, &name, &Content::Fill(spec.file_size), true)?;
            let fd = open_beneath(root.fd(), &root.name, &name, flags)?;
            // Advisory, as fio's defaults (`invalidate=1`, `fadvise_hint=1`):
            // drop the layout from the page cache, and turn read-ahead off
            // for random offsets so each read is one block from the device.
            if spec.invalidate {
                let _ = rustix::fs::fadvise(&fd, 0, None, rustix::fs::Advice::DontNeed);
            }
            let hint = if spec.random {
                rustix::fs::Advice::Random
            } else {
                rustix::fs::Advice::Sequential
            };
            let _ = rustix::fs::fadvise(&fd, 0, None, hint);
            Ok(fd)
        })
        .collect()
}

struct Worker<'a> {
    index: u32,
    root: &'a Root,
    spec: &'a IoLoadSpec,
    files: Vec<OwnedFd>,
    ops: Option<u64>,
    deadline: Option<Instant>,
    stop: &'a AtomicBool,
    rng: Rng,
}

impl Worker<'_> {
    fn run(mut self) -> WorkerReport {
        let mut report = WorkerReport::default();
        let block = self.spec.block_size as usize;
        let blocks = self.spec.file_size / self.spec.block_size;
        let data = fill_pattern(block);
        let mut buf = vec![0u8; block];
        let mut cursors = vec![0u64; self.files.len()];
        let mut since_sync = 0u32;
        let mut done = 0u64;
        let fail = |report: &mut WorkerReport, op: &'static str, file: usize, e: Errno| {
            let name = file_name(self.spec, self.index, file as u32);
            report.error = Some(FsError::from_errno(&self.root.name, &name, op, e).to_string());
        };
        loop {
            if self.ops.is_some_and(|n| done >= n)
                || self.deadline.is_some_and(|d| Instant::now() >= d)
                || self.stop.load(Ordering::Relaxed)
            {
                break;
            }
            let f = if self.files.len() == 1 {
                0
            } else {
                (self.rng.next() % self.files.len() as u64) as usize
            };
            let index = if self.spec.random {
                self.rng.next() % blocks
            } else {
                let i = cursors[f];
                cursors[f] = (i + 1) % blocks;
                i
            };
            let offset = index * self.spec.block_size;
            let is_read = (self.rng.next() % 100) < u64::from(self.spec.read_percent);
            let fd = &self.files[f];
            if is_read {
                let start = Instant::now();
                match retry(|| rustix::io::pread(fd, &mut buf, offset)) {
                    Ok(n) => {
                        report.read.record(ns(start));
                        report.reads += 1;
                        report.bytes_read += n as u64;
                    }
                    Err(e) => {
                        fail(&mut report, "reading", f, e);
                        break;
                    }
                }
            } else {
                let start = Instant::now();
                match retry(|| rustix::io::pwrite(fd, &data, offset)) {
                    Ok(n) => {
                        report.write.record(ns(start));
                        report.writes += 1;
                        report.bytes_written += n as u64;
                    }
                    Err(e) => {
                        fail(&mut report, "writing", f, e);
                        break;
                    }
                }
                since_sync += 1;
                let sync_now = match self.spec.fsync {
                    FsyncPolicy::EveryWrite => true,
                    FsyncPolicy::Every(n) => since_sync >= n,
                    _ => false,
                };
                if sync_now {
                    since_sync = 0;
                    let start = Instant::now();
                    if let Err(e) = retry(|| rustix::fs::fsync(fd)) {
                        fail(&mut report, "syncing", f, e);
                        break;
                    }
                    report.fsync.record(ns(start));
                }
            }
            done += 1;
        }
        if self.spec.fsync == FsyncPolicy::AtEnd && report.writes > 0 {
            for (f, fd) in self.files.iter().enumerate() {
                let start = Instant::now();
                if let Err(e) = retry(|| rustix::fs::fsync(fd)) {
                    fail(&mut report, "syncing", f, e);
                    break;
                }
                report.fsync.record(ns(start));
            }
        }
        report
    }
}

/// Runs the load in `root`. Its files are removed afterwards; the measured
/// phase starts once every worker's files are laid out.
pub async fn run(root: Root, spec: IoLoadSpec) -> Result<IoLoadReport, FsError> {
    spec.validate()?;
    root.check_writable(&spec.dir)?;
    let stop = Arc::new(AtomicBool::new(false));
    let _guard = StopOnDrop(stop.clone());
    let root = Arc::new(root);
    let spec = Arc::new(spec);

    {
        let (root, spec) = (root.clone(), spec.clone());
        blocking(move || ops::mkdir(&root, &spec.dir)).await??;
    }
    let mut prepared = Vec::new();
    for w in 0..spec.workers {
        let (root, spec) = (root.clone(), spec.clone());
        prepared.push(tokio::task::spawn_blocking(move || {
            prepare(&root, &spec, w)
        }));
    }
    let mut files = Vec::new();
    let mut prep_error = None;
    for p in prepared {
        match p.await.map_err(join_error)? {
            Ok(f) => files.push(f),
            Err(e) => {
                prep_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = prep_error {
        cleanup(&root, &spec).await;
        return Err(e);
    }

    let started = Instant::now();
    let deadline = match spec.stop {
        Stop::Duration(d) => Some(started + d),
        Stop::Ops(_) => None,
    };
    let mut handles = Vec::new();
    for (w, files) in files.into_iter().enumerate() {
        let w = w as u64;
        let ops = match spec.stop {
            Stop::Ops(total) => {
                let n = u64::from(spec.workers);
                Some(total / n + u64::from(w < total % n))
            }
            Stop::Duration(_) => None,
        };
        let (root, spec, stop) = (root.clone(), spec.clone(), stop.clone());
        handles.push(tokio::task::spawn_blocking(move || {
            Worker {
                index: w as u32,
                root: &root,
                spec: &spec,
                files,
                ops,
                deadline,
                stop: &stop,
                rng: Rng(0x5EED ^ (w.wrapping_mul(0x1000_0000_01B3))),
            }
            .run()
        }));
    }
    let mut report = IoLoadReport::default();
    for h in handles {
        report.merge(h.await.map_err(join_error)?);
    }
    report.elapsed = started.elapsed();
    cleanup(&root, &spec).await;
    Ok(report)
}

async fn cleanup(root: &Arc<Root>, spec: &Arc<IoLoadSpec>) {
    let (root, spec) = (root.clone(), spec.clone());
    let _ = blocking(move || {
        for w in 0..spec.workers {
            for f in 0..spec.files_per_worker {
                let _ = ops::delete(&root, &file_name(&spec, w, f));
            }
        }
        let _ = ops::delete(&root, &spec.dir);
    })
    .await;
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, FsError> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)
}

fn join_error(e: tokio::task::JoinError) -> FsError {
    FsError::Invalid(format!("an io-load worker failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::{DirMode, Scratch};
    use super::*;

    fn spec() -> IoLoadSpec {
        IoLoadSpec {
            workers: 4,
            files_per_worker: 2,
            file_size: 64 * 1024,
            block_size: 4096,
            read_percent: 50,
            fsync: FsyncPolicy::Every(8),
            random: true,
            stop: Stop::Ops(1000),
            dir: "load".into(),
            invalidate: true,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_counted_load_does_exactly_its_ops_and_cleans_up() {
        let base = tempfile::tempdir().unwrap();
        let scratch = Arc::new(Scratch::new("t", base.path(), false));
        let root = Root::scratch(&scratch).unwrap();
        let dir = scratch.created().unwrap();
        let report = run(root, spec()).await.unwrap();
        assert_eq!(report.ops(), 1000);
        assert_eq!(report.read.len() + report.write.len(), 1000);
        assert!(report.reads > 300 && report.writes > 300, "{report:?}");
        assert_eq!(report.bytes_read, report.reads * 4096);
        assert_eq!(report.bytes_written, report.writes * 4096);
        assert!(report.fsync.len() >= report.writes / 8 - 4);
        assert_eq!(report.errors, 0);
        assert!(report.ops_per_second() > 0.0);
        assert!(!dir.join("load").exists(), "load files are removed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timed_load_stops_on_time() {
        let base = tempfile::tempdir().unwrap();
        let scratch = Arc::new(Scratch::new("t", base.path(), false));
        let root = Root::scratch(&scratch).unwrap();
        let mut s = spec();
        s.stop = Stop::Duration(Duration::from_millis(200));
        s.fsync = FsyncPolicy::Never;
        let report = run(root, s).await.unwrap();
        assert!(report.ops() > 0);
        assert!(report.elapsed >= Duration::from_millis(200));
        assert!(
            report.elapsed < Duration::from_secs(5),
            "{:?}",
            report.elapsed
        );
    }

    #[test]
    fn a_load_reserves_a_thread_per_worker() {
        let budget = Budget::new(crate::budget::Budgets {
            load_threads: 3,
            ..Default::default()
        });
        let err = reserve(&spec(), &budget).unwrap_err();
        assert!(
            matches!(&err, ProbeError::Denied(m)
                if m.starts_with("run-io-load needs 4 load threads (each worker blocks")),
            "{err}"
        );
        assert_eq!(budget.in_use(Resource::LoadWorkers), 0, "all or nothing");
        let mut s = spec();
        s.workers = 3;
        let held = reserve(&s, &budget).unwrap();
        assert_eq!(budget.in_use(Resource::LoadThreads), 3);
        drop(held);
        assert_eq!(budget.in_use(Resource::LoadThreads), 0);
        let mut s = spec();
        s.files_per_worker = 200;
        let err = reserve(&s, &budget).unwrap_err();
        assert!(
            matches!(&err, ProbeError::Invalid(m) if m.contains("open files")),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_specs_and_read_only_roots_are_refused() {
        let mut s = spec();
        s.workers = 0;
        assert!(s.validate().unwrap_err().to_string().contains("`workers`"));
        let mut s = spec();
        s.file_size = 100;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("`file-size`")
        );
        let dir = tempfile::tempdir().unwrap();
        let ro = Root::open("data", dir.path(), DirMode::ReadOnly).unwrap();
        assert!(matches!(run(ro, spec()).await, Err(FsError::Denied { .. })));
    }
}
