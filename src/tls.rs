//! The process's TLS crypto provider. rustls is built with ring only (one
//! stack for SMTP, HTTP and the database drivers); reqwest needs it
//! installed before any client is built.

/// Installs ring as the default provider; later calls do nothing.
pub fn install_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
