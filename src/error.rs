//! The crate-wide error type (minimal copy on the `names` branch: only the bad-input variants that
//! names and endpoints raise; the full enum replaces this file on merge).

/// Everything that can go wrong, organised by what the caller does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A resource name is malformed; `input` is truncated and escaped so it is safe to print.
    #[error("invalid resource name `{input}`: {reason}")]
    InvalidName {
        /// The offending input, truncated and escaped.
        input: String,
        /// What exactly is wrong with it.
        reason: String,
    },
    /// A location or region is not a plain location id, or disagrees with the configured region.
    #[error("invalid location `{location}`: {reason}")]
    InvalidLocation {
        /// The offending location, truncated and escaped.
        location: String,
        /// What exactly is wrong with it.
        reason: String,
    },
    /// An endpoint would expose a token (plaintext `http://` to a non-loopback host).
    #[error("insecure endpoint `{endpoint}`: {reason}")]
    InsecureEndpoint {
        /// The endpoint URL, truncated and escaped.
        endpoint: String,
        /// Why it is refused.
        reason: String,
    },
    /// A configuration value (endpoint URL, universe domain, ...) is malformed.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong, naming the setting.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
