//! The one path every RPC takes: route, headers, token, per-attempt timeout, retry, tracing.
//!
//! The per-kind calls only say which stub method to invoke; everything a call must carry is
//! added here, once.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

#[cfg(feature = "metrics")]
use futures::FutureExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tracing::Instrument;

use crate::channel::GrpcChannel;
use crate::endpoint::{Endpoint, check_plaintext};
use crate::error::{Error, Result};
use crate::name::Service;
use crate::retry::{MIN_ATTEMPT_TIME, RouteRetrier};

use super::builder::GRPC_TIMEOUT;
use super::handle::Client;
use super::headers::routing_header;

/// Headers a request ends up with: ours (up to five) and tonic's (`te`, `content-type`, ...).
const REQUEST_HEADERS: usize = 12;

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
    /// A caller's wait deadline: retries go on until it (not a fixed count), and no attempt
    /// runs past it.
    pub(crate) deadline: Option<Instant>,
}

/// Runs one attempt, recording it as OpenTelemetry's `rpc.client.duration` (milliseconds) with
/// the method, status code and attempt number, when the `metrics` feature is on; an attempt
/// that never went out (`sent` did not move: the caller's deadline came first) is not recorded,
/// so the counts are what the server saw.
///
/// Not an `async fn`: one would hold `one` twice (as its argument and as the future it
/// awaits), doubling the size of every call's state (measured: 3.8 KiB more per call).
#[cfg(feature = "metrics")]
fn measured<'a, T>(
    rpc: &'static Rpc,
    attempt: u32,
    sent: &'a AtomicU32,
    one: impl Future<Output = Result<T>> + 'a,
) -> impl Future<Output = Result<T>> + 'a {
    let started = Instant::now();
    let before = sent.load(Ordering::Relaxed);
    one.inspect(move |result| {
        if sent.load(Ordering::Relaxed) == before {
            return;
        }
        let code = result
            .as_ref()
            .err()
            .and_then(Error::code)
            .unwrap_or(tonic::Code::Ok);
        let labels = [
            ("rpc.system", "grpc".to_owned()),
            ("rpc.service", rpc.service.to_owned()),
            ("rpc.method", rpc.method.to_owned()),
            ("rpc.grpc.status_code", (code as i32).to_string()),
            ("vertex_cancel.attempt", attempt.to_string()),
        ];
        metrics::histogram!("rpc.client.duration", &labels)
            .record(started.elapsed().as_secs_f64() * 1000.0);
    })
}

#[cfg(not(feature = "metrics"))]
fn measured<F>(_: &'static Rpc, _: u32, _: &AtomicU32, one: F) -> F {
    one
}

/// A resolved endpoint, its channel, and the retrier holding the route's own throttle.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) endpoint: Endpoint,
    pub(crate) channel: GrpcChannel,
    pub(crate) retrier: RouteRetrier,
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

