//! Thin, hidden entry points into the per-call pieces of `Client::call`, so that the
//! benchmarks in `benches/` can time each alone. Not part of the public API: no stability, and
//! only built with the unstable `bench-hooks` feature, since [`Hooks::authorization`] hands out
//! the client's token.

use tonic::metadata::{AsciiMetadataValue, MetadataMap};

use crate::error::Result;

use super::handle::Client;

/// One client's hot-path pieces.
#[derive(Debug, Clone)]
pub struct Hooks(Client);

impl Hooks {
    /// The pieces of `client`.
    pub fn new(client: &Client) -> Self {
        Self(client.clone())
    }

    /// The token read every attempt makes (`TokenCache::authorization`).
    ///
    /// # Errors
    /// As the token cache: [`crate::Error::Auth`] when no token can be had.
    pub async fn authorization(&self) -> Result<Option<AsciiMetadataValue>> {
        self.0.inner.headers.tokens.authorization().await
    }

    /// The fixed headers every call carries (`CallHeaders::apply`).
    pub fn apply_headers(&self, headers: &mut MetadataMap, token: Option<AsciiMetadataValue>) {
        self.0.inner.headers.apply(headers, token);
    }

    /// A whole request as an attempt builds it: token, timeout, headers, routing header.
    ///
    /// # Errors
    /// As [`authorization`](Self::authorization).
    pub async fn request<Req>(
        &self,
        message: Req,
        routing: &AsciiMetadataValue,
    ) -> Result<tonic::Request<Req>> {
        self.0.request(message, routing.clone()).await
    }
}
