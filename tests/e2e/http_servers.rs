//! Real HTTP servers for the http probe's tests: hyper's own server over
//! TLS (ALPN `h2` and `http/1.1`, optionally requiring a client
//! certificate) or in clear as h2c, on a runtime of its own, and the SUT
//! (`scenarios/sut/service.py`) served over HTTPS.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rigor_tests::pki::TestPki;
use rigor_tests::repo_root;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How a test server speaks.
#[derive(Clone, Copy)]
pub enum Mode {
    /// TLS, ALPN `h2` or `http/1.1`.
    Tls,
    /// TLS that requires a client certificate signed by the test CA.
    MutualTls,
    /// HTTP/2 in clear, prior knowledge (h2c).
    H2c,
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

/// `/redirect?to=URL`: 302 to URL. `/loop`: 302 to itself. Anything else:
/// 200 `hello over <version>`.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let redirect = |to: &str| {
        Response::builder()
            .status(302)
            .header("location", to)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let path = req.uri().path();
    if path == "/loop" {
        return Ok(redirect("/loop"));
    }
    if path == "/redirect"
        && let Some(to) = req.uri().query().and_then(|q| q.strip_prefix("to="))
    {
        return Ok(redirect(to));
    }
    let body = format!("hello over {:?}", req.version());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn server_config(pki: &TestPki, mode: Mode) -> Arc<rustls::ServerConfig> {
    let provider = rigor::tls::provider();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.server_cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&pki.server_key).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match mode {
        Mode::MutualTls => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
                roots.add(ca.unwrap()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

impl TestServer {
    pub fn start(pki: &TestPki, mode: Mode) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let tls = match mode {
            Mode::H2c => None,
            _ => Some(tokio_rustls::TlsAcceptor::from(server_config(pki, mode))),
        };
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(handle);
                    let Some(acceptor) = tls else {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                        return;
                    };
                    // A refused handshake (no client certificate) just ends.
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    let io = TokioIo::new(stream);
                    if h2 {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, service)
                            .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    }
                });
            }
        });
        TestServer {
            addr,
            _runtime: runtime,
        }
    }

    pub fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://127.0.0.1:{}{path}", self.addr.port())
    }
}

/// The SUT over HTTPS with the test PKI's server certificate; killed when
/// dropped.
pub struct TlsSut {
    pub port: u16,
    child: Child,
}

impl TlsSut {
    pub fn start(pki: &TestPki) -> TlsSut {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .arg(repo_root().join("scenarios/sut/service.py"))
            .env("PORT", port.to_string())
            .env("TLS_CERT", &pki.server_cert)
            .env("TLS_KEY", &pki.server_key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the SUT did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsSut { port, child }
    }
}

impl Drop for TlsSut {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scenario of [`catalog`]: name, guest mode, parameters.
pub type Entry<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A catalog in `dir` of hostile-guest scenarios, each `(name, mode,
/// params)` granted the host of its `url` parameter and the PKI's client
/// certificate as `client`.
pub fn catalog(dir: &Path, scenarios: &[Entry<'_>]) -> std::path::PathBuf {
    let guest = repo_root().join("tests/fixtures/guests/hostile");
    let mut text = String::from("[defaults]\ndeadline = \"60s\"\n\n");
    for (name, mode, params) in scenarios {
        let mut decl = format!("mode = {{ default = \"{mode}\" }}");
        for (k, v) in *params {
            decl.push_str(&format!(", {k} = {{ default = \"{v}\" }}"));
        }
        text.push_str(&format!(
            "[[scenario]]\nname = \"{name}\"\nsource = \"{}\"\nparams = {{ {decl} }}\n[scenario.grants]\nhttp = [\"{{params.url}}\"]\nclient-certs = {{ client = {{ cert = \"client.pem\", key = \"client.key\" }} }}\n\n",
            guest.display()
        ));
    }
    let path = dir.join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path
}
