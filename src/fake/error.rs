//! The fake's own error: what can go wrong setting it up or running it standalone.
//!
//! The fake is test infrastructure with its own failure modes (a bad scenario file, a port in
//! use), none of which a Vertex AI caller would meet, so it does not widen the crate's `Error`.

use std::io;
use std::path::PathBuf;

/// Why the fake could not be set up, started or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// A scenario file could not be read.
    #[error("cannot read scenario file {}", path.display())]
    ReadScenario {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A scenario is not JSON of the documented shape.
    #[error("scenario is not valid")]
    ScenarioJson {
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A seeded resource is malformed (bad name, a state its kind does not have, ...).
    #[error("invalid resource {name:?}: {reason}")]
    InvalidResource {
        /// The resource name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A fault rule names a method the fake does not serve, or is otherwise unusable.
    #[error("invalid fault rule: {reason}")]
    InvalidFault {
        /// What is wrong with it.
        reason: String,
    },
    /// A runtime change named a resource the fake does not hold.
    #[error("no resource named {name:?}")]
    UnknownResource {
        /// The name asked for.
        name: String,
    },
    /// Binding 127.0.0.1 failed (for example the port is in use).
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The call-log file could not be created or written.
    #[error("cannot write call log {}", path.display())]
    CallLog {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Writing the `PORT n` line or waiting for signals failed.
    #[error("standalone fake I/O failed")]
    Io(#[source] io::Error),
    /// The TLS certificate or key given to the fake is unusable.
    #[error("cannot serve TLS with the given certificate and key")]
    Tls(#[source] tonic::transport::Error),
    /// A TLS certificate or key file could not be read.
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The gRPC server stopped with an error.
    #[error("fake server failed")]
    Serve(#[source] tonic::transport::Error),
}
