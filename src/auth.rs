//! Where access tokens come from, and the cache that keeps one ready before any call needs it.
//!
//! A [`Credentials`] value names the source (Application Default Credentials, a static token, any
//! [`TokenSource`], or none). The client turns it into a token cache: a background task owns
//! every fetch and publishes the current token on a `watch` channel, refreshing at 80% of the
//! token's lifetime (and no later than five minutes before expiry), so a call reads a ready header
//! instead of awaiting a fetch, and concurrent calls never stampede the token endpoint. Tokens never
//! appear in `Debug`, `Display`, logs or errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use crate::endpoint::is_loopback_host;
use crate::error::{BoxError, Error};

/// The OAuth scope every Vertex AI call needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long before expiry a token is refreshed at the latest.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// First and largest pause between failed fetches; the still-valid token stays in use meanwhile.
const FETCH_RETRY_INITIAL: Duration = Duration::from_millis(500);
const FETCH_RETRY_MAX: Duration = Duration::from_secs(30);
/// Lifetime assumed for a token whose source does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// Longest lifetime believed: a larger `expires_in` is refreshed as if it were this.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A token this close to expiry (at most a quarter of its lifetime) is treated as expired: a
/// request must arrive before it lapses.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// How long one fetch may take before it counts as failed (a blackholed metadata server).
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// An access token and how long it stays valid. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct AccessToken {
    secret: String,
    expires_in: Option<Duration>,
}

impl AccessToken {
    /// A token valid for `expires_in` from now (`None`: assume one hour, as Google's tokens do).
    pub fn new(secret: impl Into<String>, expires_in: Option<Duration>) -> Self {
        Self {
            secret: secret.into(),
            expires_in,
        }
    }

    /// The secret itself; handle with care.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Any source of access tokens (workload identity federation, a vault, a sidecar ...).
///
/// Only the cache's background task calls [`fetch`](TokenSource::fetch), so an implementation
/// needs no caching of its own.
///
/// # Example: workload identity federation
/// gcp_auth has no external-account support; any crate (or your own STS exchange) can supply
/// tokens this way:
/// ```
/// use std::time::Duration;
/// use futures::future::BoxFuture;
/// use vertex_cancel::{AccessToken, Credentials, TokenSource};
///
/// struct Federated; // e.g. holds an STS client and your workload's OIDC token file path
///
/// impl TokenSource for Federated {
///     fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, vertex_cancel::error::BoxError>> {
///         Box::pin(async {
///             // Exchange the workload's OIDC token at sts.googleapis.com, then (optionally)
///             // impersonate a service account; return the access token and its lifetime.
///             Ok(AccessToken::new("ya29.federated", Some(Duration::from_secs(3600))))
///         })
///     }
/// }
///
/// let credentials = Credentials::from_provider(Federated);
/// # let _ = credentials;
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// Fetches a fresh token.
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>>;
}

/// Which credentials a client sends.
#[derive(Clone)]
pub struct Credentials {
    kind: CredentialsKind,
    /// The `quota_project_id` of an `authorized_user` file given explicitly.
    file_quota_project: Option<String>,
}

#[derive(Clone)]
enum CredentialsKind {
    ApplicationDefault,
    Static(AccessToken),
    Source(Arc<dyn TokenSource>),
    None,
}

impl Credentials {
    /// Application Default Credentials: `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
    /// `application_default_credentials.json`, the metadata server, then `gcloud` itself.
    pub fn application_default() -> Self {
        Self {
            kind: CredentialsKind::ApplicationDefault,
            file_quota_project: None,
        }
    }

    /// A fixed bearer token (for example from `gcloud auth print-access-token`); never refreshed.
    pub fn static_token(token: impl Into<String>) -> Self {
        Self {
            kind: CredentialsKind::Static(AccessToken::new(token, None)),
            file_quota_project: None,
        }
    }

    /// No `authorization` header at all: only allowed to loopback endpoints (tests, the fake).
    pub fn none() -> Self {
        Self {
            kind: CredentialsKind::None,
            file_quota_project: None,
        }
    }

    /// Tokens from any [`TokenSource`], cached and refreshed by this crate.
    pub fn from_provider(source: impl TokenSource) -> Self {
        Self {
            kind: CredentialsKind::Source(Arc::new(source)),
            file_quota_project: None,
        }
    }

