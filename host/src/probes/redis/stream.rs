//! The byte stream under a Redis connection: plain TCP for `redis://`, TLS
//! (rustls, the run's trust) for `rediss://`, and how a TLS failure is told
//! apart from a network one.

use std::fmt;
use std::io;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::tls::{ClientIdentity, TlsError, TlsTrust};

/// How a `rediss://` target is reached: the run's trust and the client
/// identity given for the target, if any. Built once per target; the rustls
/// configuration is made on the first connection and shared by the others.
#[derive(Clone, Default)]
pub struct TlsConnect {
    trust: TlsTrust,
    identity: Option<Arc<ClientIdentity>>,
    config: Arc<OnceLock<Result<Arc<rustls::ClientConfig>, String>>>,
}

impl fmt::Debug for TlsConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnect")
            .field("ca_files", &self.trust.ca_files())
            .field(
                "client_cert",
                &self.identity.as_ref().map(|i| i.cert_path().to_owned()),
            )
            .finish()
    }
}

/// The same setup (clones of one), not an equal-looking one.
impl PartialEq for TlsConnect {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
    }
}
impl Eq for TlsConnect {}

impl TlsConnect {
    pub fn new(trust: TlsTrust, identity: Option<ClientIdentity>) -> Self {
        Self {
            trust,
            identity: identity.map(Arc::new),
            config: Arc::default(),
        }
    }

    /// Whether a client certificate is presented.
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    fn config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.config
            .get_or_init(|| {
                self.trust
                    .client_config(self.identity.as_deref(), &[])
                    .map_err(|e: TlsError| e.to_string())
            })
            .clone()
    }

    /// The TLS handshake over `tcp`, verifying the certificate against `host`.
    pub(super) async fn handshake(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> Result<TlsStream<TcpStream>, TlsFailure> {
        let config = self.config().map_err(TlsFailure::Setup)?;
        let name = crate::tls::server_name(host).map_err(|e| TlsFailure::Setup(e.to_string()))?;
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(classify)
    }
}

/// Why a TLS connection failed.
#[derive(Debug)]
pub enum TlsFailure {
    /// Trust or identity could not be set up (no roots, bad server name).
    Setup(String),
    /// The server's certificate was not accepted.
    Verify(String),
    /// The handshake or the first exchange failed for another TLS reason
    /// (an alert from the server, e.g. a client certificate it requires).
    Handshake(String),
    /// Not a TLS problem: the network.
    Io(io::Error),
}

/// Sorts an I/O error from rustls into what the user has to fix.
pub fn classify(e: io::Error) -> TlsFailure {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(reason)) => {
            TlsFailure::Verify(format!("{reason:?}"))
        }
        Some(other) => TlsFailure::Handshake(other.to_string()),
        None => TlsFailure::Io(e),
    }
}
