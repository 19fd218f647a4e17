//! The OAuth 2.0 token endpoint exchange (RFC 6749 section 5) shared by the sources that post
//! to one themselves (a service-account key, gcloud's `authorized_user` file), and the line
//! between a refusal that retrying cannot mend and a failure of the moment.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::endpoint::is_loopback_host;
use crate::error::{BoxError, Error};
use crate::escape::for_terminal;

use super::credentials::{AccessToken, CredentialsRejected, auth_error};

/// The most of a token endpoint's answer that is read (a token reply is well under 4 KiB).
const MAX_REPLY_BYTES: usize = 64 * 1024;
/// How much of the endpoint's `error_description` an error repeats.
const SHOWN_DESCRIPTION_CHARS: usize = 200;

type HttpClient = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A token endpoint (`token_uri`) and the HTTP client that posts to it.
pub(super) struct TokenEndpoint {
    uri: http::Uri,
    http: HttpClient,
}

impl TokenEndpoint {
    /// The endpoint at `uri`, named `what` in errors.
    ///
    /// # Errors
    /// [`Error::Auth`] for a URI that does not parse; [`Error::InsecureEndpoint`] for plaintext
    /// to a host that is not loopback.
    pub(super) fn new(uri: &str, what: &str) -> Result<Self, Error> {
        let uri: http::Uri = uri
            .parse()
            .map_err(|e| auth_error(format!("{what}: {e}")))?;
        check_token_uri(&uri)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self { uri, http })
    }

    /// The URI as written, which a signed assertion names as its audience.
    pub(super) fn uri(&self) -> &http::Uri {
        &self.uri
    }

    /// Posts `body` and reads the access token from the answer.
    ///
    /// # Errors
    /// [`CredentialsRejected`] when the endpoint refused the grant (any 4xx but 408 and 429:
    /// `invalid_grant`, `invalid_client` ...); any other error (no connection, 5xx, 408, 429, a
    /// garbled answer) is one of the moment.
    pub(super) async fn exchange(
        &self,
        content_type: &'static str,
        body: String,
    ) -> Result<AccessToken, BoxError> {
        #[derive(serde::Deserialize)]
        struct Reply {
            access_token: String,
            expires_in: Option<u64>,
        }
        let request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))?;
        let response = self.http.request(request).await?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await?
            .to_bytes();
        if status.is_success() {
            let reply: Reply = serde_json::from_slice(&bytes)?;
            return Ok(AccessToken::new(
                reply.access_token,
                reply.expires_in.map(Duration::from_secs),
            ));
        }
        let refusal = refusal(status, &bytes);
        if is_transient(status) {
            Err(refusal.into())
        } else {
            Err(CredentialsRejected::new(refusal).into())
        }
    }
}

/// Statuses worth another try: the endpoint was overloaded, slow or broken, not the grant.
fn is_transient(status: http::StatusCode) -> bool {
    status.is_server_error()
        || status == http::StatusCode::REQUEST_TIMEOUT
        || status == http::StatusCode::TOO_MANY_REQUESTS
}

/// `token endpoint answered HTTP 400 Bad Request: invalid_grant (Invalid JWT Signature.)`, with
/// the endpoint's text escaped and capped.
fn refusal(status: http::StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    let mut text = format!("token endpoint answered HTTP {status}");
    if let Ok(reply) = serde_json::from_slice::<OAuthError>(body) {
        text.push_str(": ");
        text.push_str(&for_terminal(&reply.error, SHOWN_DESCRIPTION_CHARS));
        if let Some(description) = reply.error_description {
            let description = for_terminal(&description, SHOWN_DESCRIPTION_CHARS);
            text.push_str(&format!(" ({description})"));
        }
    }
    text
}

/// What is posted to a token endpoint is a secret (a refresh token, a signed assertion):
/// plaintext only to loopback.
fn check_token_uri(uri: &http::Uri) -> Result<(), Error> {
    let loopback = is_loopback_host(uri.host().unwrap_or_default());
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(Error::InsecureEndpoint {
            endpoint: uri.to_string(),
            reason: "a token endpoint is only reached over https, or plaintext to loopback".into(),
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
    fn secrets_never_go_to_plaintext_remote_token_endpoints() {
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

    #[test]
    fn only_overload_and_server_failures_are_transient() {
        for code in [500, 502, 503, 504, 408, 429] {
            assert!(
                is_transient(http::StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 302] {
            assert!(
                !is_transient(http::StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_oauth_error_escaped() {
        let body = br#"{"error":"invalid_grant","error_description":"bad\u001b[2J key"}"#;
        let text = refusal(http::StatusCode::BAD_REQUEST, body);
        assert_eq!(
            text,
            "token endpoint answered HTTP 400 Bad Request: invalid_grant (bad\\u{1b}[2J key)"
        );
        let text = refusal(http::StatusCode::FORBIDDEN, b"<html>no</html>");
        assert_eq!(text, "token endpoint answered HTTP 403 Forbidden");
    }
}
