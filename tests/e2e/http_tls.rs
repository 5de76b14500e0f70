//! The http probe against real servers: the SUT over HTTPS trusted through
//! `--ca-file` (and refused with an unrelated CA), HTTP/2 negotiated over
//! ALPN and spoken as h2c against hyper's server, loads over HTTP/2 and
//! HTTP/1.1, redirects checked hop by hop, client certificates (mTLS), and
//! the plan-time errors of the grants that support them. Every run goes on
//! to its later scenarios and writes a complete report.

use std::path::Path;

use crate::http_servers::{Mode, TestServer, TlsSut, catalog};
use rigor_tests::pki::TestPki;
use rigor_tests::{read_json, rigor, scenario};

/// Runs every scenario of `catalog` with `--ca-file ca`; returns the report.
fn run(catalog: &Path, names: &[&str], ca: &Path) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = rigor()
        .args(["run", "--catalog"])
        .arg(catalog)
        .args(names)
        .arg("--ca-file")
        .arg(ca)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(json.is_file(), "no report was written:\n{stderr}");
    let report = read_json(&json);
    assert_eq!(report["partial"], false, "{stderr}");
    assert_eq!(
        report["summary"]["total"].as_u64(),
        Some(names.len() as u64),
        "{stderr}"
    );
    (report, stderr)
}

/// The detail of check `name` of scenario `s` (which must have passed and
/// gone on after the request).
fn detail(report: &serde_json::Value, s: &str, name: &str) -> String {
    let s = scenario(report, s);
    assert_eq!(s["status"], "passed", "{s:#}");
    let check = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("check `{name}` missing: {s:#}"));
    check["detail"].as_str().unwrap().to_owned()
}

fn metric_count(report: &serde_json::Value, s: &str, metric: &str) -> u64 {
    scenario(report, s)["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == metric)
        .unwrap_or_else(|| panic!("metric `{metric}` missing"))["summary"]["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn https_to_the_sut_is_trusted_through_a_ca_file_and_refused_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let sut = TlsSut::start(&pki);
    let url = format!("https://127.0.0.1:{}/health", sut.port);
    let cat = catalog(
        dir.path(),
        &[
            ("get", "http-get", &[("url", &url)]),
            ("after", "http-get", &[("url", &url)]),
        ],
    );

    let (report, stderr) = run(&cat, &["get", "after"], &pki.ca);
    let got = detail(&report, "get", "outcome");
    assert!(
        got.starts_with(&format!(
            "200 HTTP/1.1 {url} redirects=0 tls=yes phases-ordered=true {{\"status\": \"ok\""
        )),
        "{got}\n{stderr}"
    );

    // An unrelated CA: the certificate is not trusted, and the error says
    // so and how to fix it; the run goes on to the next scenario.
    let (report, _) = run(&cat, &["get", "after"], &pki.other_ca);
    let got = detail(&report, "get", "outcome");
    assert!(
        got.starts_with("error connection: TLS verification of `127.0.0.1` failed")
            && got.contains("--ca-file"),
        "{got}"
    );
    assert_eq!(metric_count(&report, "get", "after"), 1);
    assert!(detail(&report, "after", "outcome").starts_with("error connection: TLS verification"));
}

#[test]
fn http2_is_negotiated_over_alpn_and_spoken_as_h2c() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let tls = TestServer::start(&pki, Mode::Tls);
    let h2c = TestServer::start(&pki, Mode::H2c);
    let (https, clear) = (tls.url("https", "/"), h2c.url("http", "/"));
    let cat = catalog(
        dir.path(),
        &[
            ("auto", "http-get", &[("url", &https)]),
            ("h1", "http-get", &[("url", &https), ("version", "http1")]),
            ("h2c", "http-get", &[("url", &clear), ("version", "http2")]),
            ("h2c-as-h1", "http-get", &[("url", &clear)]),
        ],
    );
    let (report, stderr) = run(&cat, &["auto", "h1", "h2c", "h2c-as-h1"], &pki.ca);
    let got = detail(&report, "auto", "outcome");
    assert!(
        got.starts_with(&format!(
            "200 HTTP/2 {https} redirects=0 tls=yes phases-ordered=true hello over HTTP/2.0"
        )),
        "{got}\n{stderr}"
    );
    let got = detail(&report, "h1", "outcome");
    assert!(
        got.starts_with("200 HTTP/1.1 ") && got.ends_with("hello over HTTP/1.1"),
        "{got}"
    );
    let got = detail(&report, "h2c", "outcome");
    assert!(
        got.starts_with(&format!("200 HTTP/2 {clear} redirects=0 tls=no"))
            && got.ends_with("hello over HTTP/2.0"),
        "{got}"
    );
    // An HTTP/1.1 request to a server that only speaks HTTP/2 is an error,
    // not a hang.
    let got = detail(&report, "h2c-as-h1", "outcome");
    assert!(got.starts_with("error "), "{got}");
}

#[test]
fn loads_multiplex_http2_and_keep_http1_connections_alive() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let tls = TestServer::start(&pki, Mode::Tls);
    let sut = TlsSut::start(&pki);
    let https = tls.url("https", "/");
    let sut_url = format!("https://127.0.0.1:{}/items", sut.port);
    let cat = catalog(
        dir.path(),
        &[
            (
                "h2",
                "http-load",
                &[
                    ("url", &https),
                    ("workers", "8"),
                    ("connections", "2"),
                    ("requests", "400"),
                ],
            ),
            (
                "h1",
                "http-load",
                &[("url", &sut_url), ("workers", "4"), ("requests", "200")],
            ),
        ],
    );
    let (report, stderr) = run(&cat, &["h2", "h1"], &pki.ca);
    assert_eq!(
        detail(&report, "h2", "load"),
        "sent=400 ok=400 failed=0 version=HTTP/2 connections=2 streams=4 opened=2 error=",
        "{stderr}"
    );
    assert_eq!(
        detail(&report, "h1", "load"),
        "sent=200 ok=200 failed=0 version=HTTP/1.1 connections=4 streams=1 opened=4 error="
    );
    for (s, requests, conns) in [("h2", 400, 2), ("h1", 200, 4)] {
        assert_eq!(metric_count(&report, s, "load"), requests);
        assert_eq!(metric_count(&report, s, "load.first-byte"), requests);
        assert_eq!(metric_count(&report, s, "load.connect"), conns);
        assert_eq!(metric_count(&report, s, "load.tls"), conns);
    }
}

