//! The catalog's `http-load` scenario end to end: its grant follows the
//! `url` parameter (a value that is not a URL fails the plan), it loads the
//! SUT over HTTPS with kept-alive HTTP/1.1 connections and hyper's server
//! over HTTP/2, multiplexed over TLS and as h2c.

use crate::http_servers::{Mode, TestServer, TlsSut};
use rigor_tests::pki::TestPki;
use rigor_tests::{read_json, run_rigor, scenario};

/// Runs `http-load` with `params` and `--ca-file ca`; returns the scenario.
fn http_load(params: &[String], ca: &std::path::Path) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut args = vec!["run".to_owned(), "http-load".to_owned()];
    for p in params {
        args.extend(["--param".to_owned(), p.clone()]);
    }
    args.extend([
        "--ca-file".to_owned(),
        ca.display().to_string(),
        "--json".to_owned(),
        json.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run_rigor(&args);
    assert!(json.is_file(), "{}", run.describe());
    scenario(&read_json(&json), "http-load").clone()
}

fn log_lines(s: &serde_json::Value) -> String {
    s["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn count(s: &serde_json::Value, metric: &str) -> u64 {
    s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == metric)
        .unwrap_or_else(|| panic!("metric `{metric}` missing: {s:#}"))["summary"]["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn http_load_drives_the_sut_over_https_and_hyper_over_http2() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let sut = TlsSut::start(&pki);
    let s = http_load(
        &[
            format!("url=https://127.0.0.1:{}/items", sut.port),
            "workers=4".into(),
            "duration=1s".into(),
            // A loaded 2-core machine: the latency threshold is not the test.
            "p99=60s".into(),
        ],
        &pki.ca,
    );
    assert_eq!(s["status"], "passed", "{s:#}");
    let logs = log_lines(&s);
    assert!(
        logs.contains("HTTP/1.1, 4 kept-alive connections, closed model"),
        "{logs}"
    );
    assert!(count(&s, "http") > 0);
    assert_eq!(count(&s, "http.tls"), 4);

    let server = TestServer::start(&pki, Mode::Tls);
    let s = http_load(
        &[
            format!("url={}", server.url("https", "/")),
            "workers=8".into(),
            "connections=2".into(),
            "http2=true".into(),
            "rate=200".into(),
            "duration=1s".into(),
            "p99=60s".into(),
        ],
        &pki.ca,
    );
    assert_eq!(s["status"], "passed", "{s:#}");
    let logs = log_lines(&s);
    assert!(
        logs.contains("HTTP/2, 2 connections multiplexed, 4 streams each, open model at 200/s"),
        "{logs}"
    );
    // 200/s for 1 s: 200 slots on the timeline.
    let sent = count(&s, "http");
    assert!((199..=200).contains(&sent), "{sent}");
    assert_eq!(count(&s, "http.connect"), 2);
}

#[test]
fn http_load_refuses_a_url_that_is_not_one_and_speaks_h2c() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let run = run_rigor(&["run", "http-load", "--param", "url=127.0.0.1:8080"]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .contains("follows parameter `url`, but `127.0.0.1:8080` is not a URL"),
        "{}",
        run.describe()
    );
    // Prior knowledge on http://, one connection per worker by default.
    let server = TestServer::start(&pki, Mode::H2c);
    let s = http_load(
        &[
            format!("url={}", server.url("http", "/")),
            "http2=true".into(),
            "workers=2".into(),
            "duration=500ms".into(),
            "p99=60s".into(),
        ],
        &pki.ca,
    );
    assert_eq!(s["status"], "passed", "{s:#}");
    assert!(log_lines(&s).contains("HTTP/2, 2 connections multiplexed, 1 streams each"));
}
