//! Languages bench guest (Rust): `calls` cheap host calls (`clock.now`).

use rigor_guest::prelude::*;

struct Calls;

impl Scenario for Calls {
    fn describe() -> Info {
        Info::new("bench-lang-rust", "Guest-to-host call overhead").param(
            "calls",
            "0",
            "clock.now calls",
        )
    }

    fn run(params: &Params) -> Result<()> {
        let calls: u64 = params.get("calls")?;
        for _ in 0..calls {
            std::hint::black_box(now());
        }
        Ok(())
    }
}

rigor_guest::scenario!(Calls);
