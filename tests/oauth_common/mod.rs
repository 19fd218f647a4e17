//! A loopback OAuth token endpoint for the credential tests (the library's and the CLI's): it
//! counts and records every fetch, and can refuse the first ones with a scripted answer.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

/// A throwaway RSA key made for these tests only; it signs JWTs nobody verifies.
pub(crate) const TEST_ONLY_KEY: &str = include_str!("../data/TEST-ONLY-service-account-key.pem");

/// The answer to `invalid_grant`, as Google's token endpoint gives it for a revoked key.
pub(crate) const INVALID_GRANT: &str =
    r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;

/// A token endpoint's script and what it saw. Fetch n (from 1) is served the token
/// `ya29.adc-token-n`, unless it is one of the first `refused` ones.
#[derive(Clone)]
pub(crate) struct TokenEndpoint {
    fetches: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
    refused: usize,
    refusal: (StatusCode, &'static str),
}

impl Default for TokenEndpoint {
    fn default() -> Self {
        Self::refusing_first(0, StatusCode::SERVICE_UNAVAILABLE, "")
    }
}

impl TokenEndpoint {
    /// Answers the first `n` fetches with `status` and `body` (`usize::MAX`: every fetch).
    pub(crate) fn refusing_first(n: usize, status: StatusCode, body: &'static str) -> Self {
        Self {
            fetches: Arc::default(),
            bodies: Arc::default(),
            refused: n,
            refusal: (status, body),
        }
    }

    /// Fetches so far.
    pub(crate) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The body of every fetch so far.
    pub(crate) fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    /// Serves `POST /token` on 127.0.0.1 and returns its URL.
    pub(crate) async fn serve(&self) -> String {
        async fn token(State(ep): State<TokenEndpoint>, body: String) -> (StatusCode, String) {
            let n = ep.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            ep.bodies.lock().unwrap().push(body);
            if n <= ep.refused {
                return (ep.refusal.0, ep.refusal.1.to_owned());
            }
            let reply = format!(
                r#"{{"access_token":"ya29.adc-token-{n}","expires_in":3600,"token_type":"Bearer"}}"#
            );
            (StatusCode::OK, reply)
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/token", post(token))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }
}

/// A service-account key whose `token_uri` is `token_uri`.
pub(crate) fn service_account_json(token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "test-only",
        "private_key": TEST_ONLY_KEY,
        "client_email": "tester@test-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    })
    .to_string()
}

/// gcloud's `authorized_user` file whose `token_uri` is `token_uri`.
pub(crate) fn authorized_user_json(token_uri: &str) -> String {
    serde_json::json!({
        "type": "authorized_user",
        "client_id": "client.apps.googleusercontent.com",
        "client_secret": "test-secret",
        "refresh_token": "1//test-refresh-token",
        "token_uri": token_uri,
    })
    .to_string()
}
