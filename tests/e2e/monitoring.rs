//! Live outputs through the binary: a real Prometheus server fed by remote
//! write (native and classic histograms) and queried with PromQL, OTLP
//! decoded with the official OpenTelemetry types, and endpoints that refuse,
//! hang or carry credentials.

use std::path::Path;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use prost::Message;
use rigor::metrics::Unit;
use rigor::outputs::names::{Kind, prometheus_name};
use rigor::outputs::native_histogram::{bucket_factor, classic_bounds};
use rigor_tests::monitoring::{HttpSink, PrometheusServer, SilentEndpoint, dead_port};
use rigor_tests::{Run, read_json, run_rigor, scenario};

use crate::reports::{schema_errors, schema_validator};

/// Small runs of the two catalog Redis scenarios (the managed redis-server).
const SMALL: &[&str] = &[
    "redis-latency:ops=200",
    "redis-latency:warmup=20",
    "redis-latency:open-duration-ms=1000",
    "redis-concurrency:workers=10",
    "redis-concurrency:ops=100",
    "redis-concurrency:min-throughput=1",
];

fn run_with(scenarios: &[&str], extra: &[&str], json: &Path) -> (Run, serde_json::Value) {
    let mut args = vec!["run"];
    args.extend_from_slice(scenarios);
    for param in SMALL {
        if scenarios
            .iter()
            .any(|s| param.starts_with(&format!("{s}:")))
        {
            args.extend(["-p", param]);
        }
    }
    args.extend_from_slice(extra);
    args.extend(["--json", json.to_str().unwrap()]);
    let run = run_rigor(&args);
    assert!(json.is_file(), "no report\n{}", run.describe());
    // A latency threshold may fail on a busy machine: the outputs must
    // carry whatever the report says, so any verdict will do.
    assert!(run.code == 0 || run.code == 1, "{}", run.describe());
    let report = read_json(json);
    (run, report)
}

fn unit(m: &serde_json::Value) -> Unit {
    serde_json::from_value(m["unit"].clone()).unwrap()
}

fn histograms(s: &serde_json::Value) -> Vec<&serde_json::Value> {
    s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "histogram")
        .collect()
}

