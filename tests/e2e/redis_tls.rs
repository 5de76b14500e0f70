//! `rediss://` against a real TLS redis-server: trusted through --ca-file,
//! refused clearly under an unrelated CA, client certificates when the
//! server requires them; single calls and a native load.

use std::time::Duration;

use rigor::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};
use rigor::probes::redis::resp::Reply;
use rigor::probes::redis::{Client, RedisError, RedisUrl, TlsConnect};
use rigor::tls::{ClientIdentity, TlsTrust};
use rigor_tests::pki::TestPki;
use rigor_tests::redis_procs::TlsRedis;

const T: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn url(server: &TlsRedis, ca: &std::path::Path, identity: Option<ClientIdentity>) -> RedisUrl {
    let trust = TlsTrust::new(vec![ca.to_owned()]).unwrap();
    RedisUrl::parse(&server.url())
        .unwrap()
        .with_tls(TlsConnect::new(trust, identity))
}

fn load_spec(workers: u32, connections: Connections) -> LoadSpec {
    LoadSpec {
        workers,
        amount: Amount::OpsPerWorker(200),
        warmup: Amount::OpsPerWorker(0),
        model: Model::Closed,
        mix: vec![MixEntry {
            name: "set".into(),
            op: Op::Set,
            weight: 1,
        }],
        value: vec![b'x'; 100],
        key_prefix: "tls:".into(),
        key_count: 100,
        key_pattern: KeyPattern::Uniform,
        pipeline: 4,
        connections,
        timeout: Duration::from_secs(5),
        threads: 1,
        seed: 1,
        first_worker: 0,
        all_workers: 0,
    }
}

#[test]
fn rediss_with_the_ca_file_works_for_calls_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = TlsRedis::start(&pki, false);
    let url = url(&server, &pki.ca, None);
    runtime().block_on(async {
        let mut c = Client::connect(&url, T).await.unwrap();
        assert_eq!(
            c.request(&[b"SET", b"k", b"v"]).await.unwrap(),
            Reply::Status("OK".into())
        );
        let (reply, elapsed) = c.timed_request(&[b"GET", b"k"]).await.unwrap();
        assert_eq!(reply, Reply::Bulk(b"v".to_vec().into()));
        assert!(elapsed > Duration::ZERO);
        let big = vec![7u8; 300_000];
        c.request(&[b"SET", b"big", &big]).await.unwrap();
        assert_eq!(
            c.request(&[b"GET", b"big"]).await.unwrap(),
            Reply::Bulk(big.into())
        );
    });
    // The native load over TLS, per-worker and shared connections.
    for connections in [Connections::PerWorker, Connections::Shared] {
        let outcome = runtime().block_on(async {
            load::start(load_spec(4, connections), url.clone())
                .unwrap()
                .finish()
                .await
                .unwrap()
        });
        assert_eq!(outcome.ok(), 800, "{connections:?}");
        assert_eq!(outcome.errors(), 0, "{connections:?}");
    }
}

