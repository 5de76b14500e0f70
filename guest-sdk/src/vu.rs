//! Virtual users: the behaviour of one user, run by many VUs at once under
//! the executor the catalog configures (k6's executors).
//!
//! ```no_run
//! use rigor_guest::prelude::*;
//! use rigor_guest::vu::{VuScenario, Vu};
//!
//! struct Browse;
//!
//! impl VuScenario for Browse {
//!     fn describe() -> Info {
//!         Info::new("browse", "Each VU reads its session").param("think-ms", "100", "pause per iteration")
//!     }
//!
//!     fn iteration(vu: &Vu, data: &Params) -> Result<()> {
//!         let redis = Redis::open("default")?;
//!         redis.command(&[b"GET", format!("session:{}", vu.id).as_bytes()])?;
//!         sleep(std::time::Duration::from_millis(data.get("think-ms")?));
//!         Ok(())
//!     }
//! }
//!
//! rigor_guest::vu_scenario!(Browse);
//! ```

use crate::{Info, Params, Result};

/// What one iteration is told about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vu {
    /// The VU's number, from 1 (k6's `__VU`).
    pub id: u32,
    /// This VU's iteration number, from 0 (k6's `__ITER`).
    pub iteration: u64,
    /// The iteration's number among all of the scenario's, from 0.
    pub scenario_iteration: u64,
    /// Deterministic per VU for a given run seed (`rigor run --seed`).
    pub seed: u64,
}

impl Vu {
    /// A small deterministic generator seeded with this VU's seed and
    /// iteration: the same choices when the run is repeated with its seed.
    pub fn rng(&self) -> Rng {
        Rng::new(self.seed ^ self.iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// SplitMix64: small, fast and good enough to pick keys and think times.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// A virtual-user scenario: implement this and export it with
/// [`vu_scenario!`](crate::vu_scenario).
pub trait VuScenario {
    /// Name, description and parameters; no side effects.
    fn describe() -> Info;

    /// Runs once before any VU starts. What it returns is handed to every
    /// iteration and to `teardown`; by default, the run's parameters.
    fn setup(params: &Params) -> Result<Params> {
        Ok(params.clone())
    }

    /// One iteration of one VU. An `Err` counts as a failed iteration; the
    /// other VUs go on.
    fn iteration(vu: &Vu, data: &Params) -> Result<()>;

    /// Runs once after every VU has stopped.
    fn teardown(data: &Params) -> Result<()> {
        let _ = data;
        Ok(())
    }
}

/// Setup data on the wire: `name \0 value \0` pairs.
#[doc(hidden)]
pub fn encode(params: &Params) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in params.iter() {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    out
}

#[doc(hidden)]
pub fn decode(data: &[u8]) -> Params {
    let mut fields = data.split(|&b| b == 0);
    let mut values = Vec::new();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        values.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Params::new(values)
}

#[doc(hidden)]
pub fn __setup<S: VuScenario>(
    params: Vec<(String, String)>,
) -> core::result::Result<Vec<u8>, String> {
    S::setup(&Params::new(params))
        .map(|data| encode(&data))
        .map_err(|e| e.to_string())
}

#[doc(hidden)]
pub fn __iteration<S: VuScenario>(vu: Vu, data: &[u8]) -> core::result::Result<(), String> {
    S::iteration(&vu, &decode(data)).map_err(|e| e.to_string())
}

#[doc(hidden)]
pub fn __teardown<S: VuScenario>(data: &[u8]) -> core::result::Result<(), String> {
    S::teardown(&decode(data)).map_err(|e| e.to_string())
}

/// Exports a type implementing [`VuScenario`] as the component's VU scenario.
#[macro_export]
macro_rules! vu_scenario {
    ($ty:ty) => {
        #[doc(hidden)]
        pub struct __RigorVuScenarioExport;

        impl $crate::vu_bindings::Guest for __RigorVuScenarioExport {
            fn describe() -> $crate::bindings::rigor::scenario::types::ScenarioInfo {
                <$ty as $crate::vu::VuScenario>::describe().into_wit()
            }
            fn setup(
                params: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                $crate::vu::__setup::<$ty>(params)
            }
            fn iteration(
                vu: $crate::bindings::rigor::scenario::types::VuContext,
                data: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                $crate::vu::__iteration::<$ty>(
                    $crate::vu::Vu {
                        id: vu.vu,
                        iteration: vu.iteration,
                        scenario_iteration: vu.scenario_iteration,
                        seed: vu.seed,
                    },
                    &data,
                )
            }
            fn teardown(
                data: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                $crate::vu::__teardown::<$ty>(&data)
            }
        }

        $crate::vu_bindings::__export_vu_scenario_world!(__RigorVuScenarioExport with_types_in $crate::vu_bindings);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_data_round_trips() {
        let p = Params::new(vec![("a".into(), "1".into()), ("b".into(), "x y".into())]);
        let back = decode(&encode(&p));
        assert_eq!(back.raw("a"), Some("1"));
        assert_eq!(back.raw("b"), Some("x y"));
        assert_eq!(decode(&[]).iter().count(), 0);
    }

    #[test]
    fn the_generator_is_deterministic_and_bounded() {
        let vu = Vu {
            id: 1,
            iteration: 3,
            scenario_iteration: 9,
            seed: 42,
        };
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = vu.rng();
                move |_| r.below(10)
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = vu.rng();
                move |_| r.below(10)
            })
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|&n| n < 10));
    }
}
