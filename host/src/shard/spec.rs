//! Which shard this process is: `--shard I/N` (1-based, as nextest and
//! Playwright count), or a 0-based index from the environment as a
//! Kubernetes Indexed Job sets it (`JOB_COMPLETION_INDEX`) with the count
//! beside it, and each scenario's catalog choice of how it is sharded.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Most shards one run may be split into.
pub const MAX_SHARDS: u32 = 10_000;

/// The variable holding `I/N` (1-based), for CI matrices.
pub const ENV_SHARD: &str = "RIGOR_SHARD";
/// The variable holding the shard count `N` when the index comes from
/// [`ENV_JOB_INDEX`].
pub const ENV_SHARD_COUNT: &str = "RIGOR_SHARD_COUNT";
/// The 0-based index a Kubernetes Indexed Job gives each of its pods.
pub const ENV_JOB_INDEX: &str = "JOB_COMPLETION_INDEX";

/// One shard of `count`: `index` is 0-based. `0/1` is an unsharded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardSpec {
    index: u32,
    count: u32,
}

impl Default for ShardSpec {
    fn default() -> Self {
        Self::WHOLE
    }
}

/// A shard that cannot be, naming where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error(
        "{origin} `{text}`: expected `I/N` with 1 <= I <= N <= {MAX_SHARDS}, e.g. `2/4` (shards count from 1)"
    )]
    Syntax { origin: String, text: String },
    #[error(
        "{origin} `{text}`: shard {index} of {count} does not exist; shards count from 1 to {count}"
    )]
    OutOfRange {
        origin: String,
        text: String,
        index: u64,
        count: u64,
    },
    #[error("{origin} `{text}`: {problem}")]
    Count {
        origin: String,
        text: String,
        problem: String,
    },
    #[error(
        "the 0-based index {index} from {ENV_JOB_INDEX} is not below the shard count {count} (from {count_origin}); set completions to {count} in the Job, or the count to the Job's completions"
    )]
    JobIndex {
        index: u64,
        count: u32,
        count_origin: String,
    },
}

impl ShardSpec {
    /// The whole run: one shard of one.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };

    /// Shard `index` (0-based) of `count`.
    pub fn new(index: u32, count: u32) -> Option<Self> {
        ((1..=MAX_SHARDS).contains(&count) && index < count).then_some(Self { index, count })
    }

    /// `I/N`, 1-based; `origin` names the flag or variable for errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ShardError> {
        let syntax = || ShardError::Syntax {
            origin: origin.to_owned(),
            text: text.to_owned(),
        };
        let (i, n) = text.trim().split_once('/').ok_or_else(syntax)?;
        let i: u64 = i.trim().parse().map_err(|_| syntax())?;
        let n: u64 = n.trim().parse().map_err(|_| syntax())?;
        if n == 0 || n > u64::from(MAX_SHARDS) {
            return Err(ShardError::Count {
                origin: origin.to_owned(),
                text: text.to_owned(),
                problem: format!("the shard count must be 1..={MAX_SHARDS}"),
            });
        }
        if i == 0 || i > n {
            return Err(ShardError::OutOfRange {
                origin: origin.to_owned(),
                text: text.to_owned(),
                index: i,
                count: n,
            });
        }
        Ok(Self {
            index: (i - 1) as u32,
            count: n as u32,
        })
    }

    /// The shard asked for: `shard` (`--shard` or `RIGOR_SHARD`, 1-based)
    /// first; otherwise `count` (`--shard-count` or `RIGOR_SHARD_COUNT`)
    /// with the 0-based index from `job_index` (`JOB_COMPLETION_INDEX`);
    /// otherwise the whole run. A count without an index is shard 1.
    pub fn resolve(
        shard: Option<&str>,
        count: Option<&str>,
        job_index: Option<&str>,
    ) -> Result<Self, ShardError> {
        if let Some(text) = shard.filter(|s| !s.trim().is_empty()) {
            return Self::parse(text, "--shard");
        }
        let Some(count_text) = count.filter(|s| !s.trim().is_empty()) else {
            return Ok(Self::WHOLE);
        };
        let bad_count = |problem: &str| ShardError::Count {
            origin: "--shard-count".into(),
            text: count_text.to_owned(),
            problem: problem.to_owned(),
        };
        let n: u32 = count_text
            .trim()
            .parse()
            .map_err(|_| bad_count("not a whole number"))?;
        if n == 0 || n > MAX_SHARDS {
            return Err(bad_count(&format!(
                "the shard count must be 1..={MAX_SHARDS}"
            )));
        }
        let Some(index_text) = job_index.filter(|s| !s.trim().is_empty()) else {
            return Ok(Self { index: 0, count: n });
        };
        let index: u64 = index_text.trim().parse().map_err(|_| ShardError::Syntax {
            origin: ENV_JOB_INDEX.into(),
            text: index_text.to_owned(),
        })?;
        if index >= u64::from(n) {
            return Err(ShardError::JobIndex {
                index,
                count: n,
                count_origin: "--shard-count".into(),
            });
        }
        Ok(Self {
            index: index as u32,
            count: n,
        })
    }

    /// 0-based index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// 1-based number, as shown to people.
    pub fn number(self) -> u32 {
        self.index + 1
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether the run is split at all.
    pub fn is_sharded(self) -> bool {
        self.count > 1
    }

    /// The first shard, where `shard = "one"` scenarios run.
    pub fn is_first(self) -> bool {
        self.index == 0
    }

    /// This shard's part of `total` whole units: the k6 execution-segment
    /// rule `⌊(i+1)·T/N⌋ − ⌊i·T/N⌋`, so the parts of all shards sum to
    /// `total` exactly and differ by at most one.
    pub fn share(self, total: u64) -> u64 {
        let (i, n, t) = (
            u128::from(self.index),
            u128::from(self.count),
            u128::from(total),
        );
        ((i + 1) * t / n - i * t / n) as u64
    }

    /// Where this shard's part of `total` starts: the parts of the shards
    /// before it, so shard parts laid end to end number `0..total`.
    pub fn start(self, total: u64) -> u64 {
        (u128::from(self.index) * u128::from(total) / u128::from(self.count)) as u64
    }

    /// [`share`](Self::share) for a `u32` amount.
    pub fn share_u32(self, total: u32) -> u32 {
        self.share(u64::from(total)) as u32
    }
}

