//! What the network probes (HTTP, WebSocket) share about reaching a host:
//! splitting a URL's authority into host and port, and resolving the host.

use std::net::SocketAddr;

/// Why an authority could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityError {
    UnclosedBracket,
    TextAfterBracket,
    /// The port is not a number that fits in 16 bits.
    BadPort,
}

/// Splits `host[:port]` or `[v6][:port]` into the host (without brackets,
/// as written) and the port (`default_port` when none is given). A port of
/// 0 is returned as such: callers word that refusal themselves.
pub fn split_authority(
    authority: &str,
    default_port: u16,
) -> Result<(String, u16), AuthorityError> {
    let port_of = |p: &str| p.parse::<u16>().map_err(|_| AuthorityError::BadPort);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(AuthorityError::UnclosedBracket)?;
        let port = match after.strip_prefix(':') {
            Some(p) => port_of(p)?,
            None if after.is_empty() => default_port,
            None => return Err(AuthorityError::TextAfterBracket),
        };
        return Ok((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Ok((host.to_owned(), port_of(p)?)),
        None => Ok((authority.to_owned(), default_port)),
    }
}

/// The first address `host` resolves to, or why there is none.
pub async fn resolve_first(host: &str, port: u16) -> Result<SocketAddr, String> {
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| "no addresses".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(split_authority("a:81", 80), Ok(("a".into(), 81)));
        assert_eq!(split_authority("a", 80), Ok(("a".into(), 80)));
        assert_eq!(split_authority("[::1]:9", 80), Ok(("::1".into(), 9)));
        assert_eq!(split_authority("[::1]", 443), Ok(("::1".into(), 443)));
        assert_eq!(split_authority("a:0", 80), Ok(("a".into(), 0)));
        assert_eq!(
            split_authority("[::1", 80),
            Err(AuthorityError::UnclosedBracket)
        );
        assert_eq!(
            split_authority("[::1]x", 80),
            Err(AuthorityError::TextAfterBracket)
        );
        assert_eq!(split_authority("a:x", 80), Err(AuthorityError::BadPort));
        assert_eq!(split_authority("a:70000", 80), Err(AuthorityError::BadPort));
    }
}
