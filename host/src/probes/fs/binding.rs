//! The WIT `fs` interface over the native probe: grants are checked when a
//! root is opened, every blocking call runs on tokio's blocking pool, and
//! timed calls record into the guest's histograms.

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::dump::{self, RecordSet};
use super::load::{self, FsyncPolicy, IoLoadSpec, Stop};
use super::ops::{self, Content, EntryKind};
use super::{FsCtx, FsError, MAX_OPEN_ROOTS, Root};
use crate::bindings::fs as wit;
use crate::metrics::{Direction, HistogramHandle, SharedRecorder, Unit};
use crate::probes::{BindingResult, ProbeError};
use crate::report::shared::SharedReport;
use std::sync::atomic::Ordering;

/// What the `fs` binding may touch: its scratch directory, grants and count
/// of open roots, the guest's handles, where latencies are recorded, and the
/// report's log (to say where a kept scratch directory is).
pub struct FsView<'a> {
    pub(crate) fs: &'a FsCtx,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
    pub(crate) report: &'a SharedReport,
    /// What the host may hold or start for the scenario.
    pub(crate) budget: &'a crate::budget::Budget,
    /// This shard's part of the run: loads take their part here.
    pub(crate) shard: &'a crate::shard::ShardCtx,
}

/// Links `fs` to an `FsView` of the store's state.
pub struct FsBinding;

impl HasData for FsBinding {
    type Data<'a> = FsView<'a>;
}

/// Runs a blocking file operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FsError> + Send + 'static,
) -> Result<T, ProbeError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ProbeError::from),
        Err(e) => Err(ProbeError::Io(format!("a file operation failed: {e}"))),
    }
}

impl From<wit::Content> for Content {
    fn from(c: wit::Content) -> Self {
        match c {
            wit::Content::Bytes(b) => Content::Bytes(b),
            wit::Content::Fill(n) => Content::Fill(n),
        }
    }
}

impl FsView<'_> {
    /// Counts a root the guest is about to hold; `invalid` past the bound.
    fn fs_claim_root(&self) -> Result<(), ProbeError> {
        let open = &self.fs.open_roots;
        if open.fetch_add(1, Ordering::Relaxed) >= MAX_OPEN_ROOTS {
            open.fetch_sub(1, Ordering::Relaxed);
            return Err(ProbeError::Invalid(format!(
                "a scenario may hold at most {MAX_OPEN_ROOTS} open directories; drop the ones it no longer uses"
            )));
        }
        Ok(())
    }

    fn fs_release_root(&self) {
        self.fs.open_roots.fetch_sub(1, Ordering::Relaxed);
    }

    fn fs_root(&self, dir: &Resource<Root>) -> BindingResult<Root> {
        Ok(self.table.get(dir)?.clone())
    }

    fn fs_histogram(
        &self,
        into: &Option<Resource<HistogramHandle>>,
    ) -> BindingResult<Option<HistogramHandle>> {
        Ok(match into {
            Some(h) => Some(*self.table.get(h)?),
            None => None,
        })
    }

    /// Runs `op` on the root's blocking pool and records its latency.
    async fn fs_timed<T: Send + 'static>(
        &mut self,
        dir: &Resource<Root>,
        into: Option<Resource<HistogramHandle>>,
        op: impl FnOnce(&Root) -> Result<ops::Timed<T>, FsError> + Send + 'static,
    ) -> BindingResult<ops::Timed<T>> {
        let root = self.fs_root(dir)?;
        let histogram = self.fs_histogram(&into)?;
        let t = blocking(move || op(&root)).await?;
        if let Some(h) = histogram {
            self.recorder.record(h, t.ns);
        }
        Ok(t)
    }
}

fn timed_bytes(t: ops::Timed<u64>) -> wit::Timed {
    wit::Timed {
        bytes: t.value,
        latency_ns: t.ns,
    }
}

