//! A service-account key exchanged for access tokens with a signed JWT (the JWT bearer grant,
//! RFC 7523, as Google documents for server-to-server OAuth).
//!
//! The exchange is this crate's own rather than gcp_auth's: gcp_auth answers any refusal with
//! the same "token request failed" after five quick tries, so a revoked key could not be told
//! apart from a token endpoint that failed for a moment. gcp_auth still parses the key and signs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::BoxFuture;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{BoxError, Error};

use super::CLOUD_PLATFORM_SCOPE;
use super::credentials::{AccessToken, CredentialsRejected, TokenSource, auth_error};
use super::oauth::TokenEndpoint;

/// The grant type of a signed-JWT exchange.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime asked for in the assertion; Google allows at most one hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A service-account key and the token endpoint it names.
pub(super) struct ServiceAccount {
    client_email: String,
    private_key_id: Option<String>,
    /// Holds the parsed key; only its signer is used.
    key: gcp_auth::CustomServiceAccount,
    endpoint: TokenEndpoint,
}

impl ServiceAccount {
    /// A key given as JSON text; its `token_uri` is used as written (https, or http to loopback).
    pub(super) fn from_json(json: &str) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct Key {
            client_email: String,
            private_key_id: Option<String>,
            token_uri: String,
        }
        let key = gcp_auth::CustomServiceAccount::from_json(json).map_err(auth_error)?;
        let fields: Key = serde_json::from_str(json)
            .map_err(|e| auth_error(format!("service-account key: {e}")))?;
        Ok(Self {
            client_email: fields.client_email,
            private_key_id: fields.private_key_id,
            key,
            endpoint: TokenEndpoint::new(&fields.token_uri, "service-account token_uri")?,
        })
    }

    /// The signed assertion: a key that cannot sign will never sign, so that is a rejection.
    fn assertion(&self) -> Result<String, BoxError> {
        let now = chrono::Utc::now().timestamp();
        let header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "kid": self.private_key_id,
        });
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": CLOUD_PLATFORM_SCOPE,
            "aud": self.endpoint.uri().to_string(),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .signer()
            .sign(signed.as_bytes())
            .map_err(CredentialsRejected::new)?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    async fn exchange(&self) -> Result<AccessToken, BoxError> {
        let form = |value: &str| utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
        let body = format!(
            "grant_type={}&assertion={}",
            form(JWT_BEARER),
            form(&self.assertion()?)
        );
        self.endpoint
            .exchange("application/x-www-form-urlencoded", body)
            .await
    }
}

impl TokenSource for ServiceAccount {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, BoxError>> {
        Box::pin(self.exchange())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_ONLY_KEY: &str = include_str!("../../tests/data/TEST-ONLY-service-account-key.pem");

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_for_the_token_endpoint_with_the_cloud_platform_scope() {
        let json = serde_json::json!({
            "type": "service_account",
            "private_key_id": "key-1",
            "private_key": TEST_ONLY_KEY,
            "client_email": "sa@p.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        let account = ServiceAccount::from_json(&json.to_string()).unwrap();
        let jwt = account.assertion().unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "key-1");
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
        assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, ASSERTION_LIFETIME_SECS);
        // PKCS#1 v1.5 signatures are deterministic: the key signed exactly the first two parts.
        let signed = format!("{}.{}", parts[0], parts[1]);
        let signature = account.key.signer().sign(signed.as_bytes()).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap(), signature);
    }

    #[test]
    fn a_plaintext_remote_token_uri_is_refused() {
        let json = serde_json::json!({
            "type": "service_account",
            "private_key": TEST_ONLY_KEY,
            "client_email": "sa@p.iam.gserviceaccount.com",
            "token_uri": "http://oauth.example.com/token",
        });
        let err = ServiceAccount::from_json(&json.to_string()).err().unwrap();
        assert!(matches!(err, Error::InsecureEndpoint { .. }), "{err:?}");
    }
}
