//! [`Client`], the handle every call goes through, and the shared state behind it.
//!
//! Named `handle` rather than `client` because `client/client.rs` would be a module named like
//! its parent (`clippy::module_inception`); the calls themselves live in `call`, `targets`,
//! `wait`, `bulk` and `raw`, the configuration in `builder`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tonic::metadata::AsciiMetadataValue;

use crate::channel::ChannelPool;
use crate::endpoint::EndpointResolver;
use crate::retry::Retrier;

use super::builder::ClientBuilder;
use super::call::{LocationRoutes, RegionLimiter};
use super::headers::CallHeaders;

/// A handle to Vertex AI: cheap to clone, `Send + Sync`; build one per process.
#[derive(Debug, Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) resolver: EndpointResolver,
    pub(super) channels: ChannelPool,
    /// Resolved routes by location, then service: one map read per call, no allocation on a
    /// hit. Shared (`Arc`), so a call does not clone the boxed channel and endpoint just to
    /// look them up.
    /// Hashed with foldhash (randomly seeded) rather than SipHash, whose cost every call paid:
    /// a client sees a handful of locations, so there is no table for a flood to degrade.
    pub(super) routes: DashMap<Box<str>, LocationRoutes, foldhash::fast::RandomState>,
    pub(super) headers: CallHeaders,
    pub(super) retrier: Retrier,
    pub(super) attempt_timeout: Duration,
    /// `grpc-timeout` for `attempt_timeout`, formatted once instead of on every call.
    pub(super) grpc_timeout: AsciiMetadataValue,
    /// The client-wide request rate per region, if set.
    pub(super) region_limiter: Option<Arc<RegionLimiter>>,
    /// Set by [`Client::shutdown`]: later calls fail instead of reconnecting.
    pub(super) closed: AtomicBool,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Stops this client and every clone of it: the token refresh task ends, channels close
    /// once in-flight calls finish, and later calls fail with [`Error::Shutdown`](crate::Error::Shutdown).
    /// Dropping the last clone has the same effect without the wait.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Relaxed);
        self.inner.routes.clear();
        self.inner.channels.clear();
        self.inner.headers.tokens.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_clone_send_sync_and_one_pointer_wide() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Client>();
        assert_eq!(std::mem::size_of::<Client>(), std::mem::size_of::<usize>());
    }
}
