//! Virtual users of the service's items API under a ramping arrival rate:
//! each iteration creates an item and reads it back. `setup` starts the
//! service (`scenarios/sut/service.py`) and keeps it for the whole run;
//! `teardown` stops it and checks it stops cleanly.

use std::cell::RefCell;
use std::time::Duration;

use rigor_guest::prelude::*;

#[path = "../../sut/guest.rs"]
mod sut;

thread_local! {
    // The instance that runs `setup` also runs `teardown`: the service
    // lives here in between, while the VUs (other instances) use it.
    static SERVICE: RefCell<Option<sut::Service>> = const { RefCell::new(None) };
}

struct ItemsApi;

impl VuScenario for ItemsApi {
    fn describe() -> Info {
        Info::new(
            "vu-items-api",
            "Users of the items API under a ramping arrival rate: create an item, read it back",
        )
        .param("vus", "20", "most VUs (max-vus)")
        .param("duration", "4s", "length of each ramp stage")
        .param("rate", "20", "peak iterations per second")
        .param(
            "ready-timeout-ms",
            "10000",
            "how long the service may take to become ready",
        )
    }

    fn setup(params: &Params) -> Result<Params> {
        let ready = Duration::from_millis(params.get("ready-timeout-ms")?);
        let Some(service) = sut::start("healthy", ready)? else {
            return Err(Error::msg(
                "the service did not become ready (see the findings)",
            ));
        };
        let base = service.base.clone();
        SERVICE.with(|s| *s.borrow_mut() = Some(service));
        let mut data = params.clone();
        data.push("base", base);
        Ok(data)
    }

    fn iteration(vu: &Vu, data: &Params) -> Result<()> {
        let base: String = data.get("base")?;
        let create = Histogram::latency("items.create");
        let body = format!(
            "{{\"name\": \"vu-{}-{}\", \"owner\": {}}}",
            vu.id, vu.iteration, vu.id
        );
        let created = Request::post(format!("{base}/items"), body)
            .header("content-type", "application/json")
            .send_timed(&create)?;
        check(
            "item created",
            created.status == 201,
            format!("POST /items answered {}", created.status),
        );
        let text = created.text();
        let id = text
            .split("\"id\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or_else(|| Error::msg(format!("no id in the created item: {text}")))?;
        let read = Histogram::latency("items.read");
        let got = Request::get(format!("{base}/items/{id}")).send_timed(&read)?;
        check(
            "item reads back",
            got.status == 200
                && got
                    .text()
                    .contains(&format!("vu-{}-{}", vu.id, vu.iteration)),
            format!("GET /items/{id} answered {}", got.status),
        );
        Ok(())
    }

    fn teardown(_data: &Params) -> Result<()> {
        if let Some(service) = SERVICE.with(|s| s.borrow_mut().take()) {
            sut::stop(service, Duration::from_secs(3));
        }
        Ok(())
    }
}

rigor_guest::vu_scenario!(ItemsApi);
