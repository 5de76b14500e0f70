//! The WebSocket probe: `ws://` and `wss://` connections on tokio-tungstenite,
//! connected and timed phase by phase by the host (resolve, TCP, TLS,
//! upgrade), a host-native load that matches every answer to its message by a
//! correlation id, and the WIT binding that checks each URL against the
//! scenario's `http` grants (a WebSocket is an HTTP upgrade).

pub mod binding;
pub mod client;
pub mod correlation;
pub mod load;

pub use binding::{WebSocketBinding, WebSocketView};
pub use client::{Conn, ConnectTiming, Incoming, WsError, WsUrl};

use crate::policy::{Denied, Policy};
use crate::probes::ProbeError;

/// Largest message (and frame) a connection accepts or sends when the guest
/// does not say.
pub const DEFAULT_MAX_MESSAGE: usize = 1024 * 1024;
/// Largest `max-message-bytes` a guest may ask for: every open connection
/// holds host memory for a few messages of this size.
pub const MAX_MESSAGE_LIMIT: usize = 16 * 1024 * 1024;
/// Most extra upgrade headers a guest may give.
pub const MAX_HEADERS: usize = 64;
/// Most bytes of extra upgrade headers (names plus values).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Checks `url` against the `http` grants: the host (every port) or the
/// `host:port` pair must be granted. A denial names the line to add.
pub fn check_url(policy: &Policy, url: &str) -> Result<WsUrl, ProbeError> {
    let parsed = WsUrl::parse(url).map_err(|e| ProbeError::Invalid(e.to_string()))?;
    policy
        .check_http(&parsed.host, parsed.port)
        .map_err(|d| Denied {
            what: format!(
                "WebSocket host `{}` (granted by `http`)",
                parsed.authority()
            ),
            ..d
        })?;
    Ok(parsed)
}

/// The `max-message-bytes` a guest gave (0: `default`), checked.
pub fn max_message(asked: u32, default: usize) -> Result<usize, ProbeError> {
    let asked = asked as usize;
    if asked == 0 {
        return Ok(default);
    }
    if asked > MAX_MESSAGE_LIMIT {
        return Err(ProbeError::Invalid(format!(
            "max-message-bytes is {asked}; the limit is {MAX_MESSAGE_LIMIT} (16 MiB)"
        )));
    }
    Ok(asked)
}

/// Checks the extra upgrade headers against the named bounds.
pub fn check_headers(headers: &[(String, String)]) -> Result<(), ProbeError> {
    let bytes: usize = headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(ProbeError::Invalid(format!(
            "{} upgrade headers of {bytes} bytes; the limits are {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes",
            headers.len()
        )));
    }
    Ok(())
}

impl From<WsError> for ProbeError {
    fn from(e: WsError) -> Self {
        match e {
            WsError::InvalidUrl { .. } | WsError::Invalid(_) | WsError::TooLarge { .. } => {
                ProbeError::Invalid(e.to_string())
            }
            WsError::Timeout { .. } => ProbeError::Timeout(e.to_string()),
            WsError::Upgrade { .. } => ProbeError::Server(e.to_string()),
            WsError::Resolve { .. }
            | WsError::Connect { .. }
            | WsError::Tls { .. }
            | WsError::Closed { .. }
            | WsError::Broken { .. } => ProbeError::Connection(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Grants;

    #[test]
    fn ws_urls_use_the_http_grants() {
        let mut grants = Grants::default();
        grants.http.insert("127.0.0.1:8080".into());
        grants.http.insert("localhost".into());
        let policy = Policy::new("chat", grants);
        assert!(check_url(&policy, "ws://127.0.0.1:8080/ws/echo").is_ok());
        assert!(check_url(&policy, "wss://localhost/ws").is_ok());
        let err = check_url(&policy, "ws://127.0.0.1:9090/").unwrap_err();
        assert!(
            matches!(err, ProbeError::Denied(ref m)
                if m.contains(r#"http = ["127.0.0.1:9090"]"#) && m.contains("WebSocket host")),
            "{err}"
        );
        let err = check_url(&policy, "http://127.0.0.1:8080/").unwrap_err();
        assert!(
            matches!(err, ProbeError::Invalid(ref m) if m.contains("ws://")),
            "{err}"
        );
    }

    #[test]
    fn message_limits_are_bounded() {
        assert_eq!(max_message(0, 7).unwrap(), 7);
        assert_eq!(max_message(100, 7).unwrap(), 100);
        let err = max_message(u32::MAX, 7).unwrap_err().to_string();
        assert!(err.contains("the limit is 16777216"), "{err}");
        let many = vec![("x".to_owned(), "y".to_owned()); MAX_HEADERS + 1];
        assert!(check_headers(&many).is_err());
    }
}
