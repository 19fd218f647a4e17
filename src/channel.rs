//! One tonic [`Channel`] per endpoint, created on first use and shared by every clone of a
//! client.
//!
//! An endpoint is reached directly or, when the proxy rules say so, through an HTTP CONNECT
//! tunnel ([`crate::proxy`]); either way TLS (see [`crate::tls`]) runs end to end to the
//! endpoint, layered on by tonic.
//!
//! Channels connect lazily and reconnect by themselves, so creating one never blocks and a
//! restarted server is reached again without help. The map is read on every call, so a lookup
//! takes a shard read lock only, never held across an await.

use std::time::Duration;

use dashmap::DashMap;
use tonic::transport::Channel;

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::proxy::{ProxyConnector, ProxyRules};
use crate::tls::{self, Roots};

/// Defaults follow Google's client libraries where they state one.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);

/// How channels are made.
#[derive(Debug, Clone)]
pub(crate) struct ChannelSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) connections_per_endpoint: usize,
    pub(crate) user_agent: String,
    /// CAs trusted on top of the system and webpki roots.
    pub(crate) extra_roots: Roots,
    /// Which endpoints go through a proxy.
    pub(crate) proxy: ProxyRules,
}

/// The channels of one client, keyed by endpoint.
#[derive(Debug)]
pub(crate) struct ChannelPool {
    channels: DashMap<Endpoint, Channel>,
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
    pub(crate) fn get(&self, endpoint: &Endpoint) -> Result<Channel, Error> {
        if let Some(channel) = self.channels.get(endpoint) {
            return Ok(channel.clone());
        }
        let channel = self.connect_lazy(endpoint)?;
        Ok(self
            .channels
            .entry(endpoint.clone())
            .or_insert(channel)
            .clone())
    }

    fn connect_lazy(&self, endpoint: &Endpoint) -> Result<Channel, Error> {
        let one = self.tonic_endpoint(endpoint)?;
        if let Some(proxy) = self.settings.proxy.proxy_for(endpoint) {
            // One tunnel: tonic balances only connections it opens itself.
            return Ok(one.connect_with_connector_lazy(ProxyConnector::new(proxy)));
        }
        let channel = match self.settings.connections_per_endpoint {
            0 | 1 => one.connect_lazy(),
            n => Channel::balance_list(std::iter::repeat_n(one, n)),
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
