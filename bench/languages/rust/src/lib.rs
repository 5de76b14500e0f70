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
        // Given `gets` (even 0), the connection opens: run(gets=0) then
        // costs everything but the GETs, which the bench subtracts.
        if params.raw("gets").is_some() {
            let gets: u64 = params.get("gets")?;
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
