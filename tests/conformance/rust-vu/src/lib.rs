//! The conformance VU scenario (tests/conformance/SPEC.md) through the Rust
//! SDK: setup data, the VU context, pooled Redis, teardown.

use rigor_guest::prelude::*;

struct ConformanceVu;

impl VuScenario for ConformanceVu {
    fn describe() -> Info {
        Info::new("conformance-vu", "The VU world through the SDK")
    }

    fn setup(_params: &Params) -> Result<Params> {
        Redis::open("default")?.set("conf:vu", b"ready")?;
        let mut data = Params::new(Vec::new());
        data.push("conf", "conf-data");
        Ok(data)
    }

    fn iteration(vu: &Vu, data: &Params) -> Result<()> {
        check("vu.data", data.raw("conf") == Some("conf-data"), "");
        check(
            "vu.context",
            (1..=2).contains(&vu.id),
            format!("vu {}", vu.id),
        );
        let h = Histogram::latency("conf.vu.get");
        let value = Redis::pooled("default")?.get_timed("conf:vu", &h)?;
        check("vu.redis", value.as_deref() == Some(b"ready"), "");
        counter("conf.vu.iterations", 1);
        Ok(())
    }

    fn teardown(_data: &Params) -> Result<()> {
        let deleted = Redis::open("default")?.del(&["conf:vu"])?;
        check("vu.teardown", deleted == 1, format!("deleted {deleted}"));
        Ok(())
    }
}

rigor_guest::vu_scenario!(ConformanceVu);
