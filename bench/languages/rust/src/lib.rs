//! Languages bench guest (Rust): `calls` cheap host calls (`clock.now`),
//! then `gets` GETs of `key:0`, each timed by the host into `get`.

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
        let gets: u64 = params.get_or("gets", 0)?;
        if gets > 0 {
            let redis = Redis::open("default")?;
            let h = Histogram::latency("get");
            for _ in 0..gets {
                std::hint::black_box(redis.get_timed("key:0", &h)?);
            }
        }
        Ok(())
    }
}

rigor_guest::scenario!(Calls);
