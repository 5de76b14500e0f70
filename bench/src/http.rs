//! HTTP load next to `wrk`, same machine, same run, against an nginx this
//! section starts on free loopback ports serving a small static file, in
//! clear and over TLS:
//!
//! `http-load`'s native load (what the scenario's `run-load` runs: closed
//! model, 50 workers on 50 kept-alive HTTP/1.1 connections, 10 s) vs
//! `wrk -t2 -c50 -d10s --latency`, rounds alternating the tools so drift
//! hits both alike: requests/s and p50 latency, medians of the rounds, and
//! their ratios. The load runs twice a round: on the event-loop threads
//! `http-load` takes by default (half the cores, leaving the rest to the
//! server under test), and on 2 threads like wrk's `-t2`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rigor::events::ProgressSink;
use rigor::probes::http::Url;
use rigor::probes::http::client::{Endpoint, RequestTemplate, TlsSetup, Version};
use rigor::probes::http::load::{LoadPlan, run as run_load};
use rigor::tls::TlsTrust;

use crate::median;

const CONNECTIONS: u32 = 50;
const SECONDS: u64 = 10;
const ROUNDS: usize = 3;
/// wrk's `-t2`, and the second thread count the load runs with.
const WRK_THREADS: u32 = 2;
/// The static file: the size of nginx's default welcome page.
const FILE_BYTES: usize = 615;

/// A free loopback port.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A CA and a certificate for 127.0.0.1 it signed, as PEM files in `dir`.
fn certificates(dir: &Path) -> Result<()> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "rigor bench CA");
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate()?;
    let server =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &issuer)?;
    std::fs::write(dir.join("ca.pem"), ca_pem)?;
    std::fs::write(dir.join("server.pem"), server.pem())?;
    std::fs::write(dir.join("server.key"), key.serialize_pem())?;
    Ok(())
}

/// nginx in the foreground, stopped when dropped.
struct Nginx(Child);

impl Nginx {
    /// The master's pid and its workers'.
    fn processes(&self) -> Result<Vec<u32>> {
        let master = self.0.id();
        let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
            .with_context(|| format!("listing nginx's workers (children of {master})"))?;
        let mut pids = vec![master];
        for pid in children.split_whitespace() {
            pids.push(
                pid.parse()
                    .with_context(|| format!("nginx worker pid `{pid}`"))?,
            );
        }
        Ok(pids)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, so the master stops its worker too (SIGKILL would leave
        // the worker running as an orphan); SIGKILL only if it lingers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(dir: &Path, plain: u16, tls: u16) -> Result<Nginx> {
    std::fs::create_dir_all(dir.join("www"))?;
    std::fs::write(dir.join("www/index.html"), "x".repeat(FILE_BYTES))?;
    let d = dir.display();
    // Workers run as the user starting them, so they can read `dir`.
    let user = if is_root() { "user root;" } else { "" };
    let conf = format!(
        "{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    server {{ listen 127.0.0.1:{plain}; root {d}/www; }}
    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        root {d}/www;
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), conf)?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting nginx (Debian: apt-get install nginx)")?;
    let nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    for port in [plain, tls] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!(
                    "nginx did not listen on {port}: {}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(nginx)
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Requests/s, p50 in microseconds, and the client's CPU time per request.
struct Figures {
    rps: f64,
    p50_us: f64,
    cpu_us: f64,
}

/// CPU seconds (user + system) this process has used, and those of its
/// children it waited for, from `/proc/self/stat` (in `USER_HZ` ticks,
/// 100 per second on Linux).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let tick = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    // utime, stime, cutime, cstime are fields 14..=17, i.e. 11..=14 here.
    (tick(11) + tick(12), tick(13) + tick(14))
}

fn rigor_load(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    trust: &TlsTrust,
    threads: u32,
) -> Result<Figures> {
    let url = Url::parse(url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tls = match url.scheme {
        rigor::probes::http::url::Scheme::Https => Some(TlsSetup::new(
            trust
                .client_config(None, &[rigor::tls::ALPN_HTTP1])
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        )),
        rigor::probes::http::url::Scheme::Http => None,
    };
    let addr = runtime
        .block_on(url.resolve())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = LoadPlan {
        endpoint: Endpoint {
            url: url.clone(),
            addr,
            tls,
            want: Some(Version::Http1),
        },
        request: Arc::new(
            RequestTemplate::new("GET", url, &[], Vec::new())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        workers: CONNECTIONS,
        connections: 0,
        requests: None,
        duration: Some(Duration::from_secs(SECONDS)),
        rate: None,
        timeout: Duration::from_secs(10),
        threads,
        progress: ProgressSink::detached(),
    };
    let (cpu_before, _) = cpu_seconds();
    let out = runtime.block_on(run_load(plan));
    let cpu = cpu_seconds().0 - cpu_before;
    if out.failed > 0 || out.ok == 0 {
        bail!(
            "the load failed {} of {} requests: {:?}",
            out.failed,
            out.sent,
            out.first_error
        );
    }
    Ok(Figures {
        rps: out.throughput(),
        p50_us: out.latency.summary().p50 as f64 / 1e3,
        cpu_us: cpu * 1e6 / (out.ok + out.http_errors).max(1) as f64,
    })
}

/// `50%   123.45us` → microseconds.
fn wrk_duration_us(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|v| v * factor)
}

fn wrk(url: &str) -> Result<Figures> {
    let (_, cpu_before) = cpu_seconds();
    let out = Command::new("wrk")
        .args([
            &format!("-t{WRK_THREADS}"),
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            "--latency",
            url,
        ])
        .output()
        .context("running wrk (Debian: apt-get install wrk)")?;
    let cpu = cpu_seconds().1 - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    // `  1234567 requests in 10.00s, 1.00GB read`
    let requests: Option<f64> = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok());
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok());
    let p50 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("50%"))
        .and_then(|v| wrk_duration_us(v.trim()));
    match (rps, p50, requests) {
        (Some(rps), Some(p50_us), Some(n)) if !text.contains("Non-2xx") => Ok(Figures {
            rps,
            p50_us,
            cpu_us: cpu * 1e6 / n.max(1.0),
        }),
        _ => bail!("unexpected wrk output for {url}:\n{text}"),
    }
}

