//! A throw-away certificate authority and a server certificate for `localhost`/`127.0.0.1`,
//! generated per world with rcgen. The pipeline trusts the CA through the secret's `caBundle`:
//! certificate verification stays on in every test.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use sha2::{Digest, Sha256};

/// PEM material for one server, written to a directory for servers that read files.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// SHA-256 of the server certificate's DER, hex.
    pub cert_sha256: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// Certificate and key in one file (vsftpd's `rsa_cert_file`).
    pub combined_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("a directory for certificates: {0}")]
    TempDir(std::io::Error),
    #[error("writing certificates to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl Pki {
    /// A new CA named `name` and a server certificate it signs, written into `dir`.
    pub fn generate(name: &str, dir: &Path) -> Result<Self, PkiError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca_issuer = rcgen::Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("an IP")));
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca_issuer)?;

        let write = |file: &str, text: &str| -> Result<PathBuf, PkiError> {
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(|source| PkiError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        };
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        Ok(Self {
            ca_pem: ca_cert.pem(),
            cert_sha256: hex::encode(Sha256::digest(cert.der())),
            cert_path: write("server.crt", &cert_pem)?,
            key_path: write("server.key", &key_pem)?,
            combined_path: write("server.pem", &format!("{cert_pem}{key_pem}"))?,
            cert_pem,
            key_pem,
        })
    }
}
