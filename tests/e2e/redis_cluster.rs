//! Redis Cluster against three real redis-server masters: slot routing,
//! MOVED after a migration, ASK during one, clear-prefix on every master,
//! the native load spread over the nodes, and redirects that never lead
//! outside the cluster known when the connection opened.

use std::time::Duration;

use rigor::probes::redis::cluster::slots::key_slot;
use rigor::probes::redis::load::{
    self, Amount, Connections, KeyPattern, LoadSpec, MixEntry, Model, Op,
};
use rigor::probes::redis::resp::Reply;
use rigor::probes::redis::{Mode, RedisError, RedisLink, RedisUrl};
use rigor_tests::redis_procs::RedisCluster;

const T: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn link(cluster: &RedisCluster) -> RedisLink {
    let url = RedisUrl::parse(&cluster.url()).unwrap();
    let link = RedisLink::connect(&url, T).await.unwrap();
    assert_eq!(link.mode(), Mode::Cluster);
    link
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec().into())
}

/// A port of the cluster other than `not`.
fn other_than(cluster: &RedisCluster, not: u16) -> u16 {
    *cluster.ports().iter().find(|&&p| p != not).unwrap()
}

#[test]
fn keys_land_on_every_master_and_cross_slot_calls_are_refused() {
    let cluster = RedisCluster::start();
    runtime().block_on(async {
        let mut c = link(&cluster).await;
        for i in 0..300 {
            let key = format!("ck:{i}");
            let reply = c
                .request(&[b"SET", key.as_bytes(), format!("v{i}").as_bytes()])
                .await
                .unwrap();
            assert_eq!(reply, Reply::Status("OK".into()), "{key}");
        }
        for i in (0..300).step_by(37) {
            let key = format!("ck:{i}");
            assert_eq!(
                c.request(&[b"GET", key.as_bytes()]).await.unwrap(),
                bulk(&format!("v{i}"))
            );
        }
        let counts = c.node_ops();
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(counts.values().all(|&n| n > 0), "{counts:?}");

        // Keys in different slots: refused before anything is sent.
        let err = c.request(&[b"MGET", b"ck:1", b"ck:2"]).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, RedisError::CrossSlot { .. }), "{err:?}");
        assert!(
            msg.contains("CROSSSLOT") && msg.contains("hash tag"),
            "{msg}"
        );
        // A common hash tag puts them in one slot.
        c.request(&[b"MSET", b"{t}a", b"1", b"{t}b", b"2"])
            .await
            .unwrap();
        assert_eq!(
            c.request(&[b"MGET", b"{t}a", b"{t}b"]).await.unwrap(),
            Reply::Array(vec![bulk("1"), bulk("2")])
        );
        // Keyless commands go to a master.
        assert_eq!(
            c.request(&[b"PING"]).await.unwrap(),
            Reply::Status("PONG".into())
        );
    });
    let sizes: Vec<u64> = cluster.ports().iter().map(|&p| cluster.dbsize(p)).collect();
    assert!(sizes.iter().all(|&n| n > 0), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<u64>(), 302, "{sizes:?}");
}

#[test]
fn moved_after_a_migration_and_ask_during_one_are_followed() {
    let cluster = RedisCluster::start();
    runtime().block_on(async {
        let mut c = link(&cluster).await;
        c.request(&[b"SET", b"moving", b"m"]).await.unwrap();
        c.request(&[b"SET", b"asking", b"a"]).await.unwrap();

        // The slot moves for good after the map was read: MOVED.
        let slot = key_slot(b"moving");
        let from = cluster.owner_of(slot);
        let to = other_than(&cluster, from);
        cluster.migrate_slot(slot, from, to, true);
        assert_eq!(cluster.owner_of(slot), to);
        let before = c.node_ops();
        assert_eq!(c.request(&[b"GET", b"moving"]).await.unwrap(), bulk("m"));
        let after = c.node_ops();
        let to_addr = format!("127.0.0.1:{to}");
        assert_eq!(after[&to_addr], before[&to_addr] + 1, "{after:?}");
        // The refreshed map sends the next call straight to the new owner.
        c.request(&[b"SET", b"moving", b"m2"]).await.unwrap();
        assert_eq!(cluster.cli(to, &["GET", "moving"]), "m2");

        // Half-way through a migration the old owner answers ASK.
        let slot = key_slot(b"asking");
        let from = cluster.owner_of(slot);
        let to = other_than(&cluster, from);
        cluster.migrate_slot(slot, from, to, false);
        assert!(
            cluster.cli(from, &["GET", "asking"]).starts_with("ASK"),
            "the old owner should answer ASK"
        );
        assert_eq!(c.request(&[b"GET", b"asking"]).await.unwrap(), bulk("a"));
        // ASK does not change the map: the slot still belongs to `from`.
        assert_eq!(cluster.owner_of(slot), from);
    });
}

