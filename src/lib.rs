//! vertex-cancel: stop work on Vertex AI over gRPC and learn what really happened.

#[cfg(feature = "fake")]
pub mod fake;
pub mod outcome;
pub mod proto;

pub use outcome::State;
