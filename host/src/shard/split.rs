//! A shard's part of the work, k6 execution-segment style: every whole
//! number (workers, connections, operations, VUs, iterations, arrival
//! rates) is cut with [`ShardSpec::share`], so the parts of all shards sum
//! to what one unsharded run does; what is per worker or per VU (operations
//! per worker, messages per connection) stays as it is, and so do
//! durations, so the shards run side by side over the same span.

use std::time::Duration;

use super::ShardSpec;
use crate::vu::config::{ExecutorConfig, ExecutorKind, TargetStage};

/// A load that cannot be cut into this many shards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} is {total}, too few to split across {count} shards (shard {number} would get none); run fewer shards, raise it to at least {count}, or set `shard = \"whole\"` or `\"one\"` for this scenario in the catalog"
)]
pub struct ShareError {
    pub what: &'static str,
    pub total: u64,
    pub number: u32,
    pub count: u32,
}

/// A native load's spec that a shard can take its part of.
pub trait Splittable: Sized {
    /// This shard's part; an error when a count that must be at least one
    /// would be zero on this shard.
    fn split(self, shard: ShardSpec) -> Result<Self, ShareError>;
    /// Makes the load's random choices start from `seed`.
    fn reseed(&mut self, _seed: u64) {}
}

/// `shard`'s part of `total`, refusing zero.
fn at_least_one(shard: ShardSpec, what: &'static str, total: u64) -> Result<u64, ShareError> {
    match shard.share(total) {
        0 => Err(ShareError {
            what,
            total,
            number: shard.number(),
            count: shard.count(),
        }),
        n => Ok(n),
    }
}

/// An open-model rate over a fixed duration: the arrivals `round(d·rate)`
/// are cut into whole parts and each shard paced at `part / d`, so the
/// shards' arrivals sum to the unsharded run's exactly.
fn rate_over(
    shard: ShardSpec,
    rate: f64,
    duration: Duration,
    round: fn(f64) -> f64,
) -> Result<(f64, u64), ShareError> {
    let total = round(rate * duration.as_secs_f64()).max(0.0) as u64;
    let part = at_least_one(shard, "the number of arrivals (rate × duration)", total)?;
    Ok((part as f64 / duration.as_secs_f64(), part))
}

impl Splittable for crate::probes::redis::load::LoadSpec {
    fn split(mut self, shard: ShardSpec) -> Result<Self, ShareError> {
        use crate::probes::redis::load::{Amount, Model};
        let workers = at_least_one(shard, "`workers`", u64::from(self.workers))? as u32;
        // This shard's workers are numbered as in the whole load, so each
        // draws the keys and commands its unsharded twin would.
        self.first_worker = shard.start(u64::from(self.workers)) as u32;
        self.all_workers = self.workers;
        if let Model::Open { rate } = self.model {
            let rate = match self.amount {
                // The schedule holds workers × n operations: a shard with
                // w of W workers holds w × n at w/W of the rate, over the
                // same span.
                Amount::OpsPerWorker(_) => rate * f64::from(workers) / f64::from(self.workers),
                Amount::Duration(d) => rate_over(shard, rate, d, f64::round)?.0,
            };
            self.model = Model::Open { rate };
        }
        self.workers = workers;
        Ok(self)
    }

    fn reseed(&mut self, seed: u64) {
        self.seed = seed;
    }
}

