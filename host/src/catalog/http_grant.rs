//! The http probe's grants that can only be settled when a run is planned:
//! an `http` entry that follows a parameter (`"{params.url}"`, the host and
//! port of that parameter's URL) and the client identities of
//! `client-certs` (read from disk then, so a bad file fails the plan, not
//! the first handshake, and a catalog listing never reads keys).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::manifest::ClientCertDecl;
use super::params::{Param, ParamType};
use crate::policy::Grants;
use crate::probes::http::Url;
use crate::tls::{ClientIdentity, TlsError};

/// What the catalog declared and the plan resolves.
#[derive(Debug, Clone, Default)]
pub struct Deferred {
    /// Parameters whose URL value is granted (`"{params.url}"`).
    pub url_params: Vec<String>,
    /// Client identities by name: certificate and key paths, absolute.
    pub client_certs: BTreeMap<String, (PathBuf, PathBuf)>,
}

/// If `text` is a parameter reference (`{params.NAME}`), the name; checked
/// against the declared parameters (it must be a string).
pub fn param_reference(text: &str, params: &[Param]) -> Option<Result<String, String>> {
    let name = text.strip_prefix("{params.")?.strip_suffix('}')?;
    Some(match params.iter().find(|p| p.name == name) {
        Some(p) if p.ty == ParamType::String => Ok(name.to_owned()),
        Some(p) => Err(format!(
            "http grant `{text}` follows parameter `{name}`, which is {}; it must be a string holding a URL",
            p.ty
        )),
        None => Err(format!(
            "http grant `{text}` follows parameter `{name}`, which the scenario does not declare under `params`"
        )),
    })
}

/// Client certificate paths relative to the catalog's folder.
pub fn client_cert_paths(base: &Path, decl: &ClientCertDecl) -> (PathBuf, PathBuf) {
    (base.join(&decl.cert), base.join(&decl.key))
}

/// Settles `deferred` into `grants` with the run's parameter values.
pub fn resolve(
    scenario: &str,
    deferred: &Deferred,
    params: &[(String, String)],
    grants: &mut Grants,
) -> Result<(), String> {
    for name in &deferred.url_params {
        let value = params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let url = Url::parse(value).map_err(|e| {
            format!(
                "scenario `{scenario}`: its http grant follows parameter `{name}`, but `{value}` is not a URL ({e}); pass e.g. --param {name}=https://staging.example:8443/health"
            )
        })?;
        let host = if url.host.contains(':') {
            format!("[{}]:{}", url.host, url.port)
        } else {
            format!("{}:{}", url.host, url.port)
        };
        grants.http.insert(host);
    }
    for (name, (cert, key)) in &deferred.client_certs {
        let identity = ClientIdentity::from_pem_files(cert, key).map_err(|e| {
            let field = match e {
                TlsError::ClientCert { .. } => "cert",
                TlsError::ClientKey { .. } => "key",
                _ => "cert`/`key",
            };
            format!("scenario `{scenario}`, grant `client-certs.{name}` (`{field}`): {e}")
        })?;
        grants.client_certs.insert(name.clone(), Arc::new(identity));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, ty: ParamType) -> Param {
        Param {
            name: name.into(),
            ty,
            default: String::new(),
            help: String::new(),
        }
    }

    #[test]
    fn references_name_declared_string_params() {
        let params = [param("url", ParamType::String), param("n", ParamType::Int)];
        assert_eq!(param_reference("127.0.0.1", &params), None);
        assert_eq!(
            param_reference("{params.url}", &params),
            Some(Ok("url".into()))
        );
        let e = param_reference("{params.n}", &params).unwrap().unwrap_err();
        assert!(e.contains("must be a string"), "{e}");
        let e = param_reference("{params.x}", &params).unwrap().unwrap_err();
        assert!(e.contains("does not declare"), "{e}");
    }

    #[test]
    fn a_url_parameter_grants_its_host_and_port_only() {
        let deferred = Deferred {
            url_params: vec!["url".into()],
            ..Default::default()
        };
        let mut grants = Grants::default();
        let params = [("url".to_owned(), "https://Staging.test/health".to_owned())];
        resolve("s", &deferred, &params, &mut grants).unwrap();
        assert_eq!(grants.http.iter().collect::<Vec<_>>(), ["staging.test:443"]);
        let bad = [("url".to_owned(), "staging.test".to_owned())];
        let e = resolve("s", &deferred, &bad, &mut Grants::default()).unwrap_err();
        assert!(
            e.contains("parameter `url`")
                && e.contains("is not a URL")
                && e.contains("--param url="),
            "{e}"
        );
    }

    #[test]
    fn a_missing_client_key_fails_naming_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let deferred = Deferred {
            client_certs: [(
                "staging".to_owned(),
                (dir.path().join("c.pem"), dir.path().join("c.key")),
            )]
            .into(),
            ..Default::default()
        };
        let e = resolve("s", &deferred, &[], &mut Grants::default()).unwrap_err();
        assert!(
            e.contains("client-certs.staging") && e.contains("(`cert`)") && e.contains("c.pem"),
            "{e}"
        );
    }
}
