//! When and how long to retry a failed call: the retry policy as plain data ([`RetryConfig`]),
//! exponential backoff with full jitter that honours the server's `RetryInfo`, and client-side
//! adaptive throttling that stops retry storms during a near-total outage.
//!
//! One loop (`RouteRetrier::run`) makes every decision, so the policy can be read in one place.
//! Only errors for which [`Error::is_retryable`] holds are retried; every call this crate retries
//! (cancel, get, list) is idempotent.
//!
//! The throttle is kept per route (an endpoint and the region it serves), not per client:
//! Vertex AI's regions fail independently, so a region that is down must neither throttle the
//! retries of a healthy one nor be hidden by a busy healthy one. Throttles are made on a route's
//! first call; a client meets a few dozen regions at most, and past 256 routes
//! (`MAX_ROUTE_THROTTLES`) further ones share one throttle, so no input grows them without bound.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use crate::error::{Error, Result};

/// The least time that must be left before a caller's deadline for an attempt to be sent at
/// all: one with less could not be answered in time, and the server would act on it (a cancel
/// would start) while the caller heard it unanswered.
pub(crate) const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(20);

/// Exponential backoff: the n-th retry waits a uniformly random time up to
/// `min(max, initial * multiplier^n)` ("full jitter").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The upper bound of the first retry's delay.
    pub initial: Duration,
    /// The largest upper bound any delay gets (a server's `RetryInfo` may ask for more).
    pub max: Duration,
    /// How much the upper bound grows per retry; at least 1.
    pub multiplier: f64,
}

impl Default for BackoffConfig {
    /// 500 ms, doubling, capped at 10 s.
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(10),
            multiplier: 2.0,
        }
    }
}

/// The retry policy of a client, shared by all its calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// The delays between attempts.
    pub backoff: BackoffConfig,
    /// Attempts per call, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// No attempt starts later than this after the first one.
    pub total_timeout: Duration,
    /// `K` of client-side adaptive throttling (Google SRE book, "Handling Overload"): retries
    /// are rejected locally once fewer than `1/K` of recent attempts in the same region were
    /// accepted by the server. `None` disables throttling.
    pub throttle_k: Option<f64>,
}

impl Default for RetryConfig {
    /// 5 attempts within 60 s, default backoff, throttling with K = 2.
    fn default() -> Self {
        RetryConfig {
            backoff: BackoffConfig::default(),
            max_attempts: 5,
            total_timeout: Duration::from_secs(60),
            throttle_k: Some(2.0),
        }
    }
}

impl RetryConfig {
    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        }
    }

    /// Sets the backoff.
    pub fn with_backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the attempts per call, the first included.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the time after which no new attempt starts.
    pub fn with_total_timeout(mut self, total_timeout: Duration) -> Self {
        self.total_timeout = total_timeout;
        self
    }

    /// Sets `K` of adaptive throttling, or disables it with `None`.
    pub fn with_throttle_k(mut self, throttle_k: Option<f64>) -> Self {
        self.throttle_k = throttle_k;
        self
    }

    /// Checks that the values make sense; the client builder calls this.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| {
            Err(Error::InvalidConfig {
                reason: reason.to_owned(),
            })
        };
        let BackoffConfig {
            initial,
            max,
            multiplier,
        } = self.backoff;
        if self.max_attempts == 0 {
            return invalid("retry max_attempts must be at least 1");
        }
        if !(multiplier.is_finite() && multiplier >= 1.0) {
            return invalid("retry backoff multiplier must be a finite number >= 1");
        }
        if initial > max {
            return invalid("retry backoff initial delay must not exceed its max");
        }
        if self
            .throttle_k
            .is_some_and(|k| !(k.is_finite() && k >= 1.0))
        {
            return invalid("retry throttle K must be a finite number >= 1");
        }
        Ok(())
    }
}

/// The delays of one call's retries: full jitter, at least the server's hint.
#[derive(Debug)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    retries: u32,
    rng: StdRng,
}

impl Backoff {
    /// A backoff drawing its jitter from `rng` (seeded in tests).
    pub(crate) fn with_rng(config: BackoffConfig, rng: StdRng) -> Self {
        Backoff {
            config,
            retries: 0,
            rng,
        }
    }

