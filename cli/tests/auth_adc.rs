//! Credentials end to end: a service-account key and an `authorized_user` file whose token
//! endpoints are a loopback OAuth server run by the test, gcp_auth in the path, the token cache
//! in front of it, and the fake checking the token it receives.

#[path = "../../tests/common/mod.rs"]
mod common;

#[path = "../../tests/oauth_common/mod.rs"]
mod oauth_common;

use futures::StreamExt;
use oauth_common::{INVALID_GRANT, TokenEndpoint, authorized_user_json, service_account_json};
use vertex_cancel::fake::FakeVertex;
use vertex_cancel::{CancelMany, Client, Credentials, Error, Outcome, State, Target};

fn jobs(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("projects/p/locations/us-central1/pipelineJobs/j{i}"))
        .collect()
}

#[tokio::test]
async fn a_service_account_key_gets_one_token_for_many_concurrent_calls() {
    let endpoint = TokenEndpoint::default();
    let token_uri = endpoint.serve().await;
    let names = jobs(50);
    let fake = names
        .iter()
        .fold(FakeVertex::builder().token("ya29.adc-token-1"), |b, n| {
            b.pipeline_job(n, State::Running)
        })
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::service_account_json(&service_account_json(&token_uri)).unwrap())
        .build()
        .await
        .unwrap();
    let targets = names
        .iter()
        .map(|n| n.parse::<Target>().unwrap())
        .collect::<Vec<_>>();
    let results: Vec<_> = client
        .cancel_many(
            futures::stream::iter(targets),
            CancelMany::default().concurrency(50),
        )
        .collect()
        .await;
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(Outcome::Requested))),
        "{results:?}"
    );
    assert_eq!(endpoint.fetches(), 1);
    let body = endpoint.bodies()[0].clone();
    assert!(
        body.contains("grant_type=urn") && body.contains("assertion="),
        "{body}"
    );
}

#[tokio::test]
async fn an_authorized_user_file_is_exchanged_for_a_token() {
    let endpoint = TokenEndpoint::default();
    let token_uri = endpoint.serve().await;
    let file = std::env::temp_dir().join(format!("vertex-cancel-adc-{}.json", std::process::id()));
    let json = serde_json::json!({
        "type": "authorized_user",
        "client_id": "client.apps.googleusercontent.com",
        "client_secret": "test-secret",
        "refresh_token": "1//test-refresh-token",
        "token_uri": token_uri,
        "quota_project_id": "billing-from-adc",
    });
    std::fs::write(&file, json.to_string()).unwrap();
    let credentials = Credentials::from_file(&file);
    std::fs::remove_file(&file).unwrap();

    let name = &jobs(1)[0];
    let fake = FakeVertex::builder()
        .token("ya29.adc-token-1")
        .pipeline_job(name, State::Running)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(credentials.unwrap())
        .build()
        .await
        .unwrap();
    client.cancel(&name.parse().unwrap()).await.unwrap();
    // The file's quota project is billed, as gcloud's ADC users expect.
    assert_eq!(
        fake.calls()[0].header("x-goog-user-project"),
        Some("billing-from-adc")
    );
    let body = endpoint.bodies()[0].clone();
    assert!(
        body.contains("\"grant_type\":\"refresh_token\"") && body.contains("1//test-refresh-token"),
        "{body}"
    );
}

#[tokio::test]
async fn a_failing_token_endpoint_is_an_auth_error_that_names_no_secret() {
    let endpoint = TokenEndpoint::refusing_first(
        usize::MAX,
        axum::http::StatusCode::BAD_REQUEST,
        INVALID_GRANT,
    );
    let token_uri = endpoint.serve().await;
    let name = &jobs(1)[0];
    let fake = FakeVertex::builder()
        .token("whatever")
        .pipeline_job(name, State::Running)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::service_account_json(&service_account_json(&token_uri)).unwrap())
        .build()
        .await
        .unwrap();
    let err = client.cancel(&name.parse().unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(err.is_auth());
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains("MII"),
        "{shown}"
    );
    assert!(fake.calls().is_empty(), "no call goes out without a token");
}

#[tokio::test]
async fn unsupported_credential_files_are_refused_clearly() {
    let err = Credentials::service_account_json("{\"type\": \"service_account\"}").unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let file = std::env::temp_dir().join(format!("vertex-cancel-ext-{}.json", std::process::id()));
    std::fs::write(&file, r#"{"type": "external_account", "audience": "x"}"#).unwrap();
    let err = Credentials::from_file(&file).unwrap_err();
    std::fs::remove_file(&file).unwrap();
    let reason = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        reason.contains("external_account") && reason.contains("from_provider"),
        "{reason}"
    );
}

/// Application Default Credentials as a user meets them: the CLI with only
/// `GOOGLE_APPLICATION_CREDENTIALS` set, for both kinds of file it may name (gcloud's
/// `authorized_user`, which gcp_auth alone cannot read from that variable, and a service account).
#[tokio::test]
async fn adc_from_google_application_credentials_works_for_both_file_kinds() {
    let endpoint = TokenEndpoint::default();
    let token_uri = endpoint.serve().await;
    let name = &jobs(1)[0];
    for (i, json) in [
        authorized_user_json(&token_uri),
        service_account_json(&token_uri),
    ]
    .into_iter()
    .enumerate()
    {
        let token = format!("ya29.adc-token-{}", i + 1);
        let fake = FakeVertex::builder()
            .token(token)
            .pipeline_job(name, State::Running)
            .start()
            .await
            .unwrap();
        let file = std::env::temp_dir().join(format!(
            "vertex-cancel-adc-env-{}-{i}.json",
            std::process::id()
        ));
        std::fs::write(&file, json).unwrap();
        let home =
            std::env::temp_dir().join(format!("vertex-cancel-empty-home-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vertex-cancel"))
            .args(["status", name, "--endpoint", &fake.endpoint(), "--json"])
            .env("GOOGLE_APPLICATION_CREDENTIALS", &file)
            .env("HOME", &home)
            .env_remove("VERTEX_CANCEL_ACCESS_TOKEN")
            .env_remove("VERTEX_CANCEL_ENDPOINT")
            .output()
            .await
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "file {i}: {stdout} {stderr}");
        assert!(stdout.contains("RUNNING"), "{stdout}");
        assert_eq!(fake.calls().len(), 1);
    }
    assert_eq!(endpoint.fetches(), 2);
}
