//! The rustls client configuration for one FTPS endpoint: web PKI or a given CA bundle, always
//! verified, optionally pinned; one config per endpoint so the control channel's TLS session is
//! resumed on every data connection (vsftpd's `require_ssl_reuse=YES`).

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::PipelineError;
use crate::secret::FtpsSettings;

/// Marker text in the handshake error of a pin mismatch, used to name the error.
pub(crate) const PIN_MISMATCH: &str = "certificate SHA-256 pin mismatch";

pub fn client_config(settings: &FtpsSettings) -> Result<Arc<ClientConfig>, PipelineError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    match &settings.ca_bundle {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| PipelineError::SecretInvalid(format!("field caBundle is not PEM: {e}")))?;
                roots.add(cert).map_err(|e| {
                    PipelineError::SecretInvalid(format!("field caBundle holds a bad certificate: {e}"))
                })?;
            }
            if roots.is_empty() {
                return Err(PipelineError::SecretInvalid(
                    "field caBundle holds no certificate".into(),
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| PipelineError::SecretInvalid(format!("cannot build the TLS verifier: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.pin()? {
        Some(pin) => Arc::new(PinnedVerifier { inner: webpki, pin }),
        None => webpki,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PipelineError::SecretInvalid(format!("TLS protocol versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Full web PKI verification first, then the leaf certificate's SHA-256 must equal the pin.
#[derive(Debug)]
struct PinnedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pin: [u8; 32],
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        let presented: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if presented != self.pin {
            return Err(rustls::Error::General(format!(
                "{PIN_MISMATCH}: the server presented {}",
                hex::encode(presented)
            )));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Names a TLS handshake failure.
pub(crate) fn classify_handshake(message: &str) -> PipelineError {
    if message.contains(PIN_MISMATCH) {
        PipelineError::CertificatePinMismatch(message.to_string())
    } else if message.contains("certificate") || message.contains("Certificate") {
        PipelineError::TlsVerificationFailed(message.to_string())
    } else {
        PipelineError::TransientNetwork(format!("TLS handshake failed: {message}"))
    }
}
