//! {{name}}: SET then GET `ops` keys against Redis, each round trip timed by
//! the host into the `set` and `get` histograms; checks that every GET
//! returns what SET wrote and that GET stays fast.

use rigor_guest::prelude::*;

struct Template;

impl Scenario for Template {
    fn describe() -> Info {
        Info::new(
            "{{name}}",
            "SET then GET round trips against the default Redis target",
        )
        .param("ops", "100", "timed SETs and GETs")
        .param(
            "key-prefix",
            "rigor:{{name}}:",
            "prefix of every key written (removed at the end)",
        )
    }

    fn run(params: &Params) -> Result<()> {
        let ops: u64 = params.get("ops")?;
        let prefix: String = params.get("key-prefix")?;
        let redis = Redis::open("default")?;
        let set_latency = Histogram::latency("set");
        let get_latency = Histogram::latency("get");
        for i in 0..ops {
            let value = format!("value-{i}");
            redis.set_timed(&format!("{prefix}{i}"), value.as_bytes(), &set_latency)?;
        }
        let mut wrong = 0;
        for i in 0..ops {
            let value = redis.get_timed(&format!("{prefix}{i}"), &get_latency)?;
            if value.as_deref() != Some(format!("value-{i}").as_bytes()) {
                wrong += 1;
            }
        }
        check(
            "get returns what set wrote",
            wrong == 0,
            format!("{wrong} of {ops} GETs differed"),
        );
        threshold("get", "p(99) < 100ms")?;
        let removed = redis.clear_prefix(&prefix)?;
        log::info(format!("removed {removed} keys under {prefix}"));
        Ok(())
    }
}

rigor_guest::scenario!(Template);