    /// The upper bound of the n-th (0-based) retry's delay; never panics, whatever the config.
    fn bound(&self, n: u32) -> Duration {
        let BackoffConfig {
            initial,
            max,
            multiplier,
        } = self.config;
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        let secs = initial.as_secs_f64() * multiplier.powi(exponent);
        if secs.is_finite() && secs < max.as_secs_f64() {
            Duration::from_secs_f64(secs.max(0.0))
        } else {
            max
        }
    }

    /// The delay before the next retry: uniform in `[0, bound]`, raised to `hint` (the server's
    /// `RetryInfo`) if that is longer, even beyond `max`.
    pub(crate) fn next_delay(&mut self, hint: Option<Duration>) -> Duration {
        let bound = self.bound(self.retries);
        self.retries = self.retries.saturating_add(1);
        let bound_nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(self.rng.random_range(0..=bound_nanos));
        jittered.max(hint.unwrap_or_default())
    }

    /// A uniform draw in `[0, 1)` from the same generator, for the throttle's decision.
    fn draw(&mut self) -> f64 {
        self.rng.random()
    }
}

/// Counts of one slice of the throttle's window.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    epoch: u64,
    requests: u64,
    accepts: u64,
}

/// The throttle's sliding window: a ring of buckets indexed by time since `origin`.
#[derive(Debug)]
struct Window {
    origin: Instant,
    buckets: Vec<Bucket>,
}

/// Client-side adaptive throttling (Google SRE book, "Handling Overload"): a retry is rejected
/// locally with probability `max(0, (requests - K * accepts) / (requests + 1))` over the last
/// minute.
///
/// Only retries are throttled: a call's first attempt always goes out, so a near-total outage
/// costs about one attempt per call, while retries keep flowing as long as at least `1/K` of
/// recent attempts are accepted (with K = 2, an error rate of up to 50% is retried through).
/// Nothing is rejected until the window holds [`Self::MIN_REQUESTS`] attempts: on a cold start
/// the formula would otherwise drop the very first retry of a one-call CLI run half the time
/// ((1 - 0) / (1 + 1)), on no real evidence of an outage.
#[derive(Debug)]
pub(crate) struct AdaptiveThrottle {
    k: f64,
    bucket_len: Duration,
    window: Mutex<Window>,
}

impl AdaptiveThrottle {
    /// Length of the sliding window.
    pub(crate) const WINDOW: Duration = Duration::from_secs(60);
    /// Attempts the window must hold before any retry is rejected.
    pub(crate) const MIN_REQUESTS: u64 = 10;
    /// Number of buckets the window is counted in.
    const BUCKETS: u32 = 60;

    /// A throttle with factor `k` and empty counts.
    pub(crate) fn new(k: f64) -> Self {
        AdaptiveThrottle {
            k,
            bucket_len: Self::WINDOW / Self::BUCKETS,
            window: Mutex::new(Window {
                origin: Instant::now(),
                buckets: vec![Bucket::default(); Self::BUCKETS as usize],
            }),
        }
    }

    /// Records one attempt sent; `accepted` is false when the server was overloaded or
    /// unreachable (the error would be retried).
    pub(crate) fn record(&self, accepted: bool) {
        self.with_window(|window, epoch| {
            let slot = &mut window.buckets[(epoch % u64::from(Self::BUCKETS)) as usize];
            if slot.epoch != epoch {
                *slot = Bucket {
                    epoch,
                    ..Bucket::default()
                };
            }
            slot.requests += 1;
            slot.accepts += u64::from(accepted);
        });
    }

    /// The current probability of rejecting a retry.
    pub(crate) fn reject_probability(&self) -> f64 {
        let (requests, accepts) = self.with_window(|window, epoch| {
            let live = |b: &&Bucket| b.epoch + u64::from(Self::BUCKETS) > epoch;
            window
                .buckets
                .iter()
                .filter(live)
                .fold((0, 0), |(r, a), b| (r + b.requests, a + b.accepts))
        });
        if requests < Self::MIN_REQUESTS {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)] // counts stay far below 2^52
        let (requests, accepts) = (requests as f64, accepts as f64);
        ((requests - self.k * accepts) / (requests + 1.0)).max(0.0)
    }

    /// Whether a retry may go out, given a uniform draw in `[0, 1)`.
    pub(crate) fn allows_retry(&self, draw: f64) -> bool {
        draw >= self.reject_probability()
    }

    /// Runs `f` on the window and the current bucket epoch; the lock is never held across an
    /// await.
    fn with_window<R>(&self, f: impl FnOnce(&mut Window, u64) -> R) -> R {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = Instant::now().saturating_duration_since(window.origin);
        let epoch =
            u64::try_from(elapsed.as_nanos() / self.bucket_len.as_nanos()).unwrap_or(u64::MAX);
        f(&mut window, epoch)
    }
}

