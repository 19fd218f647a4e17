//! Where access tokens come from, and the cache that keeps one ready before any call needs it.
//!
//! A [`Credentials`] value names the source (Application Default Credentials, a static token, any
//! [`TokenSource`], or none). The client turns it into a token cache: a background task owns
//! every fetch and publishes the current token on a `watch` channel, refreshing at 80% of the
//! token's lifetime (and no later than five minutes before expiry), so a call reads a ready header
//! instead of awaiting a fetch, and concurrent calls never stampede the token endpoint. Tokens never
//! appear in `Debug`, `Display`, logs or errors.
//!
//! A failed fetch is retried with backoff while a still-valid token stays in use; a call that
//! has no valid token waits through at most three failed fetches (and at most 30 s). A refusal
//! that retrying cannot mend ([`CredentialsRejected`]: `invalid_grant`, a revoked key, HTTP 400
//! or 401 from the token endpoint) ends the fetching and fails such calls at once.
//!
//! One file per concern: `credentials` (the sources a caller names), `adc` (Application Default
//! Credentials through gcp_auth), `oauth` (the token endpoint exchange and what counts as a
//! refusal), `service_account` (the signed-JWT exchange of a key), `authorized_user` (gcloud's
//! refresh-token exchange) and `token_cache` (the background refresh and the header every call
//! reads).

mod adc;
mod authorized_user;
mod credentials;
mod oauth;
mod service_account;
mod token_cache;

pub use credentials::{AccessToken, Credentials, CredentialsRejected, TokenSource};
pub(crate) use token_cache::TokenCache;

/// The OAuth scope every Vertex AI call needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The longest access token accepted, in bytes: Google documents up to 2048, and a header far
/// beyond that is refused by its front end anyway (after the token went out).
pub const MAX_TOKEN_LEN: usize = 8192;
