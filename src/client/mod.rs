//! The facade: [`ClientBuilder`] validates configuration once, [`Client`] makes the calls.
//!
//! Split by responsibility: `builder` (configuration), `handle` (the [`Client`] type and its
//! shared state), `headers` (the headers every call carries), `call` (the one path every RPC
//! takes: routing, headers, auth, timeout, retry, tracing), `kinds` (the per-kind glue),
//! `targets` (cancel / get / list per kind), `filter` (local checks of List filters), `wait`
//! (confirming an outcome), `bulk` (`cancel_many`), `batch` (its cancel stage: pipeline jobs in
//! batches), `confirm_list` (the bounded List a bulk confirmation round may send), `locations`
//! (ListLocations), `sweep` and
//! `sweep_filter` (finding live jobs by filter across kinds and locations) and `raw` (the generated stubs with this
//! crate's auth, for any other RPC; feature `raw-stubs`).

mod batch;
#[cfg(feature = "bench-hooks")]
#[doc(hidden)]
pub mod bench_hooks;
mod builder;
mod bulk;
mod call;
mod confirm_list;
mod filter;
mod handle;
mod headers;
mod kinds;
mod locations;
#[cfg(feature = "raw-stubs")]
mod raw;
mod sweep;
mod sweep_filter;
mod targets;
mod wait;

pub use crate::channel::{ChannelError, ChannelService, GrpcChannel};
pub use batch::{BATCH_LINGER, MAX_BATCH};
pub use builder::{ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT};
pub use bulk::{CancelMany, PENDING_PER_SLOT};
pub use filter::MAX_FILTER_LEN;
#[cfg(feature = "fake")]
pub(crate) use filter::wildcard;
pub use handle::Client;
pub use headers::{AuthenticatedChannel, CallHeaders, routing_header};
#[cfg(feature = "fake")]
pub(crate) use sweep::documented_fields;
pub use sweep::{
    DEFAULT_SWEEP_CONCURRENCY, Finding, JobSearch, ListFailure, ListFailures, LiveJob, live_targets,
};
#[cfg(feature = "fake")]
pub(crate) use sweep_filter::{Documented, EQ_NE, LABEL_OPS, ORDERED};
pub use targets::MAX_LIST_PAGES;
pub use wait::{MIN_POLL_INTERVAL, WAIT_GRACE, Wait};
