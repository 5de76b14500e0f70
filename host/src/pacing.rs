//! The intended timeline of an open-model load: when the n-th request (or
//! iteration) is due, for a constant rate or for ramping stages, and a way to
//! wait for that instant precisely. Every open-model load draws its slots
//! from a [`Timeline`] and measures latency from the slot's intended time, so
//! a server that stalls cannot hide the queueing it caused (no coordinated
//! omission); one implementation keeps the loads' schedules identical.
//!
//! Ramping follows k6's `ramping-arrival-rate`: each stage moves the rate
//! linearly from where the previous stage ended to its target over its
//! duration, so the number of arrivals by time `t` within a stage is
//! `r0·t + (r1 − r0)·t² / (2T)`, and the n-th arrival's time is the root of
//! that quadratic.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Timers on a busy host fire late by up to a millisecond or so: sleep until
/// this much before the slot, then yield until it (a spin that lets other
/// tasks run).
pub const TIMER_SLACK: Duration = Duration::from_millis(1);

/// How the arrival rate changes over the run.
#[derive(Debug, Clone, PartialEq)]
pub enum RateProfile {
    /// `per_second` arrivals every second, from the start on.
    Constant { per_second: f64 },
    /// Starting at `start_rate`, each stage ramps linearly to its target.
    /// After the last stage, no more arrivals.
    Stages { start_rate: f64, stages: Vec<Stage> },
}

/// One stage of a ramping profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    /// Arrivals per second reached at the end of the stage.
    pub target: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PacingError {
    #[error("rate {0} is not a positive, finite number of arrivals per second")]
    Rate(f64),
    #[error("stage {index}: target rate {target} is negative or not finite")]
    StageTarget { index: usize, target: f64 },
    #[error("a ramping profile needs at least one stage")]
    NoStages,
}