/// Routes that get a throttle of their own; later ones share one. Vertex AI has a few dozen
/// regions (times two services), so only a caller naming invented locations gets this far.
pub(crate) const MAX_ROUTE_THROTTLES: usize = 256;

/// A client's throttles, one per route, each made on the route's first call.
#[derive(Debug)]
struct Throttles {
    k: f64,
    by_route: Mutex<HashMap<Box<str>, Arc<AdaptiveThrottle>>>,
    /// Shared by the routes beyond [`MAX_ROUTE_THROTTLES`].
    overflow: Arc<AdaptiveThrottle>,
}

impl Throttles {
    fn new(k: f64) -> Self {
        Throttles {
            k,
            by_route: Mutex::new(HashMap::new()),
            overflow: Arc::new(AdaptiveThrottle::new(k)),
        }
    }

    fn for_route(&self, route: &str) -> Arc<AdaptiveThrottle> {
        let mut by_route = self.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(throttle) = by_route.get(route) {
            return Arc::clone(throttle);
        }
        if by_route.len() >= MAX_ROUTE_THROTTLES {
            return Arc::clone(&self.overflow);
        }
        let throttle = Arc::new(AdaptiveThrottle::new(self.k));
        by_route.insert(route.into(), Arc::clone(&throttle));
        throttle
    }
}

/// A client's retry state under a [`RetryConfig`]: the jitter source and a throttle per route.
/// Cloned handles share both.
#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    config: RetryConfig,
    throttles: Option<Arc<Throttles>>,
    rng: Arc<Mutex<StdRng>>,
}

impl Retrier {
    /// A retrier with no throttle made yet, jitter seeded from the thread's OS-seeded generator.
    pub(crate) fn new(config: RetryConfig) -> Self {
        Retrier {
            config,
            throttles: config.throttle_k.map(|k| Arc::new(Throttles::new(k))),
            rng: Arc::new(Mutex::new(StdRng::from_rng(&mut rand::rng()))),
        }
    }

    /// Replaces the generator the jitter and throttle draws come from (seeded in tests).
    #[cfg(test)]
    pub(crate) fn with_rng(mut self, rng: StdRng) -> Self {
        self.rng = Arc::new(Mutex::new(rng));
        self
    }

    /// The retrier for calls on `route` (an endpoint and region): the same policy and jitter
    /// source, and the route's own throttle. Called once per route, not per call.
    pub(crate) fn for_route(&self, route: &str) -> RouteRetrier {
        RouteRetrier {
            config: self.config,
            throttle: self.throttles.as_ref().map(|t| t.for_route(route)),
            rng: Arc::clone(&self.rng),
        }
    }
}

/// Runs calls on one route under the client's [`RetryConfig`], counting them in the route's
/// throttle.
#[derive(Debug, Clone)]
pub(crate) struct RouteRetrier {
    config: RetryConfig,
    throttle: Option<Arc<AdaptiveThrottle>>,
    rng: Arc<Mutex<StdRng>>,
}

