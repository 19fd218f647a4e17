//! The OAuth refresh-token exchange for gcloud's `authorized_user` credentials, which gcp_auth
//! 0.12 cannot read from a file named by `GOOGLE_APPLICATION_CREDENTIALS`.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::endpoint::is_loopback_host;
use crate::error::{BoxError, Error};

use super::credentials::{AccessToken, TokenSource, auth_error};

/// The OAuth refresh-token exchange for gcloud's `authorized_user` credentials.
pub(super) struct AuthorizedUser {
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

#[cfg(test)]
mod tests {
    use super::*;

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
