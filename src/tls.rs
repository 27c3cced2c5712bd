//! TLS: the process's crypto provider, and the HTTPS listener's acceptor.
//! rustls is built with ring only (one stack for SMTP, HTTP and the
//! database drivers); reqwest needs it installed before any client is built.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Installs ring as the default provider; later calls do nothing.
pub fn install_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why the HTTPS listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("config key `tls_cert_file`: {0}: {1}")]
    Cert(PathBuf, String),
    #[error("config key `tls_key_file`: {0}: {1}")]
    Key(PathBuf, String),
    #[error("TLS certificate and key do not go together: {0}")]
    Pair(rustls::Error),
}

/// The acceptor for an HTTPS listener: the PEM certificate chain and its
/// private key (PKCS#8, PKCS#1 or SEC1), HTTP/1.1 and HTTP/2 offered over
/// ALPN, TLS 1.2 and 1.3 (authnzerver refuses 1.0 and 1.1 too).
pub fn acceptor(cert_file: &Path, key_file: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    install_provider();
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert(cert_file.to_owned(), e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Cert(
            cert_file.to_owned(),
            "no certificate in it".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| TlsError::Key(key_file.to_owned(), e.to_string()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::Pair)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