impl RouteRetrier {
    /// Calls `attempt(n)` (n = 1, 2, ...) until it succeeds, fails with an error that is not
    /// retryable, or the policy gives up.
    ///
    /// The total timeout bounds when an attempt may start, not how long one runs (that is the
    /// channel's per-attempt timeout). With a `budget` (a caller's wait deadline), the budget
    /// replaces both the attempt count and the total timeout: retries go on until it is spent,
    /// and a retry the throttle rejects is postponed by a backoff delay instead of abandoned,
    /// so no request is sent that the throttle refused.
    ///
    /// `sent` is counted by each attempt once it goes out (past the rate limit and the
    /// token): an attempt that never did (the caller's deadline came first) is neither recorded
    /// by the throttle, which weighs the server's answers, nor counted as an attempt made.
    ///
    /// # Errors
    /// A non-retryable error as it came; a retryable one as it came if only one attempt was
    /// sent, else [`Error::RetriesExhausted`] wrapping the last.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        budget: Option<Instant>,
        sent: &AtomicU32,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let first_sent = sent.load(Ordering::Relaxed);
        let sent_so_far = || sent.load(Ordering::Relaxed).wrapping_sub(first_sent);
        let started = Instant::now();
        let deadline = budget.or_else(|| started.checked_add(self.config.total_timeout));
        // Forked on the first retry only: the common path (success at once) draws nothing.
        let mut backoff = None;
        let mut attempts = 0;
        let mut previous: Option<Error> = None;
        loop {
            attempts += 1;
            let before = sent.load(Ordering::Relaxed);
            let result = attempt(attempts).await;
            let went_out = sent.load(Ordering::Relaxed) != before;
            let err = match result {
                Ok(value) => {
                    self.record(true);
                    return Ok(value);
                }
                Err(err) => err,
            };
            if !err.is_retryable() {
                if went_out {
                    self.record(true);
                }
                return Err(err);
            }
            if went_out {
                self.record(false);
            }
            // Too close to the budget for another attempt to be sent: stop here. An attempt the
            // budget cut short (or left unsent) says less than the failure before it.
            let at_end = budget.is_some_and(|budget| Instant::now() + MIN_ATTEMPT_TIME >= budget);
            let cut_by_budget = at_end && err.code() == Some(tonic::Code::DeadlineExceeded);
            let err = match previous.take() {
                Some(before) if cut_by_budget => before,
                _ => err,
            };
            if at_end {
                return Err(give_up(sent_so_far(), started.elapsed(), err));
            }
            let backoff = backoff
                .get_or_insert_with(|| Backoff::with_rng(self.config.backoff, self.fork_rng()));
            match self.next_delay(attempts, deadline, budget.is_some(), backoff, &err) {
                Ok(delay) => {
                    tracing::debug!(
                        attempt = attempts,
                        code = ?err.code(),
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "retrying: {err}"
                    );
                    tokio::time::sleep(delay).await;
                    previous = Some(err);
                }
                Err(why) => {
                    tracing::debug!(attempt = attempts, code = ?err.code(), "not retrying: {why}");
                    return Err(give_up(sent_so_far(), started.elapsed(), err));
                }
            }
        }
    }

    /// How long to wait before the next attempt, or why there is none.
    /// `budgeted`: the deadline is a caller's budget, which replaces the attempt count, and a
    /// throttled retry waits for the throttle to allow it while the budget lasts.
    fn next_delay(
        &self,
        attempts: u32,
        deadline: Option<Instant>,
        budgeted: bool,
        backoff: &mut Backoff,
        err: &Error,
    ) -> Result<Duration, &'static str> {
        if !budgeted && attempts >= self.config.max_attempts {
            return Err("max attempts reached");
        }
        let mut delay = backoff.next_delay(err.retry_delay());
        loop {
            let wake = Instant::now().checked_add(delay);
            if deadline.is_some_and(|deadline| wake.is_none_or(|wake| wake > deadline)) {
                return Err("the next attempt would start after the deadline");
            }
            let allowed = self
                .throttle
                .as_ref()
                .is_none_or(|throttle| throttle.allows_retry(backoff.draw()));
            if allowed {
                return Ok(delay);
            }
            if !budgeted {
                return Err("throttled: too few recent attempts on this route succeeded");
            }
            tracing::debug!(attempt = attempts, "retry postponed by the throttle");
            // Postponed, not sent: each refusal pushes the retry back by one more backoff.
            delay = delay.saturating_add(backoff.next_delay(None));
        }
    }

    fn record(&self, accepted: bool) {
        if let Some(throttle) = &self.throttle {
            throttle.record(accepted);
        }
    }

    /// A generator for one call, derived from the shared one so that seeded runs are exact.
    fn fork_rng(&self) -> StdRng {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        StdRng::from_rng(&mut *rng)
    }
}