impl fmt::Display for ShardSpec {
    /// `2/4`: 1-based, as `--shard` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number(), self.count)
    }
}

/// How a scenario is run when the run is sharded (catalog `shard = …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardMode {
    /// Every shard runs it with its share of the load (workers, operations,
    /// rates, VUs), so the shards together do what one run does.
    #[default]
    Split,
    /// Every shard runs it in full (per-shard measurements of the same
    /// work, e.g. latency seen from every generator).
    Whole,
    /// Only shard 1 runs it (start-up benchmarks, anything that must not be
    /// multiplied); the others report it skipped.
    One,
}

impl ShardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardMode::Split => "split",
            ShardMode::Whole => "whole",
            ShardMode::One => "one",
        }
    }

    /// `split`, `whole` or `one`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "split" => Some(ShardMode::Split),
            "whole" => Some(ShardMode::Whole),
            "one" => Some(ShardMode::One),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_counts_from_one_and_refuses_what_does_not_exist() {
        let s = ShardSpec::parse("2/4", "--shard").unwrap();
        assert_eq!((s.index(), s.number(), s.count()), (1, 2, 4));
        assert_eq!(s.to_string(), "2/4");
        let err = ShardSpec::parse("0/4", "--shard").unwrap_err().to_string();
        assert!(err.contains("shard 0 of 4 does not exist"), "{err}");
        assert!(ShardSpec::parse("5/4", "--shard").is_err());
        let err = ShardSpec::parse("x/y", "RIGOR_SHARD")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("RIGOR_SHARD `x/y`: expected `I/N`"),
            "{err}"
        );
        assert!(ShardSpec::parse("1/0", "--shard").is_err());
        assert!(ShardSpec::parse("1/10001", "--shard").is_err());
    }

    #[test]
    fn an_indexed_job_gives_a_zero_based_index_beside_the_count() {
        let s = ShardSpec::resolve(None, Some("4"), Some("0")).unwrap();
        assert_eq!(s.to_string(), "1/4");
        let s = ShardSpec::resolve(None, Some("4"), Some("3")).unwrap();
        assert_eq!(s.to_string(), "4/4");
        let err = ShardSpec::resolve(None, Some("4"), Some("4"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("JOB_COMPLETION_INDEX is not below the shard count 4"),
            "{err}"
        );
        // The explicit I/N wins over the environment's index.
        let s = ShardSpec::resolve(Some("2/3"), Some("4"), Some("0")).unwrap();
        assert_eq!(s.to_string(), "2/3");
        // An Indexed Job that is not about rigor's shards changes nothing.
        assert_eq!(
            ShardSpec::resolve(None, None, Some("7")).unwrap(),
            ShardSpec::WHOLE
        );
    }

    #[test]
    fn shares_sum_to_the_total_and_differ_by_at_most_one() {
        for n in 1..=13u32 {
            for total in [0u64, 1, 2, 3, 7, 10, 50, 99, 1_000_003, u64::MAX / 2] {
                let parts: Vec<u64> = (0..n)
                    .map(|i| ShardSpec::new(i, n).unwrap().share(total))
                    .collect();
                assert_eq!(
                    parts.iter().map(|&p| u128::from(p)).sum::<u128>(),
                    u128::from(total)
                );
                let (lo, hi) = (parts.iter().min().unwrap(), parts.iter().max().unwrap());
                assert!(hi - lo <= 1, "{n} shards of {total}: {parts:?}");
            }
        }
        let four: Vec<u64> = (0..4)
            .map(|i| ShardSpec::new(i, 4).unwrap().share(50))
            .collect();
        assert_eq!(four, [12, 13, 12, 13]);
    }
}