#[test]
fn clear_prefix_empties_every_master_of_the_prefix_only() {
    let cluster = RedisCluster::start();
    runtime().block_on(async {
        let mut c = link(&cluster).await;
        for i in 0..300 {
            c.request(&[b"SET", format!("cp:{i}").as_bytes(), b"x"])
                .await
                .unwrap();
        }
        for i in 0..50 {
            c.request(&[b"SET", format!("keep:{i}").as_bytes(), b"x"])
                .await
                .unwrap();
        }
        assert!(cluster.ports().iter().all(|&p| cluster.dbsize(p) > 0));
        assert_eq!(c.clear_prefix("cp:").await.unwrap(), 300);
        assert_eq!(c.clear_prefix("cp:").await.unwrap(), 0);
    });
    let total: u64 = cluster.ports().iter().map(|&p| cluster.dbsize(p)).sum();
    assert_eq!(total, 50);
    for p in cluster.ports() {
        assert_eq!(cluster.cli(p, &["--scan", "--pattern", "cp:*"]), "");
    }
}

fn spec(connections: Connections) -> LoadSpec {
    LoadSpec {
        workers: 4,
        amount: Amount::OpsPerWorker(300),
        warmup: Amount::OpsPerWorker(10),
        model: Model::Closed,
        mix: vec![MixEntry {
            name: "set".into(),
            op: Op::Set,
            weight: 1,
        }],
        value: vec![b'x'; 32],
        key_prefix: "cl:".into(),
        key_count: 1000,
        key_pattern: KeyPattern::Sequential,
        pipeline: 8,
        connections,
        timeout: Duration::from_secs(5),
        threads: 1,
        seed: 1,
        first_worker: 0,
        all_workers: 0,
    }
}

#[test]
fn the_load_spreads_over_every_node_and_counts_per_node() {
    let cluster = RedisCluster::start();
    let url = RedisUrl::parse(&cluster.url()).unwrap();
    let outcome = runtime().block_on(async {
        load::start(spec(Connections::PerWorker), url.clone())
            .unwrap()
            .finish()
            .await
            .unwrap()
    });
    assert_eq!((outcome.ok(), outcome.errors()), (1200, 0));
    let per_node = &outcome.tally.node_ops;
    assert_eq!(per_node.len(), 3, "{per_node:?}");
    assert!(per_node.values().all(|&n| n > 0), "{per_node:?}");
    // Warm-up operations are not counted.
    assert_eq!(per_node.values().sum::<u64>(), 1200, "{per_node:?}");
    assert!(cluster.ports().iter().all(|&p| cluster.dbsize(p) > 0));

    // One shared connection cannot serve a cluster: refused, named.
    let outcome = runtime().block_on(async {
        load::start(spec(Connections::Shared), url)
            .unwrap()
            .finish()
            .await
            .unwrap()
    });
    assert_eq!(outcome.ok(), 0);
    let samples: Vec<String> = outcome.tally.ops[0]
        .errors
        .values()
        .flat_map(|e| e.samples.clone())
        .collect();
    assert!(
        samples.iter().any(|s| s.contains("per-worker connections")),
        "{samples:?}"
    );
}

#[test]
fn a_redirect_to_a_node_unknown_when_the_connection_opened_is_refused() {
    let mut cluster = RedisCluster::start();
    runtime().block_on(async {
        let mut c = link(&cluster).await;
        c.request(&[b"SET", b"escape", b"e"]).await.unwrap();
        // A node joins later and the key's slot is moved to it: the MOVED
        // names an address the connection never learned as a node.
        let newcomer = cluster.add_node();
        let slot = key_slot(b"escape");
        let from = cluster.owner_of(slot);
        cluster.migrate_slot(slot, from, newcomer, true);
        let err = c.request(&[b"GET", b"escape"]).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, RedisError::RedirectRefused { .. }), "{err:?}");
        assert!(
            msg.contains(&format!("to 127.0.0.1:{newcomer}: it was not a node")),
            "{msg}"
        );
        assert!(
            msg.contains("refusing to follow the redis cluster"),
            "{msg}"
        );
        assert!(msg.contains("when the connection opened"), "{msg}");
        // The connection keeps serving the rest of the cluster.
        c.request(&[b"SET", b"still", b"here"]).await.unwrap();
        assert_eq!(c.request(&[b"GET", b"still"]).await.unwrap(), bulk("here"));
        // A new connection learns the new node and follows it.
        let mut fresh = link(&cluster).await;
        assert_eq!(
            fresh.request(&[b"GET", b"escape"]).await.unwrap(),
            bulk("e")
        );
    });
}

/// The catalog's Redis scenarios through the binary against the cluster:
/// guest commands pass the policy and are routed; the load reports the mode
/// and its per-node counts; the keys are cleared from every master.
#[test]
fn catalog_scenarios_run_against_the_cluster() {
    let cluster = RedisCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let run = rigor_tests::run_rigor(&[
        "run",
        "redis-latency",
        "redis-concurrency",
        "--redis",
        &cluster.url(),
        "-p",
        "ops=50",
        "-p",
        "warmup=5",
        "-p",
        "open-rate=0",
        "-p",
        "workers=6",
        "-p",
        "min-throughput=10",
        "--json",
        json.to_str().unwrap(),
    ]);
    let report = rigor_tests::read_json(&json);
    for name in ["redis-latency", "redis-concurrency"] {
        ran_clean(rigor_tests::scenario(&report, name), &run.describe());
    }
    let text = report.to_string();
    assert!(text.contains("cluster mode"), "{}", run.describe());
    assert!(text.contains("operations per node: 127.0.0.1:"), "{text}");
    // Both scenarios remove their keys at the end, on every master.
    let total: u64 = cluster.ports().iter().map(|&p| cluster.dbsize(p)).sum();
    assert_eq!(total, 0);
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
