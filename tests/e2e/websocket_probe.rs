//! The websocket probe end to end: the `websocket-chat` catalog scenario
//! against the service under test, the client against an independent server
//! (Python's `websockets`, installed by `scripts/ws-venv.sh`) over `ws://`
//! and `wss://` with a throwaway CA, and the refusals (an ungranted host, a
//! message over the size limit, connections past the budget), each exact,
//! with the run going on.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::process::{check_named, metric, run_scenario};
use rigor_tests::pki::TestPki;
use rigor_tests::{read_json, repo_root, rigor, scenario};

const CATALOG: &str = "tests/fixtures/catalogs/websocket.toml";

/// The Python of the venv holding `websockets`, installed once.
fn ws_python() -> &'static Path {
    static PYTHON: OnceLock<std::path::PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new(repo_root().join("scripts/ws-venv.sh"))
            .output()
            .expect("running scripts/ws-venv.sh");
        assert!(
            out.status.success(),
            "scripts/ws-venv.sh failed (it pip-installs `websockets`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().into()
    })
}

/// A server process killed on drop, and its port.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python's `websockets` echo server, over TLS with `tls` (cert, key).
fn independent_server(tls: Option<(&Path, &Path)>) -> Server {
    let mut cmd = Command::new(ws_python());
    cmd.arg(repo_root().join("tests/fixtures/ws_server.py"));
    if let Some((cert, key)) = tls {
        cmd.arg(cert).arg(key);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the websockets server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the websockets server printed `{line}`, not a port"));
    Server { child, port }
}

/// The service under test on a free port, once it accepts connections.
fn service_under_test() -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .arg(repo_root().join("scenarios/sut/service.py"))
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting the service under test");
    let server = Server { child, port };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the service did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Runs `scenarios` of the websocket catalog with `args`; the JSON report.
fn run_ws(scenarios: &[&str], args: &[String]) -> (serde_json::Value, rigor_tests::Run) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = rigor()
        .args(["run", "--catalog", CATALOG])
        .args(scenarios)
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let run: rigor_tests::Run = out.into();
    assert!(json.is_file(), "no report:\n{}", run.describe());
    (read_json(&json), run)
}

fn url_params(scenarios: &[&str], url: &str) -> Vec<String> {
    scenarios
        .iter()
        .flat_map(|s| ["-p".to_owned(), format!("{s}:url={url}")])
        .collect()
}

fn detail(s: &serde_json::Value, name: &str) -> String {
    let c = check_named(s, name);
    assert_eq!(c["passed"], true, "check `{name}`: {c:#}");
    c["detail"].as_str().unwrap().to_owned()
}

#[test]
fn the_chat_scenario_passes_against_the_service() {
    let (s, stderr) = run_scenario(
        "websocket-chat",
        &[
            "members=5",
            "chat-messages=10",
            "connections=4",
            "messages=50",
            "round-trip-p99-ms=2000",
            "connect-p99-ms=2000",
        ],
    );
    assert_eq!(s["status"], "passed", "{s:#}\n{stderr}");
    assert!(
        detail(&s, "every chat message reaches every member exactly once")
            .starts_with("5 of 5 members got all 50 messages")
    );
    assert_eq!(
        detail(&s, "chat members close cleanly (1000)"),
        "close codes [1000, 1000, 1000, 1000, 1000]"
    );
    assert_eq!(metric(&s, "echo")["summary"]["count"], 200);
    assert_eq!(metric(&s, "echo.connect")["summary"]["count"], 4);
    assert_eq!(metric(&s, "echo.lost")["value"], 0.0);
    assert_eq!(metric(&s, "chat.connect")["summary"]["count"], 5);
}

#[test]
fn a_binary_load_against_the_service_matches_ids_in_a_byte_range() {
    let sut = service_under_test();
    let url = format!("ws://127.0.0.1:{}/ws/echo", sut.port);
    let mut args = url_params(&["ws-load"], &url);
    args.extend(
        [
            "-p",
            "ws-load:id=bytes",
            "-p",
            "ws-load:rate=200",
            "-p",
            "ws-load:messages=40",
        ]
        .map(String::from),
    );
    let (report, run) = run_ws(&["ws-load"], &args);
    let s = scenario(&report, "ws-load");
    assert_eq!(s["status"], "passed", "{s:#}\n{}", run.describe());
    assert_eq!(metric(s, "rt")["summary"]["count"], 160);
    assert_eq!(
        detail(s, "every connection closed with 1000"),
        "[(1000, 4)]"
    );
}