#[test]
fn prometheus_holds_the_runs_series_and_agrees_with_the_report() {
    let prom = PrometheusServer::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = format!("prometheus={},interval=1s", prom.write_url());
    let (run, report) = run_with(
        &["redis-latency", "redis-concurrency"],
        &["--out", &out, "--tag", "team=db"],
        &json,
    );
    let run_id = report["run_id"].as_str().expect("a run id").to_owned();
    // The run's own id, shared by every shard of a sharded run.
    assert_eq!(Some(run_id.as_str()), report["run"]["id"].as_str());
    let outputs = report["outputs"].as_array().expect("outputs in the report");
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["kind"], "prometheus");
    assert_eq!(outputs[0]["batches_dropped"], 0, "{}", run.describe());
    assert!(outputs[0]["batches_sent"].as_u64().unwrap() >= 2);

    // The name convention, spelt out once.
    let s = scenario(&report, "redis-latency");
    let get = s["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "get.100B")
        .unwrap();
    let count = prom.value(&format!(
        "histogram_count(rigor_get_100b_seconds{{run_id=\"{run_id}\",team=\"db\"}})"
    ));
    assert_eq!(count, get["summary"]["count"].as_f64().unwrap());

    // Every distribution: the count exactly, p99 within the native
    // histogram's resolution (the report's value and Prometheus' estimate
    // lie in the same bucket, or adjacent ones where the two round the
    // rank differently: two bucket widths).
    let tolerance = 2.0 * (bucket_factor() - 1.0) + 1e-9;
    let mut checked = 0;
    for name in ["redis-latency", "redis-concurrency"] {
        let s = scenario(&report, name);
        for m in histograms(s) {
            let metric = m["name"].as_str().unwrap();
            let series = format!(
                "{}{{run_id=\"{run_id}\",scenario=\"{name}\",metric=\"{metric}\"}}",
                prometheus_name(metric, unit(m), Kind::Histogram)
            );
            let summary = &m["summary"];
            let count = prom.value(&format!("histogram_count({series})"));
            assert_eq!(count, summary["count"].as_f64().unwrap(), "{series}");
            let p99 = summary["p99"].as_f64().unwrap() * 1e-9;
            let q = prom.value(&format!("histogram_quantile(0.99, {series})"));
            assert!(
                (q / p99 - 1.0).abs() <= tolerance,
                "{series}: Prometheus p99 {q} s, report {p99} s"
            );
            checked += 1;
        }
        // Gauges, converted to their base unit.
        for m in s["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "gauge")
        {
            let metric = m["name"].as_str().unwrap();
            let got = prom.value(&format!(
                "{}{{run_id=\"{run_id}\",scenario=\"{name}\",metric=\"{metric}\"}}",
                prometheus_name(metric, unit(m), Kind::Gauge)
            ));
            let want = m["value"].as_f64().unwrap()
                * if unit(m) == Unit::Nanoseconds {
                    1e-9
                } else {
                    1.0
                };
            assert!(
                (got - want).abs() <= want.abs() * 1e-12,
                "{metric}: {got} vs {want}"
            );
        }
        // Threshold states, one series each, as the report judged them.
        let thresholds = s["thresholds"].as_array().unwrap();
        assert!(!thresholds.is_empty());
        for t in thresholds {
            let passing = prom.value(&format!(
                "rigor_threshold_passing{{run_id=\"{run_id}\",scenario=\"{name}\",metric=\"{}\",expression=\"{}\"}}",
                t["metric"].as_str().unwrap(),
                t["expression"].as_str().unwrap()
            ));
            assert_eq!(passing == 1.0, t["passed"].as_bool().unwrap(), "{t:#}");
        }
        let running = prom.value(&format!(
            "rigor_scenario_running{{run_id=\"{run_id}\",scenario=\"{name}\"}}"
        ));
        assert_eq!(running, 0.0);
    }
    assert!(checked >= 10, "{checked} histograms checked");

    // Every query of the Grafana dashboard runs on this server, and the
    // panels over native histograms, thresholds and scenarios show the run.
    let dashboard = read_json(&rigor_tests::repo_root().join("deploy/grafana/rigor.json"));
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$run_id", &run_id)
                .replace("$scenario", ".*")
                .replace("$__rate_interval", "5m")
                .replace("$__range", "1h");
            let result = prom.query(&expr);
            let title = panel["title"].as_str().unwrap();
            if [1, 6, 7].contains(&panel["id"].as_u64().unwrap()) {
                assert!(!result.is_empty(), "{title}: `{expr}` returned nothing");
            }
        }
    }
}

#[test]
fn prometheus_classic_histograms_count_every_value() {
    let prom = PrometheusServer::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = format!("prometheus={},histograms=classic", prom.write_url());
    let (_, report) = run_with(&["redis-concurrency"], &["--out", &out], &json);
    let run_id = report["run_id"].as_str().unwrap();
    let s = scenario(&report, "redis-concurrency");
    let m = histograms(s)
        .into_iter()
        .find(|m| m["name"] == "concurrency.all")
        .unwrap();
    let count = m["summary"]["count"].as_f64().unwrap();
    let sel = format!("{{run_id=\"{run_id}\",metric=\"concurrency.all\"}}");
    assert_eq!(
        prom.value(&format!("rigor_concurrency_all_seconds_count{sel}")),
        count
    );
    let inf = format!("rigor_concurrency_all_seconds_bucket{{run_id=\"{run_id}\",le=\"+Inf\"}}");
    assert_eq!(prom.value(&inf), count);
    // p99 from the classic buckets lies in the bucket holding the report's.
    let p99 = m["summary"]["p99"].as_f64().unwrap() * 1e-9;
    let bounds = classic_bounds(Unit::Nanoseconds);
    let upper = *bounds.iter().find(|&&b| p99 <= b).unwrap();
    let lower = bounds
        .iter()
        .rev()
        .find(|&&b| b < p99)
        .copied()
        .unwrap_or(0.0);
    let q = prom.value(&format!(
        "histogram_quantile(0.99, rigor_concurrency_all_seconds_bucket{sel})"
    ));
    assert!(
        lower <= q && q <= upper,
        "{q} not in ({lower}, {upper}] around {p99}"
    );
}

