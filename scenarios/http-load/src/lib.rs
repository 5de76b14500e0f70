//! http-load: the `wrk`/`oha` of the catalog — a native HTTP load against
//! the URL the person running it names (the catalog grants that URL's host
//! and port, nothing else), closed or open model, HTTP/1.1 kept alive or
//! HTTP/2 multiplexed, judged on error rate and p99.

use std::time::Duration;

use rigor_guest::prelude::*;

struct HttpLoadScenario;

/// `250ms`, `10s`, `2m`, `1h`, or a bare number of seconds: the forms a
/// duration parameter takes in practice (the host has already checked it).
fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| Error::msg(format!("`{text}` is not a duration like `10s`")))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(Error::msg(format!(
                "unit `{other}` of `{text}`: use ms, s, m or h"
            )));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

impl Scenario for HttpLoadScenario {
    fn describe() -> Info {
        Info::new(
            "http-load",
            "Native HTTP load against a URL you name: throughput, latency by phase, error rate",
        )
        .param(
            "url",
            "http://127.0.0.1:8080/",
            "the URL every request goes to (its host:port is what the scenario may reach)",
        )
        .param("method", "GET", "request method")
        .param("body", "", "request body (empty for none)")
        .param("workers", "50", "concurrent requests in flight")
        .param("duration", "10s", "how long to run")
        .param(
            "rate",
            "0",
            "requests per second, open model; 0 = closed model",
        )
        .param(
            "http2",
            "false",
            "speak HTTP/2 (ALPN h2 on https://, h2c on http://)",
        )
        .param(
            "connections",
            "0",
            "HTTP/2: connections the workers share (0 = one per worker)",
        )
        .param(
            "max-error-rate",
            "0.01",
            "(failed + 5xx) / sent above which the scenario fails",
        )
        .param("p99", "1s", "p99 latency above which the scenario fails")
    }

    fn run(params: &Params) -> Result<()> {
        let url: String = params.get("url")?;
        let method: String = params.get("method")?;
        let body: String = params.get_or("body", String::new())?;
        let workers: u32 = params.get("workers")?;
        let duration = parse_duration(&params.get::<String>("duration")?)?;
        let rate: f64 = params.get("rate")?;
        let http2: bool = params.get("http2")?;
        let connections: u32 = params.get("connections")?;
        let threads: u32 = params.get("threads")?;
        let max_error_rate: f64 = params.get("max-error-rate")?;
        let p99: String = params.get("p99")?;

        let mut request = Request::new(&method, url.clone()).body(body);
        if http2 {
            request = request.http2();
        }
        let mut load = HttpLoad::new(request, "http")
            .workers(workers)
            .duration(duration)
            .connections(connections)
            .threads(threads);
        if rate > 0.0 {
            load = load.rate(rate);
        }
        let report = load.run()?;
        let version = match report.version {
            Some(HttpVersion::Http2) => "HTTP/2",
            Some(HttpVersion::Http1) => "HTTP/1.1",
            None => "no connection",
        };
        let reuse = match report.version {
            Some(HttpVersion::Http2) => format!(
                "{} connections multiplexed, {} streams each",
                report.connections, report.streams_per_connection
            ),
            _ => format!("{} kept-alive connections", report.connections),
        };
        let model = if rate > 0.0 {
            format!("open model at {rate}/s")
        } else {
            "closed model".to_owned()
        };
        log::info(format!(
            "{method} {url}: {version}, {reuse}, {model}; {} sent, {} ok, {} HTTP errors, {} failed, {:.0} responses/s, {} connections opened",
            report.sent,
            report.ok,
            report.http_errors,
            report.failed,
            report.throughput,
            report.connections_opened
        ));
        if let Some(e) = &report.first_error {
            log::warn(format!("first error: {e}"));
        }
        check(
            "every request was answered",
            report.failed == 0,
            format!("{} of {} got no response", report.failed, report.sent),
        );
        threshold("http.error-rate", &format!("value <= {max_error_rate}"))?;
        threshold("http", &format!("p(99) < {p99}"))?;
        Ok(())
    }
}

rigor_guest::scenario!(HttpLoadScenario);