    /// A service-account key given as JSON text (its `token_uri` is used as written).
    ///
    /// # Errors
    /// [`Error::Auth`] when the JSON is not a service-account key.
    pub fn service_account_json(json: &str) -> Result<Self, Error> {
        let account = gcp_auth::CustomServiceAccount::from_json(json).map_err(auth_error)?;
        Ok(Self::from_provider(GcpAuthSource(Arc::new(account))))
    }

    /// A service-account key file, or an `authorized_user` file as written by
    /// `gcloud auth application-default login`.
    ///
    /// # Errors
    /// [`Error::Auth`] when the file cannot be read or is of neither kind.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Auth {
            source: format!("cannot read credentials file {}: {e}", path.display()).into(),
        })?;
        Self::from_json_file_text(&text)
    }

    fn from_json_file_text(text: &str) -> Result<Self, Error> {
        match credential_type(text)?.as_str() {
            "service_account" => Self::service_account_json(text),
            "authorized_user" => Ok(Self {
                file_quota_project: quota_project_id(text),
                ..Self::from_provider(AuthorizedUser::from_json(text)?)
            }),
            other => Err(Error::Auth {
                source: format!(
                    "credentials of type `{other}` are not supported; use a service-account key, \
                     an authorized_user file, or Credentials::from_provider"
                )
                .into(),
            }),
        }
    }

    /// The quota project these credentials name: `quota_project_id` of the `authorized_user`
    /// file used (given, named by `GOOGLE_APPLICATION_CREDENTIALS`, or gcloud's default ADC
    /// file), as Google's client libraries read it.
    pub(crate) fn quota_project(&self) -> Option<String> {
        match &self.kind {
            CredentialsKind::ApplicationDefault => {
                adc_file_text().and_then(|t| quota_project_id(&t))
            }
            _ => self.file_quota_project.clone(),
        }
    }

    /// Whether no token is sent.
    pub fn is_none(&self) -> bool {
        matches!(self.kind, CredentialsKind::None)
    }

    /// Starts the token cache for these credentials (spawns the refresh task when needed).
    pub(crate) async fn into_cache(self) -> Result<TokenCache, Error> {
        let source: Arc<dyn TokenSource> = match self.kind {
            CredentialsKind::None => return Ok(TokenCache::None),
            CredentialsKind::Static(token) => {
                return Ok(TokenCache::Static(bearer_header(&token.secret)?));
            }
            CredentialsKind::Source(source) => source,
            CredentialsKind::ApplicationDefault => application_default_source().await?,
        };
        Ok(TokenCache::refreshing(source))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            CredentialsKind::ApplicationDefault => "ApplicationDefault",
            CredentialsKind::Static(_) => "StaticToken([redacted])",
            CredentialsKind::Source(_) => "TokenSource",
            CredentialsKind::None => "None",
        };
        f.debug_tuple("Credentials")
            .field(&format_args!("{kind}"))
            .finish()
    }
}

fn auth_error(e: impl Into<BoxError>) -> Error {
    Error::Auth { source: e.into() }
}

fn credential_type(text: &str) -> Result<String, Error> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_str::<Typed>(text)
        .map(|t| t.kind)
        .map_err(|e| {
            auth_error(format!(
                "credentials file is not valid JSON with a `type`: {e}"
            ))
        })
}

/// ADC, with one repair: gcp_auth 0.12 reads `GOOGLE_APPLICATION_CREDENTIALS` as a service-account
/// key only, so the most common file (gcloud's `authorized_user`) named there would fail with
/// "missing field private_key". Such a file is read here instead.
async fn application_default_source() -> Result<Arc<dyn TokenSource>, Error> {
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        let path = PathBuf::from(path);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            auth_error(format!(
                "GOOGLE_APPLICATION_CREDENTIALS names {}, which cannot be read: {e}",
                path.display()
            ))
        })?;
        if credential_type(&text)? == "authorized_user" {
            return Ok(Arc::new(AuthorizedUser::from_json(&text)?));
        }
    }
    let provider = gcp_auth::provider().await.map_err(auth_error)?;
    Ok(Arc::new(GcpAuthSource(provider)))
}

/// The ADC file: named by `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's default location.
fn adc_file_text() -> Option<String> {
    let path = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
        })?;
    std::fs::read_to_string(path).ok()
}

