//! The token cache: a background task owns every fetch and publishes the current
//! `authorization` header on a `watch` channel, so a call reads a ready header and concurrent
//! calls never stampede the token endpoint.
//!
//! A failed fetch is retried with jittered backoff while the still-valid token, if any, stays in
//! use. A call that has no valid token waits for the fetches under way, but not forever: it fails
//! with [`Error::Auth`] once [`FETCH_ATTEMPTS`] fetches in a row have failed, or after
//! [`TOKEN_WAIT`]. A [`CredentialsRejected`] ends the fetching: the calls that have no valid
//! token fail at once with it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use crate::error::{BoxError, Error, SharedError};
use crate::retry::{Backoff, BackoffConfig};

use super::MAX_TOKEN_LEN;
use super::credentials::{CredentialsRejected, TokenSource, auth_error};

/// How long before expiry a token is refreshed at the latest.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The pauses between failed fetches (full jitter); the still-valid token stays in use meanwhile.
const FETCH_BACKOFF: BackoffConfig = BackoffConfig {
    initial: Duration::from_millis(500),
    max: Duration::from_secs(30),
    multiplier: 2.0,
};
/// Failed fetches in a row after which a call with no valid token gives up: a token endpoint
/// that failed for a moment is ridden out, one that is down fails calls instead of hanging them.
/// Later fetches go on in the background.
const FETCH_ATTEMPTS: u32 = 3;
/// Lifetime assumed for a token whose source does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// Longest lifetime believed: a larger `expires_in` is refreshed as if it were this.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A token this close to expiry (at most a quarter of its lifetime) is treated as expired: a
/// request must arrive before it lapses.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// How long one fetch may take before it counts as failed (a blackholed metadata server).
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a call waits for a token when none is valid, however the fetches go.
const TOKEN_WAIT: Duration = FETCH_TIMEOUT;

/// What a call sends as `authorization`, kept ready for the hot path.
#[derive(Clone)]
pub(crate) enum TokenCache {
    /// No header.
    None,
    /// A fixed header.
    Static(AsciiMetadataValue),
    /// A header refreshed by a background task, which exits once every receiver is gone (or
    /// when stopped).
    Refreshing {
        rx: watch::Receiver<Published>,
        task: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    },
}

/// What the refresh task publishes.
#[derive(Clone, Default)]
pub(crate) struct Published {
    token: Option<CachedToken>,
    /// The last fetch failed (the token, if any, may still be valid).
    failure: Option<FetchFailure>,
}

/// The last failed fetch.
#[derive(Clone)]
struct FetchFailure {
    error: SharedError,
    /// The source rejected the credentials: no fetch follows.
    permanent: bool,
    /// Failed fetches in a row, this one included.
    in_a_row: u32,
}

impl FetchFailure {
    /// Whether a call with no valid token should stop waiting and report this.
    fn ends_the_wait(&self) -> bool {
        self.permanent || self.in_a_row >= FETCH_ATTEMPTS
    }

    fn to_error(&self) -> Error {
        Error::Auth {
            source: Box::new(self.error.clone()),
        }
    }
}

#[derive(Clone)]
struct CachedToken {
    header: AsciiMetadataValue,
    /// Expiry less a margin (a quarter of the lifetime for short-lived tokens), so that a
    /// request sent with it still arrives before it lapses.
    usable_until: Instant,
}

impl CachedToken {
    fn is_valid(&self) -> bool {
        Instant::now() < self.usable_until
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::None => "None",
            Self::Static(_) => "Static([redacted])",
            Self::Refreshing { .. } => "Refreshing([redacted])",
        };
        f.write_str(kind)
    }
}

impl TokenCache {
    /// Spawns the refresh task for `source`; the first fetch starts at once.
    pub(crate) fn refreshing(source: Arc<dyn TokenSource>) -> Self {
        let (tx, rx) = watch::channel(Published::default());
        let task = tokio::spawn(refresh_loop(source, tx));
        Self::Refreshing {
            rx,
            task: Arc::new(std::sync::Mutex::new(Some(task))),
        }
    }

    /// Ends the refresh task now rather than when the last receiver goes.
    pub(crate) async fn stop(&self) {
        if let Self::Refreshing { task, .. } = self {
            let handle = task.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(handle) = handle {
                handle.abort();
                // A cancelled task's JoinError only says it was cancelled: nothing to report.
                let _ = handle.await;
            }
        }
    }

