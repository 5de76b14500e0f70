//! A throwaway certificate authority for the TLS tests: a CA, a server
//! certificate for `localhost`, `127.0.0.1` and `::1`, and a client
//! certificate, written as PEM files into a directory the test owns.

use std::path::{Path, PathBuf};

/// The files of one generated PKI.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second CA that signed nothing the servers present: trusting only
    /// this one must make every handshake fail.
    pub other_ca: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

fn ca(common_name: &str) -> (rcgen::CertificateParams, rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().expect("generating a CA key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let pem = params.self_signed(&key).expect("self-signing the CA").pem();
    (params, key, pem)
}

impl TestPki {
    /// Generates every certificate into `dir`.
    pub fn generate(dir: &Path) -> TestPki {
        let (ca_params, ca_key, ca_pem) = ca("rigor test CA");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut server = rcgen::CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .unwrap();
        server
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server_pem = server.signed_by(&server_key, &issuer).unwrap().pem();

        let client_key = rcgen::KeyPair::generate().unwrap();
        let mut client = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        client
            .distinguished_name
            .push(rcgen::DnType::CommonName, "rigor test client");
        client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_pem = client.signed_by(&client_key, &issuer).unwrap().pem();

        let (_, _, other_pem) = ca("rigor unrelated CA");
        TestPki {
            ca: write(dir, "ca.pem", &ca_pem),
            server_cert: write(dir, "server.pem", &server_pem),
            server_key: write(dir, "server.key", &server_key.serialize_pem()),
            client_cert: write(dir, "client.pem", &client_pem),
            client_key: write(dir, "client.key", &client_key.serialize_pem()),
            other_ca: write(dir, "other-ca.pem", &other_pem),
        }
    }
}
