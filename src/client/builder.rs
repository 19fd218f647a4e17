//! Configuration, validated once in [`ClientBuilder::build`] into the [`Client`] it yields.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tonic::metadata::AsciiMetadataValue;

use crate::auth::Credentials;
use crate::channel::proxy::ProxyRules;
use crate::channel::tls::{self, Roots};
use crate::channel::{
    ChannelFactory, ChannelPool, ChannelService, ChannelSettings, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KEEP_ALIVE, GrpcChannel, LayerFn, box_channel,
};
use crate::endpoint::{Endpoint, EndpointResolver, check_plaintext};
use crate::error::{Error, Result};
use crate::retry::{Retrier, RetryConfig};

use super::call::RegionLimiter;
use super::handle::{Client, Inner};
use super::headers::CallHeaders;

/// Per-attempt timeout, as in Google's service config for long-running calls.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The header carrying the per-attempt deadline to the server.
pub(super) const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The tonic version this crate is built against, for `x-goog-api-client`.
const TONIC_VERSION: &str = "0.14";

/// Builds a [`Client`]; every option is checked in [`build`](Self::build), before any call.
#[must_use]
pub struct ClientBuilder {
    credentials: Credentials,
    endpoint: Option<String>,
    region: Option<String>,
    universe_domain: Option<String>,
    quota_project: Option<String>,
    user_agent_suffix: Option<String>,
    attempt_timeout: Duration,
    retry: RetryConfig,
    connect_timeout: Duration,
    keep_alive: Option<Duration>,
    connections_per_endpoint: usize,
    channel_factory: Option<ChannelFactory>,
    layers: Vec<LayerFn>,
    rate_per_region: Option<NonZeroU32>,
    ca_certificates: Vec<Vec<u8>>,
    proxy: ProxyChoice,
    no_proxy: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("universe_domain", &self.universe_domain)
            .field("quota_project", &self.quota_project)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .field("custom_channel", &self.channel_factory.is_some())
            .field("layers", &self.layers.len())
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// Where the proxy setting comes from.
#[derive(Clone, Default)]
enum ProxyChoice {
    /// `HTTPS_PROXY` / `NO_PROXY`, read in `build()`.
    #[default]
    Environment,
    /// Always connect directly.
    Direct,
    /// This proxy URL.
    Url(String),
}

impl std::fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::Direct => f.write_str("Direct"),
            // The URL may carry a proxy password.
            Self::Url(url) => write!(f, "Url({})", crate::channel::proxy::redact_userinfo(url)),
        }
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            credentials: Credentials::application_default(),
            endpoint: None,
            region: None,
            universe_domain: None,
            quota_project: None,
            user_agent_suffix: None,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            retry: RetryConfig::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            connections_per_endpoint: 1,
            channel_factory: None,
            layers: Vec::new(),
            rate_per_region: None,
            ca_certificates: Vec::new(),
            proxy: ProxyChoice::Environment,
            no_proxy: None,
        }
    }
}

impl ClientBuilder {
    /// Which credentials to send (default: Application Default Credentials).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Send every call to this URL instead of the regional endpoint (a fake, a private endpoint).
    /// `http://` is allowed only to loopback.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The region every target must be in (as the REST methods' `region`); a mismatch is
    /// [`Error::InvalidLocation`] before any call.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A universe domain other than `googleapis.com`.
    pub fn universe_domain(mut self, domain: impl Into<String>) -> Self {
        self.universe_domain = Some(domain.into());
        self
    }

    /// The project billed for quota (`x-goog-user-project`). Without it:
    /// `GOOGLE_CLOUD_QUOTA_PROJECT`, then the `quota_project_id` of an `authorized_user` ADC file.
    pub fn quota_project(mut self, project: impl Into<String>) -> Self {
        self.quota_project = Some(project.into());
        self
    }

    /// Appended to the `user-agent` header, to name the calling application.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// How long one attempt may take, token wait included (default 10 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Retry and backoff policy.
    pub fn retry(mut self, config: RetryConfig) -> Self {
        self.retry = config;
        self
    }

