//! Real receivers for the live outputs: a Prometheus server (Debian's
//! `prometheus` package) with its remote-write receiver and native
//! histograms on, queried over its HTTP API; a plain HTTP sink that keeps
//! every request body (for OTLP, decoded by the tests with the official
//! OpenTelemetry types); and endpoints that refuse or never answer.
//! Every process and thread ends with its handle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::redis_procs::free_port;

const READY: Duration = Duration::from_secs(30);

/// One `prometheus` child on a free loopback port, with a private TSDB.
pub struct PrometheusServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The installed Prometheus' version, `(major, minor)`.
pub fn prometheus_version() -> (u32, u32) {
    let out = Command::new("prometheus")
        .arg("--version")
        .output()
        .expect("prometheus (apt-get install prometheus; scripts/setup.sh does)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or_else(|| panic!("no version in `prometheus --version`: {text}"));
    let mut parts = version
        .split(['.', '+', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

impl PrometheusServer {
    /// Starts Prometheus with the remote-write receiver and native
    /// histograms (both need 2.40 or later) and waits until it is ready.
    pub fn start() -> PrometheusServer {
        let version = prometheus_version();
        assert!(
            version >= (2, 40),
            "Prometheus {version:?} is too old: native histograms over remote write need 2.40+"
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
        let port = free_port(false);
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
            .expect("prometheus (apt-get install prometheus)");
        let mut server = PrometheusServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + READY;
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("prometheus exited early: {status}");
            }
            if http_get(port, "/-/ready").is_some_and(|(code, _)| code == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "prometheus not ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The remote-write endpoint.
    pub fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// The result vector of an instant PromQL query.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let (code, body) = http_get(self.port, &path).expect("querying prometheus");
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("prometheus answered {code} with non-JSON ({e}): {body}"));
        assert_eq!(json["status"], "success", "{promql}: {json:#}");
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The single value of an instant query that must return one series.
    pub fn value(&self, promql: &str) -> f64 {
        let result = self.query(promql);
        assert_eq!(result.len(), 1, "{promql} returned {result:#?}");
        result[0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{promql}: no value in {result:#?}"))
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A plain HTTP/1.0 GET on loopback: (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// One request a [`HttpSink`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An HTTP/1.1 server on loopback that answers every request `200 OK` and
/// keeps it (an OTLP/HTTP collector as far as the sender can tell).
pub struct HttpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl HttpSink {
    pub fn start() -> HttpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                while let Some(request) = read_request(&mut stream) {
                    r.lock().unwrap().push(request);
                    let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if stream.write_all(ok.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        HttpSink {
            port,
            received,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// One HTTP/1.1 request with a `Content-Length` body.
fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).ok()?;
    Some(Received {
        request_line,
        headers,
        body,
    })
}

/// A loopback port that accepts connections and never answers (a hung
/// endpoint); its connections are held until the handle is dropped.
pub struct SilentEndpoint {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for SilentEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl SilentEndpoint {
    pub fn start() -> SilentEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                held.extend(stream.ok());
            }
        });
        SilentEndpoint { port, stop }
    }
}

/// A loopback port nothing listens on (connections are refused).
pub fn dead_port() -> u16 {
    free_port(false)
}
