//! TLS from a PEM certificate chain and key. Any failure to load them stops
//! the server: it never falls back to clear text.

use std::path::Path;
use std::sync::Arc;

use datafusion_postgres::pgwire;
use pgwire::tokio::tokio_rustls::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ServeError;

/// An acceptor for the certificate chain at `cert` and the private key at `key`.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let refused = |what: String| {
        ServeError::Refused(format!(
            "{what}; devex serve does not serve in clear text when TLS is configured ([serve] tls_cert, tls_key)"
        ))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| refused(format!("TLS certificate {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(refused(format!("TLS certificate {}: no PEM certificate in it", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| refused(format!("TLS key {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| refused(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| refused(format!("TLS certificate {} and key {}: {e}", cert.display(), key.display())))?;
    // PostgreSQL 17's direct TLS negotiation names this protocol.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
