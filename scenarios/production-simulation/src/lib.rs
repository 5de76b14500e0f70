//! production-simulation: start the real service with a production-like
//! environment, wait until it is ready, run smoke requests, stop it cleanly.
//! The seed report's "Production Simulation Testing": a start-up failure
//! that mocked tests miss becomes a critical finding with the exit code and
//! the stderr tail, and the scenario fails.

// The service-start code both service scenarios share.
#[path = "../../sut/guest.rs"]
mod sut;

use std::time::Duration;

use rigor_guest::prelude::*;

struct ProductionSimulation;

/// One smoke request: method, path, body, expected status.
const SMOKE: &[(&str, &str, &str, u16)] = &[
    ("GET", "/health", "", 200),
    ("POST", "/items", r#"{"name":"smoke"}"#, 201),
    ("GET", "/items", "", 200),
    ("GET", "/items/1", "", 200),
    ("POST", "/echo", "ping", 200),
    ("GET", "/no-such-route", "", 404),
];

impl Scenario for ProductionSimulation {
    fn describe() -> Info {
        Info::new(
            "production-simulation",
            "Start the service with a production environment, wait for readiness, smoke-test it, stop it cleanly",
        )
        .param(
            "fixture-mode",
            "healthy",
            "healthy, fail-at-start (missing SECRET_KEY) or never-ready",
        )
        .param("ready-timeout-ms", "5000", "how long the service may take to become ready")
        .param("health-requests", "50", "timed GET /health requests after the smoke set")
        .param("stop-grace-ms", "3000", "how long SIGTERM gets before SIGKILL")
        .param(
            "health-p99-ms",
            "100",
            "threshold on the p99 of the timed GET /health requests",
        )
    }

    fn run(params: &Params) -> Result<()> {
        let mode: String = params.get("fixture-mode")?;
        let ready_timeout = Duration::from_millis(params.get("ready-timeout-ms")?);
        let health_requests: u32 = params.get("health-requests")?;
        let grace = Duration::from_millis(params.get("stop-grace-ms")?);
        let health_p99: u64 = params.get("health-p99-ms")?;

        let Some(service) = sut::start(&mode, ready_timeout)? else {
            return Ok(());
        };

        let smoke = Histogram::latency("smoke");
        for (method, path, body, expected) in SMOKE {
            let request =
                Request::new(method, format!("{}{path}", service.base)).body(body.as_bytes());
            let name = format!("{method} {path} answers {expected}");
            match request.send_timed(&smoke) {
                Ok(r) => {
                    let body_ok = *path != "/echo" || r.body == body.as_bytes();
                    check(
                        &name,
                        r.status == *expected && body_ok,
                        format!("status {}, body {}", r.status, r.text()),
                    );
                }
                Err(e) => check(&name, false, e.to_string()),
            }
        }

        let health = Histogram::latency("health");
        let url = format!("{}/health", service.base);
        let mut failures = 0u32;
        for _ in 0..health_requests {
            match Request::get(&url).send_timed(&health) {
                Ok(r) if r.status == 200 => {}
                _ => failures += 1,
            }
        }
        check(
            "health stays 200 under sequential requests",
            failures == 0,
            format!("{failures} of {health_requests} requests did not answer 200"),
        );
        if health_requests > 0 {
            threshold("health", &format!("p(99) < {health_p99}ms"))?;
        }

        sut::stop(service, grace);
        Ok(())
    }
}

rigor_guest::scenario!(ProductionSimulation);
