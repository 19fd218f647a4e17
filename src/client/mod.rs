//! The facade: [`ClientBuilder`] validates configuration once, [`Client`] makes the calls.
//!
//! Split by responsibility: `builder` (configuration), `call` (the one path every RPC takes:
//! routing, headers, auth, timeout, retry, tracing), `targets` (cancel / get / list per kind),
//! `filter` (local checks of List filters), `wait` (confirming an outcome), `bulk`
//! (`cancel_many`) and `raw` (the generated stubs with this crate's auth, for any other RPC).

#[cfg(feature = "bench-hooks")]
#[doc(hidden)]
pub mod bench_hooks;
mod builder;
mod bulk;
mod call;
mod filter;
mod kinds;
mod locations;
mod raw;
mod sweep;
mod sweep_filter;
mod targets;
mod wait;

pub use crate::channel::{ChannelError, ChannelService, GrpcChannel};
pub use builder::{Client, ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT};
pub use bulk::{CancelMany, PENDING_PER_SLOT};
pub use filter::MAX_FILTER_LEN;
pub use raw::{AuthenticatedChannel, CallHeaders, routing_header};
pub use sweep::{
    DEFAULT_SWEEP_CONCURRENCY, Finding, JobSearch, ListFailure, ListFailures, LiveJob, live_targets,
};
pub use targets::MAX_LIST_PAGES;
pub use wait::{MIN_POLL_INTERVAL, WAIT_GRACE, Wait};
