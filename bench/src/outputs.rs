//! The cost of the live Prometheus output: `rigor run redis-concurrency`
//! at 50 connections (the release binary, one managed redis-server), with
//! and without `--out prometheus=…` to a real Prometheus, alternating so
//! drift hits both alike; then the bytes each catalog Redis scenario sends
//! per minute at the default interval.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rigor::services::redis_server::ManagedRedis;

use crate::median;

const ROUNDS: usize = 7;
/// Snapshots timed for the in-process cost figures.
const SNAPSHOTS: u32 = 200;
const WORKERS: &str = "50";
/// Measured operations per worker: 500,000 in all, about 10 s here.
const OPS: &str = "10000";

struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus() -> Result<Prometheus> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n")?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--enable-feature=native-histograms")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("running prometheus (apt-get install prometheus)")?;
    let server = Prometheus {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("prometheus did not start listening");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// The release `rigor` binary, built now (a no-op when up to date).
fn rigor_bin(repo: &Path) -> Result<PathBuf> {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "rigor",
            "--bin",
            "rigor",
        ])
        .current_dir(repo)
        .status()?;
    if !status.success() {
        bail!("building the rigor binary failed");
    }
    Ok(repo.join("target/release/rigor"))
}

/// One `rigor run`, returning its JSON report.
fn run(bin: &Path, repo: &Path, args: &[&str]) -> Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let json = dir.path().join("report.json");
    let out = Command::new(bin)
        .current_dir(repo)
        .args(["run", "-q"])
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()?;
    let text = std::fs::read_to_string(&json).with_context(|| {
        format!(
            "rigor wrote no report: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

fn gauge(report: &serde_json::Value, scenario: &str, metric: &str) -> Result<f64> {
    report["scenarios"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == scenario))
        .and_then(|s| s["metrics"].as_array())
        .and_then(|m| m.iter().find(|m| m["name"] == metric))
        .and_then(|m| m["value"].as_f64())
        .with_context(|| format!("no {scenario}:{metric} in the report"))
}

/// What one snapshot costs the exporter thread, and how long it holds the
/// recorder's lock (the only moment it can delay a probe): three latency
/// histograms of 500,000 values each, as redis-concurrency records them.
fn snapshot_cost() -> Result<()> {
    use rigor::metrics::{Recorder, SharedRecorder, Unit};
    use rigor::outputs::{Identity, prometheus, snapshot};
    let recorder = SharedRecorder::new(Recorder::new());
    let mut x = 7u64;
    for name in ["concurrency.set", "concurrency.get", "concurrency.all"] {
        let h = recorder.histogram(name, Unit::Nanoseconds)?;
        for _ in 0..500_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // 50 µs to ~20 ms, skewed low like a latency distribution.
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            recorder.record(h, (50_000.0 * (400f64).powf(u * u)) as u64);
        }
    }
    recorder.gauge("concurrency.throughput", 120_000.0, Unit::OpsPerSecond)?;
    let report = rigor::report::shared::SharedReport::default();
    let identity = Identity {
        run_id: "0123456789abcdef".into(),
        host: "bench".into(),
        ..Default::default()
    };
    let mut lock = Duration::ZERO;
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..SNAPSHOTS {
        let t = Instant::now();
        // What `snapshot::live` does under the lock: clone every metric.
        let copied = recorder.with(|r| r.iter().map(|m| m.data.clone()).collect::<Vec<_>>());
        lock += t.elapsed();
        std::hint::black_box(copied);
        let snap = snapshot::live("redis-concurrency", 0, &recorder, &report, &[], None);
        let series = prometheus::series(&identity, &[snap], prometheus::HistogramMode::Native);
        bytes = prometheus::bodies(series)
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    let total = started.elapsed() - lock;
    let per = total / SNAPSHOTS;
    let lock_per = lock / SNAPSHOTS;
    println!(
        "exporter cost per snapshot (3 histograms × 500,000 values, in process, {SNAPSHOTS} snapshots)"
    );
    println!(
        "  recorder lock held (clone):           {:>8.1} µs",
        lock_per.as_secs_f64() * 1e6
    );
    println!(
        "  snapshot + encode + snappy, total:    {:>8.1} µs",
        per.as_secs_f64() * 1e6
    );
    println!("  request body:                         {bytes:>8} bytes");
    println!(
        "  share of one core at interval=1s:     {:>8.3} %\n",
        per.as_secs_f64() * 100.0
    );
    Ok(())
}

pub fn run_section() -> Result<()> {
    snapshot_cost()?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ sits in the repository")?
        .to_owned();
    let bin = rigor_bin(&repo)?;
    let redis = ManagedRedis::start()?;
    let prom = start_prometheus()?;
    let write = format!("http://127.0.0.1:{}/api/v1/write", prom.port);
    let redis_url = redis.url();
    let load = [
        "redis-concurrency",
        "--redis",
        &redis_url,
        "-p",
        &format!("workers={WORKERS}"),
        "-p",
        &format!("ops={OPS}"),
        "-p",
        "min-throughput=1",
    ];

    // Warm the component cache and the server.
    run(&bin, &repo, &load)?;
    let with_out = format!("prometheus={write},interval=1s");
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut sent = Vec::new();
    let mut cpu_share = Vec::new();
    for _ in 0..ROUNDS {
        without.push(gauge(
            &run(&bin, &repo, &load)?,
            "redis-concurrency",
            "concurrency.throughput",
        )?);
        let mut args = load.to_vec();
        args.extend(["--out", &with_out]);
        let report = run(&bin, &repo, &args)?;
        with.push(gauge(
            &report,
            "redis-concurrency",
            "concurrency.throughput",
        )?);
        let o = &report["outputs"][0];
        sent.push((
            o["batches_sent"].as_u64().unwrap_or(0),
            o["batches_dropped"].as_u64().unwrap_or(0),
        ));
        // The exporter's own CPU against the scenario's wall time: the
        // share of one core the output takes from the load, free of the
        // round-to-round noise of the throughput itself.
        let wall_ms = report["scenarios"][0]["duration_ms"]
            .as_f64()
            .unwrap_or(0.0);
        cpu_share.push(o["exporter_cpu_ms"].as_f64().unwrap_or(0.0) / wall_ms.max(1.0) * 100.0);
    }
    let (a, b) = (
        median(without.iter().copied()),
        median(with.iter().copied()),
    );
    println!(
        "redis-concurrency, {WORKERS} connections × {OPS} ops, median of {ROUNDS} alternating rounds"
    );
    println!("{:<44} {:>12}", "", "ops/s");
    println!("{:<44} {:>12.0}", "without --out", a);
    println!("{:<44} {:>12.0}", "with --out prometheus=…,interval=1s", b);
    println!(
        "{:<44} {:>11.2} %   (target ≤ 1 %)",
        "throughput lost",
        (1.0 - b / a) * 100.0
    );
    println!("rounds without: {without:.0?}");
    println!("rounds with:    {with:.0?}");
    println!("batches (sent, dropped) per round with the output: {sent:?}");
    println!(
        "{:<44} {:>11.3} %   of one core (median; rounds {cpu_share:.3?})\n",
        "exporter thread CPU / scenario wall time",
        median(cpu_share.iter().copied())
    );

    // Bytes per minute per scenario at the default interval (5 s): a
    // snapshot is cumulative, so a running scenario sends one of about the
    // same size every interval; 12 per minute.
    println!("bytes sent at the default interval (5 s), native histograms, snappy");
    println!(
        "{:<20} {:>8} {:>9} {:>9} {:>12} {:>16}",
        "scenario", "run s", "batches", "bytes", "bytes/batch", "bytes/min (12×)"
    );
    let out = format!("prometheus={write}");
    for scenario in ["redis-latency", "redis-concurrency"] {
        let report = run(
            &bin,
            &repo,
            &[scenario, "--redis", &redis_url, "--out", &out],
        )?;
        let o = &report["outputs"][0];
        let bytes = o["bytes_sent"].as_f64().unwrap_or(0.0);
        let batches = o["batches_sent"].as_f64().unwrap_or(0.0).max(1.0);
        let secs = report["duration_ms"].as_f64().unwrap_or(0.0) / 1e3;
        println!(
            "{:<20} {:>8.1} {:>9} {:>9.0} {:>12.0} {:>16.0}",
            scenario,
            secs,
            batches,
            bytes,
            bytes / batches,
            bytes / batches * 12.0
        );
    }
    Ok(())
}
