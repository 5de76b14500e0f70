//! Executor configurations with k6's names, defaults and rules, so a k6
//! user's `options.scenarios` carries over: `shared-iterations`,
//! `per-vu-iterations`, `constant-vus`, `ramping-vus`,
//! `constant-arrival-rate`, `ramping-arrival-rate`.

use std::time::Duration;

use crate::pacing::{RateProfile, Stage};

/// k6's default `gracefulStop` and `gracefulRampDown`.
pub const DEFAULT_GRACEFUL: Duration = Duration::from_secs(30);
/// k6's default `maxDuration` of the iteration-based executors.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);
/// VUs one executor may run at once: each is a WebAssembly instance with its
/// own store; the per-VU memory cap times this bounds the host's memory.
pub const MAX_VUS: u32 = 100_000;

/// One stage of `ramping-vus` (target VUs) or `ramping-arrival-rate`
/// (target iterations per `time-unit`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetStage {
    pub duration: Duration,
    pub target: u64,
}

/// What an executor does, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorKind {
    /// `iterations` in total, shared by `vus` VUs, within `max_duration`.
    SharedIterations {
        vus: u32,
        iterations: u64,
        max_duration: Duration,
    },
    /// Each of `vus` VUs runs `iterations`, within `max_duration`.
    PerVuIterations {
        vus: u32,
        iterations: u64,
        max_duration: Duration,
    },
    /// `vus` VUs loop for `duration`.
    ConstantVus { vus: u32, duration: Duration },
    /// The number of looping VUs follows the stages, linearly.
    RampingVus {
        start_vus: u32,
        stages: Vec<TargetStage>,
        graceful_ramp_down: Duration,
    },
    /// `rate` iterations per `time_unit` for `duration`, whatever the
    /// system under test does (open model).
    ConstantArrivalRate {
        rate: u64,
        time_unit: Duration,
        duration: Duration,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
    /// The arrival rate follows the stages, linearly.
    RampingArrivalRate {
        start_rate: u64,
        time_unit: Duration,
        stages: Vec<TargetStage>,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
}

/// An executor and the time it gives iterations in progress at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorConfig {
    pub kind: ExecutorKind,
    pub graceful_stop: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("`{field}` must be at least 1 (got {value})")]
    TooSmall { field: &'static str, value: u64 },
    #[error("`{field}` is {value}, more than the {limit} VUs one executor may run")]
    TooManyVus {
        field: &'static str,
        value: u64,
        limit: u32,
    },
    #[error("`{field}` must be longer than zero")]
    ZeroDuration { field: &'static str },
    #[error("`stages` must hold at least one stage")]
    NoStages,
    #[error("`max-vus` ({max}) is below `pre-allocated-vus` ({pre})")]
    MaxBelowPreAllocated { max: u32, pre: u32 },
    #[error("every stage targets 0 and `{field}` is 0: this executor would never run")]
    NothingToRun { field: &'static str },
}

impl ExecutorConfig {
    /// One VU, one iteration: k6's behaviour when nothing is configured.
    pub fn one_iteration() -> Self {
        Self {
            kind: ExecutorKind::SharedIterations {
                vus: 1,
                iterations: 1,
                max_duration: DEFAULT_MAX_DURATION,
            },
            graceful_stop: DEFAULT_GRACEFUL,
        }
    }

    /// The k6 name of the executor.
    pub fn name(&self) -> &'static str {
        match self.kind {
            ExecutorKind::SharedIterations { .. } => "shared-iterations",
            ExecutorKind::PerVuIterations { .. } => "per-vu-iterations",
            ExecutorKind::ConstantVus { .. } => "constant-vus",
            ExecutorKind::RampingVus { .. } => "ramping-vus",
            ExecutorKind::ConstantArrivalRate { .. } => "constant-arrival-rate",
            ExecutorKind::RampingArrivalRate { .. } => "ramping-arrival-rate",
        }
    }

    /// Checks the numbers the way k6 does, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = |field, value: u64| {
            if value == 0 {
                Err(ConfigError::TooSmall { field, value })
            } else {
                Ok(())
            }
        };
        let vus_ok = |field, value: u32| {
            if value > MAX_VUS {
                Err(ConfigError::TooManyVus {
                    field,
                    value: value.into(),
                    limit: MAX_VUS,
                })
            } else {
                Ok(())
            }
        };
        let positive = |field, d: Duration| {
            if d.is_zero() {
                Err(ConfigError::ZeroDuration { field })
            } else {
                Ok(())
            }
        };
        match &self.kind {
            ExecutorKind::SharedIterations {
                vus,
                iterations,
                max_duration,
            }
            | ExecutorKind::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => {
                at_least_one("vus", (*vus).into())?;
                vus_ok("vus", *vus)?;
                at_least_one("iterations", *iterations)?;
                positive("max-duration", *max_duration)?;
                if let ExecutorKind::SharedIterations { .. } = self.kind
                    && u64::from(*vus) > *iterations
                {
                    // k6 refuses this too: VUs with nothing to do.
                    return Err(ConfigError::TooSmall {
                        field: "iterations (it must be at least `vus`)",
                        value: *iterations,
                    });
                }
            }
            ExecutorKind::ConstantVus { vus, duration } => {
                at_least_one("vus", (*vus).into())?;
                vus_ok("vus", *vus)?;
                positive("duration", *duration)?;
            }
            ExecutorKind::RampingVus {
                start_vus, stages, ..
            } => {
                vus_ok("start-vus", *start_vus)?;
                if stages.is_empty() {
                    return Err(ConfigError::NoStages);
                }
                for s in stages {
                    vus_ok("stages.target", u32::try_from(s.target).unwrap_or(u32::MAX))?;
                }
                if *start_vus == 0 && stages.iter().all(|s| s.target == 0) {
                    return Err(ConfigError::NothingToRun { field: "start-vus" });
                }
            }
            ExecutorKind::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                pre_allocated_vus,
                max_vus,
            } => {
                at_least_one("rate", *rate)?;
                positive("time-unit", *time_unit)?;
                positive("duration", *duration)?;
                check_allocation(*pre_allocated_vus, *max_vus)?;
            }
            ExecutorKind::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                pre_allocated_vus,
                max_vus,
            } => {
                positive("time-unit", *time_unit)?;
                if stages.is_empty() {
                    return Err(ConfigError::NoStages);
                }
                if *start_rate == 0 && stages.iter().all(|s| s.target == 0) {
                    return Err(ConfigError::NothingToRun {
                        field: "start-rate",
                    });
                }
                check_allocation(*pre_allocated_vus, *max_vus)?;
            }
        }
        Ok(())
    }

    /// The arrival profile of the arrival-rate executors, in iterations per
    /// second.
    pub fn arrival_profile(&self) -> Option<RateProfile> {
        let per_second = |n: u64, unit: Duration| n as f64 / unit.as_secs_f64();
        match &self.kind {
            ExecutorKind::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                ..
            } => Some(RateProfile::Stages {
                start_rate: per_second(*rate, *time_unit),
                stages: vec![Stage {
                    duration: *duration,
                    target: per_second(*rate, *time_unit),
                }],
            }),
            ExecutorKind::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                ..
            } => Some(RateProfile::Stages {
                start_rate: per_second(*start_rate, *time_unit),
                stages: stages
                    .iter()
                    .map(|s| Stage {
                        duration: s.duration,
                        target: per_second(s.target, *time_unit),
                    })
                    .collect(),
            }),
            _ => None,
        }
    }

    /// The most VUs the executor can have at once.
    pub fn max_vus(&self) -> u32 {
        match &self.kind {
            ExecutorKind::SharedIterations { vus, .. }
            | ExecutorKind::PerVuIterations { vus, .. }
            | ExecutorKind::ConstantVus { vus, .. } => *vus,
            ExecutorKind::RampingVus {
                start_vus, stages, ..
            } => stages
                .iter()
                .map(|s| u32::try_from(s.target).unwrap_or(u32::MAX))
                .chain(std::iter::once(*start_vus))
                .max()
                .unwrap_or(0),
            ExecutorKind::ConstantArrivalRate { max_vus, .. }
            | ExecutorKind::RampingArrivalRate { max_vus, .. } => *max_vus,
        }
    }

    /// How long the executor runs before its graceful stop begins (for the
    /// iteration-based executors: at most).
    pub fn planned_duration(&self) -> Duration {
        match &self.kind {
            ExecutorKind::SharedIterations { max_duration, .. }
            | ExecutorKind::PerVuIterations { max_duration, .. } => *max_duration,
            ExecutorKind::ConstantVus { duration, .. }
            | ExecutorKind::ConstantArrivalRate { duration, .. } => *duration,
            ExecutorKind::RampingVus { stages, .. }
            | ExecutorKind::RampingArrivalRate { stages, .. } => {
                stages.iter().map(|s| s.duration).sum()
            }
        }
    }
}