fn spec_from_wit(s: &wit::IoLoadSpec) -> Result<IoLoadSpec, ProbeError> {
    let stop = match s.stop {
        wit::IoStop::Ops(n) => Stop::Ops(n),
        wit::IoStop::DurationNs(ns) => Stop::Duration(std::time::Duration::from_nanos(ns)),
    };
    if s.name.is_empty() || s.name.contains('/') || s.name.len() > 100 {
        return Err(ProbeError::Invalid(format!(
            "io-load name `{}` must be 1..=100 bytes without `/`",
            s.name
        )));
    }
    Ok(IoLoadSpec {
        workers: s.workers,
        files_per_worker: s.files_per_worker,
        file_size: s.file_size,
        block_size: s.block_size,
        read_percent: s.read_percent,
        fsync: match s.fsync {
            wit::FsyncPolicy::Never => FsyncPolicy::Never,
            wit::FsyncPolicy::EveryWrite => FsyncPolicy::EveryWrite,
            wit::FsyncPolicy::Every(n) => FsyncPolicy::Every(n),
            wit::FsyncPolicy::AtEnd => FsyncPolicy::AtEnd,
        },
        random: s.random,
        stop,
        dir: format!(".rigor-io-load-{}", s.name),
        invalidate: true,
    })
}

impl wit::Host for FsView<'_> {}

