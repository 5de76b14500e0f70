//! The load engine against a real redis-server.

use std::time::{Duration, Instant};

use super::*;
use crate::probes::redis::Client;
use crate::probes::redis::resp::Reply;
use crate::services::redis_server::ManagedRedis;

fn server() -> (ManagedRedis, RedisUrl) {
    let server =
        ManagedRedis::start().expect("redis-server (install it with apt-get install redis-server)");
    let url = RedisUrl::parse(&server.url()).unwrap();
    (server, url)
}

fn spec(workers: u32, amount: Amount) -> LoadSpec {
    LoadSpec {
        workers,
        amount,
        warmup: Amount::OpsPerWorker(0),
        model: Model::Closed,
        mix: vec![MixEntry {
            name: "set".into(),
            op: Op::Set,
            weight: 1,
        }],
        value: vec![b'x'; 100],
        key_prefix: "load:".into(),
        key_count: 1000,
        key_pattern: KeyPattern::Uniform,
        pipeline: 1,
        connections: Connections::PerWorker,
        timeout: Duration::from_secs(2),
        threads: 2,
        seed: 1,
        first_worker: 0,
        all_workers: 0,
    }
}

/// `calls=` of `cmdstat_<command>` in INFO commandstats.
async fn calls(url: &RedisUrl, command: &str) -> u64 {
    let mut c = Client::connect(url, Duration::from_secs(5)).await.unwrap();
    let Reply::Bulk(info) = c.request(&[b"INFO", b"commandstats"]).await.unwrap() else {
        panic!("INFO did not return a bulk string");
    };
    let text = String::from_utf8_lossy(&info).into_owned();
    let line = format!("cmdstat_{command}:calls=");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

async fn run(spec: LoadSpec, url: &RedisUrl) -> LoadOutcome {
    start(spec, url.clone()).unwrap().finish().await.unwrap()
}

#[tokio::test]
async fn closed_model_counts_are_exact_on_the_server() {
    let (_server, url) = server();
    for (connections, pipeline) in [
        (Connections::PerWorker, 1),
        (Connections::PerWorker, 7),
        (Connections::Shared, 1),
    ] {
        let before_set = calls(&url, "set").await;
        let before_get = calls(&url, "get").await;
        let mut s = spec(5, Amount::OpsPerWorker(203));
        s.connections = connections;
        s.pipeline = pipeline;
        s.warmup = Amount::OpsPerWorker(10);
        s.mix.push(MixEntry {
            name: "get".into(),
            op: Op::Get,
            weight: 1,
        });
        let out = run(s, &url).await;
        let sets = calls(&url, "set").await - before_set;
        let gets = calls(&url, "get").await - before_get;
        // 5 × (10 warm-up + 203 measured), split between SET and GET.
        assert_eq!(sets + gets, 5 * 213, "{connections:?} pipeline {pipeline}");
        assert_eq!(out.ok(), 5 * 203);
        assert_eq!(out.errors(), 0);
        assert_eq!(
            out.tally.ops[0].latency.len() + out.tally.ops[1].latency.len(),
            5 * 203
        );
        assert!(out.tally.ops[0].ok > 300 && out.tally.ops[1].ok > 300);
        assert!(out.throughput() > 0.0);
    }
}

#[tokio::test]
async fn open_model_delivers_its_rate() {
    let (_server, url) = server();
    // 4 s: a scheduling hiccup of a busy machine at the end of the run
    // (tens of ms) stays well inside the 2 % allowed.
    let mut s = spec(4, Amount::Duration(Duration::from_secs(4)));
    s.model = Model::Open { rate: 1000.0 };
    let out = run(s, &url).await;
    assert_eq!(out.ok(), 4000, "every scheduled request was sent");
    let achieved = out.throughput();
    assert!(
        (achieved - 1000.0).abs() / 1000.0 < 0.02,
        "achieved {achieved:.1} ops/s over {:?}",
        out.elapsed
    );
}

#[tokio::test]
async fn a_stall_shows_in_open_model_latency_not_in_service_time() {
    let (server, url) = server();
    let mut s = spec(4, Amount::Duration(Duration::from_secs(2)));
    s.model = Model::Open { rate: 2000.0 };
    let handle = start(s, url.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut other = Client::connect(&url, Duration::from_secs(5)).await.unwrap();
    let reply = other.request(&[b"DEBUG", b"SLEEP", b"0.5"]).await.unwrap();
    if let Reply::Error(_) = reply {
        // Redis 7 disables DEBUG unless configured: stall it from outside.
        let pid = server.pid().to_string();
        let signal = |sig: &str| {
            let status = std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap();
            assert!(status.success());
        };
        signal("-STOP");
        std::thread::sleep(Duration::from_millis(500));
        signal("-CONT");
    }
    let out = handle.finish().await.unwrap();
    let op = &out.tally.ops[0];
    let corrected_p99 = op.latency.value_at_quantile(0.99);
    let service_p99 = op.service.as_ref().unwrap().value_at_quantile(0.99);
    // 200 ms of schedule (10 % of the run) waited behind the stall: p99 of
    // the corrected latency is tens of ms; only the few requests in flight
    // saw it as service time.
    assert!(
        corrected_p99 > 50_000_000,
        "corrected p99 {corrected_p99} ns"
    );
    assert!(service_p99 < 20_000_000, "service p99 {service_p99} ns");
}

#[tokio::test]
async fn killing_the_server_ends_the_load_in_bounded_time_and_a_restart_recovers() {
    let (server, url) = server();
    let port = server.port();
    let mut s = spec(4, Amount::Duration(Duration::from_secs(2)));
    s.timeout = Duration::from_millis(500);
    let handle = start(s.clone(), url.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    let began = Instant::now();
    let out = handle.finish().await.unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "ended {:?} after the kill",
        began.elapsed()
    );
    assert!(out.ok() > 0, "requests before the kill succeeded");
    assert!(out.errors() > 0, "errors after the kill were counted");
    let kinds: Vec<&String> = out.tally.ops[0].errors.keys().collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["io", "connection", "timeout"].contains(&k.as_str())),
        "{kinds:?}"
    );

    // Ops mode against a dead server gives up after the timeout.
    let mut dead = s.clone();
    dead.amount = Amount::OpsPerWorker(1_000_000);
    let began = Instant::now();
    let out = run(dead, &url).await;
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(out.ok(), 0);
    assert_eq!(out.errors(), 4 * 1_000_000);

    let _back = tokio::task::spawn_blocking(move || ManagedRedis::start_on_port(port))
        .await
        .unwrap()
        .unwrap();
    let out = run(s, &url).await;
    assert!(out.ok() > 0);
    assert_eq!(out.errors(), 0);
}