fn check_allocation(pre: u32, max: u32) -> Result<(), ConfigError> {
    if pre == 0 {
        return Err(ConfigError::TooSmall {
            field: "pre-allocated-vus",
            value: 0,
        });
    }
    for (field, v) in [("pre-allocated-vus", pre), ("max-vus", max)] {
        if v > MAX_VUS {
            return Err(ConfigError::TooManyVus {
                field,
                value: v.into(),
                limit: MAX_VUS,
            });
        }
    }
    if max < pre {
        return Err(ConfigError::MaxBelowPreAllocated { max, pre });
    }
    Ok(())
}

/// The number of VUs `ramping-vus` wants at `offset` from its start: the
/// stages interpolated linearly and rounded down, as k6 does (a stage from 0
/// to 10 over 10 s adds one VU per second).
pub fn ramping_vus_target(start_vus: u32, stages: &[TargetStage], offset: Duration) -> u32 {
    let mut from = f64::from(start_vus);
    let mut left = offset;
    for s in stages {
        let to = s.target as f64;
        if left < s.duration {
            let frac = left.as_secs_f64() / s.duration.as_secs_f64();
            let v = from + (to - from) * frac;
            // Rounded toward the stage's start: a ramp up adds a VU once the
            // line reaches it, a ramp down removes one once the line leaves.
            return if to >= from {
                v.floor() as u32
            } else {
                v.ceil() as u32
            };
        }
        left -= s.duration;
        from = to;
    }
    from as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64, target: u64) -> TargetStage {
        TargetStage {
            duration: Duration::from_secs(secs),
            target,
        }
    }

    #[test]
    fn ramping_vus_follow_the_stages_step_by_step() {
        let stages = [s(10, 10), s(10, 10), s(5, 0)];
        let at = |secs: f64| ramping_vus_target(0, &stages, Duration::from_secs_f64(secs));
        assert_eq!(at(0.0), 0);
        assert_eq!(at(0.99), 0);
        assert_eq!(at(1.0), 1);
        assert_eq!(at(9.99), 9);
        assert_eq!(at(10.0), 10);
        assert_eq!(at(19.0), 10);
        assert_eq!(
            at(20.1),
            10,
            "ramping down: a VU goes once the line leaves it"
        );
        assert_eq!(at(22.5), 5);
        assert_eq!(at(25.0), 0);
        assert_eq!(at(99.0), 0);
    }

    #[test]
    fn k6_rules_are_enforced_with_the_field_named() {
        let shared = |vus, iterations| ExecutorConfig {
            kind: ExecutorKind::SharedIterations {
                vus,
                iterations,
                max_duration: DEFAULT_MAX_DURATION,
            },
            graceful_stop: DEFAULT_GRACEFUL,
        };
        assert!(shared(10, 100).validate().is_ok());
        assert_eq!(
            shared(0, 100).validate(),
            Err(ConfigError::TooSmall {
                field: "vus",
                value: 0
            })
        );
        assert!(
            shared(10, 5).validate().is_err(),
            "fewer iterations than VUs"
        );
        let rate = |pre, max| ExecutorConfig {
            kind: ExecutorKind::ConstantArrivalRate {
                rate: 10,
                time_unit: Duration::from_secs(1),
                duration: Duration::from_secs(5),
                pre_allocated_vus: pre,
                max_vus: max,
            },
            graceful_stop: DEFAULT_GRACEFUL,
        };
        assert_eq!(
            rate(5, 2).validate(),
            Err(ConfigError::MaxBelowPreAllocated { max: 2, pre: 5 })
        );
        assert!(matches!(
            rate(5, MAX_VUS + 1).validate(),
            Err(ConfigError::TooManyVus {
                field: "max-vus",
                ..
            })
        ));
        let ramp = ExecutorConfig {
            kind: ExecutorKind::RampingVus {
                start_vus: 0,
                stages: vec![s(5, 0)],
                graceful_ramp_down: DEFAULT_GRACEFUL,
            },
            graceful_stop: DEFAULT_GRACEFUL,
        };
        assert_eq!(
            ramp.validate(),
            Err(ConfigError::NothingToRun { field: "start-vus" })
        );
    }

    #[test]
    fn arrival_rates_are_per_second_on_the_shared_timeline() {
        let c = ExecutorConfig {
            kind: ExecutorKind::ConstantArrivalRate {
                rate: 30,
                time_unit: Duration::from_secs(60),
                duration: Duration::from_secs(120),
                pre_allocated_vus: 1,
                max_vus: 1,
            },
            graceful_stop: DEFAULT_GRACEFUL,
        };
        let p = c.arrival_profile().unwrap();
        assert_eq!(p.total(), Some(60), "30 per minute for 2 minutes");
        assert!((p.offset_of(1).unwrap() - 2.0).abs() < 1e-9);
    }
}
