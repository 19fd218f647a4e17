//! Stop work on Google Cloud Vertex AI over gRPC, and learn what really happened.
//!
//! Cancellation on Google's side is asynchronous and best effort: a `Cancel*` call answering OK
//! only means "cancellation started". This crate cancels every kind of Vertex AI job (pipeline
//! jobs, custom jobs, hyperparameter tuning jobs, batch prediction jobs, data labeling jobs,
//! training pipelines, tuning jobs, NAS jobs; see [`TargetKind`]) and long-running operations
//! (Vertex AI v1/v1beta1 and AutoML), then confirms the outcome: the
//! work was [`Cancelled`](Outcome::Cancelled), [finished anyway](Outcome::FinishedAnyway), or is
//! [still running](Outcome::StillRunning) when the wait budget is spent.
//!
//! Layers, from configuration to calls:
//! - [`name`]: typed resource names ([`Target`]), validated before anything is sent;
//! - [`endpoint`]: the regional endpoint a name's location picks, overrides, plaintext rules;
//! - [`auth`]: [`Credentials`] and a token cache refreshed in the background;
//! - [`client`]: [`Client`] with cancel / get / list / wait / `cancel_many`, the sweep
//!   ([`Client::find_live_jobs`]: live jobs a filter matches across kinds and locations),
//!   retries ([`retry`]) and typed errors ([`Error`]);
//! - [`fake`]: a built-in fake Vertex AI server for tests and demos;
//! - `proto` (feature `raw-stubs`): the complete generated tonic stubs, the escape hatch.
//!
//! # Example
//! Cancel a pipeline job and wait for the outcome, here against the built-in fake (a real
//! program would use `Credentials::application_default()` and no endpoint override):
//! ```
//! use std::time::Duration;
//! use vertex_cancel::fake::FakeVertex;
//! use vertex_cancel::{Client, Credentials, Outcome, State, Target, Wait};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let name = "projects/my-project/locations/us-central1/pipelineJobs/nightly-train";
//! let fake = FakeVertex::builder()
//!     .token("test-token")
//!     .cancel_delay(Duration::from_millis(50))
//!     .pipeline_job(name, State::Running)
//!     .start()
//!     .await?;
//!
//! let client = Client::builder()
//!     .credentials(Credentials::static_token("test-token"))
//!     .endpoint(fake.endpoint())
//!     .build()
//!     .await?;
//! let job: Target = name.parse()?;
//! let wait = Wait::up_to(Duration::from_secs(60)).first_interval(Duration::from_millis(20));
//! match client.cancel_and_wait(&job, wait).await? {
//!     Outcome::Cancelled { .. } => println!("{job} is cancelled"),
//!     Outcome::FinishedAnyway { state, .. } => println!("{job} finished anyway: {state}"),
//!     Outcome::StillRunning { state } => println!("{job} is still {state}"),
//!     other => println!("{job}: {other:?}"),
//! }
//! assert_eq!(fake.state_of(name), Some(State::Cancelled));
//! # Ok(())
//! # }
//! ```
//!
//! Many targets at once, each reported exactly once (a name given twice, twice). With a wait,
//! each target's report comes within its budget plus [`client::WAIT_GRACE`] after its cancel
//! was sent, memory stays bounded by the concurrency
//! ([`client::PENDING_PER_SLOT`] pending confirmations per slot), and
//! [`CancelMany::stop_on`] ends the run early (on Ctrl-C, say) while still reporting every
//! cancel already sent:
//! ```no_run
//! # use vertex_cancel::{CancelMany, Client, Target, Wait};
//! # use futures::StreamExt;
//! # async fn many(client: Client, targets: Vec<Target>) {
//! let options = CancelMany::default()
//!     .concurrency(64)
//!     .wait(Wait::up_to(std::time::Duration::from_secs(600)));
//! let mut results = std::pin::pin!(client.cancel_many(futures::stream::iter(targets), options));
//! while let Some((target, outcome)) = results.next().await {
//!     println!("{target}: {outcome:?}");
//! }
//! # }
//! ```

//! # Fitting into your gRPC stack
//! - [`ClientBuilder::channel`] / [`ClientBuilder::channel_resolver`]: your own tonic channel or
//!   tower service per endpoint; auth, headers, retry and errors stay this crate's.
//! - [`ClientBuilder::layer`]: tower layers (limits, timeouts, metrics) around every attempt.
//! - `Client::pipeline_service`, `job_service`, `operations` (feature `raw-stubs`): the
//!   generated stubs with this crate's auth for any other RPC; set the routing header per
//!   request with [`client::routing_header`].
//! - Feature `metrics`: every attempt recorded as `rpc.client.duration` (milliseconds) with
//!   `rpc.service`, `rpc.method`, `rpc.grpc.status_code` and `vertex_cancel.attempt` labels.
//! - [`Client::shutdown`], or dropping the last clone, ends the token task and closes channels.
//!
//! `examples/grpc_native.rs` shows each against the fake.

pub mod auth;
mod channel;
pub mod client;
mod code;
pub mod endpoint;
pub mod error;
pub mod escape;
#[cfg(feature = "fake")]
pub mod fake;
mod filter_syntax;
pub mod name;
pub mod outcome;
#[cfg(feature = "raw-stubs")]
pub mod proto;
pub mod retry;
mod wire;

/// Hidden hooks for `benches/`: the per-call pieces timed alone. Not a stable API, and only with
/// the `bench-hooks` feature: they hand out a client's token.
#[cfg(feature = "bench-hooks")]
#[doc(hidden)]
pub use client::bench_hooks as __bench;

pub use auth::{AccessToken, Credentials, TokenSource};
pub use client::{CancelMany, Client, ClientBuilder, Wait};
pub use endpoint::{DEFAULT_UNIVERSE_DOMAIN, Endpoint, EndpointResolver};
pub use error::{ConnectionFailure, Error, Result, RpcError};
pub use name::{
    BatchPredictionJobName, CustomJobName, DataLabelingJobName, HyperparameterTuningJobName,
    LocationName, NasJobName, OperationName, PipelineJobName, Service, Target, TargetKind,
    TrainingPipelineName, TuningJobName,
};
pub use outcome::{Outcome, RawResource, State, TargetStatus};
pub use retry::{BackoffConfig, RetryConfig};