pub fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    certificates(dir.path())?;
    let (plain, tls) = (free_port()?, free_port()?);
    let nginx = start_nginx(dir.path(), plain, tls)?;
    let version = Command::new("nginx")
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    let default_threads = rigor::budget::threads_per_load() as u32;
    println!(
        "{version}, 1 worker, a {FILE_BYTES} B static file; {CONNECTIONS} connections, {SECONDS} s per run, HTTP/1.1 kept alive, median of {ROUNDS} rounds"
    );
    println!(
        "rigor on its default {default_threads} thread(s) (half the cores) and on {WRK_THREADS}; wrk -t{WRK_THREADS}\n"
    );
    // The runtime `rigor run` uses; the load runs on threads of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let trust = TlsTrust::new(vec![dir.path().join("ca.pem")])?;
    // Left to the scheduler, the client's threads and nginx's worker share
    // both CPUs in a way that differs from run to run and tool to tool;
    // pinned, each side has a CPU of its own.
    let nginx_processes = nginx.processes()?;
    let mut thread_counts = vec![default_threads];
    if default_threads != WRK_THREADS {
        thread_counts.push(WRK_THREADS);
    }
    for (placement, pin) in [
        (
            "nginx and the client on a CPU each (nginx on CPU 0, the client on CPU 1)",
            true,
        ),
        (
            "nginx and the client sharing both CPUs as the scheduler puts them",
            false,
        ),
    ] {
        println!("\n{placement}");
        let table = || -> Result<()> {
            println!(
                "{:<17} {:>12} {:>12} {:>7}   {:>12} {:>12} {:>7}   {:>10} {:>10}",
                "",
                "rigor req/s",
                "wrk req/s",
                "ratio",
                "rigor p50 µs",
                "wrk p50 µs",
                "ratio",
                "rigor CPU",
                "wrk CPU"
            );
            for (name, url) in [
                ("http", format!("http://127.0.0.1:{plain}/")),
                ("https", format!("https://127.0.0.1:{tls}/")),
            ] {
                let mut ours: Vec<Vec<Figures>> =
                    thread_counts.iter().map(|_| Vec::new()).collect();
                let mut theirs = Vec::new();
                for _ in 0..ROUNDS {
                    for (runs, &threads) in ours.iter_mut().zip(&thread_counts) {
                        runs.push(rigor_load(&runtime, &url, &trust, threads)?);
                    }
                    theirs.push(wrk(&url)?);
                }
                let wrk_rps = median(theirs.iter().map(|f| f.rps));
                let wrk_p50 = median(theirs.iter().map(|f| f.p50_us));
                let wrk_cpu = median(theirs.iter().map(|f| f.cpu_us));
                for (runs, threads) in ours.iter().zip(&thread_counts) {
                    let rps = median(runs.iter().map(|f| f.rps));
                    let p50 = median(runs.iter().map(|f| f.p50_us));
                    let cpu = median(runs.iter().map(|f| f.cpu_us));
                    let label = format!(
                        "{name}, {threads} thread{}",
                        if *threads == 1 { "" } else { "s" }
                    );
                    println!(
                        "{label:<17} {rps:>12.0} {wrk_rps:>12.0} {:>7.3}   {p50:>12.1} {wrk_p50:>12.1} {:>7.3}   {cpu:>8.2}µs {wrk_cpu:>8.2}µs",
                        rps / wrk_rps,
                        p50 / wrk_p50
                    );
                }
            }
            Ok(())
        };
        if pin {
            crate::pinned(&nginx_processes, 1, table)?;
        } else {
            table()?;
        }
    }
    println!(
        "(targets: requests/s ratio >= 1.0, p50 ratio <= 1.1, for the load as `http-load` runs it by default; CPU: the client's CPU time per request)"
    );
    Ok(())
}
