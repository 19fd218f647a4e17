//! Telling connection failures apart: an untrusted certificate, a certificate for another
//! host, TLS spoken to a plaintext server and the reverse, a proxy refusing CONNECT.
//!
//! tonic reports them all as `UNAVAILABLE` or `UNKNOWN` with the real cause buried a few
//! sources deep (a rustls error inside an `io::Error`, say), so this walks the cause chain once
//! and names the failure, both for operators (the message says what to fix) and for code
//! ([`ConnectionFailure`], which also decides that retrying a bad certificate is pointless).

use std::error::Error as StdError;
use std::io;

use rustls::CertificateError;

use super::ProxyError;

/// Why a connection could not be made, when the transport's error tells; see
/// [`Error::connection_failure`](super::Error::connection_failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionFailure {
    /// The server's certificate is not signed by a trusted CA (rustls `UnknownIssuer`).
    ///
    /// Troubleshooting: behind a TLS-inspecting proxy or with a private CA, pass the CA's PEM
    /// to `ClientBuilder::ca_certificate` (CLI `--ca-file`) or install it in the system store.
    CertificateNotTrusted,
    /// The server's certificate does not name the endpoint's host.
    ///
    /// Troubleshooting: check the endpoint override; the certificate must cover that host.
    CertificateNameMismatch,
    /// The certificate was rejected for another reason (expired, not yet valid, revoked, wrong
    /// usage, bad signature).
    CertificateInvalid,
    /// The endpoint is `https://`, but the server answered the TLS hello with something else:
    /// it speaks plaintext (use `http://`, loopback only).
    ServerNotTls,
    /// The endpoint is `http://`, and the server closed the connection without an HTTP/2
    /// answer: it most likely expects TLS (use `https://`). Inferred, so still retried.
    PlaintextRejected,
    /// The proxy answered CONNECT with this non-2xx HTTP status (403 forbidden by policy, 407
    /// proxy credentials needed, 502 proxy could not reach the endpoint, ...).
    ProxyRefused {
        /// The HTTP status.
        status: u16,
    },
    /// The proxy could not be reached, or did not answer CONNECT properly.
    ProxyFailed,
}

impl ConnectionFailure {
    /// Whether trying again without changing anything cannot help: certificate problems, a
    /// TLS/plaintext mismatch, a 4xx from the proxy. Such failures are not retried.
    pub fn is_permanent(self) -> bool {
        match self {
            ConnectionFailure::CertificateNotTrusted
            | ConnectionFailure::CertificateNameMismatch
            | ConnectionFailure::CertificateInvalid
            | ConnectionFailure::ServerNotTls => true,
            ConnectionFailure::ProxyRefused { status } => (400..500).contains(&status),
            ConnectionFailure::PlaintextRejected | ConnectionFailure::ProxyFailed => false,
        }
    }

    /// What went wrong, in words; the underlying error follows it as the source.
    pub(super) fn describe(self) -> &'static str {
        match self {
            ConnectionFailure::CertificateNotTrusted => {
                "TLS certificate not trusted: no trusted CA signed it (add its CA with \
                 ClientBuilder::ca_certificate / --ca-file, or to the system store)"
            }
            ConnectionFailure::CertificateNameMismatch => {
                "TLS certificate is not valid for the endpoint's host name"
            }
            ConnectionFailure::CertificateInvalid => "TLS certificate rejected",
            ConnectionFailure::ServerNotTls => {
                "the server did not answer the TLS handshake with TLS: it seems to speak \
                 plaintext (use http:// for a plaintext loopback server)"
            }
            ConnectionFailure::PlaintextRejected => {
                "the server closed the plaintext HTTP/2 connection without answering (if it \
                 serves TLS, use https://)"
            }
            ConnectionFailure::ProxyRefused { .. } => "the HTTPS proxy refused the tunnel",
            ConnectionFailure::ProxyFailed => "the HTTPS proxy could not open a tunnel",
        }
    }
}

/// The cause chain of `err`, looking inside `io::Error`s too (whose `source` skips the error
/// they wrap, which is where rustls puts its own).
pub(super) fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        out.push(current);
        next = match current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => current.source(),
        };
    }
    out
}

/// The failure `causes` shows, and the index of the cause that shows it.
pub(super) fn classify(
    causes: &[&(dyn StdError + 'static)],
    plaintext: bool,
) -> Option<(ConnectionFailure, usize)> {
    let found = causes.iter().enumerate().find_map(|(index, cause)| {
        let failure = if let Some(proxy) = cause.downcast_ref::<ProxyError>() {
            Some(match proxy.refused_status() {
                Some(status) => ConnectionFailure::ProxyRefused { status },
                None => ConnectionFailure::ProxyFailed,
            })
        } else {
            cause.downcast_ref::<rustls::Error>().and_then(tls_failure)
        };
        failure.map(|failure| (failure, index))
    });
    found.or_else(|| plaintext_rejected(causes, plaintext))
}

fn tls_failure(error: &rustls::Error) -> Option<ConnectionFailure> {
    match error {
        rustls::Error::InvalidCertificate(certificate) => Some(match certificate {
            CertificateError::UnknownIssuer => ConnectionFailure::CertificateNotTrusted,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                ConnectionFailure::CertificateNameMismatch
            }
            _ => ConnectionFailure::CertificateInvalid,
        }),
        // A plaintext HTTP/2 server answers a ClientHello with frames, whose first byte is no
        // TLS record type.
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            Some(ConnectionFailure::ServerNotTls)
        }
        _ => None,
    }
}