#[test]
fn redirects_are_followed_only_when_asked_and_each_hop_is_granted() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = TestServer::start(&pki, Mode::Tls);
    let port = server.addr.port();
    let to_root = server.url("https", "/redirect?to=/landed");
    // Same port, other host name: not covered by the grant of 127.0.0.1.
    let elsewhere = server.url("https", &format!("/redirect?to=https://localhost:{port}/"));
    let looping = server.url("https", "/loop");
    let cat = catalog(
        dir.path(),
        &[
            ("not-asked", "http-get", &[("url", &to_root)]),
            (
                "followed",
                "http-get",
                &[("url", &to_root), ("redirects", "3")],
            ),
            (
                "ungranted",
                "http-get",
                &[("url", &elsewhere), ("redirects", "3")],
            ),
            ("loop", "http-get", &[("url", &looping), ("redirects", "3")]),
        ],
    );
    let (report, stderr) = run(
        &cat,
        &["not-asked", "followed", "ungranted", "loop"],
        &pki.ca,
    );
    let got = detail(&report, "not-asked", "outcome");
    assert!(
        got.starts_with(&format!("302 HTTP/2 {to_root} redirects=0")),
        "{got}\n{stderr}"
    );
    let got = detail(&report, "followed", "outcome");
    assert!(
        got.starts_with(&format!(
            "200 HTTP/2 https://127.0.0.1:{port}/landed redirects=1"
        )),
        "{got}"
    );
    let got = detail(&report, "ungranted", "outcome");
    assert!(
        got.starts_with(&format!("error denied: redirect from `{elsewhere}`"))
            && got.contains(&format!("http = [\"localhost:{port}\"]")),
        "{got}"
    );
    let got = detail(&report, "loop", "outcome");
    assert!(
        got.starts_with("error server: stopped after 3 redirects") && got.contains("redirect loop"),
        "{got}"
    );
}

#[test]
fn a_client_certificate_is_presented_only_by_its_granted_name() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = TestServer::start(&pki, Mode::MutualTls);
    let url = server.url("https", "/");
    let cat = catalog(
        dir.path(),
        &[
            ("with", "http-get", &[("url", &url), ("identity", "client")]),
            ("without", "http-get", &[("url", &url)]),
            (
                "ungranted",
                "http-get",
                &[("url", &url), ("identity", "prod")],
            ),
        ],
    );
    let (report, stderr) = run(&cat, &["with", "without", "ungranted"], &pki.ca);
    let got = detail(&report, "with", "outcome");
    assert!(got.starts_with("200 HTTP/2 "), "{got}\n{stderr}");
    let got = detail(&report, "without", "outcome");
    assert!(
        got.starts_with("error connection: TLS handshake with `127.0.0.1`")
            && (got.contains("asked for a client certificate")
                || got.contains("CertificateRequired"))
            && got.contains("client-identity"),
        "{got}"
    );
    let got = detail(&report, "ungranted", "outcome");
    assert!(
        got.starts_with("error denied: client certificate `prod` is not granted")
            && got.contains("client-certs = { prod = {"),
        "{got}"
    );
}

#[test]
fn bad_http_grants_fail_the_plan_naming_the_file_field_or_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let cat = catalog(dir.path(), &[("get", "http-get", &[("url", "not a url")])]);
    let out = rigor()
        .args(["run", "--catalog"])
        .arg(&cat)
        .arg("get")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("follows parameter `url`, but `not a url` is not a URL"),
        "{stderr}"
    );

    std::fs::remove_file(&pki.client_key).unwrap();
    let out = rigor()
        .args(["run", "--catalog"])
        .arg(&cat)
        .arg("get")
        .args(["--param", "url=https://127.0.0.1:1/"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("grant `client-certs.client` (`key`)") && stderr.contains("client.key"),
        "{stderr}"
    );
}
