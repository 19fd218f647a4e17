//! Credentials that fail for a moment, and credentials refused for good, end to end: a loopback
//! OAuth token endpoint behind a service-account key and an `authorized_user` file, the token
//! cache in front of it, and the fake checking the token each call carries.

mod common;
mod oauth_common;

use std::time::Duration;

use axum::http::StatusCode;
use oauth_common::{INVALID_GRANT, TokenEndpoint, authorized_user_json, service_account_json};
use vertex_cancel::fake::{FakeHandle, FakeVertex};
use vertex_cancel::{Client, Credentials, Error, State};

const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/j";

/// Both kinds of key file that post to a token endpoint, aimed at `token_uri`.
fn key_file(kind: usize, token_uri: &str) -> (&'static str, String) {
    match kind {
        0 => ("service account", service_account_json(token_uri)),
        _ => ("authorized_user", authorized_user_json(token_uri)),
    }
}

/// A fake holding one running job that accepts `token`, and a client aimed at it with the key
/// file `json`.
async fn fake_and_client(token: &str, json: &str) -> (FakeHandle, Client) {
    let fake = FakeVertex::builder()
        .token(token)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let file = common::TempFile::new(json);
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::from_file(file.path()).unwrap())
        .build()
        .await
        .unwrap();
    (fake, client)
}

#[tokio::test]
async fn a_token_endpoint_failing_for_a_moment_is_retried_and_the_call_succeeds() {
    futures::future::join_all((0..2).map(retried_for)).await;
}

async fn retried_for(kind: usize) {
    // Two 503s, then tokens: the third fetch's token is the one the fake accepts.
    let endpoint = TokenEndpoint::refusing_first(2, StatusCode::SERVICE_UNAVAILABLE, "busy");
    let (name, json) = key_file(kind, &endpoint.serve().await);
    let (fake, client) = fake_and_client("ya29.adc-token-3", &json).await;
    let result = client.cancel(&JOB.parse().unwrap()).await;
    assert!(result.is_ok(), "{name}: {result:?}");
    assert_eq!(fake.state_of(JOB), Some(State::Cancelling), "{name}");
    assert_eq!(fake.calls().len(), 1, "{name}");
    assert_eq!(endpoint.fetches(), 3, "{name}");
}

#[tokio::test]
async fn rejected_credentials_fail_at_once_and_are_not_fetched_again() {
    futures::future::join_all((0..2).map(rejected_for)).await;
}

async fn rejected_for(kind: usize) {
    let endpoint =
        TokenEndpoint::refusing_first(usize::MAX, StatusCode::BAD_REQUEST, INVALID_GRANT);
    let (name, json) = key_file(kind, &endpoint.serve().await);
    let (fake, client) = fake_and_client("whatever", &json).await;
    let target = JOB.parse().unwrap();
    let err = client.cancel(&target).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{name}: {err:?}");
    assert!(!err.is_retryable(), "{name}");
    let rejected = std::error::Error::source(&err).unwrap();
    assert!(
        rejected.to_string().contains("rejected"),
        "{name}: {rejected}"
    );
    let cause = std::error::Error::source(rejected).unwrap().to_string();
    assert!(
        cause.contains("HTTP 400") && cause.contains("invalid_grant"),
        "{name}: {cause}"
    );
    assert_eq!(endpoint.fetches(), 1, "{name}");

    // Past the first backoff delays (500 ms, then up to 1 s): nothing is fetched again, and
    // a later call fails at once.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let again = client.cancel(&target).await.unwrap_err();
    assert!(matches!(again, Error::Auth { .. }), "{name}: {again:?}");
    assert_eq!(endpoint.fetches(), 1, "{name}");
    assert!(
        fake.calls().is_empty(),
        "{name}: no call goes out without a token"
    );
    assert_eq!(fake.state_of(JOB), Some(State::Running), "{name}");
}