fn attribute(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> String {
    let v = attrs
        .iter()
        .find(|kv| kv.key == key)
        .unwrap_or_else(|| panic!("no attribute {key}"));
    match v.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn otlp_metrics_decode_with_the_official_types_and_match_the_report() {
    let sink = HttpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = format!("otlp={},interval=200ms", sink.url("/v1/metrics"));
    let (run, report) = run_with(&["redis-concurrency"], &["--out", &out], &json);
    let requests = sink.requests();
    assert!(!requests.is_empty(), "{}", run.describe());
    let outputs = &report["outputs"][0];
    assert_eq!(outputs["kind"], "otlp");
    assert_eq!(
        outputs["batches_sent"].as_u64().unwrap(),
        requests.len() as u64
    );
    for r in &requests {
        assert_eq!(r.request_line, "POST /v1/metrics HTTP/1.1");
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "content-type" && v == "application/x-protobuf")
        );
    }
    let decoded: Vec<ExportMetricsServiceRequest> = requests
        .iter()
        .map(|r| ExportMetricsServiceRequest::decode(r.body.as_slice()).expect("valid OTLP"))
        .collect();
    // The last request is the finished scenario's (running = 0).
    let last = decoded.last().unwrap();
    let resource = last.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(attribute(&resource.attributes, "service.name"), "rigor");
    assert_eq!(
        attribute(&resource.attributes, "rigor.run_id"),
        report["run_id"]
    );
    assert_eq!(
        attribute(&resource.attributes, "rigor.scenario"),
        "redis-concurrency"
    );
    assert_eq!(
        attribute(&resource.attributes, "host.name"),
        report["host"]["hostname"]
    );
    let metrics = &last.resource_metrics[0].scope_metrics[0].metrics;
    let find = |name: &str| {
        metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} not sent"))
    };
    match find("rigor.scenario.running").data.as_ref() {
        Some(metric::Data::Gauge(g)) => {
            assert_eq!(
                g.data_points[0].value,
                Some(number_data_point::Value::AsInt(0))
            )
        }
        other => panic!("{other:?}"),
    }
    let s = scenario(&report, "redis-concurrency");
    let factor = bucket_factor();
    for m in histograms(s) {
        let name = format!("rigor.{}", m["name"].as_str().unwrap());
        let sent = find(&name);
        assert_eq!(sent.unit, "s");
        let Some(metric::Data::ExponentialHistogram(h)) = sent.data.as_ref() else {
            panic!("{name}: {:?}", sent.data);
        };
        let p = &h.data_points[0];
        let count = m["summary"]["count"].as_u64().unwrap();
        assert_eq!(p.count, count, "{name}");
        assert_eq!(p.scale, 8);
        let buckets = p.positive.as_ref().unwrap();
        assert_eq!(
            buckets.bucket_counts.iter().sum::<u64>() + p.zero_count,
            count
        );
        // The bucket holding the 99th percentile's rank.
        let rank = (0.99 * count as f64).ceil() as u64;
        let mut seen = p.zero_count;
        let k = buckets
            .bucket_counts
            .iter()
            .position(|c| {
                seen += c;
                seen >= rank
            })
            .unwrap() as i32;
        let upper = factor.powi(buckets.offset + k + 1);
        let p99 = m["summary"]["p99"].as_f64().unwrap() * 1e-9;
        assert!(
            upper / factor.powi(2) < p99 && p99 <= upper * factor,
            "{name}: report p99 {p99} s, OTLP bucket up to {upper} s"
        );
    }
    match find("rigor.concurrency.throughput").data.as_ref() {
        Some(metric::Data::Gauge(g)) => assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(
                scenario(&report, "redis-concurrency")["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["name"] == "concurrency.throughput")
                    .unwrap()["value"]
                    .as_f64()
                    .unwrap()
            ))
        ),
        other => panic!("{other:?}"),
    }
    let passing = match find("rigor.threshold.passing").data.as_ref() {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(passing, s["thresholds"].as_array().unwrap().len());
}

