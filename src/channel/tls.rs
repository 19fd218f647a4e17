//! Which certificate authorities the client trusts, and the TLS settings of one endpoint.
//!
//! Trusted: the webpki roots compiled in (so a machine without a CA store works), the system
//! store (so a corporate CA installed on the machine works; `SSL_CERT_FILE` / `SSL_CERT_DIR`
//! are honoured), and any CA given to [`ClientBuilder::ca_certificate`]. The system store is
//! read once per process, and only when a TLS endpoint is first used. tonic's own
//! `tls-native-roots` feature is not used because it refuses to connect at all when the system
//! store is empty, where the webpki roots alone would do.
//!
//! The server name checked against the certificate is the endpoint's host and nothing else,
//! so no resource name can change which host a token is trusted to.
//!
//! [`ClientBuilder::ca_certificate`]: crate::ClientBuilder::ca_certificate

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use tonic::transport::ClientTlsConfig;

use crate::endpoint::Endpoint;
use crate::error::Error;

/// Trust anchors: cheap to clone, shared by every channel of a client.
pub(crate) type Roots = Arc<[TrustAnchor<'static>]>;

/// The TLS configuration for `endpoint`: system, webpki and `extra` roots, ALPN h2 (tonic's
/// default), and the endpoint's host as the server name.
pub(crate) fn client_config(endpoint: &Endpoint, extra: &Roots) -> ClientTlsConfig {
    ClientTlsConfig::new()
        .trust_anchors(system_roots().iter().cloned())
        .trust_anchors(extra.iter().cloned())
        .with_webpki_roots()
        .domain_name(server_name(endpoint))
}

/// The endpoint's host as rustls wants it: an IPv6 literal without its brackets.
fn server_name(endpoint: &Endpoint) -> String {
    let host = endpoint.host();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_owned()
}

/// The system's CA store, read once; empty if there is none.
fn system_roots() -> &'static [TrustAnchor<'static>] {
    static ROOTS: OnceLock<Vec<TrustAnchor<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        if !loaded.errors.is_empty() {
            tracing::debug!(errors = ?loaded.errors, "some system CA certificates could not be read");
        }
        let mut store = RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(loaded.certs);
        tracing::debug!(added, ignored, "system CA certificates loaded");
        store.roots
    })
}

/// Trust anchors from PEM text holding one or more CA certificates.
///
/// # Errors
/// [`Error::InvalidConfig`] if the text holds no certificate, or one that does not parse as a
/// CA certificate (a key or other PEM section is skipped, as `gcloud` does).
pub(crate) fn parse_ca_pem(pem: &[u8]) -> Result<Vec<TrustAnchor<'static>>, Error> {
    let invalid = |problem: String| Error::InvalidConfig {
        reason: format!("the CA certificate {problem}"),
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("is not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(invalid(
            "holds no `-----BEGIN CERTIFICATE-----` section".to_owned(),
        ));
    }
    let mut store = RootCertStore::empty();
    for (index, cert) in certs.into_iter().enumerate() {
        store
            .add(cert)
            .map_err(|e| invalid(format!("number {} does not parse ({e})", index + 1)))?;
    }
    Ok(store.roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_pem_is_invalid_config() {
        for pem in [
            &b""[..],
            b"not pem at all",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        ] {
            let err = parse_ca_pem(pem).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { .. }),
                "{:?}: {err}",
                String::from_utf8_lossy(pem)
            );
        }
    }

    #[test]
    fn server_name_is_the_bare_host() {
        let name = |url: &str| server_name(&Endpoint::parse(url).unwrap());
        assert_eq!(
            name("https://europe-west4-aiplatform.googleapis.com"),
            "europe-west4-aiplatform.googleapis.com"
        );
        assert_eq!(name("https://localhost:8443"), "localhost");
        assert_eq!(name("https://[::1]:8443"), "::1");
        assert_eq!(name("https://127.0.0.1:8443"), "127.0.0.1");
    }
}
