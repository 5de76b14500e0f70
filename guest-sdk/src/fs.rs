//! Files through the host: the scenario's scratch directory and directories
//! the catalog grants, with timed operations and a native concurrent load.
//! Paths are relative to their root; the host confines them (`..`, absolute
//! paths and symlinks leading out are [`ProbeError::Denied`]).
//!
//! ```no_run
//! use rigor_guest::prelude::*;
//!
//! # fn demo() -> Result<()> {
//! let dir = Dir::scratch()?;
//! let latency = Histogram::latency("write.1KB.fsync");
//! for i in 0..100 {
//!     dir.write_timed(&format!("f{i}"), &[b'x'; 1024], true, &latency)?;
//! }
//! let report = dir.io_load(IoLoad::new("mixed").workers(8).ops(10_000))?;
//! log::info(format!("{:.0} ops/s", report.ops_per_second));
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::bindings::rigor::scenario::fs as wit;
use crate::metrics::Histogram;
use crate::{ProbeError, Result};

pub use wit::{
    Content, DumpFormat, Entry, EntryKind, FsyncPolicy, IoLoadReport, IoStop, Listing, RecordSet,
};

fn err(e: crate::bindings::rigor::scenario::types::ProbeError) -> crate::Error {
    ProbeError::from(e).into()
}

/// A root directory: the scratch directory or a granted one.
pub struct Dir {
    inner: wit::Dir,
}

impl Dir {
    /// The scenario's own scratch directory (read-write, removed at the end).
    pub fn scratch() -> Result<Self> {
        Ok(Self {
            inner: wit::Dir::scratch().map_err(err)?,
        })
    }

    /// The directory the catalog grants as `name` (`dirs = [{ name = .. }]`).
    pub fn open(name: &str) -> Result<Self> {
        Ok(Self {
            inner: wit::Dir::open(name).map_err(err)?,
        })
    }

    /// The root's name.
    pub fn name(&self) -> String {
        self.inner.name()
    }

    /// Whether the root may be written.
    pub fn writable(&self) -> bool {
        self.inner.writable()
    }

    /// Creates or truncates `path` with `data`; returns the time from open
    /// to close.
    pub fn write(&self, path: &str, data: &[u8]) -> Result<Duration> {
        self.write_with(path, Content::Bytes(data.to_vec()), false, None)
    }

    /// Like [`Dir::write`], with `fsync` before close, recorded into `into`.
    pub fn write_timed(
        &self,
        path: &str,
        data: &[u8],
        fsync: bool,
        into: &Histogram,
    ) -> Result<Duration> {
        self.write_with(path, Content::Bytes(data.to_vec()), fsync, Some(into))
    }

    /// Writes `size` bytes of a fixed pattern without sending them over the
    /// boundary.
    pub fn fill(&self, path: &str, size: u64, fsync: bool) -> Result<Duration> {
        self.write_with(path, Content::Fill(size), fsync, None)
    }

    /// The general write.
    pub fn write_with(
        &self,
        path: &str,
        content: Content,
        fsync: bool,
        into: Option<&Histogram>,
    ) -> Result<Duration> {
        self.inner
            .write(path, &content, fsync, into.map(Histogram::wit))
            .map(|t| Duration::from_nanos(t.latency_ns))
            .map_err(err)
    }

    /// Appends `data` to `path` (created when missing).
    pub fn append(&self, path: &str, data: &[u8], fsync: bool) -> Result<Duration> {
        self.inner
            .append(path, &Content::Bytes(data.to_vec()), fsync, None)
            .map(|t| Duration::from_nanos(t.latency_ns))
            .map_err(err)
    }