#[test]
fn the_client_works_against_an_independent_server() {
    let server = independent_server(None);
    let url = format!("ws://127.0.0.1:{}/", server.port);
    let (report, run) = run_ws(
        &["ws-echo", "ws-load"],
        &url_params(&["ws-echo", "ws-load"], &url),
    );
    assert_eq!(run.code, 0, "{}", run.describe());
    let echo = scenario(&report, "ws-echo");
    assert_eq!(detail(echo, "binary echoed"), "100000 bytes compared");
    assert_eq!(
        detail(echo, "close answered"),
        "sent 4001, the server answered 4001"
    );
    let load = scenario(&report, "ws-load");
    assert!(
        detail(load, "every message matched")
            .starts_with("sent 400 received 400 matched 400 unmatched 0 duplicates 0 lost 0"),
        "{load:#}"
    );
    assert_eq!(metric(load, "rt")["summary"]["count"], 400);
}

#[test]
fn wss_is_verified_against_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::generate(dir.path());
    let server = independent_server(Some((&pki.server_cert, &pki.server_key)));
    let url = format!("wss://localhost:{}/", server.port);
    let mut args = url_params(&["ws-echo", "ws-load"], &url);
    args.extend(["--ca-file".to_owned(), pki.ca.display().to_string()]);
    let (report, run) = run_ws(&["ws-echo", "ws-load"], &args);
    assert_eq!(run.code, 0, "{}", run.describe());
    let echo = scenario(&report, "ws-echo");
    assert!(
        metric(echo, "tls-ns")["value"].as_f64().unwrap() > 0.0,
        "{echo:#}"
    );
    assert_eq!(
        detail(echo, "text echoed"),
        "Incoming::Text(\"ünïcode text\")"
    );
    let load = scenario(&report, "ws-load");
    assert_eq!(load["status"], "passed", "{load:#}");

    // Trusting an unrelated CA: the handshake fails, as a connection error
    // that names TLS and --ca-file.
    let mut args = url_params(&["ws-echo"], &url);
    args.extend(["--ca-file".to_owned(), pki.other_ca.display().to_string()]);
    let (report, _) = run_ws(&["ws-echo"], &args);
    let echo = scenario(&report, "ws-echo");
    assert_eq!(echo["status"], "errored", "{echo:#}");
    let error = echo["error"].as_str().unwrap_or_default().to_owned() + &echo.to_string();
    assert!(
        error.contains("connection: TLS with `localhost` failed") && error.contains("--ca-file"),
        "{echo:#}"
    );
}

#[test]
fn refusals_are_exact_and_the_run_goes_on() {
    let server = independent_server(None);
    let url = format!("ws://127.0.0.1:{}/", server.port);
    let names = ["ws-denied", "ws-too-large", "ws-budget", "ws-after"];
    let (report, run) = run_ws(&names, &url_params(&names[..3], &url));
    assert_eq!(run.code, 0, "{}", run.describe());
    let denied = scenario(&report, "ws-denied");
    let line = format!(
        r#"add `http = ["127.0.0.1:{}"]` to its `grants`"#,
        server.port
    );
    for check in [
        "connect to an ungranted host is denied",
        "a load on an ungranted host is denied",
    ] {
        let d = detail(denied, check);
        assert!(d.contains("WebSocket host") && d.contains(&line), "{d}");
    }
    let large = scenario(&report, "ws-too-large");
    assert_eq!(
        detail(
            large,
            "a 2048-byte message on a 1024-byte connection is invalid"
        ),
        "a message of 2048 bytes is over the limit of 1024 bytes (max-message-bytes)"
    );
    assert_eq!(
        detail(large, "max-message-bytes over 16 MiB is invalid"),
        "max-message-bytes is 4294967295; the limit is 16777216 (16 MiB)"
    );
    assert_eq!(
        detail(large, "the connection still works"),
        "Incoming::Text(\"still here\")"
    );
    let budget = scenario(&report, "ws-budget");
    assert_eq!(metric(budget, "opened")["value"], 3.0);
    let d = detail(budget, "a connection past the budget is denied");
    assert!(
        d.contains("needs 1 connection")
            && d.contains("connections budget of 3")
            && d.contains("raise `connections`"),
        "{d}"
    );
    assert_eq!(detail(budget, "open connections unharmed"), "3");
    assert_eq!(scenario(&report, "ws-after")["status"], "passed");
}
