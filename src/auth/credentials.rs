//! The credential sources a caller names ([`Credentials`]), the [`TokenSource`] trait any
//! other source implements, and the [`AccessToken`] they all produce.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::{BoxError, Error};

use super::adc::{adc_file_text, application_default_source};
use super::authorized_user::AuthorizedUser;
use super::service_account::ServiceAccount;
use super::token_cache::{TokenCache, bearer_header};

/// An access token and how long it stays valid. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct AccessToken {
    pub(super) secret: String,
    pub(super) expires_in: Option<Duration>,
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
/// needs no caching or retrying of its own: a failed fetch is retried with backoff (a call with
/// no valid token waits through a few), unless the error is a [`CredentialsRejected`], which
/// ends the fetching and fails every call that has no still-valid token at once.
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

/// A token fetch refused for good: a revoked or deleted key, an `invalid_grant`, an unknown
/// client. A [`TokenSource`] returns it (boxed) so that the token cache stops asking; any other
/// error counts as a failure of the moment and is retried.
///
/// Troubleshooting: the cause names the token endpoint's answer; create a new key or run
/// `gcloud auth application-default login` again.
#[derive(Debug, thiserror::Error)]
#[error("the credentials were rejected; retrying cannot help")]
pub struct CredentialsRejected {
    #[source]
    cause: BoxError,
}

impl CredentialsRejected {
    /// Marks `cause` as a refusal that retrying cannot mend.
    pub fn new(cause: impl Into<BoxError>) -> Self {
        Self {
            cause: cause.into(),
        }
    }
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
    /// [`Error::Auth`] when the JSON is not a service-account key;
    /// [`Error::InsecureEndpoint`] when its `token_uri` is plaintext to a host not loopback.
    pub fn service_account_json(json: &str) -> Result<Self, Error> {
        Ok(Self::from_provider(ServiceAccount::from_json(json)?))
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

pub(super) fn auth_error(e: impl Into<BoxError>) -> Error {
    Error::Auth { source: e.into() }
}

pub(super) fn credential_type(text: &str) -> Result<String, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_token() {
        let creds = Credentials::static_token("ya29.secret-value");
        assert!(!format!("{creds:?}").contains("secret-value"));
        let token = AccessToken::new("ya29.secret-value", None);
        assert!(!format!("{token:?}").contains("secret-value"));
    }
}