    /// The `authorization` value right now, never waiting (for synchronous interceptors).
    pub(crate) fn current(&self) -> Result<Option<AsciiMetadataValue>, Error> {
        match self {
            Self::None => Ok(None),
            Self::Static(header) => Ok(Some(header.clone())),
            Self::Refreshing { rx, .. } => {
                let published = rx.borrow();
                if let Some(token) = published.token.as_ref().filter(|t| t.is_valid()) {
                    return Ok(Some(token.header.clone()));
                }
                Err(match &published.failure {
                    Some(failure) => failure.to_error(),
                    None => auth_error("no valid access token yet; one is being fetched"),
                })
            }
        }
    }

    /// Whether calls carry a token.
    pub(crate) fn sends_token(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// The `authorization` value for the next call. Awaits only when no valid token exists yet.
    pub(crate) async fn authorization(&self) -> Result<Option<AsciiMetadataValue>, Error> {
        match self {
            Self::None => Ok(None),
            Self::Static(header) => Ok(Some(header.clone())),
            Self::Refreshing { rx, .. } => {
                if let Some(token) = rx.borrow().token.as_ref().filter(|t| t.is_valid()) {
                    return Ok(Some(token.header.clone()));
                }
                wait_for_token(rx.clone()).await.map(Some)
            }
        }
    }
}

/// Waits for a valid token, until the fetches have failed [`FETCH_ATTEMPTS`] times in a row or
/// for good, and at most [`TOKEN_WAIT`].
async fn wait_for_token(rx: watch::Receiver<Published>) -> Result<AsciiMetadataValue, Error> {
    let waited = tokio::time::timeout(TOKEN_WAIT, next_token(rx.clone())).await;
    waited.unwrap_or_else(|_| {
        Err(match &rx.borrow().failure {
            Some(failure) => failure.to_error(),
            None => auth_error(format!(
                "no access token within {TOKEN_WAIT:?}: the token source did not answer"
            )),
        })
    })
}

async fn next_token(mut rx: watch::Receiver<Published>) -> Result<AsciiMetadataValue, Error> {
    loop {
        {
            let published = rx.borrow_and_update();
            if let Some(token) = published.token.as_ref().filter(|t| t.is_valid()) {
                return Ok(token.header.clone());
            }
            if let Some(failure) = published.failure.as_ref().filter(|f| f.ends_the_wait()) {
                return Err(failure.to_error());
            }
        }
        if rx.changed().await.is_err() {
            return Err(auth_error("the token refresh task has stopped"));
        }
    }
}

/// Owns every fetch: one at a time, however many calls are waiting. Ends when every receiver
/// is gone, or when the source rejects the credentials.
async fn refresh_loop(source: Arc<dyn TokenSource>, tx: watch::Sender<Published>) {
    // Made on the first failure after a success, so each outage starts from the first delay.
    let mut backoff = None;
    let mut in_a_row = 0;
    loop {
        let next = match fetch(&*source).await {
            Ok((header, lifetime)) => {
                (backoff, in_a_row) = (None, 0);
                tx.send_replace(Published {
                    token: Some(CachedToken {
                        header,
                        usable_until: Instant::now() + lifetime - EXPIRY_MARGIN.min(lifetime / 4),
                    }),
                    failure: None,
                });
                tracing::debug!(lifetime_s = lifetime.as_secs(), "access token refreshed");
                refresh_after(lifetime)
            }
            Err(error) => {
                in_a_row += 1;
                let permanent = error.is::<CredentialsRejected>();
                let error = SharedError::new(error);
                tracing::warn!(error = %error, permanent, in_a_row, "access token fetch failed");
                tx.send_modify(|p| {
                    p.failure = Some(FetchFailure {
                        error,
                        permanent,
                        in_a_row,
                    });
                });
                if permanent {
                    return;
                }
                backoff
                    .get_or_insert_with(|| {
                        Backoff::with_rng(FETCH_BACKOFF, StdRng::from_rng(&mut rand::rng()))
                    })
                    .next_delay(None)
            }
        };
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(next) => {}
        }
    }
}

/// One fetch, within [`FETCH_TIMEOUT`]: the header and the lifetime believed.
async fn fetch(source: &dyn TokenSource) -> Result<(AsciiMetadataValue, Duration), BoxError> {
    let token = tokio::time::timeout(FETCH_TIMEOUT, source.fetch())
        .await
        .map_err(|_| format!("the token source did not answer within {FETCH_TIMEOUT:?}"))??;
    let lifetime = token
        .expires_in
        .unwrap_or(DEFAULT_LIFETIME)
        .min(MAX_LIFETIME);
    Ok((bearer_header(&token.secret)?, lifetime))
}

