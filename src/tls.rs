//! The one TLS crypto provider of the whole program: rustls with *ring* (reqwest,
//! reqwest_dav and the platform verifier are built without a provider of their own).
//! Every HTTP client is made through [`client_builder`], which installs it first.

use std::sync::Once;

/// Installs ring as the process-wide rustls provider (once; harmless if already set).
pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // `Err` means a provider is already installed: then that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `reqwest::Client::builder()` with the provider installed.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_builds_with_the_ring_provider() {
        assert!(super::client_builder().build().is_ok());
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
