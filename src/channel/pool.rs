//! One gRPC channel per endpoint, created on first use and shared by every clone of a client.
//!
//! By default a channel is a lazily connected tonic [`Channel`] that reconnects by itself, so
//! creating one never blocks and a restarted server is reached again without help. Callers that
//! run their own stack (a service mesh, custom connectors, load balancing) supply the service per
//! endpoint instead, and may wrap either kind in tower layers; both end up as one boxed service
//! type, [`GrpcChannel`]. The map is read on every call, so a lookup takes a shard read lock
//! only, never held across an await.
//!
//! An endpoint is reached directly or, when the proxy rules say so, through an HTTP CONNECT
//! tunnel ([`super::proxy`]); either way TLS (see [`super::tls`]) runs end to end to the
//! endpoint, layered on by tonic.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tonic::body::Body;
use tonic::transport::Channel;
use tower::util::BoxCloneSyncService;

use super::proxy::{ProxyConnector, ProxyRules};
use super::tls::{self, Roots};
use crate::endpoint::Endpoint;
use crate::error::{BoxError, Error, SharedError};

/// Defaults follow Google's client libraries where they state one.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);

/// The service every call goes through: a tonic [`Channel`] or a caller's own, with any layers.
pub type GrpcChannel = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, ChannelError>;

/// A failure below gRPC (connect, TLS, a layer's own error), shown as its cause.
pub type ChannelError = SharedError;

/// Makes the channel for an endpoint (the caller-supplied alternative to tonic's own).
pub(crate) type ChannelFactory = Arc<dyn Fn(&Endpoint) -> GrpcChannel + Send + Sync>;

/// Wraps a channel in one caller layer.
pub(crate) type LayerFn = Arc<dyn Fn(GrpcChannel) -> GrpcChannel + Send + Sync>;

/// Any tower service a [`GrpcChannel`] can be made of: a tonic [`Channel`], your own, layered.
pub trait ChannelService:
    tower::Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error: Into<BoxError>,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> ChannelService for S where
    S: tower::Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error: Into<BoxError>,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Boxes any tonic-compatible service into a [`GrpcChannel`].
pub(crate) fn box_channel<S: ChannelService>(service: S) -> GrpcChannel {
    // One that is boxed already (a resolver handing out `GrpcChannel`s, `ClientBuilder::channel`)
    // stays as it is: boxed twice, every call would pay two clones' and two futures' allocations.
    let mut service = Some(service);
    let boxed = (&mut service as &mut dyn Any).downcast_mut::<Option<GrpcChannel>>();
    if let Some(boxed) = boxed.and_then(Option::take) {
        return boxed;
    }
    let service = service.expect("taken only when it is a GrpcChannel");
    GrpcChannel::new(tower::ServiceExt::map_err(service, boxed_error::<S::Error>))
}

fn boxed_error<E: Into<BoxError>>(error: E) -> ChannelError {
    SharedError::new(error)
}

/// `n` connections to one endpoint, balanced. Not `Channel::balance_list`: it keys endpoints
/// by URI, so copies of one endpoint would collapse into a single connection.
fn balanced(endpoint: tonic::transport::Endpoint, n: usize) -> Channel {
    let (channel, changes) = Channel::balance_channel(n);
    for key in 0..n {
        // The buffer holds `n` changes, so this cannot be full; nobody has closed it yet.
        let _ = changes.try_send(tonic::transport::channel::Change::Insert(
            key,
            endpoint.clone(),
        ));
    }
    channel
}

/// How channels are made.
#[derive(Clone)]
pub(crate) struct ChannelSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) connections_per_endpoint: usize,
    pub(crate) user_agent: String,
    pub(crate) factory: Option<ChannelFactory>,
    /// Applied in order: the first added is the outermost.
    pub(crate) layers: Vec<LayerFn>,
    /// CAs trusted on top of the system and webpki roots.
    pub(crate) extra_roots: Roots,
    /// Which endpoints go through a proxy.
    pub(crate) proxy: ProxyRules,
}

impl fmt::Debug for ChannelSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("keep_alive", &self.keep_alive)
            .field("connections_per_endpoint", &self.connections_per_endpoint)
            .field("user_agent", &self.user_agent)
            .field("custom_channel", &self.factory.is_some())
            .field("layers", &self.layers.len())
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// The channels of one client, keyed by endpoint.
#[derive(Debug)]
pub(crate) struct ChannelPool {
    channels: DashMap<Endpoint, GrpcChannel>,
    settings: ChannelSettings,
}

impl ChannelPool {
    pub(crate) fn new(settings: ChannelSettings) -> Self {
        Self {
            channels: DashMap::new(),
            settings,
        }
    }

    /// The channel for `endpoint`, created (unconnected) on first use.
    pub(crate) fn get(&self, endpoint: &Endpoint) -> Result<GrpcChannel, Error> {
        if let Some(channel) = self.channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = match &self.settings.factory {
            Some(factory) => factory(endpoint),
            None => box_channel(self.connect_lazy(endpoint)?),
        };
        let channel = self
            .settings
            .layers
            .iter()
            .rev()
            .fold(channel, |inner, layer| layer(inner));
        Ok(self
            .channels
            .entry(endpoint.clone())
            .or_insert(channel)
            .clone())
    }

    /// Drops every channel; connections close once in-flight calls finish.
    pub(crate) fn clear(&self) {
        self.channels.clear();
    }

    fn connect_lazy(&self, endpoint: &Endpoint) -> Result<Channel, Error> {
        let one = self.tonic_endpoint(endpoint)?;
        if let Some(proxy) = self.settings.proxy.proxy_for(endpoint) {
            // One tunnel: tonic balances only connections it opens itself.
            return Ok(one.connect_with_connector_lazy(ProxyConnector::new(proxy)));
        }
        let channel = match self.settings.connections_per_endpoint {
            0 | 1 => one.connect_lazy(),
            n => balanced(one, n),
        };
        Ok(channel)
    }

    fn tonic_endpoint(&self, endpoint: &Endpoint) -> Result<tonic::transport::Endpoint, Error> {
        let config_error = |e: tonic::transport::Error| Error::Connection {
            endpoint: endpoint.to_string(),
            source: e.into(),
        };
        let mut builder = tonic::transport::Endpoint::from(endpoint.uri().clone())
            .connect_timeout(self.settings.connect_timeout)
            .tcp_nodelay(true)
            .user_agent(self.settings.user_agent.clone())
            .map_err(config_error)?;
        if let Some(interval) = self.settings.keep_alive {
            builder = builder
                .http2_keep_alive_interval(interval)
                .keep_alive_timeout(Duration::from_secs(20))
                .keep_alive_while_idle(true);
        }
        if endpoint.is_tls() {
            let tls = tls::client_config(endpoint, &self.settings.extra_roots);
            builder = builder.tls_config(tls).map_err(config_error)?;
        }
        Ok(builder)
    }
}
