//! The WIT `memory` interface: resolves a target to a pid under the
//! scenario's grants, samples it, runs watchers and turns a verdict into
//! report metrics, a series and the guest's answer.

use std::collections::BTreeMap;
use std::time::Duration;

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::stats::Fit;
use super::watcher::{Criteria, Measure, Point, Watcher};
use super::{MAX_WATCHERS, MemoryCtx, WatcherHandle, sample};
use crate::bindings::memory as wit;
use crate::metrics::{Direction, SharedRecorder, Unit};
use crate::probes::children::ChildPids;
use crate::probes::redis::{CONNECT_TIMEOUT, Client, RedisUrl};
use crate::probes::{BindingResult, ProbeError};
use crate::report::shared::SharedReport;

/// Longest watcher name accepted (it prefixes metric names).
pub const MAX_WATCHER_NAME: usize = 100;

/// What the `memory` binding may touch: its grants and watcher count, the
/// guest's handles, where verdicts are recorded and plotted; and, read-only,
/// which pids are the scenario's children and where each Redis target lives
/// (to find the server behind `target::redis`; the grant is checked with the
/// scenario's own grants in `memory.policy`).
pub struct MemoryView<'a> {
    pub(crate) memory: &'a MemoryCtx,
    pub(crate) children: &'a ChildPids,
    pub(crate) redis_targets: &'a BTreeMap<String, RedisUrl>,
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) recorder: &'a SharedRecorder,
    pub(crate) report: &'a SharedReport,
}

/// Links `memory` to a `MemoryView` of the store's state.
pub struct MemoryBinding;

impl HasData for MemoryBinding {
    type Data<'a> = MemoryView<'a>;
}

impl From<sample::SampleError> for ProbeError {
    fn from(e: sample::SampleError) -> Self {
        ProbeError::Io(e.to_string())
    }
}

fn fit_to_wit(f: Fit) -> wit::Fit {
    wit::Fit {
        slope: f.slope,
        intercept: f.intercept,
        ci_low: f.ci_low,
        ci_high: f.ci_high,
        r_squared: f.r_squared,
    }
}

fn point_to_wit(p: Point) -> wit::Point {
    wit::Point {
        t_ns: p.t_ns,
        ops: p.ops,
        bytes: p.bytes,
    }
}

/// The pid a Redis server reports in `INFO server`.
fn redis_pid(info: &[u8]) -> Option<u32> {
    std::str::from_utf8(info)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
}

impl MemoryView<'_> {
    /// The pid of `target`, if the scenario may watch it.
    async fn memory_pid(&mut self, target: &wit::Target) -> Result<u32, ProbeError> {
        match target {
            wit::Target::Host => Ok(std::process::id()),
            wit::Target::Child(pid) => {
                if self.children.contains(*pid) {
                    Ok(*pid)
                } else {
                    Err(ProbeError::Denied(format!(
                        "pid {pid} is not a live child of this scenario: start it with the process probe, or use `pid` with a catalog grant `pids = [{pid}]`"
                    )))
                }
            }
            wit::Target::Pid(pid) => {
                self.memory.policy.check_pid(*pid)?;
                Ok(*pid)
            }
            wit::Target::Redis(name) => {
                self.memory.policy.check_redis(name)?;
                let Some(url) = self.redis_targets.get(name).cloned() else {
                    return Err(ProbeError::Connection(format!(
                        "redis target `{name}` is granted but has no address"
                    )));
                };
                let mut client = Client::connect(&url, CONNECT_TIMEOUT)
                    .await
                    .map_err(|e| ProbeError::Connection(format!("redis target `{name}`: {e}")))?;
                let reply = client
                    .request(&[b"INFO", b"server"])
                    .await
                    .map_err(|e| ProbeError::Connection(format!("redis target `{name}`: {e}")))?;
                let pid = match reply {
                    crate::probes::redis::resp::Reply::Bulk(b) => redis_pid(&b),
                    _ => None,
                }
                .ok_or_else(|| {
                    ProbeError::Server(format!(
                        "redis target `{name}` did not report `process_id` in INFO server"
                    ))
                })?;
                // The pid is only meaningful if the server runs here.
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if !comm.contains("redis") {
                    return Err(ProbeError::Invalid(format!(
                        "redis target `{name}` reports pid {pid}, which is not a redis process on this machine; memory can only be sampled for a local server"
                    )));
                }
                Ok(pid)
            }
        }
    }
}

