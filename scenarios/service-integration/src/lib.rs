//! service-integration: the second seed report's integration suite, done
//! right. The engine owns the live service instance (started, awaited,
//! stopped by the host), concurrent clients call its HTTP endpoints through
//! native loads, a shell client's output is validated, and error responses
//! are checked.

// The service-start code both service scenarios share.
#[path = "../../sut/guest.rs"]
mod sut;

use std::time::Duration;

use rigor_guest::prelude::*;

/// The shell client, as granted in the catalog.
const CLIENT: &str = "./sut/client.sh";

/// Lines the shell client must print, in order.
const CLIENT_EXPECTS: &[&str] = &[
    "health: 200",
    "create: 201",
    "list-contains-shell-item: 1",
    "missing: 404",
    "done",
];

struct ServiceIntegration;

fn load_checks(name: &str, report: &rigor_guest::http::LoadReport, expected: u16) {
    let wrong: u64 = report
        .statuses
        .iter()
        .filter(|(s, _)| *s != expected)
        .map(|(_, n)| n)
        .sum();
    check(
        &format!("{name}: every request answered {expected}"),
        report.failed == 0 && wrong == 0 && report.sent > 0,
        format!(
            "{} sent, {} answered {expected}, {wrong} other statuses {:?}, {} without response{}; {:.0} req/s, p99 {:.2} ms",
            report.sent,
            report.sent - report.failed - wrong,
            report.statuses,
            report.failed,
            report
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default(),
            report.throughput,
            report.latency.p99 as f64 / 1e6
        ),
    );
}

impl Scenario for ServiceIntegration {
    fn describe() -> Info {
        Info::new(
            "service-integration",
            "Integration suite against a live service owned by the engine: concurrent clients, a shell client, error responses",
        )
        .param("fixture-mode", "healthy", "healthy, fail-at-start or never-ready")
        .param("ready-timeout-ms", "5000", "how long the service may take to become ready")
        .param("workers", "8", "concurrent connections of the closed loads")
        .param("requests", "1000", "requests of the GET /items load (POST gets a quarter)")
        .param("rate", "200.0", "requests per second of the open-model /health load")
        .param("open-duration-ms", "2000", "length of the open-model load")
        .param("p99-ms", "250", "threshold on the p99 of the GET loads")
    }

    fn run(params: &Params) -> Result<()> {
        let mode: String = params.get("fixture-mode")?;
        let ready_timeout = Duration::from_millis(params.get("ready-timeout-ms")?);
        let workers: u32 = params.get("workers")?;
        let requests: u64 = params.get("requests")?;
        let rate: f64 = params.get("rate")?;
        let open_duration = Duration::from_millis(params.get("open-duration-ms")?);
        let p99: u64 = params.get("p99-ms")?;

        let Some(service) = sut::start(&mode, ready_timeout)? else {
            return Ok(());
        };
        let base = service.base.clone();

        // Concurrent clients: closed loads on the data endpoints, then an
        // open-model load at a fixed rate on /health.
        let get = HttpLoad::new(Request::get(format!("{base}/items")), "items.get")
            .workers(workers)
            .requests(requests)
            .run()?;
        load_checks("GET /items", &get, 200);
        let post = HttpLoad::new(
            Request::post(format!("{base}/items"), r#"{"name":"load"}"#)
                .header("Content-Type", "application/json"),
            "items.post",
        )
        .workers(workers)
        .requests((requests / 4).max(1))
        .run()?;
        load_checks("POST /items", &post, 201);
        let open = HttpLoad::new(Request::get(format!("{base}/health")), "health.open")
            .workers(workers)
            .rate(rate)
            .duration(open_duration)
            .run()?;
        load_checks("GET /health at a fixed rate", &open, 200);
        threshold("items.get", &format!("p(99) < {p99}ms"))?;
        threshold("health.open", &format!("p(99) < {p99}ms"))?;
        threshold("items.get.error-rate", "value < 0.01")?;

        // Every POST is visible afterwards.
        let listed = Request::get(format!("{base}/items")).send()?;
        let count = listed.text().matches("\"load\"").count() as u64;
        check(
            "every created item is listed",
            count == post.ok,
            format!("{count} items named `load` listed, {} created", post.ok),
        );

        // The shell client, validated line by line.
        let port = base.rsplit(':').next().unwrap_or_default().to_owned();
        let exit = Command::new(CLIENT)
            .env("PORT", port)
            .output(Duration::from_secs(10))?;
        let lines: Vec<&str> = exit.stdout_tail.lines().collect();
        check(
            "shell client exits with code 0",
            exit.status.success(),
            format!("{}; stderr: {}", exit.status, exit.stderr_tail),
        );
        for expected in CLIENT_EXPECTS {
            let found = lines.contains(expected);
            check(
                &format!("shell client prints `{expected}`"),
                found,
                if found {
                    "found".to_owned()
                } else {
                    format!("its output was:\n{}", exit.stdout_tail)
                },
            );
        }

        // Error responses are errors, with a JSON explanation.
        let errors: &[(&str, &str, &str, u16)] = &[
            ("GET", "/error", "", 500),
            ("GET", "/items/999999", "", 404),
            ("POST", "/items", "not json", 400),
            ("POST", "/items", "[1, 2]", 400),
            ("GET", "/no-such-route", "", 404),
        ];
        for (method, path, body, expected) in errors {
            let name = format!("{method} {path} {body} answers {expected} with an error message")
                .replace("  ", " ");
            match Request::new(method, format!("{base}{path}"))
                .body(body.as_bytes())
                .send()
            {
                Ok(r) => check(
                    &name,
                    r.status == *expected && r.text().contains("\"error\""),
                    format!("status {}, body {}", r.status, r.text()),
                ),
                Err(e) => check(&name, false, e.to_string()),
            }
        }

        sut::stop(service, Duration::from_secs(3));
        Ok(())
    }
}

rigor_guest::scenario!(ServiceIntegration);