/// At 80% of the lifetime, and no later than [`REFRESH_MARGIN`] before expiry when the lifetime
/// allows it.
fn refresh_after(lifetime: Duration) -> Duration {
    let at_80 = lifetime.mul_f64(0.8);
    // Never earlier than half the lifetime: keeps the schedule monotonic in the lifetime and
    // stops short-lived tokens from being refetched in a tight loop.
    at_80
        .min(lifetime.saturating_sub(REFRESH_MARGIN))
        .max(lifetime / 2)
        .max(Duration::from_millis(100))
}

/// The default build has no way to read a token back out of a [`Client`](crate::Client): no
/// accessor returns the `authorization` header, `Debug` redacts it, and the bench hooks that do
/// hand it out exist only with the unstable `bench-hooks` feature (`benches/client_overhead.rs`
/// compiles the same call with it). Only code that configures a client (a tower layer, a custom
/// channel) sees requests, headers included, as any middleware does.
/// ```compile_fail
/// async fn read_back(client: &vertex_cancel::Client) {
///     let _token = vertex_cancel::__bench::Hooks::new(client).authorization().await;
/// }
/// ```
#[cfg(not(feature = "bench-hooks"))]
#[allow(dead_code)]
const NO_TOKEN_READ_BACK: () = ();

/// The `authorization` value for `secret`. A token is one word of printable ASCII, at most
/// [`MAX_TOKEN_LEN`] bytes: anything else (empty, a pasted second line, a binary file read by
/// mistake) is refused before a call, and the reason never repeats the token.
pub(super) fn bearer_header(secret: &str) -> Result<AsciiMetadataValue, Error> {
    let refused = |why: String| Error::InvalidConfig {
        reason: format!("the access token {why}"),
    };
    if secret.is_empty() {
        return Err(refused("is empty".into()));
    }
    if secret.len() > MAX_TOKEN_LEN {
        return Err(refused(format!(
            "is {} bytes long; at most {MAX_TOKEN_LEN} are accepted",
            secret.len()
        )));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refused(
            "contains whitespace, control or non-ASCII characters, which a header cannot carry"
                .into(),
        ));
    }
    let mut value: AsciiMetadataValue = MetadataValue::try_from(format!("Bearer {secret}"))
        .map_err(|_| refused("contains characters not allowed in a header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AccessToken;
    use futures::future::BoxFuture;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fetch n (from 1) answers `script(n)`; the token's secret is `tok-n`.
    struct Scripted<F> {
        fetches: Arc<AtomicUsize>,
        script: F,
    }

    /// How fetch n ends.
    enum Answer {
        Token(Duration),
        Fails,
        Rejected,
        Hangs,
    }

    impl<F: Fn(usize) -> Answer + Send + Sync + 'static> TokenSource for Scripted<F> {
        fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
            Box::pin(async move {
                let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
                match (self.script)(n) {
                    Answer::Token(lifetime) => {
                        Ok(AccessToken::new(format!("tok-{n}"), Some(lifetime)))
                    }
                    Answer::Fails => Err("token endpoint down".into()),
                    Answer::Rejected => Err(CredentialsRejected::new("invalid_grant").into()),
                    Answer::Hangs => std::future::pending().await,
                }
            })
        }
    }

    fn scripted(
        script: impl Fn(usize) -> Answer + Send + Sync + 'static,
    ) -> (Arc<AtomicUsize>, TokenCache) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let source = Scripted {
            fetches: fetches.clone(),
            script,
        };
        (fetches, TokenCache::refreshing(Arc::new(source)))
    }

    fn counting(lifetime: Duration, fail: bool) -> (Arc<AtomicUsize>, TokenCache) {
        scripted(move |_| {
            if fail {
                Answer::Fails
            } else {
                Answer::Token(lifetime)
            }
        })
    }

    fn header_text(value: &AsciiMetadataValue) -> String {
        value.to_str().unwrap().to_owned()
    }

    #[test]
    fn refresh_point_is_80_percent_and_5_minutes_before_expiry() {
        let at = |secs| refresh_after(Duration::from_secs(secs)).as_secs_f64();
        assert_eq!(at(3600), 2880.0); // 80%
        assert_eq!(at(1200), 900.0); // 5 minutes before expiry
        assert_eq!(at(10), 5.0); // short-lived: half way
        let mut last = 0.0;
        for secs in (1..7200).step_by(7) {
            assert!(at(secs) >= last, "refresh point goes back at {secs} s");
            assert!(at(secs) < secs as f64);
            last = at(secs);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_calls_share_one_fetch_per_refresh() {
        let (fetches, cache) = counting(Duration::from_secs(3600), false);
        let calls = (0..200).map(|_| cache.authorization());
        let headers = futures::future::join_all(calls).await;
        assert!(
            headers
                .iter()
                .all(|h| header_text(h.as_ref().unwrap().as_ref().unwrap()) == "Bearer tok-1")
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // Just before the refresh point (80%: 2,880 s) the old token is served without a fetch.
        tokio::time::sleep(Duration::from_secs(2879)).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        let header = cache.authorization().await.unwrap().unwrap();
        assert_eq!(header_text(&header), "Bearer tok-2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_with_a_valid_token_never_waits_for_a_fetch() {
        let (_, cache) = counting(Duration::from_secs(3600), false);
        cache.authorization().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2880)).await;
        // The answer is ready synchronously: polling once must complete.
        let ready = futures::FutureExt::now_or_never(cache.authorization());
        assert!(matches!(ready, Some(Ok(Some(_)))));
    }

    #[tokio::test(start_paused = true)]
    async fn failing_source_is_an_auth_error_with_its_cause_after_a_few_fetches() {
        let (fetches, cache) = counting(Duration::from_secs(100), true);
        let started = Instant::now();
        let err = cache.authorization().await.unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("token endpoint down"), "{source}");
        assert_eq!(fetches.load(Ordering::SeqCst), FETCH_ATTEMPTS as usize);
        // Two jittered pauses, each within its bound.
        assert!(started.elapsed() <= Duration::from_millis(500 + 1_000));
        // The outage is known now: the next call fails at once instead of waiting again.
        let again = futures::FutureExt::now_or_never(cache.authorization());
        assert!(matches!(again, Some(Err(Error::Auth { .. }))), "{again:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_that_fails_for_a_moment_is_retried_and_the_waiting_call_served() {
        let (fetches, cache) = scripted(|n| {
            if n < FETCH_ATTEMPTS as usize {
                Answer::Fails
            } else {
                Answer::Token(Duration::from_secs(3600))
            }
        });
        let header = cache.authorization().await.unwrap().unwrap();
        assert_eq!(header_text(&header), format!("Bearer tok-{FETCH_ATTEMPTS}"));
        assert_eq!(fetches.load(Ordering::SeqCst), FETCH_ATTEMPTS as usize);
    }

    #[tokio::test(start_paused = true)]
    async fn a_still_valid_token_is_served_while_its_refreshes_fail() {
        // 100 s tokens: refreshed from 50 s, usable until 90 s.
        let (fetches, cache) = scripted(|n| {
            if n == 1 {
                Answer::Token(Duration::from_secs(100))
            } else {
                Answer::Fails
            }
        });
        cache.authorization().await.unwrap();
        tokio::time::sleep(Duration::from_secs(89)).await;
        assert!(fetches.load(Ordering::SeqCst) > 1 + FETCH_ATTEMPTS as usize);
        let ready = futures::FutureExt::now_or_never(cache.authorization());
        let header = ready.unwrap().unwrap().unwrap();
        assert_eq!(header_text(&header), "Bearer tok-1");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let expired = futures::FutureExt::now_or_never(cache.authorization());
        assert!(
            matches!(expired, Some(Err(Error::Auth { .. }))),
            "{expired:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_credentials_end_the_fetching_and_fail_calls_at_once() {
        let (fetches, cache) = scripted(|_| Answer::Rejected);
        let err = cache.authorization().await.unwrap_err();
        let rejected = std::error::Error::source(&err).unwrap();
        assert!(rejected.to_string().contains("rejected"), "{rejected}");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "no fetch after a rejection"
        );
        let again = futures::FutureExt::now_or_never(cache.authorization());
        assert!(matches!(again, Some(Err(Error::Auth { .. }))), "{again:?}");
        assert!(matches!(cache.current(), Err(Error::Auth { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_waits_for_a_token_at_most_token_wait() {
        let (_, cache) = scripted(|_| Answer::Hangs);
        let started = Instant::now();
        let err = cache.authorization().await.unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        assert_eq!(started.elapsed(), TOKEN_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_task_stops_when_the_cache_is_dropped() {
        let (fetches, cache) = counting(Duration::from_secs(10), false);
        cache.authorization().await.unwrap();
        drop(cache);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn debug_never_shows_a_token() {
        let cache = TokenCache::Static(bearer_header("ya29.secret-value").unwrap());
        assert!(!format!("{cache:?}").contains("secret-value"));
    }

    #[test]
    fn malformed_tokens_are_refused_without_being_echoed() {
        let huge = "t".repeat(MAX_TOKEN_LEN + 1);
        for token in [
            "secret\ndef",
            "",
            "secret with spaces",
            "secret\0",
            "secr\u{e9}t",
            huge.as_str(),
        ] {
            let err = bearer_header(token).unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains("secret") && !shown.contains("ttt"),
                "{shown}"
            );
        }
        assert!(bearer_header(&"t".repeat(MAX_TOKEN_LEN)).is_ok());
    }
}
