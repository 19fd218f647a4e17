//! The built-in fake Vertex AI server: every kind of job this crate cancels and long-running
//! operations on 127.0.0.1, with Google's cancel semantics, injected faults and a call log, and
//! no Google account.
//!
//! It serves, over real HTTP/2 from the generated server stubs: `aiplatform.v1.PipelineService`
//! (Cancel/Get/List of pipeline jobs and training pipelines, BatchCancelPipelineJobs),
//! `aiplatform.v1.JobService` (Cancel/Get/List of NAS, custom, hyperparameter tuning, batch
//! prediction and data labeling jobs), `aiplatform.v1.GenAiTuningService` (Cancel/Get/List of
//! tuning jobs), `google.longrunning.Operations` (Cancel/Get/List/Delete/WaitOperation) and
//! `google.cloud.location.Locations/ListLocations`. It exists so that this crate's tests, and
//! its users' tests, exercise the same wire protocol a real endpoint speaks.
//!
//! # Behaviour (as the proto docs describe Google's)
//! - Cancel of a live target answers OK at once and moves it to CANCELLING (an operation stays
//!   `done = false`). The cancel delay later (per resource, else the fake's, default
//!   [`DEFAULT_CANCEL_DELAY`]) it reads as its [`CancelOutcome`]: CANCELLED with
//!   `error.code = 1` (an operation: `done` with error 1) unless the resource is set to finish
//!   anyway (SUCCEEDED / FAILED) or to stay CANCELLING (STUCK). The change happens whether or not
//!   the client is still there. Pipeline jobs and training pipelines report `PipelineState`,
//!   every other job `JobState`.
//! - Cancelling a CANCELLING target is OK and changes nothing; a terminal one is
//!   FAILED_PRECONDITION; an unknown but well-formed name is NOT_FOUND; a malformed name, or one
//!   of the wrong kind for the RPC, is INVALID_ARGUMENT with a `google.rpc.BadRequest`.
//! - List takes `parent` = `projects/*/locations/*` (ListOperations: `name` = a location or a
//!   resource owning operations) and pages with `page_size` / `page_token`. Its `filter` takes
//!   exactly the fields that kind's List request documents (`state`, `display_name`,
//!   `labels.KEY="V"`, `labels.KEY:*`, `create_time` ...; `done` for operations; see the
//!   `filter` comment of each List request in the protos) in AIP-160's structure (`AND`, `OR`,
//!   `NOT`, parentheses; the library's own parser reads it); any other field is
//!   INVALID_ARGUMENT, as Google answers.
//!   A `read_mask` (where the List request has one) returns only the fields it names; it may
//!   name any field of the resource (the fake leaves those it does not model unset), and a
//!   path that is not one is INVALID_ARGUMENT. An
//!   `order_by` (ListPipelineJobs, ListDataLabelingJobs) orders by `create_time`,
//!   `update_time`, `end_time`, `start_time`, each optionally `desc` (any other field is
//!   INVALID_ARGUMENT); pipeline jobs come newest first without one, as documented, every other
//!   List in name order.
//! - [`FakeVertexBuilder::lists_ignore_filter`] makes every List ignore its `filter` (all of the
//!   parent's resources are listed), as a server that does not implement one would: for tests
//!   that a client checks what a List returns.
//! - BatchCancelPipelineJobs takes a location `parent` and 1 to 32 pipeline job names under it
//!   (else INVALID_ARGUMENT) and returns an operation (`{parent}/operations/{n}`, readable with
//!   GetOperation) with `BatchCancelPipelineJobsOperationMetadata`. Jobs already finished are
//!   skipped; the others start cancelling as if each had been cancelled alone; the operation is
//!   done, with a `BatchCancelPipelineJobsResponse` listing the jobs it cancelled, once all of
//!   those have reached their outcome (never while one is STUCK). If a name is unknown the
//!   operation fails (NOT_FOUND) and no job is cancelled.
//! - WaitOperation answers with the operation once it is done, or as it is when its `timeout`
//!   (at most [`MAX_OPERATION_WAIT`]) passes, whichever comes first.
//! - ListLocations takes `name` = `projects/{project}` and lists the locations that project's
//!   resources are in plus those the scenario names (`"locations": [...]`), in order, paged.
//! - A seeded resource is created and last updated when it is seeded, or `age_ms` before that
//!   ([`ResourceSpec::with_age`]): a project's history of finished jobs, which an `update_time`
//!   window leaves out until a cancel moves a job's `update_time`.
//! - Names are checked with the client's own rules ([`crate::name`]): what the client sends,
//!   the fake accepts as well-formed, and the reverse. Locations are lower-case.
//! - With a [token](FakeVertexBuilder::token), a call without `authorization` is
//!   UNAUTHENTICATED (ErrorInfo `CREDENTIALS_MISSING`), a wrong one, or two `authorization`
//!   headers, UNAUTHENTICATED (`ACCESS_TOKEN_TYPE_UNSUPPORTED`).
//! - A call whose `grpc-timeout` passes is answered DEADLINE_EXCEEDED (a
//!   [`DEADLINE_MARGIN`] early, so tonic's own CANCELLED "Timeout expired" never goes out).
//! - Every error carries its `google.rpc.Status` in `grpc-status-details-bin`.
//! - [Faults](FaultRule), global (optionally only for calls naming given resources or List
//!   parents) or per resource, delay calls and/or fail them with a code, for
//!   the first N matching calls, every N-th, a seeded fraction, or all of them, optionally with
//!   a RetryInfo. Inside a call the order is: delay, auth, injected fault, the method.
//! - Every call is recorded as a [`CallRecord`] (method, name or parent, headers with the token
//!   cut, the client's deadline, code, duration).
//!
//! Standalone: `vertex-cancel fake --port 0 --scenario FILE [--token T] [--log FILE]
//! [--tls-cert FILE --tls-key FILE]` (see
//! [`run_standalone`]). Scenario files are a JSON object in the shape of [`Scenario`], each
//! resource name at most once:
//! ```json
//! {"cancel_delay_ms": 600,
//!  "locations": ["us-east1"],
//!  "faults": [{"methods": ["CancelOperation"], "code": "UNIMPLEMENTED"}],
//!  "resources": [
//!   {"name": "projects/p/locations/us-central1/pipelineJobs/a", "state": "RUNNING",
//!    "faults": [{"methods": ["GetPipelineJob"], "code": "UNAVAILABLE", "fail_first": 2}]},
//!   {"name": "projects/p/locations/europe-west4/nasJobs/7", "state": "FAILED"},
//!   {"name": "projects/p/locations/us-central1/customJobs/42", "labels": {"team": "search"}}]}
//! ```
//!
//! # Example: a test of your own against the fake
#![cfg_attr(feature = "raw-stubs", doc = "```rust")]
#![cfg_attr(not(feature = "raw-stubs"), doc = "```ignore")]
//! use std::time::Duration;
//! use vertex_cancel::State;
//! use vertex_cancel::fake::FakeVertex;
//! use vertex_cancel::proto::google::cloud::aiplatform::v1::{
//!     CancelPipelineJobRequest, GetPipelineJobRequest, PipelineState,
//!     pipeline_service_client::PipelineServiceClient,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let job = "projects/p/locations/us-central1/pipelineJobs/nightly";
//! let fake = FakeVertex::builder()
//!     .cancel_delay(Duration::from_millis(20))
//!     .pipeline_job(job, State::Running)
//!     .start()
//!     .await?;
//!
//! let mut client = PipelineServiceClient::connect(fake.endpoint()).await?;
//! client.cancel_pipeline_job(CancelPipelineJobRequest { name: job.into() }).await?;
//! let got = client.get_pipeline_job(GetPipelineJobRequest { name: job.into() }).await?;
//! assert_eq!(got.get_ref().state(), PipelineState::Cancelling);
//!
//! // What the client sent is on record.
//! assert_eq!(fake.calls()[0].rpc, "CancelPipelineJob");
//! assert_eq!(fake.calls()[0].target, job);
//! fake.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod calllog;
mod deadline;
mod dispatch;
mod error;
mod faults;
mod filter;
mod names;
mod order;
mod rpc;
mod scenario;
mod server;
mod services;
mod standalone;
mod state;

use std::time::Duration;

pub use calllog::{AUTHORIZATION_SHOWN_CHARS, CallRecord};
pub use deadline::DEADLINE_MARGIN;
pub use dispatch::{DEFAULT_PAGE_SIZE, MAX_OPERATION_WAIT, MAX_PAGE_SIZE};
pub use error::FakeError;
pub use faults::FaultRule;
pub use scenario::{CancelOutcome, ErrorSpec, ResourceSpec, Scenario};
pub use server::{FakeHandle, FakeVertex, FakeVertexBuilder};
pub use standalone::{StandaloneOptions, TlsFiles, run_standalone, run_standalone_tls};
pub use state::FakeState;

/// How long a cancelled resource stays CANCELLING when neither it nor the fake says otherwise.
pub const DEFAULT_CANCEL_DELAY: Duration = Duration::from_millis(500);

/// How long [`FakeHandle::shutdown`] (and the standalone fake on SIGINT/SIGTERM) lets calls in
/// flight finish before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