/// `attempts`: those sent.
fn give_up(attempts: u32, elapsed: Duration, last: Error) -> Error {
    if attempts <= 1 {
        return last;
    }
    Error::RetriesExhausted {
        attempts,
        elapsed,
        last: Box::new(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use tonic::Code;
    use tonic_types::{ErrorDetails, StatusExt};

    fn unavailable() -> Error {
        Error::from(tonic::Status::unavailable("backend down"))
    }

    fn unavailable_with_hint(hint: Duration) -> Error {
        Error::from(tonic::Status::with_error_details(
            Code::Unavailable,
            "backend down",
            ErrorDetails::with_retry_info(Some(hint)),
        ))
    }

    impl RouteRetrier {
        /// `run` where every attempt goes out.
        async fn run_all_sent<T, F, Fut>(
            &self,
            budget: Option<Instant>,
            mut attempt: F,
        ) -> Result<T>
        where
            F: FnMut(u32) -> Fut,
            Fut: Future<Output = Result<T, Error>>,
        {
            let sent = AtomicU32::new(0);
            self.run(budget, &sent, |n| {
                sent.fetch_add(1, Ordering::Relaxed);
                attempt(n)
            })
            .await
        }
    }

    fn seeded(config: RetryConfig, seed: u64) -> RouteRetrier {
        Retrier::new(config)
            .with_rng(StdRng::seed_from_u64(seed))
            .for_route("test")
    }

    /// Runs one call that answers `outcomes(n)` on attempt n; returns the result and the
    /// start time of every attempt.
    async fn run_recording(
        retrier: &RouteRetrier,
        outcome: impl Fn(u32) -> Result<u32, Error>,
    ) -> (Result<u32, Error>, Vec<Instant>) {
        let starts = std::cell::RefCell::new(Vec::new());
        let result = retrier
            .run_all_sent(None, |n| {
                starts.borrow_mut().push(Instant::now());
                std::future::ready(outcome(n))
            })
            .await;
        (result, starts.into_inner())
    }

    /// [`run_recording`] within a caller's deadline.
    async fn run_recording_within(
        retrier: &RouteRetrier,
        deadline: Instant,
        outcome: impl Fn(u32) -> Result<u32, Error>,
    ) -> (Result<u32, Error>, Vec<Instant>) {
        let starts = std::cell::RefCell::new(Vec::new());
        let result = retrier
            .run_all_sent(Some(deadline), |n| {
                starts.borrow_mut().push(Instant::now());
                std::future::ready(outcome(n))
            })
            .await;
        (result, starts.into_inner())
    }

    fn gaps(starts: &[Instant]) -> Vec<Duration> {
        starts.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn backoff_is_full_jitter_within_capped_bounds() {
        let config = BackoffConfig::default();
        let mut backoff = Backoff::with_rng(config, StdRng::seed_from_u64(7));
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay(None)).collect();
        let bounds_ms = [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000];
        for (n, delay) in delays.iter().enumerate() {
            let bound = Duration::from_millis(bounds_ms[n.min(bounds_ms.len() - 1)]);
            assert!(*delay <= bound, "delay {n} = {delay:?} > {bound:?}");
        }
        // Jitter really varies the delays, and the same seed gives the same sequence.
        assert!(delays.windows(2).any(|w| w[0] != w[1]));
        let mut again = Backoff::with_rng(config, StdRng::seed_from_u64(7));
        let replay: Vec<Duration> = (0..12).map(|_| again.next_delay(None)).collect();
        assert_eq!(delays, replay);
    }

    #[test]
    fn backoff_survives_absurd_config() {
        let config = BackoffConfig {
            initial: Duration::MAX,
            max: Duration::MAX,
            multiplier: f64::NAN,
        };
        let mut backoff = Backoff::with_rng(config, StdRng::seed_from_u64(1));
        for _ in 0..3 {
            backoff.next_delay(Some(Duration::MAX));
        }
        assert!(
            RetryConfig::default()
                .with_backoff(config)
                .validate()
                .is_err()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_sleeps_the_exact_jittered_delays() {
        let config = RetryConfig::default()
            .with_max_attempts(6)
            .with_total_timeout(Duration::from_secs(600))
            .with_throttle_k(None);
        let retrier = seeded(config, 42);
        let (result, starts) =
            run_recording(&retrier, |n| if n < 6 { Err(unavailable()) } else { Ok(n) }).await;
        assert_eq!(result.unwrap(), 6);

        let mut parent = StdRng::seed_from_u64(42);
        let mut expected = Backoff::with_rng(config.backoff, StdRng::from_rng(&mut parent));
        let expected: Vec<Duration> = (0..5).map(|_| expected.next_delay(None)).collect();
        // tokio's timer wakes on whole milliseconds, rounding up.
        let on_timer =
            |d: &Duration| Duration::from_millis(d.as_nanos().div_ceil(1_000_000) as u64);
        assert_eq!(
            gaps(&starts),
            expected.iter().map(on_timer).collect::<Vec<_>>()
        );
        assert!(expected.iter().all(|d| *d <= Duration::from_secs(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_info_hint_is_honoured_beyond_max() {
        let hint = Duration::from_secs(30);
        let retrier = seeded(RetryConfig::default(), 1);
        let (result, starts) = run_recording(&retrier, |n| {
            if n == 1 {
                Err(unavailable_with_hint(hint))
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
        let gap = gaps(&starts)[0];
        assert!(gap >= hint, "waited {gap:?}, server asked for {hint:?}");
        assert!(gap <= hint + RetryConfig::default().backoff.initial);
    }

    #[tokio::test(start_paused = true)]
    async fn hint_past_total_timeout_gives_up_at_once() {
        let retrier = seeded(RetryConfig::default(), 1);
        let (result, starts) = run_recording(&retrier, |_| {
            Err(unavailable_with_hint(Duration::from_secs(120)))
        })
        .await;
        assert_eq!(starts.len(), 1);
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn stops_after_max_attempts() {
        let config = RetryConfig::default()
            .with_max_attempts(3)
            .with_throttle_k(None);
        let retrier = seeded(config, 3);
        let (result, starts) = run_recording(&retrier, |_| Err(unavailable())).await;
        assert_eq!(starts.len(), 3);
        let Error::RetriesExhausted {
            attempts,
            elapsed,
            last,
        } = result.unwrap_err()
        else {
            panic!("expected RetriesExhausted");
        };
        assert_eq!(attempts, 3);
        assert_eq!(elapsed, starts[2] - starts[0]);
        assert!(matches!(*last, Error::Unavailable(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn total_timeout_stops_early() {
        // A 10 s hint with a 1 ms jitter bound makes every delay exactly 10 s.
        let config = RetryConfig::default()
            .with_backoff(BackoffConfig {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(1),
                multiplier: 1.0,
            })
            .with_max_attempts(10)
            .with_total_timeout(Duration::from_secs(25))
            .with_throttle_k(None);
        let retrier = seeded(config, 4);
        let (result, starts) = run_recording(&retrier, |_| {
            Err(unavailable_with_hint(Duration::from_secs(10)))
        })
        .await;
        assert_eq!(
            starts.len(),
            3,
            "attempts at 0 s, 10 s, 20 s; 30 s is past 25 s"
        );
        let Error::RetriesExhausted {
            attempts, elapsed, ..
        } = result.unwrap_err()
        else {
            panic!("expected RetriesExhausted");
        };
        assert_eq!(attempts, 3);
        assert_eq!(elapsed, Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_error_is_returned_at_once() {
        let retrier = seeded(RetryConfig::default(), 5);
        let (result, starts) = run_recording(&retrier, |_| {
            Err(Error::from(tonic::Status::not_found("gone")))
        })
        .await;
        assert_eq!(starts.len(), 1);
        assert!(matches!(result.unwrap_err(), Error::NotFound(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_error_after_retries_is_returned_as_is() {
        // A retried cancel whose first attempt landed answers FAILED_PRECONDITION: the caller
        // must see that answer itself, not a RetriesExhausted.
        let retrier = seeded(RetryConfig::default(), 6);
        let (result, starts) = run_recording(&retrier, |n| {
            if n == 1 {
                Err(unavailable())
            } else {
                Err(Error::from(tonic::Status::failed_precondition(
                    "already cancelled",
                )))
            }
        })
        .await;
        assert_eq!(starts.len(), 2);
        assert_eq!(result.unwrap_err().code(), Some(Code::FailedPrecondition));
    }

    /// Within a budget, attempts 1..=`sent_ones` go out and fail UNAVAILABLE; the next one is
    /// held (a rate limit) until under `MIN_ATTEMPT_TIME` of the budget is left and never sent.
    async fn last_attempt_unsent(sent_ones: u32) -> Error {
        let retrier = seeded(RetryConfig::default().with_throttle_k(None), 12);
        let budget = Instant::now() + Duration::from_secs(30);
        let sent = AtomicU32::new(0);
        retrier
            .run(Some(budget), &sent, |n| {
                let sent = &sent;
                async move {
                    if n <= sent_ones {
                        sent.fetch_add(1, Ordering::Relaxed);
                        return Err::<(), _>(unavailable());
                    }
                    tokio::time::sleep_until(budget - MIN_ATTEMPT_TIME / 2).await;
                    Err(Error::from(tonic::Status::deadline_exceeded("not sent")))
                }
            })
            .await
            .unwrap_err()
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_never_sent_is_not_counted() {
        // One sent, one not: the error is the one attempt's, not "gave up after 2 attempts".
        let one = last_attempt_unsent(1).await;
        assert!(matches!(one, Error::Unavailable(_)), "{one:?}");
        let two = last_attempt_unsent(2).await;
        assert!(
            matches!(two, Error::RetriesExhausted { attempts: 2, ref last, .. }
                if matches!(**last, Error::Unavailable(_))),
            "{two:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn config_none_makes_one_attempt() {
        let retrier = seeded(RetryConfig::none(), 7);
        let (result, starts) = run_recording(&retrier, |_| Err(unavailable())).await;
        assert_eq!(starts.len(), 1);
        assert!(matches!(result.unwrap_err(), Error::Unavailable(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_keeps_total_outage_near_one_attempt_per_call() {
        let retrier = seeded(RetryConfig::default(), 8);
        let attempts = Cell::new(0u32);
        let call = || {
            retrier.run_all_sent(None, |_| {
                attempts.set(attempts.get() + 1);
                std::future::ready(Err::<(), _>(unavailable()))
            })
        };
        for _ in 0..100 {
            call().await.unwrap_err();
        }
        attempts.set(0);
        let calls = 1_000;
        for _ in 0..calls {
            call().await.unwrap_err();
        }
        let attempts = f64::from(attempts.get());
        assert!(
            attempts >= f64::from(calls),
            "first attempts are never throttled"
        );
        assert!(
            attempts < 1.2 * f64::from(calls),
            "{attempts} attempts for {calls} calls"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_lets_retries_through_thirty_percent_errors() {
        let retrier = seeded(RetryConfig::default(), 9);
        let faults = std::cell::RefCell::new(StdRng::seed_from_u64(10));
        let calls = 1_000;
        let mut succeeded = 0;
        for _ in 0..calls {
            let result = retrier
                .run_all_sent(None, |_| {
                    let fail = faults.borrow_mut().random_bool(0.3);
                    std::future::ready(if fail { Err(unavailable()) } else { Ok(()) })
                })
                .await;
            succeeded += u32::from(result.is_ok());
        }
        assert!(
            succeeded * 100 >= calls * 99,
            "{succeeded} of {calls} calls succeeded"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_replaces_the_attempt_count_and_bounds_the_time() {
        let retrier = seeded(RetryConfig::default().with_throttle_k(None), 11);
        let deadline = Instant::now() + Duration::from_secs(600);
        let (result, starts) = run_recording_within(&retrier, deadline, |n| {
            if n <= 20 { Err(unavailable()) } else { Ok(n) }
        })
        .await;
        assert_eq!(result.unwrap(), 21, "more than max_attempts (5)");
        assert!(starts.iter().all(|&start| start <= deadline));
        // A call that never succeeds ends by its deadline.
        let deadline = Instant::now() + Duration::from_secs(20);
        let (result, starts) =
            run_recording_within(&retrier, deadline, |_| Err(unavailable())).await;
        assert!(
            matches!(result, Err(Error::RetriesExhausted { .. })),
            "{result:?}"
        );
        assert!(
            starts.len() > 5 && Instant::now() <= deadline,
            "{}",
            starts.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_budgeted_call_still_goes_through_the_throttle() {
        let retrier = seeded(RetryConfig::default(), 12);
        // A total outage the throttle has seen.
        for _ in 0..100 {
            run_recording(&retrier, |_| Err(unavailable()))
                .await
                .0
                .unwrap_err();
        }
        // Within the throttle's window, so that the outage is still in view.
        let budget = Duration::from_secs(50);
        let (result, throttled) =
            run_recording_within(&retrier, Instant::now() + budget, |_| Err(unavailable())).await;
        result.unwrap_err();
        let free = seeded(RetryConfig::default().with_throttle_k(None), 12);
        let (_, unthrottled) =
            run_recording_within(&free, Instant::now() + budget, |_| Err(unavailable())).await;
        assert!(
            throttled.len() <= 3 && unthrottled.len() >= 8,
            "{} attempts throttled, {} not",
            throttled.len(),
            unthrottled.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_window_expires() {
        let throttle = AdaptiveThrottle::new(2.0);
        for _ in 0..AdaptiveThrottle::MIN_REQUESTS - 1 {
            throttle.record(false);
        }
        assert_eq!(
            throttle.reject_probability(),
            0.0,
            "too little evidence yet"
        );
        throttle.record(false);
        assert!((throttle.reject_probability() - 10.0 / 11.0).abs() < 1e-9);
        assert!(!throttle.allows_retry(0.5));
        tokio::time::advance(Duration::from_secs(30)).await;
        for _ in 0..2 {
            throttle.record(true);
        }
        // 12 requests, 2 accepts: (12 - 4) / 13.
        assert!((throttle.reject_probability() - 8.0 / 13.0).abs() < 1e-9);
        tokio::time::advance(Duration::from_secs(31)).await;
        // The failures are older than the window now; only the 2 accepts remain.
        assert_eq!(throttle.reject_probability(), 0.0);
        tokio::time::advance(AdaptiveThrottle::WINDOW).await;
        assert_eq!(throttle.reject_probability(), 0.0);
        assert!(throttle.allows_retry(0.0));
    }

    #[tokio::test(start_paused = true)]
    async fn each_route_has_its_own_throttle_and_their_number_is_bounded() {
        let retrier = Retrier::new(RetryConfig::default()).with_rng(StdRng::seed_from_u64(13));
        let (dead, healthy) = (retrier.for_route("a"), retrier.for_route("b"));
        for _ in 0..100 {
            run_recording(&dead, |_| Err(unavailable()))
                .await
                .0
                .unwrap_err();
        }
        let again = retrier.for_route("a");
        let throttle = |r: &RouteRetrier| Arc::clone(r.throttle.as_ref().unwrap());
        assert!(Arc::ptr_eq(&throttle(&dead), &throttle(&again)));
        assert!(throttle(&again).reject_probability() > 0.9);
        // The healthy route's retries are untouched by the other's outage.
        assert_eq!(throttle(&healthy).reject_probability(), 0.0);
        let (result, starts) =
            run_recording(&healthy, |n| if n < 3 { Err(unavailable()) } else { Ok(n) }).await;
        assert_eq!((result.unwrap(), starts.len()), (3, 3));

        // Past the bound, new routes share one throttle.
        let routes: Vec<_> = (0..MAX_ROUTE_THROTTLES + 2)
            .map(|n| throttle(&retrier.for_route(&format!("r{n}"))))
            .collect();
        let distinct = routes
            .iter()
            .enumerate()
            .filter(|(i, t)| routes[..*i].iter().all(|u| !Arc::ptr_eq(t, u)))
            .count();
        // "a", "b" and 254 of the new ones have their own; the rest share the overflow.
        assert_eq!(distinct, MAX_ROUTE_THROTTLES - 2 + 1);
        assert!(Arc::ptr_eq(
            &routes[MAX_ROUTE_THROTTLES],
            &routes[MAX_ROUTE_THROTTLES + 1]
        ));
    }

    #[test]
    fn validate_rejects_nonsense() {
        assert!(RetryConfig::default().validate().is_ok());
        assert!(RetryConfig::none().validate().is_ok());
        for bad in [
            RetryConfig::default().with_max_attempts(0),
            RetryConfig::default().with_throttle_k(Some(0.5)),
            RetryConfig::default().with_backoff(BackoffConfig {
                initial: Duration::from_secs(20),
                ..BackoffConfig::default()
            }),
        ] {
            let err = bad.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }) && err.is_bad_input());
        }
    }
}
