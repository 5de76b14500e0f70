//! Errors a scenario meets: probe failures (values from the host, never
//! traps), bad parameters, and the scenario's own messages.

use std::fmt;

use crate::bindings::rigor::scenario::types::ProbeError as WitProbeError;

/// A failed probe call, as reported by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The capability was not granted; the message names the catalog line.
    Denied(String),
    /// The operation timed out.
    Timeout(String),
    /// The remote end could not be reached, or the connection broke.
    Connection(String),
    /// Local I/O failed.
    Io(String),
    /// Invalid arguments.
    Invalid(String),
    /// The server answered with an error.
    Server(String),
}

impl From<WitProbeError> for ProbeError {
    fn from(e: WitProbeError) -> Self {
        match e {
            WitProbeError::Denied(m) => ProbeError::Denied(m),
            WitProbeError::Timeout(m) => ProbeError::Timeout(m),
            WitProbeError::Connection(m) => ProbeError::Connection(m),
            WitProbeError::Io(m) => ProbeError::Io(m),
            WitProbeError::Invalid(m) => ProbeError::Invalid(m),
            WitProbeError::Server(m) => ProbeError::Server(m),
        }
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, message) = match self {
            ProbeError::Denied(m) => ("denied", m),
            ProbeError::Timeout(m) => ("timeout", m),
            ProbeError::Connection(m) => ("connection", m),
            ProbeError::Io(m) => ("io", m),
            ProbeError::Invalid(m) => ("invalid", m),
            ProbeError::Server(m) => ("server", m),
        };
        write!(f, "{kind}: {message}")
    }
}

impl std::error::Error for ProbeError {}

/// Anything that can end a scenario early.
#[derive(Debug)]
pub enum Error {
    /// A probe call failed.
    Probe(ProbeError),
    /// A parameter is missing or does not parse.
    Param {
        /// Parameter name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The scenario's own message.
    Message(String),
}

impl Error {
    /// An error with the scenario's own message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Message(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Probe(e) => write!(f, "{e}"),
            Error::Param { name, message } => write!(f, "parameter `{name}`: {message}"),
            Error::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProbeError> for Error {
    fn from(e: ProbeError) -> Self {
        Error::Probe(e)
    }
}

impl From<WitProbeError> for Error {
    fn from(e: WitProbeError) -> Self {
        Error::Probe(e.into())
    }
}

/// Result of scenario code.
pub type Result<T, E = Error> = std::result::Result<T, E>;