/// A TLS server drops a client that opens with the HTTP/2 preface, which the client sees as
/// a broken pipe, a reset or an early end of file once the connection was up; or it first
/// answers with a TLS alert record, which the client's HTTP/2 layer reads as a garbled frame
/// and fails with a protocol (or frame size) error of its own.
fn plaintext_rejected(
    causes: &[&(dyn StdError + 'static)],
    plaintext: bool,
) -> Option<(ConnectionFailure, usize)> {
    if !plaintext || causes.iter().any(|c| c.is::<tonic::ConnectError>()) {
        return None;
    }
    let garbled = causes.iter().enumerate().find(|(_, c)| {
        c.downcast_ref::<h2::Error>().is_some_and(|h2| {
            !h2.is_remote()
                && matches!(
                    h2.reason(),
                    Some(h2::Reason::PROTOCOL_ERROR | h2::Reason::FRAME_SIZE_ERROR)
                )
        })
    });
    if let Some((index, _)) = garbled {
        return Some((ConnectionFailure::PlaintextRejected, index));
    }
    let (index, io) = causes
        .iter()
        .enumerate()
        .find_map(|(index, c)| c.downcast_ref::<io::Error>().map(|io| (index, io)))?;
    matches!(
        io.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
    )
    .then_some((ConnectionFailure::PlaintextRejected, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_one(
        error: &(dyn StdError + 'static),
        plaintext: bool,
    ) -> Option<ConnectionFailure> {
        classify(&causes(error), plaintext).map(|(failure, _)| failure)
    }

    fn in_io(error: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }

    #[test]
    fn rustls_errors_inside_io_errors_are_found() {
        let cases = [
            (
                CertificateError::UnknownIssuer,
                ConnectionFailure::CertificateNotTrusted,
            ),
            (
                CertificateError::NotValidForName,
                ConnectionFailure::CertificateNameMismatch,
            ),
            (
                CertificateError::Expired,
                ConnectionFailure::CertificateInvalid,
            ),
            (
                CertificateError::Revoked,
                ConnectionFailure::CertificateInvalid,
            ),
        ];
        for (certificate, expected) in cases {
            let error = in_io(rustls::Error::InvalidCertificate(certificate));
            assert_eq!(classify_one(&error, false), Some(expected));
            assert!(expected.is_permanent());
        }
        let error = in_io(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert_eq!(
            classify_one(&error, false),
            Some(ConnectionFailure::ServerNotTls)
        );
        let other = in_io(rustls::Error::HandshakeNotComplete);
        assert_eq!(classify_one(&other, false), None);
    }

    #[test]
    fn proxy_refusals_are_permanent_only_for_4xx() {
        let refused = |status| ProxyError::Refused {
            proxy: "http://p:1".into(),
            target: "h:443".into(),
            status,
            reason: String::new(),
        };
        let failure = classify_one(&refused(407), false).unwrap();
        assert_eq!(failure, ConnectionFailure::ProxyRefused { status: 407 });
        assert!(failure.is_permanent());
        assert!(!classify_one(&refused(503), false).unwrap().is_permanent());
        let closed = ProxyError::Closed {
            proxy: "http://p:1".into(),
            target: "h:443".into(),
        };
        assert_eq!(
            classify_one(&closed, false),
            Some(ConnectionFailure::ProxyFailed)
        );
    }

    #[test]
    fn a_closed_plaintext_connection_hints_at_tls_only_for_http_endpoints() {
        let pipe = io::Error::new(io::ErrorKind::BrokenPipe, "stream closed");
        assert_eq!(
            classify_one(&pipe, true),
            Some(ConnectionFailure::PlaintextRejected)
        );
        assert_eq!(classify_one(&pipe, false), None);
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(classify_one(&refused, true), None);
        assert!(!ConnectionFailure::PlaintextRejected.is_permanent());
    }

    #[test]
    fn a_garbled_http2_connection_hints_at_tls_only_for_http_endpoints() {
        let garbled = h2::Error::from(h2::Reason::PROTOCOL_ERROR);
        assert_eq!(
            classify_one(&garbled, true),
            Some(ConnectionFailure::PlaintextRejected)
        );
        assert_eq!(classify_one(&garbled, false), None);
    }
}