    /// Reads the whole file (at most 64 MiB).
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        self.inner.read(path, None).map(|r| r.data).map_err(err)
    }

    /// Reads the whole file, recording the time into `into`.
    pub fn read_timed(&self, path: &str, into: &Histogram) -> Result<Vec<u8>> {
        self.inner
            .read(path, Some(into.wit()))
            .map(|r| r.data)
            .map_err(err)
    }

    /// Flushes `path` to stable storage.
    pub fn fsync(&self, path: &str) -> Result<Duration> {
        self.inner
            .fsync(path, None)
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// Renames `from` to `to` within this root.
    pub fn rename(&self, from: &str, to: &str) -> Result<Duration> {
        self.inner
            .rename(from, to, None)
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// Deletes a file, a symlink or an empty directory.
    pub fn delete(&self, path: &str) -> Result<Duration> {
        self.inner
            .delete(path, None)
            .map(Duration::from_nanos)
            .map_err(err)
    }

    /// Lists a directory (`"."` for the root).
    pub fn list(&self, path: &str) -> Result<Listing> {
        self.inner.list(path).map_err(err)
    }

    /// Creates a directory and its missing parents.
    pub fn mkdir(&self, path: &str) -> Result<()> {
        self.inner.mkdir(path).map_err(err)
    }

    /// Creates the symlink `link` pointing at `target`.
    pub fn symlink(&self, target: &str, link: &str) -> Result<()> {
        self.inner.symlink(target, link).map_err(err)
    }

    /// Writes `records` to `path` as JSON, CSV or text; the write is timed
    /// and recorded into `into` when given.
    pub fn dump(
        &self,
        path: &str,
        records: &RecordSet,
        format: DumpFormat,
        into: Option<&Histogram>,
    ) -> Result<Duration> {
        self.inner
            .dump(path, records, format, false, into.map(Histogram::wit))
            .map(|t| Duration::from_nanos(t.latency_ns))
            .map_err(err)
    }

    /// Runs a concurrent file load natively in this root.
    pub fn io_load(&self, load: IoLoad) -> Result<IoLoadReport> {
        self.inner.run_io_load(&load.spec).map_err(err)
    }
}

/// A concurrent file load, built step by step. Defaults: 1 worker, 1 file
/// of 1 MiB per worker, 4 KiB blocks, 50 % reads, random offsets, no
/// fsync, 1,000 operations.
#[derive(Debug, Clone)]
pub struct IoLoad {
    spec: wit::IoLoadSpec,
}

impl IoLoad {
    /// A load whose metrics are named `name.read`, `name.write`, ….
    pub fn new(name: &str) -> Self {
        Self {
            spec: wit::IoLoadSpec {
                name: name.to_owned(),
                workers: 1,
                files_per_worker: 1,
                file_size: 1024 * 1024,
                block_size: 4096,
                read_percent: 50,
                fsync: FsyncPolicy::Never,
                random: true,
                stop: IoStop::Ops(1000),
            },
        }
    }

    /// Concurrent workers (1..=64).
    pub fn workers(mut self, n: u32) -> Self {
        self.spec.workers = n;
        self
    }

    /// Files each worker owns.
    pub fn files_per_worker(mut self, n: u32) -> Self {
        self.spec.files_per_worker = n;
        self
    }

    /// Size of each file in bytes.
    pub fn file_size(mut self, bytes: u64) -> Self {
        self.spec.file_size = bytes;
        self
    }

    /// Bytes per read or write.
    pub fn block_size(mut self, bytes: u64) -> Self {
        self.spec.block_size = bytes;
        self
    }

    /// Share of reads, 0..=100.
    pub fn read_percent(mut self, percent: u8) -> Self {
        self.spec.read_percent = percent;
        self
    }

    /// When written data is flushed.
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.spec.fsync = policy;
        self
    }

    /// Random (`true`) or sequential offsets.
    pub fn random(mut self, random: bool) -> Self {
        self.spec.random = random;
        self
    }

    /// Stop after `n` operations in total.
    pub fn ops(mut self, n: u64) -> Self {
        self.spec.stop = IoStop::Ops(n);
        self
    }

    /// Stop after `d`.
    pub fn duration(mut self, d: Duration) -> Self {
        self.spec.stop = IoStop::DurationNs(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self
    }
}
