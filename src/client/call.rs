//! The one path every RPC takes: route, headers, token, per-attempt timeout, retry, tracing.
//!
//! The per-kind calls only say which stub method to invoke; everything a call must carry is
//! added here, once.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tracing::Instrument;

use crate::endpoint::{Endpoint, check_plaintext};
use crate::error::{Error, Result};
use crate::name::Service;

use super::builder::Client;

/// A gRPC method, named as OpenTelemetry's `rpc.service` / `rpc.method` want it.
#[derive(Debug)]
pub(crate) struct Rpc {
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
}

/// Where a call goes and which resource it names (for routing and tracing).
pub(crate) struct CallSite<'a> {
    pub(crate) service: Service,
    pub(crate) location: &'a str,
    /// `name` for calls on one resource, `parent` for lists (Operations lists use `name`).
    pub(crate) param: &'static str,
    pub(crate) resource: &'a str,
    pub(crate) limiter: Option<&'a RegionLimiter>,
}

/// A resolved endpoint and its channel.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    endpoint: Endpoint,
    channel: Channel,
}

/// A client-side request rate per (service, location): Vertex AI's quota is per region.
#[derive(Debug)]
pub(crate) struct RegionLimiter(DefaultKeyedRateLimiter<(Service, Box<str>)>);

impl RegionLimiter {
    pub(crate) fn per_second(rate: NonZeroU32) -> Arc<Self> {
        Arc::new(Self(RateLimiter::keyed(Quota::per_second(rate))))
    }

    async fn until_ready(&self, service: Service, location: &str) {
        self.0.until_key_ready(&(service, location.into())).await;
    }
}

/// Characters left as they are in `x-goog-request-params` values (RFC 3986 unreserved).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl Client {
    /// Runs one RPC with retries. `send` invokes the generated stub on a channel.
    pub(crate) async fn call<Req, Resp, Fut>(
        &self,
        rpc: &'static Rpc,
        site: CallSite<'_>,
        message: Req,
        attempts: Option<&AtomicU32>,
        send: impl Fn(Channel, tonic::Request<Req>) -> Fut,
    ) -> Result<Resp>
    where
        Req: Clone,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let route = self.route(site.service, site.location)?;
        let routing = routing_header(site.param, site.resource);
        let span = tracing::debug_span!(
            "rpc",
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = rpc.service,
            rpc.method = rpc.method,
            vertex.resource = site.resource,
            server.address = route.endpoint.host(),
            rpc.attempts = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let started = tokio::time::Instant::now();
        let counter = AtomicU32::new(0);
        let result = self
            .inner
            .retrier
            .run(|_| {
                counter.fetch_add(1, Ordering::Relaxed);
                if let Some(shared) = attempts {
                    shared.fetch_add(1, Ordering::Relaxed);
                }
                self.attempt(&route, &routing, &site, message.clone(), &send)
            })
            .instrument(span.clone())
            .await;
        let code = result
            .as_ref()
            .err()
            .and_then(Error::code)
            .unwrap_or(tonic::Code::Ok);
        span.record("rpc.attempts", counter.load(Ordering::Relaxed));
        span.record("rpc.grpc.status_code", code as i32);
        tracing::debug!(parent: &span, duration_ms = started.elapsed().as_millis() as u64, code = ?code, "rpc finished");
        result
    }

    async fn attempt<Req, Resp, Fut>(
        &self,
        route: &Route,
        routing: &AsciiMetadataValue,
        site: &CallSite<'_>,
        message: Req,
        send: &impl Fn(Channel, tonic::Request<Req>) -> Fut,
    ) -> Result<Resp>
    where
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        if let Some(limiter) = site.limiter {
            limiter.until_ready(site.service, site.location).await;
        }
        let timeout = self.inner.attempt_timeout;
        let one = async {
            let request = self.request(message, routing).await?;
            send(route.channel.clone(), request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| Error::from_status_at(status, &route.endpoint.to_string()))
        };
        match tokio::time::timeout(timeout, one).await {
            Ok(result) => result,
            Err(_) => Err(Error::from(tonic::Status::deadline_exceeded(format!(
                "no answer from {} within {timeout:?}",
                route.endpoint
            )))),
        }
    }

    /// A request with every header Google expects.
    async fn request<Req>(
        &self,
        message: Req,
        routing: &AsciiMetadataValue,
    ) -> Result<tonic::Request<Req>> {
        let inner = &self.inner;
        let mut request = tonic::Request::new(message);
        request.set_timeout(inner.attempt_timeout);
        let headers = request.metadata_mut();
        if let Some(token) = inner.tokens.authorization().await? {
            headers.insert("authorization", token);
        }
        headers.insert("x-goog-request-params", routing.clone());
        headers.insert("x-goog-api-client", inner.api_client.clone());
        if let Some(project) = &inner.user_project {
            headers.insert("x-goog-user-project", project.clone());
        }
        Ok(request)
    }

    /// The endpoint and channel for a location, resolved and checked once, then cached.
    fn route(&self, service: Service, location: &str) -> Result<Route> {
        let routes = &self.inner.routes[service as usize];
        if let Some(route) = routes.get(location) {
            return Ok(route.clone());
        }
        let endpoint = self.inner.resolver.resolve(service, location)?;
        check_plaintext(&endpoint, self.inner.tokens.sends_token())?;
        let channel = self.inner.channels.get(&endpoint)?;
        let route = Route { endpoint, channel };
        routes.insert(location.into(), route.clone());
        Ok(route)
    }
}

/// `name=projects%2Fp%2F...`: Google routes regional calls by this header.
fn routing_header(param: &str, resource: &str) -> AsciiMetadataValue {
    let value = format!("{param}={}", utf8_percent_encode(resource, UNRESERVED));
    // Percent-encoding leaves only unreserved ASCII, always a valid header value.
    AsciiMetadataValue::try_from(value).expect("percent-encoded text is a valid header")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_header_is_url_encoded() {
        let header = routing_header("name", "projects/p/locations/us-central1/pipelineJobs/a b");
        assert_eq!(
            header.to_str().unwrap(),
            "name=projects%2Fp%2Flocations%2Fus-central1%2FpipelineJobs%2Fa%20b"
        );
    }
}
