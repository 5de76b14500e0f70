//! Trust and identity for every TLS connection a probe opens (HTTPS,
//! `wss://`, `rediss://`): which certificate authorities are believed, and
//! which client certificate is presented.
//!
//! Roots are the system's (through `rustls-native-certs`, which reads
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` instead of the platform store when they
//! are set, as OpenSSL does) plus every `--ca-file` given on the command line.
//! They are read once per run, on the first TLS connection, so a run that
//! never speaks TLS never touches the certificate store. A client identity
//! (certificate chain and private key, PEM) is loaded by the host from files
//! the catalog names; a scenario can choose one by name but never reads it.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use rustls::RootCertStore;
use rustls::client::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// ALPN identifiers, as the probes offer them.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file `{path}`: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error(
        "the CA file `{path}` holds no certificate: give a PEM file with at least one `-----BEGIN CERTIFICATE-----` block"
    )]
    EmptyCaFile { path: PathBuf },
    #[error(
        "no trusted certificate authority: the system store is empty or unreadable ({reason}) and no --ca-file was given"
    )]
    NoRoots { reason: String },
    #[error("cannot read the client certificate `{path}`: {reason}")]
    ClientCert { path: PathBuf, reason: String },
    #[error("cannot read the client key `{path}`: {reason}")]
    ClientKey { path: PathBuf, reason: String },
    #[error("the client certificate `{cert}` and key `{key}` do not form an identity: {reason}")]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("`{host}` is not a valid TLS server name: {reason}")]
    ServerName { host: String, reason: String },
}

/// The certificate authorities a run trusts: the system's and the CA files
/// named on the command line. Cheap to clone; roots load on first use.
#[derive(Debug, Clone, Default)]
pub struct TlsTrust {
    inner: Arc<TrustInner>,
}

#[derive(Debug, Default)]
struct TrustInner {
    ca_files: Vec<PathBuf>,
    roots: OnceLock<Result<Arc<RootCertStore>, String>>,
}

impl TlsTrust {
    /// Trust for a run: the system store plus `ca_files` (PEM). The files
    /// are read and checked now, so a wrong path fails before anything runs.
    pub fn new(ca_files: Vec<PathBuf>) -> Result<Self, TlsError> {
        for path in &ca_files {
            read_ca_file(path)?;
        }
        Ok(Self {
            inner: Arc::new(TrustInner {
                ca_files,
                roots: OnceLock::new(),
            }),
        })
    }

    /// The CA files given, in order (for the report).
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.inner.ca_files
    }

    /// The root store, loaded once.
    pub fn roots(&self) -> Result<Arc<RootCertStore>, TlsError> {
        self.inner
            .roots
            .get_or_init(|| load_roots(&self.inner.ca_files).map(Arc::new))
            .clone()
            .map_err(|reason| TlsError::NoRoots { reason })
    }

    /// A client configuration offering `alpn` (most preferred first), with
    /// `identity` presented when the server asks for a client certificate.
    pub fn client_config(
        &self,
        identity: Option<&ClientIdentity>,
        alpn: &[&[u8]],
    ) -> Result<Arc<ClientConfig>, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_root_certificates(self.roots()?);
        let mut config = match identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| TlsError::Identity {
                    cert: id.cert_path.clone(),
                    key: id.key_path.clone(),
                    reason: e.to_string(),
                })?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

/// The crypto provider every configuration uses (ring: builds with `cc`
/// alone, no cmake or assembler toolchain needed on a fresh machine).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The server name to verify `host` against (a DNS name or an IP address).
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned()).map_err(|e| TlsError::ServerName {
        host: host.to_owned(),
        reason: e.to_string(),
    })
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |reason: String| TlsError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| failed(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::EmptyCaFile {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn load_roots(ca_files: &[PathBuf]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    for path in ca_files {
        let certs = read_ca_file(path).map_err(|e| e.to_string())?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("a certificate in `{}`: {e}", path.display()))?;
        }
    }
    if roots.is_empty() {
        let reason = match native.errors.first() {
            Some(e) => e.to_string(),
            None if added == 0 => "no certificate found".to_owned(),
            None => "every certificate was unusable".to_owned(),
        };
        return Err(reason);
    }
    Ok(roots)
}

/// A client certificate chain and its private key, loaded by the host.
#[derive(Debug)]
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: PathBuf,
    key_path: PathBuf,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            cert_path: self.cert_path.clone(),
            key_path: self.key_path.clone(),
        }
    }
}

impl ClientIdentity {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsError::ClientCert {
                path: cert.to_owned(),
                reason: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::ClientCert {
                path: cert.to_owned(),
                reason: "no `-----BEGIN CERTIFICATE-----` block".to_owned(),
            });
        }
        let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::ClientKey {
            path: key.to_owned(),
            reason: e.to_string(),
        })?;
        // A key that does not match the certificate is caught here, not at
        // the first handshake.
        let signing = provider()
            .key_provider
            .load_private_key(private.clone_key())
            .map_err(|e| TlsError::ClientKey {
                path: key.to_owned(),
                reason: e.to_string(),
            })?;
        let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
        certified.keys_match().map_err(|e| TlsError::Identity {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            chain,
            key: private,
            cert_path: cert.to_owned(),
            key_path: key.to_owned(),
        })
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

/// A probe connection's stream: TCP, or TLS over TCP (Redis, WebSocket). An enum rather than a boxed
/// trait object, so the plaintext path stays a direct call; the TLS session
/// (over a kilobyte) is boxed so a plaintext client stays small.
pub enum MaybeTlsStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    pub fn is_tls(&self) -> bool {
        matches!(self, MaybeTlsStream::Tls(_))
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            MaybeTlsStream::Tls(s) => s.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_ca_file_is_checked_when_the_run_starts() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = TlsTrust::new(vec![missing.clone()]).unwrap_err();
        assert!(matches!(err, TlsError::CaFile { ref path, .. } if *path == missing));
        let empty = write(dir.path(), "empty.pem", "not a certificate\n");
        let err = TlsTrust::new(vec![empty]).unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");
    }

    #[test]
    fn a_generated_ca_is_trusted_and_an_identity_loads() {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap();
        let ca_path = write(dir.path(), "ca.pem", &ca.pem());
        let trust = TlsTrust::new(vec![ca_path.clone()]).unwrap();
        assert!(!trust.roots().unwrap().is_empty());
        assert_eq!(trust.ca_files(), [ca_path]);

        let client_key = rcgen::KeyPair::generate().unwrap();
        let client = rcgen::CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .signed_by(&client_key, &rcgen::Issuer::new(params, ca_key))
            .unwrap();
        let cert = write(dir.path(), "client.pem", &client.pem());
        let key = write(dir.path(), "client.key", &client_key.serialize_pem());
        let id = ClientIdentity::from_pem_files(&cert, &key).unwrap();
        let config = trust
            .client_config(Some(&id), &[ALPN_H2, ALPN_HTTP1])
            .unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );

        // A key that belongs to another certificate is refused at load.
        let other = write(
            dir.path(),
            "other.key",
            &rcgen::KeyPair::generate().unwrap().serialize_pem(),
        );
        let err = ClientIdentity::from_pem_files(&cert, &other)
            .unwrap_err()
            .to_string();
        assert!(err.contains("do not form an identity"), "{err}");
    }

    #[test]
    fn server_names_accept_hosts_and_addresses() {
        assert!(server_name("localhost").is_ok());
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("[::1]").is_ok());
        assert!(server_name("bad host").is_err());
    }
}
