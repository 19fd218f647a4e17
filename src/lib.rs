//! vertex-cancel: stop work on Vertex AI over gRPC and learn what really happened.

pub mod endpoint;
pub mod error;
pub mod name;
pub mod outcome;
pub mod proto;
pub mod retry;

pub use endpoint::{DEFAULT_UNIVERSE_DOMAIN, Endpoint, EndpointResolver, check_plaintext};
pub use error::{Error, Result, RpcError};
pub use name::{
    LocationName, NasJobName, OperationName, PipelineJobName, Service, Target, TargetKind,
};
pub use outcome::State;
pub use retry::{BackoffConfig, RetryConfig};