    /// How long establishing a connection may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// HTTP/2 keep-alive ping interval (default 60 s); `None` disables pings.
    pub fn http2_keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.keep_alive = interval;
        self
    }

    /// A client-side limit on requests per second per (service, region), for every call of the
    /// client (Vertex AI's quota is about 600 a minute per project and region, Cancel, Get and
    /// List alike). Off by default; a `cancel_many` run's own limit replaces it for that run.
    pub fn rate_limit_per_region(mut self, requests_per_second: NonZeroU32) -> Self {
        self.rate_per_region = Some(requests_per_second);
        self
    }

    /// HTTP/2 connections per endpoint, balanced (default 1). Checked in
    /// [`build`](Self::build): 0 is [`Error::InvalidConfig`], not quietly raised to 1.
    pub fn connections_per_endpoint(mut self, connections: usize) -> Self {
        self.connections_per_endpoint = connections;
        self
    }

    /// Sends every call through `service` (your own channel, mesh sidecar, ...), which leads to
    /// `url`; auth, headers, retry and errors stay this crate's. The plaintext rules apply to
    /// `url`: an `http://` non-loopback URL is refused, so no token goes out in the clear.
    pub fn channel<S: ChannelService>(self, url: impl Into<String>, service: S) -> Self {
        let channel = box_channel(service);
        self.endpoint(url)
            .channel_resolver(move |_| channel.clone())
    }

    /// Makes the channel for each resolved endpoint with `resolve` instead of connecting with
    /// tonic (called once per endpoint; the result is reused).
    pub fn channel_resolver<F, S>(mut self, resolve: F) -> Self
    where
        F: Fn(&Endpoint) -> S + Send + Sync + 'static,
        S: ChannelService,
    {
        self.channel_factory = Some(Arc::new(move |endpoint| box_channel(resolve(endpoint))));
        self
    }

    /// Wraps every channel in a tower layer (concurrency limits, timeouts, metrics ...). The
    /// layered service must be `Clone`: wrap one that is not (tower's `RateLimit`) in `Buffer`.
    /// The first layer added is the outermost; each sees every attempt of every call.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<GrpcChannel> + Send + Sync + 'static,
        L::Service: ChannelService,
    {
        self.layers
            .push(Arc::new(move |inner| box_channel(layer.layer(inner))));
        self
    }

    /// Also trusts the CA certificate(s) in this PEM text, on top of the system store and the
    /// webpki roots (as gcloud's `core/custom_ca_certs_file`); may be called more than once.
    /// Checked in [`build`](Self::build): unparsable PEM is [`Error::InvalidConfig`].
    pub fn ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certificates.push(pem.into());
        self
    }

    /// Connects through this HTTP proxy (`http://[user:password@]host[:port]`) with CONNECT,
    /// for every endpoint not excluded by [`no_proxy`](Self::no_proxy), or directly with
    /// `None`. Either way `HTTPS_PROXY` and `NO_PROXY` are then ignored. Without this call
    /// those variables decide (loopback endpoints always direct; `NO_PROXY` entries as curl's).
    pub fn proxy(mut self, url: Option<&str>) -> Self {
        self.proxy = url.map_or(ProxyChoice::Direct, |url| ProxyChoice::Url(url.to_owned()));
        self
    }

    /// Hosts reached without the proxy, in `NO_PROXY` syntax (`host`, `.suffix`, IP, CIDR,
    /// `*`, comma-separated); replaces the `NO_PROXY` variable.
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.no_proxy = Some(hosts.into());
        self
    }

    /// Validates everything and starts the token cache.
    ///
    /// # Errors
    /// The bad-input variants ([`Error::InvalidConfig`] for, among others, an unparsable CA
    /// certificate or proxy URL, [`Error::InvalidLocation`], [`Error::InsecureEndpoint`]) and
    /// [`Error::Auth`] when the credential source cannot start.
    pub async fn build(self) -> Result<Client> {
        install_crypto_provider();
        self.retry.validate()?;
        let resolver = self.endpoint_resolver()?;
        let sends_token = !self.credentials.is_none();
        self.check_credentials_fit_endpoint(&resolver, sends_token)?;
        let user_project = self
            .billed_project()
            .as_deref()
            .map(|p| header_value("quota project", p))
            .transpose()?;
        let user_agent = self.user_agent()?;
        let api_client = header_value("x-goog-api-client", &api_client_header())?;
        if self.attempt_timeout.is_zero() {
            return Err(invalid_config("the attempt timeout must be above zero"));
        }
        if self.connections_per_endpoint == 0 {
            return Err(invalid_config(
                "connections per endpoint must be at least 1",
            ));
        }
        let extra_roots = self.extra_roots()?;
        let proxy = self.proxy_rules()?;
        let grpc_timeout = grpc_timeout_header(self.attempt_timeout)?;
        let tokens = self.credentials.into_cache().await?;
        let channels = ChannelPool::new(ChannelSettings {
            connect_timeout: self.connect_timeout,
            keep_alive: self.keep_alive,
            connections_per_endpoint: self.connections_per_endpoint,
            user_agent,
            factory: self.channel_factory,
            layers: self.layers,
            extra_roots,
            proxy,
        });
        Ok(Client {
            inner: Arc::new(Inner {
                resolver,
                channels,
                routes: Default::default(),
                headers: CallHeaders {
                    tokens,
                    api_client,
                    user_project,
                },
                retrier: Retrier::new(self.retry),
                attempt_timeout: self.attempt_timeout,
                grpc_timeout,
                region_limiter: self.rate_per_region.map(RegionLimiter::per_second),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The project billed: set here, else `GOOGLE_CLOUD_QUOTA_PROJECT`, else the ADC file's
    /// `quota_project_id` (the order Google's client libraries use). None without credentials.
    fn billed_project(&self) -> Option<String> {
        if self.credentials.is_none() {
            return self.quota_project.clone();
        }
        self.quota_project
            .clone()
            .or_else(|| {
                std::env::var("GOOGLE_CLOUD_QUOTA_PROJECT")
                    .ok()
                    .filter(|p| !p.is_empty())
            })
            .or_else(|| self.credentials.quota_project())
    }

    /// The endpoint resolver [`build`](Self::build) will use (universe domain, region, endpoint
    /// override), so a caller can check targets against it before any client exists.
    ///
    /// # Errors
    /// As `build` for these options: [`Error::InvalidConfig`] for a bad universe domain,
    /// [`Error::InvalidLocation`] for a bad region, [`Error::InsecureEndpoint`] or
    /// [`Error::InvalidConfig`] for a bad endpoint URL.
    pub fn endpoint_resolver(&self) -> Result<EndpointResolver> {
        let mut resolver = EndpointResolver::new();
        if let Some(domain) = &self.universe_domain {
            resolver = resolver.with_universe_domain(domain)?;
        }
        if let Some(region) = &self.region {
            resolver = resolver.with_region(region)?;
        }
        if let Some(url) = &self.endpoint {
            resolver = resolver.with_override(Endpoint::parse(url)?);
        }
        Ok(resolver)
    }

    /// No credentials is for loopback only; a token never goes out in plaintext.
    fn check_credentials_fit_endpoint(
        &self,
        resolver: &EndpointResolver,
        sends_token: bool,
    ) -> Result<()> {
        match (resolver.endpoint_override(), sends_token) {
            (Some(endpoint), true) => check_plaintext(endpoint, true),
            (Some(endpoint), false) if endpoint.is_loopback() => Ok(()),
            (_, false) => Err(invalid_config(
                "Credentials::none() is only allowed with a loopback endpoint override (a fake); \
                 Google's endpoints require a token",
            )),
            (None, true) => Ok(()),
        }
    }

    fn extra_roots(&self) -> Result<Roots> {
        let mut roots = Vec::new();
        for pem in &self.ca_certificates {
            roots.extend(tls::parse_ca_pem(pem)?);
        }
        Ok(roots.into())
    }

    fn proxy_rules(&self) -> Result<ProxyRules> {
        let no_proxy = self.no_proxy.as_deref();
        match &self.proxy {
            ProxyChoice::Environment => ProxyRules::from_env(no_proxy),
            ProxyChoice::Direct => Ok(ProxyRules::direct()),
            ProxyChoice::Url(url) => ProxyRules::explicit(url, no_proxy),
        }
    }

    fn user_agent(&self) -> Result<String> {
        let base = format!("vertex-cancel/{}", env!("CARGO_PKG_VERSION"));
        let agent = match &self.user_agent_suffix {
            Some(suffix) => format!("{base} {suffix}"),
            None => base,
        };
        header_value("user agent", &agent)?;
        Ok(agent)
    }
}

fn invalid_config(reason: &str) -> Error {
    Error::InvalidConfig {
        reason: reason.to_owned(),
    }
}

fn header_value(what: &str, value: &str) -> Result<AsciiMetadataValue> {
    let printable = !value.is_empty() && value.bytes().all(|b| (0x20..0x7f).contains(&b));
    printable
        .then(|| AsciiMetadataValue::try_from(value).ok())
        .flatten()
        .ok_or_else(|| invalid_config(&format!("the {what} must be printable ASCII")))
}

/// The `grpc-timeout` value tonic's `Request::set_timeout` would set, taken from tonic itself
/// so the wire format stays tonic's.
fn grpc_timeout_header(timeout: Duration) -> Result<AsciiMetadataValue> {
    let mut probe = tonic::Request::new(());
    probe.set_timeout(timeout);
    probe
        .metadata()
        .get(GRPC_TIMEOUT)
        .cloned()
        .ok_or_else(|| invalid_config("tonic set no grpc-timeout for the attempt timeout"))
}

/// `gl-rust/<rustc> gccl/<crate> grpc/<tonic>`, as Google's clients name themselves.
fn api_client_header() -> String {
    format!(
        "gl-rust/{} gccl/{} grpc/{TONIC_VERSION}",
        env!("VERTEX_CANCEL_RUSTC_VERSION"),
        env!("CARGO_PKG_VERSION"),
    )
}

/// gcp_auth and tonic both use rustls; pick ring once so neither has to guess.
fn install_crypto_provider() {
    // An error means a provider is installed already (by us or the application): keep it.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_client_header_names_rust_this_crate_and_grpc() {
        let header = api_client_header();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 3, "{header}");
        assert!(parts[0].starts_with("gl-rust/1."), "{header}");
        assert_eq!(parts[1], concat!("gccl/", env!("CARGO_PKG_VERSION")));
        assert!(parts[2].starts_with("grpc/"), "{header}");
    }
}