impl wit::Host for MemoryView<'_> {
    async fn sample(&mut self, target: wit::Target) -> BindingResult<wit::Usage> {
        let pid = self.memory_pid(&target).await?;
        let u = sample::usage(pid).map_err(ProbeError::from)?;
        Ok(wit::Usage {
            pid,
            rss: u.rss,
            pss: u.pss,
            uss: u.uss,
            swap: u.swap,
        })
    }
}

impl wit::HostWatcher for MemoryView<'_> {
    async fn start(
        &mut self,
        name: String,
        target: wit::Target,
        measure: wit::Measure,
        interval_ns: Option<u64>,
    ) -> BindingResult<Resource<WatcherHandle>> {
        if name.is_empty() || name.len() > MAX_WATCHER_NAME {
            return Err(ProbeError::Invalid(format!(
                "watcher name must be 1..={MAX_WATCHER_NAME} bytes, got {}",
                name.len()
            ))
            .into());
        }
        if self.memory.watchers() >= MAX_WATCHERS {
            return Err(ProbeError::Invalid(format!(
                "a scenario may hold at most {MAX_WATCHERS} memory watchers at once"
            ))
            .into());
        }
        let pid = self.memory_pid(&target).await?;
        let measure = match measure {
            wit::Measure::Rss => Measure::Rss,
            wit::Measure::Pss => Measure::Pss,
            wit::Measure::Uss => Measure::Uss,
        };
        let interval = interval_ns.map(Duration::from_nanos);
        match Watcher::start(pid, measure, interval) {
            Ok(watcher) => {
                self.memory.watcher_opened();
                Ok(self.table.push(WatcherHandle { name, watcher })?)
            }
            Err(e) => Err(ProbeError::from(e).into()),
        }
    }

    async fn ops_done(&mut self, w: Resource<WatcherHandle>, k: u64) -> BindingResult<wit::Point> {
        let handle = self.table.get(&w)?;
        let point = handle.watcher.ops_done(k).map_err(ProbeError::from)?;
        Ok(point_to_wit(point))
    }

    async fn series(&mut self, w: Resource<WatcherHandle>) -> wasmtime::Result<Vec<wit::Point>> {
        let handle = self.table.get(&w)?;
        Ok(handle
            .watcher
            .points()
            .into_iter()
            .map(point_to_wit)
            .collect())
    }

    async fn verdict(
        &mut self,
        w: Resource<WatcherHandle>,
        criteria: wit::Criteria,
    ) -> BindingResult<wit::Verdict> {
        let alpha = criteria.alpha.unwrap_or(0.05);
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(ProbeError::Invalid(format!(
                "criteria.alpha is {alpha}; use a value between 0 and 1 (0.05 is usual)"
            ))
            .into());
        }
        let criteria = Criteria {
            max_bytes_per_op: criteria.max_bytes_per_op,
            max_bytes_per_second: criteria.max_bytes_per_second,
            alpha,
        };
        let handle = self.table.get(&w)?;
        let name = handle.name.clone();
        let measure = handle.watcher.measure;
        let points = handle.watcher.points();
        let started_secs_ago = handle.watcher.age().as_secs_f64();
        let v = super::watcher::verdict(&points, &criteria);

        // The series, on the scenario's clock, for plots.
        let offset = self.report.elapsed_secs() - started_secs_ago;
        let series_name = format!("{name}.{}-bytes", measure.as_str());
        for p in &points {
            self.report.series_point_at(
                &series_name,
                Unit::Bytes,
                offset + p.t_ns as f64 / 1e9,
                p.bytes as f64,
            );
        }
        let mut gauges: Vec<(String, f64, Unit)> = vec![
            (
                format!("{name}.baseline-bytes"),
                v.baseline_bytes as f64,
                Unit::Bytes,
            ),
            (
                format!("{name}.final-bytes"),
                v.final_bytes as f64,
                Unit::Bytes,
            ),
            (
                format!("{name}.growth-bytes"),
                v.final_bytes as f64 - v.baseline_bytes as f64,
                Unit::Bytes,
            ),
            (format!("{name}.mann-kendall-p"), v.mk_p, Unit::Ratio),
            (format!("{name}.samples"), v.samples as f64, Unit::Count),
            (
                format!("{name}.leak"),
                f64::from(u8::from(v.leak)),
                Unit::None,
            ),
        ];
        if let Some(f) = v.per_op {
            gauges.push((format!("{name}.slope-bytes-per-op"), f.slope, Unit::Bytes));
            gauges.push((
                format!("{name}.slope-bytes-per-op-ci-low"),
                f.ci_low,
                Unit::Bytes,
            ));
            gauges.push((format!("{name}.r-squared"), f.r_squared, Unit::Ratio));
        }
        if let Some(f) = v.per_second {
            gauges.push((format!("{name}.slope-bytes-per-s"), f.slope, Unit::Bytes));
            if v.per_op.is_none() {
                gauges.push((format!("{name}.r-squared"), f.r_squared, Unit::Ratio));
            }
        }
        for (metric, value, unit) in gauges {
            self.recorder
                .gauge(&metric, value, unit)
                .map_err(|e| ProbeError::Invalid(format!("memory verdict: {e}")))?;
        }
        let recorder = self.recorder;
        recorder.set_significance_level(&format!("{name}.mann-kendall-p"), alpha);
        recorder.set_direction(&format!("{name}.r-squared"), Direction::Informational);
        recorder.set_direction(&format!("{name}.leak"), Direction::LowerIsBetter);
        Ok(wit::Verdict {
            samples: u32::try_from(v.samples).unwrap_or(u32::MAX),
            conclusive: v.conclusive,
            leak: v.leak,
            baseline_bytes: v.baseline_bytes,
            final_bytes: v.final_bytes,
            per_op: v.per_op.map(fit_to_wit),
            per_second: v.per_second.map(fit_to_wit),
            mann_kendall_s: v.mk_s,
            mann_kendall_p: v.mk_p,
            summary: v.summary,
        })
    }

    async fn stop(&mut self, w: Resource<WatcherHandle>) -> wasmtime::Result<()> {
        self.table.get_mut(&w)?.watcher.stop();
        Ok(())
    }

    async fn drop(&mut self, w: Resource<WatcherHandle>) -> wasmtime::Result<()> {
        self.table.delete(w)?;
        self.memory.watcher_closed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::engine::HostState;
    use crate::policy::{Grants, Policy};
    use crate::probes::redis::{RedisCtx, RedisUrl};
    use crate::probes::{BindingError, Capabilities};
    use crate::services::redis_server::ManagedRedis;
    use wit::{Host as _, HostWatcher as _};

    fn state(grants: Grants, targets: BTreeMap<String, RedisUrl>) -> HostState {
        let mut caps = Capabilities::deny_all("m");
        caps.memory = super::super::MemoryCtx::new(Policy::new("m", grants.clone()));
        caps.redis = RedisCtx {
            targets: Arc::new(targets),
            policy: Policy::new("m", grants),
            pools: Default::default(),
        };
        HostState::new(64 << 20, caps)
    }

    fn denied<T: std::fmt::Debug>(r: BindingResult<T>) -> String {
        match r {
            Err(BindingError::Probe(ProbeError::Denied(m))) => m,
            other => panic!("expected denied, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn targets_need_their_grant() {
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = sleeper.id();
        let mut host = state(Grants::default(), BTreeMap::new());
        let mut s = host.memory_view();
        let own = s.sample(wit::Target::Host).await.unwrap();
        assert_eq!(own.pid, std::process::id());
        assert!(own.rss > 0 && own.pss.is_some());

        let m = denied(s.sample(wit::Target::Child(pid)).await);
        assert!(m.contains("not a live child"), "{m}");
        s.children.insert(pid);
        assert_eq!(s.sample(wit::Target::Child(pid)).await.unwrap().pid, pid);

        let m = denied(s.sample(wit::Target::Pid(pid)).await);
        assert!(m.contains(&format!("pids = [{pid}]")), "{m}");
        let mut granted_host = state(
            Grants {
                pids: [pid].into(),
                ..Default::default()
            },
            BTreeMap::new(),
        );
        let mut granted = granted_host.memory_view();
        assert!(granted.sample(wit::Target::Pid(pid)).await.is_ok());
        let m = denied(granted.sample(wit::Target::Redis("default".into())).await);
        assert!(m.contains("redis = [\"default\"]"), "{m}");
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        let gone = granted.sample(wit::Target::Pid(pid)).await;
        assert!(
            matches!(gone, Err(BindingError::Probe(ProbeError::Io(ref m))) if m.contains("does not exist")),
            "{gone:?}"
        );
    }

    #[tokio::test]
    async fn a_local_redis_target_is_sampled_by_its_server_pid() {
        let redis = ManagedRedis::start().expect("redis-server must be installed for the tests");
        let targets = [("default".to_owned(), RedisUrl::parse(&redis.url()).unwrap())].into();
        let mut host = state(
            Grants {
                redis: ["default".to_owned()].into(),
                ..Default::default()
            },
            targets,
        );
        let mut s = host.memory_view();
        let usage = s
            .sample(wit::Target::Redis("default".into()))
            .await
            .unwrap();
        assert_eq!(usage.pid, redis.pid());
        assert!(usage.rss > 0);
    }

    #[tokio::test]
    async fn a_verdict_records_gauges_and_the_series() {
        let mut host = state(Grants::default(), BTreeMap::new());
        let mut s = host.memory_view();
        let w = s
            .start("host".into(), wit::Target::Host, wit::Measure::Rss, None)
            .await
            .unwrap();
        let mut kept = Vec::new();
        for _ in 0..6 {
            // 16 MiB touched and kept per step: a leak the verdict must see
            // over whatever the tests running beside it allocate.
            kept.push(vec![1u8; 16 << 20]);
            s.ops_done(Resource::new_borrow(w.rep()), 1000)
                .await
                .unwrap();
        }
        let v = s
            .verdict(
                Resource::new_borrow(w.rep()),
                wit::Criteria {
                    max_bytes_per_op: Some(1024.0),
                    max_bytes_per_second: None,
                    alpha: None,
                },
            )
            .await
            .unwrap();
        drop(kept);
        assert_eq!(v.samples, 7);
        assert!(v.leak, "{}", v.summary);
        for g in [
            "host.slope-bytes-per-op",
            "host.mann-kendall-p",
            "host.leak",
            "host.samples",
        ] {
            assert!(s.recorder.with(|r| r.get(g).is_some()), "{g} missing");
        }
        assert_eq!(
            s.report.with(|r| r.series["host.rss-bytes"].points.len()),
            7
        );
        let bad = s
            .verdict(
                Resource::new_borrow(w.rep()),
                wit::Criteria {
                    max_bytes_per_op: None,
                    max_bytes_per_second: None,
                    alpha: Some(1.5),
                },
            )
            .await;
        assert!(matches!(
            bad,
            Err(BindingError::Probe(ProbeError::Invalid(_)))
        ));
    }

    #[test]
    fn redis_pid_is_read_from_info() {
        let info = b"# Server\r\nredis_version:7.0.15\r\nprocess_id:4242\r\ntcp_port:6379\r\n";
        assert_eq!(redis_pid(info), Some(4242));
        assert_eq!(redis_pid(b"# Server\r\n"), None);
    }
}