/// An `authorized_user` file's `quota_project_id`, if it has one.
fn quota_project_id(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Quota {
        #[serde(rename = "type")]
        kind: String,
        quota_project_id: Option<String>,
    }
    let file: Quota = serde_json::from_str(text).ok()?;
    (file.kind == "authorized_user")
        .then_some(file.quota_project_id)
        .flatten()
        .filter(|p| !p.is_empty())
}

/// Adapts any gcp_auth provider (service account, metadata server, gcloud) to [`TokenSource`].
struct GcpAuthSource(Arc<dyn gcp_auth::TokenProvider>);

impl TokenSource for GcpAuthSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
        Box::pin(async move {
            let token = self.0.token(&[CLOUD_PLATFORM_SCOPE]).await?;
            let expires_in = (token.expires_at() - chrono_now()).to_std().ok();
            Ok(AccessToken::new(token.as_str(), expires_in))
        })
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// The OAuth refresh-token exchange for gcloud's `authorized_user` credentials.
struct AuthorizedUser {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    token_uri: http::Uri,
    http: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Full<bytes::Bytes>,
    >,
}

const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

impl AuthorizedUser {
    fn from_json(text: &str) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct File {
            client_id: String,
            client_secret: String,
            refresh_token: String,
            token_uri: Option<String>,
        }
        let file: File = serde_json::from_str(text)
            .map_err(|e| auth_error(format!("authorized_user credentials: {e}")))?;
        let uri = file.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
        let token_uri: http::Uri = uri
            .parse()
            .map_err(|e| auth_error(format!("authorized_user token_uri: {e}")))?;
        check_token_uri(&token_uri)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self {
            client_id: file.client_id,
            client_secret: file.client_secret,
            refresh_token: file.refresh_token,
            token_uri,
            http,
        })
    }

    async fn exchange(&self) -> Result<AccessToken, BoxError> {
        use http_body_util::BodyExt;
        #[derive(serde::Deserialize)]
        struct Reply {
            access_token: String,
            expires_in: Option<u64>,
        }
        let body = serde_json::json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "grant_type": "refresh_token",
        });
        let request = http::Request::post(self.token_uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )))?;
        let response = self.http.request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(format!("token endpoint answered HTTP {status}").into());
        }
        let reply: Reply = serde_json::from_slice(&bytes)?;
        Ok(AccessToken::new(
            reply.access_token,
            reply.expires_in.map(Duration::from_secs),
        ))
    }
}

impl TokenSource for AuthorizedUser {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
        Box::pin(self.exchange())
    }
}

/// A refresh token is as sensitive as an access token: plaintext only to loopback.
fn check_token_uri(uri: &http::Uri) -> Result<(), Error> {
    let loopback = is_loopback_host(uri.host().unwrap_or_default());
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(Error::InsecureEndpoint {
            endpoint: uri.to_string(),
            reason: "a refresh token is only sent over https, or plaintext to loopback".into(),
        }),
    }
}

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
    /// The last fetch failed with this (the token, if any, may still be valid).
    error: Option<Arc<BoxError>>,
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
            Self::Refreshing { rx, .. } => rx
                .borrow()
                .token
                .as_ref()
                .filter(|t| t.is_valid())
                .map(|t| Some(t.header.clone()))
                .ok_or_else(|| auth_error("no valid access token yet; one is being fetched")),
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

async fn wait_for_token(mut rx: watch::Receiver<Published>) -> Result<AsciiMetadataValue, Error> {
    loop {
        {
            let published = rx.borrow_and_update();
            if let Some(token) = published.token.as_ref().filter(|t| t.is_valid()) {
                return Ok(token.header.clone());
            }
            if let Some(error) = &published.error {
                return Err(Error::Auth {
                    source: Box::new(SharedError(error.clone())),
                });
            }
        }
        if rx.changed().await.is_err() {
            return Err(auth_error("the token refresh task has stopped"));
        }
    }
}

