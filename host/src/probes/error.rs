//! `ProbeError`: why a probe call failed, in the six kinds the WIT
//! `probe-error` has. Native halves return it; bindings hand it to the guest
//! as a value (see `probes::types`).

/// A probe failure, returned to the guest as a `probe-error` value.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    #[error("denied: {0}")]
    Denied(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("connection: {0}")]
    Connection(String),
    #[error("io: {0}")]
    Io(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("server: {0}")]
    Server(String),
}

impl From<crate::policy::Denied> for ProbeError {
    fn from(d: crate::policy::Denied) -> Self {
        ProbeError::Denied(d.to_string())
    }
}