impl RateProfile {
    /// Checks the numbers: rates finite and not negative, a constant rate
    /// above zero.
    pub fn validate(&self) -> Result<(), PacingError> {
        match self {
            RateProfile::Constant { per_second } => {
                if !(per_second.is_finite() && *per_second > 0.0) {
                    return Err(PacingError::Rate(*per_second));
                }
            }
            RateProfile::Stages { start_rate, stages } => {
                if !(start_rate.is_finite() && *start_rate >= 0.0) {
                    return Err(PacingError::Rate(*start_rate));
                }
                if stages.is_empty() {
                    return Err(PacingError::NoStages);
                }
                for (index, s) in stages.iter().enumerate() {
                    if !(s.target.is_finite() && s.target >= 0.0) {
                        return Err(PacingError::StageTarget {
                            index,
                            target: s.target,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Seconds from the start at which arrival number `n` (0-based) is due,
    /// or `None` if the profile ends before it.
    pub fn offset_of(&self, n: u64) -> Option<f64> {
        let n = n as f64;
        match self {
            RateProfile::Constant { per_second } => Some(n / per_second),
            RateProfile::Stages { start_rate, stages } => {
                // Arrival n happens when the cumulative count reaches n
                // (the first at t = 0 when the rate starts above zero).
                let mut before = 0.0; // arrivals accumulated before this stage
                let mut elapsed = 0.0;
                let mut r0 = *start_rate;
                for s in stages {
                    let t = s.duration.as_secs_f64();
                    let r1 = s.target;
                    let in_stage = (r0 + r1) / 2.0 * t;
                    let want = n - before;
                    if want < in_stage || (want == 0.0 && r0 > 0.0) {
                        return Some(elapsed + time_to_reach(want, r0, r1, t));
                    }
                    before += in_stage;
                    elapsed += t;
                    r0 = r1;
                }
                None
            }
        }
    }

    /// Arrivals the whole profile holds (`None` for a constant rate, which
    /// has no end of its own).
    pub fn total(&self) -> Option<u64> {
        match self {
            RateProfile::Constant { .. } => None,
            RateProfile::Stages { start_rate, stages } => {
                let mut r0 = *start_rate;
                let mut sum = 0.0;
                for s in stages {
                    sum += (r0 + s.target) / 2.0 * s.duration.as_secs_f64();
                    r0 = s.target;
                }
                Some(sum.ceil() as u64)
            }
        }
    }

    /// The rate at `offset` from the start (for progress and reports).
    pub fn rate_at(&self, offset: Duration) -> f64 {
        match self {
            RateProfile::Constant { per_second } => *per_second,
            RateProfile::Stages { start_rate, stages } => {
                let mut left = offset.as_secs_f64();
                let mut r0 = *start_rate;
                for s in stages {
                    let t = s.duration.as_secs_f64();
                    if left < t {
                        return r0 + (s.target - r0) * (left / t);
                    }
                    left -= t;
                    r0 = s.target;
                }
                0.0
            }
        }
    }
}

/// Time within a stage (rate ramping from `r0` to `r1` over `t` seconds)
/// at which `want` arrivals have accumulated.
fn time_to_reach(want: f64, r0: f64, r1: f64, t: f64) -> f64 {
    // Nothing to accumulate: due at the stage's start (also from rate 0,
    // where the quadratic below has no usable root).
    if t <= 0.0 || want <= 0.0 {
        return 0.0;
    }
    let a = (r1 - r0) / (2.0 * t);
    if a.abs() < 1e-12 {
        return if r0 > 0.0 { want / r0 } else { t };
    }
    // a·x² + r0·x − want = 0, the root in [0, t]. Written as
    // 2·want / (r0 + √(r0² + 4·a·want)) to stay exact when a is tiny.
    let disc = (r0 * r0 + 4.0 * a * want).max(0.0);
    let denom = r0 + disc.sqrt();
    if denom <= 0.0 {
        return t;
    }
    (2.0 * want / denom).clamp(0.0, t)
}

/// A slot on the timeline: its number and when it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub index: u64,
    pub intended: Instant,
}

/// The shared schedule of one load: workers claim slots in order, each at
/// most once, until the profile, the end time or the slot limit is reached.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    profile: RateProfile,
    end: Option<Instant>,
    limit: Option<u64>,
    next: AtomicU64,
    /// Set by [`Timeline::claim_rest`]: no slot is handed out any more.
    closed: AtomicBool,
}

impl Timeline {
    /// A timeline starting at `start`. `end` and `limit` (whichever comes
    /// first) bound a constant profile; stages end on their own.
    pub fn new(
        start: Instant,
        profile: RateProfile,
        end: Option<Instant>,
        limit: Option<u64>,
    ) -> Result<Self, PacingError> {
        profile.validate()?;
        Ok(Self {
            start,
            profile,
            end,
            limit,
            next: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        })
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn profile(&self) -> &RateProfile {
        &self.profile
    }

    /// When slot `index` is due, if it is part of the schedule.
    pub fn intended(&self, index: u64) -> Option<Instant> {
        if self.limit.is_some_and(|l| index >= l) {
            return None;
        }
        let offset = self.profile.offset_of(index)?;
        let at = self
            .start
            .checked_add(Duration::try_from_secs_f64(offset).ok()?)?;
        if self.end.is_some_and(|e| at >= e) {
            return None;
        }
        Some(at)
    }

    /// Claims the next slot, or `None` when the schedule is exhausted.
    pub fn claim(&self) -> Option<Slot> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        self.intended(index)
            .map(|intended| Slot { index, intended })
    }

    /// Slots in the whole schedule, or `None` when it has no end.
    pub fn len(&self) -> Option<u64> {
        let upper = match (&self.profile, self.end, self.limit) {
            (_, _, Some(limit)) => limit,
            (RateProfile::Stages { .. }, _, None) => self.profile.total()?.saturating_add(1),
            (RateProfile::Constant { per_second }, Some(end), None) => {
                let secs = end.saturating_duration_since(self.start).as_secs_f64();
                (secs * per_second).ceil() as u64 + 1
            }
            (RateProfile::Constant { .. }, None, None) => return None,
        };
        // `intended` is defined for a prefix of the indices: find its length.
        let (mut lo, mut hi) = (0u64, upper);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.intended(mid).is_some() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }

    /// Whether the schedule holds no slot at all.
    pub fn is_empty(&self) -> bool {
        self.intended(0).is_none()
    }

    /// Claims every slot left and returns how many there were, so a load
    /// that must stop early (its deadline passed, the run was interrupted)
    /// can count them as not sent and the report shows what the schedule
    /// asked. An endless schedule is closed and counts 0.
    pub fn claim_rest(&self) -> u64 {
        self.closed.store(true, Ordering::Release);
        let len = self.len().unwrap_or(0);
        // Indices below `before` went to claims made meanwhile; those from
        // it to `len` are counted here, once, and no claim can get them now.
        let before = self.next.fetch_max(len, Ordering::AcqRel);
        len.saturating_sub(before)
    }

    /// Slots claimed so far (including any claimed past the end).
    pub fn claimed(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }
}

/// Waits until `at`: a timer sleep to [`TIMER_SLACK`] before it, then
/// yields until the instant (other tasks keep running meanwhile).
pub async fn wait_until(at: Instant) {
    if let Some(early) = at.checked_sub(TIMER_SLACK)
        && early > Instant::now()
    {
        tokio::time::sleep_until(early.into()).await;
    }
    yield_until(at).await;
}

/// The last stretch of [`wait_until`], for a load that sleeps on a timer of
/// its own (one it also wakes from for other reasons) until
/// [`TIMER_SLACK`] before `at`: yields until the instant.
pub async fn yield_until(at: Instant) {
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_ramp_from_zero_starts_at_zero_and_stays_in_order() {
        let p = RateProfile::Stages {
            start_rate: 0.0,
            stages: vec![
                Stage {
                    duration: secs(2.0),
                    target: 20.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 0.0,
                },
            ],
        };
        let offsets: Vec<f64> = (0..30).map_while(|n| p.offset_of(n)).collect();
        assert_eq!(offsets.len(), 30);
        assert_eq!(offsets[0], 0.0);
        // Arrival 1 is due when the ramp has accumulated one: √(2·2/20).
        assert!((offsets[1] - 0.2f64.sqrt()).abs() < 1e-9, "{offsets:?}");
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");
    }

    #[test]
    fn a_constant_rate_spaces_slots_evenly_and_stops_at_the_end_or_limit() {
        let start = Instant::now();
        let t = Timeline::new(
            start,
            RateProfile::Constant { per_second: 200.0 },
            Some(start + secs(0.5)),
            None,
        )
        .unwrap();
        let slots: Vec<Slot> = std::iter::from_fn(|| t.claim()).collect();
        assert_eq!(slots.len(), 100, "200/s for 0.5 s");
        assert_eq!(slots[0].intended, start);
        assert_eq!(slots[10].intended - slots[9].intended, secs(0.005));
        let limited = Timeline::new(
            start,
            RateProfile::Constant { per_second: 1000.0 },
            None,
            Some(7),
        )
        .unwrap();
        assert_eq!(std::iter::from_fn(|| limited.claim()).count(), 7);
    }

    #[test]
    fn a_ramp_holds_the_area_under_the_rate_and_its_arrivals_accelerate() {
        // 0 → 100/s over 10 s: 500 arrivals, the first half of them in the
        // last ~2.93 s (√0.5 of the ramp's length from its end).
        let p = RateProfile::Stages {
            start_rate: 0.0,
            stages: vec![Stage {
                duration: secs(10.0),
                target: 100.0,
            }],
        };
        assert_eq!(p.total(), Some(500));
        let t250 = p.offset_of(250).unwrap();
        assert!((t250 - 10.0 * 0.5f64.sqrt()).abs() < 1e-6, "{t250}");
        assert!(p.offset_of(499).unwrap() < 10.0);
        assert_eq!(p.offset_of(500), None);
        let gaps: Vec<f64> = (1..499)
            .map(|n| p.offset_of(n + 1).unwrap() - p.offset_of(n).unwrap())
            .collect();
        assert!(gaps.windows(2).all(|w| w[1] <= w[0] + 1e-9), "rate rises");
    }

    #[test]
    fn stages_chain_from_where_the_previous_one_ended() {
        // 10/s flat for 2 s (20), then down to 0 over 2 s (10): 30 in all.
        let p = RateProfile::Stages {
            start_rate: 10.0,
            stages: vec![
                Stage {
                    duration: secs(2.0),
                    target: 10.0,
                },
                Stage {
                    duration: secs(2.0),
                    target: 0.0,
                },
            ],
        };
        assert_eq!(p.total(), Some(30));
        assert_eq!(p.offset_of(0), Some(0.0));
        assert!((p.offset_of(19).unwrap() - 1.9).abs() < 1e-9);
        assert!((p.offset_of(20).unwrap() - 2.0).abs() < 1e-9);
        assert!(p.offset_of(29).unwrap() < 4.0);
        assert_eq!(p.offset_of(30), None);
        assert!((p.rate_at(secs(3.0)) - 5.0).abs() < 1e-9);
        assert_eq!(p.rate_at(secs(5.0)), 0.0);
    }

    #[test]
    fn bad_numbers_are_refused_with_the_stage_named() {
        assert_eq!(
            RateProfile::Constant { per_second: 0.0 }.validate(),
            Err(PacingError::Rate(0.0))
        );
        assert!(
            RateProfile::Constant {
                per_second: f64::NAN
            }
            .validate()
            .is_err()
        );
        let p = RateProfile::Stages {
            start_rate: 1.0,
            stages: vec![
                Stage {
                    duration: secs(1.0),
                    target: 5.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: -1.0,
                },
            ],
        };
        assert_eq!(
            p.validate(),
            Err(PacingError::StageTarget {
                index: 1,
                target: -1.0
            })
        );
    }

    #[test]
    fn claim_rest_counts_what_the_schedule_still_held() {
        let start = Instant::now();
        let t = Timeline::new(
            start,
            RateProfile::Constant { per_second: 100.0 },
            Some(start + secs(1.0)),
            None,
        )
        .unwrap();
        for _ in 0..30 {
            t.claim().unwrap();
        }
        assert_eq!(t.len(), Some(100));
        assert_eq!(t.claim_rest(), 70);
        assert_eq!(t.claim(), None);
        assert_eq!(t.claim_rest(), 0, "nothing is counted twice");
        let endless =
            Timeline::new(start, RateProfile::Constant { per_second: 5.0 }, None, None).unwrap();
        assert_eq!(endless.len(), None);
        assert_eq!(endless.claim_rest(), 0);
        assert_eq!(endless.claim(), None, "closed");
    }

    #[tokio::test]
    async fn wait_until_never_returns_early() {
        let at = Instant::now() + Duration::from_millis(3);
        wait_until(at).await;
        assert!(Instant::now() >= at);
    }
}
