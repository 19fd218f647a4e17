//! The facade: [`ClientBuilder`] validates configuration once, [`Client`] makes the calls.
//!
//! Split by responsibility: `builder` (configuration), `call` (the one path every RPC takes:
//! routing, headers, auth, timeout, retry, tracing), `targets` (cancel / get / list per kind),
//! `wait` (confirming an outcome) and `bulk` (`cancel_many`).

mod builder;
mod bulk;
mod call;
mod targets;
mod wait;

pub use builder::{Client, ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT};
pub use bulk::CancelMany;
pub use wait::Wait;
