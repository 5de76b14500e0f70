//! The VU of `rigor-bench vus`: `get-sleep` (one pooled Redis GET, then
//! `sleep-ms`), `get` (one pooled GET) or `empty` (nothing: the cost of an
//! iteration itself).

use std::time::Duration;

use rigor_guest::prelude::*;

struct BenchVu;

impl VuScenario for BenchVu {
    fn describe() -> Info {
        Info::new(
            "bench-vu",
            "VU iteration for the density and overhead bench",
        )
        .param("mode", "get-sleep", "get-sleep, get or empty")
        .param("sleep-ms", "1000", "pause after the GET in get-sleep")
    }

    fn iteration(vu: &Vu, data: &Params) -> Result<()> {
        let mode = data.raw("mode").unwrap_or("get-sleep");
        if mode == "empty" {
            return Ok(());
        }
        let key = format!("bench:vu:{}", vu.id % 1024);
        Redis::pooled("default")?.command(&[b"GET", key.as_bytes()])?;
        if mode == "get-sleep" {
            sleep(Duration::from_millis(data.get("sleep-ms")?));
        }
        Ok(())
    }
}

rigor_guest::vu_scenario!(BenchVu);
