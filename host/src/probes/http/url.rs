//! `http://` and `https://` URLs as the probe takes them: host, port and
//! request target, checked before anything is sent.

use std::net::SocketAddr;

use super::client::HttpError;
use crate::probes::net::{AuthorityError, resolve_first, split_authority};

/// Longest URL accepted (a redirect's `Location` included).
pub const MAX_URL_LEN: usize = 8 * 1024;

/// The two schemes the probe speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, HttpError> {
        let bad = |reason: &str| HttpError::InvalidUrl {
            url: text.chars().take(200).collect(),
            reason: reason.to_owned(),
        };
        if text.len() > MAX_URL_LEN {
            return Err(bad(&format!("longer than {MAX_URL_LEN} bytes")));
        }
        let (scheme, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(bad("only `http://` and `https://` URLs are supported"));
        };
        let (authority, target) = match rest.find(['/', '?', '#']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        let mut target = target.split('#').next().unwrap_or("/").to_owned();
        if target.is_empty() || target.starts_with('?') {
            target.insert(0, '/');
        }
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) =
            split_authority(authority, scheme.default_port()).map_err(|e| match e {
                AuthorityError::UnclosedBracket => bad("unclosed `[`"),
                AuthorityError::TextAfterBracket => bad("unexpected text after `]`"),
                AuthorityError::BadPort => bad("the port is not a number"),
            })?;
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if port == 0 {
            return Err(bad("port 0"));
        }
        if host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'/')
        {
            return Err(bad("the host contains spaces or control characters"));
        }
        if target
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("spaces and control characters must be percent-encoded"));
        }
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            target,
        })
    }

    /// The `Host` header value (the port only when it is not the default).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The URL in its canonical text form.
    pub fn to_text(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.target
        )
    }

    /// Resolves a redirect's `Location` against this URL: absolute URLs,
    /// scheme-relative (`//host/x`), absolute paths and relative paths.
    pub fn join(&self, location: &str) -> Result<Url, HttpError> {
        let location = location.trim();
        if location.starts_with("http://") || location.starts_with("https://") {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme.as_str()));
        }
        if location.contains("://") {
            return Url::parse(location);
        }
        let target = if location.starts_with('/') {
            location.to_owned()
        } else {
            let path = self.target.split('?').next().unwrap_or("/");
            let dir = &path[..=path.rfind('/').unwrap_or(0)];
            format!("{dir}{location}")
        };
        Url::parse(&format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            target
        ))
    }

    /// The first address the host name resolves to.
    pub async fn resolve(&self) -> Result<SocketAddr, HttpError> {
        resolve_first(&self.host, self.port)
            .await
            .map_err(|reason| HttpError::Resolve {
                host: self.host.clone(),
                reason,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_bad_ones_are_rejected() {
        let u = Url::parse("http://127.0.0.1:8080/items?id=3").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.target.as_str()),
            (Scheme::Http, "127.0.0.1", 8080, "/items?id=3")
        );
        assert_eq!(u.authority(), "127.0.0.1:8080");
        let u = Url::parse("https://Example.com").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.target.as_str()),
            (Scheme::Https, "example.com", 443, "/")
        );
        assert_eq!(u.to_text(), "https://example.com/");
        assert_eq!(Url::parse("http://h?q=1").unwrap().target, "/?q=1");
        assert_eq!(Url::parse("http://[::1]:81/x").unwrap().host, "::1");
        for bad in [
            "ftp://x/",
            "http://",
            "http://h:port/",
            "http://u@h/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_locations_resolve_against_the_current_url() {
        let base = Url::parse("https://a.test:8443/x/y?q=1").unwrap();
        let j = |l: &str| base.join(l).unwrap().to_text();
        assert_eq!(j("/z"), "https://a.test:8443/z");
        assert_eq!(j("z?k"), "https://a.test:8443/x/z?k");
        assert_eq!(j("//b.test/w"), "https://b.test/w");
        assert_eq!(j("http://c.test:81/"), "http://c.test:81/");
        assert!(base.join("ftp://x/").is_err());
    }
}