impl wit::HostDir for FsView<'_> {
    async fn scratch(&mut self) -> BindingResult<Resource<Root>> {
        self.fs_claim_root()?;
        let scratch = self.fs.scratch.clone();
        let first = scratch.created().is_none();
        let root = match blocking(move || Root::scratch(&scratch)).await {
            Ok(r) => r,
            Err(e) => {
                self.fs_release_root();
                return Err(e.into());
            }
        };
        if first && self.fs.scratch.keep() {
            self.report.log(
                crate::report::model::LogLevel::Info,
                format!(
                    "scratch directory kept (--keep-scratch): {}",
                    root.host_path.display()
                ),
            );
        }
        Ok(self.table.push(root)?)
    }

    async fn open(&mut self, name: String) -> BindingResult<Resource<Root>> {
        let grant = self.fs.policy.check_dir(&name)?.clone();
        self.fs_claim_root()?;
        match blocking(move || Root::open(&grant.name, &grant.path, grant.mode)).await {
            Ok(root) => Ok(self.table.push(root)?),
            Err(e) => {
                self.fs_release_root();
                Err(e.into())
            }
        }
    }

    async fn name(&mut self, dir: Resource<Root>) -> wasmtime::Result<String> {
        Ok(self.table.get(&dir)?.name.clone())
    }

    async fn writable(&mut self, dir: Resource<Root>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&dir)?.mode == super::DirMode::ReadWrite)
    }

    async fn write(
        &mut self,
        dir: Resource<Root>,
        path: String,
        data: wit::Content,
        fsync: bool,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::Timed> {
        let content = Content::from(data);
        let t = self
            .fs_timed(&dir, into, move |root| {
                ops::write(root, &path, &content, fsync)
            })
            .await?;
        Ok(timed_bytes(t))
    }

    async fn append(
        &mut self,
        dir: Resource<Root>,
        path: String,
        data: wit::Content,
        fsync: bool,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::Timed> {
        let content = Content::from(data);
        let t = self
            .fs_timed(&dir, into, move |root| {
                ops::append(root, &path, &content, fsync)
            })
            .await?;
        Ok(timed_bytes(t))
    }

    async fn read(
        &mut self,
        dir: Resource<Root>,
        path: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::ReadResult> {
        let t = self
            .fs_timed(&dir, into, move |root| ops::read(root, &path))
            .await?;
        Ok(wit::ReadResult {
            data: t.value,
            latency_ns: t.ns,
        })
    }

    async fn fsync(
        &mut self,
        dir: Resource<Root>,
        path: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<u64> {
        let t = self
            .fs_timed(&dir, into, move |root| ops::fsync(root, &path))
            .await?;
        Ok(t.ns)
    }

    async fn rename(
        &mut self,
        dir: Resource<Root>,
        from: String,
        to: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<u64> {
        let t = self
            .fs_timed(&dir, into, move |root| ops::rename(root, &from, &to))
            .await?;
        Ok(t.ns)
    }

    async fn delete(
        &mut self,
        dir: Resource<Root>,
        path: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<u64> {
        let t = self
            .fs_timed(&dir, into, move |root| ops::delete(root, &path))
            .await?;
        Ok(t.ns)
    }

    async fn list(&mut self, dir: Resource<Root>, path: String) -> BindingResult<wit::Listing> {
        let t = self
            .fs_timed(&dir, None, move |root| ops::list(root, &path))
            .await?;
        Ok(wit::Listing {
            entries: t
                .value
                .entries
                .into_iter()
                .map(|e| wit::Entry {
                    name: e.name,
                    kind: match e.kind {
                        EntryKind::File => wit::EntryKind::File,
                        EntryKind::Directory => wit::EntryKind::Directory,
                        EntryKind::Symlink => wit::EntryKind::Symlink,
                        EntryKind::Other => wit::EntryKind::Other,
                    },
                    size: e.size,
                })
                .collect(),
            omitted: t.value.omitted,
        })
    }

    async fn mkdir(&mut self, dir: Resource<Root>, path: String) -> BindingResult<()> {
        let root = self.fs_root(&dir)?;
        Ok(blocking(move || ops::mkdir(&root, &path)).await?)
    }

    async fn symlink(
        &mut self,
        dir: Resource<Root>,
        target: String,
        link: String,
    ) -> BindingResult<()> {
        let root = self.fs_root(&dir)?;
        Ok(blocking(move || ops::symlink(&root, &target, &link)).await?)
    }

    async fn dump(
        &mut self,
        dir: Resource<Root>,
        path: String,
        records: wit::RecordSet,
        format: wit::DumpFormat,
        fsync: bool,
        into: Option<Resource<HistogramHandle>>,
    ) -> BindingResult<wit::Timed> {
        let set = RecordSet {
            columns: records.columns,
            rows: records.rows,
        };
        let format = match format {
            wit::DumpFormat::Json => dump::Format::Json,
            wit::DumpFormat::Csv => dump::Format::Csv,
            wit::DumpFormat::Text => dump::Format::Text,
        };
        let t = self
            .fs_timed(&dir, into, move |root| {
                let bytes = dump::render(&set, format)?;
                ops::write(root, &path, &Content::Bytes(bytes), fsync)
            })
            .await?;
        Ok(timed_bytes(t))
    }

    async fn run_io_load(
        &mut self,
        dir: Resource<Root>,
        spec: wit::IoLoadSpec,
    ) -> BindingResult<wit::IoLoadReport> {
        let root = self.fs_root(&dir)?;
        let native = self.shard.share_of(spec_from_wit(&spec)?)?;
        // Held until the load is over.
        let _budget = load::reserve(&native, self.budget)?;
        let report = load::run(root, native).await.map_err(ProbeError::from)?;
        let name = &spec.name;
        let record =
            |rec: &mut crate::metrics::Recorder| -> Result<(), crate::metrics::MetricError> {
                for (suffix, dist) in [
                    ("read", &report.read),
                    ("write", &report.write),
                    ("fsync", &report.fsync),
                ] {
                    if !dist.is_empty() {
                        let h = rec.histogram(&format!("{name}.{suffix}"), Unit::Nanoseconds)?;
                        rec.merge(h, dist);
                    }
                }
                rec.gauge(
                    &format!("{name}.ops-per-s"),
                    report.ops_per_second(),
                    Unit::OpsPerSecond,
                )?;
                rec.gauge(
                    &format!("{name}.read-bytes-per-s"),
                    report.read_bytes_per_second(),
                    Unit::Bytes,
                )?;
                rec.gauge(
                    &format!("{name}.write-bytes-per-s"),
                    report.write_bytes_per_second(),
                    Unit::Bytes,
                )?;
                rec.counter_add(&format!("{name}.errors"), report.errors)?;
                rec.set_direction(&format!("{name}.errors"), Direction::LowerIsBetter);
                rec.set_direction(
                    &format!("{name}.read-bytes-per-s"),
                    Direction::HigherIsBetter,
                );
                rec.set_direction(
                    &format!("{name}.write-bytes-per-s"),
                    Direction::HigherIsBetter,
                );
                Ok(())
            };
        self.recorder
            .with(record)
            .map_err(|e| ProbeError::Invalid(format!("io-load `{name}`: {e}")))?;
        Ok(wit::IoLoadReport {
            reads: report.reads,
            writes: report.writes,
            bytes_read: report.bytes_read,
            bytes_written: report.bytes_written,
            elapsed_ns: u64::try_from(report.elapsed.as_nanos()).unwrap_or(u64::MAX),
            ops_per_second: report.ops_per_second(),
            read_bytes_per_second: report.read_bytes_per_second(),
            write_bytes_per_second: report.write_bytes_per_second(),
            read: report.read.summary().into(),
            write: report.write.summary().into(),
            fsync: report.fsync.summary().into(),
            errors: report.errors,
            first_error: report.first_error,
        })
    }

    async fn drop(&mut self, dir: Resource<Root>) -> wasmtime::Result<()> {
        self.table.delete(dir)?;
        self.fs_release_root();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::HostState;
    use crate::policy::{Grants, Policy};
    use crate::probes::fs::{DirGrant, DirMode, FsCtx};
    use crate::probes::{BindingError, Capabilities};
    use wit::HostDir as _;

    fn state(grants: Grants, base: &std::path::Path) -> HostState {
        let mut caps = Capabilities::deny_all("f");
        caps.fs = FsCtx {
            scratch: Arc::new(super::super::Scratch::new("f", base, false)),
            policy: Policy::new("f", grants),
            open_roots: Arc::default(),
        };
        HostState::new(64 << 20, caps)
    }

    use std::sync::Arc;

    #[tokio::test]
    async fn a_root_the_guest_does_not_hold_traps() {
        let base = tempfile::tempdir().unwrap();
        let mut host = state(Grants::default(), base.path());
        let mut s = host.fs_view();
        let r = s.mkdir(Resource::new_borrow(41), "d".into()).await;
        assert!(matches!(r, Err(BindingError::Trap(_))), "{r:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grants_timed_writes_and_loads_reach_the_report() {
        let base = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let grants = Grants {
            dirs: vec![DirGrant {
                name: "data".into(),
                path: data.path().to_owned(),
                mode: DirMode::ReadOnly,
            }],
            ..Default::default()
        };
        let mut host = state(grants, base.path());
        let mut s = host.fs_view();
        match s.open("other".into()).await {
            Err(BindingError::Probe(ProbeError::Denied(m))) => {
                assert!(m.contains(r#"dirs = [{ name = "other""#), "{m}")
            }
            other => panic!("{other:?}"),
        }
        let ro = s.open("data".into()).await.unwrap();
        assert!(!s.writable(Resource::new_borrow(ro.rep())).await.unwrap());

        let dir = s.scratch().await.unwrap();
        // Roots are bounded: 2 held, the rest up to the limit, then `invalid`.
        let mut held = Vec::new();
        for _ in 2..MAX_OPEN_ROOTS {
            held.push(s.scratch().await.unwrap());
        }
        assert!(matches!(
            s.scratch().await,
            Err(BindingError::Probe(ProbeError::Invalid(_)))
        ));
        for r in held {
            s.drop(r).await.unwrap();
        }
        let h = s.recorder.histogram("w", Unit::Nanoseconds).unwrap();
        let hr = s.table.push(h).unwrap();
        for _ in 0..3 {
            let t = s
                .write(
                    Resource::new_borrow(dir.rep()),
                    "a".into(),
                    wit::Content::Fill(1024),
                    false,
                    Some(Resource::new_borrow(hr.rep())),
                )
                .await
                .unwrap();
            assert_eq!(t.bytes, 1024);
        }
        s.recorder.with(|r| match &r.get("w").unwrap().data {
            crate::metrics::MetricData::Histogram(d) => assert_eq!(d.len(), 3),
            other => panic!("{other:?}"),
        });
        let missing = s
            .read(Resource::new_borrow(dir.rep()), "nope".into(), None)
            .await;
        assert!(
            matches!(missing, Err(BindingError::Probe(ProbeError::Io(ref m))) if m.starts_with("not found")),
            "{missing:?}"
        );

        let report = s
            .run_io_load(
                Resource::new_borrow(dir.rep()),
                wit::IoLoadSpec {
                    name: "l".into(),
                    workers: 2,
                    files_per_worker: 1,
                    file_size: 64 * 1024,
                    block_size: 4096,
                    read_percent: 50,
                    fsync: wit::FsyncPolicy::Never,
                    random: true,
                    stop: wit::IoStop::Ops(200),
                },
            )
            .await
            .unwrap();
        assert_eq!(report.reads + report.writes, 200);
        for m in [
            "l.read",
            "l.write",
            "l.ops-per-s",
            "l.read-bytes-per-s",
            "l.errors",
        ] {
            assert!(s.recorder.with(|r| r.get(m).is_some()), "{m} missing");
        }
        let bad = s
            .run_io_load(
                Resource::new_borrow(dir.rep()),
                wit::IoLoadSpec {
                    name: "a/b".into(),
                    workers: 1,
                    files_per_worker: 1,
                    file_size: 4096,
                    block_size: 4096,
                    read_percent: 0,
                    fsync: wit::FsyncPolicy::Never,
                    random: false,
                    stop: wit::IoStop::Ops(1),
                },
            )
            .await;
        assert!(matches!(
            bad,
            Err(BindingError::Probe(ProbeError::Invalid(_)))
        ));
    }
}