/// What a report says that must not depend on the live outputs.
fn verdicts(report: &serde_json::Value) -> serde_json::Value {
    let scenarios: Vec<_> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let metrics: Vec<_> = s["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["name"].clone(),
                        m["kind"].clone(),
                        m["summary"]["count"].clone(),
                    )
                })
                .collect();
            let thresholds: Vec<_> = s["thresholds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["metric"].clone(), t["expression"].clone()))
                .collect();
            let checks: Vec<_> = s["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["name"].clone(), c["passed"].clone()))
                .collect();
            serde_json::json!({
                "name": s["name"], "status": s["status"], "metrics": metrics,
                "thresholds": thresholds, "checks": checks,
            })
        })
        .collect();
    serde_json::json!({ "summary": report["summary"], "scenarios": scenarios })
}

#[test]
fn dead_and_hung_endpoints_cost_dropped_batches_and_never_leak_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.json");
    // One seed for both runs: the load's command mix is drawn from it, so
    // the two reports' counts can be compared exactly.
    let (baseline, base_report) = run_with(&["redis-concurrency"], &["--seed", "7"], &plain);

    let dead = dead_port();
    let hung = SilentEndpoint::start();
    let json = dir.path().join("report.json");
    let md = dir.path().join("report.md");
    let ndjson = dir.path().join("events.ndjson");
    let prom = format!(
        "prometheus=http://alice:hunter2@127.0.0.1:{dead}/api/v1/write?token=s3cr3tk3y,interval=200ms"
    );
    let otlp = format!(
        "otlp=http://bob:pa55w0rd@127.0.0.1:{}/v1/metrics?key=t0k3nval,interval=200ms",
        hung.port
    );
    let (run, report) = run_with(
        &["redis-concurrency"],
        &[
            "--seed",
            "7",
            "--out",
            &prom,
            "--out",
            &otlp,
            "--markdown",
            md.to_str().unwrap(),
            "--out",
            &format!("ndjson={}", ndjson.display()),
        ],
        &json,
    );
    assert_eq!(run.code, baseline.code, "{}", run.describe());
    assert_eq!(verdicts(&report), verdicts(&base_report));
    let errors = schema_errors(&schema_validator(), &report);
    assert!(errors.is_empty(), "{errors:#?}");

    let outputs = report["outputs"].as_array().unwrap();
    let refused = &outputs[0];
    assert_eq!(refused["kind"], "prometheus");
    assert_eq!(
        refused["endpoint"],
        format!("http://…@127.0.0.1:{dead}/api/v1/write?…")
    );
    assert_eq!(refused["batches_sent"], 0);
    assert!(refused["batches_dropped"].as_u64().unwrap() >= 1);
    let why = refused["last_error"].as_str().unwrap();
    assert!(why.starts_with("cannot connect to the endpoint"), "{why}");
    let silent = &outputs[1];
    assert_eq!(silent["kind"], "otlp");
    assert_eq!(silent["batches_sent"], 0);
    assert!(silent["batches_dropped"].as_u64().unwrap() >= 1);
    let why = silent["last_error"].as_str().unwrap();
    assert!(
        why.contains("did not answer") || why.contains("end-of-run flush ran out"),
        "{why}"
    );
    assert!(
        run.stderr.contains(&format!(
            "warning: --out prometheus http://…@127.0.0.1:{dead}/api/v1/write?…: "
        )),
        "{}",
        run.describe()
    );

    let written = [
        run.stdout.clone(),
        run.stderr.clone(),
        std::fs::read_to_string(&json).unwrap(),
        std::fs::read_to_string(&md).unwrap(),
        std::fs::read_to_string(&ndjson).unwrap(),
    ];
    for secret in [
        "alice",
        "hunter2",
        "s3cr3tk3y",
        "token",
        "bob",
        "pa55w0rd",
        "t0k3nval",
        "key=",
    ] {
        for (i, text) in written.iter().enumerate() {
            assert!(
                !text.contains(secret),
                "`{secret}` leaked into output {i}:\n{text}"
            );
        }
    }
}

