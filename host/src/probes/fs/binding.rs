//! The WIT `fs` interface over the native probe: grants are checked when a
//! root is opened, every blocking call runs on tokio's blocking pool, and
//! timed calls record into the guest's histograms.

use wasmtime::component::Resource;

use super::dump::{self, RecordSet};
use super::load::{self, FsyncPolicy, IoLoadSpec, Stop};
use super::ops::{self, Content, EntryKind};
use super::{FsError, MAX_OPEN_ROOTS, Root};
use crate::bindings::fs as wit;
use crate::bindings::types::ProbeError as WitProbeError;
use crate::engine::HostState;
use crate::metrics::{HistogramHandle, Unit};
use crate::probes::ProbeError;
use std::sync::atomic::Ordering;

type Answer<T> = wasmtime::Result<Result<T, WitProbeError>>;

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

impl HostState {
    /// Counts a root the guest is about to hold; `invalid` past the bound.
    fn fs_claim_root(&self) -> Result<(), ProbeError> {
        let open = &self.probes.fs.open_roots;
        if open.fetch_add(1, Ordering::Relaxed) >= MAX_OPEN_ROOTS {
            open.fetch_sub(1, Ordering::Relaxed);
            return Err(ProbeError::Invalid(format!(
                "a scenario may hold at most {MAX_OPEN_ROOTS} open directories; drop the ones it no longer uses"
            )));
        }
        Ok(())
    }

    fn fs_release_root(&self) {
        self.probes.fs.open_roots.fetch_sub(1, Ordering::Relaxed);
    }

    fn fs_root(&self, dir: &Resource<Root>) -> wasmtime::Result<Root> {
        Ok(self.table.get(dir)?.clone())
    }

    fn fs_histogram(
        &self,
        into: &Option<Resource<HistogramHandle>>,
    ) -> wasmtime::Result<Option<HistogramHandle>> {
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
    ) -> wasmtime::Result<Result<ops::Timed<T>, ProbeError>> {
        let root = self.fs_root(dir)?;
        let histogram = self.fs_histogram(&into)?;
        let result = blocking(move || op(&root)).await;
        if let (Ok(t), Some(h)) = (&result, histogram) {
            self.recorder.record(h, t.ns);
        }
        Ok(result)
    }
}

fn timed_bytes(r: Result<ops::Timed<u64>, ProbeError>) -> Result<wit::Timed, WitProbeError> {
    r.map(|t| wit::Timed {
        bytes: t.value,
        latency_ns: t.ns,
    })
    .map_err(Into::into)
}

