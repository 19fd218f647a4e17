//! vertex-cancel: stop work on Vertex AI over gRPC and learn what really happened.

pub mod error;
pub mod outcome;
pub mod proto;
pub mod retry;

pub use error::{Error, Result, RpcError};
pub use outcome::State;
pub use retry::{BackoffConfig, RetryConfig};
