//! Seeds: one run seed (random unless `--seed` or a replayed report gives
//! it), and everything random a scenario does derived from it — the
//! scenario's seed, each shard's, each load's, each VU's (`vu::vu_seed` of
//! the scenario seed) and the guest's WASI random sources — so a run with
//! the same seed and plan makes the same choices.

use rand::SeedableRng as _;
use rand::rngs::StdRng;

use super::ShardSpec;

/// SplitMix64's finaliser: nearby inputs give unrelated outputs.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of stream `n` under `seed`.
pub fn derive(seed: u64, n: u64) -> u64 {
    mix(seed ^ mix(n.wrapping_add(0x5EED)))
}

/// FNV-1a: a stable hash of a name (the same on every host and release).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A scenario's seed under the run seed: depends on nothing else, so it is
/// the same on every shard and in a replay.
pub fn scenario_seed(run_seed: u64, scenario: &str) -> u64 {
    derive(run_seed, name_hash(scenario))
}

/// The seed this shard's random choices start from: the scenario seed
/// itself for an unsharded run, a distinct stream per shard otherwise (so
/// shards do not all draw the same keys).
pub fn shard_seed(scenario_seed: u64, shard: ShardSpec) -> u64 {
    if shard.is_sharded() {
        derive(scenario_seed, 1 + u64::from(shard.index()))
    } else {
        scenario_seed
    }
}

/// A fresh run seed when none is given.
pub fn random_run_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let stack = &nanos as *const u64 as u64;
    mix(nanos ^ mix(u64::from(std::process::id())) ^ mix(stack))
}

/// The generators behind the guest's `wasi:random` interfaces, derived
/// from `seed`: `random` (called "secure" by WASI), `insecure` and
/// `insecure-seed`. A scenario is a test, not a key generator: its random
/// bytes repeat with the run seed, on purpose.
pub struct WasiRandom {
    pub secure: StdRng,
    pub insecure: StdRng,
    pub insecure_seed: u128,
}

impl WasiRandom {
    pub fn from_seed(seed: u64) -> Self {
        let stream = |n: u64| derive(seed, 0xA5A5_0000 + n);
        Self {
            secure: StdRng::seed_from_u64(stream(1)),
            insecure: StdRng::seed_from_u64(stream(2)),
            insecure_seed: (u128::from(stream(3)) << 64) | u128::from(stream(4)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn seeds_depend_on_the_run_seed_the_name_and_the_shard_only() {
        assert_eq!(scenario_seed(1, "a"), scenario_seed(1, "a"));
        assert_ne!(scenario_seed(1, "a"), scenario_seed(1, "b"));
        assert_ne!(scenario_seed(1, "a"), scenario_seed(2, "a"));
        let s = scenario_seed(7, "redis-concurrency");
        assert_eq!(shard_seed(s, ShardSpec::WHOLE), s);
        let shards: std::collections::BTreeSet<u64> = (0..64)
            .map(|i| shard_seed(s, ShardSpec::new(i, 64).unwrap()))
            .collect();
        assert_eq!(shards.len(), 64);
        assert!(!shards.contains(&s));
    }

    #[test]
    fn wasi_random_repeats_with_the_seed() {
        let draw = |seed| {
            let mut r = WasiRandom::from_seed(seed);
            (r.secure.next_u64(), r.insecure.next_u64(), r.insecure_seed)
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
        let (a, b, _) = draw(42);
        assert_ne!(a, b, "the secure and insecure streams differ");
    }
}
