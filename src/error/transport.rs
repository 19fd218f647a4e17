//! Transport causes the error layer names: failures below gRPC that
//! [`Error::connection_failure`](super::Error::connection_failure) classifies.
//!
//! They are defined here, not beside the code that raises them (the proxy connector in
//! `channel/`), so the error layer imports nothing above it: `channel/` builds these values and
//! `error/` only reads them back out of a cause chain.

use std::io;

/// Why a tunnel through a proxy could not be opened; the cause inside
/// [`Error::Connection`], classified by [`Error::connection_failure`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ProxyError {
    /// No TCP connection to the proxy.
    #[error("cannot reach proxy {proxy}")]
    Unreachable {
        /// The proxy, without credentials.
        proxy: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The proxy answered CONNECT with a status other than 2xx.
    #[error("proxy {proxy} refused CONNECT to {target}: {status} {reason}")]
    Refused {
        /// The proxy, without credentials.
        proxy: String,
        /// The `host:port` asked for.
        target: String,
        /// The HTTP status (403 forbidden by policy, 407 proxy credentials needed, 502 the
        /// proxy could not reach the target, ...).
        status: u16,
        /// The proxy's reason phrase (printable, shortened).
        reason: String,
    },
    /// The proxy closed the connection without answering.
    #[error("proxy {proxy} closed the connection instead of answering CONNECT to {target}")]
    Closed {
        /// The proxy, without credentials.
        proxy: String,
        /// The `host:port` asked for.
        target: String,
    },
    /// The proxy's answer is not HTTP/1.x as CONNECT expects.
    #[error("proxy {proxy} sent {what} in answer to CONNECT to {target}")]
    Malformed {
        /// The proxy, without credentials.
        proxy: String,
        /// The `host:port` asked for.
        target: String,
        /// What was wrong with the answer.
        what: &'static str,
    },
    /// Reading or writing the proxy connection failed.
    #[error("talking to proxy {proxy} about CONNECT to {target} failed")]
    Io {
        /// The proxy, without credentials.
        proxy: String,
        /// The `host:port` asked for.
        target: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl ProxyError {
    /// The HTTP status the proxy refused CONNECT with, if it did.
    pub(crate) fn refused_status(&self) -> Option<u16> {
        match self {
            ProxyError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}
