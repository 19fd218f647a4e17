//! vertex-cancel: stop work on Vertex AI over gRPC and learn what really happened.

pub mod auth;
mod channel;
pub mod client;
pub mod endpoint;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod name;
pub mod outcome;
pub mod proto;
pub mod retry;

pub use auth::{AccessToken, Credentials, TokenSource};
pub use client::{CancelMany, Client, ClientBuilder, Wait};
pub use endpoint::{DEFAULT_UNIVERSE_DOMAIN, Endpoint, EndpointResolver, check_plaintext};
pub use error::{Error, Result, RpcError};
pub use name::{
    LocationName, NasJobName, OperationName, PipelineJobName, Service, Target, TargetKind,
};
pub use outcome::{Outcome, RawResource, State, TargetStatus};
pub use retry::{BackoffConfig, RetryConfig};