#[test]
fn bad_live_outputs_are_refused_before_anything_runs_without_echoing_the_url() {
    let cases = [
        (
            "prometheus=ftp://alice:hunter2@h/w",
            "invalid --out prometheus=…: the URL must start with http:// or https://",
        ),
        (
            "prometheus=http://alice:hunter2@h/w,interval=1ns",
            "invalid --out prometheus=…: interval `1ns` is not a duration",
        ),
        (
            "otlp=http://alice:hunter2@h:99999/v1/metrics",
            "invalid --out otlp=…: the URL's port is not a number from 1 to 65535",
        ),
        (
            "prometheus=http://alice:hunter2@h/w,histograms=sparse",
            "histograms=`sparse` is not `native` or `classic`",
        ),
    ];
    for (spec, message) in cases {
        let run = run_rigor(&["run", "redis-concurrency", "--no-build", "--out", spec]);
        assert_eq!(run.code, 2, "{}", run.describe());
        assert!(run.stderr.contains(message), "{spec}: {}", run.describe());
        assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"));
    }
    let run = run_rigor(&[
        "run",
        "redis-concurrency",
        "--no-build",
        "--tag",
        "scenario=x",
    ]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr
            .contains("invalid --tag `scenario=x`: the key must be a Prometheus label name"),
        "{}",
        run.describe()
    );
}

#[test]
fn vu_scenarios_carry_their_executor_in_prometheus_and_otlp() {
    let prom = PrometheusServer::start();
    let sink = HttpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = run_rigor(&[
        "run",
        "vu-session-store",
        "redis-concurrency",
        "-p",
        "vu-session-store:vus=3",
        "-p",
        "vu-session-store:duration=1s",
        "-p",
        "vu-session-store:think-ms=10",
        "-p",
        "redis-concurrency:workers=4",
        "-p",
        "redis-concurrency:ops=50",
        "-p",
        "redis-concurrency:min-throughput=1",
        "--out",
        &format!("prometheus={},interval=500ms", prom.write_url()),
        "--out",
        &format!("otlp={},interval=500ms", sink.url("/v1/metrics")),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(run.code == 0 || run.code == 1, "{}", run.describe());
    let report = read_json(&json);
    let run_id = report["run_id"].as_str().unwrap();
    let iterations = scenario(&report, "vu-session-store")["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "iterations")
        .map(|m| m["value"].as_f64().unwrap())
        .expect("an iterations counter");
    assert!(iterations > 0.0);
    // The VU scenario's series carry its k6 executor; a plain scenario's
    // carry no executor label at all.
    assert_eq!(
        prom.value(&format!(
            "{}{{run_id=\"{run_id}\",scenario=\"vu-session-store\",executor=\"constant-vus\"}}",
            prometheus_name("iterations", Unit::Count, Kind::Counter)
        )),
        iterations
    );
    let plain = prom.query(&format!(
        "{{run_id=\"{run_id}\",scenario=\"redis-concurrency\",executor!=\"\"}}"
    ));
    assert!(plain.is_empty(), "{plain:?}");
    let executors: Vec<String> = sink
        .requests()
        .iter()
        .map(|r| ExportMetricsServiceRequest::decode(r.body.as_slice()).expect("valid OTLP"))
        .flat_map(|req| req.resource_metrics)
        .filter_map(|rm| rm.resource)
        .filter(|r| attribute(&r.attributes, "rigor.scenario") == "vu-session-store")
        .map(|r| attribute(&r.attributes, "rigor.executor"))
        .collect();
    assert!(!executors.is_empty(), "{}", run.describe());
    assert!(
        executors.iter().all(|e| e == "constant-vus"),
        "{executors:?}"
    );
}
