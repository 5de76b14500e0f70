//! Real redis-server processes with the configurations the managed server
//! does not use: TLS-only servers (certificates from [`crate::pki`]) and a
//! three-master Redis Cluster joined with `redis-cli --cluster create`.
//! Every process is killed and reaped when its handle is dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pki::TestPki;

const READY: Duration = Duration::from_secs(15);

/// One redis-server child process.
pub struct RedisProcess {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that is free now, and (for a cluster node) whose bus
/// port, `port + 10000`, is free too.
pub fn free_port(with_bus: bool) -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = l.local_addr().unwrap().port();
        if !with_bus {
            return port;
        }
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl RedisProcess {
    /// Starts `redis-server` with `args` (after a private `--dir`, no
    /// persistence) and waits until `ready_port` accepts connections.
    pub fn start(port: u16, ready_port: u16, args: &[String]) -> RedisProcess {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        let mut process = RedisProcess {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + READY;
        while TcpStream::connect(("127.0.0.1", ready_port)).is_err() {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("redis-server {args:?} exited early: {status}");
            }
            assert!(Instant::now() < deadline, "redis-server {args:?} not ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        process
    }

    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

/// A redis-server that listens on a TLS port only.
pub struct TlsRedis {
    pub server: RedisProcess,
    pub tls_port: u16,
}

impl TlsRedis {
    /// `require_client_cert`: `--tls-auth-clients yes` (a certificate signed
    /// by the test CA is required) or `no`.
    pub fn start(pki: &TestPki, require_client_cert: bool) -> TlsRedis {
        let tls_port = free_port(false);
        let path = |p: &PathBuf| p.display().to_string();
        let args = [
            "--port".to_owned(),
            "0".to_owned(),
            "--tls-port".to_owned(),
            tls_port.to_string(),
            "--tls-cert-file".to_owned(),
            path(&pki.server_cert),
            "--tls-key-file".to_owned(),
            path(&pki.server_key),
            "--tls-ca-cert-file".to_owned(),
            path(&pki.ca),
            "--tls-auth-clients".to_owned(),
            if require_client_cert { "yes" } else { "no" }.to_owned(),
        ];
        TlsRedis {
            server: RedisProcess::start(tls_port, tls_port, &args),
            tls_port,
        }
    }

    /// `rediss://localhost:PORT` (the certificate names localhost).
    pub fn url(&self) -> String {
        format!("rediss://localhost:{}", self.tls_port)
    }
}

/// Three masters, no replicas, every slot assigned.
pub struct RedisCluster {
    pub nodes: Vec<RedisProcess>,
}

fn cluster_node() -> RedisProcess {
    let port = free_port(true);
    let args = [
        "--port".to_owned(),
        port.to_string(),
        "--cluster-enabled".to_owned(),
        "yes".to_owned(),
        "--cluster-config-file".to_owned(),
        format!("nodes-{port}.conf"),
        "--cluster-node-timeout".to_owned(),
        "5000".to_owned(),
    ];
    RedisProcess::start(port, port, &args)
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        let nodes: Vec<RedisProcess> = (0..3).map(|_| cluster_node()).collect();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = RedisCluster { nodes };
        let deadline = Instant::now() + READY;
        for n in &cluster.nodes {
            while !cluster
                .cli(n.port, &["CLUSTER", "INFO"])
                .contains("cluster_state:ok")
            {
                assert!(Instant::now() < deadline, "the cluster did not become ok");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        cluster
    }

    /// Starts one more master (serving no slot yet), introduces it with
    /// `CLUSTER MEET` and waits until every node knows it; its port.
    pub fn add_node(&mut self) -> u16 {
        let node = cluster_node();
        let port = node.port;
        let first = self.nodes[0].port;
        assert_eq!(
            self.cli(first, &["CLUSTER", "MEET", "127.0.0.1", &port.to_string()]),
            "OK"
        );
        self.nodes.push(node);
        let want = self.nodes.len();
        let deadline = Instant::now() + READY;
        for n in &self.nodes {
            loop {
                let known = self.cli(n.port, &["CLUSTER", "NODES"]);
                let connected = known
                    .lines()
                    .filter(|l| !l.contains("handshake") && !l.contains("noaddr"))
                    .count();
                if connected == want {
                    break;
                }
                assert!(Instant::now() < deadline, "the new node did not join");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        while !self
            .cli(port, &["CLUSTER", "INFO"])
            .contains("cluster_state:ok")
        {
            assert!(
                Instant::now() < deadline,
                "the new node's cluster is not ok"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        port
    }

    /// The URL of the first node: a client discovers the rest.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[0].port)
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis-cli -p PORT ARGS...` (no redirects followed), its stdout.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `DBSIZE` of one node.
    pub fn dbsize(&self, port: u16) -> u64 {
        self.cli(port, &["DBSIZE"])
            .parse()
            .expect("DBSIZE is a number")
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        self.cli(port, &["CLUSTER", "MYID"])
    }

    /// The port of the master serving `slot`.
    pub fn owner_of(&self, slot: u16) -> u16 {
        // CLUSTER NODES: `<id> <ip:port@bus> <flags> ... <slot ranges>`.
        let nodes = self.cli(self.nodes[0].port, &["CLUSTER", "NODES"]);
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port: u16 = fields[1]
                .split('@')
                .next()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse().ok())
                .expect("CLUSTER NODES address");
            for range in &fields[8.min(fields.len())..] {
                if range.starts_with('[') {
                    continue;
                }
                let (lo, hi) = match range.split_once('-') {
                    Some((lo, hi)) => (lo.parse().unwrap(), hi.parse().unwrap()),
                    None => {
                        let s: u16 = range.parse().unwrap();
                        (s, s)
                    }
                };
                if (lo..=hi).contains(&slot) {
                    return port;
                }
            }
        }
        panic!("no node serves slot {slot}");
    }

    /// Moves `slot` (with its keys) from the node on `from` to the node on
    /// `to`, the way `redis-cli --cluster reshard` does; with `finish` false
    /// it stops half-way, the slot MIGRATING on `from` and IMPORTING on `to`,
    /// its keys already moved (so the old owner answers ASK).
    pub fn migrate_slot(&self, slot: u16, from: u16, to: u16, finish: bool) {
        let s = slot.to_string();
        let from_id = self.node_id(from);
        let to_id = self.node_id(to);
        assert_eq!(
            self.cli(to, &["CLUSTER", "SETSLOT", &s, "IMPORTING", &from_id]),
            "OK"
        );
        assert_eq!(
            self.cli(from, &["CLUSTER", "SETSLOT", &s, "MIGRATING", &to_id]),
            "OK"
        );
        loop {
            let keys = self.cli(from, &["CLUSTER", "GETKEYSINSLOT", &s, "100"]);
            if keys.is_empty() {
                break;
            }
            for key in keys.lines() {
                let out = self.cli(
                    from,
                    &["MIGRATE", "127.0.0.1", &to.to_string(), key, "0", "5000"],
                );
                assert_eq!(out, "OK", "MIGRATE {key}");
            }
        }
        if finish {
            for n in &self.nodes {
                assert_eq!(
                    self.cli(n.port, &["CLUSTER", "SETSLOT", &s, "NODE", &to_id]),
                    "OK"
                );
            }
        }
    }
}