fn timed_ns<T>(r: Result<ops::Timed<T>, ProbeError>) -> Result<u64, WitProbeError> {
    r.map(|t| t.ns).map_err(Into::into)
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

impl wit::Host for HostState {}

impl wit::HostDir for HostState {
    async fn scratch(&mut self) -> Answer<Resource<Root>> {
        if let Err(e) = self.fs_claim_root() {
            return Ok(Err(e.into()));
        }
        let scratch = self.probes.fs.scratch.clone();
        let first = scratch.created().is_none();
        let root = match blocking(move || Root::scratch(&scratch)).await {
            Ok(r) => r,
            Err(e) => {
                self.fs_release_root();
                return Ok(Err(e.into()));
            }
        };
        if first && self.probes.fs.scratch.keep() {
            self.report.log(
                crate::report::model::LogLevel::Info,
                format!(
                    "scratch directory kept (--keep-scratch): {}",
                    root.host_path.display()
                ),
            );
        }
        Ok(Ok(self.table.push(root)?))
    }

    async fn open(&mut self, name: String) -> Answer<Resource<Root>> {
        let grant = match self.probes.fs.policy.check_dir(&name) {
            Ok(g) => g.clone(),
            Err(denied) => return Ok(Err(ProbeError::from(denied).into())),
        };
        if let Err(e) = self.fs_claim_root() {
            return Ok(Err(e.into()));
        }
        match blocking(move || Root::open(&grant.name, &grant.path, grant.mode)).await {
            Ok(root) => Ok(Ok(self.table.push(root)?)),
            Err(e) => {
                self.fs_release_root();
                Ok(Err(e.into()))
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
    ) -> Answer<wit::Timed> {
        let content = Content::from(data);
        let r = self
            .fs_timed(&dir, into, move |root| {
                ops::write(root, &path, &content, fsync)
            })
            .await?;
        Ok(timed_bytes(r))
    }

    async fn append(
        &mut self,
        dir: Resource<Root>,
        path: String,
        data: wit::Content,
        fsync: bool,
        into: Option<Resource<HistogramHandle>>,
    ) -> Answer<wit::Timed> {
        let content = Content::from(data);
        let r = self
            .fs_timed(&dir, into, move |root| {
                ops::append(root, &path, &content, fsync)
            })
            .await?;
        Ok(timed_bytes(r))
    }

    async fn read(
        &mut self,
        dir: Resource<Root>,
        path: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> Answer<wit::ReadResult> {
        let r = self
            .fs_timed(&dir, into, move |root| ops::read(root, &path))
            .await?;
        Ok(r.map(|t| wit::ReadResult {
            data: t.value,
            latency_ns: t.ns,
        })
        .map_err(Into::into))
    }

    async fn fsync(
        &mut self,
        dir: Resource<Root>,
        path: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> Answer<u64> {
        let r = self
            .fs_timed(&dir, into, move |root| ops::fsync(root, &path))
            .await?;
        Ok(timed_ns(r))
    }

    async fn rename(
        &mut self,
        dir: Resource<Root>,
        from: String,
        to: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> Answer<u64> {
        let r = self
            .fs_timed(&dir, into, move |root| ops::rename(root, &from, &to))
            .await?;
        Ok(timed_ns(r))
    }

    async fn delete(
        &mut self,
        dir: Resource<Root>,
        path: String,
        into: Option<Resource<HistogramHandle>>,
    ) -> Answer<u64> {
        let r = self
            .fs_timed(&dir, into, move |root| ops::delete(root, &path))
            .await?;
        Ok(timed_ns(r))
    }

    async fn list(&mut self, dir: Resource<Root>, path: String) -> Answer<wit::Listing> {
        let r = self
            .fs_timed(&dir, None, move |root| ops::list(root, &path))
            .await?;
        Ok(r.map(|t| wit::Listing {
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
        .map_err(Into::into))
    }

    async fn mkdir(&mut self, dir: Resource<Root>, path: String) -> Answer<()> {
        let root = self.fs_root(&dir)?;
        Ok(blocking(move || ops::mkdir(&root, &path))
            .await
            .map_err(Into::into))
    }

    async fn symlink(&mut self, dir: Resource<Root>, target: String, link: String) -> Answer<()> {
        let root = self.fs_root(&dir)?;
        Ok(blocking(move || ops::symlink(&root, &target, &link))
            .await
            .map_err(Into::into))
    }

    async fn dump(
        &mut self,
        dir: Resource<Root>,
        path: String,
        records: wit::RecordSet,
        format: wit::DumpFormat,
        fsync: bool,
        into: Option<Resource<HistogramHandle>>,
    ) -> Answer<wit::Timed> {
        let set = RecordSet {
            columns: records.columns,
            rows: records.rows,
        };
        let format = match format {
            wit::DumpFormat::Json => dump::Format::Json,
            wit::DumpFormat::Csv => dump::Format::Csv,
            wit::DumpFormat::Text => dump::Format::Text,
        };
        let r = self
            .fs_timed(&dir, into, move |root| {
                let bytes = dump::render(&set, format)?;
                ops::write(root, &path, &Content::Bytes(bytes), fsync)
            })
            .await?;
        Ok(timed_bytes(r))
    }

    async fn run_io_load(
        &mut self,
        dir: Resource<Root>,
        spec: wit::IoLoadSpec,
    ) -> Answer<wit::IoLoadReport> {
        let root = self.fs_root(&dir)?;
        let native = match spec_from_wit(&spec) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.into())),
        };
        // Held until the load is over.
        let _budget = match load::reserve(&native, &self.probes.budget) {
            Ok(held) => held,
            Err(e) => return Ok(Err(e.into())),
        };
        let report = match load::run(root, native).await {
            Ok(r) => r,
            Err(e) => return Ok(Err(ProbeError::from(e).into())),
        };
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
                Ok(())
            };
        if let Err(e) = record(&mut self.recorder) {
            return Ok(Err(
                ProbeError::Invalid(format!("io-load `{name}`: {e}")).into()
            ));
        }
        Ok(Ok(wit::IoLoadReport {
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
        }))
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
    use crate::policy::{Grants, Policy};
    use crate::probes::Capabilities;
    use crate::probes::fs::{DirGrant, DirMode, FsCtx};
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
        let mut s = state(grants, base.path());
        match s.open("other".into()).await.unwrap() {
            Err(WitProbeError::Denied(m)) => {
                assert!(m.contains(r#"dirs = [{ name = "other""#), "{m}")
            }
            other => panic!("{other:?}"),
        }
        let ro = s.open("data".into()).await.unwrap().unwrap();
        assert!(!s.writable(Resource::new_borrow(ro.rep())).await.unwrap());

        let dir = s.scratch().await.unwrap().unwrap();
        // Roots are bounded: 2 held, the rest up to the limit, then `invalid`.
        let mut held = Vec::new();
        for _ in 2..MAX_OPEN_ROOTS {
            held.push(s.scratch().await.unwrap().unwrap());
        }
        assert!(matches!(
            s.scratch().await.unwrap(),
            Err(WitProbeError::Invalid(_))
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
                .unwrap()
                .unwrap();
            assert_eq!(t.bytes, 1024);
        }
        match &s.recorder.get("w").unwrap().data {
            crate::metrics::MetricData::Histogram(d) => assert_eq!(d.len(), 3),
            other => panic!("{other:?}"),
        }
        let missing = s
            .read(Resource::new_borrow(dir.rep()), "nope".into(), None)
            .await
            .unwrap();
        assert!(
            matches!(missing, Err(WitProbeError::Io(ref m)) if m.starts_with("not found")),
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
            .unwrap()
            .unwrap();
        assert_eq!(report.reads + report.writes, 200);
        for m in [
            "l.read",
            "l.write",
            "l.ops-per-s",
            "l.read-bytes-per-s",
            "l.errors",
        ] {
            assert!(s.recorder.get(m).is_some(), "{m} missing");
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
            .await
            .unwrap();
        assert!(matches!(bad, Err(WitProbeError::Invalid(_))));
    }
}