/// Owns every fetch: one at a time, however many calls are waiting.
async fn refresh_loop(source: Arc<dyn TokenSource>, tx: watch::Sender<Published>) {
    let mut retry_delay = FETCH_RETRY_INITIAL;
    loop {
        let fetched = match tokio::time::timeout(FETCH_TIMEOUT, source.fetch()).await {
            Ok(result) => result,
            Err(_) => {
                Err(format!("the token source did not answer within {FETCH_TIMEOUT:?}").into())
            }
        };
        let next = match fetched.map_err(Arc::new).and_then(|token| {
            let lifetime = token
                .expires_in
                .unwrap_or(DEFAULT_LIFETIME)
                .min(MAX_LIFETIME);
            bearer_header(&token.secret)
                .map(|header| (header, lifetime))
                .map_err(|e| Arc::new(Box::new(e) as BoxError))
        }) {
            Ok((header, lifetime)) => {
                retry_delay = FETCH_RETRY_INITIAL;
                tx.send_replace(Published {
                    token: Some(CachedToken {
                        header,
                        usable_until: Instant::now() + lifetime - EXPIRY_MARGIN.min(lifetime / 4),
                    }),
                    error: None,
                });
                tracing::debug!(lifetime_s = lifetime.as_secs(), "access token refreshed");
                refresh_after(lifetime)
            }
            Err(error) => {
                tracing::warn!(error = %error, "access token fetch failed; retrying");
                tx.send_modify(|p| p.error = Some(error));
                let delay = retry_delay;
                retry_delay = (retry_delay * 2).min(FETCH_RETRY_MAX);
                delay
            }
        };
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(next) => {}
        }
    }
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

/// The longest access token accepted, in bytes: Google documents up to 2048, and a header far
/// beyond that is refused by its front end anyway (after the token went out).
pub const MAX_TOKEN_LEN: usize = 8192;

/// The `authorization` value for `secret`. A token is one word of printable ASCII, at most
/// [`MAX_TOKEN_LEN`] bytes: anything else (empty, a pasted second line, a binary file read by
/// mistake) is refused before a call, and the reason never repeats the token.
fn bearer_header(secret: &str) -> Result<AsciiMetadataValue, Error> {
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

/// Lets many calls report the same fetch failure as their `source`.
#[derive(Debug)]
struct SharedError(Arc<BoxError>);

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        fetches: Arc<AtomicUsize>,
        lifetime: Duration,
        fail: bool,
    }

    impl TokenSource for Counting {
        fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
            Box::pin(async move {
                let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
                if self.fail {
                    return Err("token endpoint down".into());
                }
                Ok(AccessToken::new(format!("tok-{n}"), Some(self.lifetime)))
            })
        }
    }

    fn counting(lifetime: Duration, fail: bool) -> (Arc<AtomicUsize>, TokenCache) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let source = Counting {
            fetches: fetches.clone(),
            lifetime,
            fail,
        };
        (fetches, TokenCache::refreshing(Arc::new(source)))
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
    async fn failing_source_is_an_auth_error_with_its_cause() {
        let (fetches, cache) = counting(Duration::from_secs(100), true);
        let err = cache.authorization().await.unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("token endpoint down"), "{source}");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
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
        let creds = Credentials::static_token("ya29.secret-value");
        assert!(!format!("{creds:?}").contains("secret-value"));
        let token = AccessToken::new("ya29.secret-value", None);
        assert!(!format!("{token:?}").contains("secret-value"));
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

    #[test]
    fn loopback_hosts_are_the_same_for_endpoints_and_token_uris() {
        for host in [
            "localhost",
            "LOCALHOST",
            "LocalHost",
            "127.0.0.1",
            "[::1]",
            "localhost.evil.com",
            "127.0.0.1.evil.com",
            "example.com",
        ] {
            let endpoint = crate::endpoint::Endpoint::parse(&format!("http://{host}:9"));
            let token_uri = check_token_uri(&format!("http://{host}:9/token").parse().unwrap());
            assert_eq!(
                endpoint.is_ok(),
                token_uri.is_ok(),
                "{host}: endpoint {endpoint:?}, token uri {token_uri:?}"
            );
        }
    }

    #[test]
    fn refresh_token_never_goes_to_plaintext_remote_hosts() {
        let remote: http::Uri = "http://oauth.example.com/token".parse().unwrap();
        assert!(matches!(
            check_token_uri(&remote),
            Err(Error::InsecureEndpoint { .. })
        ));
        for ok in [
            "https://oauth2.googleapis.com/token",
            "http://127.0.0.1:9/t",
            "http://[::1]:9/t",
        ] {
            assert!(check_token_uri(&ok.parse().unwrap()).is_ok(), "{ok}");
        }
    }
}