impl Splittable for crate::probes::http::load::LoadPlan {
    fn split(mut self, shard: ShardSpec) -> Result<Self, ShareError> {
        let workers = at_least_one(shard, "`workers`", u64::from(self.workers))? as u32;
        if self.connections > 0 {
            // HTTP/2 connections shared by the workers: at least one, never
            // more than the shard's workers.
            self.connections = shard.share_u32(self.connections).clamp(1, workers);
        }
        match (self.requests, self.rate, self.duration) {
            (Some(n), rate, _) => {
                let part = at_least_one(shard, "`requests`", n)?;
                // An open model paced over the same span as unsharded.
                self.rate = rate.map(|r| r * part as f64 / n as f64);
                self.requests = Some(part);
            }
            (None, Some(rate), Some(d)) => {
                // Requests are sent while `i / rate < d`: ⌈d·rate⌉ of them.
                let (rate, part) = rate_over(shard, rate, d, f64::ceil)?;
                self.rate = Some(rate);
                self.requests = Some(part);
            }
            _ => {}
        }
        self.workers = workers;
        Ok(self)
    }
}

impl Splittable for crate::probes::websocket::load::LoadPlan {
    /// Messages and rates are per connection: only connections are cut.
    fn split(mut self, shard: ShardSpec) -> Result<Self, ShareError> {
        self.connections =
            at_least_one(shard, "`connections`", u64::from(self.connections))? as u32;
        Ok(self)
    }
}

impl Splittable for crate::probes::fs::load::IoLoadSpec {
    fn split(mut self, shard: ShardSpec) -> Result<Self, ShareError> {
        use crate::probes::fs::load::Stop;
        self.workers = at_least_one(shard, "`workers`", u64::from(self.workers))? as u32;
        if let Stop::Ops(n) = self.stop {
            self.stop = Stop::Ops(at_least_one(shard, "the operations", n)?);
        }
        // Shards sharing a granted directory must not share files.
        self.dir = format!("{}-shard{}", self.dir, shard.number());
        Ok(self)
    }
}

/// This shard's part of a VU executor, or `None` when it gets no VUs and no
/// iterations (fewer VUs than shards: k6 leaves such segments idle too).
///
/// - `shared-iterations`: VUs and iterations cut; a shard never gets more
///   VUs than iterations (k6's rule), so the VUs may sum to less.
/// - `per-vu-iterations`, `constant-vus`: VUs cut, per-VU work unchanged.
/// - `ramping-vus`: the start and every stage target cut, so at every stage
///   boundary the shards' VUs sum to the unsharded target.
/// - arrival rates: the start rate and every stage target cut with one
///   shard index. Stages are linear, so the shards' rates sum to the
///   unsharded rate at every instant; when a rate is smaller than the shard
///   count, rate and time unit are first scaled by the same factor so no
///   shard's part is zero. Iteration counts sum exactly when each shard's
///   arrivals come out whole (duration a multiple of the time unit for a
///   constant rate). VU allocations are cut too, at least one per shard.
pub fn split_executor(config: &ExecutorConfig, shard: ShardSpec) -> Option<ExecutorConfig> {
    if !shard.is_sharded() {
        return Some(config.clone());
    }
    let vus = |n: u32| shard.share_u32(n);
    let kind = match &config.kind {
        ExecutorKind::SharedIterations {
            vus: v,
            iterations,
            max_duration,
        } => {
            let iterations = shard.share(*iterations);
            let v = (vus(*v) as u64).min(iterations) as u32;
            if v == 0 {
                return None;
            }
            ExecutorKind::SharedIterations {
                vus: v,
                iterations,
                max_duration: *max_duration,
            }
        }
        ExecutorKind::PerVuIterations {
            vus: v,
            iterations,
            max_duration,
        } => ExecutorKind::PerVuIterations {
            vus: nonzero(vus(*v))?,
            iterations: *iterations,
            max_duration: *max_duration,
        },
        ExecutorKind::ConstantVus { vus: v, duration } => ExecutorKind::ConstantVus {
            vus: nonzero(vus(*v))?,
            duration: *duration,
        },
        ExecutorKind::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down,
        } => {
            let start_vus = vus(*start_vus);
            let stages: Vec<TargetStage> = stages
                .iter()
                .map(|s| TargetStage {
                    duration: s.duration,
                    target: shard.share(s.target),
                })
                .collect();
            if start_vus == 0 && stages.iter().all(|s| s.target == 0) {
                return None;
            }
            ExecutorKind::RampingVus {
                start_vus,
                stages,
                graceful_ramp_down: *graceful_ramp_down,
            }
        }
        ExecutorKind::ConstantArrivalRate {
            rate,
            time_unit,
            duration,
            pre_allocated_vus,
            max_vus,
        } => {
            let k = rate_scale(*rate, shard);
            let (pre, max) = allocation(shard, *pre_allocated_vus, *max_vus);
            ExecutorKind::ConstantArrivalRate {
                rate: shard.share(rate.saturating_mul(k)),
                time_unit: time_unit.saturating_mul(k as u32),
                duration: *duration,
                pre_allocated_vus: pre,
                max_vus: max,
            }
        }
        ExecutorKind::RampingArrivalRate {
            start_rate,
            time_unit,
            stages,
            pre_allocated_vus,
            max_vus,
        } => {
            let highest = stages
                .iter()
                .map(|s| s.target)
                .chain([*start_rate])
                .max()
                .unwrap_or(0);
            let k = rate_scale(highest, shard);
            let (pre, max) = allocation(shard, *pre_allocated_vus, *max_vus);
            ExecutorKind::RampingArrivalRate {
                start_rate: shard.share(start_rate.saturating_mul(k)),
                time_unit: time_unit.saturating_mul(k as u32),
                stages: stages
                    .iter()
                    .map(|s| TargetStage {
                        duration: s.duration,
                        target: shard.share(s.target.saturating_mul(k)),
                    })
                    .collect(),
                pre_allocated_vus: pre,
                max_vus: max,
            }
        }
    };
    Some(ExecutorConfig {
        kind,
        graceful_stop: config.graceful_stop,
    })
}

