//! The HTTP probe: HTTP/1.1 and HTTP/2 over TCP or TLS on hyper, timed
//! phase by phase (resolve, connect, TLS, first byte, last byte), a
//! concurrent load in the closed and open models, and the WIT binding that
//! checks every URL (redirect hops included) against the `http` grants.

mod binding;
pub mod client;
pub mod load;
pub mod url;

pub use binding::{HttpBinding, HttpView};
pub use client::{HttpError, Response, Timing, Version};
pub use url::Url;

use crate::policy::Policy;
use crate::probes::ProbeError;

/// Per-scenario HTTP state: what is granted.
#[derive(Debug, Clone)]
pub struct HttpCtx {
    pub policy: Policy,
}

impl HttpCtx {
    /// Parses `url` and checks its host and port against the grants.
    pub fn check_url(&self, url: &str) -> Result<Url, ProbeError> {
        let parsed = Url::parse(url).map_err(|e| ProbeError::Invalid(e.to_string()))?;
        self.policy.check_http(&parsed.host, parsed.port)?;
        Ok(parsed)
    }
}

/// Reads one `http` grant of the catalog: a host (`127.0.0.1`, `localhost`:
/// every port) or `host:port`; returned in the form the policy compares.
pub fn grant_host(text: &str) -> Result<String, String> {
    let bad =
        |why: &str| format!("http grant `{text}`: {why}; write `127.0.0.1` or `127.0.0.1:8080`");
    if text.contains("://") || text.contains('/') {
        return Err(bad("give a host, not a URL"));
    }
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return Err(bad("empty or contains spaces"));
    }
    let lower = text.to_ascii_lowercase();
    if let Some((host, port)) = lower.rsplit_once(':')
        && !host.is_empty()
        && !lower.starts_with('[')
        && !host.contains(':')
    {
        port.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the port is not a number in 1..=65535"))?;
    }
    Ok(lower)
}

impl From<HttpError> for ProbeError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::InvalidUrl { .. } | HttpError::InvalidRequest(_) => {
                ProbeError::Invalid(e.to_string())
            }
            HttpError::TlsSetup(crate::tls::TlsError::ServerName { .. }) => {
                ProbeError::Invalid(e.to_string())
            }
            HttpError::Timeout { .. } => ProbeError::Timeout(e.to_string()),
            HttpError::Resolve { .. }
            | HttpError::Connect { .. }
            | HttpError::TlsVerify { .. }
            | HttpError::Tls { .. }
            | HttpError::TlsSetup(_)
            | HttpError::NoHttp2 { .. }
            | HttpError::Exchange { .. } => ProbeError::Connection(e.to_string()),
            HttpError::Protocol { .. } => ProbeError::Server(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Grants;

    #[test]
    fn grants_are_hosts_or_host_port_pairs() {
        assert_eq!(grant_host("127.0.0.1").as_deref(), Ok("127.0.0.1"));
        assert_eq!(
            grant_host("LocalHost:8080").as_deref(),
            Ok("localhost:8080")
        );
        for bad in ["http://127.0.0.1", "h:port", "h:0", "", "a b", "h/x"] {
            assert!(grant_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_on_ungranted_hosts_are_denied() {
        let mut grants = Grants::default();
        grants.http.insert("127.0.0.1:8080".into());
        let ctx = HttpCtx {
            policy: Policy::new("web", grants),
        };
        assert!(ctx.check_url("http://127.0.0.1:8080/health").is_ok());
        let err = ctx.check_url("http://127.0.0.1:9090/").unwrap_err();
        assert!(
            matches!(err, ProbeError::Denied(ref m) if m.contains(r#"http = ["127.0.0.1:9090"]"#)),
            "{err}"
        );
        let err = ctx.check_url("ftp://127.0.0.1:8080/").unwrap_err();
        assert!(matches!(err, ProbeError::Invalid(_)));
        // The grant names host and port; the scheme does not matter.
        assert!(ctx.check_url("https://127.0.0.1:8080/").is_ok());
    }
}
