//! [`SharedError`]: a boxed cause as one concrete, cloneable type, shown as the cause itself.
//!
//! Two places need it: a channel's failures below gRPC (tonic's stubs need an error type that is
//! `Into<StdError>` for every lifetime, which a bare `Box<dyn Error>` alias does not give inside
//! spawned futures), and a failed token fetch that every waiting call reports as its `source`.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use super::BoxError;

/// A cause that many holders can report: `Display` and `source` are those of the error it
/// wraps, so an error chain shows the cause once, not a wrapper around it.
#[derive(Debug, Clone)]
pub struct SharedError(Arc<dyn StdError + Send + Sync + 'static>);

impl SharedError {
    /// Wraps `error`.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(Arc::from(error.into()))
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for SharedError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Handshake(std::io::Error);

    impl fmt::Display for Handshake {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("tls handshake failed")
        }
    }

    impl StdError for Handshake {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn shows_the_wrapped_error_and_then_its_cause() {
        let wrapped = SharedError::new(Handshake(std::io::Error::other("connection reset")));
        assert_eq!(wrapped.to_string(), "tls handshake failed");
        let source = wrapped.source().expect("the wrapped error's own source");
        assert_eq!(source.to_string(), "connection reset");
        assert_eq!(wrapped.clone().to_string(), wrapped.to_string());
    }
}
