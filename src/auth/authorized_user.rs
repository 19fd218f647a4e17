//! The OAuth refresh-token exchange for gcloud's `authorized_user` credentials, which gcp_auth
//! 0.12 cannot read from a file named by `GOOGLE_APPLICATION_CREDENTIALS`.

use futures::future::BoxFuture;

use crate::error::{BoxError, Error};

use super::credentials::{AccessToken, TokenSource, auth_error};
use super::oauth::TokenEndpoint;

/// The OAuth refresh-token exchange for gcloud's `authorized_user` credentials.
pub(super) struct AuthorizedUser {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    endpoint: TokenEndpoint,
}

const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

impl AuthorizedUser {
    pub(super) fn from_json(text: &str) -> Result<Self, Error> {
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
        Ok(Self {
            client_id: file.client_id,
            client_secret: file.client_secret,
            refresh_token: file.refresh_token,
            endpoint: TokenEndpoint::new(uri, "authorized_user token_uri")?,
        })
    }

    async fn exchange(&self) -> Result<AccessToken, BoxError> {
        let body = serde_json::json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "grant_type": "refresh_token",
        });
        self.endpoint
            .exchange("application/json", body.to_string())
            .await
    }
}

impl TokenSource for AuthorizedUser {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
        Box::pin(self.exchange())
    }
}