impl Client {
    /// Runs one RPC with retries. `send` invokes the generated stub on a channel; `attempts`
    /// counts the attempts actually sent (past the rate limit and the token wait).
    pub(crate) async fn call<Req, Resp, Fut>(
        &self,
        rpc: &'static Rpc,
        site: CallSite<'_>,
        message: Req,
        attempts: Option<&AtomicU32>,
        send: impl Fn(GrpcChannel, tonic::Request<Req>) -> Fut,
    ) -> Result<Resp>
    where
        Req: Clone,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let route = self.route(site.service, site.location)?;
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
        let started = Instant::now();
        let own = AtomicU32::new(0);
        let sent = attempts.unwrap_or(&own);
        let sent_before = sent.load(Ordering::Relaxed);
        let run = route.retrier.run(site.deadline, sent, |attempt| {
            let one = self.attempt(&route, &site, message.clone(), sent, &send);
            measured(rpc, attempt, sent, one)
        });
        // Boxed: the retry/timeout/stub state is 2.6 KiB (8 KiB while the attempt and its
        // metrics wrapper each held the stub's future twice), and unboxed it would be copied
        // at every level of the caller's futures, several times per call (see BENCHMARKS.md).
        // Entered on every poll only when some subscriber wants the span.
        if span.is_disabled() {
            return Box::pin(run).await;
        }
        let result = Box::pin(run.instrument(span.clone())).await;
        let code = result
            .as_ref()
            .err()
            .and_then(Error::code)
            .unwrap_or(tonic::Code::Ok);
        let attempts_sent = sent.load(Ordering::Relaxed).wrapping_sub(sent_before);
        span.record("rpc.attempts", attempts_sent);
        span.record("rpc.grpc.status_code", code as i32);
        tracing::debug!(parent: &span, duration_ms = started.elapsed().as_millis() as u64, code = ?code, "rpc finished");
        result
    }

    async fn attempt<Req, Resp, Fut>(
        &self,
        route: &Route,
        site: &CallSite<'_>,
        message: Req,
        sent: &AtomicU32,
        send: &impl Fn(GrpcChannel, tonic::Request<Req>) -> Fut,
    ) -> Result<Resp>
    where
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        // The run's own limit (cancel_many) wins over the client's.
        if let Some(limiter) = site.limiter.or(self.inner.region_limiter.as_deref()) {
            limiter.until_ready(site.service, site.location).await;
        }
        // Outside the attempt's timer: waiting for a token (only when none is valid) is bounded
        // by the token cache (three failed fetches in a row, 30 s at most) and fails as
        // `Error::Auth`, not as a server that did not answer.
        // Made per attempt rather than cloned: a clone of it would allocate, and a retry is rare.
        let routing = routing_header(site.param, site.resource);
        let request = self.request(message, routing).await?;
        let started = Instant::now();
        let timeout = site
            .deadline
            .map_or(self.inner.attempt_timeout, |deadline| {
                self.inner
                    .attempt_timeout
                    .min(deadline.saturating_duration_since(started))
            });
        // A call with (almost) no time left before the caller's deadline is not sent: it could
        // not be answered in time, and the server would act on it (a cancel would start) while
        // we reported it unanswered. (Without a deadline the attempt timeout alone bounds it.)
        let left = site
            .deadline
            .map(|deadline| deadline.saturating_duration_since(started));
        if left.is_some_and(|left| left < MIN_ATTEMPT_TIME) {
            return Err(not_sent(&route.endpoint, started.elapsed()));
        }
        // Counted once past the rate limit and the token: what the server may have seen.
        sent.fetch_add(1, Ordering::Relaxed);
        let timed_out = || {
            Error::from(tonic::Status::deadline_exceeded(format!(
                "no answer from {} within {timeout:?}",
                route.endpoint
            )))
        };
        // The stub's future is written inside the timeout's call: bound to a local before it, it
        // kept a slot of its own in this future beside the timeout's (1.8 KiB more per call).
        let answer = tokio::time::timeout(timeout, async {
            send(route.channel.clone(), request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| Error::from_status_at(status, &route.endpoint.to_string()))
        });
        match answer.await {
            // A tonic server enforcing the `grpc-timeout` we send answers CANCELLED ("Timeout
            // expired") when it runs out of time; arriving once our own deadline has passed,
            // that answer is this attempt timing out, and as retryable as our own timeout.
            Ok(Err(error))
                if error.code() == Some(tonic::Code::Cancelled) && started.elapsed() >= timeout =>
            {
                Err(timed_out())
            }
            Ok(result) => result,
            Err(_) => Err(timed_out()),
        }
    }

    /// A request with every header Google expects.
    pub(super) async fn request<Req>(
        &self,
        message: Req,
        routing: AsciiMetadataValue,
    ) -> Result<tonic::Request<Req>> {
        let headers = &self.inner.headers;
        let token = headers.tokens.authorization().await?;
        // Room for ours and the ones tonic adds, so the map is allocated once.
        let mut metadata = MetadataMap::with_capacity(REQUEST_HEADERS);
        metadata.insert(GRPC_TIMEOUT, self.inner.grpc_timeout.clone());
        headers.apply(&mut metadata, token);
        metadata.insert("x-goog-request-params", routing);
        Ok(tonic::Request::from_parts(
            metadata,
            tonic::Extensions::default(),
            message,
        ))
    }

    /// The endpoint and channel for a location, resolved and checked once, then cached.
    pub(crate) fn route(&self, service: Service, location: &str) -> Result<Arc<Route>> {
        if self.inner.closed.load(Ordering::Relaxed) {
            return Err(Error::Shutdown);
        }
        let cached = self.inner.routes.get(location);
        if let Some(route) = cached
            .as_deref()
            .and_then(|routes| route_of(routes, service))
        {
            return Ok(route);
        }
        drop(cached);
        let endpoint = self.inner.resolver.resolve(service, location)?;
        check_plaintext(&endpoint, self.inner.headers.tokens.sends_token())?;
        let channel = self.inner.channels.get(&endpoint)?;
        let mut routes = self.inner.routes.entry(location.into()).or_default();
        // A concurrent first call may have resolved it meanwhile: every caller shares one.
        if let Some(route) = route_of(&routes, service) {
            return Ok(route);
        }
        // Per region, not per host: behind one endpoint override (a private endpoint, the
        // fake) each region still fails on its own.
        let retrier = self
            .inner
            .retrier
            .for_route(&format!("{endpoint} {location}"));
        let route = Arc::new(Route {
            endpoint,
            channel,
            retrier,
        });
        routes.push((service, Arc::clone(&route)));
        Ok(route)
    }
}

/// A call the caller's deadline left no time to send (`to`: where, or what, it was for).
pub(super) fn not_sent(to: &dyn std::fmt::Display, waited: std::time::Duration) -> Error {
    Error::from(tonic::Status::deadline_exceeded(format!(
        "not sent to {to}: under {MIN_ATTEMPT_TIME:?} of the wait was left after {waited:.1?} \
         (spent waiting for the rate limit or a token, or too short a budget)"
    )))
}

/// The routes of one location, one per service used there: a short list, searched in place.
pub(super) type LocationRoutes = Vec<(Service, Arc<Route>)>;

/// `service`'s route among a location's, if resolved yet; total over [`Service`], so a new
/// service needs no change here.
fn route_of(routes: &LocationRoutes, service: Service) -> Option<Arc<Route>> {
    routes
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, route)| Arc::clone(route))
}