#[tokio::test]
async fn invalid_specs_are_refused_before_anything_is_sent() {
    let (_server, url) = server();
    let mut s = spec(0, Amount::OpsPerWorker(1));
    s.workers = 0;
    match start(s, url) {
        Err(LoadError::Spec(e)) => assert_eq!(e.field, "workers"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a zero-worker spec started"),
    }
}

#[tokio::test]
async fn error_replies_are_counted_by_code_and_have_no_latency() {
    let (_server, url) = server();
    let mut c = Client::connect(&url, Duration::from_secs(5)).await.unwrap();
    for k in ["load:0", "load:1", "load:2"] {
        c.request(&[b"SET", k.as_bytes(), b"not a number"])
            .await
            .unwrap();
    }
    let mut s = spec(2, Amount::OpsPerWorker(40));
    s.key_count = 3;
    s.pipeline = 4;
    s.mix = vec![
        MixEntry {
            name: "incr".into(),
            op: Op::Incr,
            weight: 1,
        },
        MixEntry {
            name: "get".into(),
            op: Op::Get,
            weight: 1,
        },
    ];
    let out = run(s, &url).await;
    let (incr, get) = (&out.tally.ops[0], &out.tally.ops[1]);
    assert_eq!(incr.ok, 0);
    assert_eq!(incr.latency.len(), 0);
    let errors = &incr.errors["server:ERR"];
    assert_eq!(errors.count + get.ok, 80);
    assert!(
        errors.samples[0].contains("not an integer"),
        "{:?}",
        errors.samples
    );
    assert_eq!(get.latency.len(), get.ok);
    assert!(get.ok > 0 && errors.count > 0);
}

#[tokio::test]
async fn a_reply_larger_than_the_load_was_charged_for_is_an_error_not_memory() {
    let (_server, url) = server();
    // A key the load never wrote, far larger than its 100-byte values.
    let mut c = Client::connect(&url, Duration::from_secs(5)).await.unwrap();
    let big = vec![b'b'; 4 << 20];
    c.request(&[b"SET", b"big", &big]).await.unwrap();
    for connections in [Connections::PerWorker, Connections::Shared] {
        let mut s = spec(2, Amount::OpsPerWorker(3));
        s.connections = connections;
        s.mix = vec![MixEntry {
            name: "get-big".into(),
            op: Op::Raw(vec![parse_template("GET"), parse_template("big")]),
            weight: 1,
        }];
        let limit = s.footprint(s.value.len()).batch_reply_limit();
        assert!(limit < 1 << 20, "{limit}");
        let out = run(s, &url).await;
        assert_eq!(out.ok(), 0, "{connections:?}");
        let errors = &out.tally.ops[0].errors;
        let sample = &errors["protocol"].samples[0];
        assert!(sample.contains("bytes of reply data buffered"), "{sample}");
    }
}