#[test]
fn an_unrelated_ca_is_a_tls_verification_failure_naming_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = TlsRedis::start(&pki, false);
    let url = url(&server, &pki.other_ca, None);
    let err = runtime().block_on(Client::connect(&url, T)).unwrap_err();
    assert!(matches!(err, RedisError::TlsVerify { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("TLS verification failed"), "{msg}");
    assert!(msg.contains("--ca-file"), "{msg}");
    assert!(msg.contains(&server.tls_port.to_string()), "{msg}");

    // A host name the certificate does not name fails the same way.
    let trust = TlsTrust::new(vec![pki.ca.clone()]).unwrap();
    let wrong_name = RedisUrl::parse(&format!("rediss://127.0.0.2:{}", server.tls_port))
        .unwrap()
        .with_tls(TlsConnect::new(trust, None));
    match runtime().block_on(Client::connect(&wrong_name, T)) {
        // 127.0.0.2 reaches the server only where all of 127/8 is loopback.
        Err(RedisError::TlsVerify { .. } | RedisError::Connect { .. }) => {}
        other => panic!("expected a verification failure, got {other:?}"),
    }

    // Plaintext against the TLS port is not mistaken for a Redis reply.
    let plain = RedisUrl::parse(&format!("redis://localhost:{}", server.tls_port)).unwrap();
    let rt = runtime();
    let outcome = rt.block_on(async {
        let mut c = Client::connect(&plain, Duration::from_secs(1)).await?;
        c.set_op_timeout(Duration::from_secs(1));
        c.request(&[b"PING"]).await
    });
    assert!(outcome.is_err(), "{outcome:?}");
}

#[test]
fn a_required_client_certificate_works_with_the_cert_and_fails_without() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = TlsRedis::start(&pki, true);
    let identity = ClientIdentity::from_pem_files(&pki.client_cert, &pki.client_key).unwrap();

    let with = url(&server, &pki.ca, Some(identity));
    runtime().block_on(async {
        let mut c = Client::connect(&with, T).await.unwrap();
        assert_eq!(
            c.request(&[b"PING"]).await.unwrap(),
            Reply::Status("PONG".into())
        );
    });
    let outcome = runtime().block_on(async {
        load::start(load_spec(2, Connections::PerWorker), with.clone())
            .unwrap()
            .finish()
            .await
            .unwrap()
    });
    assert_eq!((outcome.ok(), outcome.errors()), (400, 0));

    let without = url(&server, &pki.ca, None);
    let err = runtime()
        .block_on(Client::connect(&without, T))
        .unwrap_err();
    assert!(
        matches!(err, RedisError::TlsHandshake { .. }),
        "expected a TLS handshake failure, got {err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("--redis-cert"), "{msg}");
}

/// Through the binary: `--redis rediss://…` with `--ca-file` and
/// `--redis-cert` passes against a server requiring a client certificate;
/// an unrelated CA fails the scenario with the verification named; a
/// certificate for a target that is not TLS is refused before anything runs.
#[test]
fn the_cli_reaches_a_tls_target_with_ca_file_and_redis_cert() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = TlsRedis::start(&pki, true);
    let json = dir.path().join("report.json");
    let cert = format!(
        "default={},{}",
        pki.client_cert.display(),
        pki.client_key.display()
    );
    let common = [
        "run",
        "redis-latency",
        "-p",
        "ops=20",
        "-p",
        "warmup=2",
        "-p",
        "open-rate=0",
        "--json",
        json.to_str().unwrap(),
        "--redis",
        &server.url(),
    ];
    let ca = pki.ca.display().to_string();
    let mut args = common.to_vec();
    args.extend(["--ca-file", &ca, "--redis-cert", &cert]);
    let run = rigor_tests::run_rigor(&args);
    let report = rigor_tests::read_json(&json);
    ran_clean(
        rigor_tests::scenario(&report, "redis-latency"),
        &run.describe(),
    );

    let other = pki.other_ca.display().to_string();
    let mut args = common.to_vec();
    args.extend(["--ca-file", &other, "--redis-cert", &cert]);
    let run = rigor_tests::run_rigor(&args);
    assert_ne!(run.code, 0, "{}", run.describe());
    let report = rigor_tests::read_json(&json);
    let s = rigor_tests::scenario(&report, "redis-latency").to_string();
    assert!(s.contains("TLS verification failed"), "{s}");
    assert!(s.contains("--ca-file"), "{s}");

    let plain = format!(
        "default={},{}",
        pki.client_cert.display(),
        pki.client_key.display()
    );
    let run = rigor_tests::run_rigor(&[
        "run",
        "redis-latency",
        "--redis",
        "redis://127.0.0.1:1",
        "--redis-cert",
        &plain,
    ]);
    assert_eq!(run.code, 2, "{}", run.describe());
    assert!(
        run.stderr.contains("a client certificate needs rediss://"),
        "{}",
        run.describe()
    );
}

/// The scenario ran to the end with every check passed (its status may
/// still be `failed` for a latency finding on a busy machine).
fn ran_clean(s: &serde_json::Value, describe: &str) {
    let status = s["status"].as_str().unwrap();
    assert!(
        status == "passed" || status == "failed",
        "status {status}\n{describe}"
    );
    assert!(s["error"].is_null(), "{describe}");
    let checks = s["checks"].as_array().unwrap();
    assert!(!checks.is_empty(), "{describe}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{s:#}");
}