fn nonzero(n: u32) -> Option<u32> {
    (n > 0).then_some(n)
}

/// The factor rate and time unit are scaled by so that `rate`, cut into
/// `shard.count()` parts, gives every shard at least one (1 when it does
/// already).
fn rate_scale(rate: u64, shard: ShardSpec) -> u64 {
    let n = u64::from(shard.count());
    if rate == 0 || rate >= n {
        1
    } else {
        n.div_ceil(rate)
    }
}

/// Pre-allocated and maximum VUs of an arrival-rate shard: cut, at least
/// one, the maximum never below the pre-allocated.
fn allocation(shard: ShardSpec, pre: u32, max: u32) -> (u32, u32) {
    let pre = shard.share_u32(pre).max(1);
    (pre, shard.share_u32(max).max(pre))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vu::config::DEFAULT_GRACEFUL;

    fn shards(n: u32) -> impl Iterator<Item = ShardSpec> {
        (0..n).map(move |i| ShardSpec::new(i, n).unwrap())
    }

    fn cfg(kind: ExecutorKind) -> ExecutorConfig {
        ExecutorConfig {
            kind,
            graceful_stop: DEFAULT_GRACEFUL,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn arrival_rates_split_exactly_at_every_instant() {
        let config = cfg(ExecutorKind::RampingArrivalRate {
            start_rate: 7,
            time_unit: secs(1),
            stages: vec![
                TargetStage {
                    duration: secs(10),
                    target: 101,
                },
                TargetStage {
                    duration: secs(5),
                    target: 3,
                },
                TargetStage {
                    duration: secs(5),
                    target: 0,
                },
            ],
            pre_allocated_vus: 10,
            max_vus: 50,
        });
        let whole = config.arrival_profile().unwrap();
        for n in [1, 2, 3, 4, 8] {
            let parts: Vec<_> = shards(n)
                .map(|s| split_executor(&config, s).expect("every shard has a rate"))
                .collect();
            for p in &parts {
                p.validate().unwrap();
            }
            for tenth in 0..=200 {
                let at = Duration::from_millis(tenth * 100);
                let sum: f64 = parts
                    .iter()
                    .map(|p| p.arrival_profile().unwrap().rate_at(at))
                    .sum();
                let want = whole.rate_at(at);
                assert!(
                    (sum - want).abs() < 1e-9,
                    "{n} shards at {at:?}: {sum} vs {want}"
                );
            }
        }
    }

    #[test]
    fn a_constant_rate_splits_into_whole_iteration_counts() {
        let config = cfg(ExecutorKind::ConstantArrivalRate {
            rate: 10,
            time_unit: secs(1),
            duration: secs(30),
            pre_allocated_vus: 5,
            max_vus: 20,
        });
        let total = config.arrival_profile().unwrap().total().unwrap();
        assert_eq!(total, 300);
        let parts: Vec<u64> = shards(4)
            .map(|s| {
                let p = split_executor(&config, s).unwrap();
                p.validate().unwrap();
                p.arrival_profile().unwrap().total().unwrap()
            })
            .collect();
        assert_eq!(parts, [60, 90, 60, 90]);
        assert_eq!(parts.iter().sum::<u64>(), total);
    }

    #[test]
    fn a_rate_below_the_shard_count_is_scaled_not_zeroed() {
        let config = cfg(ExecutorKind::ConstantArrivalRate {
            rate: 2,
            time_unit: secs(1),
            duration: secs(60),
            pre_allocated_vus: 1,
            max_vus: 1,
        });
        let parts: Vec<ExecutorConfig> = shards(4)
            .map(|s| split_executor(&config, s).unwrap())
            .collect();
        let mut total = 0;
        for p in &parts {
            p.validate().unwrap();
            let ExecutorKind::ConstantArrivalRate {
                rate, time_unit, ..
            } = p.kind
            else {
                unreachable!()
            };
            assert_eq!((rate, time_unit), (1, secs(2)), "2/s = 4 per 2 s, one each");
            total += p.arrival_profile().unwrap().total().unwrap();
        }
        assert_eq!(total, 120);
    }

    #[test]
    fn vus_and_iterations_sum_to_the_unsharded_run() {
        let shared = cfg(ExecutorKind::SharedIterations {
            vus: 10,
            iterations: 1001,
            max_duration: secs(60),
        });
        let per_vu = cfg(ExecutorKind::PerVuIterations {
            vus: 10,
            iterations: 7,
            max_duration: secs(60),
        });
        let constant = cfg(ExecutorKind::ConstantVus {
            vus: 10,
            duration: secs(5),
        });
        let (mut iters, mut vus, mut per_vu_iters, mut constant_vus) = (0, 0, 0, 0);
        for s in shards(3) {
            let ExecutorKind::SharedIterations {
                vus: v, iterations, ..
            } = split_executor(&shared, s).unwrap().kind
            else {
                unreachable!()
            };
            iters += iterations;
            vus += v;
            let ExecutorKind::PerVuIterations {
                vus: v, iterations, ..
            } = split_executor(&per_vu, s).unwrap().kind
            else {
                unreachable!()
            };
            per_vu_iters += u64::from(v) * iterations;
            let p = split_executor(&constant, s).unwrap();
            p.validate().unwrap();
            constant_vus += p.max_vus();
        }
        assert_eq!((iters, vus, per_vu_iters, constant_vus), (1001, 10, 70, 10));
    }

    #[test]
    fn ramping_vus_meet_every_stage_target_together() {
        let config = cfg(ExecutorKind::RampingVus {
            start_vus: 3,
            stages: vec![
                TargetStage {
                    duration: secs(10),
                    target: 25,
                },
                TargetStage {
                    duration: secs(10),
                    target: 5,
                },
            ],
            graceful_ramp_down: DEFAULT_GRACEFUL,
        });
        let parts: Vec<ExecutorConfig> = shards(4)
            .filter_map(|s| split_executor(&config, s))
            .collect();
        assert_eq!(parts.len(), 4);
        for at in [0, 10, 20] {
            let sum: u32 = parts
                .iter()
                .map(|p| {
                    let ExecutorKind::RampingVus {
                        start_vus, stages, ..
                    } = &p.kind
                    else {
                        unreachable!()
                    };
                    crate::vu::config::ramping_vus_target(*start_vus, stages, secs(at))
                })
                .sum();
            assert_eq!(sum, [3, 25, 5][(at / 10) as usize], "at {at}s");
        }
    }

    #[test]
    fn fewer_vus_than_shards_leaves_shards_idle() {
        let config = cfg(ExecutorKind::ConstantVus {
            vus: 2,
            duration: secs(5),
        });
        let idle = shards(4)
            .filter(|s| split_executor(&config, *s).is_none())
            .count();
        assert_eq!(idle, 2);
        assert_eq!(split_executor(&config, ShardSpec::WHOLE), Some(config));
    }

    #[test]
    fn native_redis_loads_keep_their_totals() {
        use crate::probes::redis::load::{
            Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
        };
        let mut spec = LoadSpec {
            workers: 50,
            amount: Amount::OpsPerWorker(100),
            warmup: Amount::OpsPerWorker(0),
            model: Model::Closed,
            mix: vec![MixEntry {
                name: "set".into(),
                op: Op::Set,
                weight: 1,
            }],
            value: Vec::new(),
            key_prefix: "k:".into(),
            key_count: 100,
            key_pattern: KeyPattern::Uniform,
            pipeline: 1,
            connections: Connections::PerWorker,
            timeout: Duration::from_secs(1),
            threads: 1,
            seed: 1,
            first_worker: 0,
            all_workers: 0,
        };
        let total: u64 = shards(4)
            .map(|s| {
                let part = spec.clone().split(s).unwrap();
                part.validate().unwrap();
                u64::from(part.workers) * 100
            })
            .sum();
        assert_eq!(total, 5000);

        // Each shard's workers are numbered as in the whole load, so every
        // worker draws the commands and keys its unsharded twin draws.
        let whole_commands = |worker: u32| {
            let mut maker = crate::probes::redis::load::CommandMaker::new(&spec, worker);
            (0..20)
                .map(|_| {
                    let op = maker.pick();
                    let mut out = bytes::BytesMut::new();
                    maker.encode(op, &mut out);
                    out
                })
                .collect::<Vec<_>>()
        };
        let mut numbered = Vec::new();
        for s in shards(3) {
            let part = spec.clone().split(s).unwrap();
            for w in 0..part.workers {
                let mut maker = crate::probes::redis::load::CommandMaker::new(&part, w);
                let drawn: Vec<_> = (0..20)
                    .map(|_| {
                        let op = maker.pick();
                        let mut out = bytes::BytesMut::new();
                        maker.encode(op, &mut out);
                        out
                    })
                    .collect();
                numbered.push(part.first_worker + w);
                assert_eq!(drawn, whole_commands(part.first_worker + w), "{s}");
            }
        }
        assert_eq!(numbered, (0..50).collect::<Vec<u32>>());

        spec.model = Model::Open { rate: 1000.0 };
        spec.amount = Amount::Duration(Duration::from_millis(2500));
        spec.workers = 8;
        let arrivals: u64 = shards(3)
            .map(|s| {
                let part = spec.clone().split(s).unwrap();
                let Model::Open { rate } = part.model else {
                    unreachable!()
                };
                (rate * 2.5).round() as u64
            })
            .sum();
        assert_eq!(arrivals, 2500);

        spec.workers = 2;
        let err = spec
            .clone()
            .split(ShardSpec::new(0, 4).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`workers` is 2, too few to split across 4 shards (shard 1 would get none); run fewer shards, raise it to at least 4, or set `shard = \"whole\"` or `\"one\"` for this scenario in the catalog"
        );
    }
}
